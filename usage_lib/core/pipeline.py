"""The pass as data: the aggregation over `requests` that makes a cube, bounded at any size
(docs/mongodb-limits.md). The rule's meanings come from `rule`, the buckets from `buckets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from usage_lib.core import rule
from usage_lib.core.buckets import bucket_of_day, local_day
from usage_lib.core.config import BillingRule, Config
from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED, Grain
from usage_lib.core.metrics import COUNT_ONLY, Reading
from usage_lib.core.periods import DateRange
from usage_lib.core.rows import (
    AGENT,
    BUCKET,
    COUNT,
    COUNTED,
    CUBE_ROW,
    DAY,
    DEPTH_N,
    DEPTH_SUM,
    FANNED,
    HANDOFFS,
    KIND,
    TENANT,
    TEST,
    UPDATED,
    USER,
    USERS,
    USERS_ROW,
    field,
    grouped,
)


def _tenant(org: str) -> str:
    return rule.NONE if org == UNASSIGNED else rule.lower(org)


def pipeline(
    rng: DateRange,
    config: Config,
    grain: Grain = "day",
    org: str | None = None,
    reading: Reading = COUNT_ONLY,
    forks: Mapping[str, str] | None = None,
    agent: str | None = None,
    counted: BillingRule | None = None,
    sets: bool = False,
) -> list[dict[str, Any]]:
    """The pass, bounded whatever the data's size: every stage is a `$match`, a `$group`
    (which MongoDB spills to disk and splits across shards), a `$project` or an `$unwind`
    of a fixed handful of keys; no `$facet`, `$push` or array that grows with the data, and
    every document it returns is one small row. With `counted` (a rule whose status and
    depth conditions the `$match` of `config` does not apply: the alerts' watch), each row
    also sums `rows.COUNTED`, the conversations that rule counts (the row keys: `rows`).

    1. `$match` the rule's conversations (of one tenant, or one agent, when asked).
    2. `$group` on the stored forms: tenant, agent evidence, the local day (or month) as
       "YYYY-MM-DD", the test flag (and the requester, when users are read). Per conversation
       the server reads fields and formats a date: the least work, since SecantusDB pays per
       operator. Every operator is in MongoDB 4.4 (docs/mongodb-limits.md).
    3. `$project` the grouped rows to normalized ids (`rule`), forks to their root bot.
    4. `$group` again on the normalized key: a cube row each. With users, each row first
       fans out into its cube key and, when it is billable, one key per users level and
       bucket (and the whole range) carrying the user; the `$group` on (key, user) leaves
       each distinct user once, and a last `$group` counts them per key. With `sets` (the
       local store's pass, `warm`) that last count is left to the reader: the rows are the
       cube rows and the distinct (key, user) pairs themselves, which add up across days.
    """
    profile = config.profile
    forks = forks or {}
    key: dict[str, Any] = {
        TENANT: f"${profile.tenant_field}",
        AGENT: rule.agent_evidence(profile),
        DAY: local_day("$createdAt", grain, rng.timezone),
        TEST: rule.is_test_expr(profile),
    }
    sums: dict[str, Any] = {COUNT: {"$sum": 1}}
    if reading.details:
        if profile.has_depth:
            sums[DEPTH_SUM] = {"$sum": f"${profile.depth_field}"}
            if config.rule.min_depth == 0:  # else every matched conversation has a depth
                sums[DEPTH_N] = {"$sum": {"$cond": [rule.depth_known_expr(profile), 1, 0]}}
        sums[HANDOFFS] = {"$sum": {"$cond": [rule.handoff_expr(), 1, 0]}}
    if sets:  # whether this deployment writes updatedAt, as the local store must know
        sums[UPDATED] = {"$sum": {"$cond": [{"$eq": [{"$type": "$updatedAt"}, "date"]}, 1, 0]}}
    if counted is not None:
        sums[COUNTED] = {"$sum": {"$cond": [rule.counted_expr(counted, profile), 1, 0]}}
    users = reading.users
    if users is not None:
        key[USER] = "$requester"
    scope = None
    if agent is not None:
        scope = rule.Agent(rule.NONE if agent == UNATTRIBUTED else rule.lower(agent), forks)
    tenant = None if org is None else _tenant(org)
    normalized: dict[str, Any] = {
        "_id": 0,
        TENANT: rule.tenant_expr(grouped(TENANT)),
        AGENT: rule.agent_expr(grouped(AGENT), profile, forks),
        DAY: grouped(DAY),
        TEST: grouped(TEST),
        **{name: 1 for name in sums},
    }
    if users is not None:
        normalized[USER] = rule.user_expr(grouped(USER))
    stages: list[dict[str, Any]] = [
        *rule.match_stages(rule.match(rng, config, tenant, scope)),
        {"$group": {"_id": key, **sums}},
        {"$project": normalized},
    ]
    kept = {**({TENANT: tenant} if tenant is not None else {})}
    if scope is not None:
        kept[AGENT] = scope.id
    if kept:  # the $match is a superset of the stored forms; the normalized ids are exact
        stages.append({"$match": kept})
    totals = {name: {"$sum": field(name)} for name in sums}
    cube_key = {k: field(k) for k in (TENANT, AGENT, DAY, TEST)}
    if users is None:
        return [*stages, {"$group": {"_id": cube_key, **totals}}]
    bucket = bucket_of_day(field(DAY), users.granularity)
    user_keys = [
        {
            KIND: USERS_ROW,
            TENANT: field(TENANT) if by_org else None,
            AGENT: field(AGENT) if by_agent else None,
            BUCKET: b,
            USER: field(USER),
        }
        for by_org, by_agent in users.levels
        for b in ((bucket, None) if users.totals else (bucket,))
    ]
    counts = {
        "$and": [
            {"$ne": [field(USER), rule.NONE]},
            rule.billable_expr(config, field(TENANT), field(TEST)),
        ]
    }
    fan_out = {
        "$concatArrays": [[{KIND: CUBE_ROW, **cube_key}], {"$cond": [counts, user_keys, []]}]
    }
    parts = (KIND, TENANT, AGENT, DAY, TEST, BUCKET)
    distinct = [
        *stages,
        {"$project": {FANNED: fan_out, **{name: 1 for name in sums}}},
        {"$unwind": field(FANNED)},
        {"$group": {"_id": field(FANNED), **totals}},
    ]
    if sets:
        return distinct
    return [
        *distinct,
        {"$group": {"_id": {p: grouped(p) for p in parts}, **totals, USERS: {"$sum": 1}}},
    ]
