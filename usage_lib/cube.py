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
            tenant=meta.get("tenant", "organization"),
            test_word=meta.get("test_word", "test mode"),
            has_depth=meta.get("has_depth", True),
        )


def org_key(value: Any) -> str | None:
    """Organization id as lower-case 24-hex whether stored as ObjectId or string; None if none."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str) and value:
        return value.lower()
    return None


def agent_key(started_by: Any, prefix: str = "") -> str | None:
    """The grouped `a` (see `pipeline`): attributes.bot_id when it is a non-empty string, else
    participantsBots (emptied on hand-off), whose first entry is the agent; with a profile's
    bot prefix, `{"p": participants}`, whose first entry with the prefix is (without it)."""
    if isinstance(started_by, str):
        return started_by
    if isinstance(started_by, list) and started_by and started_by[0] is not None:
        return str(started_by[0])
    if isinstance(started_by, Mapping) and prefix:
        marked = [
            p for p in started_by.get("p") or [] if isinstance(p, str) and p.startswith(prefix)
        ]
        return marked[0][len(prefix) :] or None if marked else None
    return None


def agent_of(doc: Mapping[str, Any], profile: Profile = CUSTOM) -> str | None:
    """The agent of one stored conversation: the rule the pass settles on grouped rows
    (before a published fork is reported under its root)."""
    bot = (doc.get("attributes") or {}).get("bot_id")
    found = agent_key(bot if isinstance(bot, str) and bot else doc.get("participantsBots"))
    return found or agent_key({"p": doc.get("participants")}, profile.bot_prefix)


def is_test(doc: Mapping[str, Any], profile: Profile = CUSTOM) -> bool:
    """A test conversation: only a boolean true counts (a missing flag is not a test)."""
    return _field(doc, profile.test_field) is True


def _field(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def org_forms(org_id: str) -> list[Any]:
    """The ways an organization id is stored: ObjectId, or the 24-hex string in either case;
    for UNASSIGNED, missing, null or empty."""
    if org_id == UNASSIGNED:
        return [None, ""]
    return [ObjectId(org_id), org_id.lower(), org_id.upper()]


def match_stage(rng: DateRange, config: Config, org: str | None = None) -> dict[str, Any]:
    """The `$match` the pass uses: range, statuses, depth, preflight and channels, and one
    tenant (organization or project) when `org` is given.

    Test conversations and exclusions are not filtered here but counted apart in the
    `$group`, so the data checks come from the same single pass.
    """
    start, end = rng.utc_bounds()
    rule, profile = config.rule, config.profile
    match: dict[str, Any] = {"createdAt": {"$gte": start, "$lt": end}}
    if rule.statuses is not None:
        match["status"] = {"$in": list(rule.statuses)}
    if rule.min_depth > 0:
        match[profile.depth_field] = {"$gte": rule.min_depth}
    if rule.exclude_preflight:
        match["preflight"] = {"$ne": True}
    if rule.exclude_channels:
        match["channel.name"] = {"$nin": list(rule.exclude_channels)}
    if org is not None:
        match[profile.tenant_field] = {"$in": org_forms(org)}
    return match


def pipeline(
    rng: DateRange,
    config: Config,
    grain: Grain = "day",
    org: str | None = None,
    reading: Reading = COUNT_ONLY,
    forks: Mapping[str, str] | None = None,
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
    profile = config.profile
    bot_id = "$attributes.bot_id"
    bots: Any = "$participantsBots"
    if profile.bot_prefix:  # stock: when participantsBots is empty, the participants
        bots = {"$cond": [{"$gt": [bots, []]}, bots, {"p": "$participants"}]}
    test = {"$eq": [f"${profile.test_field}", True]}
    key: dict[str, Any] = {
        "o": f"${profile.tenant_field}",
        "a": {"$cond": [{"$gt": [bot_id, ""]}, bot_id, bots]},
        "d": {"$dateTrunc": {"date": "$createdAt", "unit": grain, "timezone": rng.timezone}},
    }
    group: dict[str, Any] = {"_id": key, "n": {"$sum": 1}}
    if not reading.details:
        group["t"] = {"$sum": {"$cond": [test, 1, 0]}}
    else:
        key["x"] = test
        if profile.has_depth:
            depth = f"${profile.depth_field}"
            group["ds"] = {"$sum": depth}
            if config.rule.min_depth == 0:  # else every matched conversation has a depth
                group["dn"] = {"$sum": {"$cond": [{"$isNumber": depth}, 1, 0]}}
        group["h"] = {"$sum": {"$cond": [{"$gt": ["$participantsAgents", []]}, 1, 0]}}
    stages: list[dict[str, Any]] = [{"$match": match_stage(rng, config, org)}, {"$group": group}]
    if reading.users is not None:
        group["U"] = {"$push": "$requester"}  # deduplicated in the $facet
        users = users_stages(
            reading.users,
            rng.timezone,
            config.excluded_ids,
            config.rule.exclude_test_mode,
            profile.bot_prefix,
            forks,
        )
        stages.append({"$facet": {"cube": [{"$project": {"U": 0}}], "users": users}})
    return stages


def _to_frame(
    rows: list[dict[str, Any]], rng: DateRange, config: Config, forks: Mapping[str, str]
) -> pl.DataFrame:
    """Grouped rows -> the cube: normalized ids, local days (a month's first day in the range),
    billable / test mode / excluded, and the metrics' sums when they were read. A published
    fork's conversations go to its root bot (`forks`)."""
    zone = ZoneInfo(rng.timezone)
    excluded = set(config.excluded_ids)
    prefix, has_depth = config.profile.bot_prefix, config.profile.has_depth
    records = []
    for row in rows:
        key = row["_id"]
        org = org_key(key.get("o"))
        agent = agent_key(key.get("a"), prefix) or UNATTRIBUTED
        agent = forks.get(agent, agent)
        n = int(row["n"])
        if "x" in key:  # read with the details: test conversations are rows of their own
            test = n if key["x"] and config.rule.exclude_test_mode else 0
        else:
            test = int(row["t"]) if config.rule.exclude_test_mode else 0
        counted = n - test
        billable = 0 if org in excluded else counted
        depth_n = int(row.get("dn", n)) if billable and has_depth else 0
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


def fork_roots(db: Database, config: Config) -> dict[str, str]:
    """Published forks (faq_kbs with a root_id) -> the bot they were published from; one
    small query, only where the profile reports forks under their root."""
    if not config.profile.forks:
        return {}
    with translate_errors(db):
        found = db.faq_kbs.find({"root_id": {"$nin": [None, ""]}}, {"root_id": 1}).max_time_ms(
            LOOKUP_TIMEOUT_MS
        )
        return {str(d["_id"]).lower(): str(d["root_id"]).lower() for d in found}


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


def lookup_names(db: Database, frame: pl.DataFrame, profile: Profile = CUSTOM) -> pl.DataFrame:
    """Add org_name, agent_name and agent_exists: one batched query per collection.

    Requests hold bot ids as strings while `faq_kbs._id` is an ObjectId; a bot
    that was deleted keeps its id as its name and is flagged.
    """
    org_ids = sorted(set(frame["org_id"].to_list()) - {UNASSIGNED})
    agent_ids = sorted(set(frame["agent_id"].to_list()) - {UNATTRIBUTED})
    with translate_errors(db):
        orgs = {
            str(doc["_id"]).lower(): doc.get("name")
            for doc in db[profile.tenant_names]
            .find({"_id": {"$in": _object_ids(org_ids) + org_ids}}, {"name": 1})
            .max_time_ms(LOOKUP_TIMEOUT_MS)
        }
        bots = {
            str(doc["_id"]).lower(): doc
            for doc in db.faq_kbs.find(
                {"_id": {"$in": _object_ids(agent_ids) + agent_ids}}, {"name": 1, "trashed": 1}
            ).max_time_ms(LOOKUP_TIMEOUT_MS)
        }
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
) -> Cube:
    """One aggregation over `requests` for the range (of one organization when `org` is
    given), plus one name look-up per collection. `reading` says which metrics to read
    besides the count (`metrics.Reading.of`)."""
    if reading.users is not None and grain == "month" and reading.users.granularity != "month":
        raise ValueError("a month-grain pass counts users per month only")
    read_at = datetime.now(UTC).replace(microsecond=0)
    forks = fork_roots(db, config)
    with translate_errors(db):
        rows = list(
            db.requests.aggregate(
                pipeline(rng, config, grain, org, reading, forks),
                maxTimeMS=QUERY_TIMEOUT_MS,
                allowDiskUse=True,
            )
        )
    users = None
    if reading.users is not None:  # one document: the grouped rows and the users' counts
        rows, users = rows[0]["cube"], _users_frame(rows[0]["users"])
    frame = _to_frame(rows, rng, config, forks)
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
        tenant=config.profile.tenant,
        has_depth=config.profile.has_depth,
        test_word=config.test_word if config.rule.exclude_test_mode else None,
    )
