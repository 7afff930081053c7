"""Headline figures and adoption over the months of a cube: active, new, returning, dormant, movers."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .cube import UNATTRIBUTED, Cube
from .tables import bucketed, table_buckets, zero_fill


def monthly(cube: Cube) -> pl.DataFrame:
    """Billable conversations per organization and month: org_id, org_name, month, n (n > 0)."""
    bks = table_buckets(cube, "month")
    return (
        bucketed(cube, bks)
        .group_by("org_id", "org_name", pl.col("bucket").alias("month"))
        .agg(pl.col("n").sum())
        .filter(pl.col("n") > 0)
        .sort("month", "org_id")
    )


def months_of(cube: Cube) -> list[str]:
    return [b.key for b in table_buckets(cube, "month")]


def month_label(cube: Cube, key: str) -> str:
    return next(b.label for b in table_buckets(cube, "month") if b.key == key)


@dataclass(frozen=True)
class Headline:
    month: str
    label: str
    billable: int
    previous: int | None  # the month before, when it is in the cube
    previous_label: str | None
    active_organizations: int
    active_agents: int
    new_organizations: tuple[str, ...]  # names, first active this month

    @property
    def change(self) -> float | None:
        if not self.previous:
            return None
        return (self.billable - self.previous) / self.previous

    def change_text(self) -> str:
        if self.change is None:
            return "no previous month to compare"
        return f"{self.change:+.0%} vs {self.previous_label}"


def headline(cube: Cube, month: str) -> Headline:
    """The report month's figures: its row of `activity`, the month before, and who is new."""
    table = activity(cube)
    keys = table["month"].to_list()
    if month not in keys:
        raise ValueError(f"month {month} is not in the cube's range {cube.range.describe()}")
    i = keys.index(month)
    row = table.row(i, named=True)
    before = None if i == 0 else table.row(i - 1, named=True)
    per_org = monthly(cube)
    earlier = per_org.filter(pl.col("month") < month)["org_id"].to_list()
    new = per_org.filter((pl.col("month") == month) & ~pl.col("org_id").is_in(earlier))
    return Headline(
        month=month,
        label=row["label"],
        billable=row["billable"],
        previous=None if before is None else before["billable"],
        previous_label=None if before is None else before["label"],
        active_organizations=row["active_organizations"],
        active_agents=row["active_agents"],
        new_organizations=tuple(sorted(new["org_name"].to_list())) if i > 0 else (),
    )


def activity(cube: Cube) -> pl.DataFrame:
    """Per month: billable, growth, active organizations and agents, new, returning, dormant."""
    keys = months_of(cube)
    per_org = monthly(cube)
    bks = table_buckets(cube, "month")
    agents = (
        bucketed(cube, bks)
        .filter(pl.col("agent_id") != UNATTRIBUTED)
        .group_by("bucket", "agent_id")
        .agg(pl.col("n").sum())
        .filter(pl.col("n") > 0)
    )
    rows = []
    seen: set[str] = set()
    before: set[str] = set()
    previous_total = None
    for i, key in enumerate(keys):
        month = per_org.filter(pl.col("month") == key)
        active = set(month["org_id"].to_list())
        total = int(month["n"].sum())
        rows.append(
            {
                "month": key,
                "label": month_label(cube, key),
                "billable": total,
                "growth": None if not previous_total else (total - previous_total) / previous_total,
                "active_organizations": len(active),
                "active_agents": agents.filter(pl.col("bucket") == key).height,
                "new": None if i == 0 else len(active - seen),
                "returning": None if i == 0 else len((active & seen) - before),
                "dormant": None if i == 0 else len(before - active),
            }
        )
        seen |= active
        before = active
        previous_total = total
    return pl.DataFrame(
        rows,
        schema={
            "month": pl.String,
            "label": pl.String,
            "billable": pl.Int64,
            "growth": pl.Float64,
            "active_organizations": pl.Int64,
            "active_agents": pl.Int64,
            "new": pl.Int64,
            "returning": pl.Int64,
            "dormant": pl.Int64,
        },
    )


def movers(cube: Cube, month: str, top: int = 5) -> pl.DataFrame:
    """Organizations with the biggest change from the previous month: name, before, after, change."""
    keys = months_of(cube)
    i = keys.index(month)
    if i == 0:
        return pl.DataFrame(
            schema={
                "name": pl.String,
                "before": pl.Int64,
                "after": pl.Int64,
                "change": pl.Int64,
                "change_pct": pl.Float64,
            }
        )
    per_org = monthly(cube)
    wide = per_org.filter(pl.col("month").is_in([keys[i - 1], month])).pivot(
        on="month", index=["org_id", "org_name"], values="n"
    )
    frame = (
        zero_fill(wide, [keys[i - 1], month])
        .select(
            pl.col("org_name").alias("name"),
            pl.col(keys[i - 1]).alias("before"),
            pl.col(month).alias("after"),
        )
        .with_columns((pl.col("after") - pl.col("before")).alias("change"))
    )
    frame = frame.with_columns(
        pl.when(pl.col("before") > 0).then(pl.col("change") / pl.col("before")).alias("change_pct")
    )
    up = (
        frame.filter(pl.col("change") > 0)
        .sort(["change", "name"], descending=[True, False])
        .head(top)
    )
    down = frame.filter(pl.col("change") < 0).sort(["change", "name"]).head(top)
    return pl.concat([up, down])


def starters(cube: Cube) -> pl.DataFrame:
    """Organizations first active after the window's first month, with their monthly series."""
    keys = months_of(cube)
    per_org = monthly(cube)
    first = per_org.group_by("org_id").agg(pl.col("month").min().alias("first"))
    late = first.filter(pl.col("first") > keys[0])["org_id"].to_list()
    if not late:
        return pl.DataFrame(schema={"name": pl.String, "first_month": pl.String})
    wide = per_org.filter(pl.col("org_id").is_in(late)).pivot(
        on="month", index=["org_id", "org_name"], values="n", sort_columns=True
    )
    return (
        zero_fill(wide, keys)
        .join(first, on="org_id")
        .sort(["first", "org_name"])
        .select(pl.col("org_name").alias("name"), pl.col("first").alias("first_month"), *keys)
    )
