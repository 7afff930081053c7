"""Restatements: a later pack compares its recount with what earlier packs published."""

import json
from datetime import date
from pathlib import Path
from typing import Any

import oracle
import pytest
from limits import serving
from pymongo import MongoClient

from usage_lib.core.config import load_config
from usage_lib.core.db import database
from usage_lib.core.source import Source
from usage_lib.demo.data import generate
from usage_lib.demo.server import EmbeddedMongo, load
from usage_lib.paths import EXAMPLE_CONFIG, report_notebooks
from usage_lib.report.job import make_pack
from usage_lib.report.manifest import Compared
from usage_lib.report.restate import restatements


def pub(months: list[str], orgs: dict[str, dict[str, int]], source: str = "db") -> dict[str, Any]:
    return {
        "source": source,
        "months": months,
        "organizations": {o: {"name": o.upper(), "months": m} for o, m in orgs.items()},
    }


def test_the_latest_publication_of_each_month_is_the_reference() -> None:
    first = pub(["2026-08", "2026-09"], {"a": {"2026-08": 10, "2026-09": 20}})
    second = pub(["2026-09"], {"a": {"2026-09": 25}, "b": {"2026-09": 4}})
    now = pub(
        ["2026-08", "2026-09", "2026-10"], {"a": {"2026-08": 10, "2026-09": 27, "2026-10": 9}}
    )
    frame = restatements(now, [("2026-10-02T07:00:00", second), ("2026-09-02T07:00:00", first)])
    assert frame.select("organization", "month", "published", "now", "change").rows() == [
        ("A", "2026-09", 25, 27, 2),  # against the later publication, not the first
        ("B", "2026-09", 4, 0, -4),  # an organization that is gone from the recount
    ]
    assert restatements(now, [("t", pub(["2026-08"], {"a": {"2026-08": 10}}))]).height == 0
    other_data = pub(["2026-09"], {"a": {"2026-09": 1}}, source="demo data for 2026-09")
    assert restatements(now, [("t", other_data)]).height == 0


@pytest.fixture
def database_with_late_data(tmp_path: Path) -> Any:
    data = generate((2026, 10), size=4_000)
    with EmbeddedMongo(tmp_path / "data") as raw, serving(raw) as server:
        load(server.uri, data)
        yield server.uri, data


def pack(uri: str, month: str, out: Path) -> Compared:
    config = load_config(EXAMPLE_CONFIG, env={"USAGE_MONGODB_URI": uri})
    source = Source(database(config), config, demo=False, key="test database")
    made = make_pack(source, month, out, report_notebooks(), progress=False)
    return made.manifest.compared


def test_a_later_pack_shows_what_changed(database_with_late_data: Any, tmp_path: Path) -> None:
    uri, data = database_with_late_data
    out = tmp_path / "reports"
    first = pack(uri, "2026-09", out)
    assert first.restatements == () and first.published["months"][-1] == "2026-09"

    # Conversations of August close late, for one organization: August is restated.
    excluded = {e["id"] for e in data.exclusions}
    org = next(o for o in first.published["organizations"] if o != "unassigned")
    late = [
        d
        for d in data.requests
        if oracle.org_of(d) == org
        and d["status"] != 1000
        and d["createdAt"].strftime("%Y-%m") == "2026-08"
        and isinstance(d.get("depth"), int)
        and d["depth"] > 2
        and d.get("isTestMode") is not True
    ][:7]
    assert late
    with MongoClient(uri) as client:
        client.tiledesk.requests.update_many(
            {"_id": {"$in": [d["_id"] for d in late]}}, {"$set": {"status": 1000}}
        )
    for d in late:
        d["status"] = 1000
    recount = oracle.counts(
        data.requests, date(2026, 8, 1), date(2026, 8, 31), "UTC", "month", excluded
    )[org]["2026-08"]

    second = pack(uri, "2026-10", out)
    name = first.published["organizations"][org]["name"]
    before = first.published["organizations"][org]["months"]["2026-08"]
    assert recount == before + len(late)
    assert [(r["organization"], r["month"], r["published"], r["now"], r["change"])
            for r in second.restatements] == [(name, "2026-08", before, recount, len(late))]  # fmt: skip
    checks = (out / "2026-10" / "4_data_checks.html").read_text()
    assert (
        f"Aug 2026: published {before:,}, now {recount:,} (+{len(late)}; 1 organization)" in checks
    )
    assert f">+{len(late)}<" in checks and f">{name}<" in checks
    eml = (out / "2026-10" / "usage-report-2026-10.eml").read_bytes().decode("utf-8", "replace")
    assert "Restatements" in eml

    # Rebuilding October: the replaced pack published the recount already, so nothing is
    # restated again, and what it published is kept in the history.
    third = pack(uri, "2026-10", out)
    assert third.restatements == ()
    manifest = json.loads((out / "2026-10" / "manifest.json").read_text())
    assert manifest["history"][0]["published"] == second.published
