"""Tables as text, CSV and the JSON contract of `usage-report table --format json`.

Each takes the asked metrics' tables (same rows, same order) and their totals rows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from usage_lib.core.buckets import Bucket, Granularity
from usage_lib.core.cube import Cube
from usage_lib.core.tables import KEY_COLUMNS, Answer, with_totals_row

Tables = Mapping[str, pl.DataFrame]  # metric -> table (id, name, type, buckets..., total)
Totals = Mapping[str, Mapping[str, int | float | None]]  # metric -> bucket key / total -> value


def table_json(
    tables: Tables, sums: Totals, bks: tuple[Bucket, ...], cube: Cube, granularity: Granularity
) -> dict[str, Any]:
    keys = [b.key for b in bks]
    metrics = list(tables)
    rows = {m: tables[m].iter_rows(named=True) for m in metrics}
    first = tables[metrics[0]]
    body = []
    for _ in range(first.height):
        row = {m: next(rows[m]) for m in metrics}
        head = row[metrics[0]]
        body.append(
            {
                "id": head["id"],
                "name": head["name"],
                "type": head["type"],
                "buckets": {k: {m: row[m][k] for m in metrics} for k in keys},
                "totals": {m: row[m]["total"] for m in metrics},
            }
        )
    return {
        "range": {
            "start": cube.range.start.isoformat(),
            "end": cube.range.end.isoformat(),
            "granularity": granularity,
            "timezone": cube.range.timezone,
        },
        "metrics": metrics,
        "buckets": [
            {"key": b.key, "label": b.label, "start": b.start.isoformat(), "end": b.end.isoformat()}
            for b in bks
        ],
        "rows": body,
        "totals": {
            "buckets": {k: {m: sums[m][k] for m in metrics} for k in keys},
            "totals": {m: sums[m]["total"] for m in metrics},
        },
        "excluded": [{"id": e.id, "name": e.name, "reason": e.reason} for e in cube.exclusions],
    } | ({} if cube.read is None else {"read": cube.read.to_json()})


def table_csv(tables: Tables) -> str:
    """One row per entity; with metrics other than the count alone, one row per entity and
    metric, the metric named in a `metric` column after `type`."""
    buffer = io.StringIO()
    if list(tables) == ["conversations"]:
        tables["conversations"].write_csv(buffer)
        return buffer.getvalue()
    frames = [
        t.with_columns(pl.lit(m).alias("metric"), pl.int_range(pl.len()).alias("_order"))
        for m, t in tables.items()
    ]
    columns = [
        *KEY_COLUMNS,
        "metric",
        *[c for c in frames[0].columns if c not in (*KEY_COLUMNS, "metric", "_order")],
    ]
    long = pl.concat(
        [
            f.with_columns(pl.all().exclude(KEY_COLUMNS, "metric", "_order").cast(pl.String))
            for f in frames
        ]
    ).sort("_order", maintain_order=True)
    long.select(columns).write_csv(buffer)
    return buffer.getvalue()


def long_csv(tables: Mapping[str, pl.DataFrame], keys: Sequence[str] = KEY_COLUMNS) -> str:
    """Tables of several metrics (same rows) as one CSV, a row per entity and metric, the
    metric named after the `keys`; text cells formula-safe (`safe`)."""
    frames = [
        t.with_columns(pl.lit(m).alias("metric"), pl.int_range(pl.len()).alias("_order"))
        for m, t in tables.items()
    ]
    values = [c for c in frames[0].columns if c not in (*keys, "metric", "_order")]
    long = pl.concat([f.with_columns(pl.col(values).cast(pl.String)) for f in frames]).sort(
        "_order", maintain_order=True
    )
    texts = [c for c in keys if long.schema[c] == pl.String]
    buffer = io.StringIO()
    long.select(*keys, "metric", *values).with_columns(
        [pl.col(c).map_elements(safe, return_dtype=pl.String) for c in texts]
    ).write_csv(buffer)
    return buffer.getvalue()


def pack_tables(cube: Cube, folder: Path) -> list[str]:
    """The pack's full tables beside its pages, every tenant and every agent, by month and
    metric (`tables/<tenants>.csv`, `tables/agents.csv`); the pages show the largest."""
    from usage_lib.core.tables import every_agent, platform_table

    folder.mkdir(parents=True, exist_ok=True)
    tenants = {m: platform_table(cube, "month", m) for m in cube.metrics}
    from usage_lib.figures.adoption import deleted_agents

    gone = deleted_agents(cube)  # named as every page names them
    agents = {
        m: every_agent(cube, "month", m).with_columns(
            pl.col("id").replace_strict(gone, default=pl.col("name")).alias("name")
        )
        for m in cube.metrics
        if m != "users"
    }
    names = [f"{cube.tenants}.csv", "agents.csv"]
    (folder / names[0]).write_text(long_csv(tenants), encoding="utf-8")
    keys = ("org_id", "org_name", *KEY_COLUMNS)
    (folder / names[1]).write_text(long_csv(agents, keys), encoding="utf-8")
    return names


def _cell(value: int | float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def table_text(
    table: pl.DataFrame,
    bks: tuple[Bucket, ...],
    title: str,
    footer: str,
    sums: Mapping[str, int | float | None] | None = None,
) -> str:
    """An aligned plain-text table with bucket labels, thousands separators and a totals row."""
    keys = [b.key for b in bks]
    header = ["Name", *[b.label for b in bks], "Total"]
    body = [
        [r["name"], *[_cell(r[k]) for k in keys], _cell(r["total"])]
        for r in with_totals_row(table, sums=sums).iter_rows(named=True)
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


FORMULA = ("=", "+", "-", "@")  # what makes a spreadsheet cell a formula


def safe(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (customers name their agents)."""
    return "'" + text if text.startswith(FORMULA) else text


def view_csv(frame: pl.DataFrame) -> str:
    """A table as shown (explore.Shown.on_screen) as CSV; names that look like formulas are
    quoted with a leading apostrophe."""
    texts = [c for c, kind in frame.schema.items() if kind == pl.String]
    buffer = io.StringIO()
    frame.with_columns(
        [pl.col(c).map_elements(safe, return_dtype=pl.String) for c in texts]
    ).write_csv(buffer)
    return buffer.getvalue()


def view_xlsx(frame: pl.DataFrame, bks: tuple[Bucket, ...]) -> bytes:
    """A table as shown as one XLSX sheet with the bucket labels as headers; every text cell
    is written as text, never as a formula."""
    import xlsxwriter

    labels = {b.key: b.label for b in bks}
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("usage")
    bold = book.add_format({"bold": True})
    for col, name in enumerate(frame.columns):
        sheet.write_string(0, col, labels.get(name, name), bold)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for col, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(r, col, value)
            elif value is not None:
                sheet.write_number(r, col, value)
    sheet.set_column(1, 1, 32)
    book.close()
    return out.getvalue()


def dumps(payload: Any) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def table_output(answer: Answer, fmt: str) -> str:
    """`usage-report table`'s output: the JSON contract, CSV, or a text table per metric
    with its title and, last, the "Counted:" line."""
    from usage_lib.core.metrics import TITLES
    from usage_lib.present.html import counted_text

    cube, scope = answer.cube, answer.scope
    if fmt == "json":
        return dumps(
            table_json(answer.tables, answer.sums, answer.buckets, cube, answer.granularity)
        )
    if fmt == "csv":
        return table_csv(answer.tables)
    what = {
        "platform": f"by {cube.tenant}",
        "organization": f"by agent of {cube.tenant} {_tenant_name(cube, scope.org_id or '')}",
        "agent": f"of agent {scope.agent_id}",
    }[scope.level]
    metrics = list(answer.tables)
    parts = []
    for i, m in enumerate(metrics):
        title = f"{TITLES[m]} {what}, {cube.range.describe()}"
        footer = counted_text(cube, metrics) if i == len(metrics) - 1 else ""
        parts.append(table_text(answer.tables[m], answer.buckets, title, footer, answer.sums[m]))
    return "".join(parts)


def _tenant_name(cube: Cube, org: str) -> str:
    names = cube.frame.filter(pl.col("org_id") == org)["org_name"].head(1).to_list()
    return f"{names[0]} ({org})" if names and names[0] != org else org
