"""The one pass over `requests`: a daily cube of organization x agent x day.

Everything the reports show is a polars step over this cube; MongoDB does the
filtering and grouping, so only a few thousand grouped rows cross the wire.
With the metrics (see `metrics`), the same pass also sums depths and hand-offs and
counts distinct users for the buckets a table needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl
from bson import ObjectId
from pymongo.database import Database

from . import rule
from .config import Config, Exclusion
from .db import LOOKUP_TIMEOUT_MS, translate_errors
from .metrics import ALL, COUNT_ONLY, Reading
from .periods import DateRange, Granularity, bucket_key
from .profiles import PROFILES, Profile

CUSTOM = PROFILES["custom"]

Grain = Literal["day", "month"]
UNASSIGNED = "unassigned"  # the organization row of requests with no organization
UNATTRIBUTED = "unattributed"  # the agent row of human-only conversations
UNASSIGNED_NAME = "No organization"  # under another profile: "No <tenant>"
UNATTRIBUTED_NAME = "Unattributed"

SCHEMA = {
    "org_id": pl.String,
    "agent_id": pl.String,
    "day": pl.Date,
    "billable": pl.Int64,  # conversations the billing rule counts
    "test_mode": pl.Int64,  # closed, deep enough, but test mode: left out of billing
    "excluded": pl.Int64,  # would be billable, but the organization is on the exclusion list
    "depth_sum": pl.Float64,  # of the billable conversations (read with the metrics)
    "depth_n": pl.Int64,  # billable conversations with a depth
    "handoffs": pl.Int64,  # billable, attributed to an agent, a human agent took part
}
USERS_SCHEMA = {"org_id": pl.String, "agent_id": pl.String, "bucket": pl.String, "users": pl.Int64}
NAMES = {"org_name": pl.String, "agent_name": pl.String, "agent_exists": pl.Boolean}


@dataclass(frozen=True)
class Cube:
    """The cube for one range, with what it counted and when it was read.

    `grain` "day": a row per organization, agent and local day (any table can be cut
    from it). "month": a row per month, dated its first day in the range (the
    monthly report's pass; fewer groups for the server to keep).
    """

    frame: pl.DataFrame  # SCHEMA + NAMES columns
    range: DateRange
    rule: str  # the billing rule in words
    exclusions: tuple[Exclusion, ...]
    read_at: datetime  # when the data was read (UTC)
    grain: Grain = "day"
    metrics: tuple[str, ...] = ("conversations",)  # what the pass read
    users: pl.DataFrame | None = None  # USERS_SCHEMA; ALL ("*") for every org, agent or bucket
    users_granularity: str | None = None  # the buckets `users` was counted for
    users_levels: tuple[tuple[bool, bool], ...] = ()  # (by tenant, by agent) levels counted
    users_totals: bool = True  # and over the whole range (bucket ALL)
    tenant: str = "organization"  # what a row of the platform table is (the profile's word)
    test_word: str | None = "test mode"  # what the rule leaves out as tests; None: it counts them
    has_depth: bool = True  # False: the profile stores no depth, so depth_avg is unavailable

    @property
    def Tenant(self) -> str:  # noqa: N802 - the word with a capital, for headings
        return self.tenant[:1].upper() + self.tenant[1:]

    @property
    def tenants(self) -> str:
        return self.tenant + "s"

    @property
    def Tenants(self) -> str:  # noqa: N802
        return self.Tenant + "s"

    def save(self, path: str | Path) -> Path:
        """Write the cube as Parquet plus a JSON sidecar (`<path>.json`)."""
        path = Path(path)
        self.frame.write_parquet(path)
        meta = {
            "start": self.range.start.isoformat(),
            "end": self.range.end.isoformat(),
            "timezone": self.range.timezone,
            "rule": self.rule,
            "exclusions": [e.__dict__ for e in self.exclusions],
            "read_at": self.read_at.isoformat(),
            "grain": self.grain,
            "metrics": list(self.metrics),
            "users": None if self.users is None else self.users.to_dicts(),
            "users_granularity": self.users_granularity,
            "users_levels": [list(level) for level in self.users_levels],
            "users_totals": self.users_totals,
            "tenant": self.tenant,
            "test_word": self.test_word,
            "has_depth": self.has_depth,
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

    def within(self, rng: DateRange) -> Cube:
        """The days of `rng` as a cube of their own: a polars filter, no database call.

        `rng` must lie inside this daily cube's range and zone. Distinct users, counted for
        this cube's buckets, cannot be cut down, so the slice has none."""
        if self.grain != "day" or rng.timezone != self.range.timezone:
            raise ValueError(f"a {rng.timezone} range cannot be cut from this cube")
        if rng.start < self.range.start or rng.end > self.range.end:
            raise ValueError(f"{rng.describe()} is not inside {self.range.describe()}")
        return replace(
            self,
            frame=self.frame.filter(pl.col("day").is_between(rng.start, rng.end)),
            range=rng,
            metrics=tuple(m for m in self.metrics if m != "users"),
            users=None,
            users_granularity=None,
            users_levels=(),
        )

    @classmethod
    def load(cls, path: str | Path) -> Cube:
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        return cls(
            frame=pl.read_parquet(path),
            range=DateRange(
                datetime.fromisoformat(meta["start"]).date(),
                datetime.fromisoformat(meta["end"]).date(),
                meta["timezone"],
            ),
            rule=meta["rule"],
            exclusions=tuple(Exclusion(**e) for e in meta["exclusions"]),
            read_at=datetime.fromisoformat(meta["read_at"]),
            grain=meta.get("grain", "day"),
            metrics=tuple(meta.get("metrics", ["conversations"])),
            users=None
            if meta.get("users") is None
            else pl.DataFrame(meta["users"], schema=USERS_SCHEMA, orient="row"),
            users_granularity=meta.get("users_granularity"),
            users_levels=tuple((bool(a), bool(b)) for a, b in meta.get("users_levels", [])),
            users_totals=meta.get("users_totals", True),
            tenant=meta.get("tenant", "organization"),
            test_word=meta.get("test_word", "test mode"),
            has_depth=meta.get("has_depth", True),
        )


def org_key(value: Any) -> str | None:
    """A stored tenant id as the cube names it (`rule.tenant_of`); None if there is none."""
    return rule.tenant_of(value) or None


def _tenant(org: str) -> str:
    return rule.NONE if org == UNASSIGNED else org.lower()


def pipeline(
    rng: DateRange,
    config: Config,
    grain: Grain = "day",
    org: str | None = None,
    reading: Reading = COUNT_ONLY,
    forks: Mapping[str, str] | None = None,
    agent: str | None = None,
) -> list[dict[str, Any]]:
    """The pass, bounded whatever the data's size: every stage is a `$match`, a `$group`
    (which MongoDB spills to disk and splits across shards), a `$project` or an `$unwind`
    of a fixed handful of keys; no `$facet`, `$push` or array that grows with the data, and
    every document it returns is one small row.

    1. `$match` the rule's conversations (of one tenant, or one agent, when asked).
    2. `$group` on the stored forms: tenant, agent evidence, the local day (or month), the
       test flag (and the requester, when users are read). Per conversation the server reads
       fields and truncates a date: the least work, since SecantusDB pays per operator.
    3. `$project` the grouped rows to normalized ids (`rule`), forks to their root bot.
    4. `$group` again on the normalized key: a cube row each. With users, each row first
       fans out into its cube key and, when it is billable, one key per users level and
       bucket (and the whole range) carrying the user; the `$group` on (key, user) leaves
       each distinct user once, and a last `$group` counts them per key.
    """
    profile = config.profile
    forks = forks or {}
    key: dict[str, Any] = {
        "o": f"${profile.tenant_field}",
        "a": rule.agent_evidence(profile),
        "d": {"$dateTrunc": {"date": "$createdAt", "unit": grain, "timezone": rng.timezone}},
        "x": rule.is_test_expr(profile),
    }
    sums: dict[str, Any] = {"n": {"$sum": 1}}
    if reading.details:
        if profile.has_depth:
            sums["ds"] = {"$sum": f"${profile.depth_field}"}
            if config.rule.min_depth == 0:  # else every matched conversation has a depth
                sums["dn"] = {"$sum": {"$cond": [rule.depth_known_expr(profile), 1, 0]}}
        sums["h"] = {"$sum": {"$cond": [rule.handoff_expr(), 1, 0]}}
    users = reading.users
    if users is not None:
        key["u"] = "$requester"
    scope = None
    if agent is not None:
        scope = rule.Agent(rule.NONE if agent == UNATTRIBUTED else agent.lower(), forks)
    tenant = None if org is None else _tenant(org)
    normalized: dict[str, Any] = {
        "_id": 0,
        "o": rule.tenant_expr("$_id.o"),
        "a": rule.agent_expr("$_id.a", profile, forks),
        "d": "$_id.d",
        "x": "$_id.x",
        **{name: 1 for name in sums},
    }
    if users is not None:
        normalized["u"] = rule.user_expr("$_id.u")
    stages: list[dict[str, Any]] = [
        {"$match": rule.match(rng, config, tenant, scope)},
        {"$group": {"_id": key, **sums}},
        {"$project": normalized},
    ]
    kept = {**({"o": tenant} if tenant is not None else {}), **({"a": scope.id} if scope else {})}
    if kept:  # the $match is a superset of the stored forms; the normalized ids are exact
        stages.append({"$match": kept})
    totals = {name: {"$sum": f"${name}"} for name in sums}
    cube_key = {"o": "$o", "a": "$a", "d": "$d", "x": "$x"}
    if users is None:
        return [*stages, {"$group": {"_id": cube_key, **totals}}]
    if users.granularity == grain:
        bucket: Any = "$d"
    else:
        bucket = {
            "$dateTrunc": {
                "date": "$d",
                "unit": users.granularity,
                "timezone": rng.timezone,
                "startOfWeek": "monday",
            }
        }
    user_keys = [
        {
            "t": "u",
            "o": "$o" if by_org else None,
            "a": "$a" if by_agent else None,
            "b": b,
            "u": "$u",
        }
        for by_org, by_agent in users.levels
        for b in ((bucket, None) if users.totals else (bucket,))
    ]
    billable = [{"$ne": ["$u", rule.NONE]}, {"$not": [{"$in": ["$o", list(config.excluded_ids)]}]}]
    if config.rule.exclude_test_mode:
        billable.append({"$eq": ["$x", False]})
    fan_out = {
        "$concatArrays": [[{"t": "c", **cube_key}], {"$cond": [{"$and": billable}, user_keys, []]}]
    }
    return [
        *stages,
        {"$project": {"k": fan_out, **{name: 1 for name in sums}}},
        {"$unwind": "$k"},
        {"$group": {"_id": "$k", **totals}},
        {
            "$group": {
                "_id": {part: f"$_id.{part}" for part in ("t", "o", "a", "d", "x", "b")},
                **totals,
                "users": {"$sum": 1},
            }
        },
    ]


def _to_frame(
    rows: list[tuple[dict[str, Any], dict[str, Any]]], rng: DateRange, config: Config
) -> pl.DataFrame:
    """Grouped rows -> the cube: local days (a month's first day in the range), billable /
    test / excluded, and the metrics' sums when they were read."""
    zone = ZoneInfo(rng.timezone)
    excluded = set(config.excluded_ids)
    has_depth = config.profile.has_depth
    records = []
    for key, row in rows:
        org = key["o"] or UNASSIGNED
        agent = key["a"] or UNATTRIBUTED
        n = int(row["n"])
        test = n if key["x"] and config.rule.exclude_test_mode else 0
        counted = n - test
        billable = 0 if org in excluded else counted
        depth_n = int(row.get("dn", n)) if billable and has_depth else 0
        depth_sum = (rule.number(row.get("ds")) or 0.0) if billable and has_depth else 0.0
        handoffs = int(row.get("h", 0)) if billable and agent != UNATTRIBUTED else 0
        records.append(
            (
                org,
                agent,
                max(_local(key["d"], zone), rng.start),
                billable,
                test,
                counted if org in excluded else 0,
                depth_sum,
                depth_n,
                handoffs,
            )
        )
    frame = pl.DataFrame(records, schema=SCHEMA, orient="row")
    return frame.group_by("org_id", "agent_id", "day").agg(
        pl.col("billable", "test_mode", "excluded", "depth_sum", "depth_n", "handoffs").sum()
    )


def _local(instant: datetime, zone: ZoneInfo) -> date:
    return instant.replace(tzinfo=UTC).astimezone(zone).date()


def fork_roots(db: Database, config: Config) -> dict[str, str]:
    """Published forks (faq_kbs with a root_id) -> the bot they were published from; one
    small query, only where the profile reports forks under their root."""
    if not config.profile.forks:
        return {}
    with translate_errors(db):
        found = db.faq_kbs.find({"root_id": {"$nin": [None, ""]}}, {"root_id": 1}).max_time_ms(
            LOOKUP_TIMEOUT_MS
        )
        roots = {str(d["_id"]).lower(): rule.id_of(d["root_id"]) for d in found}
    return {fork: root for fork, root in roots.items() if root}


def _users_frame(
    rows: list[dict[str, Any]], granularity: Granularity, zone: ZoneInfo
) -> pl.DataFrame:
    """The pass's users counts -> org_id, agent_id, bucket, users (ALL marks a dimension, or
    the whole range, counted together)."""
    records = []
    for key in rows:
        o, a, b = key["o"], key["a"], key["b"]
        records.append(
            (
                ALL if o is None else o or UNASSIGNED,
                ALL if a is None else a or UNATTRIBUTED,
                ALL if b is None else bucket_key(_local(b, zone), granularity),
                int(key["users"]),
            )
        )
    return pl.DataFrame(records, schema=USERS_SCHEMA, orient="row").sort(
        "org_id", "agent_id", "bucket"
    )


def _object_ids(ids: list[str]) -> list[ObjectId]:
    return [ObjectId(i) for i in ids if ObjectId.is_valid(i)]


NAMES_BY_ID = 500  # more ids than this: read the (small) collection whole, streamed


def _documents(
    collection: Any, ids: list[str], fields: dict[str, int]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(lower-case id, document) of the documents with these ids (stored as ObjectId or
    string): one `$in` for a few, the whole collection, streamed, for thousands (a `$in` of
    thousands is no cheaper, and on some servers far dearer)."""
    if not ids:
        return
    query = {"_id": {"$in": _object_ids(ids) + ids}} if len(ids) <= NAMES_BY_ID else {}
    for doc in collection.find(query, fields).max_time_ms(LOOKUP_TIMEOUT_MS).batch_size(5_000):
        yield str(doc["_id"]).lower(), doc


def lookup_names(db: Database, frame: pl.DataFrame, profile: Profile = CUSTOM) -> pl.DataFrame:
    """Add org_name, agent_name and agent_exists: one batched query per collection.

    Requests hold bot ids as strings while `faq_kbs._id` is an ObjectId; a bot
    that was deleted keeps its id as its name and is flagged.
    """
    org_ids = sorted(set(frame["org_id"].to_list()) - {UNASSIGNED})
    agent_ids = sorted(set(frame["agent_id"].to_list()) - {UNATTRIBUTED})
    with translate_errors(db, what="the look-up of names"):
        orgs = {
            key: doc.get("name")
            for key, doc in _documents(db[profile.tenant_names], org_ids, {"name": 1})
        }
        bots = dict(_documents(db.faq_kbs, agent_ids, {"name": 1, "trashed": 1}))
    org_names = {i: str(orgs.get(i) or i) for i in org_ids} | {UNASSIGNED: f"No {profile.tenant}"}
    agent_names = {i: str((bots.get(i.lower()) or {}).get("name") or i) for i in agent_ids}
    agent_names[UNATTRIBUTED] = UNATTRIBUTED_NAME
    exists = {i: i.lower() in bots and not bots[i.lower()].get("trashed") for i in agent_ids}
    exists[UNATTRIBUTED] = True
    return frame.with_columns(
        pl.col("org_id").replace_strict(org_names, return_dtype=pl.String).alias("org_name"),
        pl.col("agent_id").replace_strict(agent_names, return_dtype=pl.String).alias("agent_name"),
        pl.col("agent_id").replace_strict(exists, return_dtype=pl.Boolean).alias("agent_exists"),
    )


def query_cube(
    db: Database,
    rng: DateRange,
    config: Config,
    grain: Grain = "day",
    org: str | None = None,
    reading: Reading = COUNT_ONLY,
    agent: str | None = None,
) -> Cube:
    """One aggregation over `requests` for the range (of one tenant when `org` is given, of
    one agent when `agent` is), plus one name look-up per collection. `reading` says which
    metrics to read besides the count (`metrics.Reading.of`). Rows stream through the
    cursor, each a few hundred bytes at most."""
    if reading.users is not None and grain == "month" and reading.users.granularity != "month":
        raise ValueError("a month-grain pass counts users per month only")
    read_at = datetime.now(UTC).replace(microsecond=0)
    forks = fork_roots(db, config)
    cube_rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    user_rows: list[dict[str, Any]] = []
    with translate_errors(db, what=f"the pass over {rng.describe()}"):
        cursor = db.requests.aggregate(
            pipeline(rng, config, grain, org, reading, forks, agent),
            maxTimeMS=config.query_timeout_ms,
            allowDiskUse=True,
            batchSize=10_000,
        )
        for row in cursor:
            key = row.pop("_id")
            if key.get("t") == "u":
                user_rows.append({**key, "users": row["users"]})
            else:
                cube_rows.append((key, row))
    users = None
    if reading.users is not None:
        users = _users_frame(user_rows, reading.users.granularity, ZoneInfo(rng.timezone))  # type: ignore[arg-type]
    frame = _to_frame(cube_rows, rng, config)
    frame = lookup_names(db, frame, config.profile).sort(["org_id", "agent_id", "day"])
    return Cube(
        frame,
        rng,
        config.describe_rule(),
        config.exclusions,
        read_at,
        grain,
        metrics=reading.metrics,
        users=users,
        users_granularity=None if reading.users is None else reading.users.granularity,
        users_levels=() if reading.users is None else reading.users.levels,
        users_totals=reading.users is not None and reading.users.totals,
        tenant=config.profile.tenant,
        has_depth=config.profile.has_depth,
        test_word=config.test_word if config.rule.exclude_test_mode else None,
    )
