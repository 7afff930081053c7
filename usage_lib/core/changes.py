"""What changed in `requests` since days were read, asked with the read-only user: the two
small passes the local store (`warm`) checks its days with.

- `day_counts`: documents started per local day. A deletion, or a write that skips
  `updatedAt`, changes its day's count. With `{createdAt: 1}` MongoDB answers it from the
  index without fetching a document (`counts_pipeline`).
- `edited_days`: the days of documents updated since a time. Tiledesk's requests carry
  mongoose's `updatedAt` (and an `{updatedAt: -1}` index): closes, which make a conversation
  billable days after it started, and edits of old documents.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo.database import Database

from usage_lib.core import rule
from usage_lib.core.buckets import local_day
from usage_lib.core.config import Config
from usage_lib.core.db import aggregate, translate_errors
from usage_lib.core.periods import DateRange


def counts_pipeline(rng: DateRange, config: Config) -> list[dict[str, Any]]:
    """Read from the `{createdAt: 1}` index alone: the `$match` and the `$group` need no other
    field, and a `createdAt` that is not a date (an array matched element-wise) is set apart
    under a null day by a `$cond`, which the index's keys answer, not by the `$match`."""
    is_date = {"$eq": [{"$type": "$createdAt"}, "date"]}
    day = {"$cond": [is_date, local_day("$createdAt", "day", rng.timezone), None]}
    return [
        {"$match": rule.window_match(rng, config.profile, index_only=True)},
        {"$group": {"_id": day, "n": {"$sum": 1}}},
    ]


def edited_pipeline(rng: DateRange, config: Config, since: datetime) -> list[dict[str, Any]]:
    """The edits since `since` first, then the window: MongoDB coalesces the stages and its
    planner picks the narrower index; the embedded server uses the first stage's, so it
    reads the few documents updated, not the whole window (48k demo: 1.9 s -> 0.002 s)."""
    day = local_day("$createdAt", "day", rng.timezone)
    return [
        {"$match": {"updatedAt": {"$gte": since}}},
        *rule.match_stages(rule.window_match(rng, config.profile)),
        {"$group": {"_id": day, "u": {"$max": "$updatedAt"}}},
    ]


def day_counts(db: Database, rng: DateRange, config: Config) -> dict[date, int]:
    """{local day: documents started that day} over `rng` (every document the passes' window
    takes, whatever the rule says of it)."""
    passed = counts_pipeline(rng, config)
    with translate_errors(db, what=f"the count of {rng.describe()} by day"):
        rows = aggregate(db, "counts", passed, config, label="Checking the stored days")
        return {date.fromisoformat(r["_id"]): int(r["n"]) for r in rows if r["_id"] is not None}


def edited_days(db: Database, rng: DateRange, config: Config, since: datetime) -> dict[date, Any]:
    """{local day started: the latest `updatedAt` among its documents} for the documents of
    `rng` updated at or after `since`. The latest is a datetime, or whatever odd value a
    document stores (an array): the caller takes anything but a datetime as an edit."""
    passed = edited_pipeline(rng, config, since)
    with translate_errors(db, what=f"the edits of {rng.describe()}"):
        rows = aggregate(db, "edited", passed, config, label="Finding edits")
        return {date.fromisoformat(r["_id"]): r["u"] for r in rows}
