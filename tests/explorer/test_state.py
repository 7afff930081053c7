"""The explorer's logic through its Python state (no browser): every view against the
independent oracle, agent rows against their organization, and the database calls."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import oracle
import polars as pl
import pytest
from bson import ObjectId
from data import EXCLUDED_ORG, ORGS
from pymongo import MongoClient
from support import Commands

from usage_lib.connection import open_source
from usage_lib.core.source import Source, settings
from usage_lib.errors import ConfigError
from usage_lib.explorer.page import view_html
from usage_lib.explorer.state import Explorer, Shown, View, page_views
from usage_lib.explorer.widget import ExplorerWidget, download

AS_OF = date(2026, 4, 18)  # the last day of the trap data (Dec 2025 - Apr 2026)
AS_OF_DT = datetime(2026, 4, 17, 12)
EMPTY = {"conversations": 0, "users": 0, "depth_avg": None, "handoffs": 0}


@pytest.fixture(scope="module")
def listened(
    mongo: Any, traps: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Source, Commands]:
    config_file = tmp_path_factory.mktemp("explore") / "usage.toml"
    config_file.write_text(f'[[exclude]]\nid = "{EXCLUDED_ORG}"\nname = "I"\nreason = "r"\n')
    config = settings(config_file, env={"USAGE_MONGODB_URI": mongo.uri})
    commands = Commands()
    client: MongoClient[dict[str, Any]] = MongoClient(mongo.uri, event_listeners=[commands])
    return Source(client.traps, config, demo=False), commands


@pytest.fixture(scope="module")
def explorer(listened: tuple[Source, Commands]) -> Explorer:
    return Explorer(listened[0], as_of=AS_OF)


def expected(docs: list[dict[str, Any]], shown: Shown, **where: Any) -> dict[str, Any]:
    """The oracle's {row: {bucket or total: value}} and totals for the shown view's metric."""
    rng, metric = shown.range, shown.view.metric
    o = oracle.metrics(
        docs, rng.start, rng.end, rng.timezone, shown.granularity, {EXCLUDED_ORG}, **where
    )
    keys = [b.key for b in shown.buckets] + ["total"]
    rows = {
        row: {k: values.get(k, EMPTY)[metric] for k in keys} for row, values in o["rows"].items()
    }
    return {"rows": rows, "totals": {k: o["totals"].get(k, EMPTY)[metric] for k in keys}}


def got(table: pl.DataFrame, totals: dict[str, Any] | None, shown: Shown) -> dict[str, Any]:
    keys = [b.key for b in shown.buckets] + ["total"]
    rows = {r["id"]: {k: r[k] for k in keys} for r in table.iter_rows(named=True)}
    return {"rows": rows, "totals": totals}


VIEWS = [
    View(),  # the last 6 full months: Oct 2025 - Mar 2026, by month
    View("last_7_days"),  # days
    View("last_30_days", timezone="Europe/London"),  # weeks across the spring DST change
    View("last_90_days", granularity="week", timezone="America/New_York"),
    View("this_month", metric="handoffs"),
    View("last_month", granularity="day", timezone="Pacific/Auckland", metric="depth_avg"),
    View("custom", date(2025, 12, 24), date(2026, 1, 9), timezone="Pacific/Auckland"),
    View("last_30_days", metric="users"),
    View("custom", date(2026, 2, 23), date(2026, 3, 15), "week", "Europe/Rome", "users"),
]


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: f"{v.preset}-{v.granularity}-{v.metric}")
def test_views_equal_the_oracle(explorer: Explorer, traps: Any, view: View) -> None:
    _, docs = traps
    shown = explorer.show(view)
    assert got(shown.platform, shown.platform_totals, shown) == expected(docs, shown)
    org = str(shown.platform["id"][0])
    opened = explorer.show(View(**{**view.__dict__, "org": org}))
    assert got(opened.agents, opened.agents_totals, opened) == expected(  # type: ignore[arg-type]
        docs, opened, by="agent", org=org
    )
    agent = str(opened.agents["id"][0])  # type: ignore[index]
    one = explorer.show(View(**{**view.__dict__, "org": org, "agent": agent}))
    own = expected(docs, one, by="agent", org=org, agent=agent)["rows"]
    assert got(one.agent, None, one)["rows"] == own  # type: ignore[arg-type]


def test_presets_cover_the_days_asked(explorer: Explorer) -> None:
    ranges = {
        v.preset: (r.start.isoformat(), r.end.isoformat())
        for v in map(View, ["last_7_days", "last_30_days", "this_month", "last_month"])
        for r in [explorer.range_of(v)]
    }
    assert ranges == {
        "last_7_days": ("2026-04-12", "2026-04-18"),
        "last_30_days": ("2026-03-20", "2026-04-18"),
        "this_month": ("2026-04-01", "2026-04-18"),
        "last_month": ("2026-03-01", "2026-03-31"),
    }
    default = explorer.range_of(View())
    assert (default.start, default.end) == (date(2025, 10, 1), date(2026, 3, 31))


def test_agent_rows_sum_to_their_organization(explorer: Explorer) -> None:
    for metric in ("conversations", "handoffs"):
        view = View("last_90_days", granularity="week", metric=metric)
        for org in explorer.show(view).platform.iter_rows(named=True):
            agents = explorer.show(View(**{**view.__dict__, "org": org["id"]})).agents
            assert agents is not None
            value_columns = [c for c in agents.columns if c not in ("id", "name", "type")]
            sums = agents.select(pl.col(c).sum() for c in value_columns).row(0, named=True)
            assert sums == {c: org[c] for c in value_columns}


def test_no_database_call_inside_the_window(listened: tuple[Source, Commands]) -> None:
    source, commands = listened
    explorer = Explorer(source, as_of=AS_OF)
    before = len(commands.names)
    first = explorer.show(View())
    assert commands.names[before:].count("aggregate") == 1
    assert explorer.passes == 1 and first.notes  # the first view loads the window, and says so
    calls = len(commands.names)
    org = str(first.platform["id"][0])
    for view in [
        *(View(p) for p in ("last_7_days", "last_30_days", "last_90_days", "this_month")),
        View("last_month", granularity="day"),
        View(granularity="week", metric="depth_avg"),
        View("custom", date(2025, 4, 1), date(2026, 4, 18), metric="handoffs"),
        View("last_30_days", org=org),
        View("last_30_days", org=org, agent="unattributed"),
    ]:
        assert explorer.pending(view) is None
        assert not explorer.show(view).notes
    assert len(commands.names) == calls and explorer.passes == 1  # no command at all

    outside = View("custom", date(2025, 2, 1), date(2025, 12, 31))  # starts before the window
    assert "outside the loaded window" in (explorer.pending(outside) or "")
    explorer.show(outside)
    assert commands.names[calls:].count("aggregate") == 1 and explorer.passes == 2
    calls = len(commands.names)
    explorer.show(outside)
    assert len(commands.names) == calls  # kept

    users = View("last_30_days", metric="users")
    assert "cannot be added up from days" in (explorer.pending(users) or "")
    explorer.show(users)
    explorer.show(View(**{**users.__dict__, "org": org}))  # the same pass serves drill-downs
    assert commands.names[calls:].count("aggregate") == 1 and explorer.passes == 3

    other_zone = View("last_30_days", timezone="Asia/Kolkata")
    assert "Loading" in (explorer.pending(other_zone) or "")
    explorer.show(other_zone)
    assert explorer.passes == 4


def test_bad_views_name_the_setting(explorer: Explorer) -> None:
    for view, key in [
        (View("yesterday"), "preset"),
        (View("custom"), "start"),
        (View("custom", date(2026, 3, 1)), "end"),
        (View(granularity="hour"), "granularity"),
        (View(timezone="Mars/Base"), "timezone"),
        (View(metric="revenue"), "metrics"),
        (View(org="nope"), "org"),
        (View(agent=ORGS[0]), "agent"),
        (View("custom", date(2026, 3, 2), date(2026, 3, 1)), "end"),
        (View("last_5000_days"), "last_days"),
    ]:
        with pytest.raises(ConfigError) as error:
            explorer.show(view)
        assert error.value.key == key


@pytest.mark.parametrize(
    ("given", "key", "problem"),
    [
        ({"start": "2026-03-01"}, "end", "give both a start and an end, or neither"),
        ({"end": "2026-03-01"}, "start", "give both a start and an end, or neither"),
        ({"start": "2026-03-01", "end": "2026-03-02", "last_days": 7}, "last_days",
         "give either the last N days or a start and end, not both"),
        ({"last_days": -1}, "last_days", "must be 1 or more, got -1"),
        ({"start": "2026-02-30", "end": "2026-03-02"}, "start",
         "'2026-02-30' is not a date (expected YYYY-MM-DD)"),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "end", "2026-03-01 is before the start 2026-03-02"),
    ],
)  # fmt: skip
def test_page_views_check_the_range_as_every_range_is(
    given: dict[str, Any], key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as error:
        page_views(**given)
    assert (error.value.key, error.value.problem) == (key, problem)


def test_page_views_are_a_custom_range_the_last_n_days_or_the_default(explorer: Explorer) -> None:
    custom = page_views("2026-03-01", "2026-03-02", metrics="conversations,users")
    assert [(v.preset, v.start, v.end, v.metric) for v in custom] == [
        ("custom", date(2026, 3, 1), date(2026, 3, 2), "conversations"),
        ("custom", date(2026, 3, 1), date(2026, 3, 2), "users"),
    ]
    assert [v.preset for v in page_views(last_days=12)] == ["last_12_days"]
    assert [v.preset for v in page_views(last_days=0)] == ["last_months"]  # 0: not given
    assert [v.preset for v in page_views(org=ORGS[0].upper())] == ["last_30_days"]
    assert page_views(org=ORGS[0].upper())[0].org == ORGS[0]
    twelve = explorer.range_of(page_views(last_days=12)[0])
    assert (twelve.start, twelve.end) == (date(2026, 4, 7), AS_OF)


# -- the widget, headless: its controls drive the same state ----------------------------------------


def test_widget_controls_drive_the_table(explorer: Explorer, traps: Any) -> None:
    _, docs = traps
    widget = ExplorerWidget(explorer)
    assert widget.preset.value == "last_months" and widget.table.labels[0] == "Oct 2025"
    widget.preset.value = "last_30_days"
    assert (widget.start.value, widget.end.value) == (date(2026, 3, 20), AS_OF)
    org = widget.table.rows[0]["id"]
    widget.table.org = org  # what a click on the organization row sets
    kinds = [r["kind"] for r in widget.table.rows]
    agents = [r for r in widget.table.rows if r["kind"] == "agent"]
    assert kinds[0] == "organization" and kinds[1 : 1 + len(agents)] == ["agent"] * len(agents)
    assert sum(r["total"] for r in agents) == widget.table.rows[0]["total"]
    shown = widget.shown
    assert shown is not None
    want = expected(docs, shown, by="agent", org=org)["rows"]
    assert {r["id"]: r["total"] for r in agents} == {k: v["total"] for k, v in want.items()}
    widget.table.agent = agents[-1]["id"]
    assert widget.shown is not None and widget.shown.agent is not None
    assert widget.shown.agent["id"].to_list() == [agents[-1]["id"]]
    widget.start.value = date(2026, 3, 1)  # editing a date makes the range custom
    assert widget.preset.value == "custom" and widget.shown.range.start == date(2026, 3, 1)
    widget.zone.value = "Mars/Base"
    assert "unknown time zone" in widget.status.value  # said in one line; the table stays
    assert widget.shown.range.timezone == "UTC"
    widget.zone.value = "UTC"
    assert "unknown time zone" not in widget.status.value
    widget.table.org = ""  # what a second click on the open organization sets
    assert all(r["kind"] != "agent" for r in widget.table.rows)


def test_downloads_hold_the_table_on_screen(explorer: Explorer) -> None:
    widget = ExplorerWidget(explorer, View("last_90_days", org=ORGS[1]))
    shown = widget.shown
    assert shown is not None and shown.agents is not None
    name, mime, payload = widget.download("csv")
    assert name.endswith(".csv") and mime == "text/csv"
    text = {"id": pl.String, "name": pl.String, "parent": pl.String}
    csv = pl.read_csv(io.BytesIO(payload), schema_overrides=text)
    keys = [b.key for b in shown.buckets]
    on_screen = [r["id"] for r in widget.table.rows]
    assert csv["id"].to_list() == on_screen  # organizations, the open one's agents, the total
    assert csv.filter(pl.col("parent") == ORGS[1])["id"].to_list() == shown.agents["id"].to_list()
    assert csv.select(keys).rows() == [tuple(r["values"]) for r in widget.table.rows]
    _, _, xlsx = widget.download("xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][4] == shown.buckets[0].label  # headers are the labels shown
    assert [r[0] for r in cells[1:]] == on_screen
    assert [r[-1] for r in cells[1:]] == [r["total"] for r in widget.table.rows]


def test_a_formula_like_name_stays_text(mongo: Any, tmp_path: Path) -> None:
    names = {'=HYPERLINK("http://x","click")': 3, "+1+2": 2, "-3": 1, "@SUM(1)": 1}
    orgs = [ObjectId() for _ in names]
    with MongoClient(mongo.uri) as client:
        db = client["formulas"]
        db.drop_collection("requests")
        db.drop_collection("organizations")
        db.organizations.insert_many(
            [{"_id": o, "name": n} for o, n in zip(orgs, names, strict=True)]
        )
        db.requests.insert_many(
            {"id_organization": o, "status": 1000, "depth": 5, "createdAt": AS_OF_DT}
            for o, n in zip(orgs, names.values(), strict=True)
            for _ in range(n)
        )
    config = settings(env={"USAGE_MONGODB_URI": mongo.uri, "USAGE_MONGODB_DB": "formulas"})
    source = open_source(config)
    shown = Explorer(source, as_of=AS_OF).show(View("last_7_days"))
    assert set(shown.platform["name"]) == set(names)
    _, _, payload = download(shown, "csv")
    written_csv = set(pl.read_csv(io.BytesIO(payload), infer_schema=False)["name"].to_list())
    assert {f"'{n}" for n in names} <= written_csv  # a spreadsheet opens them as text
    _, _, xlsx = download(shown, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    written = {row[1].value: row[1].data_type for row in sheet.iter_rows(min_row=2)}
    assert {n: written[n] for n in names} == {n: "s" for n in names}  # text, not formulas


def test_a_first_view_outside_the_window_reads_only_its_range(
    listened: tuple[Source, Commands],
) -> None:
    explorer = Explorer(listened[0], as_of=AS_OF)
    old = View("custom", date(2025, 1, 1), date(2025, 12, 31))  # before the 13-month window
    assert "outside the loaded window" in (explorer.pending(old) or "")
    assert explorer.show(old).range.start == date(2025, 1, 1) and explorer.passes == 1
    assert (explorer.pending(View()) or "").startswith("Loading 1 Mar 2025")
    explorer.show(View())
    assert explorer.passes == 2 and explorer.pending(View("last_7_days")) is None


@pytest.fixture(scope="module")
def wide_source(mongo: Any) -> Source:
    """120 customers (demo_data.wide): more than the explorer lists at first."""
    from usage_lib.demo.data import wide
    from usage_lib.demo.server import load

    load(mongo.uri, wide((2026, 3), tenants=120, conversations=4_000), "wide", journal=False)
    config = settings(env={"USAGE_MONGODB_URI": mongo.uri, "USAGE_MONGODB_DB": "wide"})
    return open_source(config)


def test_many_tenants_list_the_first_ones_find_by_name_and_show_more(wide_source: Source) -> None:
    explorer = Explorer(wide_source, as_of=AS_OF)
    widget = ExplorerWidget(explorer)
    shown = widget.shown
    assert shown is not None and shown.platform.height > 100
    rows = widget.table.rows
    kinds = [r["kind"] for r in rows]
    assert kinds == ["organization"] * 50 + ["more", "total"]
    assert rows[:50] == [r for r in rows if r["kind"] == "organization"]
    assert [r["id"] for r in rows[:50]] == shown.platform["id"].head(50).to_list()  # largest first
    hidden = shown.platform.height - 50
    assert rows[50]["name"].startswith(f"{hidden:,} more organizations")
    assert rows[-1]["total"] == shown.platform["total"].sum()  # the totals are of every one
    passes = explorer.passes
    widget.table.limit = 100  # "Show 50 more"
    assert [r["kind"] for r in widget.table.rows].count("organization") == 100
    widget.find.value = "clinic 1"  # any case; the list starts again
    found = [r for r in widget.table.rows if r["kind"] == "organization"]
    assert found and all("clinic 1" in r["name"].lower() for r in found)
    assert widget.table.limit == 50 and len(found) <= 50
    assert widget.table.rows[-1]["total"] == shown.platform["total"].sum()
    assert explorer.passes == passes  # choosing rows costs no pass
    name, _, payload = widget.download("csv")
    written = pl.read_csv(io.BytesIO(payload), infer_schema=False)
    assert written.height == len(widget.shown.matching()) + 1  # every match, and the totals
    widget.find.value = ""
    page = view_html(widget.shown)
    assert f"All other organizations ({hidden:,})" in page  # the static page: 50 and the rest


def test_step_by_step_shows_the_ranges_steps_when_asked(explorer: Explorer, traps: Any) -> None:
    """The "Counted:" line's button: one pass for the range shown, the platform's steps and
    the open organization's; another view clears them."""
    _, docs = traps
    widget = ExplorerWidget(explorer, View("last_90_days", org=ORGS[1]))
    before = explorer.passes
    assert widget.steps.value == ""
    widget._explained()
    assert explorer.passes == before + 1
    shown = widget.shown
    assert shown is not None
    rng = shown.range
    started = sum(
        1
        for d in docs
        if (day := oracle.day_of(d, rng.timezone)) is not None and rng.start <= day <= rng.end
    )
    text = widget.steps.value
    assert "The platform" in text and f">{started:,}<" in text
    assert "Org 1" in text  # the open organization's own steps
    widget.preset.value = "last_30_days"
    assert widget.steps.value == ""
