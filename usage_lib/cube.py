"""The one pass over `requests`: a daily cube of organization x agent x day.

Everything the reports show is a polars step over this cube; MongoDB does the
filtering and grouping, so only a few thousand grouped rows cross the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from bson import ObjectId
from pymongo.database import Database

from .config import Config, Exclusion
from .db import LOOKUP_TIMEOUT_MS, QUERY_TIMEOUT_MS, translate_errors
from .periods import DateRange

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
    """The daily cube for one range, with what it counted and when it was read."""

    frame: pl.DataFrame  # SCHEMA + NAMES columns
    range: DateRange
    rule: str  # the billing rule in words
    exclusions: tuple[Exclusion, ...]
    read_at: datetime  # when the data was read (UTC)

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
        )


def _org_expr() -> dict[str, Any]:
    """Organization id as lower-case 24-hex whether stored as ObjectId or string; null if none."""
    return {
        "$switch": {
            "branches": [
                {
                    "case": {"$eq": [{"$type": "$id_organization"}, "objectId"]},
                    "then": {"$toString": "$id_organization"},
                },
                {
                    "case": {
                        "$and": [
                            {"$eq": [{"$type": "$id_organization"}, "string"]},
                            {"$ne": ["$id_organization", ""]},
                        ]
                    },
                    "then": {"$toLower": "$id_organization"},
                },
            ],
            "default": None,
        }
    }


def _agent_expr() -> dict[str, Any]:
    """attributes.bot_id, else the first of participantsBots (emptied on hand-off), else null."""
    return {
        "$switch": {
            "branches": [
                {
                    "case": {
                        "$and": [
                            {"$eq": [{"$type": "$attributes.bot_id"}, "string"]},
                            {"$ne": ["$attributes.bot_id", ""]},
                        ]
                    },
                    "then": "$attributes.bot_id",
                },
                {
                    "case": {
                        "$and": [
                            {"$isArray": "$participantsBots"},
                            {"$gt": [{"$size": "$participantsBots"}, 0]},
                        ]
                    },
                    "then": {"$toString": {"$arrayElemAt": ["$participantsBots", 0]}},
                },
            ],
            "default": None,
        }
    }


def match_stage(rng: DateRange, config: Config) -> dict[str, Any]:
    """The `$match` the pass uses: range, statuses and depth (index-friendly fields only).

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
    return match


def pipeline(rng: DateRange, config: Config) -> list[dict[str, Any]]:
    excluded = [e.id for e in config.exclusions]
    test = {"$cond": [{"$eq": ["$isTestMode", True]}, 1, 0]}
    counted = {"$subtract": ["$n", "$t"]} if config.rule.exclude_test_mode else "$n"
    is_excluded = {"$in": ["$_id.o", excluded]}
    return [
        {"$match": match_stage(rng, config)},
        {
            "$group": {
                "_id": {
                    "o": _org_expr(),
                    "a": _agent_expr(),
                    "d": {
                        "$dateToString": {
                            "date": "$createdAt",
                            "format": "%Y-%m-%d",
                            "timezone": rng.timezone,
                        }
                    },
                },
                "n": {"$sum": 1},
                "t": {"$sum": test},
            }
        },
        {
            "$project": {
                "_id": 0,
                "org_id": "$_id.o",
                "agent_id": "$_id.a",
                "day": "$_id.d",
                "billable": {"$cond": [is_excluded, 0, counted]},
                "test_mode": "$t" if config.rule.exclude_test_mode else {"$literal": 0},
                "excluded": {"$cond": [is_excluded, counted, 0]},
            }
        },
    ]


def _to_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    frame = pl.DataFrame(rows, schema={**SCHEMA, "day": pl.String})
    return frame.with_columns(
        pl.col("org_id").fill_null(UNASSIGNED),
        pl.col("agent_id").fill_null(UNATTRIBUTED),
        pl.col("day").str.to_date("%Y-%m-%d"),
    ).select(list(SCHEMA))


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


def query_cube(db: Database, rng: DateRange, config: Config) -> Cube:
    """One aggregation over `requests` for the range, plus one name look-up per collection."""
    read_at = datetime.now(UTC).replace(microsecond=0)
    with translate_errors(db):
        rows = list(
            db.requests.aggregate(
                pipeline(rng, config), maxTimeMS=QUERY_TIMEOUT_MS, allowDiskUse=True
            )
        )
    frame = lookup_names(db, _to_frame(rows)).sort(["org_id", "agent_id", "day"])
    return Cube(frame, rng, config.rule.describe(), config.exclusions, read_at)
