"""The explorer in JupyterLab: `ul.explore(src)`.

Controls are ipywidgets (the standard ones, which JupyterLab 4 renders with no extension
to install); the table is a small anywidget, because its rows must answer clicks (an
organization opens its agents below it, an agent shows its own row) and anywidget gives
that with one ES module and no build step; the chart is Altair's own `JupyterChart`
(itself an anywidget), offline, with tooltips. Every change is handled by `Explorer`
(explorer/state.py): a polars step inside the loaded window, a said-so pass outside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

import altair as alt
import anywidget
import ipywidgets as w
import traitlets as t

from usage_lib.core.buckets import GRANULARITIES
from usage_lib.core.metrics import METRICS, TITLES
from usage_lib.core.source import Source
from usage_lib.errors import ConfigError, DatabaseError
from usage_lib.explorer.page import view_html
from usage_lib.explorer.state import PRESETS, ROWS, Explorer, Shown, View
from usage_lib.present import charts, formats, html

ZONES = ("UTC", "Europe/Rome", "Europe/London", "America/New_York", "America/Los_Angeles",
         "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney")  # fmt: skip

HERE = Path(__file__).parent  # widget.js, widget.css: real files, linted, hot-reloaded


class UsageTable(anywidget.AnyWidget):  # type: ignore[misc]
    """The platform table with the open organization's agents inline; `org` and `agent` are
    what the analyst clicked ("" for none)."""

    _esm = HERE / "widget.js"
    _css = HERE / "widget.css"
    first = t.Unicode("Organization").tag(sync=True)
    labels = t.List(t.Unicode()).tag(sync=True)
    rows = t.List(t.Dict()).tag(sync=True)
    org = t.Unicode("").tag(sync=True)
    agent = t.Unicode("").tag(sync=True)
    limit = t.Int(ROWS).tag(sync=True)  # tenants listed; "Show more" adds `step`
    step = t.Int(ROWS).tag(sync=True)


def table_rows(shown: Shown) -> list[dict[str, Any]]:
    """The table widget's rows: the visible tenants of `Shown.on_screen`, the open one's
    agents, a "more" row counting the tenants not listed, the totals; the kind of each
    (organization, agent, more, total) and whether it is open or chosen."""
    keys = [b.key for b in shown.buckets]
    rows = []
    for r in shown.on_screen(everything=False).iter_rows(named=True):
        kind = "agent" if r["parent"] else "total" if r["type"] == "total" else "organization"
        if kind == "total" and shown.hidden():
            rows.append(more_row(shown, keys))
        rows.append(
            {
                "id": r["id"],
                "name": r["name"],
                "kind": kind,
                "values": [r[k] for k in keys],
                "total": r["total"],
                "open": kind == "organization" and r["id"] == shown.view.org,
                "chosen": kind == "agent" and r["id"] == shown.view.agent,
            }
        )
    return rows


def more_row(shown: Shown, keys: list[str]) -> dict[str, Any]:
    hidden = shown.hidden()
    words = shown.cube.tenants if hidden > 1 else shown.cube.tenant
    return {
        "id": "more",
        "name": f"{hidden:,} more {words}, not listed (find one by name, or)",
        "kind": "more",
        "values": [None] * len(keys),
        "total": None,
        "open": False,
        "chosen": False,
    }


class ExplorerWidget(w.VBox):  # type: ignore[misc]
    """Presets, a custom range, granularity, zone and metric driving the table, the chart,
    the "Counted:" line and the downloads. `explorer.passes` counts database passes."""

    def __init__(self, explorer: Explorer, view: View | None = None) -> None:
        self.explorer = explorer
        view = (view or View()).checked()
        zone = explorer.zone(view)
        rng = explorer.range_of(view)
        months = explorer.config.months
        self.preset = w.Dropdown(
            options=[
                (f"Last {months} full months" if key == "last_months" else label, key)
                for key, label in PRESETS.items()
            ],
            value=view.preset if view.preset in PRESETS else "custom",
            description="Range",
        )
        self.start = w.DatePicker(value=rng.start, description="From")
        self.end = w.DatePicker(value=rng.end, description="To")
        self.granularity = w.Dropdown(
            options=list(GRANULARITIES), value=view.granularity, description="Buckets"
        )
        self.zone = w.Combobox(
            value=zone, options=list(dict.fromkeys((zone, *ZONES))), description="Zone"
        )
        self.metric = w.Dropdown(
            options=[(TITLES[m], m) for m in METRICS], value=view.metric, description="Metric"
        )
        self.table = UsageTable(org=view.org or "", agent=view.agent or "", limit=view.limit)
        self.find = w.Text(
            value=view.find, placeholder="a name or id", description="Find", continuous_update=True
        )
        self.status = w.HTML()
        self.counted = w.HTML()
        self.explain = w.Button(
            description="Step by step",
            tooltip="the range's count from the conversations started to the billable ones",
        )
        self.steps = w.HTML()
        self.chart = alt.JupyterChart(alt.Chart().mark_point(), embed_options={"actions": False})
        self.shown: Shown | None = None
        self._quiet = False
        narrow = w.Layout(width="220px")
        for control in (self.preset, self.start, self.end, self.granularity, self.zone):
            control.layout = narrow
        self.metric.layout = w.Layout(width="300px")
        super().__init__(
            [
                w.HBox([self.preset, self.start, self.end]),
                w.HBox([self.granularity, self.zone, self.metric]),
                self.find,
                self.status,
                w.HBox([self.counted, self.explain]),
                self.steps,
                self.table,
                self.chart,
            ]
        )
        for control in (self.preset, self.granularity, self.zone, self.metric):
            control.observe(self._changed, "value")
        self.find.observe(self._found, "value")
        self.table.observe(self._changed, "limit")
        for picker in (self.start, self.end):
            picker.observe(self._dates, "value")
        self.table.observe(self._org_changed, "org")
        self.table.observe(self._changed, "agent")
        self.table.on_msg(self._send_download)
        self.explain.on_click(self._explained)
        self.refresh()

    # -- what the controls say ------------------------------------------------------------

    def view(self) -> View:
        preset = self.preset.value
        return View(
            preset,
            self.start.value if preset == "custom" else None,
            self.end.value if preset == "custom" else None,
            self.granularity.value,
            self.zone.value.strip() or None,
            self.metric.value,
            self.table.org or None,
            self.table.agent or None,
            self.find.value,
            self.table.limit,
        )

    def _dates(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        with self._hold():
            self.preset.value = "custom"
        self.refresh()

    def _found(self, change: dict[str, Any]) -> None:
        """Another name to find: the list starts again from its first rows."""
        with self._hold():
            self.table.limit = ROWS
        self._changed(change)

    def _org_changed(self, change: dict[str, Any]) -> None:
        """Another organization (or none): its agent choice goes with the old one."""
        with self._hold():
            self.table.agent = ""
        self._changed(change)

    def _changed(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.refresh()

    @contextmanager
    def _hold(self) -> Iterator[None]:
        """Set controls without each change re-showing the view."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    # -- showing ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the controls' view; say first when it costs a pass; errors in one line."""
        view = self.view()
        try:
            pending = self.explorer.pending(view)
            if pending:
                self.status.value = _status(f"⏳ {pending}", "#7a5b00")
            shown = self.explorer.show(view)
        except ConfigError as exc:
            self.status.value = _status(f"{exc.key}: {exc.problem}", "#b00020")
            return
        self.show(shown)

    def show(self, shown: Shown) -> None:
        self.shown = shown
        with self._hold():
            if shown.view.preset != "custom":
                self.start.value, self.end.value = shown.range.start, shown.range.end
        notes = " ".join(shown.notes)
        passes = f"{self.explorer.passes} database pass{'es' if self.explorer.passes != 1 else ''} so far."
        self.status.value = _status(f"{notes} {passes}".strip(), "#555")
        self.counted.value = html.note(html.counted_text(shown.cube, [shown.view.metric]))
        self.steps.value = ""  # another view: its steps when asked
        self.table.first = shown.cube.Tenant
        self.table.labels = [b.label for b in shown.buckets]
        self.table.rows = table_rows(shown)
        table, kind = shown.chart_table()
        chart = charts.view_chart(
            table, shown.buckets, shown.granularity, shown.view.metric, kind, interactive=True
        )
        self.chart.spec = chart.spec

    def _explained(self, _: Any = None) -> None:
        """The "Step by step" button: the range shown, from what started to what is billable
        (the platform, and the open organization)."""
        from usage_lib.explorer.page import steps_html

        if self.shown is None:
            return
        try:
            found = self.explorer.steps(self.shown.range)
        except (ConfigError, DatabaseError) as exc:
            self.steps.value = _status(str(exc), "#b00020")
            return
        self.steps.value = steps_html(found, self.shown.view.org)

    def download(self, kind: str) -> tuple[str, str, bytes]:
        """The table on screen as a file: (name, MIME type, bytes); made when asked for."""
        assert self.shown is not None
        return download(self.shown, kind)

    def _send_download(self, _: object, content: dict[str, Any], buffers: object) -> None:
        if self.shown is not None and content.get("download") in ("csv", "xlsx"):
            name, mime, payload = self.download(content["download"])
            self.table.send({"file": name, "mime": mime}, buffers=[payload])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget, and the view as static HTML where no widget can be drawn (an
        exported notebook; what nbval compares)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if self.shown is not None:
            data["text/html"] = view_html(self.shown)
            data["text/plain"] = f"Usage explorer: {self.shown.range.describe()}"
        return bundle


def _status(text: str, color: str) -> str:
    return f'<div style="{html.FONT}font-size:12px;color:{color};">{escape(text)}</div>'


def download(shown: Shown, kind: str) -> tuple[str, str, bytes]:
    """The view's table as shown (`Shown.on_screen`), as CSV or XLSX."""
    frame = shown.on_screen()
    stem = f"usage-{shown.view.metric}-{shown.range.start}-{shown.range.end}"
    if kind == "csv":
        return f"{stem}.csv", "text/csv", formats.view_csv(frame).encode()
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return f"{stem}.xlsx", mime, formats.view_xlsx(frame, shown.buckets)


def explore(
    source: Source,
    org: str | None = None,
    agent: str | None = None,
    as_of: date | str | None = None,
    view: View | None = None,
) -> ExplorerWidget:
    """The explorer on `source` (`ul.connect()`); the first view loads the window (one pass).

    It opens on the platform's last full months, or, given `org` (and `agent`), on that
    organization's agents over the last 30 days; `view` sets everything. `as_of` pins the
    day the presets count back from (default: today in the zone)."""
    from usage_lib.core.periods import parse_date

    alt.JupyterChart.enable_offline()  # the chart draws with no network
    day = parse_date(as_of, "as_of") if as_of is not None else None
    if view is None:
        view = View("last_30_days", org=org, agent=agent) if org or agent else View()
    return ExplorerWidget(Explorer(source, as_of=day), view)
