"""The month at a glance, computed once from the pack's cube: the headline, the organization
table, the data-check findings and the trend chart. The index page, the manifest and the
email all read this one object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from usage_lib.core.cube import Cube
from usage_lib.core.tables import platform_table, totals
from usage_lib.figures.adoption import Headline, headline
from usage_lib.figures.bridge import Bridge, bridge
from usage_lib.figures.checks import Finding, all_checks

TOP_ORGANIZATIONS = 25  # the email's table; the rest are one row (the pages have all)


@dataclass(frozen=True)
class Rows:
    cube: int  # the cube's rows
    organizations: int  # the organization table's


@dataclass(frozen=True)
class Billable:
    month: int  # the report month's billable conversations
    by_month: dict[str, int]  # every month of the window (YYYY-MM)
    total: int  # over the window


@dataclass(frozen=True)
class Figures:
    """The numbers the pack's manifest records of the digest: its keys bridge, alerts, rows
    and billable (`to_json`), read back by `from_json`."""

    bridge: dict[str, Any] | None  # before, after, parts: {part: {tenants, change}}
    alerts: tuple[dict[str, Any], ...] | None  # the month's alerts, one per row
    rows: Rows
    billable: Billable

    def to_json(self) -> dict[str, Any]:
        b = self.billable
        return {
            "bridge": self.bridge,
            "alerts": None if self.alerts is None else list(self.alerts),
            "rows": {"cube": self.rows.cube, "organizations": self.rows.organizations},
            "billable": {"month": b.month, "by_month": b.by_month, "total": b.total},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Figures:
        """`bridge` and `alerts` are absent from the packs made before the daily watch."""
        alerts = data.get("alerts")
        return cls(
            bridge=data.get("bridge"),
            alerts=None if alerts is None else tuple(alerts),
            rows=Rows(**data["rows"]),
            billable=Billable(**data["billable"]),
        )


@dataclass(frozen=True)
class Digest:
    cube: Cube
    month: str  # YYYY-MM
    headline: Headline
    table: pl.DataFrame  # organizations x months, every organization
    findings: list[Finding]
    chart_png: bytes  # the trend chart, static (pages, email)
    chart_description: str  # what the chart shows, in words (its alt text)
    bridge: Bridge | None = None  # why the month moved against the one before
    alerts: pl.DataFrame | None = None  # tenants silent or dropped during the month

    @classmethod
    def of(
        cls,
        cube: Cube,
        month: str,
        restatements: pl.DataFrame | None = None,
        reconciliation: Finding | None = None,
        alerts: pl.DataFrame | None = None,
    ) -> Digest:
        from usage_lib.present.charts import (
            trend_chart,  # altair and vl-convert: only when a digest is made
        )

        chart = trend_chart(cube)
        return cls(
            cube=cube,
            month=month,
            headline=headline(cube, month),
            table=platform_table(cube, "month"),
            findings=all_checks(cube, restatements)
            + ([] if reconciliation is None else [reconciliation]),
            chart_png=chart.png(),
            chart_description=chart.description,
            bridge=bridge(cube, month),
            alerts=alerts,
        )

    def figures(self) -> Figures:
        """The numbers the manifest records."""
        sums = totals(self.table)
        moved = None
        if self.bridge is not None:
            moved = {
                "before": self.bridge.before,
                "after": self.bridge.after,
                "parts": {
                    p.part: {"tenants": p.tenants, "change": p.change} for p in self.bridge.parts
                },
            }
        return Figures(
            bridge=moved,
            alerts=None
            if self.alerts is None
            else tuple(self.alerts.with_columns(pl.col("since").cast(pl.String)).to_dicts()),
            rows=Rows(cube=self.cube.frame.height, organizations=self.table.height),
            billable=Billable(
                month=self.headline.billable,
                by_month={k: v for k, v in sums.items() if k != "total"},
                total=sums["total"],
            ),
        )
