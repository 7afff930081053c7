"""The bridge of the month and the watch's alerts, as HTML (inline styles, for pages and
email) and as text."""

from __future__ import annotations

from html import escape

import polars as pl

from usage_lib.figures.bridge import Bridge, Part
from usage_lib.figures.watch import Alerts, MonthSoFar, month_sentence
from usage_lib.present.html import FONT, TABLE, TD, TD_LEFT, TH, TH_LEFT, TOTAL

H2 = f'style="{FONT}font-size:17px;margin:22px 0 6px 0;"'
P = f'style="{FONT}font-size:13px;color:#333;margin:4px 0 8px 0;"'


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


def _behind(bridge: Bridge, part: Part) -> str:
    if not part.tenants or part.part in ("unchanged", "unassigned"):
        return "–"
    named = ", ".join(f"{name} {change:+,}" for name, change in part.largest)
    rest = part.tenants - len(part.largest)
    return named + (f" and {rest} more" if rest > 0 else "")


def _count(part: Part) -> str:
    return "–" if part.part == "unassigned" else f"{part.tenants:,}"


def bridge_html(bridge: Bridge | None) -> str:
    """Why the month moved: one row per part, adding up to the change."""
    if bridge is None:
        return ""
    rows = "".join(
        f'<tr><td style="{TD_LEFT}">{escape(bridge.heading(p))}</td>'
        f'<td style="{TD}">{_count(p)}</td><td style="{TD}">{_signed(p.change)}</td>'
        f'<td style="{TD_LEFT}">{escape(_behind(bridge, p))}</td></tr>'
        for p in bridge.parts
    )
    total = (
        f'<tr><td style="{TD_LEFT}{TOTAL}">Change, {escape(bridge.previous_label)} to '
        f'{escape(bridge.label)}</td><td style="{TD}{TOTAL}">{bridge.tenants:,}</td>'
        f'<td style="{TD}{TOTAL}">{_signed(bridge.change)}</td>'
        f'<td style="{TD_LEFT}{TOTAL}">{bridge.before:,} to {bridge.after:,}</td></tr>'
    )
    return (
        f"<h2 {H2}>Why the month moved</h2>"
        f"<p {P}>Billable conversations, {escape(bridge.label)} against "
        f"{escape(bridge.previous_label)}: each of the {bridge.tenants:,} "
        f"{escape(bridge.tenant)}s active in either month is in one row, so the rows add up "
        "to the change.</p>"
        f'<table style="{TABLE}"><tr><th style="{TH_LEFT}">Part</th>'
        f'<th style="{TH}">{escape(bridge.tenant.capitalize())}s</th>'
        f'<th style="{TH}">Conversations</th><th style="{TH_LEFT}">Largest</th></tr>'
        f"{rows}{total}</table>"
    )


def bridge_text(bridge: Bridge | None) -> list[str]:
    if bridge is None:
        return []
    width = max(len(bridge.heading(p)) for p in bridge.parts) + 2
    lines = [
        "Why the month moved",
        f"{bridge.previous_label} {bridge.before:,} -> {bridge.label} {bridge.after:,} "
        f"({bridge.change:+,})",
    ]
    for p in bridge.parts:
        lines.append(
            f"- {bridge.heading(p) + ':':<{width}}{_signed(p.change):>8} ({_count(p)}) "
            f"{_behind(bridge, p)}"
        )
    return [*lines, ""]


def month_alerts_html(flagged: pl.DataFrame, tenants: str) -> str:
    """The tenants that went silent or dropped during the month (`figures.watch`)."""
    if flagged.height == 0:
        body = f"None: no {tenants} went silent or dropped by half on any days of the month."
        return f"<h2 {H2}>Alerts during the month</h2><p {P}>{escape(body)}</p>"
    items = "".join(
        f'<li style="margin:0 0 4px 0;">{escape(month_sentence(row))}</li>'
        for row in flagged.iter_rows(named=True)
    )
    return (
        f"<h2 {H2}>Alerts during the month</h2>"
        f"<p {P}>Conversations started (any status and length, tests apart), each day against "
        "the same weekdays of the weeks before (usage-report alerts):</p>"
        f'<ul style="{FONT}font-size:13px;padding-left:18px;">{items}</ul>'
    )


def month_alerts_text(flagged: pl.DataFrame, tenants: str) -> list[str]:
    if flagged.height == 0:
        return ["Alerts during the month: none.", ""]
    return [
        "Alerts during the month",
        *[f"- {month_sentence(row)}" for row in flagged.iter_rows(named=True)],
        "",
    ]


def watched_text(alerts: Alerts, test_word: str) -> str:
    return (
        f"Watched: conversations started (any status and length; tests ({test_word}) counted apart, "
        f"excluded {alerts.tenant}s left out), {alerts.watch.describe()}; "
        f"{alerts.watched:,} {alerts.tenant}s with {alerts.watch.weeks} weeks of history."
    )


def alerts_html(alerts: Alerts, month: MonthSoFar, test_word: str) -> str:
    """The daily message's body: the alerts, what was watched, the month so far."""
    items = "".join(
        f'<li style="margin:0 0 6px 0;">{escape(line)}</li>' for line in alerts.lines(test_word)
    )
    kinds = ", ".join(
        f"{n} {kind.replace('_', ' ')}"
        for kind, n in alerts.frame.group_by("kind", maintain_order=True).len().iter_rows()
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="margin:0;padding:0;background:#f3f3f3;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="background:#f3f3f3;"><tr><td align="center" style="padding:12px 0;">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
        'style="width:100%;max-width:600px;background:#ffffff;border:1px solid #ddd;">'
        '<tr><td style="padding:16px 16px 20px 16px;">'
        f'<h1 style="{FONT}font-size:22px;margin:0 0 4px 0;">Usage alerts, '
        f"{alerts.watch.as_of:%-d %b %Y}</h1>"
        f"<p {P}>{escape(kinds)}.</p>"
        f'<ul style="{FONT}font-size:14px;padding-left:18px;">{items}</ul>'
        f'<p style="{FONT}font-size:12px;color:#555;">{escape(watched_text(alerts, test_word))}</p>'
        f"<h2 {H2}>The month so far</h2><p {P}>{escape(month.sentence())}</p>"
        f'<p style="{FONT}font-size:11px;color:#777;">The billable count of the last days '
        "still grows as conversations close; the projection takes each day left at the mean "
        "of the same weekday over the baseline weeks.</p>"
        "</td></tr></table></td></tr></table></body></html>"
    )


def alerts_text(alerts: Alerts, month: MonthSoFar, test_word: str) -> str:
    title = f"Usage alerts, {alerts.watch.as_of:%-d %b %Y}"
    lines = [title, "=" * len(title), ""]
    lines += [f"- {line}" for line in alerts.lines(test_word)] or ["No alerts."]
    lines += ["", watched_text(alerts, test_word), "", "The month so far", month.sentence()]
    return "\n".join(lines) + "\n"
