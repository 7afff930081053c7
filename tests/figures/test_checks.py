from datetime import UTC, date, datetime

import polars as pl

from usage_lib.core.config import Exclusion
from usage_lib.core.cube import Cube
from usage_lib.core.periods import DateRange
from usage_lib.figures import checks

A, B, X = "a" * 24, "b" * 24, "e" * 24  # X is on the exclusion list
ROWS = [
    # org, name, agent, agent name, exists, day, billable, test_mode, excluded
    (A, "Alpha", "bot1", "Bot 1", True, date(2026, 1, 3), 5, 1, 0),
    (A, "Alpha", "gone", "gone", False, date(2026, 2, 3), 2, 0, 0),
    (A, "Alpha", "unattributed", "Unattributed", True, date(2026, 2, 4), 3, 0, 0),
    (B, "Beta", "bot2", "Bot 2", True, date(2026, 1, 5), 4, 0, 0),
    (B, "Beta", "bot2", "Bot 2", True, date(2026, 2, 5), 0, 7, 0),  # a month all in test mode
    (X, "Internal", "bot3", "Bot 3", True, date(2026, 2, 6), 0, 9, 0),  # excluded: not a finding
    (X, "Internal", "bot3", "Bot 3", True, date(2026, 1, 6), 0, 0, 11),
    ("unassigned", "No organization", "bot1", "Bot 1", True, date(2026, 2, 7), 6, 0, 0),
]
SCHEMA = {
    "org_id": pl.String,
    "org_name": pl.String,
    "agent_id": pl.String,
    "agent_name": pl.String,
    "agent_exists": pl.Boolean,
    "day": pl.Date,
    "billable": pl.Int64,
    "test_mode": pl.Int64,
    "excluded": pl.Int64,
}
CUBE = Cube(
    pl.DataFrame(ROWS, schema=SCHEMA, orient="row"),
    DateRange(date(2026, 1, 1), date(2026, 2, 28)),
    "rule",
    (Exclusion(X, "Internal", "staff"),),
    datetime(2026, 3, 1, tzinfo=UTC),
)


def test_all_test_mode_months_leave_out_excluded_organizations() -> None:
    finding = checks.test_mode_months(CUBE)
    assert finding.frame.rows() == [("Beta", "Feb 2026", 7)]
    assert "Beta (Feb 2026, 7 test-mode conversations)" in finding.sentence and finding.flagged


def test_unattributed_share() -> None:
    finding = checks.unattributed_share(CUBE)
    assert "3 of 20 billable conversations (15.0%)" in finding.sentence
    assert finding.frame.row(0) == ("Alpha", 10, 3, 0.3)


def test_deleted_agents_no_organization_and_excluded_volume() -> None:
    assert checks.deleted_agents(CUBE).frame.rows() == [("Alpha", "gone", 2)]
    assert checks.no_organization(CUBE).frame.rows() == [("Feb 2026", 6)]
    excluded = checks.excluded_volume(CUBE)
    assert (
        excluded.frame.rows() == [("Internal", "staff", 11)]
        and "11 conversations" in excluded.sentence
    )
