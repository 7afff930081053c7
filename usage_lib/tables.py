"""Tables from the daily cube: platform (organizations), organization (its agents), agent.

A table is a polars frame with columns `id`, `name`, `type`, one column per
bucket key (zero-filled), and `total`; rows with a zero total are left out;
rows sort by total descending, then name (Unattributed always last).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from .config import ConfigError
from .cube import UNATTRIBUTED, Cube
from .periods import Bucket, Granularity, buckets, choose_granularity

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


def day_buckets(bks: tuple[Bucket, ...]) -> pl.DataFrame:
    """Every day of the buckets with its bucket key: the exact day -> bucket map."""
    days, keys = [], []
    for b in bks:
        for i in range((b.end - b.start).days + 1):
            days.append(b.start + timedelta(days=i))
            keys.append(b.key)
    return pl.DataFrame({"day": days, "bucket": keys}, schema={"day": pl.Date, "bucket": pl.String})


def bucketed(cube: Cube, bks: tuple[Bucket, ...], value: str = "billable") -> pl.DataFrame:
    """Cube rows with their bucket key and the counted value as `n`."""
    return cube.frame.join(day_buckets(bks), on="day", how="inner").with_columns(
        pl.col(value).alias("n")
    )


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


def platform_table(cube: Cube, granularity: str = "auto", value: str = "billable") -> pl.DataFrame:
    """Rows are organizations."""
    bks = table_buckets(cube, granularity)
    long = bucketed(cube, bks, value).select(
        pl.col("org_id").alias("id"), pl.col("org_name").alias("name"), "bucket", "n"
    )
    return _shape(long, bks, "organization")


def organization_table(cube: Cube, org_id: str, granularity: str = "auto") -> pl.DataFrame:
    """Rows are the organization's agents; they sum to its platform row."""
    bks = table_buckets(cube, granularity)
    long = (
        bucketed(cube, bks)
        .filter(pl.col("org_id") == org_id.lower())
        .select(pl.col("agent_id").alias("id"), pl.col("agent_name").alias("name"), "bucket", "n")
    )
    return _shape(long, bks, "agent")


def agent_table(
    cube: Cube, agent_id: str, org_id: str | None = None, granularity: str = "auto"
) -> pl.DataFrame:
    """One row: the agent across organizations, or within one."""
    if agent_id == UNATTRIBUTED and org_id is None:
        raise ConfigError(
            "agent", "unattributed needs an organization too (Unattributed is per organization)"
        )
    bks = table_buckets(cube, granularity)
    rows = bucketed(cube, bks).filter(pl.col("agent_id") == agent_id)
    if org_id is not None:
        rows = rows.filter(pl.col("org_id") == org_id.lower())
    long = rows.select(
        pl.col("agent_id").alias("id"), pl.col("agent_name").alias("name"), "bucket", "n"
    )
    return _shape(long, bks, "agent")


def totals(table: pl.DataFrame) -> dict[str, int]:
    """Column sums of a table's bucket columns and `total`."""
    value_columns = [c for c in table.columns if c not in KEY_COLUMNS]
    if table.height == 0:
        return {c: 0 for c in value_columns}
    row = table.select([pl.col(c).sum() for c in value_columns]).row(0, named=True)
    return {c: int(v) for c, v in row.items()}


def top_rows(table: pl.DataFrame, top: int, label: str = "All other organizations") -> pl.DataFrame:
    """The first `top` rows and one row summing the rest, so that the totals stay exact."""
    if table.height <= top + 1:
        return table
    rest = table.slice(top)
    values = [c for c in table.columns if c not in KEY_COLUMNS]
    other = rest.select(
        pl.lit("others").alias("id"),
        pl.lit(f"{label} ({rest.height})").alias("name"),
        pl.lit("others").alias("type"),
        *[pl.col(c).sum() for c in values],
    )
    return pl.concat([table.head(top), other.cast(table.schema)], how="vertical")


def with_totals_row(table: pl.DataFrame, label: str = "Total") -> pl.DataFrame:
    """The table plus a final totals row, for display."""
    sums = totals(table)
    row = pl.DataFrame(
        {"id": ["total"], "name": [label], "type": ["total"], **{k: [v] for k, v in sums.items()}}
    )
    return pl.concat([table, row.cast(table.schema)], how="vertical")
