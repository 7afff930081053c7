"""Warm runs: a cube made from the days the local store (`daystore`) already holds, reading
from `requests` only the days that changed since they were read, exactly.

A stored day is read again when:
- the store does not have it, or its file cannot be read;
- its count of documents started (`changes.day_counts`, from the `createdAt` index) is not
  the stored one: a deletion, an insert, a write that skipped `updatedAt`;
- a document started that day was updated (`updatedAt`) after the day was read, less
  MARGIN for the clocks of the servers that write it (`changes.edited_days`);
- the caller asks for it fresh (the pack's report month: a published number is always a
  full recount of its month).
Where `requests` carry no `updatedAt`, the last SETTLE_DAYS days are read again every time,
and the command says so. What no signal shows (an edit that skips `updatedAt` and keeps its
day's count) is the documented limit: `verify` recounts the stored days and finds it.

The days to read are read by the store's pass (the cube's pass, day grain, with the distinct
(tenant, agent, user) triples left uncounted, `pipeline(sets=True)`), a pass per run of
nearby days. Every table is then cut from the days in polars: sums for counts, depths and
hand-offs, distinct counts of the triples for end users, so any bucket and any level is as
exact as a pass over the whole range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from pymongo.database import Database

from usage_lib.core.changes import day_counts, edited_days
from usage_lib.core.config import Config
from usage_lib.core.cube import SCHEMA, UNASSIGNED, UNATTRIBUTED, USERS_SCHEMA, Cube, Grain
from usage_lib.core.daystore import USERS_SCHEMA as DAY_USERS
from usage_lib.core.daystore import Day, DayStore, Stored, sweep
from usage_lib.core.db import aggregate, translate_errors
from usage_lib.core.metrics import ALL, COUNT_ONLY, Reading, Users
from usage_lib.core.periods import DateRange
from usage_lib.core.pipeline import pipeline
from usage_lib.core.query import fork_roots, named_cube, to_frame
from usage_lib.core.rows import AGENT, BUCKET, DAY, KIND, TENANT, UPDATED, USER, USERS_ROW
from usage_lib.core.rule import lower
from usage_lib.core.watch import SCHEMA as WATCH_SCHEMA
from usage_lib.core.watch import named, watch_pipeline, watch_rows

MARGIN = timedelta(hours=1)  # the clocks that write updatedAt may be this far from ours
SETTLE_DAYS = 7  # without updatedAt: the last days read again every time
GAP = 7  # dirty days this close are read in one pass
MAX_PASSES = 8  # more runs than this: one pass over their span
YEAR = 366  # the longest span one pass reads
# The store's pass: every metric, and the distinct users of each tenant, agent and day; or
# (for a reading without users, such as the explorer's first load) the metrics only.
STORE_READING = Reading(details=True, users=Users("day", ((True, True),), totals=False))
STORE_METRICS = Reading(details=True)


@dataclass(frozen=True)
class Read:
    """What a warm cube read: days from the local store, days from the database."""

    days_cached: int
    days_read: int
    note: str = ""  # what the reader should know (no updatedAt, a store that cannot be written)

    def describe(self) -> str:
        said = (
            f"{self.days_cached:,} day{'s' * (self.days_cached != 1)} from the local store, "
            f"{self.days_read:,} read from the database"
        )
        return f"{said}; {self.note}" if self.note else said

    def to_json(self) -> dict[str, Any]:
        return {"days_cached": self.days_cached, "days_read": self.days_read} | (
            {"note": self.note} if self.note else {}
        )


def store_key(source_key: str, config: Config, timezone: str, forks: Mapping[str, str]) -> dict:
    """What a stored day was read under: any change is another key, never a wrong answer."""
    return {
        "data": source_key,
        "collection": "requests",
        "profile": asdict(config.profile),
        "rule": asdict(config.rule),
        "exclusions": [e.__dict__ for e in config.exclusions],
        "timezone": timezone,
        "forks": sorted(forks.items()),
    }


def _days(rng: DateRange) -> list[date]:
    return [rng.start + timedelta(days=i) for i in range(rng.days)]


def _spans(days: Sequence[date], timezone: str, cap: bool = True) -> list[DateRange]:
    """Sorted days as ranges to read: nearby days together, each at most a year; with `cap`,
    at most MAX_PASSES ranges (one over their span)."""
    spans: list[list[date]] = []
    for day in days:
        if spans and (day - spans[-1][1]).days <= GAP and (day - spans[-1][0]).days < YEAR:
            spans[-1][1] = day
        else:
            spans.append([day, day])
    if cap and len(spans) > MAX_PASSES and (spans[-1][1] - spans[0][0]).days < YEAR:
        spans = [[spans[0][0], spans[-1][1]]]
    return [DateRange(a, b, timezone) for a, b in spans]


def read_days(
    db: Database,
    span: DateRange,
    config: Config,
    forks: Mapping[str, str],
    counts: Mapping[date, int],
    read_at: datetime,
    with_users: bool = True,
) -> list[Day]:
    """Every day of `span` as the store keeps it, from one pass (`with_users`: and its end
    users, which cost the server a `$group` on every billable conversation's user)."""
    cube_rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    triples: list[tuple[str, str, date, str]] = []
    reading = STORE_READING if with_users else STORE_METRICS
    passed = pipeline(span, config, "day", reading=reading, forks=forks, sets=True)
    with translate_errors(db, what=f"the pass over {span.describe()}"):
        for row in aggregate(db, "store", passed, config, label=f"Reading {span.describe()}"):
            key = row.pop("_id")
            if key.get(KIND) == USERS_ROW:
                triples.append(
                    (
                        key[TENANT] or UNASSIGNED,
                        key[AGENT] or UNATTRIBUTED,
                        date.fromisoformat(key[BUCKET]),
                        key[USER],
                    )
                )
            else:
                cube_rows.append((key, row))
    frame = to_frame(cube_rows, span, config)
    users = pl.DataFrame(triples, schema=DAY_USERS, orient="row")
    updated = {date.fromisoformat(key[DAY]) for key, row in cube_rows if row.get(UPDATED)}
    return [
        Day(
            day,
            counts.get(day, 0),
            read_at,
            day in updated,
            with_users,
            frame.filter(pl.col("day") == day),
            users.filter(pl.col("day") == day),
        )
        for day in _days(span)
    ]


def _bucket(granularity: str) -> pl.Expr:
    """`buckets.bucket_key` of the day column."""
    day = pl.col("day")
    if granularity == "month":
        return day.dt.strftime("%Y-%m")
    if granularity == "week":
        return (day - pl.duration(days=day.dt.weekday() - 1)).dt.strftime("%Y-%m-%d")
    return day.dt.strftime("%Y-%m-%d")


def users_of(triples: pl.DataFrame, users: Users) -> pl.DataFrame:
    """Distinct users per bucket of `users.granularity`, for each of its levels (and over
    the whole range), as the pass counts them (`cube.USERS_SCHEMA`, ALL for what is not
    split)."""
    if triples.is_empty():
        return pl.DataFrame(schema=USERS_SCHEMA)
    keyed = triples.with_columns(_bucket(users.granularity).alias("bucket"))
    parts = []
    for by_org, by_agent in users.levels:
        for total in (False, True) if users.totals else (False,):
            cols = [c for c, on in (("org_id", by_org), ("agent_id", by_agent)) if on]
            cols += [] if total else ["bucket"]
            counted = (
                keyed.group_by(cols).agg(pl.col("user").n_unique().cast(pl.Int64).alias("users"))
                if cols
                else keyed.select(pl.col("user").n_unique().cast(pl.Int64).alias("users"))
            )
            parts.append(
                counted.with_columns(
                    *(
                        pl.lit(ALL).alias(c)
                        for c in ("org_id", "agent_id", "bucket")
                        if c not in cols
                    )
                ).select(list(USERS_SCHEMA))
            )
    return pl.concat(parts).sort("org_id", "agent_id", "bucket")


def _cut(
    frame: pl.DataFrame, rng: DateRange, grain: Grain, reading: Reading, config: Config
) -> pl.DataFrame:
    """The stored days' rows as the cube of `grain` that `reading` would have read."""
    if grain == "month":
        first = pl.col("day").dt.truncate("1mo")
        frame = frame.with_columns(
            pl.when(first < rng.start).then(pl.lit(rng.start)).otherwise(first).alias("day")
        )
    if not reading.details:  # what the pass returns without the metrics (`query.to_frame`)
        has_depth = config.profile.has_depth
        frame = frame.with_columns(
            pl.lit(0.0).alias("depth_sum"),
            (pl.col("billable") if has_depth else pl.lit(0, pl.Int64)).alias("depth_n"),
            pl.lit(0, pl.Int64).alias("handoffs"),
        )
    return frame.group_by("org_id", "agent_id", "day").agg(
        pl.col("billable", "test_mode", "excluded", "depth_sum", "depth_n", "handoffs").sum()
    )


def _write(store: DayStore, days: Iterable[Day]) -> str:
    """Keep the days read; a store that cannot be written costs the next run time, not this
    one its answer."""
    try:
        store.put(days)
    except OSError as exc:
        return f"the local store could not be written ({exc.strerror or exc}): {store.root}"
    return ""


@dataclass
class _Plan:
    """The days of a range to read from the database, and what the store knows of the rest."""

    days: list[date]
    known: dict[date, Stored]
    counts: dict[date, int]
    dirty: set[date]
    notes: list[str]


def _plan(
    db: Database,
    store: DayStore,
    rng: DateRange,
    config: Config,
    read_at: datetime,
    fresh: DateRange | None,
    with_users: bool = False,
) -> _Plan:
    """Which days of `rng` changed since the store read them (module docstring)."""
    sweep(store.folder)
    days = _days(rng)
    known = store.known(days)
    counts = day_counts(db, rng, config)
    dirty = {d for d in days if d not in known or known[d].count != counts.get(d, 0)}
    if with_users:  # days kept without their end users are read again
        dirty |= {d for d in days if d in known and not known[d].users}
    if fresh is not None:
        dirty |= {d for d in _days(fresh) if rng.start <= d <= rng.end}
    notes = []
    checked = [d for d in days if d in known and d not in dirty]
    if checked:  # edits since each day was read (a late close of a day with nothing billable)
        since = min(known[d].read_at for d in checked) - MARGIN
        edits = edited_days(db, DateRange(checked[0], checked[-1], rng.timezone), config, since)
        dirty |= {
            d
            for d, latest in edits.items()
            if d in known
            and (not isinstance(latest, datetime) or latest >= known[d].read_at - MARGIN)
        }
        if not any(known[d].updated for d in checked):  # no sign that updatedAt is written
            today = read_at.astimezone(ZoneInfo(rng.timezone)).date()  # the clock's, not as-of
            dirty |= {d for d in checked if (today - d).days < SETTLE_DAYS}
            notes.append(
                f"no conversation read carries updatedAt, so the last {SETTLE_DAYS} days were "
                "read again (usage-report cache verify finds older edits)"
            )
    return _Plan(days, known, counts, dirty, notes)


def cube(
    db: Database,
    root: Path,
    source_key: str,
    rng: DateRange,
    config: Config,
    grain: Grain = "day",
    reading: Reading = COUNT_ONLY,
    fresh: DateRange | None = None,
    org: str | None = None,
    agent: str | None = None,
) -> Cube:
    """The cube `query.query_cube(db, rng, config, grain, org, reading, agent)` makes, from
    the store's days and the days that changed (and every day of `fresh`, read again). The
    store holds every tenant: one tenant's or one agent's cube is cut from its days."""
    if reading.users is not None and grain == "month" and reading.users.granularity != "month":
        raise ValueError("a month-grain pass counts users per month only")
    read_at = datetime.now(UTC).replace(microsecond=0)
    stamp = read_at.replace(tzinfo=None)
    forks = fork_roots(db, config)
    store = DayStore(root, store_key(source_key, config, rng.timezone, forks))
    plan = _plan(db, store, rng, config, read_at, fresh, reading.users is not None)
    known, dirty = plan.known, plan.dirty
    # read users when asked, or when a day read again had them (a day is never kept with less)
    with_users = reading.users is not None or any(known[d].users for d in dirty if d in known)
    read: list[Day] = []
    for span in _spans(sorted(dirty), rng.timezone):
        read += read_days(db, span, config, forks, plan.counts, stamp, with_users)
    notes = [*plan.notes, _write(store, read) if read else ""]
    fresh_days = {d.day for d in read}
    kept = [d for d in plan.days if d not in fresh_days]
    frame, triples = store.load(kept)
    mine = [d for d in read if rng.start <= d.day <= rng.end]
    frame = pl.concat([frame, *(d.cube for d in mine)]).cast(SCHEMA)  # type: ignore[arg-type]
    triples = pl.concat([triples, *(d.users for d in mine)])
    for column, value in (("org_id", org), ("agent_id", agent)):
        if value is not None:  # ids as the pass normalizes them (`rule.lower`)
            value = value if value in (UNASSIGNED, UNATTRIBUTED) else lower(value)
            frame = frame.filter(pl.col(column) == value)
            triples = triples.filter(pl.col(column) == value)
    users = None if reading.users is None else users_of(triples, reading.users)
    frame = _cut(frame, rng, grain, reading, config)
    made = named_cube(db, frame, users, rng, config, grain, reading, stamp)
    return replace(made, read=Read(len(kept), len(mine), "; ".join(n for n in notes if n)))


# -- the daily watch's days: what started, per tenant and agent ----------------------------------


def watch_store(
    root: Path, source_key: str, config: Config, timezone: str, forks: Mapping[str, str]
) -> DayStore:
    """The watch's days: a key of their own beside the cube's."""
    key = {**store_key(source_key, config, timezone, forks), "pass": "watch"}
    return DayStore(root, key, WATCH_SCHEMA)


def read_watch_days(
    db: Database,
    span: DateRange,
    config: Config,
    forks: Mapping[str, str],
    counts: Mapping[date, int],
    read_at: datetime,
) -> list[Day]:
    """Every day of `span` as the watch's store keeps it, from one pass."""
    passed = watch_pipeline(span, config, dict(forks), sets=True)
    rows = []
    with translate_errors(db, what=f"the watch's pass over {span.describe()}"):
        label = f"Reading what started, {span.describe()}"
        for row in aggregate(db, "watched", passed, config, label=label):
            rows.append(row)
    frame = watch_rows(rows, config)
    updated = {date.fromisoformat(r["_id"][DAY]) for r in rows if r.get(UPDATED)}
    no_users = pl.DataFrame(schema=DAY_USERS)
    return [
        Day(
            day,
            counts.get(day, 0),
            read_at,
            day in updated,
            False,
            frame.filter(pl.col("day") == day),
            no_users,
        )
        for day in _days(span)
    ]


def watched(
    db: Database,
    root: Path,
    source_key: str,
    rng: DateRange,
    config: Config,
    fresh: DateRange | None = None,
) -> tuple[pl.DataFrame, Read]:
    """What `watch.query_watch(db, rng, config)` returns, from the store's days and the days
    that changed (and every day of `fresh`, read again), and what was read."""
    read_at = datetime.now(UTC).replace(microsecond=0)
    stamp = read_at.replace(tzinfo=None)
    forks = fork_roots(db, config)
    store = watch_store(root, source_key, config, rng.timezone, forks)
    plan = _plan(db, store, rng, config, read_at, fresh)
    read: list[Day] = []
    for span in _spans(sorted(plan.dirty), rng.timezone):
        read += read_watch_days(db, span, config, forks, plan.counts, stamp)
    notes = [*plan.notes, _write(store, read) if read else ""]
    fresh_days = {d.day for d in read}
    kept = [d for d in plan.days if d not in fresh_days]
    frame, _ = store.load(kept)
    mine = [d.cube for d in read if rng.start <= d.day <= rng.end]
    frame = pl.concat([frame, *mine]).cast(WATCH_SCHEMA)  # type: ignore[arg-type]
    said = Read(len(kept), len(mine), "; ".join(n for n in notes if n))
    return named(db, frame, config), said


@dataclass(frozen=True)
class Differs:
    day: date
    what: str  # "count 120 stored, 118 now", "rows", "users"


def verify(
    db: Database,
    root: Path,
    source_key: str,
    config: Config,
    start: date | None = None,
    end: date | None = None,
) -> tuple[int, list[Differs]]:
    """Recount every stored day (from `start`, to `end`) of this source and config, the
    cube's and the daily watch's, from the database and compare: (days checked, the days
    that differ, each replaced by what was read)."""
    forks = fork_roots(db, config)
    tz = config.timezone

    def cube_days(part: DateRange, counts: dict[date, int], at: datetime, users: bool) -> list[Day]:
        return read_days(db, part, config, forks, counts, at, users)

    def watch_days(part: DateRange, counts: dict[date, int], at: datetime, _: bool) -> list[Day]:
        return read_watch_days(db, part, config, forks, counts, at)

    stores = (
        (DayStore(root, store_key(source_key, config, tz, forks)), cube_days, ""),
        (watch_store(root, source_key, config, tz, forks), watch_days, "the watch's "),
    )
    checked, differs = 0, list[Differs]()
    for store, read, of in stores:
        n, found = _verify(db, store, config, start, end, read, of)
        checked, differs = checked + n, differs + found
    return checked, sorted(differs, key=lambda d: d.day)


def _verify(
    db: Database,
    store: DayStore,
    config: Config,
    start: date | None,
    end: date | None,
    read: Callable[[DateRange, dict[date, int], datetime, bool], list[Day]],
    of: str,
) -> tuple[int, list[Differs]]:
    stored = [d for d in store.stored() if (start or d) <= d <= (end or d)]
    known = store.known(stored)
    stamp = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    differs: list[Differs] = []
    for part in _spans(sorted(known), config.timezone, cap=False):
        counts = day_counts(db, part, config)
        replaced = []
        with_users = any(known[d].users for d in _days(part) if d in known)
        for day in read(part, counts, stamp, with_users):
            if day.day not in known:
                continue
            stored_rows, stored_users = store.load([day.day])
            what = []
            if known[day.day].count != day.count:
                what.append(f"count {known[day.day].count:,} stored, {day.count:,} now")
            if not _same(stored_rows, day.cube, ["org_id", "agent_id"]):
                what.append(f"{of}conversations")
            users = known[day.day].users  # kept with its end users: they are compared too
            if users and not _same(stored_users, day.users, ["org_id", "agent_id", "user"]):
                what.append("end users")
            if what:
                differs.append(Differs(day.day, ", ".join(what)))
                replaced.append(day)
        store.put(replaced)
    return len(known), differs


def _same(a: pl.DataFrame, b: pl.DataFrame, by: list[str]) -> bool:
    return a.sort(by).equals(b.select(a.columns).sort(by)) if a.height == b.height else False
