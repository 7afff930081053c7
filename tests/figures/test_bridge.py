"""Why the month moved: every organization active in either month in exactly one row."""

from datetime import date

from support import billable_cube

from usage_lib.figures.bridge import bridge

A, B, C, D = "a" * 24, "b" * 24, "c" * 24, "d" * 24
ROWS = [
    (A, "Alpha", "x", "X", date(2026, 1, 4), 10),
    (B, "Beta", "x", "X", date(2026, 1, 4), 5),
    (D, "Delta", "x", "X", date(2026, 1, 4), 8),
    ("unassigned", "No organization", "x", "X", date(2026, 1, 4), 2),
    (A, "Alpha", "x", "X", date(2026, 2, 4), 14),
    (C, "Gamma", "x", "X", date(2026, 2, 4), 3),
    (D, "Delta", "x", "X", date(2026, 2, 4), 8),
    ("unassigned", "No organization", "x", "X", date(2026, 2, 4), 1),
]


def test_the_rows_cover_every_organization_and_add_up() -> None:
    b = bridge(billable_cube(ROWS, date(2026, 1, 1), date(2026, 2, 28)), "2026-02")
    assert b is not None
    parts = {p.part: (p.tenants, p.change) for p in b.parts}
    assert parts == {
        "new": (1, 3),
        "lost": (1, -5),
        "growth": (1, 4),
        "decline": (0, 0),
        "unchanged": (1, 0),  # Delta, 8 both months
        "unassigned": (1, -1),
    }
    assert b.tenants == 4  # Alpha, Beta, Gamma, Delta; No organization is none of them
    assert sum(p.change for p in b.parts) == b.change == 26 - 25
