"""Early warning, from what started each day (`core.watch`): per tenant, and per agent
of a tenant, the conversations started on the watched days against the same weekdays of the
weeks before; the month so far and its projection; the month's alerts for the pack.

The rule (docs/alerts.md says why): over the watched days, observed O against the weekly
totals B_1..B_n of the same weekdays n weeks back, expected M = median(B), spread
s = max(1.4826 * MAD(B), sqrt(M), 1) (the MAD of a steady tenant is 0; sqrt(M) is the Poisson
noise of a count), z = (O - M) / s. With M at least `min_daily` a day:
- silent: O = 0;
- drop: z <= -3 and O <= M / 2;
- spike: z >= +3 and O >= 2 M;
and test_surge (per tenant): tests at least `min_daily` a day, at least half of the
tenant's conversations and at least 3 times their usual share. A series seen first less than
n weeks before the as-of day is not judged. A test surge explains its tenant's silence or drop,
and a tenant's alert its agents' alerts of the same direction: those are not repeated.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED
from usage_lib.core.periods import DateRange, add_months

KINDS = ("silent", "drop", "test_surge", "spike")
DOWN = ("silent", "drop", "test_surge")
Z_LIMIT = 3.0
DROP_AT = 0.5  # a drop: at most half the usual
SPIKE_AT = 2.0  # a spike: at least twice the usual
SURGE_SHARE = 0.5  # a test surge: at least half the conversations are tests...
SURGE_RATIO = 3.0  # ... and at least three times the usual share
MAD_SCALE = 1.4826  # MAD -> standard deviation, for normal data

COLUMNS = (
    "kind",
    "tenant",
    "id",
    "name",
    "agent_id",
    "agent_name",
    "observed",
    "expected",
    "change_pct",
    "z",
)


@dataclass(frozen=True)
class Watch:
    """What one run watches: the `days` complete days before `as_of`, against the same
    weekdays of the `weeks` weeks before them."""

    as_of: date
    days: int = 3
    weeks: int = 8
    min_daily: int = 5

    @property
    def watched(self) -> list[date]:
        return [self.as_of - timedelta(days=self.days - i) for i in range(self.days)]

    @property
    def first_day(self) -> date:
        """The first day read: a week before the earliest baseline days, to see history."""
        return self.as_of - timedelta(weeks=self.weeks + 1)

    @property
    def history_by(self) -> date:
        """A series first seen on or before this day has `weeks` weeks of history."""
        return self.as_of - timedelta(weeks=self.weeks)

    def range(self, timezone: str) -> DateRange:
        """The days the watch's pass reads: the baseline weeks and, for the month so far, the
        month before the as-of day's, through the day before the as-of day."""
        year, month = add_months(self.as_of.year, self.as_of.month, -1)
        start = min(self.first_day, date(year, month, 1))
        return DateRange(start, self.as_of - timedelta(days=1), timezone)

    def describe(self) -> str:
        first, last = self.watched[0], self.watched[-1]
        span = f"{last:%-d %b %Y}" if first == last else f"{first:%-d %b} – {last:%-d %b %Y}"
        return f"{span}, against the same weekdays of the {self.weeks} weeks before"


def _offsets(watch: Watch) -> pl.DataFrame:
    """Each watched day (k = 0) and the same weekday k weeks back (k = 1..weeks)."""
    rows = [(d - timedelta(weeks=k), k) for k in range(watch.weeks + 1) for d in watch.watched]
    return pl.DataFrame(rows, schema={"day": pl.Date, "k": pl.Int32}, orient="row")


def _judged(daily: pl.DataFrame, keys: list[str], watch: Watch) -> pl.DataFrame:
    """Per series with enough history: observed, expected, z and the test shares, flagged."""
    weeks = pl.DataFrame({"k": list(range(watch.weeks + 1))}, schema={"k": pl.Int32})
    sums = (
        daily.join(_offsets(watch), on="day")
        .group_by(*keys, "k")
        .agg(pl.col("started", "test").sum())
    )
    first = (
        daily.filter((pl.col("started") + pl.col("test")) > 0)
        .group_by(keys)
        .agg(pl.col("day").min().alias("first_day"))
        .filter(pl.col("first_day") <= watch.history_by)
    )
    grid = first.select(keys).join(weeks, how="cross")
    weekly = grid.join(sums, on=[*keys, "k"], how="left").fill_null(0)
    base = weekly.filter(pl.col("k") > 0)
    usual = base.group_by(keys).agg(
        pl.col("started").median().alias("expected"),
        pl.col("test").sum().alias("base_test"),
        pl.col("started").sum().alias("base_started"),
    )
    spread = (
        base.join(usual, on=keys)
        .group_by(keys)
        .agg((pl.col("started") - pl.col("expected")).abs().median().alias("mad"))
    )
    now = weekly.filter(pl.col("k") == 0).select(
        *keys, pl.col("started").alias("observed"), pl.col("test").alias("tests")
    )
    o, m = pl.col("observed"), pl.col("expected")
    scale = pl.max_horizontal(MAD_SCALE * pl.col("mad"), m.sqrt(), pl.lit(1.0))
    total = pl.col("tests") + o
    base_total = pl.col("base_test") + pl.col("base_started")
    floor = m >= watch.min_daily * watch.days
    judged = now.join(usual, on=keys).join(spread, on=keys)
    judged = judged.with_columns(
        z=(o - m) / scale,
        share=pl.when(total > 0).then(pl.col("tests") / total).otherwise(0.0),
        usual_share=pl.when(base_total > 0).then(pl.col("base_test") / base_total).otherwise(0.0),
    )
    z = pl.col("z")
    return judged.with_columns(
        silent=floor & (o == 0),
        drop=floor & (o > 0) & (z <= -Z_LIMIT) & (o <= DROP_AT * m),
        spike=floor & (z >= Z_LIMIT) & (o >= SPIKE_AT * m),
        test_surge=(pl.col("tests") >= watch.min_daily * watch.days)
        & (pl.col("share") >= SURGE_SHARE)
        & (pl.col("share") >= SURGE_RATIO * pl.col("usual_share")),
    )


def _flagged(judged: pl.DataFrame, kinds: tuple[str, ...]) -> pl.DataFrame:
    """One row per (series, kind) flagged, with the contract's figures."""
    parts = []
    for kind in kinds:
        rows = judged.filter(pl.col(kind))
        if kind == "test_surge":
            rows = rows.with_columns(
                observed=pl.col("tests"),
                expected=pl.col("usual_share") * (pl.col("tests") + pl.col("observed")),
                z=pl.lit(None, pl.Float64),
            )
        elif kind == "silent":
            rows = rows.with_columns(z=pl.lit(None, pl.Float64))
        parts.append(rows.with_columns(kind=pl.lit(kind)))
    return pl.concat(parts, how="diagonal_relaxed")


def detect(started: pl.DataFrame, watch: Watch, tenant: str, agents: bool = True) -> Alerts:
    """The alerts of one as-of day (`started`: `core.watch`'s frame, with names)."""
    known = started.filter(pl.col("org_id") != UNASSIGNED)
    daily = known.group_by("org_id", "day").agg(pl.col("started", "test").sum())
    tenants = _judged(daily, ["org_id"], watch)
    found = _flagged(tenants, KINDS)
    surged = found.filter(pl.col("kind") == "test_surge")["org_id"]
    found = found.filter(
        ~(pl.col("kind").is_in(["silent", "drop"]) & pl.col("org_id").is_in(surged.implode()))
    ).with_columns(agent_id=pl.lit(None, pl.String))
    if agents:
        of_agents = known.filter(pl.col("agent_id") != UNATTRIBUTED)
        by_agent = of_agents.group_by("org_id", "agent_id", "day").agg(
            pl.col("started", "test").sum()
        )
        agent_found = _flagged(
            _judged(by_agent, ["org_id", "agent_id"], watch), DOWN[:2] + ("spike",)
        )
        direction = pl.when(pl.col("kind").is_in(DOWN)).then(pl.lit("down")).otherwise(pl.lit("up"))
        said = found.select("org_id", direction.alias("direction")).unique()
        agent_found = agent_found.with_columns(direction=direction).join(
            said, on=["org_id", "direction"], how="anti"
        )
        found = pl.concat([found, agent_found.drop("direction")], how="diagonal_relaxed")
    names = started.select("org_id", "org_name").unique("org_id")
    agent_names = started.select("org_id", "agent_id", "agent_name").unique(["org_id", "agent_id"])
    found = found.join(names, on="org_id", how="left").join(
        agent_names, on=["org_id", "agent_id"], how="left"
    )
    order = {kind: i for i, kind in enumerate(KINDS)}
    e = pl.col("expected")
    frame = found.select(
        pl.col("kind"),
        pl.lit(tenant).alias("tenant"),
        pl.col("org_id").alias("id"),
        pl.col("org_name").alias("name"),
        pl.col("agent_id"),
        pl.when(pl.col("agent_id").is_null())
        .then(None)
        .otherwise(pl.col("agent_name"))
        .alias("agent_name"),
        pl.col("observed").cast(pl.Int64),
        e.cast(pl.Float64).round(1).alias("expected"),
        pl.when(e > 0)
        .then((100 * (pl.col("observed") - e) / e).round(1))
        .otherwise(None)
        .alias("change_pct"),
        pl.col("z").round(2),
        pl.col("share"),
        pl.col("usual_share"),
        pl.col("kind").replace_strict(order, return_dtype=pl.Int32).alias("_order"),
    )
    frame = frame.sort(
        ["_order", "expected", "name", "agent_name"],
        descending=[False, True, False, False],
        nulls_last=[False, False, False, False],
    ).drop("_order")
    return Alerts(watch, tenant, tenants.height, frame)


@dataclass(frozen=True)
class Alerts:
    watch: Watch
    tenant: str  # "organization", or "project"
    watched: int  # tenants with `weeks` weeks of history
    frame: pl.DataFrame  # COLUMNS, plus share and usual_share

    def to_json(self) -> dict[str, Any]:
        """The contract of `usage-report alerts --format json` (docs/alerts.md)."""
        return {
            "as_of": self.watch.as_of.isoformat(),
            "days": [d.isoformat() for d in self.watch.watched],
            "baseline_weeks": self.watch.weeks,
            "watched": self.watched,
            "alerts": self.frame.select(COLUMNS).to_dicts(),
        }

    def lines(self, test_word: str = "test mode") -> list[str]:
        return [
            sentence(row, self.watch.days, test_word) for row in self.frame.iter_rows(named=True)
        ]


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def sentence(alert: dict[str, Any], days: int, test_word: str = "test mode") -> str:
    """One line a person can act on."""
    who = alert["name"]
    if alert["agent_id"] is not None:
        who = f"{who}, agent {alert['agent_name']}"
    observed, expected = alert["observed"], alert["expected"]
    if alert["kind"] == "silent":
        return (
            f"{who}: silent for {_days(days)} (usually {expected / days:,.0f} a day on these "
            "weekdays)"
        )
    if alert["kind"] == "drop":
        return (
            f"{who}: {observed:,} conversations started in {_days(days)}, "
            f"{-alert['change_pct']:.0f}% below the usual {expected:,.0f} on these weekdays"
        )
    if alert["kind"] == "spike":
        return (
            f"{who}: {observed:,} conversations started in {_days(days)}, "
            f"{observed / expected:.1f}x the usual {expected:,.0f} on these weekdays"
        )
    return (
        f"{who}: {alert['share']:.0%} of the conversations of the last {_days(days)} were "
        f"{test_word} ({observed:,}; usually {alert['usual_share']:.0%}): is a widget left in "
        f"{test_word}?"
    )


# -- the month so far --------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthSoFar:
    month: date  # its first day
    through: date | None  # the last day counted; None: the month starts on the as-of day
    started: int
    billable: int  # so far: the last days' still grow as conversations close
    projection: int  # billable so far + the rest of the month at the same weekdays' rate
    last_month: date  # its first day
    last_billable: int

    @property
    def label(self) -> str:
        return f"{self.month:%B %Y}"

    @property
    def last_label(self) -> str:
        return f"{self.last_month:%B %Y}"

    def sentence(self) -> str:
        change = ""
        if self.last_billable:
            change = f" ({(self.projection - self.last_billable) / self.last_billable:+.0%})"
        through = "" if self.through is None else f" through {self.through:%-d %b}"
        return (
            f"{self.label}{through}: {self.started:,} conversations started, "
            f"{self.billable:,} billable so far; on course for about {self.projection:,} "
            f"billable against {self.last_billable:,} in {self.last_label}{change}."
        )


def month_so_far(started: pl.DataFrame, watch: Watch) -> MonthSoFar:
    """The as-of day's month so far, and its projection: for each day left, the mean billable
    count of that weekday over the baseline weeks (the `weeks` weeks before the watched days,
    whose counts have settled)."""
    first = watch.as_of.replace(day=1)
    last_first = date(*add_months(first.year, first.month, -1), 1)
    day = pl.col("day")
    so_far = started.filter((day >= first) & (day < watch.as_of))
    base_end = watch.watched[0] - timedelta(days=1)
    base = started.filter((day > base_end - timedelta(weeks=watch.weeks)) & (day <= base_end))
    rates = {
        weekday: total / watch.weeks
        for weekday, total in base.group_by(day.dt.weekday().alias("w"))
        .agg(pl.col("billable").sum())
        .iter_rows()
    }
    end = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
    left = [watch.as_of + timedelta(days=i) for i in range((end - watch.as_of).days + 1)]
    billable = int(so_far["billable"].sum())
    projection = billable + sum(rates.get(d.isoweekday(), 0.0) for d in left)
    previous = started.filter((day >= last_first) & (day < first))
    return MonthSoFar(
        month=first,
        through=None if watch.as_of == first else watch.as_of - timedelta(days=1),
        started=int(so_far["started"].sum()),
        billable=billable,
        projection=round(projection),
        last_month=last_first,
        last_billable=int(previous["billable"].sum()),
    )


# -- the month's alerts, for the pack ------------------------------------------------------------


def month_range(year: int, month: int, days: int, weeks: int, timezone: str) -> DateRange:
    """What `month_alerts` reads: the month and the baseline of its first watched days."""
    first = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    return DateRange(Watch(first + timedelta(days=days), days, weeks).first_day, end, timezone)


def month_alerts(
    started: pl.DataFrame, year: int, month: int, settings: Watch, tenant: str
) -> pl.DataFrame:
    """The tenants that went silent or dropped during the month: the watch run for every day
    whose watched days lie in the month; per tenant, the first watched day it was flagged
    (silent wins over drop), and the usual daily count then."""
    first = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    found = []
    as_of = first + timedelta(days=settings.days)
    while as_of <= end + timedelta(days=1):
        watch = Watch(as_of, settings.days, settings.weeks, settings.min_daily)
        rows = detect(started, watch, tenant, agents=False).frame
        rows = rows.filter(pl.col("kind").is_in(["silent", "drop"]))
        found.append(rows.with_columns(since=pl.lit(watch.watched[0])))
        as_of += timedelta(days=1)
    schema = {"kind": pl.String, "id": pl.String, "name": pl.String, "since": pl.Date}
    if not found or not sum(f.height for f in found):
        return pl.DataFrame(schema={**schema, "usual_daily": pl.Float64})
    every = pl.concat(found, how="diagonal_relaxed")
    silent = every.filter(pl.col("kind") == "silent")
    kept = pl.concat([silent, every.join(silent.select("id").unique(), on="id", how="anti")])
    return (
        kept.sort("since")
        .group_by("id", maintain_order=True)
        .agg(
            pl.col("kind").first(),
            pl.col("name").first(),
            pl.col("since").first(),
            (pl.col("expected").first() / settings.days).round(1).alias("usual_daily"),
        )
        .sort(["since", "usual_daily"], descending=[False, True])
        .select("kind", "id", "name", "since", "usual_daily")
    )


def month_sentence(row: dict[str, Any]) -> str:
    what = "silent" if row["kind"] == "silent" else "dropped by half or more"
    return f"{row['name']}: {what} from {row['since']:%-d %b} (usually {row['usual_daily']:,.0f} a day)"
