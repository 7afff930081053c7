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
    counted: BillingRule | None = None,
) -> list[dict[str, Any]]:
    """The pass, bounded whatever the data's size: every stage is a `$match`, a `$group`
    (which MongoDB spills to disk and splits across shards), a `$project` or an `$unwind`
    of a fixed handful of keys; no `$facet`, `$push` or array that grows with the data, and
    every document it returns is one small row. With `counted` (a rule whose status and
    depth conditions the `$match` of `config` does not apply: the alerts' watch), each row
    also sums `c`, the conversations that rule counts.

    1. `$match` the rule's conversations (of one tenant, or one agent, when asked).
    2. `$group` on the stored forms: tenant, agent evidence, the local day (or month) as
       "YYYY-MM-DD", the test flag (and the requester, when users are read). Per conversation
       the server reads fields and formats a date: the least work, since SecantusDB pays per
       operator. Every operator is in MongoDB 4.4 (docs/mongodb-limits.md).
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
        "d": local_day("$createdAt", grain, rng.timezone),
        "x": rule.is_test_expr(profile),
    }
    sums: dict[str, Any] = {"n": {"$sum": 1}}
    if reading.details:
        if profile.has_depth:
            sums["ds"] = {"$sum": f"${profile.depth_field}"}
            if config.rule.min_depth == 0:  # else every matched conversation has a depth
                sums["dn"] = {"$sum": {"$cond": [rule.depth_known_expr(profile), 1, 0]}}
        sums["h"] = {"$sum": {"$cond": [rule.handoff_expr(), 1, 0]}}
    if counted is not None:
        sums["c"] = {"$sum": {"$cond": [rule.counted_expr(counted, profile), 1, 0]}}
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
    bucket = bucket_of_day("$d", users.granularity)
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
    counts = {"$and": [{"$ne": ["$u", rule.NONE]}, rule.billable_expr(config, "$o", "$x")]}
    fan_out = {"$concatArrays": [[{"t": "c", **cube_key}], {"$cond": [counts, user_keys, []]}]}
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
