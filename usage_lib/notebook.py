"""What the report notebooks call to get their data and show HTML."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from IPython.display import HTML, display

from usage_lib.core.cube import Cube
from usage_lib.core.periods import month_key
from usage_lib.explorer.state import View, page_views
from usage_lib.figures.adoption import months_of

__all__ = [
    "explorer",
    "heading",
    "month_key",
    "reconciliation",
    "report_cube",
    "restatements",
    "show",
    "views",
]


def report_cube(month: str, cube_path: str = "", config_path: str = "") -> Cube:
    """The cube for the months ending with `month`: read from `cube_path` when the report run
    wrote one (one pass per pack), else read from the configured or demo database."""
    if cube_path:
        cube = Cube.load(cube_path)
    else:
        from usage_lib.connection import open_source
        from usage_lib.core.periods import report_month
        from usage_lib.core.source import month_cube, settings

        key = month_key(month)
        config = settings(config_path or None)
        cube = month_cube(open_source(config, anchor=report_month(key), quiet=True), key)
    if month_key(month) not in months_of(cube):
        raise ValueError(f"month {month} is not in the cube's range {cube.range.describe()}")
    return cube


def restatements(path: str = "") -> pl.DataFrame | None:
    """What the report run found restated (a Parquet file it wrote), or None outside a run."""
    return pl.read_parquet(path) if path else None


def reconciliation(
    path: str = "", error: str = "", tenant: str = "Organization", top: int | None = None
) -> str:
    """The reconciliation page's body: the table the report run wrote (flagged rows first,
    `top` of them), or why there is none."""
    from usage_lib.present.html import reconciliation_html

    if path:
        return reconciliation_html(pl.read_parquet(path), "", tenant, top)
    return reconciliation_html(
        None, error or "not configured: add a [reconcile] table to the config", tenant
    )


def steps(month: str, path: str = "", config_path: str = "") -> str:
    """The platform's steps for the month (`core.explain`), from what started to what is
    billable: from the file the report run wrote, else read from the database."""
    import json

    from usage_lib.present.html import steps_table

    if path:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    else:
        from usage_lib.connection import open_source
        from usage_lib.core.explain import explain
        from usage_lib.core.periods import report_month
        from usage_lib.core.source import month_window, settings

        key = month_key(month)
        config = settings(config_path or None)
        source = open_source(config, anchor=report_month(key), quiet=True)
        found = explain(source.db, month_window(config, key, 1), config).to_json()
    platform = next(t for t in found["tenants"] if t["id"] == "*")
    label = f"{date.fromisoformat(found['range']['start']):%b %Y}"
    return f"<h2>{label}, step by step</h2>" + steps_table(platform["steps"], heading=False)


# The explorer notebook's parameters as views, one per metric (errors name the setting).
views = page_views


def explorer(views: list[View], as_of: str = "", config_path: str = "") -> Any:
    """The live explorer on the configured (or demo) database, opened on the first view."""
    from usage_lib.connection import connect
    from usage_lib.explorer.widget import explore

    source = connect(config_path or None, as_of=as_of or None, quiet=True)
    return explore(source, as_of=as_of or None, view=views[0])


def heading(cube: Cube, text: str) -> None:
    """A Markdown heading in the cube's words: {tenant}, {tenants}, {Tenant}, {Tenants}
    (organizations, or projects under the stock Tiledesk profile)."""
    from IPython.display import Markdown

    words = {"tenant": cube.tenant, "tenants": cube.tenants, "Tenant": cube.Tenant}
    display(Markdown(text.format(**words, Tenants=cube.Tenants)))


def show(html: str) -> None:
    display(HTML(html))
