"""Where the numbers come from: the configured database, or the embedded demo one, opened
once per process. Analysts call `ul.connect()`.

import usage_lib as ul
src = ul.connect()                      # USAGE_MONGODB_URI, or the embedded demo database
cube = ul.load_cube(src)                # the last 6 full months, one pass over `requests`
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from usage_lib.core.config import Config
from usage_lib.core.db import database, hosts_of
from usage_lib.core.periods import last_full_month, parse_date, today_in
from usage_lib.core.source import Source, settings
from usage_lib.demo.data import GENERATOR_VERSION
from usage_lib.demo.server import EmbeddedMongo, demo_server
from usage_lib.paths import cache_dir, demo_dir

_demo: dict[tuple[Path, tuple[int, int], str, int], EmbeddedMongo] = {}


def open_source(
    config: Config,
    demo: bool = False,
    anchor: tuple[int, int] | None = None,
    quiet: bool = False,
    demo_root: Path | None = None,
    tenants: int = 0,
    cache: bool = True,
) -> Source:
    """The configured database, or (demo, or no USAGE_MONGODB_URI) the embedded demo database,
    started once per process, its data anchored so that `anchor` is its last full month.
    With `cache`, cubes come from the local store of days read (`paths.cache_dir`)."""
    store = cache_dir() if cache else None
    if not demo and config.mongodb_uri:
        key = f"{hosts_of(config.mongodb_uri)}/{config.mongodb_db}"
        return Source(database(config), config, demo=False, key=key, cache=store)
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
    key += f", generator v{GENERATOR_VERSION}"  # another generator is other data
    key += "" if shape == "custom" else f" ({shape})"
    return Source(database(config), config, demo=True, key=key, cache=store)


def connect(
    config_path: str | Path | None = None,
    demo: bool = False,
    as_of: date | str | None = None,
    quiet: bool = False,
    cache: bool = True,
) -> Source:
    """Connect to USAGE_MONGODB_URI, or to the embedded demo database (the analyst's call);
    `cache=False` reads every day from the database."""
    config = settings(config_path, demo=demo)
    day = parse_date(as_of, "as_of") if as_of is not None else None
    anchor = None if day is None else last_full_month(day)
    return open_source(config, demo, anchor, quiet, cache=cache)
