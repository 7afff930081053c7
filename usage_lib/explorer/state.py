"""The explorer's state: a view (range, granularity, zone, metric, organization, agent) and
the tables of that view, cut from one daily cube.

One pass reads the window: the last `[report] explore_months` full months and the current
month, in the zone shown. Every view inside it is a polars step over that cube, with no
database call. Three things cost one pass each (then they are kept): a range outside the
window, another zone's window, and distinct users, which cannot be added up from days and
are counted for the range and granularity shown. `pending` says which, before it happens.

The widget (`widget.py`) and the page (`usage-report page`, notebooks/explore.ipynb) both
show what `Explorer.show` returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

import polars as pl

from usage_lib.core.buckets import GRANULARITIES, Bucket, Granularity, buckets, choose_granularity
from usage_lib.core.config import Config, check_timezone, parse_id
from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED, Cube
from usage_lib.core.explain import Explained, explain
from usage_lib.core.metrics import DRILL_DOWN, METRICS, Reading, Users, parse_metrics
from usage_lib.core.periods import DateRange, add_months, resolve_range, today_in
from usage_lib.core.source import Source, read_cube
from usage_lib.core.tables import KEY_COLUMNS, Scope, usage_table, usage_totals, with_totals_row
from usage_lib.errors import ConfigError
from usage_lib.figures.adoption import with_deleted_names

PRESETS = {
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "last_90_days": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last full month",
    "last_months": "Last full months",  # the config's [report] months (6 by default)
    "custom": "Custom range",
}
LAST_DAYS = re.compile(r"last_([1-9][0-9]*)_days")  # any N, beside the presets shown
WINDOW_METRICS = tuple(m for m in METRICS if m != "users")  # what the window pass reads

_KEEP = 4  # extra cubes kept (other ranges, users)
ROWS = 50  # tenants the explorer lists at first; "show more" adds as many again


def preset_range(preset: str, today: date, timezone: str, months: int = 6) -> DateRange:
    """The days a preset covers, counted back from `today` (included in "last N days" and
    "this month"; the full-month presets end with the month before)."""
    days = LAST_DAYS.fullmatch(preset)
    if days:
        return resolve_range(last_days=int(days[1]), as_of=today, timezone=timezone, months=months)
    if preset == "this_month":
        return DateRange(today.replace(day=1), today, timezone)
    if preset == "last_month":
        return resolve_range(month="last", as_of=today, timezone=timezone, months=months)
    if preset == "last_months":
        return resolve_range(as_of=today, timezone=timezone, months=months)
    raise ConfigError("preset", f"{preset!r} is not one of {', '.join(PRESETS)}")


@dataclass(frozen=True)
class View:
    """What the analyst asked to see. `start`/`end` are read with the preset "custom" only;
    `org` opens that organization's agents; `agent` (within `org`) shows its own row."""

    preset: str = "last_months"
    start: date | None = None
    end: date | None = None
    granularity: str = "auto"
    timezone: str | None = None  # None: the config's
    metric: str = "conversations"
    org: str | None = None
    agent: str | None = None
    find: str = ""  # only the tenants whose name (or id) holds this, any case
    limit: int = ROWS  # tenants shown by name; the rest are counted ("show more")

    def checked(self) -> View:
        """The view with ids lower-cased, or a ConfigError naming the bad setting."""
        if self.preset not in PRESETS and not LAST_DAYS.fullmatch(self.preset):
            raise ConfigError("preset", f"{self.preset!r} is not one of {', '.join(PRESETS)}")
        if self.preset == "custom" and (self.start is None or self.end is None):
            key = "start" if self.start is None else "end"
            raise ConfigError(key, "a custom range needs a start and an end")
        if self.granularity not in GRANULARITIES:
            raise ConfigError(
                "granularity", f"{self.granularity!r} is not one of {', '.join(GRANULARITIES)}"
            )
        if self.timezone is not None:
            check_timezone(self.timezone)
        if self.metric not in METRICS:
            raise ConfigError("metrics", f"{self.metric!r} is not one of {', '.join(METRICS)}")
        org = parse_id(self.org, "org", UNASSIGNED)
        agent = parse_id(self.agent, "agent", UNATTRIBUTED)
        if agent is not None and org is None:
            raise ConfigError("agent", "choose the agent within an organization (give org too)")
        if self.limit < 1:
            raise ConfigError("limit", f"must be 1 or more, got {self.limit}")
        return replace(self, org=org, agent=agent, find=self.find.strip())

    @property
    def tables(self) -> View:
        """The view without what only chooses rows (find, limit): what its tables are cut for."""
        return replace(self, find="", limit=ROWS)


@dataclass(frozen=True)
class Shown:
    """One view's figures: the platform table, the open organization's agents, the chosen
    agent's own row, each with its totals row (`usage_totals`)."""

    view: View
    range: DateRange
    granularity: Granularity
    buckets: tuple[Bucket, ...]
    cube: Cube  # the view's days (what "Counted:" describes)
    platform: pl.DataFrame
    platform_totals: dict[str, int | float | None]
    agents: pl.DataFrame | None = None
    agents_totals: dict[str, int | float | None] | None = None
    agent: pl.DataFrame | None = None
    notes: tuple[str, ...] = field(default=())  # passes this view cost, in words

    @property
    def org_name(self) -> str:
        row = self.platform.filter(pl.col("id") == self.view.org)
        return str(row["name"][0]) if row.height else str(self.view.org)

    def matching(self) -> pl.DataFrame:
        """The platform table's rows whose name or id holds `view.find` (any case)."""
        if not self.view.find:
            return self.platform
        needle = self.view.find.lower()
        return self.platform.filter(
            pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col("id").str.contains(needle, literal=True)
        )

    def hidden(self) -> int:
        """Matching tenants past `view.limit`, not listed by name."""
        return max(0, self.matching().height - self.view.limit)

    def visible(self) -> pl.DataFrame:
        """The first `view.limit` matching tenants, and the open one wherever it is."""
        rows = self.matching()
        shown = rows.head(self.view.limit)
        if self.view.org is not None and self.view.org not in shown["id"].to_list():
            shown = pl.concat([shown, rows.filter(pl.col("id") == self.view.org)])
        return shown

    def on_screen(self, everything: bool = True) -> pl.DataFrame:
        """The table as shown: the matching tenants (`everything`: all of them, as the
        downloads hold them; else the `visible` ones), the open organization's agents right
        after its row (`parent` names the organization), then the platform's totals."""
        keys = [b.key for b in self.buckets]
        rows = self.matching() if everything else self.visible()
        label = "Total" if not self.view.find else f"Total (all {self.cube.tenants})"
        table = with_totals_row(rows, label, sums=self.platform_totals).with_columns(
            pl.lit(None, pl.String).alias("parent")
        )
        ids = table["id"].to_list()
        if self.agents is not None and self.view.org in ids:
            at = ids.index(self.view.org) + 1
            agents = self.agents.with_columns(pl.lit(self.view.org).alias("parent"))
            table = pl.concat(
                [table.head(at), agents.select(table.columns).cast(table.schema), table.slice(at)]
            )
        return table.select([*KEY_COLUMNS, "parent", *keys, "total"])

    def chart_table(self) -> tuple[pl.DataFrame, str]:
        """What the trend chart draws and its series' kind: the agent, the open
        organization's agents, or the organizations."""
        if self.agent is not None:
            return self.agent, "Agent"
        if self.agents is not None:
            return self.agents, "Agent"
        return self.matching(), self.cube.Tenant


class Explorer:
    """The explorer's data: the window cube per zone, the other cubes a view needed, and
    how many passes over the database that took (`passes`)."""

    def __init__(self, source: Source, as_of: date | None = None) -> None:
        self.source = source
        self.as_of = as_of
        self.passes = 0
        self._windows: dict[str, Cube] = {}
        self._extra: dict[tuple[DateRange, str | None], Cube] = {}
        self._last: Shown | None = None

    @property
    def config(self) -> Config:
        return self.source.config

    def steps(self, rng: DateRange) -> Explained:
        """The range's count step by step (`core.explain`), every tenant: one pass, asked for."""
        self.passes += 1
        return explain(self.source.db, rng, self.config)

    def zone(self, view: View) -> str:
        return view.timezone or self.config.timezone

    def today(self, zone: str) -> date:
        return self.as_of or today_in(zone)

    def range_of(self, view: View) -> DateRange:
        return range_of(view, self.config, self.today(self.zone(view)))

    def window(self, zone: str) -> DateRange:
        """The days the first pass reads: `explore_months` full months and this month."""
        today = self.today(zone)
        year, month = add_months(today.year, today.month, -self.config.explore_months)
        return DateRange(date(year, month, 1), today, zone)

    def pending(self, view: View) -> str | None:
        """Why showing `view` will cost a pass over the database, or None when it will not."""
        view = view.checked()
        rng, zone = self.range_of(view), self.zone(view)
        grain = choose_granularity(rng, view.granularity)
        if view.metric == "users":
            if (rng, grain) in self._extra:
                return None
            return f"Distinct users cannot be added up from days: counting them per {grain} for {rng.describe()} (one pass)."
        if self._inside(rng):
            return None
        if (rng, None) in self._extra:
            return None
        window = self.window(zone)
        if zone not in self._windows and window.start <= rng.start and rng.end <= window.end:
            return f"Loading {window.describe()} (one pass)."
        return f"{rng.describe()} is outside the loaded window: loading it (one pass)."

    def _inside(self, rng: DateRange) -> bool:
        window = self._windows.get(rng.timezone)
        return (
            window is not None and window.range.start <= rng.start and rng.end <= window.range.end
        )

    def cube_for(self, view: View) -> tuple[Cube, tuple[str, ...]]:
        """The cube the view is cut from, and what it cost (empty: no database call)."""
        view = view.checked()
        rng, zone = self.range_of(view), self.zone(view)
        grain = choose_granularity(rng, view.granularity)
        note = self.pending(view)
        if view.metric == "users":
            users = Users(grain, DRILL_DOWN)
            return self._kept((rng, grain), Reading.of(METRICS, users)), _notes(note)
        window = self.window(zone)
        if zone not in self._windows and window.start <= rng.start and rng.end <= window.end:
            self._windows[zone] = self._read(window, Reading.of(WINDOW_METRICS))
        if self._inside(rng):
            return self._windows[zone].within(rng), _notes(note)
        return self._kept((rng, None), Reading.of(WINDOW_METRICS)), _notes(note)

    def _kept(self, key: tuple[DateRange, str | None], reading: Reading) -> Cube:
        if key not in self._extra:
            if len(self._extra) >= _KEEP:
                self._extra.pop(next(iter(self._extra)))
            self._extra[key] = self._read(key[0], reading)
        return self._extra[key]

    def _read(self, rng: DateRange, reading: Reading) -> Cube:
        self.passes += 1
        return read_cube(self.source, rng, reading=reading)

    def show(self, view: View) -> Shown:
        """The view's tables: a polars step when the window (or a kept cube) holds it; the
        same tables again when only the rows asked for change (a name to find, more rows)."""
        view = view.checked()
        if self._last is not None and self._last.view.tables == view.tables:
            return replace(self._last, view=view, notes=())
        cube, notes = self.cube_for(view)
        self._last = cut(cube, view, notes)
        return self._last


def range_of(view: View, config: Config, today: date | None = None) -> DateRange:
    """The days a (checked) view covers, in its zone (else the config's)."""
    zone = view.timezone or config.timezone
    if view.preset == "custom":
        assert view.start is not None and view.end is not None  # else `checked` refuses it
        return resolve_range(start=view.start, end=view.end, timezone=zone, months=config.months)
    return preset_range(view.preset, today or today_in(zone), zone, config.months)


def cut(cube: Cube, view: View, notes: tuple[str, ...] = ()) -> Shown:
    """A view's tables from a cube over exactly its range (polars only), deleted agents
    named as every page names them."""
    cube = with_deleted_names(cube)
    rng = cube.range
    grain = choose_granularity(rng, view.granularity)
    metric = view.metric
    platform = Scope("platform")
    shown = Shown(
        view,
        rng,
        grain,
        buckets(rng, grain),
        cube,
        usage_table(cube, platform, grain, metric),
        usage_totals(cube, platform, grain, metric),
        notes=notes,
    )
    if view.org is None:
        return shown
    org = Scope("organization", view.org)
    agent = None
    if view.agent is not None:
        agent = usage_table(cube, Scope("agent", view.org, view.agent), grain, metric)
    return replace(
        shown,
        agents=usage_table(cube, org, grain, metric),
        agents_totals=usage_totals(cube, org, grain, metric),
        agent=agent,
    )


def _notes(note: str | None) -> tuple[str, ...]:
    return () if note is None else (note,)


def page_views(
    start: str = "",
    end: str = "",
    last_days: int = 0,
    granularity: str = "auto",
    timezone: str = "",
    org: str = "",
    metrics: str = "conversations",
) -> list[View]:
    """The views of a page (the flags of `usage-report page`, the explorer notebook's
    parameters), one per metric: a custom range, the last N days (0: not given), or the
    explorer's default (the last full months; the last 30 days for an organization). The
    range is checked as `periods.resolve_range` checks every range."""
    days = last_days or None
    custom = None
    if start or end or days:  # checked as every range is (its zone and months change nothing)
        rng = resolve_range(start=start, end=end, last_days=days, timezone="UTC", months=1)
        custom = rng if start else None
    default = "last_30_days" if org else "last_months"
    preset = "custom" if custom else f"last_{days}_days" if days else default
    return [
        View(
            preset,
            None if custom is None else custom.start,
            None if custom is None else custom.end,
            granularity,
            timezone or None,
            metric,
            org or None,
        ).checked()
        for metric in parse_metrics(metrics)
    ]


def page_cube(source: Source, views: list[View], as_of: date | None = None) -> Cube:
    """The one pass a page needs: its range, its metrics, distinct users for its buckets."""
    rng = range_of(views[0], source.config, as_of)
    users = Users(choose_granularity(rng, views[0].granularity), DRILL_DOWN)
    reading = Reading.of([v.metric for v in views], users)
    return read_cube(source, rng, reading=reading)
