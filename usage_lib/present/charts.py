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
EMAIL_WIDTH = 568  # the email's content width (600 px less its padding), in CSS pixels
FONT = "Helvetica, Arial, sans-serif"
# Text sizes for a chart shown at its own width: 12 px labels, 14 px titles.
CONFIG: dict[str, Any] = {
    "font": FONT,
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 160},
    "title": {"fontSize": 14, "anchor": "start"},
    "view": {"stroke": None},
}


@dataclass(frozen=True)
class Chart:
    """A chart with a text description (what nbval compares and what mail clients show as alt text)."""

    chart: alt.TopLevelMixin | dict[str, Any]  # an Altair chart, or a Vega-Lite spec
    description: str
    width: int | None = None  # the width it is drawn for, in CSS pixels (None: its own)

    @property
    def spec(self) -> dict[str, Any]:
        return self.chart if isinstance(self.chart, dict) else self.chart.to_dict()

    def png(self, scale: float = 2.0) -> bytes:
        return bytes(vlc.vegalite_to_png(self.spec, scale=scale))

    def _repr_mimebundle_(
        self, include: object = None, exclude: object = None
    ) -> tuple[dict[str, object], dict[str, object]]:
        """A PNG at twice the pixels, shown at the width it was drawn for: sharp, and its
        text the size it was set in."""
        metadata: dict[str, object] = {"image/png": {"width": self.width}} if self.width else {}
        return {"image/png": self.png(), "text/plain": self.description}, metadata


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


def trend_chart(cube: Cube, top: int = 6, width: int = EMAIL_WIDTH) -> Chart:
    """Stacked bars per month, drawn `width` CSS pixels wide in all (axes and legend
    included: the legend goes under the bars), so its text is 12 px where it is shown."""
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
            color=alt.Color(
                "series:N",
                sort=[*ranked, OTHERS],
                title=None,
                legend=alt.Legend(orient="bottom", columns=3, symbolType="square"),
            ),
            order=alt.Order("rank:Q"),  # the largest organization at the bottom of every bar
            tooltip=[
                alt.Tooltip("month:N", title="Month"),
                alt.Tooltip("series:N", title=cube.Tenant),
                alt.Tooltip("conversations:Q", title="Billable conversations", format=","),
            ],
        )
        .properties(
            width=width,
            height=240,
            title="Billable conversations per month",
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
        .configure(**CONFIG)
    )
    description = (
        f"Stacked bars: billable conversations per month, {months[0]} to {months[-1]}, "
        f"for the top {len(ranked)} {cube.tenants} ({', '.join(ranked)}) and {OTHERS}."
        if months
        else "No data."
    )
    return Chart(chart, description, width)


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
            color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom")),
        )
        .properties(
            width=EMAIL_WIDTH,
            height=220,
            title=f"Active {cube.tenants} and agents per month",
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
        .configure(**CONFIG)
    )
    return Chart(chart, f"Lines: active {cube.tenants} and active agents per month.", EMAIL_WIDTH)


ADDITIVE = ("conversations", "handoffs")
PARTIAL = "partial"
COMPLETE = "complete"


def partial(bucket: Bucket, grain: str) -> bool:
    """A bucket the range cuts short (a first week from mid-week, the unfinished current
    week or month): drawn apart (hollow, dashed), never as an ordinary point."""
    from usage_lib.core.periods import month_end

    if grain == "month":
        last = month_end(bucket.end.year, bucket.end.month)
        return bucket.start.day != 1 or bucket.end != last
    if grain == "week":
        return (bucket.end - bucket.start).days < 6
    return False


def cut_any(cut: dict[str, str]) -> bool:
    return PARTIAL in cut.values()


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
    cut = {b.key: PARTIAL if partial(b, grain) else COMPLETE for b in bks}
    values = (
        shown.unpivot(index="name", on=keys, variable_name="key", value_name="value")
        .with_columns(
            pl.col("key").replace_strict(labels).alias("bucket"),
            pl.col("key").replace_strict(cut).alias("state"),
        )
        .select("name", "bucket", "state", "value")
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
            {"field": "state", "type": "nominal", "title": "Bucket"},
            {"field": "value", "type": "quantitative", "title": title, "format": number},
        ]
    complete = {"filter": f"datum.state == '{COMPLETE}'"}
    # Every bucket dashed underneath, the complete ones solid on top: a segment that reaches
    # a partial bucket stays dashed; its point is hollow, named in the legend.
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "strokeDash": [4, 3], "opacity": 0.7}},
        {"transform": [complete], "mark": {"type": "line"}},
        {
            "mark": {"type": "point", "size": 40, "strokeWidth": 1.5, "filled": True},
            "encoding": {
                "stroke": {"field": "name", "type": "nominal", "sort": series, "legend": None},
                "fillOpacity": {
                    "field": "state",
                    "type": "nominal",
                    "scale": {"domain": [COMPLETE, PARTIAL], "range": [1, 0]},
                    "legend": None,
                },
                "shape": {
                    "field": "state",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": [COMPLETE, PARTIAL], "range": ["circle", "circle"]},
                    "legend": {
                        "values": [PARTIAL],
                        "symbolFillColor": "white",
                        "symbolStrokeColor": "#555",
                        "symbolStrokeWidth": 1.5,
                        "labelExpr": "'partial (hollow, dashed)'",
                    }
                    if cut_any(cut)
                    else None,
                },
            },
        },
    ]
    spec = {
        "$schema": alt.SCHEMA_URL,
        "title": f"{title} per {grain}",
        "width": 560,
        "height": 260,
        "data": {"values": values},
        "encoding": encoding,
        "layer": layers,
        "config": CONFIG,
    }
    left_out = "" if metric in ADDITIVE or not rest.height else f"; {rest.height} more not drawn"
    cuts = [b.label for b in bks if cut[b.key] == PARTIAL]
    if cuts:
        left_out += f"; partial (hollow, dashed): {', '.join(cuts)}"
    description = (
        f"Lines: {title.lower()} per {grain}, {bks[0].label} to {bks[-1].label}, "
        f"for {', '.join(series)}{left_out}."
        if series and bks
        else "No data."
    )
    return Chart(spec, description)
