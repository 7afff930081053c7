"""The benchmark's methods give the same numbers (checked against the oracle), its wire
counts are real, and it reports the start-up figures."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import oracle
import pytest
from data import EXCLUDED_ORG, ROOT
from pymongo import MongoClient

from benchmarks import bench
from usage_lib.core.config import Config, Exclusion
from usage_lib.core.periods import DateRange

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


@pytest.mark.parametrize("method", ["project", "metrics", "naive", "per_table"])
def test_every_method_gives_the_oracle_numbers(mongo: Any, traps: Any, method: str) -> None:
    _, docs = traps
    wire = bench.Wire()
    with MongoClient(mongo.uri, event_listeners=[wire]) as client:
        got = bench.METHOD_FUNCTIONS[method](client["traps"], RNG, CONFIG)
    assert got.to_dicts() == expected(docs)
    matching = sum(1 for d in docs if d["status"] == 1000 and isinstance(d.get("depth"), int)
                   and d["depth"] >= 3 and RNG.start <= oracle.local_day(d, RNG.timezone) <= RNG.end)  # fmt: skip
    sent = [n for n in wire.names if n != "getMore"]  # getMore fetches the next batch
    if method in ("project", "metrics"):  # one aggregation, two name look-ups; grouped rows
        assert sent == ["aggregate", "find", "find"] and wire.docs < matching
    elif method == "naive":  # every matching conversation crosses the wire
        assert sent == ["find", "find", "find"] and wire.docs >= matching
    else:  # the platform pass and one per organization (each with its name look-ups, one
        # of them skipped where it has no agent to name)
        passes = 1 + len({r["org_id"] for r in got.to_dicts()})
        assert sent.count("aggregate") == passes and len(sent) <= 3 * passes
        assert sent[:3] == ["aggregate", "find", "find"]


def test_floor_is_one_count(mongo: Any, traps: Any) -> None:
    wire = bench.Wire()
    with MongoClient(mongo.uri, event_listeners=[wire]) as client:
        bench.floor(client["traps"], RNG, CONFIG)
    assert (wire.commands, wire.docs) == (1, 1) and wire.bytes > 0


def test_bench_command_writes_every_record(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--sizes",
            "3000",
            "--repeat",
            "1",
            "--per-table-up-to",
            "0",
            "--wide",
            "40",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = json.loads(out.read_text())
    methods = ["floor", "project", "metrics", "naive", "per_table", "pack", "explore"]
    startup, records = records[:2], records[2:]
    assert [r["method"] for r in startup] == [
        "startup: import polars, pymongo",
        "startup: usage-report --help",
    ]
    assert all(r["wall_s"] > 0 and len(r["runs"]) == 5 for r in startup)
    assert "Start-up, median of 5" in done.stdout
    warm_runs = [r for r in records if r["method"] == "warm"]
    records = [r for r in records if r["method"] != "warm"]
    assert [r["method"] for r in records] == methods * 2
    steps = ["cold", "first", "warm", "new day", "edit storm"]
    assert [(r["case"], r["step"]) for r in warm_runs] == [  # each size, each case, each step
        (case, step) for case in ("explore", "table", "alerts", "pack") for step in steps
    ] * 2
    for r in warm_runs:  # every warm answer was checked equal to the cold one, or it raised
        if r["step"] == "warm":  # nothing changed: nothing read (the pack reads its month)
            assert r["days_read"] == (31 if r["case"] == "pack" else 0), r
        if r["step"] == "first":
            assert r["days_cached"] == 0, r
    assert "| 3,000 | table | new day |" in done.stdout
    new_day = {r["case"]: r for r in warm_runs[:20] if r["step"] == "new day"}
    assert new_day["alerts"]["days_read"] == 1  # the next morning's watch reads its new day
    records, wide = records[:7], records[7:]
    for r in records + wide:
        assert r["wall_s"] > 0 and r["peak_rss_mb"] > 0
        assert {"server_commands", "docs_returned", "bytes_returned"} <= set(r)
        assert r["method"] == "naive" or 0 < r["largest_doc"] < 2_000  # every pass: small rows
    assert {r["size"] for r in records} == {3000} and {r["shape"] for r in wide} == {"wide"}
    assert "| wide 40 tenants | metrics |" in done.stdout
    project, with_metrics, naive, per_table, pack, explore = records[1:]
    assert naive["bytes_returned"] > project["bytes_returned"]
    assert with_metrics["server_commands"] <= project["server_commands"]  # still one pass
    assert "x the count-only pass" in done.stdout
    assert per_table["estimated"] and per_table["server_commands"] > 2
    assert pack["data_s"] > 0 and pack["notebooks_s"] > 0 and pack["export_s"] > 0
    passes = pack["data_s"] + pack["watch_s"] + pack["steps_s"]
    assert passes + pack["beyond_data_s"] == pytest.approx(pack["wall_s"], abs=0.03)
    assert (
        "| 3,000 | project |" in done.stdout and "same organization x month numbers" in done.stdout
    )
    assert explore["passes"] == 1 and explore["interaction_commands"] == 0  # all in the window
    assert explore["interactions"] == 6 + 4 + 2 * 5 and explore["first_load_commands"] >= 1
    assert 0 < explore["interaction_ms"] <= explore["interaction_max_ms"]
    assert "| 3,000 | " in done.stdout.split("first load s")[1]  # the explorer's table


@pytest.mark.parametrize(
    ("args", "flag"), [(["--sizes", "50k"], "--sizes"), (["--only", "warm,cold"], "--only")]
)
def test_bench_rejects_bad_input(args: list[str], flag: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2 and flag in done.stderr and done.stderr.count("\n") == 1
