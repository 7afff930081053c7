"""Every number step by step, against the oracle, for both profiles and several zones: each
step's count, the first step wins, the steps add up to the billable count; under the tiledesk
profile the line after pre-chat is what Tiledesk's dashboard pipeline counts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import oracle
import pytest
from data import EXCLUDED_ORG, EXCLUDED_PROJECT, ORGS, PROJECTS

from usage_lib.core.config import Config, Exclusion, parse_config
from usage_lib.core.explain import explain, status_name
from usage_lib.core.periods import DateRange

CUSTOM = Config(exclusions=(Exclusion(EXCLUDED_ORG, "Internal", "internal"),))
STOCK_CONFIG = parse_config(
    {
        "source": {"profile": "tiledesk"},
        "exclude": [{"id": EXCLUDED_PROJECT, "name": "Internal project", "reason": "staff"}],
    }
)
STOCK = oracle.Stock()


def custom_step(doc: dict[str, Any]) -> str:
    return oracle.left_out_step(doc, {EXCLUDED_ORG})


def stock_step(doc: dict[str, Any]) -> str:
    return STOCK.left_out_step(doc, {EXCLUDED_PROJECT})


def oracle_steps(
    docs: list[dict[str, Any]], rng: DateRange, tenant: Any, step: Any
) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for doc in docs:
        day = oracle.day_of(doc, rng.timezone)
        if day is None or not rng.start <= day <= rng.end:
            continue
        counts = found.setdefault(tenant(doc), Counter())
        s = step(doc)
        counts[s] += 1
        if s == "status":
            counts["status:" + status_name(doc.get("status"))] += 1
        if s == "depth" and oracle.number(doc.get("depth")) is None:
            counts["depth:missing"] += 1
    return found


def as_counter(tenant: dict[str, Any]) -> Counter[str]:
    got: Counter[str] = Counter()
    steps = tenant["steps"]
    assert steps[0]["step"] == "started" and steps[-1]["step"] == "billable"
    left = steps[0]["count"]
    for row in steps[1:-1]:
        left -= row["left_out"]
        assert row["count"] == left  # what remains after each step
        if row["left_out"]:
            got[row["step"]] = row["left_out"]
        for name, n in row.get("by_status", {}).items():
            got["status:" + name] = n
        if row.get("missing"):
            got["depth:missing"] = row["missing"]
    assert steps[-1]["count"] == left  # the steps add up to the billable count
    if left:
        got["billable"] = left
    return got


@pytest.mark.parametrize(
    ("start", "end", "tz"),
    [
        (date(2026, 1, 1), date(2026, 1, 31), "UTC"),
        (date(2026, 3, 1), date(2026, 3, 31), "Europe/Rome"),
        (date(2025, 12, 20), date(2026, 4, 18), "America/Los_Angeles"),
    ],
)
def test_the_steps_of_every_tenant_are_the_oracle(
    traps: Any, start: date, end: date, tz: str
) -> None:
    db, docs = traps
    rng = DateRange(start, end, tz)
    result = explain(db, rng, CUSTOM).to_json()
    got = {t["id"]: as_counter(t) for t in result["tenants"]}
    want = oracle_steps(docs, rng, oracle.org_of, custom_step)
    platform = got.pop("*")
    assert got == {k: v for k, v in want.items() if v}
    assert platform == sum(want.values(), Counter())
    assert {"test", "status", "depth", "excluded", "billable"} <= set(platform)  # not vacuous
    assert [s["step"] for s in result["tenants"][0]["steps"]] == [
        "started",
        "test",
        "status",
        "depth",
        "excluded",
        "billable",
    ]  # fmt: skip  (the custom rule has no preflight or channel step)


def test_one_tenant_reads_that_tenant(traps: Any) -> None:
    db, docs = traps
    rng = DateRange(date(2026, 1, 1), date(2026, 2, 28), "UTC")
    result = explain(db, rng, CUSTOM, ORGS[1]).to_json()
    assert [t["id"] for t in result["tenants"]] == [ORGS[1]]  # no platform row
    want = oracle_steps(docs, rng, oracle.org_of, custom_step)[ORGS[1]]
    assert as_counter(result["tenants"][0]) == want


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_the_stock_steps_and_the_dashboard_line(stock: Any, tz: str) -> None:
    db, docs = stock
    rng = DateRange(date(2026, 2, 1), date(2026, 2, 28), tz)
    result = explain(db, rng, STOCK_CONFIG).to_json()
    got = {t["id"]: as_counter(t) for t in result["tenants"] if t["id"] != "*"}
    want = oracle_steps(docs, rng, STOCK.project, stock_step)
    assert got == {k: v for k, v in want.items() if v}
    steps = [s["step"] for s in result["tenants"][0]["steps"]]
    assert steps == ["started", "preflight", "channel", "test", "status", "excluded", "billable"]
    if tz != "UTC":  # the dashboard cuts months in UTC: the line says so, and may differ
        assert result["tenants"][0]["steps"][1]["label"].endswith("(it cuts months in UTC)")
        return
    # Tiledesk's own dashboard pipeline, per project, for February 2026 (UTC)
    for tenant in result["tenants"]:
        if tenant["id"] not in PROJECTS:
            continue
        pipeline = [
            {"$match": {"id_project": tenant["id"], "preflight": {"$in": [False, None]}}},
            {"$group": {"_id": {"month": {"$month": "$createdAt"}, "year": {"$year": "$createdAt"}},
                        "count": {"$sum": 1}}},
        ]  # fmt: skip
        theirs = {
            (r["_id"]["year"], r["_id"]["month"]): r["count"]
            for r in db.requests.aggregate(pipeline)
        }
        line = tenant["steps"][1]
        assert line["label"] == "what the Tiledesk dashboard shows"
        assert line["count"] == theirs.get((2026, 2), 0)


def test_the_command_prints_the_steps(
    traps: Any,
    mongo: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    from usage_lib.cli import main

    config = tmp_path / "usage.toml"
    config.write_text(
        f'[[exclude]]\nid = "{EXCLUDED_ORG}"\nname = "Internal"\nreason = "internal"\n'
    )
    monkeypatch.setenv("USAGE_MONGODB_URI", mongo.uri)
    monkeypatch.setenv("USAGE_MONGODB_DB", "traps")
    assert (
        main(
            [
                "explain",
                "--config",
                str(config),
                "--month",
                "2026-01",
                "--org",
                ORGS[0],
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["range"] == {"start": "2026-01-01", "end": "2026-01-31", "timezone": "UTC"}
    assert out["rule"].startswith("status 1000, not test mode")
    assert [t["id"] for t in out["tenants"]] == [ORGS[0]]
    assert main(["explain", "--config", str(config), "--month", "2026-01", "--org", ORGS[0]]) == 0
    text = capsys.readouterr().out
    assert (
        "conversations started:" in text
        and "billable:" in text
        and "not in a counted status" in text
    )
    assert main(["explain", "--config", str(config), "--month", "1999-01", "--org", ORGS[0]]) == 2
    assert "has no conversations" in capsys.readouterr().err
