"""The pack's front page: the month's headline, the trend, the customers, why the month
moved and its alerts; then the pages, as navigation; the counting rule in one line under the
headline and in full at the foot. It carries the pack's stylesheet (`report.css`), as every
page does."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from usage_lib.core.tables import top_rows
from usage_lib.paths import TEMPLATES
from usage_lib.present.html import headline_cards, rule_line, rule_section, usage_table
from usage_lib.present.watch import bridge_html, month_alerts_html
from usage_lib.report.digest import TOP_ORGANIZATIONS, Digest

STYLESHEET = TEMPLATES / "report" / "report.css"
INDEX = "index.html"


def stylesheet() -> str:
    """The pack's one stylesheet (the PDF output appends its @page rules to the file)."""
    return STYLESHEET.read_text(encoding="utf-8")


def nav_bar(report: str, pages: Sequence[tuple[str, str]], current: str = INDEX) -> str:
    """The bar at the top of every page: the report's name, the index, every page."""
    here = ' aria-current="page"'
    links = "".join(
        f'<a href="{escape(f)}"{here if f == current else ""}>{escape(t)}</a>'
        for f, t in [(INDEX, "Summary"), *pages]
    )
    return (
        f'<nav class="report-nav" aria-label="Report pages">'
        f'<span class="report-name">{escape(report)}</span>{links}</nav>'
    )


def index_page(d: Digest, pages: list[tuple[str, str]], tables: Sequence[str] = ()) -> str:
    """The pack's front page: the month first (headline, trend, customers, why it moved,
    alerts), then a link to every page and to the full tables (every tenant and agent, CSV),
    and the counting rule in full at the foot."""
    label = d.headline.label
    report = f"Usage report, {label}"
    links = "".join(f'<li><a href="{escape(f)}">{escape(t)}</a></li>' for f, t in pages)
    if tables:
        files = ", ".join(f'<a href="{escape(f)}">{escape(f.split("/")[-1])}</a>' for f in tables)
        links += (
            f"<li>The full tables <span>(CSV): every {d.cube.tenant} and every agent, "
            f"by month and metric: {files}</span></li>"
        )
    table = top_rows(d.table, TOP_ORGANIZATIONS, f"All other {d.cube.tenants}")
    chart = base64.b64encode(d.chart_png).decode("ascii")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report)}</title><style>{stylesheet()}</style></head><body>"
        f"{nav_bar(report, pages)}"
        '<main class="report">'
        f"<h1>{escape(report)}</h1>"
        f"{rule_line(d.cube)}"
        f"{headline_cards(d.headline)}"
        "<h2>Trend</h2>"
        f'<img class="chart" src="data:image/png;base64,{chart}" width="568" '
        f'alt="{escape(d.chart_description)}">'
        f"<h2>Billable conversations by {escape(d.cube.tenant)}</h2>"
        f'<div class="scroll">{usage_table(table, d.cube, "month", name_width=24)}</div>'
        f"{bridge_html(d.bridge)}"
        f"{'' if d.alerts is None else month_alerts_html(d.alerts, d.cube.tenants)}"
        f'<h2>Pages</h2><ul class="pages">{links}</ul>'
        f"{rule_section(d.cube)}"
        "</main></body></html>"
    )
