"""The stored forms of tests/shapes.py through the monthly pack and the customer statements,
on a small sample: no crash, and the numbers are the oracle's."""

from __future__ import annotations

import csv
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import oracle
import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from shapes import EXCLUDE, EXCLUDED, PROFILES, STOCK_RULES, Shapes, request_sets, tenant_names

from usage_lib.core.config import load_config
from usage_lib.core.source import Source
from usage_lib.paths import report_notebooks
from usage_lib.report.job import make_pack
from usage_lib.report.statements import write_statements

MONTH = "2026-04"  # the pack's 6 months, Nov 2025 - Apr 2026, hold every generated day
WINDOW = (date(2025, 11, 1), date(2026, 4, 30))


@pytest.mark.parametrize("profile", ["custom", "stock"])
@settings(
    max_examples=1,  # one sample of 12 sets, the same every run (seed)
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@seed(20261201)
@given(data=st.data())
def test_a_sample_of_stored_forms_through_the_pack_and_statements(
    mongo: Any, tmp_path_factory: pytest.TempPathFactory, profile: str, data: Any
) -> None:
    requests = [doc for _ in range(12) for doc in data.draw(request_sets(profile, True))]
    for doc in requests:
        doc.setdefault("_id", ObjectId())
    s = Shapes(profile, requests)
    name = f"packshapes_{uuid.uuid4().hex[:10]}"
    folder = tmp_path_factory.mktemp("packshapes")
    config_path = folder / "usage.toml"
    config_path.write_text(PROFILES[profile] + "\n" + EXCLUDE, encoding="utf-8")
    with MongoClient(mongo.uri) as client:
        db = client[name]
        db.requests.insert_many([dict(d) for d in s.requests])
        db.faq_kbs.insert_many([dict(d) for d in s.faq_kbs])
        collection, names = tenant_names(profile)
        db[collection].insert_many(names)
        try:
            config = load_config(
                config_path, env={"USAGE_MONGODB_URI": mongo.uri, "USAGE_MONGODB_DB": name}
            )
            source = Source(db, config, demo=False, key=name)
            made = make_pack(
                source,
                MONTH,
                folder / "out",
                report_notebooks(),
                progress=False,
            )
            statements = write_statements(source, MONTH, folder / "out")
        finally:
            client.drop_database(name)
    stock = None
    if profile != "custom":
        stock = oracle.Stock(**STOCK_RULES[profile], forks=oracle.forks_of(s.faq_kbs))
    expected = oracle.counts(s.requests, *WINDOW, "UTC", "month", {EXCLUDED}, stock=stock)
    by_month: dict[str, int] = {}
    for buckets in expected.values():
        for key, n in buckets.items():
            by_month[key] = by_month.get(key, 0) + n
    assert sum(by_month.values()) > 5  # the sample is not vacuous
    got = {k: v for k, v in made.manifest.figures.billable.by_month.items() if v}
    assert got == by_month
    customers = {
        org: buckets.get(MONTH, 0) for org, buckets in expected.items() if org != "unassigned"
    }
    assert {st.org_id: st.rows for st in statements} == {o: n for o, n in customers.items() if n}
    agents = oracle.agent_of if stock is None else stock.agent
    for statement in statements:
        with open(statement.folder / "conversations.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        by_id = {str(d["_id"]): d for d in s.requests}
        assert len(rows) == statement.rows
        for row in rows:
            agent = agents(by_id[row["_id"]])
            assert row["agent_id"] == ("" if agent == "unattributed" else agent)
    assert Path(made.path / "index.html").is_file()
