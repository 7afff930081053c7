from datetime import date

import pytest
from support import billable_cube

from usage_lib.figures import adoption

A, B, C = "a" * 24, "b" * 24, "c" * 24
# Jan: A 10, B 5 | Feb: A 20 (two agents + unattributed), C 4 (new) | Mar: A 15, B 6 (returning), C 0
ROWS = [
    (A, "Alpha", "a1", "A1", date(2026, 1, 4), 10),
    (B, "Beta", "b1", "B1", date(2026, 1, 9), 5),
    (A, "Alpha", "a1", "A1", date(2026, 2, 2), 12),
    (A, "Alpha", "a2", "A2", date(2026, 2, 3), 5),
    (A, "Alpha", "unattributed", "Unattributed", date(2026, 2, 4), 3),
    (C, "Gamma", "c1", "C1", date(2026, 2, 20), 4),
    (A, "Alpha", "a1", "A1", date(2026, 3, 1), 15),
    (B, "Beta", "b1", "B1", date(2026, 3, 30), 6),
]
CUBE = billable_cube(ROWS, date(2026, 1, 1), date(2026, 3, 31))


def test_activity_counts_active_new_returning_dormant() -> None:
    table = adoption.activity(CUBE)
    assert table.select(
        "month", "billable", "active_organizations", "active_agents", "new", "returning", "dormant"
    ).rows() == [
        ("2026-01", 15, 2, 2, None, None, None),
        ("2026-02", 24, 2, 3, 1, 0, 1),
        ("2026-03", 21, 2, 2, 0, 1, 1),
    ]
    assert table["growth"].to_list()[1:] == pytest.approx([24 / 15 - 1, 21 / 24 - 1])


def test_headline_for_a_month() -> None:
    h = adoption.headline(CUBE, "2026-02")
    assert (h.label, h.billable, h.previous, h.previous_label) == ("Feb 2026", 24, 15, "Jan 2026")
    assert (h.active_organizations, h.active_agents, h.new_organizations) == (2, 3, ("Gamma",))
    assert h.change_text() == "+60% vs Jan 2026"
    first = adoption.headline(CUBE, "2026-01")
    assert (
        first.previous is None
        and first.new_organizations == ()
        and "no previous" in first.change_text()
    )


def test_movers_and_starters() -> None:
    assert adoption.movers(CUBE, "2026-03").rows() == [  # up by change, then down by change
        ("Beta", 0, 6, 6, None),
        ("Alpha", 20, 15, -5, -0.25),
        ("Gamma", 4, 0, -4, -1.0),
    ]
    assert adoption.starters(CUBE).rows() == [("Gamma", "2026-02", 0, 4, 0)]


NOBODY = [
    *ROWS,
    ("unassigned", "No organization", "unattributed", "Unattributed", date(2026, 2, 9), 7),
]


def test_no_organization_is_counted_but_is_no_active_customer() -> None:
    cube = billable_cube(NOBODY, date(2026, 1, 1), date(2026, 3, 31))
    feb = adoption.activity(cube).row(1, named=True)
    assert (feb["billable"], feb["active_organizations"], feb["new"]) == (31, 2, 1)
    h = adoption.headline(cube, "2026-02")
    assert (h.active_organizations, h.unassigned, h.new_organizations) == (2, 7, ("Gamma",))


def test_a_deleted_agent_is_named_the_same_way_everywhere() -> None:
    assert adoption.deleted_name("6592" + "0" * 16 + "c190") == "Agent 6592…c190 (deleted)"
