"""Headline figures and adoption over the months of a cube: active, new, returning, dormant, movers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from usage_lib.core.buckets import bucketed
from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED, Cube
from usage_lib.core.metrics import ALL
from usage_lib.core.tables import metric_value, table_buckets, zero_fill


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
    users: int | None = None  # distinct end users, when the cube counted them
    previous_users: int | None = None
    handoff_rate: float | None = None  # hand-offs per agent-attributed conversation
    previous_handoff_rate: float | None = None
    tenant: str = "organization"  # the cube's word for a customer
    unassigned: int = 0  # billable conversations with no organization (not an active one)

    @property
    def change(self) -> float | None:
        if not self.previous:
            return None
        return (self.billable - self.previous) / self.previous

    def change_text(self) -> str:
        if self.change is None:
            return "no previous month to compare"
        return f"{self.change:+.0%} vs {self.previous_label}"

    def users_text(self) -> str:
        if not self.users or not self.previous_users:
            return "distinct requesters"
        return f"{(self.users - self.previous_users) / self.previous_users:+.0%} vs {self.previous_label}"

    def handoff_text(self) -> str:
        if self.handoff_rate is None or self.previous_handoff_rate is None:
            return "of agent conversations went to a human"
        points = (self.handoff_rate - self.previous_handoff_rate) * 100
        return f"{points:+.1f} points vs {self.previous_label}"


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
    new = per_org.filter(
        (pl.col("month") == month)
        & ~pl.col("org_id").is_in(earlier)
        & (pl.col("org_id") != UNASSIGNED)
    )
    unassigned = per_org.filter((pl.col("month") == month) & (pl.col("org_id") == UNASSIGNED))
    users = month_users(cube)
    rates = handoff_rates(cube)
    before_key = None if before is None else before["month"]
    return Headline(
        month=month,
        label=row["label"],
        billable=row["billable"],
        previous=None if before is None else before["billable"],
        previous_label=None if before is None else before["label"],
        active_organizations=row["active_organizations"],
        active_agents=row["active_agents"],
        new_organizations=tuple(sorted(new["org_name"].to_list())) if i > 0 else (),
        users=users.get((ALL, month)),
        previous_users=users.get((ALL, before_key)) if before_key else None,
        handoff_rate=rates.get(month),
        previous_handoff_rate=rates.get(before_key) if before_key else None,
        tenant=cube.tenant,
        unassigned=int(unassigned["n"].sum()),
    )


def month_users(cube: Cube) -> dict[tuple[str, str], int]:
    """Distinct end users per (organization id, or ALL for the platform; month), as the pass
    counted them (empty if it did not)."""
    if cube.users is None or cube.users_granularity != "month":
        return {}
    rows = cube.users.filter((pl.col("agent_id") == ALL) & (pl.col("bucket") != ALL))
    return {(r["org_id"], r["bucket"]): r["users"] for r in rows.iter_rows(named=True)}


def handoff_rates(cube: Cube, by: str | None = None) -> dict[Any, float]:
    """Hand-offs per agent-attributed conversation, per month (or per (`by`, month))."""
    if "handoffs" not in cube.metrics:
        return {}
    keys = ["bucket"] if by is None else [by, "bucket"]
    rows = (
        bucketed(cube, table_buckets(cube, "month"))
        .filter(pl.col("agent_id") != UNATTRIBUTED)
        .group_by(keys)
        .agg(pl.col("n").sum(), pl.col("handoffs").sum())
        .filter(pl.col("n") > 0)
    )
    return {
        (r["bucket"] if by is None else (r[by], r["bucket"])): r["handoffs"] / r["n"]
        for r in rows.iter_rows(named=True)
    }


def engagement(cube: Cube, month: str) -> pl.DataFrame:
    """Per organization, the report month: conversations, end users and the hand-off rate,
    each with its change against the month before (users in %, the rate in points)."""
    keys = months_of(cube)
    before = keys[keys.index(month) - 1] if keys.index(month) > 0 else None
    per_org = monthly(cube).filter(pl.col("month") == month)
    rates = handoff_rates(cube, by="org_id")
    users = month_users(cube)
    rows = []
    for r in per_org.sort(["n", "org_name"], descending=[True, False]).iter_rows(named=True):
        org = r["org_id"]
        now_u, was_u = users.get((org, month)), users.get((org, before)) if before else None
        now_r, was_r = rates.get((org, month)), rates.get((org, before)) if before else None
        rows.append(
            {
                "name": r["org_name"],
                "conversations": r["n"],
                "users": now_u,
                "users_change": (now_u - was_u) / was_u if now_u is not None and was_u else None,
                "handoff_rate": now_r,
                "handoff_rate_change": now_r - was_r
                if now_r is not None and was_r is not None
                else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "name": pl.String,
            "conversations": pl.Int64,
            "users": pl.Int64,
            "users_change": pl.Float64,
            "handoff_rate": pl.Float64,
            "handoff_rate_change": pl.Float64,
        },
    )


def deleted_name(agent_id: str) -> str:
    """A deleted agent as every page, table and email names it: `Agent 6592…c190 (deleted)`."""
    short = agent_id if len(agent_id) <= 10 else f"{agent_id[:4]}…{agent_id[-4:]}"
    return f"Agent {short} (deleted)"


def deleted_agents(cube: Cube) -> dict[str, str]:
    """The agents that no longer exist, by id, with the name they are shown under."""
    ids = cube.frame.filter(~pl.col("agent_exists"))["agent_id"].unique().sort().to_list()
    return {i: deleted_name(i) for i in ids if i != UNATTRIBUTED}


def with_deleted_names(cube: Cube) -> Cube:
    """The cube with each deleted agent's name as every page shows it (`deleted_name`)."""
    gone = deleted_agents(cube)
    if not gone:
        return cube
    named = pl.col("agent_id").replace_strict(gone, default=pl.col("agent_name"))
    return replace(cube, frame=cube.frame.with_columns(named.alias("agent_name")))


def agent_quality(cube: Cube, org_id: str) -> pl.DataFrame:
    """An organization's agents over the whole range: conversations, hand-off rate and
    average depth (Unattributed has no hand-off rate)."""
    rows = (
        cube.frame.filter((pl.col("org_id") == org_id.lower()) & (pl.col("billable") > 0))
        .group_by("agent_id", "agent_name")
        .agg(pl.col("billable", "handoffs", "depth_sum", "depth_n").sum())
    )
    return (
        rows.with_columns(
            pl.when(pl.col("agent_id") != UNATTRIBUTED)
            .then(pl.col("handoffs") / pl.col("billable"))
            .alias("handoff_rate"),
            metric_value("depth_avg").alias("depth_avg"),
            (pl.col("agent_id") == UNATTRIBUTED).alias("_last"),
        )
        .sort(["_last", "billable", "agent_name"], descending=[False, True, False])
        .select(
            pl.col("agent_id")
            .replace_strict(deleted_agents(cube), default=pl.col("agent_name"))
            .alias("agent"),
            pl.col("billable").alias("conversations"),
            "handoff_rate",
            "depth_avg",
        )
    )


def activity(cube: Cube) -> pl.DataFrame:
    """Per month: billable, growth, active organizations and agents, new, returning, dormant.

    The organizations are customers: the row of conversations with no organization counts
    in `billable`, never as an active, new, returning or dormant one."""
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
        active = set(month["org_id"].to_list()) - {UNASSIGNED}
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
