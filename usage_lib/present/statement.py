"""A customer's statement page: its month, the steps from the conversations it started to the
billed ones, its last months and its agents. Its own numbers only: no other organization,
not even the list of excluded ones (the folder it sits in is sent to that customer alone).
"""

from __future__ import annotations

from html import escape
from typing import Any

import polars as pl

from usage_lib.core.cube import Cube
from usage_lib.core.tables import organization_table, table_buckets
from usage_lib.figures.adoption import agent_quality, handoff_rates, month_users
from usage_lib.present import html


def statement_html(
    cube: Cube, history: dict[str, Any], month: str, steps: list[dict[str, Any]] | None = None
) -> str:
    """One customer's page, from its row of the platform table (`history`: id, name and its
    count per month) and its own steps (`explain`'s JSON, or None to leave them out)."""
    org_id, name, count = history["id"], history["name"], int(history[month])
    agents = organization_table(cube, org_id, "month")
    bks = table_buckets(cube, "month")
    label = next(b.label for b in bks if b.key == month)
    counted = (
        f"Counted: billable conversations ({cube.rule}), by conversation start date, in "
        f"{cube.range.timezone} time. Data as of {cube.read_at.isoformat()}."
    )
    figures = [f"{count:,} billable conversations"]
    users = month_users(cube)
    if users:
        figures.append(f"{users.get((org_id, month), 0):,} end users")
    rate = handoff_rates(cube, by="org_id").get((org_id, month))
    if rate is not None:
        figures.append(f"{rate:.1%} of agent conversations handed to a human")
    quality = agent_quality(cube, org_id)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(name)}, {escape(label)}'
        f'</title></head><body style="{html.FONT}max-width:900px;margin:24px auto;padding:0 12px;">'
        f"<h1>Usage statement: {escape(name)}, {escape(label)}</h1>"
        f'<p style="{html.FONT}font-size:13px;color:#444;">{escape(counted)}</p>'
        f"<h2>{escape('; '.join(figures))}</h2>"
        "<p>The conversations behind this number are listed in conversations.csv and "
        "conversations.xlsx beside this page.</p>"
        f"{'' if steps is None else html.steps_table(steps, customer=True)}"
        f"<h2>The last {len(bks)} months</h2>"
        f"{html.usage_table(pl.DataFrame([history]), cube, 'month')}"
        f"<h2>By agent</h2>{html.usage_table(agents, cube, 'month', first='Agent')}"
        + (
            html.frame_table(
                quality,
                {
                    "agent": "Agent",
                    "conversations": "Conversations",
                    "handoff_rate": "Hand-off rate",
                    "depth_avg": "Average depth",
                },  # fmt: skip
                percent_columns=("handoff_rate",),
                decimals={"depth_avg": "{:.2f}"},
            )
            if "handoffs" in cube.metrics
            else ""
        )
        + "</body></html>"
    )
