"""Trend charts with Altair, built from aggregated frames and rendered to static PNG.

Static images open offline, in any mail client, and carry no data rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl
import vl_convert as vlc

from usage_lib.core.buckets import Bucket
from usage_lib.core.cube import Cube
from usage_lib.core.metrics import TITLES
from usage_lib.core.tables import platform_table, table_buckets
from usage_lib.figures.adoption import activity

OTHERS = "All others"


@dataclass(frozen=True)
class Chart:
    """A chart with a text description (what nbval compares and what mail clients show as alt text)."""

    chart: alt.TopLevelMixin | dict[str, Any]  # an Altair chart, or a Vega-Lite spec
    description: str

    @property
    def spec(self) -> dict[str, Any]:
        return self.chart if isinstance(self.chart, dict) else self.chart.to_dict()

    def png(self, scale: float = 2.0) -> bytes:
        return bytes(vlc.vegalite_to_png(self.spec, scale=scale))

    def _repr_mimebundle_(
        self, include: object = None, exclude: object = None
    ) -> dict[str, object]:
        return {"image/png": self.png(), "text/plain": self.description}


def trend_data(cube: Cube, top: int = 6) -> pl.DataFrame:
    """month label x series (top organizations by total, then All others) -> conversations."""
    table = platform_table(cube, "month")
    bks = table_buckets(cube, "month")
    keep = table.head(top)["name"].to_list()
    long = table.unpivot(
        index=["name"], on=[b.key for b in bks], variable_name="key", value_name="n"
    )
    order = {b.key: (i, b.label) for i, b in enumerate(bks)}
    return (
        long.with_columns(
            pl.when(pl.col("name").is_in(keep))
            .then(pl.col("name"))
            .otherwise(pl.lit(OTHERS))
            .alias("series"),
            pl.col("key").replace_strict({k: v[1] for k, v in order.items()}).alias("month"),
            pl.col("key").replace_strict({k: v[0] for k, v in order.items()}).alias("order"),
        )
        .group_by("order", "month", "series")
        .agg(pl.col("n").sum().alias("conversations"))
        .sort("order", "series")
    )


def trend_chart(cube: Cube, top: int = 6) -> Chart:
    data = trend_data(cube, top)
    months = data.unique("order").sort("order")["month"].to_list()
    series = [s for s in data.unique("series")["series"].to_list() if s != OTHERS]
    ranked = sorted(
        series, key=lambda s: -int(data.filter(pl.col("series") == s)["conversations"].sum())
    )
    rank = {s: i for i, s in enumerate([*ranked, OTHERS])}
    values = data.with_columns(
        pl.col("series").replace_strict(rank, return_dtype=pl.Int64).alias("rank")
    )
    chart = (
        alt.Chart(
            alt.Data(values=values.select("month", "series", "rank", "conversations").to_dicts())
        )
        .mark_bar()
        .encode(
            x=alt.X("month:N", sort=months, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("conversations:Q", title="Billable conversations", stack="zero"),
            color=alt.Color("series:N", sort=[*ranked, OTHERS], title=cube.Tenant),
            order=alt.Order("rank:Q"),  # the largest organization at the bottom of every bar
        )
        .properties(width=520, height=280, title="Billable conversations per month")
    )
    description = (
        f"Stacked bars: billable conversations per month, {months[0]} to {months[-1]}, "
        f"for the top {len(ranked)} {cube.tenants} ({', '.join(ranked)}) and {OTHERS}."
        if months
        else "No data."
    )
    return Chart(chart, description)


def adoption_chart(cube: Cube) -> Chart:
    frame = activity(cube).select("label", "active_organizations", "active_agents")
    long = frame.unpivot(index="label", variable_name="what", value_name="count").with_columns(
        pl.col("what").replace_strict(
            {"active_organizations": cube.Tenants, "active_agents": "Agents"}
        )
    )
    chart = (
        alt.Chart(alt.Data(values=long.to_dicts()))
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "label:N", sort=frame["label"].to_list(), title=None, axis=alt.Axis(labelAngle=0)
            ),
            y=alt.Y("count:Q", title="Active (with billable conversations)"),
            color=alt.Color("what:N", title=None),
        )
        .properties(width=520, height=220, title=f"Active {cube.tenants} and agents per month")
    )
    return Chart(chart, f"Lines: active {cube.tenants} and active agents per month.")


ADDITIVE = ("conversations", "handoffs")


def view_chart(
    table: pl.DataFrame,
    bks: tuple[Bucket, ...],
    grain: str,
    metric: str,
    kind: str = "Organization",
    top: int = 6,
    interactive: bool = False,
) -> Chart:
    """Lines of a usage table's first `top` rows over its buckets (plus All others, summed,
    where the metric adds up); with `interactive`, tooltips for the live notebook.

    Written as a Vega-Lite dict, not built through Altair's classes: it is redrawn on every
    change in the explorer, and Altair's validation costs more than the data step."""
    keys = [b.key for b in bks]
    shown = table.head(top).select("name", *keys)
    rest = table.slice(top)
    if metric in ADDITIVE and rest.height:
        others = rest.select(
            pl.lit(f"{OTHERS} ({rest.height})").alias("name"), *[pl.col(k).sum() for k in keys]
        )
        shown = pl.concat([shown, others.cast(shown.schema)])
    labels = {b.key: b.label for b in bks}
    values = (
        shown.unpivot(index="name", on=keys, variable_name="key", value_name="value")
        .with_columns(pl.col("key").replace_strict(labels).alias("bucket"))
        .select("name", "bucket", "value")
        .to_dicts()
    )
    series = shown["name"].to_list()
    title = TITLES[metric]
    encoding: dict[str, object] = {
        "x": {
            "field": "bucket",
            "type": "nominal",
            "sort": list(labels.values()),
            "title": None,
            "axis": {"labelAngle": 0 if len(bks) <= 8 else -45},
        },
        "y": {"field": "value", "type": "quantitative", "title": title},
        "color": {"field": "name", "type": "nominal", "sort": series, "title": kind},
    }
    if interactive:
        number = ",.2f" if metric == "depth_avg" else ","
        encoding["tooltip"] = [
            {"field": "name", "type": "nominal", "title": kind},
            {"field": "bucket", "type": "nominal", "title": "Period"},
            {"field": "value", "type": "quantitative", "title": title, "format": number},
        ]
    spec = {
        "$schema": alt.SCHEMA_URL,
        "title": f"{title} per {grain}",
        "width": 560,
        "height": 260,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": encoding,
    }
    left_out = "" if metric in ADDITIVE or not rest.height else f"; {rest.height} more not drawn"
    description = (
        f"Lines: {title.lower()} per {grain}, {bks[0].label} to {bks[-1].label}, "
        f"for {', '.join(series)}{left_out}."
        if series and bks
        else "No data."
    )
    return Chart(spec, description)
