"""The one pass over `requests`: a daily cube of organization x agent x day.

Everything the reports show is a polars step over this cube; MongoDB does the
filtering and grouping, so only a few thousand grouped rows cross the wire.
With the metrics (see `metrics`), the same pass also sums depths and hand-offs and
counts distinct users for the buckets a table needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl
from bson import ObjectId
from pymongo.database import Database

from .config import Config, Exclusion
from .db import LOOKUP_TIMEOUT_MS, QUERY_TIMEOUT_MS, translate_errors
from .metrics import ALL, COUNT_ONLY, Reading, users_stages
from .periods import DateRange

Grain = Literal["day", "month"]
UNASSIGNED = "unassigned"  # the organization row of requests with no organization
UNATTRIBUTED = "unattributed"  # the agent row of human-only conversations
UNASSIGNED_NAME = "No organization"
UNATTRIBUTED_NAME = "Unattributed"

SCHEMA = {
    "org_id": pl.String,
    "agent_id": pl.String,
    "day": pl.Date,
    "billable": pl.Int64,  # conversations the billing rule counts
    "test_mode": pl.Int64,  # closed, deep enough, but test mode: left out of billing
    "excluded": pl.Int64,  # would be billable, but the organization is on the exclusion list
    "depth_sum": pl.Int64,  # of the billable conversations (read with the metrics)
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
        )


def org_key(value: Any) -> str | None:
    """Organization id as lower-case 24-hex whether stored as ObjectId or string; None if none."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str) and value:
        return value.lower()
    return None


def agent_key(started_by: Any) -> str | None:
    """The grouped `a` (see `pipeline`): attributes.bot_id when it is a non-empty string, else
    participantsBots (emptied on hand-off), whose first entry is the agent; else None."""
    if isinstance(started_by, str):
        return started_by
    if isinstance(started_by, list) and started_by and started_by[0] is not None:
        return str(started_by[0])
    return None


def agent_of(doc: Mapping[str, Any]) -> str | None:
    """The agent of one stored conversation: the rule the pass settles on grouped rows."""
    bot = (doc.get("attributes") or {}).get("bot_id")
    return agent_key(bot if isinstance(bot, str) and bot else doc.get("participantsBots"))


def is_test(doc: Mapping[str, Any]) -> bool:
    """Test mode: only a boolean true counts (a missing flag is not a test)."""
    return doc.get("isTestMode") is True


def org_forms(org_id: str) -> list[Any]:
    """The ways an organization id is stored: ObjectId, or the 24-hex string in either case;
    for UNASSIGNED, missing, null or empty."""
    if org_id == UNASSIGNED:
        return [None, ""]
    return [ObjectId(org_id), org_id.lower(), org_id.upper()]


def match_stage(rng: DateRange, config: Config, org: str | None = None) -> dict[str, Any]:
    """The `$match` the pass uses: range, statuses and depth (index-friendly fields only),
    and one organization when `org` is given.

    Test mode and exclusions are not filtered here but counted apart in the
    `$group`, so the data checks come from the same single pass.
    """
    start, end = rng.utc_bounds()
    match: dict[str, Any] = {
        "createdAt": {"$gte": start, "$lt": end},
        "status": {"$in": list(config.rule.statuses)},
    }
    if config.rule.min_depth > 0:
        match["depth"] = {"$gte": config.rule.min_depth}
    if org is not None:
        match["id_organization"] = {"$in": org_forms(org)}
    return match


def pipeline(
    rng: DateRange,
    config: Config,
    grain: Grain = "day",
    org: str | None = None,
    reading: Reading = COUNT_ONLY,
) -> list[dict[str, Any]]:
    """`$match`, then one `$group` on the organization field as stored, the agent, the local day.

    Per document the server only reads fields, truncates a date and makes two
    comparisons, the least work that keeps the grouped rows few: on SecantusDB
    each operator costs per document. `a` is attributes.bot_id when it sorts
    after "" (a non-empty string), else participantsBots. Id forms, attribution,
    exclusions and billable counts are settled on the grouped rows in `_to_frame`.

    With details, the test flag joins the key (`x`) and the group also sums depths and
    hand-offs (a non-empty `participantsAgents` sorts after []); with users it keeps
    each row's set of requesters, which a `$facet` turns into distinct counts.
    """
    bot_id = "$attributes.bot_id"
    key: dict[str, Any] = {
        "o": "$id_organization",
        "a": {"$cond": [{"$gt": [bot_id, ""]}, bot_id, "$participantsBots"]},
        "d": {"$dateTrunc": {"date": "$createdAt", "unit": grain, "timezone": rng.timezone}},
    }
    group: dict[str, Any] = {"_id": key, "n": {"$sum": 1}}
    if not reading.details:
        group["t"] = {"$sum": {"$cond": [{"$eq": ["$isTestMode", True]}, 1, 0]}}
    else:
        key["x"] = {"$eq": ["$isTestMode", True]}
        group["ds"] = {"$sum": "$depth"}
        if config.rule.min_depth == 0:  # else every matched conversation has a depth
            group["dn"] = {"$sum": {"$cond": [{"$isNumber": "$depth"}, 1, 0]}}
        group["h"] = {"$sum": {"$cond": [{"$gt": ["$participantsAgents", []]}, 1, 0]}}
    stages: list[dict[str, Any]] = [{"$match": match_stage(rng, config, org)}, {"$group": group}]
    if reading.users is not None:
        group["U"] = {"$push": "$requester"}  # deduplicated in the $facet
        users = users_stages(
            reading.users, rng.timezone, config.excluded_ids, config.rule.exclude_test_mode
        )
        stages.append({"$facet": {"cube": [{"$project": {"U": 0}}], "users": users}})
    return stages


def _to_frame(rows: list[dict[str, Any]], rng: DateRange, config: Config) -> pl.DataFrame:
    """Grouped rows -> the cube: normalized ids, local days (a month's first day in the range),
    billable / test mode / excluded, and the metrics' sums when they were read."""
    zone = ZoneInfo(rng.timezone)
    excluded = set(config.excluded_ids)
    records = []
    for row in rows:
        key = row["_id"]
        org = org_key(key.get("o"))
        agent = agent_key(key.get("a")) or UNATTRIBUTED
        n = int(row["n"])
        if "x" in key:  # read with the details: test conversations are rows of their own
            test = n if key["x"] and config.rule.exclude_test_mode else 0
        else:
            test = int(row["t"]) if config.rule.exclude_test_mode else 0
        counted = n - test
        billable = 0 if org in excluded else counted
        depth_n = int(row.get("dn", n)) if billable else 0
        handoffs = int(row.get("h", 0)) if billable and agent != UNATTRIBUTED else 0
        records.append(
            (
                org or UNASSIGNED,
                agent,
                max(key["d"].replace(tzinfo=UTC).astimezone(zone).date(), rng.start),
                billable,
                test,
                counted if org in excluded else 0,
                int(row.get("ds", 0)) if billable else 0,
                depth_n,
                handoffs,
            )
        )
    frame = pl.DataFrame(records, schema=SCHEMA, orient="row")
    return frame.group_by("org_id", "agent_id", "day").agg(
        pl.col("billable", "test_mode", "excluded", "depth_sum", "depth_n", "handoffs").sum()
    )


def _users_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The `$facet`'s counts -> org_id, agent_id, bucket, users (ALL marks a whole dimension)."""
    records = []
    for row in rows:
        k = row["_id"]
        org = k.get("o")
        records.append(
            (
                org if org == ALL else org_key(org) or UNASSIGNED,
                k.get("a") if k.get("a") == ALL else agent_key(k.get("a")) or UNATTRIBUTED,
                k["b"],
                int(row["users"]),
            )
        )
    return pl.DataFrame(records, schema=USERS_SCHEMA, orient="row").sort(
        "org_id", "agent_id", "bucket"
    )


def _object_ids(ids: list[str]) -> list[ObjectId]:
    return [ObjectId(i) for i in ids if ObjectId.is_valid(i)]


def lookup_names(db: Database, frame: pl.DataFrame) -> pl.DataFrame:
    """Add org_name, agent_name and agent_exists: one batched query per collection.

    Requests hold bot ids as strings while `faq_kbs._id` is an ObjectId; a bot
    that was deleted keeps its id as its name and is flagged.
    """
    org_ids = sorted(set(frame["org_id"].to_list()) - {UNASSIGNED})
    agent_ids = sorted(set(frame["agent_id"].to_list()) - {UNATTRIBUTED})
    with translate_errors(db):
        orgs = {
            str(doc["_id"]).lower(): doc.get("name")
            for doc in db.organizations.find(
                {"_id": {"$in": _object_ids(org_ids) + org_ids}}, {"name": 1}
            ).max_time_ms(LOOKUP_TIMEOUT_MS)
        }
        bots = {
            str(doc["_id"]).lower(): doc
            for doc in db.faq_kbs.find(
                {"_id": {"$in": _object_ids(agent_ids) + agent_ids}}, {"name": 1, "trashed": 1}
            ).max_time_ms(LOOKUP_TIMEOUT_MS)
        }
    org_names = {i: str(orgs.get(i) or i) for i in org_ids} | {UNASSIGNED: UNASSIGNED_NAME}
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
) -> Cube:
    """One aggregation over `requests` for the range (of one organization when `org` is
    given), plus one name look-up per collection. `reading` says which metrics to read
    besides the count (`metrics.Reading.of`)."""
    if reading.users is not None and grain == "month" and reading.users.granularity != "month":
        raise ValueError("a month-grain pass counts users per month only")
    read_at = datetime.now(UTC).replace(microsecond=0)
    with translate_errors(db):
        rows = list(
            db.requests.aggregate(
                pipeline(rng, config, grain, org, reading),
                maxTimeMS=QUERY_TIMEOUT_MS,
                allowDiskUse=True,
            )
        )
    users = None
    if reading.users is not None:  # one document: the grouped rows and the users' counts
        rows, users = rows[0]["cube"], _users_frame(rows[0]["users"])
    frame = lookup_names(db, _to_frame(rows, rng, config)).sort(["org_id", "agent_id", "day"])
    return Cube(
        frame,
        rng,
        config.rule.describe(),
        config.exclusions,
        read_at,
        grain,
        metrics=reading.metrics,
        users=users,
        users_granularity=None if reading.users is None else reading.users.granularity,
    )
