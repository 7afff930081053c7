"""Tables as text, CSV and the JSON contract of `usage-report table --format json`."""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl

from .cube import Cube
from .periods import Bucket, Granularity
from .tables import totals, with_totals_row

METRIC = "conversations"


def table_json(
    table: pl.DataFrame, bks: tuple[Bucket, ...], cube: Cube, granularity: Granularity
) -> dict[str, Any]:
    keys = [b.key for b in bks]
    sums = totals(table)
    return {
        "range": {
            "start": cube.range.start.isoformat(),
            "end": cube.range.end.isoformat(),
            "granularity": granularity,
            "timezone": cube.range.timezone,
        },
        "metrics": [METRIC],
        "buckets": [
            {"key": b.key, "label": b.label, "start": b.start.isoformat(), "end": b.end.isoformat()}
            for b in bks
        ],
        "rows": [
            {
                "id": row["id"],
                "name": row["name"],
                "type": row["type"],
                "buckets": {k: {METRIC: int(row[k])} for k in keys},
                "totals": {METRIC: int(row["total"])},
            }
            for row in table.iter_rows(named=True)
        ],
        "totals": {
            "buckets": {k: {METRIC: sums[k]} for k in keys},
            "totals": {METRIC: sums["total"]},
        },
        "excluded": [{"id": e.id, "name": e.name, "reason": e.reason} for e in cube.exclusions],
    }


def table_csv(table: pl.DataFrame) -> str:
    buffer = io.StringIO()
    table.write_csv(buffer)
    return buffer.getvalue()


def table_text(table: pl.DataFrame, bks: tuple[Bucket, ...], title: str, footer: str) -> str:
    """An aligned plain-text table with month labels, thousands separators and a totals row."""
    keys = [b.key for b in bks]
    header = ["Name", *[b.label for b in bks], "Total"]
    body = [
        [r["name"], *[f"{r[k]:,}" for k in keys], f"{r['total']:,}"]
        for r in with_totals_row(table).iter_rows(named=True)
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
        )

    rule = "-" * len(line(header))
    out = [
        title,
        "",
        line(header),
        rule,
        *[line(r) for r in body[:-1]],
        rule,
        line(body[-1]),
        "",
        footer,
    ]
    return "\n".join(out) + "\n"


def dumps(payload: Any) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
