"""Restatements: what a recount says about months that earlier packs already published.

Conversations are counted by their start, once closed, and idle ones close two days
later, so a month keeps growing after it ends. Every pack records what it published
per organization and month (`published`); the next pack compares its recount with the
latest earlier publication of each month and lists every difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from usage_lib.core.cube import Cube
from usage_lib.core.tables import platform_table

SCHEMA = {
    "org_id": pl.String,
    "organization": pl.String,
    "month": pl.String,
    "published": pl.Int64,
    "now": pl.Int64,
    "change": pl.Int64,
    "published_at": pl.String,
}


def published(cube: Cube, source: str) -> dict[str, Any]:
    """What a pack publishes per organization and month (billable conversations), and from
    which data (`Source.key`): only publications of the same data are compared."""
    table = platform_table(cube, "month")
    months = [c for c in table.columns if c not in ("id", "name", "type", "total")]
    return {
        "source": source,
        "months": months,
        "organizations": {
            r["id"]: {"name": r["name"], "months": {m: r[m] for m in months if r[m]}}
            for r in table.iter_rows(named=True)
        },
    }


def restatements(
    now: Mapping[str, Any], earlier: Iterable[tuple[str, Mapping[str, Any]]]
) -> pl.DataFrame:
    """Every organization-month that the latest earlier publication of that month counted
    differently from `now` (both as `published` returns them); `earlier` holds
    (published_at, publication) pairs in any order."""
    latest: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for at, pub in sorted(earlier, key=lambda item: item[0]):
        if pub.get("source") != now.get("source"):
            continue  # other data (another database, or the demo of another month)
        for month in pub["months"]:
            if month in now["months"]:
                latest[month] = (at, pub)
    rows = []
    for month, (at, pub) in sorted(latest.items()):
        orgs = set(pub["organizations"]) | set(now["organizations"])
        for org in orgs:
            before = pub["organizations"].get(org, {}).get("months", {}).get(month, 0)
            after = now["organizations"].get(org, {}).get("months", {}).get(month, 0)
            if before != after:
                name = (now["organizations"].get(org) or pub["organizations"][org])["name"]
                rows.append((org, name, month, before, after, after - before, at))
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    return frame.sort(["month", "organization"])
