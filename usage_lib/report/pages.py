"""The pack's front page: what is counted, the month's headline, why it moved, the month's
alerts, a link to every page and to the full tables."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from usage_lib.present.html import FONT, counted_line, headline_cards
from usage_lib.present.watch import bridge_html, month_alerts_html
from usage_lib.report.digest import Digest


def index_page(d: Digest, pages: list[tuple[str, str]], tables: Sequence[str] = ()) -> str:
    """The pack's front page: what is counted, the headline, a link to every page and to
    the full tables (every tenant and agent, CSV)."""
    label = d.headline.label
    links = "".join(f'<li><a href="{escape(f)}">{escape(t)}</a></li>' for f, t in pages)
    if tables:
        files = ", ".join(f'<a href="{escape(f)}">{escape(f.split("/")[-1])}</a>' for f in tables)
        links += (
            f"<li>The full tables, every {d.cube.tenant} and every agent by month and metric "
            f"(CSV): {files}</li>"
        )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Usage report, {escape(label)}</title>'
        f'</head><body style="{FONT}max-width:900px;margin:24px auto;padding:0 12px;">'
        f"<h1>Usage report, {escape(label)}</h1>{counted_line(d.cube)}{headline_cards(d.headline)}"
        f"{bridge_html(d.bridge)}"
        f"{'' if d.alerts is None else month_alerts_html(d.alerts, d.cube.tenants)}"
        f"<h2>Pages</h2><ul>{links}</ul></body></html>"
    )
