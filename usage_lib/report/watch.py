"""The daily watch as a job: one pass over what started (`core.watch`), the alerts and the
month so far (`figures.watch`), and the message, sent at most once per as-of day and
recipient list (`store.send_once`) when there is at least one alert.

What a sending leaves, in <out>/alerts/<YYYY-MM-DD>/: alerts.json (the JSON contract), the
message as alerts-<YYYY-MM-DD>.eml, and manifest.json with the record of each sending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import polars as pl

from usage_lib.core.periods import DateRange
from usage_lib.core.source import Source, read_watch
from usage_lib.core.warm import Read
from usage_lib.figures.watch import (
    Alerts,
    MonthSoFar,
    Watch,
    detect,
    month_alerts,
    month_range,
    month_so_far,
)
from usage_lib.paths import write_atomic
from usage_lib.present.watch import alerts_html, alerts_text
from usage_lib.report import store
from usage_lib.report.mail import addressed
from usage_lib.report.smtp import Mailing
from usage_lib.report.store import Sending


@dataclass(frozen=True)
class Watched:
    alerts: Alerts
    month: MonthSoFar
    test_word: str
    read: Read | None = None  # what the local store served and what was read (`warm`)

    def subject(self) -> str:
        n = self.alerts.frame.height
        first = self.alerts.lines(self.test_word)[0]
        more = f" (and {n - 1} more)" if n > 1 else ""
        return f"Usage alerts, {self.alerts.watch.as_of:%-d %b}: {first}{more}"

    def message(self) -> EmailMessage:
        """The day's message, not yet addressed: text and HTML."""
        message = EmailMessage()
        message["Subject"] = self.subject()
        message.set_content(alerts_text(self.alerts, self.month, self.test_word))
        message.add_alternative(
            alerts_html(self.alerts, self.month, self.test_word), subtype="html"
        )
        return message


def watch(source: Source, as_of: date) -> Watched:
    """Read the baseline weeks and the watched days (from the local store, the days that
    changed), then judge them."""
    config = source.config
    settings = config.watch
    w = Watch(as_of, settings.days, settings.weeks, settings.min_daily)
    started, read = read_watch(source, w.range(config.timezone))
    return Watched(
        detect(started, w, config.profile.tenant),
        month_so_far(started, w),
        config.test_word,
        read,
    )


def month_watch(source: Source, month: str) -> tuple[pl.DataFrame, Read | None]:
    """The tenants that went silent or dropped during `month` (YYYY-MM), for the pack, and
    what was read: a pass of its own, since it reads what started, day by day, where the
    pack's reads what is billable, month by month. From the local store, the month itself is
    read again whole, as the pack's numbers are."""
    config = source.config
    year, number = (int(part) for part in month.split("-"))
    settings = config.watch
    rng = month_range(year, number, settings.days, settings.weeks, config.timezone)
    fresh = DateRange(date(year, number, 1), rng.end, config.timezone)
    started, read = read_watch(source, rng, fresh)
    w = Watch(rng.end, settings.days, settings.weeks, settings.min_daily)
    return month_alerts(started, year, number, w, config.profile.tenant), read


def folder(out: Path, as_of: date) -> Path:
    return out / "alerts" / as_of.isoformat()


def send_alerts(
    watched: Watched, mailing: Mailing, out: Path, force: bool = False, dry_run: bool = False
) -> Sending | None:
    """Email the day's alerts once per recipient list; None when there is none to send. A
    dry run writes the message, addressed, and sends nothing. Raises MailError (nothing
    sent, nothing recorded)."""
    if watched.alerts.frame.height == 0:
        return None
    as_of = watched.alerts.watch.as_of
    day = folder(out, as_of)
    message = watched.message()
    with store.lock(day.parent, as_of.isoformat()):
        day.mkdir(parents=True, exist_ok=True)
        write_atomic(day / "alerts.json", json.dumps(watched.alerts.to_json(), indent=2).encode())
        eml = day / f"alerts-{as_of.isoformat()}.eml"
        write_atomic(eml, bytes(addressed(message, mailing.sender, mailing.recipients)))
        if not (day / store.MANIFEST).exists():
            store.write_manifest(day, {"as_of": as_of.isoformat()})
    if dry_run:
        return Sending("dry run", {"eml": str(eml)})
    return store.send_once(
        day, day.parent, as_of.isoformat(), mailing.recipients, lambda: mailing.send(message), force
    )
