"""What started, day by day: the daily watch's pass (`usage-report alerts`). Billable counts of the last days are
still growing (a conversation is counted once it is closed, and idle ones close days later),
so the watch reads every conversation started, whatever its status and depth, and counts the
billable ones beside it for the month so far.

It is the reports' pass (`pipeline`) with the rule's status and depth conditions moved from
the `$match` into a per-row sum: one aggregation, bounded the same way, streamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import polars as pl
from pymongo.database import Database

from usage_lib.core import rule
from usage_lib.core.config import Config
from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED
from usage_lib.core.db import aggregate, translate_errors
from usage_lib.core.periods import DateRange
from usage_lib.core.pipeline import pipeline
from usage_lib.core.query import fork_roots, lookup_names
from usage_lib.core.rows import AGENT, COUNT, COUNTED, DAY, TENANT, TEST

SCHEMA = {
    "org_id": pl.String,
    "agent_id": pl.String,
    "day": pl.Date,
    "started": pl.Int64,  # not a test, any status and depth
    "test": pl.Int64,  # tests (or drafts), any status and depth
    "billable": pl.Int64,  # what the billing rule counts
}


def started(config: Config) -> Config:
    """The config whose rule reads what started: any status, any depth; the rest as set."""
    return replace(config, rule=replace(config.rule, statuses=None, min_depth=0))


def watch_pipeline(
    rng: DateRange, config: Config, forks: dict[str, str] | None = None, sets: bool = False
) -> list[dict[str, Any]]:
    """The watch's pass (with `sets`: and whether each row's conversations carry
    `updatedAt`, as the local store's days must know)."""
    return pipeline(rng, started(config), "day", forks=forks, counted=config.rule, sets=sets)


def watch_rows(rows: Iterable[Mapping[str, Any]], config: Config) -> pl.DataFrame:
    """The watch's pass's rows as SCHEMA, one per tenant, agent and day; excluded tenants
    left out."""
    records: list[tuple[str, str, date, int, int, int]] = []
    for row in rows:
        key = row["_id"]
        if key[TENANT] in config.excluded_ids:
            continue
        test = key[TEST] is True
        n, counted = int(row[COUNT]), int(row[COUNTED])
        billable = counted if rule.left_out(config, key[TENANT], test) is None else 0
        records.append(
            (
                key[TENANT] or UNASSIGNED,
                key[AGENT] or UNATTRIBUTED,
                date.fromisoformat(key[DAY]),
                0 if test else n,
                n if test else 0,
                billable,
            )
        )
    frame = pl.DataFrame(records, schema=SCHEMA, orient="row")
    return frame.group_by("org_id", "agent_id", "day").agg(
        pl.col("started", "test", "billable").sum()
    )


def named(db: Database, frame: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The watch's rows with the names of their tenants and agents, in order."""
    return lookup_names(db, frame, config.profile).sort("org_id", "agent_id", "day")


def query_watch(db: Database, rng: DateRange, config: Config) -> pl.DataFrame:
    """Per tenant, agent and local day of `rng`: conversations started (tests apart) and the
    billable ones, with names; excluded tenants left out. One pass over `rng` (the local
    store's days: `warm.watch`)."""
    forks = fork_roots(db, config)
    with translate_errors(db, what=f"the watch's pass over {rng.describe()}"):
        stages = watch_pipeline(rng, config, forks)
        label = f"Reading what started, {rng.describe()}"
        frame = watch_rows(aggregate(db, "watch", stages, config, label=label), config)
    return named(db, frame, config)
