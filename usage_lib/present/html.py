"""HTML pieces with inline styles: readable in a browser, in JupyterLab and in any mail client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import polars as pl

from usage_lib.core.cube import UNATTRIBUTED_NAME, Cube
from usage_lib.core.explain import WORDS
from usage_lib.core.metrics import MEANINGS, NO_DEPTH
from usage_lib.core.tables import (
    KEY_COLUMNS,
    organization_table,
    platform_table,
    table_buckets,
    top_rows,
    totals,
    with_totals_row,
)
from usage_lib.figures.adoption import (
    Headline,
    activity,
    agent_quality,
    deleted_agents,
    deleted_name,
    engagement,
    month_label,
    movers,
    starters,
)
from usage_lib.figures.checks import Finding, listed

FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;"
TABLE = f"border-collapse:collapse;{FONT}font-size:13px;margin:8px 0 16px 0;"
TH = "padding:4px 8px;border-bottom:2px solid #444;text-align:right;white-space:nowrap;"
TH_LEFT = TH.replace("text-align:right", "text-align:left")
TD = "padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap;"
TD_LEFT = TD.replace("text-align:right", "text-align:left") + "white-space:normal;"
TOTAL = "font-weight:bold;border-top:2px solid #444;"


def number(value: int | float | None) -> str:
    """Thousands separators; a dash for zero or nothing."""
    if value is None or value == 0:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    if signed:
        return "0%" if round(value, 2) == 0 else f"{value:+.0%}"
    return f"{value:.1%}"


def formatted(pattern: str, value: float) -> str:
    """`pattern` ("{:+.1f}", "{:+,}") applied to `value`; what rounds to zero is shown as an
    unsigned zero, never "-0.0" or "+0.0"."""
    text = pattern.format(value)
    if text.lstrip("+-").strip("0.,%") == "":
        return pattern.replace("+", "").format(abs(value) * 0)
    return text


def heading(column: str) -> str:
    """A column's heading when none is given: `first_month` -> `First month`."""
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


def short_name(name: str, width: int | None) -> str:
    """A name in at most `width` characters (a cell that must not wrap), with its full text
    in the cell's `title` when it was shortened."""
    if width is None or len(name) <= width:
        return escape(name)
    return f'<span title="{escape(name)}">{escape(name[: width - 1].rstrip())}…</span>'


def usage_table(
    table: pl.DataFrame,
    cube: Cube,
    granularity: str = "auto",
    first: str = "",
    sums: Mapping[str, int | float | None] | None = None,
    top: int | None = None,
    additive: bool = True,
    name_width: int | None = None,
    compact: bool = False,
) -> str:
    """A usage table (id, name, type, bucket keys..., total) with bucket labels and a totals
    row: `sums` (from `usage_totals`), else the column sums. With `top`, the first `top` rows
    and one for all the others (`tables.top_rows`); the totals stay those of every row. With
    `name_width`, names never wrap: longer ones are shortened, the full name in `title`;
    `compact`, narrower cells (a 600 px email)."""
    if top is not None and table.height > top + 1:
        sums = totals(table) if sums is None else sums
        others = "agents" if first == "Agent" else cube.tenants
        table = top_rows(table, top, f"All other {others}", additive)
    labels = {b.key: b.label for b in table_buckets(cube, granularity)}
    keys = [c for c in table.columns if c not in (*KEY_COLUMNS, "total")]
    head = f'<th style="{TH_LEFT}">{escape(first or cube.Tenant)}</th>' + "".join(
        f'<th style="{TH}">{escape(labels.get(k, k))}</th>' for k in keys
    )
    head += f'<th style="{TH}">Total</th>'
    rows = []
    name_style = TD_LEFT if name_width is None else TD_LEFT + "white-space:nowrap;"
    for r in with_totals_row(table, sums=sums).iter_rows(named=True):
        extra = TOTAL if r["type"] == "total" else ""
        cells = "".join(f'<td style="{TD}{extra}">{number(r[k])}</td>' for k in keys)
        name = short_name(str(r["name"]), name_width)
        rows.append(
            f'<tr><td style="{name_style}{extra}">{name}</td>{cells}'
            f'<td style="{TD}font-weight:bold;{extra}">{number(r["total"])}</td></tr>'
        )
    html = f'<table style="{TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    if compact:
        html = html.replace("padding:4px 8px", "padding:4px 3px").replace(
            "padding:3px 8px", "padding:3px 3px"
        )
    return html


def frame_table(
    frame: pl.DataFrame,
    headers: dict[str, str] | None = None,
    percent_columns: tuple[str, ...] = (),
    decimals: dict[str, str] | None = None,
    top: int | None = None,
    rest: str = "rows, not shown here",
) -> str:
    """Any small frame as an HTML table: text left, numbers right, dashes for zero; with
    `top`, its first `top` rows and one line counting the `rest`."""
    headers = headers or {}
    if frame.height == 0:
        return f'<p style="{FONT}color:#666;">None.</p>'
    more = ""
    if top is not None and frame.height > top:
        more = note(f"… and {frame.height - top:,} more {rest}.")
        frame = frame.head(top)
    head = "".join(
        f'<th style="{TH if frame.schema[c].is_numeric() else TH_LEFT}">{escape(headers.get(c, heading(c)))}</th>'
        for c in frame.columns
    )
    rows = []
    for r in frame.iter_rows(named=True):
        cells = []
        for c in frame.columns:
            v = r[c]
            if decimals and c in decimals:
                text = "–" if v is None else formatted(decimals[c], v)
                cells.append(f'<td style="{TD}">{text}</td>')
            elif c in percent_columns:
                cells.append(
                    f'<td style="{TD}">{percent(v, signed=True) if "change" in c or c == "growth" else percent(v)}</td>'
                )
            elif frame.schema[c].is_numeric():
                cells.append(f'<td style="{TD}">{number(v)}</td>')
            else:
                cells.append(f'<td style="{TD_LEFT}">{escape("" if v is None else str(v))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table style="{TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
        f"</table>{more}"
    )


def counted_text(cube: Cube, metrics: Sequence[str] | None = None) -> str:
    """Exactly what is counted: the rule, the range, what each metric shown counts, and the
    organizations left out."""
    excluded = ", ".join(e.name for e in cube.exclusions) or "none"
    shown = [m for m in (cube.metrics if metrics is None else metrics) if m != "conversations"]
    meanings = [MEANINGS[m] if m != "depth_avg" or cube.has_depth else NO_DEPTH for m in shown]
    extra = f" Of them, {'; '.join(meanings)}." if shown else ""
    return (
        f"Counted: billable conversations ({cube.rule}), by conversation start date, "
        f"{cube.range.describe()}.{extra} Excluded {cube.tenants}: {excluded}."
    )


def counted_short(cube: Cube) -> str:
    """The counting rule in one short line (the full text is `counted_text`)."""
    n = len(cube.exclusions)
    left_out = f"; {n} {cube.tenant if n == 1 else cube.tenants} excluded" if n else ""
    return f"Billable conversations: {cube.rule}, by start date, {cube.range.describe()}{left_out}."


def rule_line(cube: Cube) -> str:
    """The counting rule in one line under a page's headline, linked to it in full at the
    foot (`rule_section`)."""
    return (
        f'<p style="{FONT}font-size:13px;color:#555;margin:2px 0 12px 0;">'
        f"{escape(counted_short(cube))} "
        '<a href="#counting-rule">The counting rule in full</a></p>'
    )


def rule_section(cube: Cube, source: str = "") -> str:
    """The counting rule in full, at the foot of a page (`rule_line` links to it)."""
    text = counted_text(cube) + (f" Source: {source}." if source else "")
    return (
        f'<h2 id="counting-rule" style="{FONT}font-size:17px;margin:22px 0 6px 0;">'
        f'The counting rule</h2><p style="{FONT}font-size:13px;color:#444;">{escape(text)}</p>'
    )


def counted_line(cube: Cube, source: str = "") -> str:
    """The line under every title: exactly what is counted."""
    text = counted_text(cube) + (f" Source: {source}." if source else "")
    return f'<p style="{FONT}font-size:13px;color:#444;margin:4px 0 12px 0;">{escape(text)}</p>'


def headline_cards(h: Headline, per_row: int = 4) -> str:
    """The report month's four figures as cards, `per_row` to a row (2 fits a 600 px email)."""
    new = listed(list(h.new_organizations), 10) if h.new_organizations else "none"
    apart = f"; No {h.tenant} ({h.unassigned:,}) apart" if h.unassigned else ""
    items = [
        ("Billable conversations", f"{h.billable:,}", h.change_text()),
        (
            f"Active {h.tenant}s",
            f"{h.active_organizations:,}",
            f"customers billed this month{apart}",
        ),
        ("Active agents", f"{h.active_agents:,}", "excluding Unattributed"),
        (f"New {h.tenant}s", f"{len(h.new_organizations):,}", new),
    ]
    if h.users is not None:
        items.append(("End users", f"{h.users:,}", h.users_text()))
    if h.handoff_rate is not None:
        items.append(("Hand-off rate", f"{h.handoff_rate:.1%}", h.handoff_text()))
    cells = [
        f'<td style="padding:8px 14px;border:1px solid #ddd;vertical-align:top;text-align:left;{FONT}">'
        f'<div style="font-size:12px;color:#666;">{escape(label)}</div>'
        f'<div style="font-size:24px;font-weight:bold;">{escape(value)}</div>'
        f'<div style="font-size:12px;color:#444;">{escape(note)}</div></td>'
        for label, value, note in items
    ]
    rows = "".join(
        f"<tr>{''.join(cells[i : i + per_row])}</tr>" for i in range(0, len(cells), per_row)
    )
    return (
        f'<h3 style="{FONT}margin:8px 0;">{escape(h.label)}</h3>'
        f'<table class="cards" style="border-collapse:collapse;">{rows}</table>'
    )


def note(text: str) -> str:
    return f'<p style="{FONT}font-size:13px;color:#444;">{escape(text)}</p>'


ENGAGEMENT_HEADERS = {
    "name": "Organization",
    "conversations": "Conversations",
    "users": "End users",
    "users_change": "End users, change",
    "handoff_rate": "Hand-off rate",
    "handoff_rate_change": "Hand-off rate, change (points)",
}


def engagement_table(cube: Cube, month: str, top: int | None = None) -> str:
    """Per organization, the report month's end users and hand-off rate, with their change;
    the largest first (`top` of them)."""
    frame = engagement(cube, month).with_columns(pl.col("handoff_rate_change") * 100)
    return frame_table(
        frame,
        ENGAGEMENT_HEADERS | {"name": cube.Tenant},
        percent_columns=("users_change", "handoff_rate"),
        decimals={"handoff_rate_change": "{:+.1f}"},
        top=top,
        rest=f"{cube.tenants}: every one is in tables/{cube.tenants}.csv beside this page",
    )


def agent_sections(cube: Cube, org_id: str = "", top: int | None = None) -> str:
    """For each organization of the platform table (the `top` largest, or just `org_id`):
    its agents by month."""
    orgs = platform_table(cube, "month")
    if org_id:
        orgs = orgs.filter(pl.col("id") == org_id.lower())
        if orgs.height == 0:
            return note(f"{cube.Tenant} {org_id} has no billable conversations in this range.")
    parts = []
    if top is not None and orgs.height > top:
        rest = orgs.height - top
        parts.append(
            note(
                f"The {top} largest {cube.tenants} of {orgs.height:,}; the agents of the other "
                f"{rest:,} are in tables/agents.csv beside this page."
            )
        )
        orgs = orgs.head(top)
    for row in orgs.iter_rows(named=True):
        table = organization_table(cube, row["id"], "month")
        gone = deleted_agents(cube)
        if gone:
            table = table.with_columns(
                pl.col("id").replace_strict(gone, default=pl.col("name")).alias("name")
            )
        parts.append(f"<h3>{escape(str(row['name']))}</h3>")
        parts.append(usage_table(table, cube, "month", first="Agent"))
        if "handoffs" in cube.metrics:
            parts.append(
                frame_table(
                    agent_quality(cube, row["id"]),
                    {
                        "agent": "Agent",
                        "handoff_rate": "Hand-off rate",
                        "depth_avg": "Average depth",
                    },
                    percent_columns=("handoff_rate",),
                    decimals={"depth_avg": "{:.2f}"},
                )
            )
        if UNATTRIBUTED_NAME in table["name"].to_list():
            parts.append(
                note(
                    "Unattributed: human-only conversations, in which no agent (bot) took part. "
                    f"Agent rows sum to the {cube.tenant}'s row."
                )
            )
    return "\n".join(parts)


ACTIVITY_HEADERS = {
    "label": "Month",
    "billable": "Billable",
    "growth": "Growth",
    "active_organizations": "Active orgs",
    "active_agents": "Active agents",
    "new": "New",
    "returning": "Returning",
    "dormant": "Dormant",
}


def activity_table(cube: Cube) -> str:
    headers = ACTIVITY_HEADERS | {"active_organizations": f"Active {cube.tenants}"}
    return frame_table(activity(cube).drop("month"), headers, percent_columns=("growth",))


def movers_table(cube: Cube, month: str) -> str:
    frame = movers(cube, month)
    keys = [b.key for b in table_buckets(cube, "month")]
    before = keys[keys.index(month) - 1] if keys.index(month) > 0 else ""
    headers = {
        "name": cube.Tenant,
        "before": month_label(cube, before) if before else "Before",
        "after": month_label(cube, month),
        "change": "Change",
        "change_pct": "Change, %",
    }
    return frame_table(
        frame, headers, percent_columns=("change_pct",), decimals={"change": "{:+,}"}
    )


def starters_table(cube: Cube, top: int | None = None) -> str:
    labels = {b.key: b.label for b in table_buckets(cube, "month")}
    frame = starters(cube).with_columns(pl.col("first_month").replace(labels))
    return frame_table(
        frame,
        {"name": cube.Tenant, "first_month": "First month", **labels},
        top=top,
        rest=f"{cube.tenants} that started",
    )


RECONCILIATION_HEADERS = {
    "organization": "Organization",
    "month": "Month",
    "counted": "Counted",
    "billed": "Billed",
    "difference": "Difference",
    "percent": "Difference %",
    "status": "Status",
}


def reconciliation_html(
    frame: pl.DataFrame | None, error: str, tenant: str = "Organization", top: int | None = None
) -> str:
    """Counted against billed per organization and month, flagged rows first; or the reason
    there is no comparison."""
    if frame is None:
        return note(f"Reconciliation not done: {error}")
    order = {"beyond tolerance": 0, "only billed": 1, "only counted": 2, "ok": 3}
    shown = frame.with_columns(
        pl.col("status").replace_strict(order).alias("_o"), pl.col("difference").abs().alias("_d")
    ).sort(["_o", "_d", "month", "organization"], descending=[False, True, False, False])
    return frame_table(
        shown.select(list(RECONCILIATION_HEADERS)),
        RECONCILIATION_HEADERS | {"organization": tenant},
        percent_columns=("percent",),
        decimals={"difference": "{:+,.0f}", "billed": "{:,.0f}"},
        top=top,
    )


def steps_table(steps: list[dict[str, Any]], customer: bool = False, heading: bool = True) -> str:
    """A tenant's (or the platform's) count step by step (`core.explain`): from the
    conversations started (or what Tiledesk's dashboard shows) to the billable ones."""
    rows = []
    for row in steps:
        name = row["step"]
        if customer and name == "excluded":
            continue  # a customer's statement: it is no excluded tenant
        what = WORDS[name] + (f" (after it: {row['label']})" if row.get("label") else "")
        change = ""
        if name not in ("started", "billable"):
            change = f"{-row['left_out']:+,}" if row["left_out"] else "0"
        detail = ""
        if row.get("by_status"):
            detail = ", ".join(f"{k} {v:,}" for k, v in row["by_status"].items())
        if row.get("missing"):
            detail = f"{row['missing']:,} with no depth"
        bold = TOTAL if name == "billable" else ""
        rows.append(
            f'<tr><td style="{TD_LEFT}{bold}">{escape(what[:1].upper() + what[1:])}</td>'
            f'<td style="{TD}{bold}">{escape(change)}</td>'
            f'<td style="{TD}{bold}">{row["count"]:,}</td>'
            f'<td style="{TD_LEFT}">{escape(detail)}</td></tr>'
        )
    files = (
        " not-billed.csv and not-billed.xlsx list each one left out, with its step."
        if customer
        else ""
    )
    title = "<h2>From the conversations started to the billed ones</h2>" if heading else ""
    return (
        f"{title}"
        f'<p style="{FONT}font-size:13px;color:#444;">Each conversation is left out by the first '
        f"step that leaves it out, so the steps add up.{files}</p>"
        f'<table style="{TABLE}"><tr><th style="{TH_LEFT}">Step</th>'
        f'<th style="{TH}">Left out</th><th style="{TH}">Remaining</th>'
        f'<th style="{TH_LEFT}">Of which</th></tr>{"".join(rows)}</table>'
    )


def findings(items: list[Finding], top: int | None = None) -> str:
    """Each data check: its title, its one-sentence finding, and the detail behind it (the
    largest `top` rows, the rest counted)."""
    return "".join(
        f"<h3>{escape(f.title)}</h3>"
        + note(f.sentence)
        + (
            ""  # the sentence says there is nothing to list
            if f.frame.height == 0
            else frame_table(
                _named(f.frame), percent_columns=("share",), decimals={"change": "{:+,}"}, top=top
            )
        )
        for f in items
    )


def _named(frame: pl.DataFrame) -> pl.DataFrame:
    """A finding's frame with a deleted agent's id shown as its name (`deleted_name`)."""
    if "agent id" not in frame.columns:
        return frame
    return frame.with_columns(
        pl.col("agent id").map_elements(deleted_name, return_dtype=pl.String)
    ).rename({"agent id": "agent"})
