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
from usage_lib.core.cube import Cube, Grain
from usage_lib.core.explain import explain
from usage_lib.core.metrics import DRILL_DOWN, METRICS, Reading, Users
from usage_lib.core.periods import DateRange, add_months, month_end, months_ending
from usage_lib.core.query import query_cube
from usage_lib.core.source import MONTH_READING
from usage_lib.core.watch import query_watch
from usage_lib.figures.watch import Watch, month_range
from usage_lib.paths import EXAMPLE_CONFIG

MONTH = (2026, 10)
CASES = ("explore", "table", "alerts", "pack")
STEPS = ("cold", "first", "warm", "new day", "edit storm")


def _config() -> Config:
    return replace(load_config(EXAMPLE_CONFIG, env={}), mongodb_db="tiledesk")


def _cases(
    db: Database, config: Config, root: Path, as_of: date
) -> dict[str, tuple[DateRange, Callable[[], Any], Callable[[], Any]]]:
    """Each case: the range it reads, its cold run (one pass each) and its warm run (the
    store), each returning (what is compared, the `warm.Read` or None). `alerts` runs the
    morning of `as_of`."""
    report = months_ending(*MONTH, config.months, config.timezone)
    month = months_ending(*MONTH, 1, config.timezone)
    window = DateRange(
        date(*add_months(*MONTH, -12), 1), month_end(*add_months(*MONTH, 1)), config.timezone
    )
    settings = config.watch
    alerts = Watch(as_of, settings.days, settings.weeks).range(config.timezone)
    watch_month = month_range(*MONTH, settings.days, settings.weeks, config.timezone)
    explore = Reading.of(("conversations", "depth_avg", "handoffs"))
    table = Reading.of(METRICS, Users(choose_granularity(report), DRILL_DOWN))

    def cube(case: str, rng: DateRange, grain: Grain, reading: Reading) -> tuple[Any, Any]:
        cold = lambda: _cube(query_cube(db, rng, config, grain, reading=reading))  # noqa: E731
        warm_run = lambda: _cube(  # noqa: E731
            warm.cube(db, root / case, "bench", rng, config, grain, reading)
        )
        return cold, warm_run

    def pack_cold() -> tuple[Any, None]:
        data = _cube(query_cube(db, report, config, "month", reading=MONTH_READING))[0]
        started = query_watch(db, watch_month, config)
        explain(db, month, config)
        return (data, started), None

    def pack_warm() -> tuple[Any, Any]:
        got = warm.cube(db, root / "pack", "bench", report, config, "month", MONTH_READING, month)
        fresh = DateRange(month.start, watch_month.end, config.timezone)
        started, _ = warm.watched(db, root / "pack", "bench", watch_month, config, fresh)
        explain(db, month, config)
        return (_cube(got)[0], started), got.read

    return {
        "explore": (window, *cube("explore", window, "day", explore)),
        "table": (report, *cube("table", report, "day", table)),
        "alerts": (
            alerts,
            lambda: (query_watch(db, alerts, config), None),
            lambda: warm.watched(db, root / "alerts", "bench", alerts, config),
        ),
        "pack": (report, pack_cold, pack_warm),
    }


def _cube(c: Cube) -> tuple[Any, Any]:
    keys = ["org_id", "agent_id", "day"]
    users = None if c.users is None else c.users.sort("org_id", "agent_id", "bucket")
    return (c.frame.sort(keys), users), c.read


def _same(a: Any, b: Any) -> None:
    """Frames (or tuples of them, or None) equal."""
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif (a is None) != (b is None) or (a is not None and not a.equals(b)):
        raise RuntimeError("a warm answer differs from the cold one")


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


def _timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
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
        first_morning = date(*add_months(*MONTH, 1), 21)  # the demo holds 20 days of it
        cases = _cases(db, config, Path(root), first_morning)
        figures: dict[tuple[str, str], dict[str, Any]] = {}
        answers: dict[str, Any] = {}  # each case's cold answer, until the data changes

        def step(name: str, case: str, runs: int) -> None:
            _, cold_run, warm_run = cases[case]
            if name == "cold" or case not in answers:
                cold_s, (answers[case], _) = _timed(cold_run, 1)
            if name == "cold":
                read, wall = None, cold_s
            else:
                wall, (got, read) = _timed(warm_run, runs)
                _same(got, answers[case])
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
        written = new_day(db, first_morning)
        log(f"  a new day: {written:,} conversations written")
        cases = _cases(db, config, Path(root), first_morning + timedelta(days=1))  # its morning
        answers.clear()  # the data changed: each answer is read cold again to compare
        for case in CASES:
            step("new day", case, 1)
        edited = edit_storm(db, cases["explore"][0])
        log(f"  an edit storm: {edited:,} documents updated")
        answers.clear()
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

    from benchmarks.bench import WINDOW_SHARE
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
        data = demo_data.generate(MONTH, size=round(args.size * WINDOW_SHARE))
    with EmbeddedMongo(":memory:") as server:
        load(server.uri, data, journal=False)
        print(f"{len(data.requests):,} documents loaded")
        measure(server.uri, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
