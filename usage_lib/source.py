"""Where the numbers come from: a source (the database and the config), and the cubes read
from it.

A command resolves its settings once (`settings`), opens the source once
(`open_source`) and hands both down. Analysts call `connect()`, which does the two.

import usage_lib as ul
src = ul.connect()                      # USAGE_MONGODB_URI, or the embedded demo database
cube = ul.load_cube(src)                # the last 6 full months, one pass over `requests`
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pymongo.database import Database

from .config import Config, ConfigError, load_config
from .cube import Cube, query_cube
from .db import database, hosts_of
from .embedded import EmbeddedMongo, demo_server
from .metrics import DRILL_DOWN, LEVELS, METRICS, Reading, Users, parse_metrics
from .paths import EXAMPLE_CONFIG, demo_dir
from .periods import (
    DateRange,
    choose_granularity,
    default_range,
    last_full_month,
    months_ending,
    parse_date,
    parse_month,
    today_in,
)

# What the pack shows: end users per organization and month, no totals over the window.
MONTH_READING = Reading.of(METRICS, Users("month", LEVELS["platform"], totals=False))
_demo: dict[tuple[Path, tuple[int, int], str, int], EmbeddedMongo] = {}


@dataclass(frozen=True)
class Source:
    db: Database
    config: Config
    demo: bool
    key: str = ""  # which data this is, without secrets: hosts and database, or the demo's month


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


def open_source(
    config: Config,
    demo: bool = False,
    anchor: tuple[int, int] | None = None,
    quiet: bool = False,
    demo_root: Path | None = None,
    tenants: int = 0,
) -> Source:
    """The configured database, or (demo, or no USAGE_MONGODB_URI) the embedded demo database,
    started once per process, its data anchored so that `anchor` is its last full month."""
    if not demo and config.mongodb_uri:
        key = f"{hosts_of(config.mongodb_uri)}/{config.mongodb_db}"
        return Source(database(config), config, demo=False, key=key)
    if not demo and not quiet:
        print("USAGE_MONGODB_URI is not set: using the embedded demo database.", file=sys.stderr)
    root = demo_root or demo_dir()
    month = anchor or last_full_month(today_in(config.timezone))
    shape = config.profile.name
    if (root, month, shape, tenants) not in _demo:
        _demo[root, month, shape, tenants] = demo_server(
            month, root=root, quiet=quiet, profile=shape, tenants=tenants
        )
    server = _demo[root, month, shape, tenants]
    config = replace(config, mongodb_uri=server.uri, mongodb_db="tiledesk")
    key = f"demo data for {month[0]:04d}-{month[1]:02d}" + (
        f", {tenants} tenants" if tenants else ""
    )
    return Source(
        database(config), config, demo=True, key=key + ("" if shape == "custom" else f" ({shape})")
    )


def connect(
    config_path: str | Path | None = None,
    demo: bool = False,
    as_of: date | str | None = None,
    quiet: bool = False,
) -> Source:
    """Connect to USAGE_MONGODB_URI, or to the embedded demo database (the analyst's call)."""
    config = settings(config_path, demo=demo)
    day = _day(as_of, "as_of") if as_of is not None else None
    return open_source(config, demo, None if day is None else last_full_month(day), quiet)


def month_window(config: Config, month: str) -> DateRange:
    """The report window: the configured number of full months ending with `month` (YYYY-MM)."""
    return months_ending(*parse_month(month, "month"), config.months, config.timezone)


def month_cube(source: Source, month: str) -> Cube:
    """The monthly report's cube (the pack and the notebooks): one pass, month grain, every
    metric, distinct users per organization and month."""
    window = month_window(source.config, month)
    return query_cube(source.db, window, source.config, grain="month", reading=MONTH_READING)


def load_cube(
    source: Source,
    start: date | str | None = None,
    end: date | str | None = None,
    as_of: date | str | None = None,
    timezone: str | None = None,
    metrics: Sequence[str] = ("conversations",),
    granularity: str = "auto",
) -> Cube:
    """The daily cube for [start, end], or the default range (the last N full months), with
    `metrics` ("all" or names). Distinct users are counted for `granularity`'s buckets, for
    the platform table and every organization's drill-down."""
    zone = timezone or source.config.timezone
    if (start is None) != (end is None):
        raise ConfigError("range", "give both start and end, or neither")
    if start is not None and end is not None:
        rng = DateRange(_day(start, "start"), _day(end, "end"), zone)
    else:
        day = _day(as_of, "as_of") if as_of is not None else today_in(zone)
        rng = default_range(day, source.config.months, zone)
    names = parse_metrics(metrics) if isinstance(metrics, str) else tuple(metrics)
    users = Users(choose_granularity(rng, granularity), DRILL_DOWN)
    return query_cube(source.db, rng, source.config, reading=Reading.of(names, users))


def _day(value: date | str, key: str) -> date:
    return parse_date(value, key) if isinstance(value, str) else value
