"""What the report notebooks call: the cube for the report window, and display helpers."""

from __future__ import annotations

from datetime import date

from IPython.display import HTML, display

from .adoption import months_of
from .api import connect
from .cube import UNATTRIBUTED_NAME, Cube, query_cube
from .periods import last_full_month, months_ending, parse_month, today_in
from .render import note, usage_table
from .tables import organization_table, platform_table


def report_month(month: str) -> str:
    """'YYYY-MM', or '' / 'last' for the last full month (UTC)."""
    if month in ("", "last"):
        year, m = last_full_month(today_in("UTC"))
        return f"{year:04d}-{m:02d}"
    year, m = parse_month(month, "month")
    return f"{year:04d}-{m:02d}"


def report_cube(month: str, cube_path: str = "", config_path: str = "") -> Cube:
    """The cube for the months ending with `month`: read from `cube_path` when the report run
    wrote one (one pass per pack), else queried from the configured or demo database."""
    if cube_path:
        cube = Cube.load(cube_path)
    else:
        year, m = parse_month(report_month(month), "month")
        after = date(year + m // 12, m % 12 + 1, 1)  # the demo data is anchored to the report month
        src = connect(config_path or None, as_of=after, quiet=True)
        window = months_ending(year, m, src.config.months, src.config.timezone)
        cube = query_cube(src.db, window, src.config)
    if report_month(month) not in months_of(cube):
        raise ValueError(f"month {month} is not in the cube's range {cube.range.describe()}")
    return cube


def show(html: str) -> None:
    display(HTML(html))


def agent_sections(cube: Cube, org_id: str = "") -> str:
    """For each organization of the platform table (or just `org_id`): its agents by month."""
    orgs = platform_table(cube, "month")
    if org_id:
        orgs = orgs.filter(orgs["id"] == org_id.lower())
        if orgs.height == 0:
            return note(f"Organization {org_id} has no billable conversations in this range.")
    parts = []
    for row in orgs.iter_rows(named=True):
        table = organization_table(cube, row["id"], "month")
        parts.append(f"<h3>{row['name']}</h3>")
        parts.append(usage_table(table, cube, "month", first="Agent"))
        if UNATTRIBUTED_NAME in table["name"].to_list():
            parts.append(
                note(
                    "Unattributed: human-only conversations, in which no agent (bot) took part. "
                    "Agent rows sum to the organization's row."
                )
            )
    return "\n".join(parts)
