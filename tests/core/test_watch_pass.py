"""The watch's pass (what started, day by day, and what is billable beside it) against the
oracle, for both profiles, over data with every trap of docs/domain.md."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import oracle
import pytest
from data import EXCLUDED_ORG, EXCLUDED_PROJECT, FORKS

from usage_lib.core.config import Config, Exclusion, parse_config
from usage_lib.core.periods import DateRange
from usage_lib.core.watch import query_watch, watch_pipeline

CUSTOM = Config(exclusions=(Exclusion(EXCLUDED_ORG, "Internal", "internal"),))
STOCK_CONFIG = parse_config(
    {
        "source": {"profile": "tiledesk"},
        "exclude": [{"id": EXCLUDED_PROJECT, "name": "Internal project", "reason": "staff"}],
    }
)
STOCK = oracle.Stock(forks=FORKS)


def got(frame: Any) -> dict[tuple[str, str, date], tuple[int, int, int]]:
    return {
        (r["org_id"], r["agent_id"], r["day"]): (r["started"], r["test"], r["billable"])
        for r in frame.iter_rows(named=True)
        if r["started"] or r["test"] or r["billable"]
    }


def expected(
    docs: list[dict[str, Any]],
    rng: DateRange,
    tenant: Any,
    agent: Any,
    test_field: str,
    billable: Any,
    kept: Any,
) -> dict[tuple[str, str, date], tuple[int, int, int]]:
    started: Counter[tuple[str, str, date]] = Counter()
    tests: Counter[tuple[str, str, date]] = Counter()
    billed: Counter[tuple[str, str, date]] = Counter()
    for doc in docs:
        day = oracle.day_of(doc, rng.timezone)
        if day is None or not rng.start <= day <= rng.end or not kept(doc):
            continue
        key = (tenant(doc), agent(doc), day)
        if key[0] in (EXCLUDED_ORG, EXCLUDED_PROJECT):
            continue
        if oracle.is_test(doc.get(test_field)):
            tests[key] += 1
        else:
            started[key] += 1
        billed[key] += billable(doc)
    keys = set(started) | set(tests)
    return {k: (started[k], tests[k], billed[k]) for k in keys}


@pytest.mark.parametrize(
    ("start", "end", "tz"),
    [
        (date(2025, 12, 20), date(2026, 4, 18), "UTC"),
        (date(2026, 3, 1), date(2026, 4, 10), "Europe/Rome"),  # across the EU DST change
        (date(2025, 12, 25), date(2026, 1, 20), "America/Los_Angeles"),
    ],
)
def test_what_started_per_tenant_agent_and_day_is_the_oracle(
    traps: Any, start: date, end: date, tz: str
) -> None:
    db, docs = traps
    rng = DateRange(start, end, tz)
    frame = query_watch(db, rng, CUSTOM)
    want = expected(
        docs, rng, oracle.org_of, oracle.agent_of, "isTestMode",
        lambda d: oracle.is_billable(d, {EXCLUDED_ORG}), lambda d: True,
    )  # fmt: skip
    assert got(frame) == want
    started = sum(v[0] for v in want.values())
    billable = sum(v[2] for v in want.values())
    assert started > billable > 100  # open, short and odd conversations started too
    assert EXCLUDED_ORG not in set(frame["org_id"])


def channel(doc: dict[str, Any]) -> Any:
    found = doc.get("channel")
    return found.get("name") if isinstance(found, dict) else None


def test_what_started_under_the_stock_profile(stock: Any) -> None:
    """Projects, drafts apart, pre-chat and voice left out as the rule leaves them out,
    forks reported as their root bot."""
    db, docs = stock
    rng = DateRange(date(2025, 12, 20), date(2026, 4, 18), "UTC")
    want = expected(
        docs, rng, STOCK.project, STOCK.agent, "draft",
        lambda d: STOCK.billable(d, {EXCLUDED_PROJECT}),
        lambda d: d.get("preflight") is not True and channel(d) != "voice-vxml",
    )  # fmt: skip
    assert got(query_watch(db, rng, STOCK_CONFIG)) == want
    assert sum(v[1] for v in want.values()) > 0  # drafts are there, counted apart


def test_the_pass_is_the_reports_pass_with_status_and_depth_summed() -> None:
    """The `$match` reads every status and depth; nothing else changes."""
    stages = watch_pipeline(DateRange(date(2026, 1, 1), date(2026, 1, 31)), CUSTOM)
    bounds, dates = stages[0]["$match"], stages[1]["$match"]  # the range, then "not an array"
    assert set(bounds) == set(dates) == {"createdAt"} and set(dates["createdAt"]) == {"$not"}
    first = stages[2]["$group"]
    assert set(first) == {"_id", "n", "c"}
    assert [next(iter(s)) for s in stages] == ["$match", "$match", "$group", "$project", "$group"]
