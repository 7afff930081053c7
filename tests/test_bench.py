"""The benchmark's methods give the same numbers (checked against the oracle) and its wire
counts are real; the index advisor finds, refuses and builds the index it recommends."""

import json
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import oracle
import pytest
from pymongo import MongoClient
from support import BIN

from conftest import EXCLUDED_ORG
from usage_lib import bench
from usage_lib.config import Config, Exclusion
from usage_lib.embedded import EmbeddedMongo
from usage_lib.indexes import find_equivalent, recommended
from usage_lib.periods import DateRange

CONFIG = Config(exclusions=(Exclusion(EXCLUDED_ORG, "Internal", "internal"),))
RNG = DateRange(date(2025, 12, 20), date(2026, 4, 18), "Asia/Kolkata")  # a half-hour zone


def expected(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_org = oracle.counts(docs, RNG.start, RNG.end, RNG.timezone, "month", {EXCLUDED_ORG})
    return sorted(
        (
            {"org_id": o, "month": m, "n": n}
            for o, months in by_org.items()
            for m, n in months.items()
            if n
        ),
        key=lambda r: (r["org_id"], r["month"]),
    )


@pytest.mark.parametrize("method", ["project", "naive", "per_table"])
def test_every_method_gives_the_oracle_numbers(mongo: Any, traps: Any, method: str) -> None:
    _, docs = traps
    wire = bench.Wire()
    with MongoClient(mongo.uri, event_listeners=[wire]) as client:
        got = bench.METHOD_FUNCTIONS[method](client["traps"], RNG, CONFIG)
    assert got.to_dicts() == expected(docs)
    matching = sum(1 for d in docs if d["status"] == 1000 and isinstance(d.get("depth"), int)
                   and d["depth"] >= 3 and RNG.start <= oracle.local_day(d, RNG.timezone) <= RNG.end)  # fmt: skip
    sent = [n for n in wire.names if n != "getMore"]  # getMore fetches the next batch
    if method == "project":  # one aggregation and two name look-ups; grouped rows only
        assert sent == ["aggregate", "find", "find"] and wire.docs < matching
    elif method == "naive":  # every matching conversation crosses the wire
        assert sent == ["find", "find", "find"] and wire.docs >= matching
    else:  # the platform pipeline and one per organization
        assert sent == ["aggregate"] * (1 + len({r["org_id"] for r in got.to_dicts()}))


def test_floor_is_one_count(mongo: Any, traps: Any) -> None:
    wire = bench.Wire()
    with MongoClient(mongo.uri, event_listeners=[wire]) as client:
        bench.floor(client["traps"], RNG, CONFIG)
    assert (wire.commands, wire.docs) == (1, 1) and wire.bytes > 0


def test_bench_command_writes_every_record(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            str(BIN),
            "bench",
            "--sizes",
            "3000",
            "--repeat",
            "1",
            "--per-table-up-to",
            "0",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = json.loads(out.read_text())
    assert [r["method"] for r in records] == ["floor", "project", "naive", "per_table", "pack"]
    for r in records:
        assert r["size"] == 3000 and r["wall_s"] > 0 and r["peak_rss_mb"] > 0
        assert {"server_commands", "docs_returned", "bytes_returned"} <= set(r)
    project, naive, per_table, pack = records[1:]
    assert naive["bytes_returned"] > project["bytes_returned"]
    assert per_table["estimated"] and per_table["server_commands"] > 2
    assert pack["data_s"] > 0 and pack["execute_s"] > 0 and pack["export_s"] > 0
    assert (
        "| 3,000 | project |" in done.stdout and "same organization x month numbers" in done.stdout
    )


def test_bench_rejects_bad_sizes() -> None:
    done = subprocess.run(
        [str(BIN), "bench", "--sizes", "50k"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--sizes" in done.stderr and done.stderr.count("\n") == 1


@pytest.fixture
def database() -> Iterator[tuple[str, Any]]:
    with EmbeddedMongo(":memory:") as server, MongoClient(server.uri) as client:
        client.tiledesk.requests.insert_one({"status": 1000})
        yield server.uri, client.tiledesk


def indexes(uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "USAGE_MONGODB_URI": uri, "HOME": "/tmp"}
    return subprocess.run(
        [str(BIN), "indexes", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_advisor_recommends_equality_then_ranges() -> None:
    assert recommended(Config()) == [("status", 1), ("createdAt", 1), ("depth", 1)]


def test_indexes_reports_then_creates_then_finds(database: tuple[str, Any]) -> None:
    uri, db = database
    first = indexes(uri)
    assert first.returncode == 0 and "Not there" in first.stdout and "--create" in first.stdout
    assert len(db.requests.index_information()) == 1  # only _id: it wrote nothing

    created = indexes(uri, "--create")
    assert created.returncode == 0
    out = created.stdout
    assert out.index("Writing to the source database") < out.index("Created index")
    info = db.requests.index_information()["usage_report_match"]
    assert info["key"] == [("status", 1), ("createdAt", 1), ("depth", 1)]

    again = indexes(uri, "--create")
    assert (
        again.returncode == 0 and "Already there" in again.stdout and "Writing" not in again.stdout
    )


@pytest.mark.parametrize(
    ("keys", "options", "serves"),
    [
        (
            [("status", -1), ("createdAt", -1), ("depth", 1), ("x", 1)],
            {},
            True,
        ),  # more fields after
        ([("status", 1), ("createdAt", 1)], {}, False),  # depth missing
        ([("createdAt", 1), ("status", 1), ("depth", 1)], {}, False),  # range before equality
        ([("status", 1), ("createdAt", 1), ("depth", 1)], {"sparse": True}, False),
        (
            [("status", 1), ("createdAt", 1), ("depth", 1)],
            {"partialFilterExpression": {"depth": {"$gt": 5}}},
            False,
        ),
    ],
)
def test_equivalent_index(database: tuple[str, Any], keys: Any, options: Any, serves: bool) -> None:
    _, db = database
    db.requests.create_index(keys, name="candidate", **options)
    found = find_equivalent(db, recommended(Config()))
    assert (found == "candidate") is serves
