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


def lower(text: str) -> str:
    """MongoDB's `$toLower`: the ASCII letters A-Z only; every other character stays as it is
    (docs/domain.md; its manual: "only has a well-defined behavior for strings of ASCII
    characters", and mongod maps bytes A-Z alone)."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def upper(text: str) -> str:
    """`$toUpper`: a-z only."""
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in text)


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
        return lower(value) if value in (lower(value), upper(value)) else value
    return UNASSIGNED


def is_billable(
    doc: dict[str, Any],
    excluded: set[str],
    preflight: bool = False,
    channels: frozenset[str] = frozenset(),
) -> bool:
    """The custom profile's rule: a status numerically 1000, not a test (isTestMode is the
    boolean true), a numeric depth of at least 3 (a string, bool, null or missing depth
    fails), an organization not on the exclusion list; with `preflight`, not a preflight
    conversation, with `channels`, not one of those channels. The range is `day_of`'s."""
    return left_out_step(doc, excluded, preflight, channels) == "billable"


def holds(value: Any, wanted: Iterable[Any]) -> bool:
    """What leaves a conversation out of `preflight` and `channel.name`: the value is one of
    `wanted` (a bool is no number: true is not 1), or an array with one among its entries
    (one level: [[true]] holds no true)."""
    wanted = list(wanted)

    def equal(v: Any) -> bool:
        return any(type(v) is type(w) and v == w for w in wanted)

    return equal(value) or (isinstance(value, list) and any(equal(v) for v in value))


_ABSENT = object()


def resolve(value: Any, path: list[str]) -> Any:
    """An aggregation field path (`"$channel.name"`) read off a value: through an object to
    its field (absent: _ABSENT), through an array to the list of what each entry resolves
    to (entries that resolve to nothing left out; nested arrays stay nested)."""
    if not path:
        return value
    if isinstance(value, dict):
        return resolve(value[path[0]], path[1:]) if path[0] in value else _ABSENT
    if isinstance(value, list):
        found = [resolve(v, path) for v in value if isinstance(v, dict | list)]
        return [f for f in found if f is not _ABSENT]
    return _ABSENT


def preflight_out(doc: dict[str, Any]) -> bool:
    """`preflight` is true, or an array holding true."""
    return holds(doc.get("preflight", _ABSENT), [True])


def channel_out(doc: dict[str, Any], channels: Iterable[str]) -> bool:
    """`channel.name` (as an aggregation path reads it) is one of `channels`, or an array
    holding one."""
    return holds(resolve(doc, ["channel", "name"]), channels)


def left_out_step(
    doc: dict[str, Any],
    excluded: set[str],
    preflight: bool = False,
    channels: frozenset[str] = frozenset(),
) -> str:
    """The first step of the custom rule that leaves the conversation out (each field read
    as above), else "billable": preflight, channel, test, status, depth, excluded."""
    if preflight and preflight_out(doc):
        return "preflight"
    if channels and channel_out(doc, channels):
        return "channel"
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
            return lower(bot)
    bots = doc.get("participantsBots")
    if isinstance(bots, list) and bots and isinstance(bots[0], str) and bots[0]:
        return lower(bots[0])
    participants = doc.get("participants")
    if prefix and isinstance(participants, list):
        for who in participants:
            if isinstance(who, str) and who.startswith(prefix) and len(who) > len(prefix):
                return lower(who[len(prefix) :])
    return None


def agent_of(doc: dict[str, Any]) -> str:
    """The custom profile's agent (`_found_agent` without a prefix), else UNATTRIBUTED."""
    return _found_agent(doc) or UNATTRIBUTED


@dataclass(frozen=True)
class Custom:
    """The custom profile's reading, with the rule's optional steps: preflight conversations
    and channels left out."""

    exclude_preflight: bool = False
    exclude_channels: frozenset[str] = frozenset()

    def billable(self, doc: dict[str, Any], excluded: set[str]) -> bool:
        return is_billable(doc, excluded, self.exclude_preflight, self.exclude_channels)

    def left_out_step(self, doc: dict[str, Any], excluded: set[str]) -> str:
        return left_out_step(doc, excluded, self.exclude_preflight, self.exclude_channels)

    @staticmethod
    def project(doc: dict[str, Any]) -> str:
        return org_of(doc)

    @staticmethod
    def agent(doc: dict[str, Any]) -> str:
        return agent_of(doc)

    @staticmethod
    def is_test(doc: dict[str, Any]) -> bool:
        return is_test(doc.get("isTestMode"))


# -- stock Tiledesk (docs/domain.md and ../shared/DOMAIN.md, "Stock Tiledesk") ----------------------


def forks_of(faq_kbs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Published forks: a faq_kbs document whose `root_id` is an ObjectId or a non-empty
    string -> {its _id: the root}, both lower-case hex (any other root_id: not a fork)."""
    found = {}
    for bot in faq_kbs:
        root = bot.get("root_id")
        if isinstance(root, ObjectId) or (isinstance(root, str) and root):
            found[lower(str(bot["_id"]))] = lower(str(root))
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
        out; not `preflight_out` when those are; not `channel_out`; the project not
        excluded."""
        return self.left_out_step(doc, excluded) == "billable"

    def left_out_step(self, doc: dict[str, Any], excluded: set[str]) -> str:
        """The first step of `billable` that leaves the conversation out, else "billable":
        preflight, channel, test (a draft), status, excluded."""
        if self.exclude_preflight and preflight_out(doc):
            return "preflight"
        if self.exclude_channels and channel_out(doc, self.exclude_channels):
            return "channel"
        if self.exclude_drafts and is_test(doc.get("draft")):
            return "test"
        if not status_in(doc.get("status"), self.statuses):
            return "status"
        if self.project(doc) in excluded:
            return "excluded"
        return "billable"

    @staticmethod
    def is_test(doc: dict[str, Any]) -> bool:
        return is_test(doc.get("draft"))

    @staticmethod
    def project(doc: dict[str, Any]) -> str:
        """The project: `id_project` read by `tenant_key`."""
        return tenant_key(doc.get("id_project"))

    def agent(self, doc: dict[str, Any]) -> str:
        """`_found_agent` with the "bot_" prefix; a published fork is its root."""
        found = _found_agent(doc, "bot_")
        if found is None:
            return UNATTRIBUTED
        forks = {lower(k): lower(v) for k, v in self.forks.items()}
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
    stock: Stock | Custom | None = None,
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
        return lower(requester)
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
    stock: Stock | Custom | None = None,
) -> dict[str, Any]:
    """Every metric, straight from the definitions: {"rows": {row: {bucket or "total":
    {metric: value}}}, "totals": {bucket or "total": {metric: value}}}; only rows with
    billable conversations, only buckets with some (and the grand total always). `stock`:
    read as stock Tiledesk (a Stock), or under a custom rule with preflight and channels
    (a Custom).
    Distinct users are counted for each cell, never added across rows or buckets."""
    reading = stock or Custom()
    org_of_, agent_of_ = reading.project, reading.agent
    billable = lambda d: reading.billable(d, excluded)  # noqa: E731
    org = None if org is None else lower(org)
    agent = None if agent is None else lower(agent)
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
            if isinstance(stock, Stock)
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


# -- every other pass: the watch's, explain's steps, the statements' stream, the look-ups ----------

STATUS_NAMES = {50: "temporary", 100: "open", 150: "abandoned", 200: "assigned", 300: "served"}
STATUS_NAMES |= {1000: "closed"}


def in_range(doc: dict[str, Any], start: date, end: date, tz: str) -> bool:
    day = day_of(doc, tz)
    return day is not None and start <= day <= end


def status_name(value: Any) -> str:
    """A stored status in explain's words: a number equal to a known status (of any numeric
    type), else "other" (a string, a bool, null, missing, an array, another number)."""
    n = number(value)
    if n is None or n != n.to_integral_value():
        return "other"
    return STATUS_NAMES.get(int(n), "other")


def steps(
    docs: list[dict[str, Any]],
    start: date,
    end: date,
    tz: str,
    excluded: set[str],
    reading: Stock | Custom,
) -> dict[str, dict[str, Any]]:
    """explain: per tenant of the range, {"left": {step: n}, "status": {name: n},
    "missing": n, "billable": n}; each conversation is left out by its first step only, a
    status step counted by the stored status's name, a depth step as missing when the depth
    is no number."""
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if not in_range(doc, start, end, tz):
            continue
        t = out.setdefault(
            reading.project(doc), {"left": {}, "status": {}, "missing": 0, "billable": 0}
        )
        step = reading.left_out_step(doc, excluded)
        if step == "billable":
            t["billable"] += 1
            continue
        t["left"][step] = t["left"].get(step, 0) + 1
        if step == "status":
            name = status_name(doc.get("status"))
            t["status"][name] = t["status"].get(name, 0) + 1
        if step == "depth" and number(doc.get("depth")) is None:
            t["missing"] += 1
    return out


def activity(
    docs: list[dict[str, Any]],
    start: date,
    end: date,
    tz: str,
    excluded: set[str],
    reading: Stock | Custom,
) -> dict[tuple[str, str, date], tuple[int, int, int]]:
    """The watch: per (tenant, agent, local day), conversations started that are no test,
    tests, and billable ones, whatever their status and depth, of every tenant not excluded;
    preflight and channels left out as the rule says."""
    out: dict[tuple[str, str, date], tuple[int, int, int]] = {}
    for doc in docs:
        if not in_range(doc, start, end, tz) or reading.project(doc) in excluded:
            continue
        step = reading.left_out_step(doc, excluded)
        if step in ("preflight", "channel"):
            continue
        key = (reading.project(doc), reading.agent(doc), local_day(doc, tz))
        test = reading.is_test(doc)
        was = out.get(key, (0, 0, 0))
        out[key] = (was[0] + (not test), was[1] + test, was[2] + (step == "billable"))
    return out


def conversations(
    docs: list[dict[str, Any]],
    start: date,
    end: date,
    tz: str,
    customers: set[str],
    reading: Stock | Custom,
) -> dict[str, tuple[str, str, str]]:
    """The statements' stream: {_id: (customer, the step that leaves it out or "billable",
    its agent)} for each conversation of the range whose tenant is one of `customers`."""
    return {
        str(doc["_id"]): (
            reading.project(doc),
            reading.left_out_step(doc, set()),
            reading.agent(doc),
        )
        for doc in docs
        if in_range(doc, start, end, tz) and reading.project(doc) in customers
    }


def names(collection: list[dict[str, Any]], ids: Iterable[str]) -> dict[str, str]:
    """{id: name}: the document whose `_id` is the id's ObjectId or its hex string in either
    case; its `name` when that is a string with more than blanks, else the id."""
    out = {}
    for i in ids:
        found = [
            d
            for d in collection
            if (isinstance(d["_id"], ObjectId) and str(d["_id"]) == i)
            or (isinstance(d["_id"], str) and lower(d["_id"]) == i)
        ]
        name = found[0].get("name") if found else None
        out[i] = name if isinstance(name, str) and name.strip() else i
    return out


def billed(meters: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """Reconciliation's billed side: {(organization, month): the sum of the readings}, where
    the organization is `tenant_key` of `id_organization` (none: skipped), the month is a
    date's UTC month or a string's first 7 characters when they are YYYY-MM, and the reading
    `chat_conv_count` is a number (no bool, no string, no NaN)."""
    out: dict[tuple[str, str], float] = {}
    for doc in meters:
        org = tenant_key(doc.get("id_organization"))
        period = doc.get("period")
        if isinstance(period, datetime):
            month: str | None = naive(period).strftime("%Y-%m")
        elif isinstance(period, str) and len(period) >= 7 and _is_month(period[:7]):
            month = period[:7]
        else:
            month = None
        value = number(doc.get("chat_conv_count"))
        if org == UNASSIGNED or month is None or value is None:
            continue
        out[org, month] = out.get((org, month), 0.0) + float(value)
    return out


def _is_month(text: str) -> bool:
    digits = "0123456789"
    return (
        all(c in digits for c in text[:4])
        and text[4] == "-"
        and text[5:] in {f"{m:02d}" for m in range(1, 13)}
    )


def _dates(value: Any) -> list[datetime]:
    """The dates a query on `value` sees: the value itself, or an array's elements."""
    values = value if isinstance(value, list) else [value]
    return [naive(v) for v in values if isinstance(v, datetime)]


def day_counts(requests: list[dict[str, Any]], start: date, end: date, tz: str) -> dict[date, int]:
    """Documents started per local day of [start, end] (any status, any form of the rest)."""
    found: dict[date, int] = {}
    for doc in requests:
        if in_range(doc, start, end, tz):
            day = local_day(doc, tz)
            found[day] = found.get(day, 0) + 1
    return found


def edited_days(
    requests: list[dict[str, Any]], start: date, end: date, tz: str, since: datetime
) -> set[date]:
    """The local days of [start, end] with a document whose `updatedAt` (or an element of
    it) is a date at or after `since`."""
    return {
        local_day(doc, tz)
        for doc in requests
        if in_range(doc, start, end, tz) and any(d >= since for d in _dates(doc.get("updatedAt")))
    }
