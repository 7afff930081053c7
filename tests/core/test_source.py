"""The source: settings resolved once, the configured or demo database, the cubes read from it."""

from pathlib import Path
from typing import Any

import pytest
from data import EXCLUDED_ORG
from pymongo import MongoClient
from support import Commands

from usage_lib.connection import open_source
from usage_lib.core.db import client_for
from usage_lib.core.source import Source, load_cube, month_cube, month_window, settings
from usage_lib.errors import ConfigError
from usage_lib.paths import EXAMPLE_CONFIG


def test_settings_demo_falls_back_to_the_example_config(tmp_path: Path) -> None:
    assert settings(env={}).source == EXAMPLE_CONFIG  # no database configured: the demo's
    uri = {"USAGE_MONGODB_URI": "mongodb://h/"}
    assert settings(env=uri).source is None and settings(env=uri).mongodb_uri == "mongodb://h/"
    assert settings(demo=True, env=uri).source == EXAMPLE_CONFIG
    mine = tmp_path / "usage.toml"
    mine.write_text('[report]\ntimezone = "Europe/Rome"\n')
    assert settings(mine, demo=True, env={}).timezone == "Europe/Rome"


def test_month_window_is_the_configured_full_months(tmp_path: Path) -> None:
    config = settings(env={})
    window = month_window(config, "2026-03")
    assert (window.start.isoformat(), window.end.isoformat()) == ("2025-10-01", "2026-03-31")
    with pytest.raises(ConfigError) as error:
        month_window(config, "2026-13")
    assert error.value.key == "month"


def _traps_source(mongo: Any, tmp_path: Path) -> Source:
    config_file = tmp_path / "usage.toml"
    config_file.write_text(f'[[exclude]]\nid = "{EXCLUDED_ORG}"\nname = "I"\nreason = "r"\n')
    env = {"USAGE_MONGODB_URI": mongo.uri, "USAGE_MONGODB_DB": "traps"}
    return open_source(settings(config_file, env=env))


def test_month_cube_is_one_pass_of_months(mongo: Any, traps: Any, tmp_path: Path) -> None:
    src = _traps_source(mongo, tmp_path)
    assert not src.demo and src.db.name == "traps"
    listener = Commands()
    with MongoClient(mongo.uri, event_listeners=[listener]) as client:
        cube = month_cube(Source(client.traps, src.config, demo=False), "2026-03")
    assert listener.names.count("aggregate") == 1
    assert cube.grain == "month" and cube.range.end.isoformat() == "2026-03-31"
    assert set(cube.frame["day"].dt.day().to_list()) == {1}  # one row per month
    assert client_for(mongo.uri) is src.db.client  # one client per connection string


def test_load_cube_takes_a_range_or_the_default(mongo: Any, traps: Any, tmp_path: Path) -> None:
    src = _traps_source(mongo, tmp_path)
    cube = load_cube(src, "2026-01-01", "2026-01-31", timezone="America/New_York")
    assert cube.range.timezone == "America/New_York" and cube.grain == "day"
    assert load_cube(src, as_of="2026-02-10").range.start.isoformat() == "2025-08-01"
    with pytest.raises(ConfigError, match="end: give both a start and an end, or neither"):
        load_cube(src, start="2026-01-01")
    with pytest.raises(ConfigError, match="last_days: give either the last N days or a start"):
        load_cube(src, "2026-01-01", "2026-01-31", last_days=7)
    last = load_cube(src, as_of="2026-02-10", last_days=7, timezone="Europe/Rome").range
    assert (last.start.isoformat(), last.end.isoformat(), last.timezone) == (
        "2026-02-04",
        "2026-02-10",
        "Europe/Rome",
    )
    month = load_cube(src, month="2026-02").range
    assert (month.start.isoformat(), month.end.isoformat()) == ("2026-02-01", "2026-02-28")


def test_load_cube_with_metrics_serves_the_platform_and_drill_downs(
    mongo: Any, traps: Any, tmp_path: Path
) -> None:
    import oracle
    from data import ORGS

    from usage_lib.core.metrics import METRICS
    from usage_lib.core.tables import organization_table, platform_table

    _, docs = traps
    cube = load_cube(_traps_source(mongo, tmp_path), "2026-01-01", "2026-02-28", metrics="all")
    assert cube.metrics == METRICS and cube.users_granularity == "month"
    start, end = cube.range.start, cube.range.end
    expected = oracle.metrics(docs, start, end, "UTC", "month", {EXCLUDED_ORG}, "agent", ORGS[0])
    users = organization_table(cube, ORGS[0], "month", "users")
    got = {r["id"]: r["total"] for r in users.iter_rows(named=True)}
    assert got == {row: v["total"]["users"] for row, v in expected["rows"].items()}
    assert platform_table(cube, "month", "users").height == platform_table(cube, "month").height
    with pytest.raises(ConfigError, match="counted per month, not per week"):
        platform_table(cube, "week", "users")
