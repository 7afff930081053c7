"""The messages: the monthly email, composed once from the month's digest when the pack is
made, and each customer's statement, composed from its folder when it is sent.

The month's message is multipart/mixed: a text/plain and an HTML alternative (inline styles,
the trend chart as a `cid:` PNG, no scripts, no external resources, 600 px wide), and the
pack's HTML pages as one zip. It is composed once, with no addresses; the pack carries it
(and keeps it as `usage-report-<YYYY-MM>.eml`), and sending gives it the sending's
addresses (`addressed`) and hands it to `smtp.deliver`. A statement's message is its page
as the HTML alternative and its conversations (CSV and XLSX) attached.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape
from pathlib import Path

from usage_lib.core.periods import parse_month
from usage_lib.core.tables import table_buckets, top_rows
from usage_lib.figures.adoption import Headline
from usage_lib.figures.checks import listed
from usage_lib.present.formats import table_text
from usage_lib.present.html import (
    FONT,
    counted_short,
    counted_text,
    headline_cards,
    usage_table,
)
from usage_lib.present.watch import (
    bridge_html,
    bridge_text,
    month_alerts_html,
    month_alerts_text,
)
from usage_lib.report.digest import TOP_ORGANIZATIONS, Digest

CHART_CID = "trend-chart"


MAX_MESSAGE_BYTES = 10_000_000  # what mail servers commonly accept; over it, no zip


@dataclass(frozen=True)
class Letter:
    """What the message says besides the digest: its attachments and the pack's pages."""

    attachment: str  # the zip's file name; "" when the message carries no zip
    pages: tuple[str, ...]  # page titles
    version: str  # usage_lib's
    pdf: str = ""  # the PDF's file name; "" when the message carries none
    note: str = ""  # what was left out of the message and why (sentences); "" when nothing

    def attached(self, tenant: str) -> list[tuple[str, str]]:
        """Each attachment (file name, what it is), the PDF first."""
        pages = ", ".join(self.pages)
        return [
            *(
                [(self.pdf, f"the report as one PDF ({pages}), to print or forward")]
                if self.pdf
                else []
            ),
            *(
                [
                    (
                        self.attachment,
                        f"the full report ({pages}), self-contained HTML pages with every "
                        f"{tenant}'s agents. Unzip it and open index.html in a browser",
                    )
                ]
                if self.attachment
                else []
            ),
        ]


def _attached_html(d: Digest, letter: Letter, h2: str, text: str) -> str:
    items = "".join(
        f"<p {text}><b>{escape(name)}</b>: {escape(what)}.</p>"
        for name, what in letter.attached(d.cube.tenant)
    )
    note = f"<p {text}>{escape(letter.note)}</p>" if letter.note else ""
    return f"<h2 {h2}>Attached</h2>{items}{note}" if items or note else ""


def _attached_text(d: Digest, letter: Letter) -> list[str]:
    lines = [f"Attached: {name}, {what}." for name, what in letter.attached(d.cube.tenant)]
    return [*lines, *([letter.note] if letter.note else [])]


def subject(h: Headline) -> str:
    text = f"Usage report, {h.label}: {h.billable:,} billable conversations"
    if h.change is not None and h.previous_label:
        same_year = h.previous_label[-4:] == h.label[-4:]
        before = h.previous_label.split()[0] if same_year else h.previous_label
        text += f" ({h.change:+.0%} vs {before})"
    return text


def _data_as_of(d: Digest) -> str:
    return d.cube.read_at.isoformat()


def html_body(d: Digest, letter: Letter) -> str:
    """600 px, inline styles only, no scripts, no external resources; the chart is `cid:`."""
    h = d.headline
    table = top_rows(d.table, TOP_ORGANIZATIONS, f"All other {d.cube.tenants}")
    checks = "".join(
        f'<li style="margin:0 0 6px 0;"><b>{escape(f.title)}</b>: {escape(f.sentence)}</li>'
        for f in d.findings
    )
    h2 = f'style="{FONT}font-size:17px;margin:22px 0 6px 0;"'
    text = f'style="{FONT}font-size:13px;color:#333;"'
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(subject(h))}</title></head>"
        '<body style="margin:0;padding:0;background:#f3f3f3;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f3f3;">'
        '<tr><td align="center" style="padding:12px 0;">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
        'style="width:100%;max-width:600px;table-layout:fixed;background:#ffffff;border:1px solid #ddd;">'
        '<tr><td style="padding:16px 16px 20px 16px;">'
        f'<h1 style="{FONT}font-size:22px;margin:0 0 4px 0;">Usage report, {escape(h.label)}</h1>'
        f'<p style="{FONT}font-size:12px;color:#555;margin:2px 0 10px 0;">'
        f"{escape(counted_short(d.cube))} The rule in full is at the end.</p>"
        f"{headline_cards(h, per_row=2)}"
        f"<h2 {h2}>Trend</h2>"
        f'<img src="cid:{CHART_CID}" width="568" alt="{escape(d.chart_description)}" '
        'style="display:block;width:100%;max-width:568px;height:auto;border:0;">'
        f"<h2 {h2}>Billable conversations by {d.cube.tenant}</h2>"
        f'<div style="overflow-x:auto;">{usage_table(table, d.cube, "month", name_width=17, compact=True)}</div>'
        f"{bridge_html(d.bridge)}"
        f"{'' if d.alerts is None else month_alerts_html(d.alerts, d.cube.tenants)}"
        f"<h2 {h2}>Data checks</h2>"
        f'<ul {text[:-1]}padding-left:18px;">{checks}</ul>'
        f"{_attached_html(d, letter, h2, text)}"
        f"<h2 {h2}>The counting rule</h2><p {text}>{escape(counted_text(d.cube))}</p>"
        f'<p style="{FONT}font-size:11px;color:#777;">Data as of {escape(_data_as_of(d))}; '
        f"usage_lib {escape(letter.version)}.</p>"
        "</td></tr></table></td></tr></table></body></html>"
    )


def text_body(d: Digest, letter: Letter) -> str:
    h = d.headline
    title = f"Usage report, {h.label}"
    new = listed(list(h.new_organizations), 10) or "none"
    lines = [
        title,
        "=" * len(title),
        "",
        f"Billable conversations: {h.billable:,} ({h.change_text()})",
        f"{'Active ' + h.tenant + 's:':<24}{h.active_organizations:,}"
        + (f" (customers; No {h.tenant} {h.unassigned:,} apart)" if h.unassigned else ""),
        f"Active agents:          {h.active_agents:,}",
        f"{'New ' + h.tenant + 's:':<24}{len(h.new_organizations)} ({new})",
        *([f"End users:              {h.users:,} ({h.users_text()})"] if h.users else []),
        *(
            [f"Hand-off rate:          {h.handoff_rate:.1%} ({h.handoff_text()})"]
            if h.handoff_rate is not None
            else []
        ),
        "",
        *bridge_text(d.bridge),
        *([] if d.alerts is None else month_alerts_text(d.alerts, d.cube.tenants)),
        table_text(
            top_rows(d.table, TOP_ORGANIZATIONS, f"All other {d.cube.tenants}"),
            table_buckets(d.cube, "month"),
            f"Billable conversations by {d.cube.tenant}",
            counted_text(d.cube),
        ),
        "Data checks",
        *[f"- {f.title}: {f.sentence}" for f in d.findings],
        "",
        *_attached_text(d, letter),
        "",
        f"Data as of {_data_as_of(d)}; usage_lib {letter.version}.",
    ]
    return "\n".join(lines) + "\n"


def compose(d: Digest, letter: Letter, files: Sequence[tuple[str, bytes]]) -> EmailMessage:
    """The month's message, not yet addressed: both alternatives, the chart as a related
    part, `files` (the PDF, the zip: name and content) attached in that order. `addressed`
    gives it its sender and recipients when it is sent."""
    message = EmailMessage()
    message["Subject"] = subject(d.headline)
    message.set_content(text_body(d, letter))
    message.add_alternative(html_body(d, letter), subtype="html")
    html_part = message.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(d.chart_png, "image", "png", cid=f"<{CHART_CID}>", filename="trend.png")
    for filename, data in files:
        _attach(message, filename, data)
    return message


def _attach(message: EmailMessage, filename: str, data: bytes) -> None:
    """A PDF, a zip, an XLSX as themselves; a CSV as text."""
    if filename.endswith(".csv"):
        message.add_attachment(data.decode("utf-8"), subtype="csv", filename=filename)
        return
    subtype = {".pdf": "pdf", ".zip": "zip"}.get(Path(filename).suffix, XLSX)
    message.add_attachment(data, maintype="application", subtype=subtype, filename=filename)


XLSX = "vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def statement_message(
    name: str, month: str, conversations: int, page: str, files: Sequence[tuple[str, bytes]]
) -> EmailMessage:
    """A customer's statement, not yet addressed: its page (`statement.html`) as the HTML
    alternative, and `files` (name and content, CSV or XLSX) attached in that order."""
    year, m = parse_month(month, "month")
    label = date(year, m, 1).strftime("%b %Y")
    message = EmailMessage()
    message["Subject"] = (
        f"Usage statement, {name}, {label}: {conversations:,} billable conversations"
    )
    names = {filename for filename, _ in files}
    pdf = "The statement is attached as statement.pdf, to file or forward.\n"
    message.set_content(
        f"Your usage statement for {label}: {conversations:,} billable conversations.\n"
        + (pdf if "statement.pdf" in names else "")
        + "The conversations behind this number are attached as conversations.csv and "
        "conversations.xlsx; those not billed, each with the reason, as not-billed.csv and "
        "not-billed.xlsx.\n"
    )
    message.add_alternative(page, subtype="html")
    for filename, data in files:
        _attach(message, filename, data)
    return message


def addressed(message: EmailMessage, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A copy of the message from `sender` to `recipients`, with a fresh date and Message-ID."""
    message = copy.deepcopy(message)
    for header in ("From", "To", "Date", "Message-ID"):
        del message[header]
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid("usage-report", domain=domain)
    return message


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, _class=EmailMessage, policy=DEFAULT_POLICY)
    assert isinstance(message, EmailMessage)
    return message
