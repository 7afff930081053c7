"""The pass at a wide shape: thousands of tenant-agent pairs over 13 months, few
conversations each, where the cube, not the conversations, is what grows.

At this shape the design before the bounded pass returned, for `--scope org` over these 13
months at day grain with every metric, one 16.9 MB document (measured through
tests/wire.py's proxy: MongoDB refuses anything over 16 MiB), and 10.4 MB for the platform.
Now every document it returns is a small row, the tables and distinct users equal the
oracle, and the largest returned document does not grow with tenants or days.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from typing import Any

import limits
import oracle
import pytest
from pymongo import MongoClient

from usage_lib.cli import main
from usage_lib.demo.data import DemoData, wide
from usage_lib.demo.server import load

START, END = date(2025, 10, 1), date(2026, 10, 31)  # 13 months
SMALL_END = date(2025, 12, 31)  # the small shape's 3 months


def table(uri: str, db: str, *flags: str) -> tuple[dict[str, Any], int]:
    """`usage-report table --format json --metrics all FLAGS`: the JSON, and the largest
    document the pass (and its cursor) returned meanwhile."""
    out, err = io.StringIO(), io.StringIO()
    limits.reset()
    with pytest.MonkeyPatch.context() as env, redirect_stdout(out), redirect_stderr(err):
        env.setenv("USAGE_MONGODB_URI", uri)
        env.setenv("USAGE_MONGODB_DB", db)
        env.delenv("USAGE_CONFIG", raising=False)
        code = main(["table", "--format", "json", "--metrics", "all", *flags])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue()), limits.largest("aggregate", "getMore")


@pytest.fixture(scope="module")
def shapes(mongo: Any) -> dict[str, DemoData]:
    """The wide shape (2,000 tenants, 80,000 conversations) and a small one (500, 20,000)."""
    made = {
        "wide": wide((2026, 10), tenants=2_000, conversations=80_000),
        "small": wide((2025, 12), tenants=500, conversations=20_000, months=3),
    }
    for name, data in made.items():
        load(mongo.uri, data, f"scale_{name}", journal=False)
    yield made
    with MongoClient(mongo.uri) as client:
        for name in made:
            client.drop_database(f"scale_{name}")


def test_a_wide_platform_equals_the_oracle_in_small_documents_that_do_not_grow(
    mongo: Any, shapes: dict[str, DemoData]
) -> None:
    """Every metric, by month over 13 months and by day for a tenant, equals the oracle; and
    the largest document the pass returns is the same few hundred bytes as for the small
    shape, 4 times narrower (500 tenants) over 3 months instead of 13."""
    data = shapes["wide"]
    span = ["--start", START.isoformat(), "--end", END.isoformat(), "--granularity", "month"]
    got, largest = table(mongo.uri, "scale_wide", *span)
    expected = oracle.metrics(data.requests, START, END, "UTC", "month")
    assert len(expected["rows"]) > 1_900  # the shape is wide
    assert oracle.metrics_from_json(got) == expected
    small_span = ["--start", START.isoformat(), "--end", SMALL_END.isoformat()]
    _, small = table(mongo.uri, "scale_small", *small_span, "--granularity", "month")
    assert 0 < small <= largest < 1_000  # a row of the cube or a count of users
    assert largest - small < 100  # flat as tenants and days grow
    tenants = sorted(expected["rows"], key=lambda t: -expected["rows"][t]["total"]["conversations"])
    for tenant in (tenants[0], tenants[1000], tenants[-1]):  # large, middle, tail
        flags = [*span[:4], "--granularity", "day", "--scope", "org", "--org", tenant]
        got, one = table(mongo.uri, "scale_wide", *flags)  # the old design: 16.9 MB
        agents = oracle.metrics(data.requests, START, END, "UTC", "day", by="agent", org=tenant)
        assert oracle.metrics_from_json(got) == agents
        assert 0 < one < 1_000
