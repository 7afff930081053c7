"""The demo dataset has the shape docs/domain.md describes (checked with the independent oracle)."""

from datetime import date

import oracle

from usage_lib.demo_data import TEST_MODE_ORG, generate


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
