"""The one pass over `requests`: a daily cube of organization x agent x day.

Everything the reports show is a polars step over this cube; MongoDB does the
filtering and grouping, so only a few thousand grouped rows cross the wire.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl
from bson import ObjectId
from pymongo.database import Database

from .config import Config, Exclusion
from .db import LOOKUP_TIMEOUT_MS, QUERY_TIMEOUT_MS, translate_errors
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
}
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
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

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
    rng: DateRange, config: Config, grain: Grain = "day", org: str | None = None
) -> list[dict[str, Any]]:
    """`$match`, then one `$group` on the organization field as stored, the agent, the local day.

    Per document the server only reads fields, truncates a date and makes two
    comparisons, the least work that keeps the grouped rows few: on SecantusDB
    each operator costs per document. `a` is attributes.bot_id when it sorts
    after "" (a non-empty string), else participantsBots. Id forms, attribution,
    exclusions and billable counts are settled on the grouped rows in `_to_frame`.
    """
    bot_id = "$attributes.bot_id"
    return [
        {"$match": match_stage(rng, config, org)},
        {
            "$group": {
                "_id": {
                    "o": "$id_organization",
                    "a": {"$cond": [{"$gt": [bot_id, ""]}, bot_id, "$participantsBots"]},
                    "d": {
                        "$dateTrunc": {
                            "date": "$createdAt",
                            "unit": grain,
                            "timezone": rng.timezone,
                        }
                    },
                },
                "n": {"$sum": 1},
                "t": {"$sum": {"$cond": [{"$eq": ["$isTestMode", True]}, 1, 0]}},
            }
        },
    ]


def _to_frame(rows: list[dict[str, Any]], rng: DateRange, config: Config) -> pl.DataFrame:
    """Grouped rows -> the cube: normalized ids, local days (a month's first day in the range),
    billable / test mode / excluded."""
    zone = ZoneInfo(rng.timezone)
    excluded = set(config.excluded_ids)
    records = []
    for row in rows:
        key = row["_id"]
        org = org_key(key.get("o"))
        test = int(row["t"]) if config.rule.exclude_test_mode else 0
        counted = int(row["n"]) - test
        records.append(
            (
                org or UNASSIGNED,
                agent_key(key.get("a")) or UNATTRIBUTED,
                max(key["d"].replace(tzinfo=UTC).astimezone(zone).date(), rng.start),
                0 if org in excluded else counted,
                test,
                counted if org in excluded else 0,
            )
        )
    frame = pl.DataFrame(records, schema=SCHEMA, orient="row")
    return frame.group_by("org_id", "agent_id", "day").agg(
        pl.col("billable", "test_mode", "excluded").sum()
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
    db: Database, rng: DateRange, config: Config, grain: Grain = "day", org: str | None = None
) -> Cube:
    """One aggregation over `requests` for the range (of one organization when `org` is
    given), plus one name look-up per collection."""
    read_at = datetime.now(UTC).replace(microsecond=0)
    with translate_errors(db):
        rows = list(
            db.requests.aggregate(
                pipeline(rng, config, grain, org), maxTimeMS=QUERY_TIMEOUT_MS, allowDiskUse=True
            )
        )
    frame = lookup_names(db, _to_frame(rows, rng, config)).sort(["org_id", "agent_id", "day"])
    return Cube(frame, rng, config.rule.describe(), config.exclusions, read_at, grain)
