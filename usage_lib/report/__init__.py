"""The monthly pack and the daily watch. Takes a source and a month (or a day); hands on
reports/<YYYY-MM>/ (reports/alerts/<day>/) on disk and the emails sent from it.

- `job`: make the pack (one data pass, the notebooks, the digest, the email) and send it;
- `store`: the pack on disk (staging, the month's lock, atomic publish, the manifest, the
  send-once record);
- `digest`, `pages`: the month at a glance, and the index page made from it;
- `mail`, `smtp`: the message, composed once; its delivery;
- `restate`, `reconcile`: what earlier packs published, what was billed;
- `statements`: each customer's statement and the conversations behind it;
- `alerts`: the daily watch as a job: one pass, the alerts, the message sent once a day.
"""
