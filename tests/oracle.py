"""An independent pure-Python reading of docs/domain.md's billing rule, attribution and buckets.

It shares no code with usage_lib: tests compare the library's MongoDB results
against it over the same documents.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
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
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for doc in docs:
        if not is_billable(doc, excluded):
            continue
        day = local_day(doc, tz)
        if not start <= day <= end:
            continue
        if org is not None and org_of(doc) != org:
            continue
        row = org_of(doc) if by == "org" else agent_of(doc)
        out[row][key_of(day, granularity)] += 1
    return {k: dict(v) for k, v in out.items()}


def from_json(payload: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The CLI JSON rows as {row id: {bucket key: count}}, zero buckets dropped."""
    return {
        row["id"]: {k: v["conversations"] for k, v in row["buckets"].items() if v["conversations"]}
        for row in payload["rows"]
    }


def naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt
