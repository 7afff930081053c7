"""What the report notebooks call to get their data and show HTML."""

from __future__ import annotations

import polars as pl
from IPython.display import HTML, display

from .adoption import months_of
from .cube import Cube
from .periods import month_key

__all__ = ["month_key", "reconciliation", "report_cube", "restatements", "show"]


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


def reconciliation(path: str = "", error: str = "") -> str:
    """The reconciliation page's body: the table the report run wrote, or why there is none."""
    from .render import reconciliation_html

    if path:
        return reconciliation_html(pl.read_parquet(path), "")
    return reconciliation_html(
        None, error or "not configured: add a [reconcile] table to the config"
    )


def show(html: str) -> None:
    display(HTML(html))
