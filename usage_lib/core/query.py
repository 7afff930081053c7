"""Running the pass: the aggregation (`pipeline`) streamed through the cursor, its rows made
into a cube, the names of tenants and agents looked up, published forks found.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from bson import ObjectId
from pymongo.database import Database

from usage_lib.core import rule
from usage_lib.core.buckets import Granularity, bucket_key
from usage_lib.core.config import Config
from usage_lib.core.cube import (
    SCHEMA,
    UNASSIGNED,
    UNATTRIBUTED,
    UNATTRIBUTED_NAME,
    USERS_SCHEMA,
    Cube,
    Grain,
)
from usage_lib.core.db import aggregate, lookup, translate_errors
from usage_lib.core.metrics import ALL, COUNT_ONLY, Reading
from usage_lib.core.periods import DateRange
from usage_lib.core.pipeline import pipeline
from usage_lib.core.profiles import PROFILES, Profile
from usage_lib.core.rows import (
    AGENT,
    BUCKET,
    COUNT,
    DAY,
    DEPTH_N,
    DEPTH_SUM,
    HANDOFFS,
    KIND,
    TENANT,
    TEST,
    USERS,
    USERS_ROW,
)

CUSTOM = PROFILES["custom"]


def to_frame(
    rows: list[tuple[dict[str, Any], dict[str, Any]]], rng: DateRange, config: Config
) -> pl.DataFrame:
    """Grouped rows -> the cube: local days (a month's first day in the range), billable /
    test / excluded, and the metrics' sums when they were read."""
    has_depth = config.profile.has_depth
    records = []
    for key, row in rows:
        org = key[TENANT] or UNASSIGNED
        agent = key[AGENT] or UNATTRIBUTED
        n = int(row[COUNT])
        why = rule.left_out(config, key[TENANT], key[TEST])
        test = n if why == rule.TEST else 0
        billable = n if why is None else 0
        depth_n = int(row.get(DEPTH_N, n)) if billable and has_depth else 0
        depth_sum = (rule.numeric(row.get(DEPTH_SUM)) or 0.0) if billable and has_depth else 0.0
        handoffs = int(row.get(HANDOFFS, 0)) if billable and agent != UNATTRIBUTED else 0
        records.append(
            (
                org,
                agent,
                max(date.fromisoformat(key[DAY]), rng.start),
                billable,
                test,
                n if why == rule.EXCLUDED else 0,
                depth_sum,
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
        found = lookup(db, "forks", "faq_kbs", {"root_id": {"$nin": [None, ""]}}, {"root_id": 1})
        roots = {rule.id_of(d.get("_id")): rule.id_of(d.get("root_id")) for d in found}
    return {fork: root for fork, root in roots.items() if fork and root}


def _users_frame(rows: list[dict[str, Any]], granularity: Granularity) -> pl.DataFrame:
    """The pass's users counts -> org_id, agent_id, bucket, users (ALL marks a dimension, or
    the whole range, counted together)."""
    records = []
    for key in rows:
        o, a, b = key[TENANT], key[AGENT], key[BUCKET]
        records.append(
            (
                ALL if o is None else o or UNASSIGNED,
                ALL if a is None else a or UNATTRIBUTED,
                ALL if b is None else bucket_key(date.fromisoformat(b), granularity),
                int(key[USERS]),
            )
        )
    return pl.DataFrame(records, schema=USERS_SCHEMA, orient="row").sort(
        "org_id", "agent_id", "bucket"
    )


NAMES_BY_ID = 500  # more ids than this: read the (small) collection whole, streamed


def _documents(
    db: Database, collection: str, ids: list[str], fields: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """{normalized id: document} of the documents with these (normalized) ids, whose `_id` is
    an ObjectId or its hex in either case: one `$in` for a few, the whole collection,
    streamed, for thousands (a `$in` of thousands is no cheaper, and on some servers far
    dearer)."""
    if not ids:
        return {}
    forms: list[Any] = [ObjectId(i) for i in ids if ObjectId.is_valid(i)]
    forms += list(dict.fromkeys([*ids, *map(rule.upper, ids)]))
    query = {"_id": {"$in": forms}} if len(ids) <= NAMES_BY_ID else {}
    found = {
        rule.id_of(doc.get("_id")): doc for doc in lookup(db, "names", collection, query, fields)
    }
    found.pop(rule.NONE, None)
    return found


def _name(doc: dict[str, Any] | None, default: str) -> str:
    """A document's `name` when it is a non-empty string, else `default`."""
    name = (doc or {}).get("name")
    return name if isinstance(name, str) and name.strip() else default


def lookup_tenant_names(db: Database, ids: list[str], profile: Profile = CUSTOM) -> dict[str, str]:
    """Tenant id -> its name (the id itself when it has none); one batched query."""
    org_ids = [i for i in ids if i != UNASSIGNED]
    with translate_errors(db, what="the look-up of names"):
        found = _documents(db, profile.tenant_names, org_ids, {"name": 1})
    return {i: _name(found.get(i), i) for i in org_ids} | {UNASSIGNED: f"No {profile.tenant}"}


def lookup_names(db: Database, frame: pl.DataFrame, profile: Profile = CUSTOM) -> pl.DataFrame:
    """Add org_name, agent_name and agent_exists: one batched query per collection.

    Requests hold bot ids as strings while `faq_kbs._id` is an ObjectId; a bot
    that was deleted keeps its id as its name and is flagged.
    """
    org_names = lookup_tenant_names(db, sorted(set(frame["org_id"].to_list())), profile)
    agent_ids = sorted(set(frame["agent_id"].to_list()) - {UNATTRIBUTED})
    with translate_errors(db, what="the look-up of names"):
        bots = _documents(db, "faq_kbs", agent_ids, {"name": 1, "trashed": 1})
    agent_names = {i: _name(bots.get(i), i) for i in agent_ids}
    agent_names[UNATTRIBUTED] = UNATTRIBUTED_NAME
    exists = {i: i in bots and bots[i].get("trashed") is not True for i in agent_ids}
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
        passed = pipeline(rng, config, grain, org, reading, forks, agent)
        cursor = aggregate(db, "cube", passed, config, label=f"Counting {rng.describe()}")
        for row in cursor:
            key = row.pop("_id")
            if key.get(KIND) == USERS_ROW:
                user_rows.append({**key, USERS: row[USERS]})
            else:
                cube_rows.append((key, row))
    users = None
    if reading.users is not None:
        users = _users_frame(user_rows, reading.users.granularity)  # type: ignore[arg-type]
    frame = to_frame(cube_rows, rng, config)
    return named_cube(db, frame, users, rng, config, grain, reading, read_at)


def named_cube(
    db: Database,
    frame: pl.DataFrame,
    users: pl.DataFrame | None,
    rng: DateRange,
    config: Config,
    grain: Grain,
    reading: Reading,
    read_at: datetime,
) -> Cube:
    """The cube of these rows (names looked up) and users, as `reading` read them: one pass
    (`query_cube`) or the local store's days (`warm.cube`)."""
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
