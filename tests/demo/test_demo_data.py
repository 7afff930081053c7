"""The demo dataset has the shape docs/domain.md describes (checked with the independent oracle)."""

from datetime import date
from pathlib import Path
from typing import Any

import oracle
from bson import ObjectId

from usage_lib.connection import open_source
from usage_lib.core.source import load_cube, settings
from usage_lib.core.tables import platform_table
from usage_lib.demo.data import TEST_MODE_ORG, generate, stock
from usage_lib.demo.server import load


def test_demo_shape() -> None:
    data = generate((2026, 10))
    excluded = {e["id"] for e in data.exclusions}
    window = [
        d for d in data.requests if date(2026, 5, 1) <= d["createdAt"].date() <= date(2026, 10, 31)
    ]
    assert 130_000 <= len(window) <= 150_000
    months = oracle.counts(window, date(2026, 5, 1), date(2026, 10, 31), "UTC", "month", excluded)
    per_month: dict[str, int] = {}
    for buckets in months.values():
        for key, n in buckets.items():
            per_month[key] = per_month.get(key, 0) + n
    assert len(per_month) == 6 and all(4_500 <= n <= 12_700 for n in per_month.values()), per_month
    assert 15 <= len(months) <= 26
    assert "unassigned" in months
    names = {str(o["_id"]): o["name"] for o in data.organizations}
    orbit = next(i for i, n in names.items() if n == TEST_MODE_ORG)
    assert months[orbit].get("2026-07", 0) == 0  # the misconfigured widget's month
    assert any(d.get("isTestMode") is True for d in window if oracle.org_of(d) == orbit)
    internal = sum(1 for d in window if oracle.org_of(d) in excluded)
    assert internal > 10_000  # internal and demo organizations carry many conversations
    assert any(isinstance(d.get("id_organization"), str) for d in data.requests)
    assert any("depth" not in d for d in data.requests)
    assert (
        generate((2026, 10), size=2_000).requests[:5]
        == generate((2026, 10), size=2_000).requests[:5]
    )


def test_demo_metrics_are_meaningful() -> None:
    data = generate((2026, 10), size=20_000)
    excluded = {e["id"] for e in data.exclusions}
    m = oracle.metrics(
        data.requests, date(2026, 5, 1), date(2026, 10, 31), "UTC", "month", excluded
    )
    total = m["totals"]["total"]
    months = [v for k, v in m["totals"].items() if k != "total"]
    assert 0.5 < total["users"] / total["conversations"] < 0.9  # users come back
    assert total["users"] < sum(v["users"] for v in months)  # ... across months too
    assert 5 < total["depth_avg"] < 12 and 0.05 < total["handoffs"] / total["conversations"] < 0.4
    names = {str(o["_id"]): o["name"] for o in data.organizations}
    brightside = next(i for i, n in names.items() if n == "Brightside Insurance")
    row = m["rows"][brightside]["total"]
    assert row["handoffs"] / row["conversations"] > 0.4  # the customer whose bots hand off most
    requesters = [d.get("requester") for d in data.requests]
    assert any(isinstance(r, str) for r in requesters) and any(r is None for r in requesters)


def test_stock_demo_has_stock_tiledesks_shape_and_traps(mongo: Any, tmp_path: Path) -> None:
    """`demo-db --profile tiledesk`: the same customers in stock Tiledesk's shape, and the
    library's count of it under the tiledesk profile is the oracle's stock reading."""
    data = stock(generate((2026, 10), size=4_000))
    docs = data.requests
    assert data.tenants == "projects" and all(
        isinstance(p["_id"], ObjectId) for p in data.organizations
    )
    assert all(isinstance(d["id_project"], str) and "id_organization" not in d for d in docs)
    assert not any("depth" in d or "isTestMode" in d for d in docs)
    assert {d.get("draft") for d in docs} == {None, True}  # present only when true
    assert any(d["status"] == 50 and d["preflight"] for d in docs)
    assert any(d["channel"]["name"] == "voice-vxml" for d in docs)
    handed = [d for d in docs if d["participantsAgents"] and not d["participantsBots"]]
    assert any(any(p.startswith("bot_") for p in d["participants"]) for d in handed)
    assert any(not any(p.startswith("bot_") for p in d["participants"]) for d in handed)
    forks = {str(b["_id"]): str(b["root_id"]) for b in data.faq_kbs if b.get("root_id")}
    assert forks and all(b["trashed"] for b in data.faq_kbs if b.get("root_id"))

    load(mongo.uri, data, db_name="stockdemo", journal=False)
    config = tmp_path / "stock.toml"
    config.write_text('[source]\nprofile = "tiledesk"\n')
    env = {"USAGE_MONGODB_URI": mongo.uri, "USAGE_MONGODB_DB": "stockdemo"}
    source = open_source(settings(config, env=env))
    cube = load_cube(source, "2026-05-01", "2026-10-31", metrics="all", granularity="month")
    expected = oracle.counts(
        docs, date(2026, 5, 1), date(2026, 10, 31), "UTC", "month", set(),
        stock=oracle.Stock(forks=forks),
    )  # fmt: skip
    table = platform_table(cube, "month")
    got = {
        r["id"]: {k: v for k, v in r.items() if k.startswith("2026") and v}
        for r in table.iter_rows(named=True)
    }
    assert got == expected and set(table["type"]) == {"project"}
    assert platform_table(cube, "month", "depth_avg")["total"].null_count() == table.height
