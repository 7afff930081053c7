"""The local store of days (`core/warm.py`, `core/daystore.py`): a warm cube equals the cube
one pass over the whole range makes (`query_cube`, what --no-cache runs), after any mix of
what happens to `requests` between two runs, under any change of the settings; the store's
files are private, and a damaged or half-written one is read again, never served.

The cold pass is itself checked against the oracle on every stored form
(tests/core/test_stored_shapes.py, whose `table` runs warm).
"""

from __future__ import annotations

import os
import stat
import threading
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pymongo import MongoClient

from usage_lib.core import warm
from usage_lib.core.changes import counts_pipeline
from usage_lib.core.config import Config, Exclusion
from usage_lib.core.cube import Cube
from usage_lib.core.metrics import DRILL_DOWN, METRICS, Reading, Users
from usage_lib.core.periods import DateRange
from usage_lib.core.query import query_cube
from usage_lib.core.source import MONTH_READING
from usage_lib.core.watch import query_watch

Client = MongoClient[dict[str, Any]]
TENANTS = ("65920080f54ee781cc75f6a1", "65920080f54ee781cc75f6a2", "65920080f54ee781cc75f6a3")
BOTS = ("6592a1b2c3d4e5f6a7b8c901", "6592a1b2c3d4e5f6a7b8c902")
USERS = ("u1", "u2", "u3", "u4")
FIRST = datetime(2026, 2, 20)  # the documents start from here, over 40 days
RANGE = DateRange(date(2026, 2, 20), date(2026, 3, 31))  # two months (the pack's: Mar fresh)
WINDOW = DateRange(date(2026, 2, 1), date(2026, 3, 31))
BEFORE = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=3)  # when the data was written
DAY_READING = Reading.of(METRICS, Users("week", DRILL_DOWN))
EXPLORE = int(os.environ.get("USAGE_EXPLORE", "0") or 0)  # as tests/core/test_stored_shapes.py
SETTINGS = settings(
    derandomize=not EXPLORE,
    max_examples=10 * max(1, EXPLORE),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def conversation(
    minute: int, tenant: int, bot: int, user: int, status: int, depth: int, test: bool
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "createdAt": FIRST + timedelta(minutes=minute),
        "updatedAt": BEFORE,
        "status": status,
        "depth": depth,
        "requester": USERS[user],
        "isTestMode": test,
    }
    if tenant < len(TENANTS):
        doc["id_organization"] = TENANTS[tenant]
    if bot < len(BOTS):
        doc["attributes"] = {"bot_id": BOTS[bot]}
        doc["participantsBots"] = [BOTS[bot]]
    return doc


CONVERSATIONS = st.builds(
    conversation,
    minute=st.integers(0, 40 * 24 * 60 - 1),
    tenant=st.integers(0, len(TENANTS)),  # len: no organization
    bot=st.integers(0, len(BOTS)),  # len: no agent
    user=st.integers(0, len(USERS) - 1),
    status=st.sampled_from([1000, 1000, 100, 200]),
    depth=st.integers(1, 6),
    test=st.booleans(),
)
# What happens between two runs, to the i-th document (modulo how many there are).
CHANGES = st.one_of(
    st.tuples(st.just("close"), st.integers(0, 99)),
    st.tuples(st.just("agent"), st.integers(0, 99), st.sampled_from([*BOTS, None])),
    st.tuples(st.just("test"), st.integers(0, 99), st.booleans()),
    st.tuples(st.just("depth"), st.integers(0, 99), st.integers(1, 6)),
    st.tuples(st.just("user"), st.integers(0, 99), st.sampled_from(USERS)),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("insert"), CONVERSATIONS, st.booleans()),  # with updatedAt, or without
)
SETTING_CHANGES = st.sampled_from(["none", "exclusion", "zone", "rule"])


def apply(db: Any, change: tuple[Any, ...]) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    if change[0] == "insert":
        doc = dict(change[1])
        if change[2]:
            doc["updatedAt"] = now
        else:
            doc.pop("updatedAt")
        db.requests.insert_one(doc)
        return
    ids = [d["_id"] for d in db.requests.find({}, {"_id": 1}).sort("_id")]
    if not ids:
        return
    target = {"_id": ids[change[1] % len(ids)]}
    kind = change[0]
    if kind == "delete":
        db.requests.delete_one(target)
        return
    sets: dict[str, Any] = {
        "close": {"status": 1000},
        "test": {"isTestMode": change[-1]},
        "depth": {"depth": change[-1]},
        "user": {"requester": change[-1]},
    }.get(kind, {})
    if kind == "agent":
        bot = change[2]
        sets = {
            "attributes": {"bot_id": bot} if bot else {},
            "participantsBots": [bot] if bot else [],
        }
    db.requests.update_one(target, {"$set": {**sets, "updatedAt": now}})


def changed_settings(config: Config, which: str) -> Config:
    if which == "exclusion":
        return replace(config, exclusions=(Exclusion(TENANTS[1], "Internal", "staff"),))
    if which == "zone":
        return replace(config, timezone="Asia/Kolkata")
    if which == "rule":
        return replace(config, rule=replace(config.rule, min_depth=4))
    return config


def same(warm_cube: Cube, cold: Cube) -> None:
    keys = ["org_id", "agent_id", "day"]
    assert_frame_equal(warm_cube.frame.sort(keys), cold.frame.sort(keys), check_exact=True)
    if cold.users is None:
        assert warm_cube.users is None
    else:
        assert warm_cube.users is not None
        by = ["org_id", "agent_id", "bucket"]
        assert_frame_equal(warm_cube.users.sort(by), cold.users.sort(by))


def compare(db: Any, root: Path, config: Config, scoped: bool = False) -> list[Cube]:
    """The cubes commands make, warm against cold: `table`/the explorer (day grain, users by
    week at every level), the pack (month grain, its month read again), the daily watch's
    days (`alerts`, and the pack's with its month read again), and (`scoped`) one tenant's
    and one agent's."""
    rng = replace(RANGE, timezone=config.timezone)
    window = replace(WINDOW, timezone=config.timezone)
    made = []
    plain = Reading.of(["conversations", "depth_avg", "handoffs"])  # the explorer's first load
    same(
        warm.cube(db, root, "test", rng, config, reading=plain),
        query_cube(db, rng, config, reading=plain),
    )
    got = warm.cube(db, root, "test", rng, config, reading=DAY_READING)
    same(got, query_cube(db, rng, config, reading=DAY_READING))
    made.append(got)
    report = DateRange(date(2026, 3, 1), date(2026, 3, 31), config.timezone)
    got = warm.cube(db, root, "test", window, config, "month", MONTH_READING, fresh=report)
    same(got, query_cube(db, window, config, "month", reading=MONTH_READING))
    made.append(got)
    watched = warm.watched(db, root, "test", rng, config)[0]  # alerts: what started, by day
    assert_frame_equal(watched, query_watch(db, rng, config), check_exact=True)
    watched = warm.watched(db, root, "test", window, config, fresh=report)[0]  # the pack's watch
    assert_frame_equal(watched, query_watch(db, window, config), check_exact=True)
    if not scoped:
        return made
    reading = Reading.of(METRICS, Users("day", ((True, True), (True, False))))
    got = warm.cube(db, root, "test", rng, config, reading=reading, org=TENANTS[0])
    same(got, query_cube(db, rng, config, org=TENANTS[0], reading=reading))
    reading = Reading.of(METRICS, Users("month", ((True, True),)))
    got = warm.cube(db, root, "test", rng, config, reading=reading, org=TENANTS[1], agent=BOTS[0])
    same(got, query_cube(db, rng, config, org=TENANTS[1], agent=BOTS[0], reading=reading))
    return made


@pytest.fixture
def db(client: Client) -> Any:
    name = f"warm_{uuid.uuid4().hex[:12]}"
    yield client[name]
    client.drop_database(name)


@SETTINGS
@example(  # found: a late close of a day with nothing billable (no row showed updatedAt)
    docs=[conversation(0, 0, 0, 0, 100, 3, False)], changes=[("close", 0)], which="none"
)
@given(
    docs=st.lists(CONVERSATIONS, min_size=1, max_size=25),
    changes=st.lists(CHANGES, max_size=6),
    which=SETTING_CHANGES,
)
def test_a_warm_cube_equals_one_pass_after_any_changes(
    client: Client,
    tmp_path_factory: pytest.TempPathFactory,
    docs: list[dict[str, Any]],
    changes: list[tuple[Any, ...]],
    which: str,
) -> None:
    name = f"warm_{uuid.uuid4().hex[:12]}"
    db = client[name]
    root = tmp_path_factory.mktemp("store")
    try:
        db.requests.insert_many([dict(d) for d in docs])
        config = Config()
        compare(db, root, config)  # the store, filled
        for change in changes:
            apply(db, change)
        after = changed_settings(config, which)
        made = compare(db, root, after)
        if not changes and which == "none":  # nothing changed: nothing read again
            assert made[0].read is not None and made[0].read.days_read == 0
    finally:
        client.drop_database(name)


def test_warm_runs_read_only_the_changed_days(db: Any, tmp_path: Path) -> None:
    docs = [conversation(d * 24 * 60 + 600, 0, 0, d % 4, 1000, 5, False) for d in range(40)]
    db.requests.insert_many(docs)
    config = Config()
    first = warm.cube(db, tmp_path, "test", RANGE, config, reading=DAY_READING)
    assert first.read == warm.Read(0, 40)
    again = warm.cube(db, tmp_path, "test", RANGE, config, reading=DAY_READING)
    assert again.read == warm.Read(40, 0)
    db.requests.update_one(  # a late close, 30 days back
        {"createdAt": docs[10]["createdAt"]}, {"$set": {"depth": 6, "updatedAt": datetime.now()}}
    )
    db.requests.delete_one({"createdAt": docs[25]["createdAt"]})  # a hard delete
    edited = warm.cube(db, tmp_path, "test", RANGE, config, reading=DAY_READING)
    assert edited.read == warm.Read(38, 2)
    same(edited, query_cube(db, RANGE, config, reading=DAY_READING))
    compare(db, tmp_path, config, scoped=True)  # one tenant's, one agent's, cut from the store


def test_the_watch_reads_only_the_changed_days_and_verify_checks_its_days(
    db: Any, tmp_path: Path
) -> None:
    """`alerts` the next morning: the days already watched come from the store; a late
    close and an out-of-band edit are found as the cube's are."""
    docs = [conversation(d * 24 * 60 + 600, d % 3, 0, 0, 100, 5, False) for d in range(40)]
    db.requests.insert_many(docs)
    config = Config()
    frame, read = warm.watched(db, tmp_path, "test", RANGE, config)
    assert read == warm.Read(0, 40)
    assert frame["started"].sum() == 40 and frame["billable"].sum() == 0  # none closed yet
    assert warm.watched(db, tmp_path, "test", RANGE, config)[1] == warm.Read(40, 0)
    db.requests.update_one(  # a late close: billable days after it started
        {"createdAt": docs[5]["createdAt"]}, {"$set": {"status": 1000, "updatedAt": datetime.now()}}
    )
    frame, read = warm.watched(db, tmp_path, "test", RANGE, config)
    assert read == warm.Read(39, 1) and frame["billable"].sum() == 1
    db.requests.update_one({"createdAt": docs[7]["createdAt"]}, {"$set": {"status": 1000}})
    checked, differs = warm.verify(db, tmp_path, "test", config)
    assert checked == 40 and [(d.day, d.what) for d in differs] == [
        (date(2026, 2, 27), "the watch's conversations")
    ]
    assert_frame_equal(
        warm.watched(db, tmp_path, "test", RANGE, config)[0], query_watch(db, RANGE, config)
    )


def _fields(node: Any, in_match: bool = False) -> set[str]:
    """The document fields a stage reads: "$field" paths, and a `$match`'s keys."""
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if in_match and not key.startswith("$"):
                found.add(key)
            found |= _fields(value, in_match and key.startswith("$"))
        return found
    if isinstance(node, list):
        return set().union(*(_fields(v, in_match) for v in node))
    if isinstance(node, str) and node.startswith("$") and not node.startswith("$$"):
        return {node[1:].split(".")[0]}
    return set()


def test_the_count_per_day_reads_created_at_alone() -> None:
    """MongoDB answers it from `{createdAt: 1}` without fetching a document only when the
    pass reads no other field and its `$match` has no `$type: "array"` (which no index
    answers). The `$group`'s own field paths count, the `$match`'s keys too."""
    match, group = counts_pipeline(RANGE, Config())
    assert _fields(match["$match"], in_match=True) == {"createdAt"}
    assert _fields(group["$group"]["_id"]) == {"createdAt"}
    assert _fields(group["$group"]["n"]) == set()
    assert "array" not in str(match)


def test_without_updated_at_the_settle_window_is_read_again_and_said(
    db: Any, tmp_path: Path
) -> None:
    today = datetime.now(UTC).replace(tzinfo=None, hour=12, minute=0, second=0, microsecond=0)
    docs = [
        {"createdAt": today - timedelta(days=d), "status": 1000, "depth": 5, "requester": "u"}
        for d in range(20)
    ]
    db.requests.insert_many(docs)
    rng = DateRange(today.date() - timedelta(days=19), today.date())
    warm.cube(db, tmp_path, "test", rng, Config())
    again = warm.cube(db, tmp_path, "test", rng, Config())
    assert again.read is not None
    assert (again.read.days_cached, again.read.days_read) == (13, 7)
    assert "carries updatedAt" in again.read.note and "cache verify" in again.read.note


def test_an_edit_that_skips_updated_at_and_keeps_the_count_is_found_by_verify(
    db: Any, tmp_path: Path
) -> None:
    """The documented limit: no signal shows it, so the warm answer is stale until `verify`
    recounts the day, reports it, and replaces it."""
    docs = [conversation(d * 24 * 60 + 600, 0, 0, 0, 1000, 5, False) for d in range(40)]
    db.requests.insert_many(docs)
    config = Config()
    warm.cube(db, tmp_path, "test", RANGE, config)
    db.requests.update_one({"createdAt": docs[3]["createdAt"]}, {"$set": {"status": 100}})
    stale = warm.cube(db, tmp_path, "test", RANGE, config)
    assert stale.frame["billable"].sum() == 40  # served from the store: the limit
    checked, differs = warm.verify(db, tmp_path, "test", config)
    assert checked == 40
    assert [d.day for d in differs] == [date(2026, 2, 23)]
    assert differs[0].what == "conversations"  # kept without end users: none compared
    fixed = warm.cube(db, tmp_path, "test", RANGE, config)
    assert fixed.frame["billable"].sum() == 39
    assert warm.verify(db, tmp_path, "test", config) == (40, [])


def test_the_store_is_private_and_outside_what_it_does_not_own(db: Any, tmp_path: Path) -> None:
    db.requests.insert_many([conversation(600, 0, 0, 0, 1000, 5, False)])
    root = tmp_path / "cache"
    warm.cube(db, root, "test", RANGE, Config())
    folders = [root, *(p for p in root.rglob("*") if p.is_dir())]
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == RANGE.days + 1  # a file per day, and the key
    assert {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o700}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}


def test_a_damaged_day_or_a_killed_write_is_read_again(db: Any, tmp_path: Path) -> None:
    docs = [conversation(d * 24 * 60 + 600, 0, 0, 0, 1000, 5, False) for d in range(40)]
    db.requests.insert_many(docs)
    config = Config()
    warm.cube(db, tmp_path, "test", RANGE, config)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    (folder / "2026-03-01.parquet").write_bytes(b"PAR1 cut short")  # damaged
    (folder / "2026-03-02.parquet").unlink()  # never written
    leftover = folder / ".2026-03-03.parquet.999.1.tmp"  # a killed run's
    leftover.write_bytes(b"half")
    os.utime(leftover, (0, 0))
    got = warm.cube(db, tmp_path, "test", RANGE, config)
    assert got.read == warm.Read(38, 2)
    same(got, query_cube(db, RANGE, config))
    assert not leftover.exists()


def test_two_runs_at_once_leave_the_store_consistent(db: Any, tmp_path: Path) -> None:
    docs = [conversation(d * 24 * 60 + 600, d % 3, d % 2, d % 4, 1000, 5, False) for d in range(40)]
    db.requests.insert_many(docs)
    config = Config()
    made: list[Cube] = []
    runs = [
        threading.Thread(
            target=lambda: made.append(
                warm.cube(db, tmp_path, "test", RANGE, config, reading=DAY_READING)
            )
        )
        for _ in range(2)
    ]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    cold = query_cube(db, RANGE, config, reading=DAY_READING)
    assert len(made) == 2
    for got in [*made, warm.cube(db, tmp_path, "test", RANGE, config, reading=DAY_READING)]:
        same(got, cold)
    assert warm.verify(db, tmp_path, "test", config) == (40, [])
    assert not list(tmp_path.rglob(".*.tmp"))


def test_another_key_never_reads_these_days(db: Any, tmp_path: Path) -> None:
    """The data, the zone, the rule and the exclusions are each part of the key."""
    db.requests.insert_many([conversation(d * 24 * 60, 0, 0, 0, 1000, 5, False) for d in range(40)])
    config = Config()
    warm.cube(db, tmp_path, "test", RANGE, config)
    for other, key in [
        (config, "other data"),
        (replace(config, timezone="Asia/Kolkata"), "test"),
        (replace(config, rule=replace(config.rule, min_depth=6)), "test"),
        (replace(config, exclusions=(Exclusion(TENANTS[0], "x", "y"),)), "test"),
    ]:
        rng = replace(RANGE, timezone=other.timezone)
        got = warm.cube(db, tmp_path, key, rng, other)
        assert got.read is not None and got.read.days_cached == 0, (key, other)
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 5


def test_days_read_without_users_are_read_again_when_users_are_asked(
    db: Any, tmp_path: Path
) -> None:
    """The explorer's first load reads no end users (the cheaper pass); a table of users
    then reads those days again, with them; a reading without users takes either."""
    db.requests.insert_many(
        [conversation(d * 24 * 60 + 600, d % 3, d % 2, d % 4, 1000, 5, False) for d in range(40)]
    )
    config, plain = Config(), Reading.of(["conversations", "depth_avg", "handoffs"])
    first = warm.cube(db, tmp_path, "test", RANGE, config, reading=plain)
    assert first.read == warm.Read(0, 40) and first.users is None
    with_users = warm.cube(db, tmp_path, "test", RANGE, config, reading=DAY_READING)
    assert with_users.read == warm.Read(0, 40)
    same(with_users, query_cube(db, RANGE, config, reading=DAY_READING))
    again = warm.cube(db, tmp_path, "test", RANGE, config, reading=plain)
    assert again.read == warm.Read(40, 0)
    db.requests.update_one(  # a day read again for a reading without users keeps its users
        {"createdAt": FIRST + timedelta(minutes=600)}, {"$set": {"updatedAt": datetime.now()}}
    )
    warm.cube(db, tmp_path, "test", RANGE, config, reading=plain)
    users_again = warm.cube(db, tmp_path, "test", RANGE, config, reading=DAY_READING)
    assert users_again.read == warm.Read(39, 1)  # the edited day only: within the clocks' margin
    same(users_again, query_cube(db, RANGE, config, reading=DAY_READING))


def test_users_are_exact_across_days_and_buckets(tmp_path: Path) -> None:
    """Distinct users do not add up: one user on two days of a week is one user of it."""
    triples = pl.DataFrame(
        {
            "org_id": ["o", "o", "o", "p"],
            "agent_id": ["a", "a", "b", "a"],
            "day": [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 3), date(2026, 3, 10)],
            "user": ["u", "u", "u", "u"],
        }
    )
    got = warm.users_of(triples, Users("week", ((True, False), (False, False))))
    rows = {(r["org_id"], r["bucket"]): r["users"] for r in got.iter_rows(named=True)}
    assert rows == {
        ("o", "2026-03-02"): 1,
        ("p", "2026-03-09"): 1,
        ("o", "*"): 1,
        ("p", "*"): 1,
        ("*", "2026-03-02"): 1,
        ("*", "2026-03-09"): 1,
        ("*", "*"): 1,
    }
