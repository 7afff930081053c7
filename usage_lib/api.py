"""The analyst's entry points: a source (database + config) and the cube for a range.

import usage_lib as ul
src = ul.connect()                      # USAGE_MONGODB_URI, or the embedded demo database
cube = ul.load_cube(src)                # the last 6 full months, one pass over `requests`
ul.platform_table(cube)                 # organizations x months
ul.organization_table(cube, "<org id>") # its agents x months
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pymongo.database import Database

from .config import EXAMPLE_CONFIG, Config, load_config
from .cube import Cube, query_cube
from .db import database
from .embedded import EmbeddedMongo, demo_server
from .periods import (
    DateRange,
    default_range,
    last_full_month,
    month_after,
    months_ending,
    parse_date,
    report_month,
    today_in,
)

_demo: dict[tuple[int, int], EmbeddedMongo] = {}


@dataclass(frozen=True)
class Source:
    db: Database
    config: Config
    demo: bool


def resolve_config(config_path: str | Path | None = None, demo: bool = False) -> Config:
    """The config file given, else $USAGE_CONFIG; the demo uses the example config by default."""
    config = load_config(config_path)
    if config.source is None and (demo or not config.mongodb_uri):
        config = replace(load_config(EXAMPLE_CONFIG), mongodb_db=config.mongodb_db)
    return config


def connect(
    config_path: str | Path | None = None,
    demo: bool = False,
    as_of: date | str | None = None,
    quiet: bool = False,
) -> Source:
    """Connect to USAGE_MONGODB_URI, or to the embedded demo database (started once per process)."""
    config = resolve_config(config_path, demo=demo)
    if not demo and config.mongodb_uri:
        return Source(database(config), config, demo=False)
    if not demo and not quiet:
        print("USAGE_MONGODB_URI is not set: using the embedded demo database.", file=sys.stderr)
    day = (
        parse_date(as_of, "as_of") if isinstance(as_of, str) else as_of or today_in(config.timezone)
    )
    anchor = last_full_month(day)
    if anchor not in _demo:
        _demo[anchor] = demo_server(anchor, quiet=quiet)
    config = replace(config, mongodb_uri=_demo[anchor].uri, mongodb_db="tiledesk")
    return Source(database(config), config, demo=True)


def open_month(
    month: str,
    config_path: str | Path | None = None,
    demo: bool = False,
    quiet: bool = False,
) -> tuple[Source, DateRange]:
    """The source and the report window: the configured number of full months ending with `month`
    ('YYYY-MM' or 'last'). The demo data is anchored so that `month` is its last full month."""
    year, m = report_month(month)
    src = connect(config_path, demo=demo, as_of=month_after(year, m), quiet=quiet)
    return src, months_ending(year, m, src.config.months, src.config.timezone)


def load_cube(
    source: Source,
    start: date | str | None = None,
    end: date | str | None = None,
    as_of: date | str | None = None,
    timezone: str | None = None,
) -> Cube:
    """The daily cube for [start, end], or the default range (the last N full months)."""
    zone = timezone or source.config.timezone
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    if start is not None and end is not None:
        rng = DateRange(_day(start, "start"), _day(end, "end"), zone)
    else:
        day = _day(as_of, "as_of") if as_of is not None else today_in(zone)
        rng = default_range(day, source.config.months, zone)
    return query_cube(source.db, rng, source.config)


def _day(value: date | str, key: str) -> date:
    return parse_date(value, key) if isinstance(value, str) else value
