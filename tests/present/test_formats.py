"""Text, CSV and JSON output of a table: the numbers of the rows, their totals row, the contract."""

import csv
import io
from datetime import date

from support import billable_cube

from usage_lib.core.buckets import buckets
from usage_lib.core.tables import Scope, platform_table, usage_totals
from usage_lib.present.formats import table_csv, table_json, table_text

A, B = "a" * 24, "b" * 24
CUBE = billable_cube(
    [
        (A, "Alpha, Inc.", "x", "X", date(2026, 1, 3), 1200),
        (A, "Alpha, Inc.", "x", "X", date(2026, 2, 3), 7),
        (B, "Beta", "y", "Y", date(2026, 2, 20), 30),
    ],
    date(2026, 1, 1),
    date(2026, 2, 28),
)
TABLE = platform_table(CUBE, "month")
TABLES = {"conversations": TABLE}
SUMS = {"conversations": usage_totals(CUBE, Scope("platform"), "month")}
BUCKETS = buckets(CUBE.range, "month")


def test_json_rows_and_totals_carry_the_metric() -> None:
    out = table_json(TABLES, SUMS, BUCKETS, CUBE, "month")
    assert out["metrics"] == ["conversations"]
    assert [b["key"] for b in out["buckets"]] == ["2026-01", "2026-02"]
    alpha, beta = out["rows"]
    assert alpha["buckets"] == {"2026-01": {"conversations": 1200}, "2026-02": {"conversations": 7}}
    assert alpha["totals"] == {"conversations": 1207} and beta["totals"] == {"conversations": 30}
    assert out["totals"] == {
        "buckets": {"2026-01": {"conversations": 1200}, "2026-02": {"conversations": 37}},
        "totals": {"conversations": 1237},
    }
    assert out["excluded"] == []


def test_text_has_labels_separators_and_one_totals_row() -> None:
    text = table_text(TABLE, BUCKETS, "Title", "Counted: x.")
    lines = text.splitlines()
    assert lines[0] == "Title" and lines[-1] == "Counted: x."
    assert "Jan 2026" in lines[2] and "Feb 2026" in lines[2]
    assert [line.split()[-1] for line in lines if line.startswith(("Alpha", "Beta", "Total"))] == [
        "1,207",
        "30",
        "1,237",
    ]


def test_csv_quotes_names_and_keeps_bucket_keys() -> None:
    rows = list(csv.DictReader(io.StringIO(table_csv(TABLES))))
    assert rows[0]["name"] == "Alpha, Inc." and rows[0]["2026-01"] == "1200"
    assert [r["total"] for r in rows] == ["1207", "30"]
