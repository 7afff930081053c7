"""`usage-report page`: the explorer notebook run headless for one view, against the oracle
and against `usage-report table` for the same arguments."""

from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import oracle
import pytest
from data import EXCLUDED_ORG, ORGS

from usage_lib.cli import main
from usage_lib.figures.adoption import deleted_name

WEEKS_IN_LONDON = [  # weekly buckets across the spring DST change (29 Mar 2026)
    "--start", "2026-03-02", "--end", "2026-04-05", "--granularity", "week", "--tz", "Europe/London",
]  # fmt: skip


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def numbers(table: list[list[str]]) -> dict[str, list[int]]:
    """{row name: [bucket values..., total]} with dashes as zero."""
    return {
        row[0]: [0 if c == "–" else int(c.replace(",", "")) for c in row[1:]] for row in table[1:]
    }


def page(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[list[list[str]]]:
    out = tmp_path / "view.html"
    assert main(["page", *args, "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    parser = Tables()
    parser.feed(out.read_text(encoding="utf-8"))
    return parser.tables


def table_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["table", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def shown_name(row: dict[str, Any]) -> str:
    """The JSON row's name as a page shows it: an agent with no name of its own (deleted) as
    `Agent 6900…dead (deleted)`."""
    gone = row.get("type") == "agent" and row["name"] == row["id"] and row["id"] != "unattributed"
    return deleted_name(row["id"]) if gone else row["name"]


def as_named(payload: dict[str, Any]) -> dict[str, list[int]]:
    keys = [b["key"] for b in payload["buckets"]]
    rows = {
        shown_name(r): [r["buckets"][k]["conversations"] for k in keys]
        + [r["totals"]["conversations"]]
        for r in payload["rows"]
    }
    totals = payload["totals"]
    return rows | {
        "Total": [totals["buckets"][k]["conversations"] for k in keys]
        + [totals["totals"]["conversations"]]
    }


def test_week_page_in_a_dst_zone_equals_the_oracle_and_table(
    traps: Any, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, docs = traps
    tables = page(tmp_path, capsys, "--config", str(env), *WEEKS_IN_LONDON, "--org", ORGS[1])
    platform, agents = numbers(tables[0]), numbers(tables[1])
    expected = oracle.counts(
        docs, date(2026, 3, 2), date(2026, 4, 5), "Europe/London", "week", {EXCLUDED_ORG}
    )
    keys = sorted({k for row in expected.values() for k in row})
    names = {o: f"Org {i}" for i, o in enumerate(ORGS)} | {"unassigned": "No organization"}
    assert {names[o]: [row.get(k, 0) for k in keys] for o, row in expected.items()} == {
        n: v[:-1] for n, v in platform.items() if n != "Total"
    }
    assert tables[0][0][1:-1] == [
        "2 – 8 Mar",
        "9 – 15 Mar",
        "16 – 22 Mar",
        "23 – 29 Mar",
        "30 Mar – 5 Apr",
    ]
    same = table_json(capsys, "--config", str(env), *WEEKS_IN_LONDON)
    assert platform == as_named(same)
    org = table_json(
        capsys, "--config", str(env), *WEEKS_IN_LONDON, "--scope", "org", "--org", ORGS[1]
    )
    assert agents == as_named(org)
    by_agent = oracle.counts(
        docs,
        date(2026, 3, 2),
        date(2026, 4, 5),
        "Europe/London",
        "week",
        {EXCLUDED_ORG},
        "agent",
        ORGS[1],
    )
    assert sum(sum(row.values()) for row in by_agent.values()) == agents["Total"][-1]


def test_page_metrics_and_default_org_range(
    traps: Any, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --org and no range: the last 30 days; one table per metric, then the chart."""
    tables = page(
        tmp_path, capsys, "--config", str(env), "--as-of", "2026-04-18", "--org", ORGS[0],
        "--metrics", "conversations,handoffs",
    )  # fmt: skip
    # per metric: the organizations, then the organization's agents; then the range's steps,
    # the platform's and the organization's
    assert len(tables) == 6
    assert [row[0] for row in tables[4][1:]][0] == "Conversations started"
    assert [row[0] for row in tables[5][1:]][-1] == "Billable"
    same = table_json(
        capsys, "--config", str(env), "--start", "2026-03-20", "--end", "2026-04-18",
        "--metrics", "handoffs",
    )  # fmt: skip
    keys = [b["key"] for b in same["buckets"]]
    handoffs = {r["name"]: [r["buckets"][k]["handoffs"] for k in keys] for r in same["rows"]}
    assert {n: v[:-1] for n, v in numbers(tables[2]).items() if n != "Total"} == handoffs


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--last-days", "0"], "--last-days"),
        (["--tz", "Mars/Base"], "--tz"),
        (["--org", "nope"], "--org"),
        (["--start", "2026-03-01"], "--end: give both a start and an end, or neither"),
        (["--last-days", "5000"], "--last-days: must be at most 1098, got 5000"),
        (["--start", "2026-03-02", "--end", "2026-03-01"], "--end: 2026-03-01 is before the start"),
        (["--metrics", "revenue"], "--metrics"),
        (["--last-days", "7", "--start", "2026-03-01", "--end", "2026-03-02"], "--last-days"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], flag: str
) -> None:
    out = tmp_path / "view.html"
    assert main(["page", "--config", str(env), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("usage-report: error: ") and flag in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage.toml"]  # nothing written
