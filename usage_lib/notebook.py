"""What the report notebooks call to get their data and show HTML."""

from __future__ import annotations

from typing import Any

import polars as pl
from IPython.display import HTML, display

from .adoption import months_of
from .cube import Cube
from .explorer import View, cut, page_cube, page_views
from .periods import month_key

__all__ = [
    "explorer",
    "heading",
    "month_key",
    "page",
    "reconciliation",
    "report_cube",
    "restatements",
    "show",
    "view",
    "views",
]


def report_cube(month: str, cube_path: str = "", config_path: str = "") -> Cube:
    """The cube for the months ending with `month`: read from `cube_path` when the report run
    wrote one (one pass per pack), else read from the configured or demo database."""
    if cube_path:
        cube = Cube.load(cube_path)
    else:
        from .periods import report_month
        from .source import month_cube, open_source, settings

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
    from .render import reconciliation_html

    if path:
        return reconciliation_html(pl.read_parquet(path), "", tenant, top)
    return reconciliation_html(
        None, error or "not configured: add a [reconcile] table to the config", tenant
    )


# The explorer notebook's parameters as views, one per metric (errors name the setting).
views = page_views


def view(
    views: list[View],
    interactive: bool = True,
    cube_path: str = "",
    config_path: str = "",
    as_of: str = "",
) -> Any:
    """The explorer notebook's output: the live explorer (returned, so that JupyterLab
    draws it), or, with `interactive` false (papermill, `usage-report page`), the page."""
    if interactive:
        return explorer(views, as_of, config_path)
    page(views, cube_path, config_path, as_of)
    return None


def explorer(views: list[View], as_of: str = "", config_path: str = "") -> Any:
    """The live explorer on the configured (or demo) database, opened on the first view."""
    from .source import connect
    from .widget import explore

    source = connect(config_path or None, as_of=as_of or None, quiet=True)
    return explore(source, as_of=as_of or None, view=views[0])


def page(views: list[View], cube_path: str = "", config_path: str = "", as_of: str = "") -> None:
    """The views as a static page (`usage-report page`): from the cube the command read, or
    read here; the tables, the chart of the first metric, the "Counted:" line."""
    from .charts import view_chart
    from .periods import parse_date
    from .render import view_html

    if cube_path:
        cube = Cube.load(cube_path)
    else:
        from .source import connect

        day = parse_date(as_of, "as_of") if as_of else None
        cube = page_cube(connect(config_path or None, as_of=day, quiet=True), views, day)
    shown = [cut(cube, v) for v in views]
    first = shown[0]
    table, kind = first.chart_table()
    chart = view_chart(table, first.buckets, first.granularity, first.view.metric, kind)
    show(view_html(shown, chart.png()))


def heading(cube: Cube, text: str) -> None:
    """A Markdown heading in the cube's words: {tenant}, {tenants}, {Tenant}, {Tenants}
    (organizations, or projects under the stock Tiledesk profile)."""
    from IPython.display import Markdown

    words = {"tenant": cube.tenant, "tenants": cube.tenants, "Tenant": cube.Tenant}
    display(Markdown(text.format(**words, Tenants=cube.Tenants)))


def show(html: str) -> None:
    display(HTML(html))
