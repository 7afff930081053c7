from datetime import date

import polars as pl
import pytest
from support import billable_cube

from usage_lib.core.cube import Cube
from usage_lib.core.tables import (
    agent_table,
    organization_table,
    platform_table,
    top_rows,
    totals,
    with_totals_row,
)
from usage_lib.errors import ConfigError

A, B, C = "a" * 24, "b" * 24, "c" * 24


def make_cube(
    rows: list[tuple], start: date = date(2026, 1, 1), end: date = date(2026, 3, 31)
) -> Cube:
    return billable_cube(rows, start, end)


CUBE = make_cube(
    [
        (A, "Alpha", "x1", "Bot X", date(2026, 1, 5), 3),
        (A, "Alpha", "x1", "Bot X", date(2026, 3, 5), 2),
        (A, "Alpha", "unattributed", "Unattributed", date(2026, 1, 9), 9),
        (A, "Alpha", "x2", "Bot Y", date(2026, 2, 1), 1),
        (B, "Beta", "y1", "Bot Z", date(2026, 2, 10), 15),
        (C, "Gamma", "z1", "Bot Q", date(2026, 2, 10), 0),  # zero total: left out
        (B, "Beta", "y1", "Bot Z", date(2025, 12, 31), 99),  # outside the range: ignored
    ]
)


def test_platform_table_zero_fills_totals_and_sorts() -> None:
    table = platform_table(CUBE)
    assert table.columns == ["id", "name", "type", "2026-01", "2026-02", "2026-03", "total"]
    assert table.rows() == [  # equal totals: by name
        (A, "Alpha", "organization", 12, 1, 2, 15),
        (B, "Beta", "organization", 0, 15, 0, 15),
    ]


def test_ties_sort_by_name() -> None:
    table = platform_table(
        make_cube(
            [
                (B, "Beta", "y", "Y", date(2026, 1, 1), 5),
                (A, "Alpha", "x", "X", date(2026, 1, 1), 5),
                (C, "Gamma", "z", "Z", date(2026, 1, 1), 7),
            ]
        )
    )
    assert table["name"].to_list() == ["Gamma", "Alpha", "Beta"]


def test_organization_table_puts_unattributed_last_and_sums_to_the_org_row() -> None:
    table = organization_table(CUBE, A)
    assert table["name"].to_list() == ["Bot X", "Bot Y", "Unattributed"]
    org_row = platform_table(CUBE).filter(pl.col("id") == A)
    assert totals(table) == totals(org_row)


def test_weekly_and_daily_tables_come_from_the_same_days() -> None:
    weekly = platform_table(CUBE, "week")
    assert weekly.filter(pl.col("id") == A)["total"].item() == 15
    assert "2025-12-29" in weekly.columns  # the partial first week, keyed by its Monday
    one_day = make_cube(
        [(A, "Alpha", "x", "X", date(2026, 1, 2), 4)], date(2026, 1, 1), date(2026, 1, 3)
    )
    daily = platform_table(one_day)
    assert daily.columns[3:] == ["2026-01-01", "2026-01-02", "2026-01-03", "total"]
    assert daily.row(0)[3:] == (0, 4, 0, 4)


def test_agent_table_is_one_row() -> None:
    table = agent_table(CUBE, "x1")
    assert table.rows() == [("x1", "Bot X", "agent", 3, 0, 2, 5)]
    with pytest.raises(ConfigError, match="agent: unattributed needs an organization"):
        agent_table(CUBE, "unattributed")
    assert agent_table(CUBE, "unattributed", A)["total"].to_list() == [9]


def test_empty_selection_gives_an_empty_table_with_all_columns() -> None:
    table = organization_table(CUBE, "f" * 24)
    assert table.height == 0 and table.columns[-1] == "total"
    assert totals(table) == {"2026-01": 0, "2026-02": 0, "2026-03": 0, "total": 0}


def test_totals_row() -> None:
    shown = with_totals_row(platform_table(CUBE))
    assert shown.row(-1) == ("total", "Total", "total", 12, 16, 2, 30)


def test_top_rows_sums_the_rest_into_one_row() -> None:
    table = organization_table(CUBE, A)  # Bot X 3+2, Bot Y 1, Unattributed 9 (last)
    short = top_rows(table, 1, "Other agents")
    assert short.rows() == [
        ("x1", "Bot X", "agent", 3, 0, 2, 5),
        ("others", "Other agents (2)", "others", 9, 1, 0, 10),
    ]
    assert totals(short) == totals(table)
    assert top_rows(table, 2).equals(table)  # never an "others" row of one


def test_a_metric_the_pass_did_not_read_is_refused() -> None:
    with pytest.raises(ConfigError, match="read without users"):
        platform_table(CUBE, metric="users")
    with pytest.raises(ConfigError, match="not one of"):
        platform_table(CUBE, metric="visits")
