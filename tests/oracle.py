"""An independent pure-Python reading of docs/domain.md's billing rule, attribution and buckets.

It shares no code with usage_lib: tests compare the library's MongoDB results
against it over the same documents.

Stored data comes in every form (../shared/DOMAIN.md): any field may be missing, null,
empty or of another type. What each form means follows MongoDB's query semantics, and
each reader below says which forms it takes:

- `createdAt`: only a datetime is in a range (a range on dates matches dates only);
- `status`: a numeric value equal to a rule's status (int, Int64, float, Decimal128), as
  `$in` compares numbers across types; never a string, a bool, null or missing;
- the test flag (`isTestMode`; `draft` under stock): only the boolean `true`;
- `depth`: a numeric value (not a bool, not NaN) at least the rule's minimum;
- tenant and `requester` ids: an ObjectId is its hex, a non-empty string is lower-cased,
  anything else is none;
- the agent: a non-empty string `attributes.bot_id`, else a non-empty string first
  `participantsBots` entry, else (stock) the first `bot_<id>` in `participants`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo

from bson import Decimal128, ObjectId

UNASSIGNED = "unassigned"  # the tenant row of requests with no readable tenant id
UNATTRIBUTED = "unattributed"  # the agent row of conversations with no readable agent
MIN_DEPTH = 3  # the custom profile's rule: more than 2 message turns


def number(value: Any) -> Decimal | None:
    """A stored value as the number MongoDB compares it as: int, Int64, float or Decimal128,
    exactly (a float is its binary value, a Decimal128 its decimal). A bool is no number
    (BSON types it apart), nor a string, null or missing; NaN and infinities are none here
    (NaN equals and exceeds nothing; the tests store no infinity)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):  # bson.Int64 is an int
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(value) if math.isfinite(value) else None
    if isinstance(value, Decimal128):
        exact = value.to_decimal()
        return exact if exact.is_finite() else None
    return None


def status_in(value: Any, statuses: Iterable[int] | None) -> bool:
    """`status: {$in: statuses}`: any numeric form equal to one of them (1000, Int64(1000),
    1000.0, Decimal128("1000"), Decimal128("1.0E+3")); never "1000", a bool, null or
    missing. `statuses` None ("all"): no condition, every form passes."""
    if statuses is None:
        return True
    n = number(value)
    return n is not None and any(n == s for s in statuses)


def is_test(value: Any) -> bool:
    """The test flag: only the boolean true (not "true", not 1; missing or null: not a test)."""
    return value is True


def tenant_key(value: Any) -> str:
    """A tenant id as stored -> its row: an ObjectId is its hex; a non-empty string in
    lower or upper case is lower-cased (the hex of an ObjectId, either case, is one tenant);
    a string in mixed case is a tenant of its own, as written (it is not an ObjectId's hex
    as Tiledesk writes it, and only the two cases can be looked up by an index); anything
    else (missing, null, "", an int, a bool, an object, an array) is UNASSIGNED."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str) and value:
        return value.lower() if value in (value.lower(), value.upper()) else value
    return UNASSIGNED


def is_billable(doc: dict[str, Any], excluded: set[str]) -> bool:
    """The custom profile's rule: a status numerically 1000, not a test (isTestMode is the
    boolean true), a numeric depth of at least 3 (a string, bool, null or missing depth
    fails), an organization not on the exclusion list. The range is `day_of`'s."""
    depth = number(doc.get("depth"))
    return (
        status_in(doc.get("status"), (1000,))
        and not is_test(doc.get("isTestMode"))
        and depth is not None
        and depth >= MIN_DEPTH
        and org_of(doc) not in excluded
    )


def left_out_step(doc: dict[str, Any], excluded: set[str]) -> str:
    """The first step of the custom rule that leaves the conversation out (each field read
    as above), else "billable": test, status, depth, excluded."""
    if is_test(doc.get("isTestMode")):
        return "test"
    if not status_in(doc.get("status"), (1000,)):
        return "status"
    depth = number(doc.get("depth"))
    if depth is None or depth < MIN_DEPTH:
        return "depth"
    if org_of(doc) in excluded:
        return "excluded"
    return "billable"


def org_of(doc: dict[str, Any]) -> str:
    """The organization: `id_organization` read by `tenant_key`."""
    return tenant_key(doc.get("id_organization"))


def _found_agent(doc: dict[str, Any], prefix: str = "") -> str | None:
    """The agent id, lower-cased, or None: `attributes` an object whose `bot_id` is a
    non-empty string; else `participantsBots` an array whose first entry is a non-empty
    string; else, with a prefix (stock: "bot_"), the first `participants` entry that is a
    string with the prefix and more, without it. Any other form of each is no agent."""
    attributes = doc.get("attributes")
    if isinstance(attributes, dict):
        bot = attributes.get("bot_id")
        if isinstance(bot, str) and bot:
            return bot.lower()
    bots = doc.get("participantsBots")
    if isinstance(bots, list) and bots and isinstance(bots[0], str) and bots[0]:
        return bots[0].lower()
    participants = doc.get("participants")
    if prefix and isinstance(participants, list):
        for who in participants:
            if isinstance(who, str) and who.startswith(prefix) and len(who) > len(prefix):
                return who[len(prefix) :].lower()
    return None


def agent_of(doc: dict[str, Any]) -> str:
    """The custom profile's agent (`_found_agent` without a prefix), else UNATTRIBUTED."""
    return _found_agent(doc) or UNATTRIBUTED


# -- stock Tiledesk (docs/domain.md and ../shared/DOMAIN.md, "Stock Tiledesk") ----------------------


def forks_of(faq_kbs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Published forks: a faq_kbs document whose `root_id` is an ObjectId or a non-empty
    string -> {its _id: the root}, both lower-case hex (any other root_id: not a fork)."""
    found = {}
    for bot in faq_kbs:
        root = bot.get("root_id")
        if isinstance(root, ObjectId) or (isinstance(root, str) and root):
            found[str(bot["_id"]).lower()] = str(root).lower()
    return found


@dataclass(frozen=True)
class Stock:
    """The stock-Tiledesk reading: the tenant is the project, a test is a draft, there is
    no depth, a bot may be left only as `bot_<id>` in participants, a published fork counts
    for its root bot. The rule's parts are the [billing] keys."""

    statuses: frozenset[int] | None = frozenset({100, 150, 200, 300, 1000})  # None: any
    exclude_drafts: bool = True
    exclude_preflight: bool = True
    exclude_channels: frozenset[str] = frozenset({"voice-vxml"})
    forks: dict[str, str] = field(default_factory=dict)  # fork bot id -> root bot id

    def billable(self, doc: dict[str, Any], excluded: set[str]) -> bool:
        """`status_in` the statuses; not a draft (only `draft: true`) when drafts are left
        out; not `preflight: true` when those are; not a `channel` object whose `name` is
        an excluded channel (a missing or non-object channel is none); the project not
        excluded."""
        channel = doc.get("channel")
        name = channel.get("name") if isinstance(channel, dict) else None
        return (
            status_in(doc.get("status"), self.statuses)
            and not (self.exclude_drafts and is_test(doc.get("draft")))
            and not (self.exclude_preflight and doc.get("preflight") is True)
            and not (isinstance(name, str) and name in self.exclude_channels)
            and self.project(doc) not in excluded
        )

    def left_out_step(self, doc: dict[str, Any], excluded: set[str]) -> str:
        """The first step of `billable` that leaves the conversation out, else "billable":
        preflight, channel, test (a draft), status, excluded."""
        channel = doc.get("channel")
        name = channel.get("name") if isinstance(channel, dict) else None
        if self.exclude_preflight and doc.get("preflight") is True:
            return "preflight"
        if isinstance(name, str) and name in self.exclude_channels:
            return "channel"
        if self.exclude_drafts and is_test(doc.get("draft")):
            return "test"
        if not status_in(doc.get("status"), self.statuses):
            return "status"
        if self.project(doc) in excluded:
            return "excluded"
        return "billable"

    @staticmethod
    def project(doc: dict[str, Any]) -> str:
        """The project: `id_project` read by `tenant_key`."""
        return tenant_key(doc.get("id_project"))

    def agent(self, doc: dict[str, Any]) -> str:
        """`_found_agent` with the "bot_" prefix; a published fork is its root."""
        found = _found_agent(doc, "bot_")
        if found is None:
            return UNATTRIBUTED
        forks = {k.lower(): v.lower() for k, v in self.forks.items()}
        return forks.get(found, found)


def day_of(doc: dict[str, Any], tz: str) -> date | None:
    """The local day of `createdAt` in `tz`, or None when it is no datetime (a string, a
    number, null or missing is in no range)."""
    created = doc.get("createdAt")
    if not isinstance(created, datetime):
        return None
    return created.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()


def local_day(doc: dict[str, Any], tz: str) -> date:
    """`day_of` for a document known to have a datetime `createdAt`."""
    day = day_of(doc, tz)
    if day is None:
        raise TypeError(f"createdAt {doc.get('createdAt')!r} is not a date")
    return day


def key_of(day: date, granularity: str) -> str:
    if granularity == "month":
        return day.strftime("%Y-%m")
    if granularity == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()


def counts(
    docs: list[dict[str, Any]],
    start: date,
    end: date,
    tz: str,
    granularity: str,
    excluded: set[str] = frozenset(),  # type: ignore[assignment]
    by: str = "org",
    org: str | None = None,
    stock: Stock | None = None,
) -> dict[str, dict[str, int]]:
    """{row id: {bucket key: billable count}} over [start, end] in `tz`."""
    rows = metrics(docs, start, end, tz, granularity, excluded, by, org, stock=stock)["rows"]
    return {
        row: {k: v["conversations"] for k, v in buckets.items() if k != "total"}
        for row, buckets in rows.items()
    }


def user_of(doc: dict[str, Any]) -> str | None:
    """The end user: an ObjectId is its hex, a non-empty string is lower-cased (an ObjectId
    and its 24-hex string in any case are one user); anything else (missing, null, "", a
    number, an object, an array) is no user."""
    requester = doc.get("requester")
    if isinstance(requester, ObjectId):
        return str(requester)
    if isinstance(requester, str) and requester:
        return requester.lower()
    return None


def _humans(participants: Any) -> bool:
    """A human agent took part: `participantsAgents` is a non-empty array (of anything);
    missing, null, [], a string or a bool: none."""
    return isinstance(participants, list) and len(participants) > 0


def handed_off(doc: dict[str, Any]) -> bool:
    return agent_of(doc) != UNATTRIBUTED and _humans(doc.get("participantsAgents"))


def depth_avg(depths: list[Decimal]) -> float | None:
    """The mean depth, exactly, rounded half up to 2 decimals (7.625 -> 7.63); None of none."""
    if not depths:
        return None
    with localcontext() as exact:
        exact.prec = 60  # the sums of the tests' depths are exact far below this
        mean = sum(depths, Decimal(0)) / len(depths)
        return float(mean.quantize(Decimal("0.01"), ROUND_HALF_UP))


def metrics(
    docs: list[dict[str, Any]],
    start: date,
    end: date,
    tz: str,
    granularity: str,
    excluded: set[str] = frozenset(),  # type: ignore[assignment]
    by: str = "org",
    org: str | None = None,
    agent: str | None = None,
    stock: Stock | None = None,
) -> dict[str, Any]:
    """Every metric, straight from the definitions: {"rows": {row: {bucket or "total":
    {metric: value}}}, "totals": {bucket or "total": {metric: value}}}; only rows with
    billable conversations, only buckets with some (and the grand total always). `stock`:
    read as stock Tiledesk.
    Distinct users are counted for each cell, never added across rows or buckets."""
    org_of_, agent_of_ = (org_of, agent_of) if stock is None else (stock.project, stock.agent)
    billable = (
        (lambda d: is_billable(d, excluded))
        if stock is None
        else (lambda d: stock.billable(d, excluded))
    )
    org = None if org is None else org.lower()
    agent = None if agent is None else agent.lower()
    picked: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for doc in docs:
        day = day_of(doc, tz)
        if day is None or not start <= day <= end or not billable(doc):
            continue
        if org is not None and org_of_(doc) != org:
            continue
        if agent is not None and agent_of_(doc) != agent:
            continue
        row = org_of_(doc) if by == "org" else agent_of_(doc)
        picked[row][key_of(day, granularity)].append(doc)

    def measure(group: list[dict[str, Any]]) -> dict[str, Any]:
        depths = [number(d.get("depth")) for d in group]
        return {
            "conversations": len(group),
            "users": len({u for u in map(user_of, group) if u is not None}),
            # stock Tiledesk stores no depth; a billable custom conversation has a number
            "depth_avg": None
            if stock is not None
            else depth_avg([d for d in depths if d is not None]),
            "handoffs": sum(
                1
                for d in group
                if agent_of_(d) != UNATTRIBUTED and _humans(d.get("participantsAgents"))
            ),
        }

    rows: dict[str, dict[str, Any]] = {}
    everything: dict[str, list[dict[str, Any]]] = defaultdict(list)
    everything["total"] = []  # the grand total is there even when nothing is billable
    for row, by_bucket in picked.items():
        rows[row] = {k: measure(g) for k, g in by_bucket.items()}
        rows[row]["total"] = measure([d for g in by_bucket.values() for d in g])
        for k, g in by_bucket.items():
            everything[k] += g
            everything["total"] += g
    return {"rows": rows, "totals": {k: measure(g) for k, g in everything.items()}}


def metrics_from_json(payload: dict[str, Any]) -> dict[str, Any]:
    """The CLI JSON in the shape of `metrics`: buckets without conversations dropped."""

    def keep(buckets: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {k: v for k, v in buckets.items() if v["conversations"]}

    rows = {r["id"]: keep(r["buckets"]) | {"total": r["totals"]} for r in payload["rows"]}
    totals = keep(payload["totals"]["buckets"]) | {"total": payload["totals"]["totals"]}
    return {"rows": rows, "totals": totals}


def from_json(payload: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The CLI JSON rows as {row id: {bucket key: count}}, zero buckets dropped."""
    return {
        row["id"]: {k: v["conversations"] for k, v in row["buckets"].items() if v["conversations"]}
        for row in payload["rows"]
    }


def naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt
