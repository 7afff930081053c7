"""Tables from the daily cube: platform (organizations), organization (its agents), agent.

A table is a polars frame with columns `id`, `name`, `type`, one column per
bucket key (zero-filled), and `total`; rows with a zero total are left out;
rows sort by total descending, then name (Unattributed always last).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from usage_lib.core.buckets import Bucket, Granularity, bucketed, buckets, choose_granularity
from usage_lib.core.cube import UNATTRIBUTED, Cube
from usage_lib.core.metrics import ALL, LEVELS, METRICS
from usage_lib.errors import ConfigError

KEY_COLUMNS = ("id", "name", "type")


def table_buckets(cube: Cube, granularity: str = "auto") -> tuple[Bucket, ...]:
    grain: Granularity = choose_granularity(cube.range, granularity)
    if cube.grain == "month" and grain != "month":
        raise ConfigError(
            "granularity",
            f"this cube holds months; {grain}ly tables need a daily cube "
            "(query_cube(..., grain='day'), the default)",
        )
    return buckets(cube.range, grain)


def zero_fill(wide: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Every bucket column present, as whole numbers, zero where there was nothing."""
    missing = [pl.lit(0, pl.Int64).alias(k) for k in keys if k not in wide.columns]
    return wide.with_columns(missing).with_columns(
        [pl.col(k).fill_null(0).cast(pl.Int64) for k in keys]
    )


def _shape(long: pl.DataFrame, bks: tuple[Bucket, ...], kind: str) -> pl.DataFrame:
    """(id, name, bucket, n) -> wide, zero-filled, totalled, sorted, zero rows dropped."""
    keys = [b.key for b in bks]
    grouped = long.group_by("id", "bucket").agg(pl.col("n").sum())
    names = long.group_by("id").agg(pl.col("name").first())
    wide = (
        grouped.pivot(on="bucket", index="id", values="n", sort_columns=False)
        if grouped.height
        else pl.DataFrame(schema={"id": pl.String})
    )
    wide = (
        zero_fill(wide, keys)
        .join(names, on="id", how="left")
        .with_columns(
            pl.lit(kind).alias("type"),
            pl.sum_horizontal([pl.col(k) for k in keys] or [pl.lit(0, pl.Int64)]).alias("total"),
        )
    )
    return (
        wide.filter(pl.col("total") > 0)
        .with_columns((pl.col("id") == UNATTRIBUTED).alias("_last"))
        .sort(["_last", "total", "name", "id"], descending=[False, True, False, False])
        .select([*KEY_COLUMNS, *keys, "total"])
    )


@dataclass(frozen=True)
class Scope:
    """Which rows a table has: the organizations, one organization's agents, or one agent
    (within one organization, or across them)."""

    level: Literal["platform", "organization", "agent"] = "platform"
    org_id: str | None = None
    agent_id: str | None = None

    @property
    def users_level(self) -> str:
        if self.level == "agent" and self.org_id is None:
            return "agent_anywhere"
        return self.level


SUMS = ("n", "depth_sum", "depth_n", "handoffs")


def _long(cube: Cube, bks: tuple[Bucket, ...], scope: Scope) -> pl.DataFrame:
    """(id, name, bucket, n, depth_sum, depth_n, handoffs) of the scope's cube rows."""
    rows = bucketed(cube, bks)
    if scope.level == "platform":
        ident, name = "org_id", "org_name"
    else:
        ident, name = "agent_id", "agent_name"
        if scope.org_id is not None:
            rows = rows.filter(pl.col("org_id") == scope.org_id.lower())
        if scope.level == "agent":
            if scope.agent_id == UNATTRIBUTED and scope.org_id is None:
                raise ConfigError(
                    "agent",
                    "unattributed needs an organization too (Unattributed is per organization)",
                )
            rows = rows.filter(pl.col("agent_id") == scope.agent_id)
    return rows.select(
        pl.col(ident).alias("id"), pl.col(name).alias("name"), "bucket", *SUMS[1:], "n"
    )


def metric_value(metric: str) -> pl.Expr:
    """A metric from summed columns (not users, which are counted in the pass)."""
    if metric == "conversations":
        return pl.col("n")
    if metric == "handoffs":
        return pl.col("handoffs")
    if metric == "depth_avg":
        return (
            pl.when(pl.col("depth_n") > 0)
            # to 2 decimals, half up, in exact integer arithmetic (a float mean of 5.175 is
            # 5.17499..., which a float rounding would take down)
            .then(
                (
                    ((pl.col("depth_sum") * 200 + pl.col("depth_n")) // (pl.col("depth_n") * 2))
                    / 100
                ).round(2)  # the nearest float to those cents
            )
            .otherwise(None)
        )
    raise ConfigError("metric", f"{metric!r} is not one of {', '.join(METRICS)}")


def _check_read(cube: Cube, metric: str, grain: str) -> None:
    if metric not in METRICS:
        raise ConfigError("metrics", f"{metric!r} is not one of {', '.join(METRICS)}")
    if metric not in cube.metrics:
        raise ConfigError(
            "metrics", f"this cube was read without {metric}; read it with that metric"
        )
    if metric == "users" and cube.users_granularity != grain:
        raise ConfigError(
            "metrics",
            f"distinct users were counted per {cube.users_granularity}, not per {grain}: "
            "they cannot be added up, so read the cube for this granularity",
        )


def _users(cube: Cube, scope: Scope, rows: bool) -> pl.DataFrame:
    """(id, bucket, users) of the scope's rows (`rows`) or of all of them together; the
    bucket ALL is the whole range."""
    assert cube.users is not None
    u = cube.users
    if scope.level == "platform":
        wanted = (pl.col("org_id") != ALL) if rows else (pl.col("org_id") == ALL)
        frame, ident = u.filter(wanted & (pl.col("agent_id") == ALL)), "org_id"
    elif scope.level == "organization":
        assert scope.org_id is not None
        agents = (pl.col("agent_id") != ALL) if rows else (pl.col("agent_id") == ALL)
        frame, ident = u.filter((pl.col("org_id") == scope.org_id.lower()) & agents), "agent_id"
    else:
        org = ALL if scope.org_id is None else scope.org_id.lower()
        frame = u.filter((pl.col("org_id") == org) & (pl.col("agent_id") == scope.agent_id))
        ident = "agent_id"
    if LEVELS[scope.users_level][0] not in cube.users_levels:
        raise ConfigError(
            "metrics", f"distinct users were not counted for {scope.users_level} tables"
        )
    return frame.select(pl.col(ident).alias("id"), "bucket", "users")


def usage_table(
    cube: Cube, scope: Scope, granularity: str = "auto", metric: str = "conversations"
) -> pl.DataFrame:
    """The scope's rows x buckets of one metric, with a `total` column. The rows, and their
    order, are those with billable conversations, whatever the metric."""
    bks = table_buckets(cube, granularity)
    _check_read(cube, metric, choose_granularity(cube.range, granularity))
    long = _long(cube, bks, scope)
    base = _shape(long, bks, cube.tenant if scope.level == "platform" else "agent")
    if metric == "conversations":
        return base
    keys = [b.key for b in bks]
    if metric == "users":
        users = _users(cube, scope, rows=True)
        per_bucket = users.filter(pl.col("bucket") != ALL).rename({"users": "v"})
        total = users.filter(pl.col("bucket") == ALL).select("id", pl.col("users").alias("total"))
    else:
        sums = [pl.col(c).sum() for c in SUMS]
        per_bucket = (
            long.group_by("id", "bucket")
            .agg(sums)
            .select("id", "bucket", metric_value(metric).alias("v"))
        )
        total = long.group_by("id").agg(sums).select("id", metric_value(metric).alias("total"))
    wide = (
        per_bucket.pivot(on="bucket", index="id", values="v", sort_columns=False)
        if per_bucket.height
        else pl.DataFrame(schema={"id": pl.String})
    )
    dtype = pl.Float64 if metric == "depth_avg" else pl.Int64
    wide = wide.with_columns([pl.lit(None, dtype).alias(k) for k in keys if k not in wide.columns])
    out = (
        base.select(KEY_COLUMNS)
        .join(wide, on="id", how="left")
        .join(total, on="id", how="left")
        .with_columns([pl.col(c).cast(dtype) for c in [*keys, "total"]])
        .with_columns(
            []
            if metric == "depth_avg"
            else [pl.col(c).fill_null(0) for c in keys]
            + (
                []
                if metric == "users" and not cube.users_totals
                else [pl.col("total").fill_null(0)]
            )
        )
    )
    return out.select([*KEY_COLUMNS, *keys, "total"])


def usage_totals(
    cube: Cube, scope: Scope, granularity: str = "auto", metric: str = "conversations"
) -> dict[str, int | float | None]:
    """The totals row of `usage_table`: per bucket and `total`. Sums for conversations and
    hand-offs, the mean over all the conversations for depth, distinct counts for users."""
    bks = table_buckets(cube, granularity)
    _check_read(cube, metric, choose_granularity(cube.range, granularity))
    keys = [b.key for b in bks]
    if metric == "users":
        users = _users(cube, scope, rows=False)
        if scope.level == "agent":  # one row: its own counts are the totals
            users = users.filter(pl.col("id") == scope.agent_id)
        found = dict(zip(users["bucket"].to_list(), users["users"].to_list(), strict=True))
        counts: dict[str, int | float | None] = {k: int(found.get(k, 0)) for k in keys}
        # without the range's own count (the pack reads months only) the total is unknown
        return counts | {"total": int(found.get(ALL, 0)) if cube.users_totals else None}
    long = _long(cube, bks, scope)
    sums = [pl.col(c).sum() for c in SUMS]
    per = long.group_by("bucket").agg(sums).select("bucket", metric_value(metric).alias("v"))
    found = dict(zip(per["bucket"].to_list(), per["v"].to_list(), strict=True))
    whole = long.select(sums).select(metric_value(metric)).item() if long.height else None
    empty = None if metric == "depth_avg" else 0
    values: dict[str, int | float | None] = {k: found.get(k, empty) for k in keys}
    values["total"] = empty if whole is None else whole
    return values


def platform_table(
    cube: Cube, granularity: str = "auto", metric: str = "conversations"
) -> pl.DataFrame:
    """Rows are organizations."""
    return usage_table(cube, Scope("platform"), granularity, metric)


def organization_table(
    cube: Cube, org_id: str, granularity: str = "auto", metric: str = "conversations"
) -> pl.DataFrame:
    """Rows are the organization's agents; they sum to its platform row."""
    return usage_table(cube, Scope("organization", org_id), granularity, metric)


def agent_table(
    cube: Cube,
    agent_id: str,
    org_id: str | None = None,
    granularity: str = "auto",
    metric: str = "conversations",
) -> pl.DataFrame:
    """One row: the agent across organizations, or within one."""
    return usage_table(cube, Scope("agent", org_id, agent_id), granularity, metric)


def totals(table: pl.DataFrame) -> dict[str, int]:
    """Column sums of a table's bucket columns and `total`."""
    value_columns = [c for c in table.columns if c not in KEY_COLUMNS]
    if table.height == 0:
        return {c: 0 for c in value_columns}
    row = table.select([pl.col(c).sum() for c in value_columns]).row(0, named=True)
    return {c: int(v) for c, v in row.items()}


def top_rows(
    table: pl.DataFrame,
    top: int,
    label: str = "All other organizations",
    additive: bool = True,
) -> pl.DataFrame:
    """The first `top` rows and one row for the rest, "<label> (K)", so that a table of
    thousands reads well: it sums them when the metric adds up (conversations, hand-offs),
    and is blank for distinct users and averages, which do not (their totals row, from
    `usage_totals`, stays exact)."""
    if table.height <= top + 1:
        return table
    rest = table.slice(top)
    values = [c for c in table.columns if c not in KEY_COLUMNS]
    other = rest.select(
        pl.lit("others").alias("id"),
        pl.lit(f"{label} ({rest.height:,})").alias("name"),
        pl.lit("others").alias("type"),
        *[pl.col(c).sum() if additive else pl.lit(None).alias(c) for c in values],
    )
    return pl.concat([table.head(top), other.cast(table.schema)], how="vertical")


ADDITIVE = ("conversations", "handoffs")


def with_totals_row(
    table: pl.DataFrame,
    label: str = "Total",
    sums: Mapping[str, int | float | None] | None = None,
) -> pl.DataFrame:
    """The table plus a final totals row, for display: `sums` (from `usage_totals`), or the
    column sums (right for conversations and hand-offs only)."""
    values: Mapping[str, int | float | None] = totals(table) if sums is None else sums
    row = pl.DataFrame(
        {"id": ["total"], "name": [label], "type": ["total"], **{k: [v] for k, v in values.items()}}
    )
    return pl.concat([table, row.cast(table.schema)], how="vertical")


def every_agent(
    cube: Cube, granularity: str = "month", metric: str = "conversations"
) -> pl.DataFrame:
    """Every tenant's agents in one table (org_id, org_name, then a usage table's columns),
    the largest tenants first, each one's agents in its drill-down order: the pack's
    tables/agents.csv, in one polars step however many tenants there are."""
    if metric == "users":
        raise ConfigError("metrics", "distinct users per agent are not in this table")
    bks = table_buckets(cube, granularity)
    _check_read(cube, metric, choose_granularity(cube.range, granularity))
    keys = [b.key for b in bks]
    rows = bucketed(cube, bks)
    sums = [pl.col(c).sum() for c in SUMS]
    ident = ["org_id", "org_name", "agent_id", "agent_name"]
    per = rows.group_by(*ident, "bucket").agg(sums).with_columns(metric_value(metric).alias("v"))
    whole = rows.group_by(ident).agg(sums)
    total = whole.select(
        *ident,
        metric_value(metric).alias("total"),
        pl.col("n").alias("_n"),
        pl.col("n").sum().over("org_id").alias("_org_n"),
    ).filter(pl.col("_n") > 0)
    wide = (
        per.pivot(on="bucket", index=ident, values="v", sort_columns=False)
        if per.height
        else pl.DataFrame(schema=dict.fromkeys(ident, pl.String))
    )
    dtype = pl.Float64 if metric == "depth_avg" else pl.Int64
    wide = wide.with_columns([pl.lit(None, dtype).alias(k) for k in keys if k not in wide.columns])
    out = total.join(wide, on=ident, how="left").with_columns(
        [pl.col(c).cast(dtype) for c in [*keys, "total"]]
    )
    if metric != "depth_avg":
        out = out.with_columns([pl.col(c).fill_null(0) for c in [*keys, "total"]])
    return (
        out.with_columns((pl.col("agent_id") == UNATTRIBUTED).alias("_last"))
        .sort(
            ["_org_n", "org_name", "org_id", "_last", "_n", "agent_name"],
            descending=[True, False, False, False, True, False],
        )
        .select(
            "org_id",
            "org_name",
            pl.col("agent_id").alias("id"),
            pl.col("agent_name").alias("name"),
            pl.lit("agent").alias("type"),
            *keys,
            "total",
        )
    )


@dataclass(frozen=True)
class Answer:
    """What `usage-report table` shows: the scope's tables of each metric asked, their totals
    rows and buckets, and the cube they were cut from."""

    cube: Cube
    scope: Scope
    granularity: Granularity
    buckets: tuple[Bucket, ...]
    tables: dict[str, pl.DataFrame]
    sums: dict[str, dict[str, int | float | None]]

    @property
    def empty(self) -> bool:
        return next(iter(self.tables.values())).height == 0


def answer(
    source: Any, scope: Scope, rng: Any, granularity: str, metrics: tuple[str, ...]
) -> Answer:
    """One pass for the scope (an organization's or an agent's reads that one only) with the
    metrics asked, distinct users counted for its buckets, then its tables."""
    from usage_lib.core.metrics import Reading, Users
    from usage_lib.core.source import read_cube

    grain = choose_granularity(rng, granularity)
    reading = Reading.of(metrics, Users(grain, LEVELS[scope.users_level]))
    cube = read_cube(source, rng, reading=reading, org=scope.org_id, agent=scope.agent_id)
    return Answer(
        cube,
        scope,
        grain,
        buckets(rng, grain),
        {m: usage_table(cube, scope, grain, m) for m in metrics},
        {m: usage_totals(cube, scope, grain, m) for m in metrics},
    )
