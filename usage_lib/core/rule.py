"""The billing rule, in one place: which conversations count, what is a test, which tenants are
left out, who the agent is, and who the end user is, for every form stored data takes.

Each meaning is written twice, side by side: as a MongoDB expression (the pass computes it on
the server) and per document in Python (statements, the benchmark's naive method). The forms
follow MongoDB's own comparison rules (docs/domain.md, "Stored data comes in every form"):

- `createdAt`: only a date is in a range;
- statuses: any number equal to one (1000, 1000.0, Decimal128 "1000"), never the string;
- the test flag: only boolean true is a test;
- depth: a number (int, double, Decimal128; not a bool) of at least `min_depth`;
- tenant: an ObjectId, or a string in lower or upper case, lower-cased (a mixed-case
  string is a tenant as written: only the two cases are points an index can find);
  anything else is no tenant ("");
- agent: `attributes.bot_id` when it is a non-empty string, else the first entry of
  `participantsBots` when that is one, else (stock Tiledesk) the first `participants` entry
  `bot_<id>`; lower-cased; a published fork is its root bot; none: "" (Unattributed);
- hand-off: `participantsAgents` is a non-empty array;
- end user: `requester` as an ObjectId or a non-empty string, lower-cased; else none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId

from usage_lib.core.config import BillingRule, Config
from usage_lib.core.periods import DateRange
from usage_lib.core.profiles import Profile

NONE = ""  # the normalized form of "no tenant", "no agent", "no user"
Expr = Any  # a MongoDB aggregation expression


# -- the $match: what the server reads at all -----------------------------------------------------


def match(
    rng: DateRange, config: Config, tenant: str | None = None, agent: Agent | None = None
) -> dict[str, Any]:
    """The conversations the rule can count in `rng`: range, statuses, depth, preflight and
    channels (these two as `left_out_expr` reads them); with `tenant` (a normalized id, or NONE) that tenant's only, with `agent`
    (within a tenant or not) a superset of that agent's (the pass keeps it exactly).

    Test conversations and exclusions are not filtered here but counted apart, so the data
    checks come from the same pass. Array values never count (they are no date, number or
    flag), though a query matches arrays element-wise."""
    rule, profile = config.rule, config.profile
    found = window_match(rng, profile, tenant)
    if rule.statuses is not None:
        found["status"] = {"$in": list(rule.statuses), "$not": {"$type": "array"}}
    if rule.min_depth > 0:
        found[profile.depth_field] = {"$gte": rule.min_depth, "$not": {"$type": "array"}}
    flags = [held for _, held in _flag_steps(rule)]
    if flags:  # as the steps read them: a query's $ne/$nin reads arrays in ways of its own
        found["$expr"] = {"$not": [flags[0] if len(flags) == 1 else {"$or": flags}]}
    if agent is not None:
        found.update(agent.match(profile))
    return found


def window_match(
    rng: DateRange, profile: Profile, tenant: str | None = None, index_only: bool = False
) -> dict[str, Any]:
    """Every conversation started in `rng` (of `tenant`, a normalized id, when given), whatever
    the rule says of it: the `$match` of every pass. Only a date is in a range; an array of
    dates is not (a query matches arrays element-wise, and no bucket can be cut from one).
    With `index_only`, arrays are left for the pass to set apart: MongoDB cannot answer a
    `$type: "array"` from an index, so the guard would fetch every document, where the
    count per day (`changes`) is read from the `{createdAt: 1}` index alone."""
    start, end = rng.utc_bounds()
    found: dict[str, Any] = {"createdAt": {"$gte": start, "$lt": end}}
    if not index_only:
        found["createdAt"]["$not"] = {"$type": "array"}
    if tenant is not None:
        found.update(tenant_match(profile.tenant_field, tenant))
    return found


_INDEXED = frozenset({"$eq", "$in", "$gt", "$gte", "$lt", "$lte"})  # what an index bound takes


def match_stages(found: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`found` as `$match` stages: first the comparisons an index bounds (the range of
    `createdAt`, the tenant's points), then the rest (`$not`, `$expr`, `$or`, `$type`...).

    Same documents, same plan on MongoDB: it coalesces adjacent `$match` stages into one
    before it plans the pipeline (the manual's "Aggregation Pipeline Optimization", $match +
    $match coalescence). The embedded server (SecantusDB) uses an index only for a `$match`
    it can answer whole, and scans the collection for any other: split, a pass over one day
    reads that day, not the whole collection."""
    first: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, condition in found.items():
        if key.startswith("$"):
            rest[key] = condition
        elif isinstance(condition, Mapping) and all(op.startswith("$") for op in condition):
            bounds = {op: v for op, v in condition.items() if op in _INDEXED}
            others = {op: v for op, v in condition.items() if op not in _INDEXED}
            if bounds:
                first[key] = bounds
            if others:
                rest[key] = others
        else:  # an equality
            first[key] = condition
    return [{"$match": part} for part in (first, rest) if part] or [{"$match": {}}]


def _status_counted(rule: BillingRule) -> Expr:
    return {"$in": ["$status", list(rule.statuses or ())]}


def _depth_counted(rule: BillingRule, profile: Profile) -> Expr:
    depth = f"${profile.depth_field}"
    return {"$and": [{"$isNumber": depth}, {"$gte": [depth, rule.min_depth]}]}


def counted_expr(rule: BillingRule, profile: Profile) -> Expr:
    """The `$match`'s status and depth conditions as an expression, with the same meaning for
    every stored form (equal numbers of any type, never an array or a string; a depth is a
    number, not a bool), for a pass that reads every status and depth."""
    conditions: list[Expr] = []
    if rule.statuses is not None:
        conditions.append(_status_counted(rule))
    if rule.min_depth > 0:
        conditions.append(_depth_counted(rule, profile))
    return {"$and": conditions} if conditions else True


PASSED = "passed"  # no step of the `$match` or the test flag leaves the conversation out


def _holds(value: Expr, values: list[Any]) -> Expr:
    """The value is one of `values`, or an array that holds one (one level deep)."""
    inside = {"$gt": [{"$size": {"$setIntersection": [value, values]}}, 0]}
    # the guard in $cond: MongoDB may evaluate every operand of $and/$or (docs/domain.md)
    return {"$cond": [{"$isArray": value}, inside, {"$in": [value, values]}]}


def _flag_steps(r: BillingRule) -> list[tuple[str, Expr]]:
    """The rule's first steps, each with what leaves a conversation out: `preflight` true (or
    an array holding true), `channel.name` a left-out channel (or an array holding one)."""
    steps: list[tuple[str, Expr]] = []
    if r.exclude_preflight:
        steps.append(("preflight", _holds("$preflight", [True])))
    if r.exclude_channels:
        steps.append(("channel", _holds(_CHANNEL_NAMES, list(r.exclude_channels))))
    return steps


# `channel.name` as MongoDB reads the path: the name of the channel object, or of each object
# in an array of them. Spelled out with $map, not left to the path's own traversal of arrays,
# which not every server implements (SecantusDB reads a path through an array as missing).
_CHANNEL_NAMES = {
    "$cond": [
        {"$isArray": "$channel"},
        {"$map": {"input": "$channel", "in": "$$this.name"}},
        "$channel.name",
    ]
}


def left_out_expr(config: Config) -> Expr:
    """The first step of the rule that leaves a conversation (of the range) out: preflight,
    channel, test, status, depth, each as the `$match` and the test flag read it; PASSED when
    none does (an excluded tenant is left out next, on the normalized tenant)."""
    r, profile = config.rule, config.profile
    branches: list[Expr] = [{"case": held, "then": step} for step, held in _flag_steps(r)]
    if r.exclude_test_mode:
        branches.append({"case": is_test_expr(profile), "then": "test"})
    if r.statuses is not None:
        branches.append({"case": {"$not": [_status_counted(r)]}, "then": "status"})
    if r.min_depth > 0:
        branches.append({"case": {"$not": [_depth_counted(r, profile)]}, "then": "depth"})
    return {"$switch": {"branches": branches, "default": PASSED}} if branches else PASSED


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_TO_LOWER, _TO_UPPER = str.maketrans(_UPPER, _LOWER), str.maketrans(_LOWER, _UPPER)


def lower(text: str) -> str:
    """`$toLower`: ASCII letters only (MongoDB's case operators leave every other character
    as it is), so that Python and the server give an id the same row."""
    return text.translate(_TO_LOWER)


def upper(text: str) -> str:
    """`$toUpper`: ASCII letters only."""
    return text.translate(_TO_UPPER)


def tenant_match(field: str, tenant: str) -> dict[str, Any]:
    """The stored forms of one normalized tenant id (a superset: the pass keeps it exactly)."""
    if tenant == NONE:  # missing, null, "", or of another type
        return {
            "$or": [
                {field: {"$in": [None, ""]}},
                {field: {"$not": {"$type": ["objectId", "string"]}}},
                {field: {"$type": "array"}},
            ]
        }
    forms: list[Any] = list(dict.fromkeys([tenant, lower(tenant), upper(tenant)]))
    if ObjectId.is_valid(tenant):
        forms.insert(0, ObjectId(tenant))
    return {field: {"$in": forms}}  # points: the tenant index finds each


class Agent:
    """One agent (a normalized bot id) and the published forks reported as it."""

    def __init__(self, agent: str, forks: Mapping[str, str]) -> None:
        self.id = agent
        self.ids = [agent, *sorted(f for f, root in forks.items() if root == agent)]

    def match(self, profile: Profile) -> dict[str, Any]:
        if self.id == NONE:
            return {}  # Unattributed is within a tenant: its $match narrows enough
        forms = [re.compile(f"^{re.escape(i)}$", re.IGNORECASE) for i in self.ids]
        places: list[dict[str, Any]] = [
            {"attributes.bot_id": {"$in": forms}},
            {"participantsBots": {"$in": forms}},
        ]
        if profile.bot_prefix:
            marked = [
                re.compile(f"^{re.escape(profile.bot_prefix + i)}$", re.IGNORECASE)
                for i in self.ids
            ]
            places.append({"participants": {"$in": marked}})
        return {"$or": places}


# -- MongoDB expressions --------------------------------------------------------------------------


def _is_text(value: Expr) -> Expr:
    """A non-empty string: "" < value < {} in BSON order (strings sort before objects)."""
    return {"$and": [{"$gt": [value, ""]}, {"$lt": [value, {}]}]}


def tenant_expr(value: Expr) -> Expr:
    """A stored tenant id -> its normalized form (lower-case hex, or NONE)."""
    one_case = {
        "$let": {
            "vars": {"low": {"$toLower": value}},
            "in": {
                "$cond": [
                    {"$or": [{"$eq": [value, "$$low"]}, {"$eq": [value, {"$toUpper": value}]}]},
                    "$$low",
                    value,
                ]
            },
        }
    }
    return {
        "$switch": {
            "branches": [
                {"case": {"$eq": [{"$type": value}, "objectId"]}, "then": {"$toString": value}},
                {"case": {"$eq": [{"$type": value}, "string"]}, "then": one_case},
            ],
            "default": NONE,
        }
    }


def user_expr(value: Expr) -> Expr:
    """An end user: an ObjectId or a string, lower-cased (any case is one user); else none."""
    return {
        "$switch": {
            "branches": [
                {"case": {"$eq": [{"$type": value}, "objectId"]}, "then": {"$toString": value}},
                {"case": {"$eq": [{"$type": value}, "string"]}, "then": {"$toLower": value}},
            ],
            "default": NONE,
        }
    }


def agent_evidence(profile: Profile) -> Expr:
    """What the pass groups on to find the agent, per document: attributes.bot_id when it
    is a non-empty string, else the arrays the agent may be in. `agent_expr` settles it on
    the grouped rows, so the server reads fields, not expressions, per conversation."""
    bot_id = "$attributes.bot_id"
    arrays = {"b": "$participantsBots"}
    if profile.bot_prefix:
        arrays["p"] = "$participants"
    return {"$cond": [_is_text(bot_id), bot_id, arrays]}


def agent_expr(evidence: Expr, profile: Profile, forks: Mapping[str, str]) -> Expr:
    """Grouped `agent_evidence` -> the normalized agent id (NONE: Unattributed), a published
    fork reported as its root."""
    first = {"$cond": [{"$isArray": f"{evidence}.b"}, {"$arrayElemAt": [f"{evidence}.b", 0]}, None]}
    found: Expr = {"$cond": [_is_text("$$first"), "$$first", NONE]}
    if profile.bot_prefix:
        size = len(profile.bot_prefix)
        marked = {
            "$filter": {
                "input": {"$cond": [{"$isArray": f"{evidence}.p"}, f"{evidence}.p", []]},
                "cond": {
                    "$cond": [  # $strLenCP and $substrCP raise on what is no string
                        {"$eq": [{"$type": "$$this"}, "string"]},
                        {
                            "$cond": [
                                {"$gt": [{"$strLenCP": "$$this"}, size]},
                                {"$eq": [{"$substrCP": ["$$this", 0, size]}, profile.bot_prefix]},
                                False,
                            ]
                        },
                        False,
                    ]
                },
            }
        }
        bot = {"$ifNull": [{"$arrayElemAt": [marked, 0]}, NONE]}
        rest = {"$substrCP": [bot, size, {"$strLenCP": bot}]}  # "" when there is none
        found = {"$cond": [_is_text("$$first"), "$$first", rest]}
    agent = {
        "$toLower": {
            "$cond": [
                {"$eq": [{"$type": evidence}, "string"]},
                evidence,
                {"$let": {"vars": {"first": first}, "in": found}},
            ]
        }
    }
    if not forks:
        return agent
    return {"$let": {"vars": {"a": agent}, "in": _lookup("$$a", sorted(forks.items()))}}


def _lookup(value: Expr, pairs: Sequence[tuple[str, str]]) -> Expr:
    """`value` mapped through sorted (from, to) pairs, else itself: a balanced tree of
    comparisons, log2(len(pairs)) per row, however many forks there are."""
    if len(pairs) <= 4:
        return {
            "$switch": {
                "branches": [{"case": {"$eq": [value, a]}, "then": b} for a, b in pairs],
                "default": value,
            }
        }
    mid = len(pairs) // 2
    return {
        "$cond": [
            {"$lt": [value, pairs[mid][0]]},
            _lookup(value, pairs[:mid]),
            _lookup(value, pairs[mid:]),
        ]
    }


def is_test_expr(profile: Profile) -> Expr:
    return {"$eq": [f"${profile.test_field}", True]}


def handoff_expr() -> Expr:
    """A human agent took part: `participantsAgents` is a non-empty array."""
    agents = "$participantsAgents"
    return {"$and": [{"$isArray": agents}, {"$gt": [agents, []]}]}


def depth_known_expr(profile: Profile) -> Expr:
    return {"$isNumber": f"${profile.depth_field}"}


# -- the same, per document (statements, the naive method) ---------------------------------------


def field(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def tenant_of(value: Any) -> str:
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str):
        return lower(value) if value in (lower(value), upper(value)) else value
    return NONE


def id_of(value: Any) -> str:
    """An id in any case (an end user, a bot): an ObjectId or a string, lower-cased."""
    if isinstance(value, ObjectId):
        return str(value)
    return lower(value) if isinstance(value, str) else NONE


user_of = id_of


def agent_of(doc: Mapping[str, Any], profile: Profile, forks: Mapping[str, str]) -> str:
    """The agent of one stored conversation (NONE: Unattributed)."""
    found: str = NONE
    bot = field(doc, "attributes.bot_id")
    bots = doc.get("participantsBots")
    first = bots[0] if isinstance(bots, list) and bots else None
    if isinstance(bot, str) and bot:
        found = bot
    elif isinstance(first, str) and first:
        found = first
    elif profile.bot_prefix and isinstance(doc.get("participants"), list):
        prefix = profile.bot_prefix
        marked = [p for p in doc["participants"] if isinstance(p, str) and p.startswith(prefix)]
        marked = [p for p in marked if len(p) > len(prefix)]
        found = marked[0][len(prefix) :] if marked else NONE
    found = lower(found)
    return forks.get(found, found)


def is_test(doc: Mapping[str, Any], profile: Profile) -> bool:
    return field(doc, profile.test_field) is True


def handed_off(doc: Mapping[str, Any]) -> bool:
    agents = doc.get("participantsAgents")
    return isinstance(agents, list) and len(agents) > 0


def numeric(value: Any) -> float | None:
    """A stored number of any type (int, long, double, Decimal128; a sum of depths too) as a
    float; None for what is none: a bool, a string, NaN or an infinity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, Decimal) and not value.is_finite():
        return None  # float() raises on a signalling NaN
    if isinstance(value, int | float | Decimal):
        found = float(value)
        return found if math.isfinite(found) else None
    return None


TEST, EXCLUDED = "test", "excluded"


def left_out(config: Config, tenant: str, test: bool) -> str | None:
    """Why a conversation the $match kept is not billable: a test (when the rule leaves
    tests out), else its tenant is on the exclusion list; None: it is billable."""
    if test and config.rule.exclude_test_mode:
        return TEST
    if tenant in config.excluded_ids:
        return EXCLUDED
    return None


def billable_expr(config: Config, tenant: Expr, test: Expr) -> Expr:
    """`left_out` is None, on the server, for normalized fields."""
    conditions: list[Expr] = [{"$not": [{"$in": [tenant, list(config.excluded_ids)]}]}]
    if config.rule.exclude_test_mode:
        conditions.append({"$eq": [test, False]})
    return {"$and": conditions}
