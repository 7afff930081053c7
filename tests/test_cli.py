"""`usage-report table`: the JSON contract, exit codes and messages."""

import json
import subprocess
import sys
import time
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import oracle
import pytest
from data import EXCLUDED_ORG, ORGS

from usage_lib.cli import main

BIN = Path(sys.executable).with_name("usage-report")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["table", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_contract_and_numbers(
    traps: Any, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, docs = traps
    out = run_json(capsys, "--config", str(env), "--start", "2025-12-20", "--end", "2026-04-18")
    assert list(out) == ["range", "metrics", "buckets", "rows", "totals", "excluded", "read"]
    read = out["read"]  # what came from the local store, what from the database: every day once
    assert (
        read["days_cached"] + read["days_read"] == (date(2026, 4, 18) - date(2025, 12, 20)).days + 1
    )
    assert out["range"] == {
        "start": "2025-12-20",
        "end": "2026-04-18",
        "granularity": "month",
        "timezone": "UTC",
    }
    assert out["metrics"] == ["conversations"]
    assert out["buckets"][0] == {
        "key": "2025-12",
        "label": "20 – 31 Dec 2025",
        "start": "2025-12-20",
        "end": "2025-12-31",
    }
    assert out["buckets"][1] == {
        "key": "2026-01",
        "label": "Jan 2026",
        "start": "2026-01-01",
        "end": "2026-01-31",
    }
    assert [b["key"] for b in out["buckets"]] == [
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
    ]
    row = out["rows"][0]
    assert (
        list(row) == ["id", "name", "type", "buckets", "totals"] and row["type"] == "organization"
    )
    assert set(row["buckets"]) == {b["key"] for b in out["buckets"]}
    assert out["excluded"] == [{"id": EXCLUDED_ORG, "name": "Internal", "reason": "staff"}]
    expected = oracle.counts(
        docs, date(2025, 12, 20), date(2026, 4, 18), "UTC", "month", {EXCLUDED_ORG}
    )
    assert oracle.from_json(out) == expected
    grand = sum(sum(v.values()) for v in expected.values())
    assert out["totals"]["totals"] == {"conversations": grand}
    assert sum(v["conversations"] for v in out["totals"]["buckets"].values()) == grand


@pytest.mark.parametrize(
    ("args", "grain", "tz"),
    [
        (
            ["--start", "2025-12-24", "--end", "2026-01-09", "--tz", "Pacific/Auckland"],
            "week",
            "Pacific/Auckland",
        ),
        (
            ["--start", "2026-03-27", "--end", "2026-03-31", "--tz", "Europe/London"],
            "day",
            "Europe/London",
        ),
        (["--last-days", "10", "--as-of", "2026-01-03", "--granularity", "day"], "day", "UTC"),
    ],
)
def test_json_other_granularities_and_zones(
    traps: Any, env: Path, capsys: pytest.CaptureFixture[str], args: list[str], grain: str, tz: str
) -> None:
    _, docs = traps
    out = run_json(capsys, "--config", str(env), *args)
    start, end = (date.fromisoformat(out["range"][k]) for k in ("start", "end"))
    assert (out["range"]["granularity"], out["range"]["timezone"]) == (grain, tz)
    assert oracle.from_json(out) == oracle.counts(docs, start, end, tz, grain, {EXCLUDED_ORG})


def test_org_and_agent_scopes(traps: Any, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, docs = traps
    span = ["--config", str(env), "--start", "2026-01-01", "--end", "2026-02-28"]
    org = run_json(capsys, *span, "--scope", "org", "--org", ORGS[2].upper())
    expected = oracle.counts(
        docs,
        date(2026, 1, 1),
        date(2026, 2, 28),
        "UTC",
        "month",
        {EXCLUDED_ORG},
        by="agent",
        org=ORGS[2],
    )
    assert oracle.from_json(org) == expected
    assert org["rows"][-1]["id"] == "unattributed" and all(
        r["type"] == "agent" for r in org["rows"]
    )
    platform = run_json(capsys, *span)
    org_row = next(r for r in platform["rows"] if r["id"] == ORGS[2])
    assert org["totals"]["totals"] == org_row["totals"]  # agent rows sum to the organization row
    bot = org["rows"][0]["id"]
    agent = run_json(capsys, *span, "--scope", "agent", "--agent", bot, "--org", ORGS[2])
    assert [r["id"] for r in agent["rows"]] == [bot] and agent["rows"][0]["totals"] == org["rows"][
        0
    ]["totals"]


def test_default_range_is_six_full_months(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--config", str(env), "--as-of", "2026-04-18")
    assert out["range"] == {
        "start": "2025-10-01",
        "end": "2026-03-31",
        "granularity": "month",
        "timezone": "UTC",
    }
    assert len(out["buckets"]) == 6


def test_text_and_csv_formats(traps: Any, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    span = ["--config", str(env), "--start", "2026-01-01", "--end", "2026-02-28"]
    assert main(["table", *span]) == 0
    text = capsys.readouterr().out
    assert "Jan 2026" in text and "Feb 2026" in text and "Excluded organizations: Internal" in text
    assert main(["table", "--format", "csv", *span]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "id,name,type,2026-01,2026-02,total"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-13-01", "--end", "2026-12-31"], "--start: '2026-13-01' is not a date"),
        (["--start", "2026-02-01", "--end", "2026-01-01"], "--end: 2026-01-01 is before the start"),
        (["--start", "2026-02-01"], "--end: give both a start and an end, or neither"),
        (["--end", "2026-02-01"], "--start: give both a start and an end, or neither"),
        (["--tz", "Moon/Base"], "unknown time zone"),
        (["--scope", "org", "--org", "123"], "--org: '123' is not"),
        (["--scope", "org"], "needs --org"),
        (["--scope", "agent", "--agent", "zz"], "--agent"),
        (["--granularity", "year"], "invalid choice"),
        (["--format", "xml"], "invalid choice"),
        (["--as-of", "yesterday"], "--as-of"),
        (["--last-days", "0"], "--last-days: must be 1 or more, got 0"),
        (["--last-days", "5000"], "--last-days: must be at most 1098"),
        (
            ["--last-days", "3", "--start", "2026-01-01", "--end", "2026-01-02"],
            "--last-days: give either the last N days or a start and end, not both",
        ),
        (
            ["--start", "2020-01-01", "--end", "2026-01-01", "--granularity", "day"],
            "--end: 2020-01-01 to 2026-01-01 is 2193 days, longer than the 1098 allowed",
        ),
        (["--bogus"], "unrecognized arguments"),
        (["--config", "/no/such.toml"], "not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(["table", *args])
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_bad_config_key_exits_2(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[report]\nzone = 'UTC'\n")
    assert main(["table", "--config", str(bad)]) == 2
    assert "report.zone: unknown key" in capsys.readouterr().err


def test_a_refused_connection_exits_3_at_once_without_the_password() -> None:
    """Nothing listens at the port: said at once, not after the driver's 6 s of retries."""
    env = {
        "PATH": "/usr/bin:/bin",
        "USAGE_MONGODB_URI": "mongodb://reader:s3cretPW@127.0.0.1:9/?directConnection=true",
    }
    started = time.monotonic()
    done = subprocess.run([str(BIN), "table"], env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 3, done.stderr
    assert elapsed < 5  # the interpreter's start included; the driver alone would take 6 s
    assert "refused the connection at 127.0.0.1:9" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "s3cretPW" not in done.stderr + done.stdout


def test_malformed_connection_string_exits_2() -> None:
    env = {"PATH": "/usr/bin:/bin", "USAGE_MONGODB_URI": "mongodb://user:pw@"}
    done = subprocess.run([str(BIN), "table"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "USAGE_MONGODB_URI" in done.stderr and "pw" not in done.stderr


def test_table_loads_no_charting_papermill_or_nbconvert(traps: Any, env: Path) -> None:
    script = (
        "import sys\nfrom usage_lib.cli import main\n"
        f"code = main(['table', '--config', {str(env)!r}, '--start', '2026-01-01', "
        "'--end', '2026-01-31', '--format', 'json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'altair', 'vl_convert', 'papermill', 'nbconvert', 'nbclient'})\n"
        "print('HEAVY', heavy, code, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "HEAVY [] 0" in done.stderr, done.stderr[-2000:]
    assert json.loads(done.stdout)["metrics"] == ["conversations"]


def test_help_imports_nothing_heavy() -> None:
    script = (
        "import sys\nfrom usage_lib.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'polars', 'pymongo', 'altair', 'papermill', 'nbconvert'}), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--start", "2026-02-30", "--end", "2026-03-01"], "--start: '2026-02-30' is not a date"),
        (["--as-of", "soon"], "--as-of: 'soon' is not a date"),
        (["--tz", "Mars/Base"], "--tz: unknown time zone"),
        (["--scope", "org", "--org", "xyz"], "--org: 'xyz' is not an organization"),
        (["--scope", "agent", "--agent", "unattributed"], "--agent: unattributed needs"),
    ],
)
def test_library_errors_are_named_by_their_flag(
    traps: Any, env: Path, capsys: pytest.CaptureFixture[str], args: list[str], flag: str
) -> None:
    assert main(["table", "--config", str(env), *args]) == 2
    err = capsys.readouterr().err
    assert f"usage-report: error: {flag}" in err, err


SAME_RANGE = [  # (flags, the same as keyword arguments), each way a range is given
    (
        ["--start", "2026-01-05", "--end", "2026-02-03"],
        {"start": "2026-01-05", "end": "2026-02-03"},
    ),
    (
        ["--start", "2025-12-24", "--end", "2026-01-09", "--tz", "Pacific/Auckland"],
        {"start": "2025-12-24", "end": "2026-01-09", "timezone": "Pacific/Auckland"},
    ),
    (["--last-days", "10", "--as-of", "2026-01-03"], {"last_days": 10, "as_of": "2026-01-03"}),
    (
        ["--last-days", "1", "--as-of", "2026-03-29", "--tz", "Europe/London"],
        {"last_days": 1, "as_of": "2026-03-29", "timezone": "Europe/London"},
    ),
    (["--as-of", "2026-04-18"], {"as_of": "2026-04-18"}),
    (
        ["--as-of", "2026-03-01", "--tz", "Asia/Kolkata"],
        {"as_of": "2026-03-01", "timezone": "Asia/Kolkata"},
    ),
]


@pytest.mark.parametrize(("flags", "given"), SAME_RANGE)
def test_cli_explorer_and_load_cube_resolve_the_same_range(
    traps: Any,
    env: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    given: dict[str, Any],
) -> None:
    from usage_lib.connection import open_source
    from usage_lib.core.periods import DateRange, resolve_range
    from usage_lib.core.source import load_cube, settings
    from usage_lib.explorer.state import page_views, range_of

    config = settings(env)
    zone = given.get("timezone", config.timezone)
    want = resolve_range(**{**given, "timezone": zone}, months=config.months)

    out = run_json(capsys, "--config", str(env), *flags)["range"]
    cli = DateRange(
        date.fromisoformat(out["start"]), date.fromisoformat(out["end"]), out["timezone"]
    )

    views = page_views(
        given.get("start", ""), given.get("end", ""), given.get("last_days", 0),
        timezone=given.get("timezone", ""),
    )  # fmt: skip
    as_of = date.fromisoformat(given["as_of"]) if "as_of" in given else None
    explorer = range_of(views[0], config, as_of)

    cube = load_cube(open_source(config, quiet=True), **given)
    assert cli == explorer == cube.range == want


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-01-01"], "--end: give both a start and an end, or neither"),
        (
            ["--month", "2026-01", "--start", "2026-01-01", "--end", "2026-01-31"],
            "--month: give either a month or a start and end, not both",
        ),
        (["--month", "2026-13"], "--month: '2026-13' is not a month"),
        (["--start", "2026-01-31", "--end", "2026-01-01"], "--end: 2026-01-01 is before the start"),
        (["--org", "unassigned"], "--org: 'unassigned' is not an organization or agent id"),
    ],
)
def test_explain_range_errors_name_the_flag(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["explain", "--config", str(env), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage-report: error: {message}") and err.count("\n") == 1, err


def test_lab_working_copy_is_made_once_and_never_overwritten(tmp_path: Path) -> None:
    from usage_lib.lab import working_copy as _working_copy
    from usage_lib.paths import notebook_dir, report_notebooks

    assert _working_copy(None) == notebook_dir()  # from the checkout: its own notebooks/
    folder = tmp_path / "mine"
    assert _working_copy(folder) == folder
    names = sorted(p.name for p in folder.glob("*.ipynb"))
    assert names and {p.name for p in report_notebooks()} <= set(names)
    edited = folder / names[0]
    edited.write_text("my edits")
    _working_copy(folder)
    assert edited.read_text() == "my edits"
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="is a file, not a folder"):
        _working_copy(tmp_path / "file")


def test_example_config_prints_a_valid_config(capsys: pytest.CaptureFixture[str]) -> None:
    from usage_lib.core.config import parse_config

    assert main(["example-config"]) == 0
    config = parse_config(tomllib.loads(capsys.readouterr().out))
    assert len(config.exclusions) == 3 and config.rule.min_depth == 3


# -- the metrics ---------------------------------------------------------------------------------

METRIC_RANGES = [
    (["--start", "2025-12-20", "--end", "2026-04-18"], "month", "UTC"),
    (
        ["--start", "2025-12-24", "--end", "2026-01-09", "--tz", "Pacific/Auckland"],
        "week",
        "Pacific/Auckland",
    ),
    (
        ["--start", "2026-03-24", "--end", "2026-03-30", "--tz", "Europe/London"],
        "day",
        "Europe/London",
    ),
    (
        ["--start", "2025-10-27", "--end", "2026-04-05", "--tz", "America/New_York"],
        "month",
        "America/New_York",
    ),
]


@pytest.mark.parametrize(("args", "grain", "tz"), METRIC_RANGES)
def test_all_metrics_equal_the_oracle(
    traps: Any, env: Path, capsys: pytest.CaptureFixture[str], args: list[str], grain: str, tz: str
) -> None:
    _, docs = traps
    out = run_json(capsys, "--config", str(env), "--metrics", "all", *args)
    assert out["metrics"] == ["conversations", "users", "depth_avg", "handoffs"]
    assert out["range"]["granularity"] == grain
    start, end = (date.fromisoformat(out["range"][k]) for k in ("start", "end"))
    expected = oracle.metrics(docs, start, end, tz, grain, {EXCLUDED_ORG})
    assert oracle.metrics_from_json(out) == expected
    for row in out["rows"]:  # a bucket without conversations: no users, no depth
        for values in row["buckets"].values():
            if values["conversations"] == 0:
                assert values == {"conversations": 0, "users": 0, "depth_avg": None, "handoffs": 0}


def test_distinct_users_are_counted_not_added(
    traps: Any, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, docs = traps
    out = run_json(capsys, "--config", str(env), "--metrics", "users", *METRIC_RANGES[0][0])
    assert out["metrics"] == ["users"] and set(out["rows"][0]["totals"]) == {"users"}
    rows = out["rows"]
    summed_rows = sum(r["totals"]["users"] for r in rows)
    summed_buckets = sum(v["users"] for v in out["totals"]["buckets"].values())
    expected = oracle.metrics(
        docs, date(2025, 12, 20), date(2026, 4, 18), "UTC", "month", {EXCLUDED_ORG}
    )
    grand = expected["totals"]["total"]["users"]
    # the data has users in several months and in several organizations: sums would overcount
    assert grand < summed_rows and grand < summed_buckets
    assert out["totals"]["totals"]["users"] == grand
    first = rows[0]
    assert first["totals"]["users"] < sum(v["users"] for v in first["buckets"].values())


def test_metrics_of_an_organization_and_an_agent(
    traps: Any, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, docs = traps
    span = [
        "--config",
        str(env),
        "--start",
        "2026-01-01",
        "--end",
        "2026-02-28",
        "--metrics",
        "all",
    ]
    start, end = date(2026, 1, 1), date(2026, 2, 28)
    org = run_json(capsys, *span, "--scope", "org", "--org", ORGS[1])
    expected = oracle.metrics(docs, start, end, "UTC", "month", {EXCLUDED_ORG}, "agent", ORGS[1])
    assert oracle.metrics_from_json(org) == expected
    unattributed = org["rows"][-1]
    assert unattributed["id"] == "unattributed" and unattributed["totals"]["handoffs"] == 0
    bot = org["rows"][0]["id"]
    one = run_json(capsys, *span, "--scope", "agent", "--agent", bot, "--org", ORGS[1])
    assert oracle.metrics_from_json(one)["rows"] == {bot: expected["rows"][bot]}
    anywhere = run_json(capsys, *span, "--scope", "agent", "--agent", bot)
    across = oracle.metrics(docs, start, end, "UTC", "month", {EXCLUDED_ORG}, "agent", None, bot)
    assert oracle.metrics_from_json(anywhere) == across


def test_csv_and_text_show_every_metric(
    traps: Any, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    span = ["--config", str(env), "--start", "2026-01-01", "--end", "2026-02-28"]
    assert main(["table", *span, "--metrics", "handoffs,users", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,name,type,metric,2026-01,2026-02,total"
    metrics = [line.split(",")[3] for line in lines[1:]]
    assert metrics[:4] == ["handoffs", "users", "handoffs", "users"]  # each row, both metrics
    assert main(["table", *span, "--metrics", "depth_avg,users"]) == 0
    text = capsys.readouterr().out
    assert "Average depth (message turns) by organization" in text
    assert "End users (distinct) by organization" in text
    assert "end users: distinct requesters" in text and "mean message turns" in text


def test_bad_metrics_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "--config", str(env), "--metrics", "users,visits"]) == 2
    assert "--metrics: 'users,visits' is not a list of metrics" in capsys.readouterr().err
