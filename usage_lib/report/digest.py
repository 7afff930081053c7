"""The month at a glance, computed once from the pack's cube: the headline, the organization
table, the data-check findings and the trend chart. The index page, the manifest and the
email all read this one object.
"""

from __future__ import annotations

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

    def figures(self) -> dict[str, Any]:
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
        return {
            "bridge": moved,
            "alerts": None
            if self.alerts is None
            else self.alerts.with_columns(pl.col("since").cast(pl.String)).to_dicts(),
            "rows": {"cube": self.cube.frame.height, "organizations": self.table.height},
            "billable": {
                "month": self.headline.billable,
                "by_month": {k: v for k, v in sums.items() if k != "total"},
                "total": sums["total"],
            },
        }
