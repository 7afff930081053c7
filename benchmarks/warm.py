"""Warm against cold (`make bench`, or `python -m benchmarks.warm` alone): the local store of
days (`usage_lib.core.warm`) timed against one pass over the whole range (--no-cache), in one
run, on the same server:

- explore: the explorer's first load (13 months and the current one, the window's metrics);
- table:   `usage-report table` over the 6 report months, every metric, users by month;
- pack:    the pack's data (month grain, the report month read again whole).

For each: cold (no store), first (the store filled by the run), warm (nothing changed), a
new day (the next day's conversations written, as a nightly run finds them), and an edit
storm (1% of the window's documents updated, as Tiledesk's lead updates and migrations do).
Every warm answer is checked to equal the cold one.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from usage_lib.core import warm
from usage_lib.core.buckets import choose_granularity
from usage_lib.core.config import Config, load_config
from usage_lib.core.cube import Cube
from usage_lib.core.metrics import DRILL_DOWN, METRICS, Reading, Users
from usage_lib.core.periods import DateRange, add_months, month_end, months_ending
from usage_lib.core.query import query_cube
from usage_lib.core.source import MONTH_READING
from usage_lib.paths import EXAMPLE_CONFIG

MONTH = (2026, 10)
CASES = ("explore", "table", "pack")
STEPS = ("cold", "first", "warm", "new day", "edit storm")


def _config() -> Config:
    return replace(load_config(EXAMPLE_CONFIG, env={}), mongodb_db="tiledesk")


def _reads(config: Config) -> dict[str, tuple[DateRange, str, Reading, DateRange | None]]:
    """Each case: its range, grain, reading, and the days read again every time."""
    report = months_ending(*MONTH, config.months, config.timezone)
    month = months_ending(*MONTH, 1, config.timezone)
    window = DateRange(
        date(*add_months(*MONTH, -12), 1), month_end(*add_months(*MONTH, 1)), config.timezone
    )
    explore = Reading.of(("conversations", "depth_avg", "handoffs"))
    table = Reading.of(METRICS, Users(choose_granularity(report), DRILL_DOWN))
    return {
        "explore": (window, "day", explore, None),
        "table": (report, "day", table, None),
        "pack": (report, "month", MONTH_READING, month),
    }


def _same(a: Cube, b: Cube) -> None:
    keys = ["org_id", "agent_id", "day"]
    if not a.frame.sort(keys).equals(b.frame.sort(keys)):
        raise RuntimeError("a warm cube differs from the cold one")
    if (a.users is None) != (b.users is None) or (
        a.users is not None and b.users is not None and not a.users.equals(b.users)
    ):
        raise RuntimeError("a warm cube's users differ from the cold one's")


def new_day(db: Database, day: date) -> int:
    """The conversations of `day` again, as the next day's (a copy of an earlier day's)."""
    start = datetime(day.year, day.month, day.day) - timedelta(days=7)
    docs = list(db.requests.find({"createdAt": {"$gte": start, "$lt": start + timedelta(1)}}))
    now = datetime.now(UTC).replace(tzinfo=None)
    for doc in docs:
        doc["_id"] = ObjectId()
        doc["createdAt"] += timedelta(days=7)
        doc["updatedAt"] = now
    if docs:
        db.requests.insert_many(docs)
    return len(docs)


def edit_storm(db: Database, rng: DateRange, share: float = 0.01) -> int:
    """`share` of the window's documents updated (a lead's email, as Tiledesk's updateMany
    does): updatedAt bumped, nothing the rule reads changed."""
    start, end = rng.utc_bounds()
    ids = [
        d["_id"] for d in db.requests.find({"createdAt": {"$gte": start, "$lt": end}}, {"_id": 1})
    ]
    picked = ids[:: max(1, round(1 / share))]
    now = datetime.now(UTC).replace(tzinfo=None)
    db.requests.update_many(
        {"_id": {"$in": picked}},
        {"$set": {"snapshot.lead.email": "x@example.com", "updatedAt": now}},
    )
    return len(picked)


def _timed(run: Callable[[], Cube], repeat: int) -> tuple[float, Cube]:
    walls, made = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        made = run()
        walls.append(time.perf_counter() - started)
    assert made is not None
    return statistics.median(walls), made


def measure(uri: str, repeat: int = 3, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Every case and step on the server at `uri` (the demo's data, anchored on MONTH)."""
    config = _config()
    records: list[dict[str, Any]] = []
    with MongoClient[dict[str, Any]](uri) as client, tempfile.TemporaryDirectory() as root:
        db = client.tiledesk
        reads = _reads(config)
        figures: dict[tuple[str, str], dict[str, Any]] = {}

        def step(name: str, case: str, runs: int) -> None:
            rng, grain, reading, fresh = reads[case]
            cold_s, cold = _timed(lambda: query_cube(db, rng, config, grain, reading=reading), 1)
            if name == "cold":
                got, wall = cold, cold_s
            else:
                wall, got = _timed(
                    lambda: warm.cube(
                        db, Path(root) / case, "bench", rng, config, grain, reading, fresh
                    ),
                    runs,
                )
                _same(got, cold)
            read = got.read
            figures[case, name] = {
                "case": case,
                "step": name,
                "wall_s": round(wall, 2),
                "days_cached": None if read is None else read.days_cached,
                "days_read": None if read is None else read.days_read,
            }

        for case in CASES:
            step("cold", case, 1)
            step("first", case, 1)
            step("warm", case, repeat)
        written = new_day(db, reads["explore"][0].end - timedelta(days=9))
        log(f"  a new day: {written:,} conversations written")
        for case in CASES:
            step("new day", case, 1)
        edited = edit_storm(db, reads["explore"][0])
        log(f"  an edit storm: {edited:,} documents updated")
        for case in CASES:
            step("edit storm", case, 1)
        for case in CASES:
            cold = figures[case, "cold"]["wall_s"]
            for name in STEPS:
                record = figures[case, name]
                record["vs_cold"] = round(record["wall_s"] / cold, 3) if cold else None
                records.append(record)
                log(_line(record))
    return records


def _line(r: dict[str, Any]) -> str:
    read = (
        "" if r["days_read"] is None else f"  {r['days_cached']:>4} cached {r['days_read']:>4} read"
    )
    return f"  {r['case']:<8} {r['step']:<11} {r['wall_s']:>8.2f} s  {r['vs_cold']:>6.3f}x{read}"


def main() -> int:
    import argparse

    from usage_lib.demo import data as demo_data
    from usage_lib.demo.server import EmbeddedMongo, load

    parser = argparse.ArgumentParser(prog="python -m benchmarks.warm", description=__doc__)
    parser.add_argument("--size", type=int, default=150_000, help="conversations (deep shape)")
    parser.add_argument("--tenants", type=int, default=0, help="the wide shape instead")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.tenants:
        data = demo_data.wide(MONTH, tenants=args.tenants, conversations=40 * args.tenants)
    else:
        data = demo_data.generate(MONTH, size=round(args.size * 0.754))
    with EmbeddedMongo(":memory:") as server:
        load(server.uri, data, journal=False)
        print(f"{len(data.requests):,} documents loaded")
        measure(server.uri, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
