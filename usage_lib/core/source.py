"""A source (the database and the settings) and the cubes read from it: the pack's month,
any range for analysts. A command resolves its settings once (`settings`) and opens the
source once (`usage_lib.connection`), then hands both down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl
from pymongo.database import Database

from usage_lib.core import warm
from usage_lib.core.buckets import choose_granularity
from usage_lib.core.config import Config, load_config
from usage_lib.core.cube import Cube, Grain
from usage_lib.core.metrics import (
    COUNT_ONLY,
    DRILL_DOWN,
    LEVELS,
    METRICS,
    Reading,
    Users,
    parse_metrics,
)
from usage_lib.core.periods import DateRange, months_ending, parse_month, resolve_range
from usage_lib.core.query import query_cube
from usage_lib.core.watch import query_watch
from usage_lib.paths import EXAMPLE_CONFIG

# What the pack shows: end users per organization and month, no totals over the window.
MONTH_READING = Reading.of(METRICS, Users("month", LEVELS["platform"], totals=False))


@dataclass(frozen=True)
class Source:
    db: Database
    config: Config
    demo: bool
    key: str = ""  # which data this is, without secrets: hosts and database, or the demo's month
    cache: Path | None = None  # the local store of days read (`warm`); None: read every day


def read_cube(
    source: Source,
    rng: DateRange,
    grain: Grain = "day",
    reading: Reading = COUNT_ONLY,
    fresh: DateRange | None = None,
    org: str | None = None,
    agent: str | None = None,
) -> Cube:
    """The cube of `rng` (of one tenant, or one agent, when given): from the local store and
    the days that changed when the source has one (and every day of `fresh` read again),
    else one pass over the range."""
    if source.cache is not None and source.key:
        return warm.cube(
            source.db,
            source.cache,
            source.key,
            rng,
            source.config,
            grain,
            reading,
            fresh,
            org,
            agent,
        )
    return query_cube(source.db, rng, source.config, grain, org, reading, agent)


def read_watch(
    source: Source, rng: DateRange, fresh: DateRange | None = None
) -> tuple[pl.DataFrame, warm.Read | None]:
    """What started in `rng`, per tenant, agent and day (`watch.query_watch`), and what was
    read: from the local store and the days that changed when the source has one (and every
    day of `fresh` read again), else one pass over the range (no `Read`)."""
    if source.cache is not None and source.key:
        return warm.watched(source.db, source.cache, source.key, rng, source.config, fresh)
    return query_watch(source.db, rng, source.config), None


def settings(
    config_path: str | Path | None = None,
    demo: bool = False,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The config file given, else $USAGE_CONFIG; the demo uses the example config by default."""
    config = load_config(config_path, env=None if env is None else dict(env))
    if config.source is None and (demo or not config.mongodb_uri):
        config = replace(load_config(EXAMPLE_CONFIG, env={}), mongodb_db=config.mongodb_db)
    return config


def month_window(config: Config, month: str, months: int | None = None) -> DateRange:
    """The report window: the configured number of full months (or `months`) ending with
    `month` (YYYY-MM)."""
    count = config.months if months is None else months
    return months_ending(*parse_month(month, "month"), count, config.timezone)


def month_cube(source: Source, month: str) -> Cube:
    """The monthly report's cube (the pack and the notebooks): month grain, every metric,
    distinct users per organization and month. From the local store, the report month is
    read again whole: a published number is always a full recount of its month."""
    window = month_window(source.config, month)
    return read_cube(source, window, "month", MONTH_READING, month_window(source.config, month, 1))


def load_cube(
    source: Source,
    start: date | str | None = None,
    end: date | str | None = None,
    as_of: date | str | None = None,
    timezone: str | None = None,
    metrics: Sequence[str] = ("conversations",),
    granularity: str = "auto",
    *,
    last_days: int | None = None,
    month: str | None = None,
) -> Cube:
    """The daily cube for [start, end], the last N days up to `as_of`, one month ("YYYY-MM"
    or "last"), or the default range (the last N full months before `as_of`), as
    `periods.resolve_range` reads them, with `metrics` ("all" or names). Distinct users are
    counted for `granularity`'s buckets, for the platform table and every organization's
    drill-down."""
    rng = resolve_range(
        start=start,
        end=end,
        last_days=last_days,
        month=month,
        as_of=as_of,
        timezone=timezone or source.config.timezone,
        months=source.config.months,
    )
    names = parse_metrics(metrics) if isinstance(metrics, str) else tuple(metrics)
    users = Users(choose_granularity(rng, granularity), DRILL_DOWN)
    return read_cube(source, rng, reading=Reading.of(names, users))
