"""An independent pure-Python reading of docs/domain.md's billing rule, attribution and buckets.

It shares no code with usage_lib: tests compare the library's MongoDB results
against it over the same documents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo


def is_billable(doc: dict[str, Any], excluded: set[str]) -> bool:
    depth = doc.get("depth")
    return (
        doc.get("status") == 1000
        and doc.get("isTestMode") is not True
        and isinstance(depth, int | float)
        and not isinstance(depth, bool)
        and depth > 2
        and org_of(doc) not in excluded
    )


def org_of(doc: dict[str, Any]) -> str:
    org = doc.get("id_organization")
    if org is None or org == "":
        return "unassigned"
    return str(org).lower()


def agent_of(doc: dict[str, Any]) -> str:
    bot = (doc.get("attributes") or {}).get("bot_id")
    if isinstance(bot, str) and bot:
        return bot
    bots = doc.get("participantsBots")
    if isinstance(bots, list) and bots:
        return str(bots[0])
    return "unattributed"


# -- stock Tiledesk (docs/domain.md and ../shared/DOMAIN.md, "Stock Tiledesk") ----------------------


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
        return (
            (self.statuses is None or doc.get("status") in self.statuses)
            and not (self.exclude_drafts and doc.get("draft") is True)
            and not (self.exclude_preflight and doc.get("preflight") is True)
            and (doc.get("channel") or {}).get("name") not in self.exclude_channels
            and self.project(doc) not in excluded
        )

    @staticmethod
    def project(doc: dict[str, Any]) -> str:
        project = doc.get("id_project")
        return "unassigned" if project in (None, "") else str(project).lower()

    def agent(self, doc: dict[str, Any]) -> str:
        bot = (doc.get("attributes") or {}).get("bot_id")
        found: str | None = None
        if isinstance(bot, str) and bot:
            found = bot
        elif isinstance(doc.get("participantsBots"), list) and doc["participantsBots"]:
            found = str(doc["participantsBots"][0])
        else:
            for who in doc.get("participants") or []:
                if isinstance(who, str) and who.startswith("bot_") and len(who) > 4:
                    found = who[4:]
                    break
        if found is None:
            return "unattributed"
        return self.forks.get(found, found)


def local_day(doc: dict[str, Any], tz: str) -> date:
    return doc["createdAt"].replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()


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
    """The end user: an ObjectId and its 24-hex string (any case) are one; none is none."""
    requester = doc.get("requester")
    if requester is None or requester == "":
        return None
    return str(requester).lower()


def _humans(participants: Any) -> bool:
    """A human agent took part: a non-empty participantsAgents list."""
    return isinstance(participants, list) and len(participants) > 0


def handed_off(doc: dict[str, Any]) -> bool:
    return agent_of(doc) != "unattributed" and _humans(doc.get("participantsAgents"))


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
    billable conversations, only buckets with some. `stock`: read as stock Tiledesk."""
    org_of_, agent_of_ = (org_of, agent_of) if stock is None else (stock.project, stock.agent)
    billable = (
        (lambda d: is_billable(d, excluded))
        if stock is None
        else (lambda d: stock.billable(d, excluded))
    )
    picked: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for doc in docs:
        if not billable(doc):
            continue
        day = local_day(doc, tz)
        if not start <= day <= end:
            continue
        if org is not None and org_of_(doc) != org:
            continue
        if agent is not None and agent_of_(doc) != agent:
            continue
        row = org_of_(doc) if by == "org" else agent_of_(doc)
        picked[row][key_of(day, granularity)].append(doc)

    def measure(group: list[dict[str, Any]]) -> dict[str, Any]:
        depth = None  # stock Tiledesk stores no depth
        if stock is None:
            mean = Decimal(sum(d["depth"] for d in group)) / len(group)
            depth = float(mean.quantize(Decimal("0.01"), ROUND_HALF_UP))
        return {
            "conversations": len(group),
            "users": len({u for u in map(user_of, group) if u is not None}),
            "depth_avg": depth,
            "handoffs": sum(
                1
                for d in group
                if agent_of_(d) != "unattributed" and _humans(d.get("participantsAgents"))
            ),
        }

    rows: dict[str, dict[str, Any]] = {}
    everything: dict[str, list[dict[str, Any]]] = defaultdict(list)
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
