"""An independent pure-Python reading of docs/domain.md's billing rule, attribution and buckets.

It shares no code with usage_lib: tests compare the library's MongoDB results
against it over the same documents.
"""

from __future__ import annotations

from collections import defaultdict
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
) -> dict[str, dict[str, int]]:
    """{row id: {bucket key: billable count}} over [start, end] in `tz`."""
    rows = metrics(docs, start, end, tz, granularity, excluded, by, org)["rows"]
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


def handed_off(doc: dict[str, Any]) -> bool:
    humans = doc.get("participantsAgents")
    return agent_of(doc) != "unattributed" and isinstance(humans, list) and len(humans) > 0


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
) -> dict[str, Any]:
    """Every metric, straight from the definitions: {"rows": {row: {bucket or "total":
    {metric: value}}}, "totals": {bucket or "total": {metric: value}}}; only rows with
    billable conversations, only buckets with some."""
    picked: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for doc in docs:
        if not is_billable(doc, excluded):
            continue
        day = local_day(doc, tz)
        if not start <= day <= end:
            continue
        if org is not None and org_of(doc) != org:
            continue
        if agent is not None and agent_of(doc) != agent:
            continue
        row = org_of(doc) if by == "org" else agent_of(doc)
        picked[row][key_of(day, granularity)].append(doc)

    def measure(group: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "conversations": len(group),
            "users": len({u for u in map(user_of, group) if u is not None}),
            "depth_avg": float(
                (Decimal(sum(d["depth"] for d in group)) / len(group)).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
            ),
            "handoffs": sum(1 for d in group if handed_off(d)),
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
