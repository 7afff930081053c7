"""The stock Tiledesk profile against the oracle's stock reading (written from DOMAIN.md), and
Tiledesk's own dashboard definition reproduced on the same data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import oracle
import pytest
from data import EXCLUDED_PROJECT, FORKS, GONE_FORK, PROJECTS, STOCK_BOTS

from usage_lib.cli import main
from usage_lib.core.config import load_config
from usage_lib.errors import ConfigError

STOCK = oracle.Stock(forks=FORKS)
EXCLUDE = f'[[exclude]]\nid = "{EXCLUDED_PROJECT}"\nname = "Internal project"\nreason = "staff"\n'
# Tiledesk's dashboard: every status, drafts included, no depth, preflight left out, UTC months.
DASHBOARD = """[source]
profile = "tiledesk"

[billing]
statuses = "all"
exclude_test_mode = false
min_depth = 0
exclude_preflight = true
exclude_channels = []
"""


@pytest.fixture
def stock_env(mongo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "stock.toml"
    config.write_text('[source]\nprofile = "tiledesk"\n\n' + EXCLUDE)
    monkeypatch.setenv("USAGE_MONGODB_URI", mongo.uri)
    monkeypatch.setenv("USAGE_MONGODB_DB", "stock")
    monkeypatch.delenv("USAGE_CONFIG", raising=False)
    return config


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["table", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


RANGES = [
    (["--start", "2025-12-20", "--end", "2026-04-18"], "month", "UTC"),
    (["--start", "2026-03-02", "--end", "2026-04-05", "--tz", "Europe/London", "--granularity", "week"], "week", "Europe/London"),
    (["--start", "2025-12-28", "--end", "2026-01-03", "--tz", "Pacific/Auckland"], "day", "Pacific/Auckland"),
    (["--start", "2025-12-20", "--end", "2026-04-18", "--tz", "America/New_York"], "month", "America/New_York"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "grain", "tz"), RANGES)
def test_every_metric_equals_the_stock_oracle(
    stock: Any,
    stock_env: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    grain: str,
    tz: str,
) -> None:
    _, docs = stock
    out = run_json(capsys, "--config", str(stock_env), "--metrics", "all", *args)
    assert out["range"]["granularity"] == grain
    assert {r["type"] for r in out["rows"]} == {"project"}
    start, end = (date.fromisoformat(out["range"][k]) for k in ("start", "end"))
    expected = oracle.metrics(docs, start, end, tz, grain, {EXCLUDED_PROJECT}, stock=STOCK)
    assert oracle.metrics_from_json(out) == expected
    assert out["totals"]["totals"]["depth_avg"] is None  # stock Tiledesk stores no depth
    assert [e["id"] for e in out["excluded"]] == [EXCLUDED_PROJECT]


@pytest.mark.parametrize("project", PROJECTS)
def test_agents_of_a_project_with_forks_and_bot_participants(
    stock: Any, stock_env: Path, capsys: pytest.CaptureFixture[str], project: str
) -> None:
    _, docs = stock
    span = ["--start", "2025-12-20", "--end", "2026-04-18"]
    args = ["--config", str(stock_env), *span, "--scope", "org", "--org", project]
    out = run_json(capsys, *args, "--metrics", "conversations,handoffs,users")
    expected = oracle.metrics(
        docs, date(2025, 12, 20), date(2026, 4, 18), "UTC", "month", {EXCLUDED_PROJECT},
        "agent", project, stock=STOCK,
    )  # fmt: skip
    got = oracle.metrics_from_json(out)
    for row in expected["rows"].values():
        for values in row.values():
            values.pop("depth_avg")
    assert got["rows"] == expected["rows"]
    agents = {r["id"] for r in out["rows"]}
    assert not agents & set(FORKS)  # published forks count for the bot they came from
    assert agents & set(STOCK_BOTS) and GONE_FORK in agents  # a deleted fork keeps its id
    names = {r["id"]: r["name"] for r in out["rows"]}
    assert names[STOCK_BOTS[0]] == "Bot 0" and names[GONE_FORK] == GONE_FORK


def test_the_dashboard_definition_per_project_and_utc_month(
    stock: Any, mongo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """GET /:project/analytics/requests/aggregate/month: `$match` the project and preflight
    false or missing, `$group` by `$year`/`$month` of createdAt (UTC). Run here as that
    pipeline, on the same database, against our platform table by month."""
    db, _ = stock
    config = tmp_path / "dashboard.toml"
    config.write_text(DASHBOARD)
    monkeypatch.setenv("USAGE_MONGODB_URI", mongo.uri)
    monkeypatch.setenv("USAGE_MONGODB_DB", "stock")
    out = run_json(
        capsys, "--config", str(config), "--start", "2025-12-01", "--end", "2026-04-30",
        "--tz", "UTC",
    )  # fmt: skip
    ours = {
        (r["id"], k): v["conversations"]
        for r in out["rows"]
        for k, v in r["buckets"].items()
        if v["conversations"]
    }
    theirs = {}
    for project in [*PROJECTS, EXCLUDED_PROJECT]:
        pipeline = [
            {"$match": {"id_project": project, "preflight": {"$in": [False, None]}}},
            {"$group": {"_id": {"month": {"$month": "$createdAt"}, "year": {"$year": "$createdAt"}},
                        "count": {"$sum": 1}}},
        ]  # fmt: skip
        for row in db.requests.aggregate(pipeline):
            month = f"{row['_id']['year']:04d}-{row['_id']['month']:02d}"
            theirs[(project, month)] = row["count"]
    assert ours == theirs
    assert "any status" in out_counted(capsys, config)


def out_counted(capsys: pytest.CaptureFixture[str], config: Path) -> str:
    span = ["--start", "2025-12-01", "--end", "2026-04-30"]
    assert main(["table", "--config", str(config), *span]) == 0
    return capsys.readouterr().out


def test_pages_and_tables_say_project(
    stock: Any, stock_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    span = ["--start", "2026-01-01", "--end", "2026-03-31"]
    assert (
        main(["table", "--config", str(stock_env), *span, "--metrics", "conversations,depth_avg"])
        == 0
    )
    text = capsys.readouterr().out
    assert "by project" in text and "organization" not in text.lower()
    assert "not a draft" in text and "not preflight" in text and "channel not voice-vxml" in text
    assert "average depth: not available" in text


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[source]\nprofile = "zendesk"\n', "source.profile"),
        ('[source]\nprofile = "tiledesk"\ntenant = 3\n', "source.tenant"),
        ('[source]\nprofile = "tiledesk"\nshard = "x"\n', "source.shard"),
        ('[source]\nprofile = "tiledesk"\n[billing]\nmin_depth = 3\n', "billing.min_depth"),
        ('[billing]\nstatuses = "some"\n', "billing.statuses"),
        ('[billing]\nexclude_channels = "voice-vxml"\n', "billing.exclude_channels"),
        ('[source]\ntenant_field = "id project"\n', "source.tenant_field"),
    ],
)
def test_bad_profiles_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert error.value.key == key


def test_profile_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "between.toml"
    path.write_text(
        '[source]\nprofile = "tiledesk"\ndepth_field = "turns"\n[billing]\nmin_depth = 2\n'
    )
    config = load_config(path, env={})
    assert config.profile.tenant == "project" and config.profile.depth_field == "turns"
    assert config.rule.statuses == (100, 150, 200, 300, 1000) and config.rule.min_depth == 2
    assert config.rule.exclude_preflight and config.rule.exclude_channels == ("voice-vxml",)
    default = load_config(None, env={})
    assert default.profile.name == "custom" and default.rule.statuses == (1000,)
    assert not default.rule.exclude_preflight and default.describe_rule() == (
        "status 1000, not test mode, at least 3 message turns (depth > 2)"
    )


def test_the_explorer_under_the_stock_profile(stock: Any, mongo: Any, tmp_path: Path) -> None:
    from usage_lib.connection import open_source
    from usage_lib.core.source import settings
    from usage_lib.explorer.state import Explorer, View
    from usage_lib.explorer.widget import ExplorerWidget

    _, docs = stock
    path = tmp_path / "stock.toml"
    path.write_text('[source]\nprofile = "tiledesk"\n\n' + EXCLUDE)
    source = open_source(
        settings(path, env={"USAGE_MONGODB_URI": mongo.uri, "USAGE_MONGODB_DB": "stock"})
    )
    widget = ExplorerWidget(
        Explorer(source, as_of=date(2026, 4, 18)), View("last_90_days", org=PROJECTS[0])
    )
    assert widget.table.first == "Project" and widget.shown is not None
    rows = {r["id"]: r["total"] for r in widget.table.rows if r["kind"] == "agent"}
    span = widget.shown.range
    expected = oracle.counts(
        docs, span.start, span.end, "UTC", widget.shown.granularity, {EXCLUDED_PROJECT},
        "agent", PROJECTS[0], stock=STOCK,
    )  # fmt: skip
    assert rows == {a: sum(v.values()) for a, v in expected.items()}
    widget.metric.value = "depth_avg"
    assert "average depth: not available" in widget.counted.value
    assert widget.table.rows[-1]["total"] is None
