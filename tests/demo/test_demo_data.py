"""The demo dataset has the shape docs/domain.md describes (checked with the independent oracle)."""

import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import bson
import oracle
from bson import ObjectId

from usage_lib.connection import open_source
from usage_lib.core.periods import add_months
from usage_lib.core.source import load_cube, settings
from usage_lib.core.tables import platform_table
from usage_lib.demo.data import TEST_MODE_ORG, generate, stock
from usage_lib.demo.server import load

# The SHA-256 of the BSON documents that GENERATOR_VERSION 4 (commit 3855c53, before the
# earlier months) made for Oct 2026: requests and tenants at size 20,000, the stock form at
# 4,000. Computed once from that version (`git show 3855c53:usage_lib/demo/data.py`).
V4_REQUESTS = "674b6ddb0c496d64cc3afdc7c2c981a2791493f699f4b1478b6761b58ccc8f78"  # 24,645
V4_TENANTS = "ae0cc17d96902d7e7c37e5482b6a8ee0803748a395b5b791216fb9ee4ee66ebe"
V4_STOCK = "682a6f40323b3cdf3287c1e847e6d8773125b67bfc9ed0c8e0f0c990c6e0f9ea"  # 4,935 requests
V4_FROM = datetime(2026, 4, 1)  # version 4's first month: the one before the report's window


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


def _digest(docs: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for doc in docs:
        h.update(bson.encode(doc))
    return h.hexdigest()


def test_the_earlier_months_leave_the_later_ones_as_they_were() -> None:
    """Version 5 added months before version 4's first: every document of the later months
    (their order, ids, end users and draws) is the one version 4 made, in both forms, so the
    pack's numbers for the report's window stay as they were."""
    data = generate((2026, 10), size=20_000)
    assert data.earlier_until == V4_FROM
    later = [d for d in data.requests if d["createdAt"] >= V4_FROM]
    assert len(later) == 24_645 and _digest(later) == V4_REQUESTS
    assert _digest(data.organizations + data.faq_kbs) == V4_TENANTS
    assert len(data.requests) - len(later) < 0.35 * len(later)  # the history stays moderate

    shaped = stock(generate((2026, 10), size=4_000))
    later = [d for d in shaped.requests if d["createdAt"] >= V4_FROM]
    assert len(later) == 4_935 and _digest(later + shaped.faq_kbs) == V4_STOCK


def test_every_month_of_the_explorers_window_has_data() -> None:
    """The explorer opens on `explore_months` full months and the current one (today is
    Nov 20 in the notebooks' world): each holds customers' billable conversations, fewer
    and from fewer customers going back (an adoption story), and nothing is older."""
    data = generate((2026, 10), size=20_000)
    today = date(2026, 11, 20)
    explore = settings(demo=True).explore_months
    first = date(*add_months(today.year, today.month, -explore), 1)
    excluded = {e["id"] for e in data.exclusions}
    counts = oracle.counts(data.requests, first, today, "UTC", "month", excluded)
    counts.pop("unassigned", None)  # the requests with no organization: every month
    keys = [
        "{:04d}-{:02d}".format(*add_months(first.year, first.month, i)) for i in range(explore + 1)
    ]
    total = {k: sum(months.get(k, 0) for months in counts.values()) for k in keys}
    tenants = {k: sum(1 for months in counts.values() if months.get(k)) for k in keys}
    assert all(total[k] > 0 for k in keys), total
    earlier = keys[: explore - 6]  # up to the month before the report's window
    assert all(total[a] < total[b] for a, b in zip(earlier, earlier[1:], strict=False)), total
    assert all(tenants[a] <= tenants[b] for a, b in zip(earlier, earlier[1:], strict=False))
    assert tenants[keys[0]] < tenants[earlier[-1]] < tenants[keys[-2]], tenants
    assert min(d["createdAt"] for d in data.requests) >= datetime(first.year, first.month, 1)

    old = [d for d in data.requests if d["createdAt"] < V4_FROM]  # older data's traits
    assert any(isinstance(d.get("id_organization"), str) for d in old)
    assert any(d.get("attributes") == {} and d.get("participantsBots") for d in old)
