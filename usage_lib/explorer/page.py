"""Any explorer view as one self-contained page: the HTML of a view (`view_html`, also the
widget's fallback where no widget can be drawn, and notebooks/explore.ipynb's output when it
runs headless), and `write`, which `usage-report page` calls: the same pass as `table`,
then the page, written whole or not at all.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date
from html import escape
from pathlib import Path

from usage_lib.core.config import parse_id
from usage_lib.core.cube import UNASSIGNED, Cube
from usage_lib.core.explain import Explained, explain
from usage_lib.core.metrics import TITLES
from usage_lib.core.source import Source
from usage_lib.core.tables import ADDITIVE
from usage_lib.explorer.state import Shown, View, cut, page_cube
from usage_lib.paths import write_atomic
from usage_lib.present.html import FONT, counted_text, note, steps_table, usage_table


def view_html(
    views: Shown | Sequence[Shown], chart_png: bytes | None = None, steps: bool = False
) -> str:
    """An explorer view as static HTML (the page and the widget's fallback): per metric the
    platform table, the open organization's agents and the chosen agent's row; the chart;
    the "Counted:" line."""
    views = [views] if not isinstance(views, Sequence) else list(views)
    parts = []
    for s in views:
        title = TITLES[s.view.metric]
        grain = s.granularity
        heading = f"{title} by {s.cube.tenant}, per {grain}, {s.range.describe()}"
        parts.append(f'<h3 style="{FONT}margin:14px 0 2px 0;">{escape(heading)}</h3>')
        if s.view.find:
            found = s.matching().height
            parts.append(
                note(f"{found:,} of {s.platform.height:,} {s.cube.tenants} match “{s.view.find}”.")
            )
        parts.append(
            usage_table(
                s.matching(),
                s.cube,
                grain,
                sums=s.platform_totals,
                top=s.view.limit,
                additive=s.view.metric in ADDITIVE,
            )
        )
        if s.agents is not None:
            parts.append(
                f'<h4 style="{FONT}margin:8px 0 2px 0;">Agents of {escape(s.org_name)}</h4>'
            )
            parts.append(usage_table(s.agents, s.cube, grain, "Agent", s.agents_totals))
        if s.agent is not None and s.agent.height:
            name = escape(str(s.agent["name"][0]))
            parts.append(
                f'<h4 style="{FONT}margin:8px 0 2px 0;">{name} in {escape(s.org_name)}</h4>'
            )
            parts.append(usage_table(s.agent, s.cube, grain, "Agent"))
    if chart_png is not None:
        data = base64.b64encode(chart_png).decode()
        parts.append(
            f'<img alt="trend chart" style="max-width:100%;" src="data:image/png;base64,{data}">'
        )
    first = views[0]
    counted = counted_text(first.cube, [s.view.metric for s in views])
    link = ' <a href="#steps">Step by step, from what started.</a>' if steps else ""
    parts.append(f'<p style="{FONT}font-size:13px;color:#444;">{escape(counted)}{link}</p>')
    return "".join(parts)


def body(shown: Sequence[Shown], steps: bool = False) -> str:
    """The views' tables, the first one's chart (a PNG, inline) and the "Counted:" line."""
    from usage_lib.present.charts import view_chart

    first = shown[0]
    table, kind = first.chart_table()
    chart = view_chart(table, first.buckets, first.granularity, first.view.metric, kind)
    return view_html(shown, chart.png(), steps)


def steps_html(steps: Explained, org: str | None = None) -> str:
    """The range's count step by step: the platform's, and the open organization's."""
    org = parse_id(org, "org", UNASSIGNED)
    wanted = [t for t in steps.to_json()["tenants"] if t["id"] in ("*", org)]
    tables = "".join(
        f'<h3 style="{FONT}">{escape(t["name"])}</h3>{steps_table(t["steps"], heading=False)}'
        for t in reversed(wanted)
    )
    return (
        f'<div id="steps"><h2 style="{FONT}">Step by step, {escape(steps.range.describe())}'
        f"</h2>{tables}</div>"
    )


def page_html(shown: Sequence[Shown], steps: Explained | None = None) -> str:
    """The views as one self-contained page; it opens offline. With `steps`, the range's
    count step by step (the platform's, and the open organization's), linked from the
    "Counted:" line."""
    title = f"Usage, {shown[0].range.describe()}"
    explained = "" if steps is None else steps_html(steps, shown[0].view.org)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'</head><body style="{FONT}max-width:1100px;margin:24px auto;padding:0 12px;">'
        f'<h1 style="{FONT}">Usage explorer</h1>{body(shown, steps is not None)}{explained}'
        "</body></html>"
    )


def write(
    source: Source, views: list[View], out: Path, as_of: date | None = None
) -> tuple[Path, Cube]:
    """`usage-report page`: the views' one pass (the same as `table`'s), the range's steps
    (`core.explain`, one more), their page, written whole or not at all; and the cube."""
    cube = page_cube(source, views, as_of)
    shown = [cut(cube, v) for v in views]
    steps = explain(source.db, shown[0].range, source.config)  # every tenant: one pass
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, page_html(shown, steps).encode())
    return out, cube
