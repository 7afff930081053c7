"""The one pass against a real SecantusDB server, checked against the pure-Python oracle."""

from datetime import date, timedelta
from typing import Any

import oracle
import polars as pl
import pytest
from data import BOTS, DELETED_BOT, EXCLUDED_ORG, ORGS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from usage_lib.core.buckets import choose_granularity
from usage_lib.core.config import Config, Exclusion, parse_config
from usage_lib.core.periods import DateRange
from usage_lib.core.query import query_cube
from usage_lib.core.tables import organization_table, platform_table
from usage_lib.errors import ConfigError

CONFIG = Config(exclusions=(Exclusion(EXCLUDED_ORG, "Internal", "internal"),))
Traps = tuple[Database[dict[str, Any]], list[dict[str, Any]]]


def as_counts(table: pl.DataFrame) -> dict[str, dict[str, int]]:
    keys = [c for c in table.columns if c not in ("id", "name", "type", "total")]
    return {r["id"]: {k: r[k] for k in keys if r[k]} for r in table.iter_rows(named=True)}


@pytest.mark.parametrize(
    ("start", "end", "tz"),
    [
        (date(2025, 12, 20), date(2026, 4, 18), "UTC"),  # monthly, across the year end
        (
            date(2025, 12, 22),
            date(2026, 1, 12),
            "America/Los_Angeles",
        ),  # weekly, across the year end
        (date(2026, 3, 5), date(2026, 3, 11), "America/New_York"),  # daily, across the DST change
        (date(2026, 3, 25), date(2026, 4, 10), "Europe/Rome"),  # weekly, across the EU DST change
        (date(2026, 1, 1), date(2026, 3, 31), "Asia/Kolkata"),  # monthly, a half-hour zone
    ],
)
def test_platform_and_agent_tables_match_the_oracle(
    traps: Traps, start: date, end: date, tz: str
) -> None:
    db, docs = traps
    rng = DateRange(start, end, tz)
    grain = choose_granularity(rng)
    cube = query_cube(db, rng, CONFIG)
    expected = oracle.counts(docs, start, end, tz, grain, {EXCLUDED_ORG})
    assert as_counts(platform_table(cube, grain)) == expected
    assert sum(sum(v.values()) for v in expected.values()) > 20  # the case is not vacuous
    for org in [*ORGS, "unassigned"]:
        agents = oracle.counts(docs, start, end, tz, grain, {EXCLUDED_ORG}, by="agent", org=org)
        assert as_counts(organization_table(cube, org, grain)) == agents


@pytest.mark.parametrize(
    ("start", "end", "tz"),
    [
        (date(2025, 12, 20), date(2026, 4, 18), "UTC"),  # partial first and last months
        (date(2026, 1, 1), date(2026, 3, 31), "Asia/Kolkata"),
        (date(2025, 12, 1), date(2026, 3, 31), "America/Los_Angeles"),
    ],
)
def test_a_month_grain_cube_gives_the_same_monthly_tables(
    traps: Traps, start: date, end: date, tz: str
) -> None:
    db, docs = traps
    rng = DateRange(start, end, tz)
    cube = query_cube(db, rng, CONFIG, grain="month")
    days = set(cube.frame["day"].to_list())  # the server grouped by month: a month's first day,
    assert {d for d in days if d.day != 1} <= {start}  # or the range's start for a partial one
    assert cube.frame.height < query_cube(db, rng, CONFIG).frame.height / 3
    expected = oracle.counts(docs, start, end, tz, "month", {EXCLUDED_ORG})
    assert as_counts(platform_table(cube, "month")) == expected
    for org in [*ORGS, "unassigned"]:
        agents = oracle.counts(docs, start, end, tz, "month", {EXCLUDED_ORG}, by="agent", org=org)
        assert as_counts(organization_table(cube, org, "month")) == agents
    with pytest.raises(ConfigError, match="holds months"):
        platform_table(cube, "week")


def test_traps_are_present_and_handled(traps: Traps) -> None:
    db, docs = traps
    rng = DateRange(date(2025, 12, 20), date(2026, 4, 18))
    cube = query_cube(db, rng, CONFIG)
    table = platform_table(cube)
    assert "unassigned" in table["id"].to_list()  # requests with no organization are counted
    assert EXCLUDED_ORG not in table["id"].to_list()
    assert set(table["id"].to_list()) <= {*ORGS, "unassigned"}  # string and upper-case ids merged
    frame = cube.frame
    assert frame.filter(pl.col("org_id") == EXCLUDED_ORG)["excluded"].sum() > 0
    deleted = frame.filter(pl.col("agent_id") == DELETED_BOT)
    assert deleted["agent_name"].unique().to_list() == [DELETED_BOT]  # name falls back to the id
    assert deleted["agent_exists"].unique().to_list() == [False]
    named = frame.filter(pl.col("agent_id") == BOTS[0])
    assert named["agent_name"].unique().to_list() == ["Bot 0"] and named["agent_exists"].all()
    assert frame.filter(pl.col("org_id") == ORGS[1])["org_name"].unique().to_list() == ["Org 1"]
    # test-mode conversations are counted apart, not as billable
    test_mode = sum(
        1
        for d in docs
        if d.get("isTestMode") is True
        and d["status"] == 1000
        and (d.get("depth") or 0) > 2
        and oracle.org_of(d) != EXCLUDED_ORG
        and rng.start <= oracle.local_day(d, "UTC") <= rng.end
    )
    assert (
        frame["test_mode"].sum() - frame.filter(pl.col("org_id") == EXCLUDED_ORG)["test_mode"].sum()
        == test_mode
    )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    offset=st.integers(0, 110),
    length=st.integers(1, 60),
    tz=st.sampled_from(["UTC", "Pacific/Kiritimati", "America/Denver", "Australia/Adelaide"]),
    grain=st.sampled_from(["auto", "month", "week", "day"]),
)
def test_random_ranges_match_the_oracle(
    traps: Traps, offset: int, length: int, tz: str, grain: str
) -> None:
    db, docs = traps
    start = date(2025, 12, 18) + timedelta(days=offset)
    rng = DateRange(start, start + timedelta(days=length - 1), tz)
    chosen = choose_granularity(rng, grain)
    cube = query_cube(db, rng, CONFIG)
    assert as_counts(platform_table(cube, chosen)) == oracle.counts(
        docs, rng.start, rng.end, tz, chosen, {EXCLUDED_ORG}
    )


def test_rule_settings_change_the_count(traps: Traps) -> None:
    db, docs = traps
    rng = DateRange(date(2026, 1, 1), date(2026, 1, 31))
    loose = parse_config(
        {"billing": {"statuses": [1000, 200], "exclude_test_mode": False, "min_depth": 0}}
    )
    got = platform_table(query_cube(db, rng, loose))["total"].sum()
    expected = sum(
        1
        for d in docs
        if d["status"] in (1000, 200) and rng.start <= oracle.local_day(d, "UTC") <= rng.end
    )
    assert got == expected


class CommandLog(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[tuple[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append((event.command_name, event.command.get(event.command_name)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_one_aggregation_over_requests_per_table(mongo: Any) -> None:
    log = CommandLog()
    with MongoClient(mongo.uri, event_listeners=[log]) as client:
        rng = DateRange(date(2025, 12, 20), date(2026, 4, 18), "Europe/Rome")
        cube = query_cube(client["traps"], rng, CONFIG)
        platform_table(cube)
        for org in ORGS:
            organization_table(cube, org)
    on_requests = [c for c in log.commands if c[1] == "requests"]
    assert on_requests == [("aggregate", "requests")]
    assert sorted(c for c in log.commands if c[0] in ("aggregate", "find")) == [
        ("aggregate", "requests"),
        ("find", "faq_kbs"),
        ("find", "organizations"),
    ]


def test_all_metrics_are_still_one_aggregation(mongo: Any) -> None:
    from usage_lib.core.metrics import LEVELS, METRICS, Reading, Users

    log = CommandLog()
    with MongoClient(mongo.uri, event_listeners=[log]) as client:
        rng = DateRange(date(2025, 12, 20), date(2026, 4, 18), "Europe/Rome")
        reading = Reading.of(METRICS, Users("week", LEVELS["platform"]))
        cube = query_cube(client["traps"], rng, CONFIG, reading=reading)
        for metric in METRICS:
            platform_table(cube, "week", metric)
    assert [c for c in log.commands if c[1] == "requests"] == [("aggregate", "requests")]
    assert cube.users is not None and cube.users.height < 200  # counts, not users, came back
