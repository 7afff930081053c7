"""The benchmark (`make bench`, or `python -m benchmarks`): the one-pass design against the other ways to get the same tables.

For each size the demo dataset is generated into a fresh in-memory SecantusDB, and
each method runs in a child process of its own (so that its peak memory is its
own), `repeat` times; a pymongo command listener counts what crosses the wire.

- project:   the one-pass cube plus every table of the platform report;
- metrics:   the same with every metric (end users, depth, hand-offs), as the pack reads it;
- naive:     the matching conversations fetched with a projection, grouped in polars;
- per_table: one pipeline per table, the platform one plus one per organization;
- floor:     the server's bare count_documents with the same filter and range;
- pack:      the whole report pack (data pass, notebook execution, HTML export);
- explore:   the explorer widget, headless: its first load (the window pass), then the
             median interaction (a preset, a granularity, a drill-down), all it does in
             Python per change (tables, rows for the browser, the chart's spec).

Every method's organization x month numbers are checked to agree with `project`.
"""

from __future__ import annotations

import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import bson
import polars as pl
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from benchmarks import warm
from usage_lib.core import rule
from usage_lib.core.buckets import bucket_key
from usage_lib.core.config import Config, load_config
from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED, Cube
from usage_lib.core.db import database
from usage_lib.core.periods import DateRange, month_key, months_ending
from usage_lib.core.query import lookup_names, query_cube
from usage_lib.core.source import MONTH_READING
from usage_lib.core.tables import organization_table, platform_table
from usage_lib.figures.adoption import (
    activity,
    agent_quality,
    engagement,
    headline,
    movers,
    starters,
)
from usage_lib.figures.checks import all_checks
from usage_lib.paths import EXAMPLE_CONFIG, report_notebooks

ROOT = Path(__file__).resolve().parent.parent  # the checkout: the children run from it
DEFAULT_SIZES = (50_000, 150_000, 500_000)  # conversations in the collection
DEFAULT_WIDE = (2_000, 4_000)  # tenants of the wide shape
WINDOW_SHARE = 0.622  # of the demo's conversations, the share in the 6-month window (generator v5)
MONTH = (2026, 10)
ONLY = {  # --only: parts of the benchmark that run alone
    "warm": "warm runs against cold ones (benchmarks/warm.py)",
    "pack": "the whole pack, pass by pass, with its PDF",
}
METHODS = ("floor", "project", "metrics", "naive", "per_table")
HANDSHAKE = {"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo", "saslStart",
             "saslContinue"}  # fmt: skip


class Wire(monitoring.CommandListener):
    """Commands sent to the server, documents and BSON bytes it returned."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.commands = self.docs = self.bytes = self.largest = 0
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in HANDSHAKE:
            self.commands += 1
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name in HANDSHAKE:
            return
        reply = event.reply
        self.bytes += len(bson.encode(reply))
        cursor = reply.get("cursor") or {}
        batch = cursor.get("firstBatch", cursor.get("nextBatch"))
        self.docs += len(batch) if batch is not None else 1
        sizes = (
            [len(bson.encode(d)) for d in batch] if batch is not None else [len(bson.encode(reply))]
        )
        self.largest = max(self.largest, *sizes, 0)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


# -- the methods: each returns the organization x month table (org_id, month, n) ----------------


def _by_org_month(cube_table: pl.DataFrame) -> pl.DataFrame:
    months = [c for c in cube_table.columns if c[:2] == "20" and len(c) == 7]
    return (
        cube_table.unpivot(index="id", on=months, variable_name="month", value_name="n")
        .filter(pl.col("n") > 0)
        .rename({"id": "org_id"})
        .sort("org_id", "month")
    )


def report_tables(cube: Cube) -> pl.DataFrame:
    """Every table of the platform report from a cube; returns the organization x month one."""
    table = platform_table(cube, "month")
    for org in table["id"].to_list():
        organization_table(cube, org, "month")
    key = bucket_key(cube.range.end, "month")
    activity(cube), headline(cube, key), movers(cube, key), starters(cube), all_checks(cube)
    return _by_org_month(table)


def project(db: Database, rng: DateRange, config: Config) -> pl.DataFrame:
    return report_tables(query_cube(db, rng, config, grain="month"))


def metrics(db: Database, rng: DateRange, config: Config) -> pl.DataFrame:
    """The pack's pass with every metric (distinct users per organization and month), then
    what the pack shows of them besides the tables of `project`."""
    cube = query_cube(db, rng, config, grain="month", reading=MONTH_READING)
    table = report_tables(cube)
    engagement(cube, bucket_key(cube.range.end, "month"))
    for org in set(table["org_id"].to_list()):
        agent_quality(cube, org)
    for metric in ("depth_avg", "handoffs"):
        platform_table(cube, "month", metric)
    return table


FIELDS = {"_id": 0, "createdAt": 1, "id_organization": 1, "attributes.bot_id": 1,
          "participantsBots": 1, "isTestMode": 1}  # fmt: skip


def naive(db: Database, rng: DateRange, config: Config) -> pl.DataFrame:
    """What an analyst writes first: fetch the matching conversations with a projection,
    group them in polars into the same daily cube, then the same tables."""
    p = config.profile
    rows = []
    for doc in db.requests.find(rule.match(rng, config), FIELDS):
        tenant = rule.tenant_of(doc.get(p.tenant_field))
        why = rule.left_out(config, tenant, rule.is_test(doc, p))
        rows.append((tenant or UNASSIGNED, rule.agent_of(doc, p, {}) or UNATTRIBUTED,
                     doc["createdAt"], why or "billable"))  # fmt: skip
    schema: dict[str, Any] = {"org_id": pl.String, "agent_id": pl.String,
                              "at": pl.Datetime("us", "UTC"), "why": pl.String}  # fmt: skip
    frame = (
        pl.DataFrame(rows, schema=schema, orient="row")
        .with_columns(pl.col("at").dt.convert_time_zone(rng.timezone).dt.date().alias("day"))
        .group_by("org_id", "agent_id", "day")
        .agg(
            (pl.col("why") == "billable").sum().cast(pl.Int64).alias("billable"),
            (pl.col("why") == rule.TEST).sum().cast(pl.Int64).alias("test_mode"),
            (pl.col("why") == rule.EXCLUDED).sum().cast(pl.Int64).alias("excluded"),
        )
        .with_columns(  # the count only, as `project` reads it
            depth_sum=pl.lit(0.0), depth_n=pl.col("billable"), handoffs=pl.lit(0, pl.Int64)
        )
    )
    cube = Cube(
        lookup_names(db, frame),
        rng,
        config.rule.describe(),
        config.exclusions,
        datetime.now(UTC),
    )
    return report_tables(cube)


def drill_down(db: Database, rng: DateRange, config: Config, org: str) -> pl.DataFrame:
    """One organization's agent x month table, from a pass of its own."""
    return organization_table(query_cube(db, rng, config, grain="month", org=org), org, "month")


def per_table(db: Database, rng: DateRange, config: Config) -> pl.DataFrame:
    """A dashboard's way: the product's pass for the platform table, then one more pass per
    organization for its drill-down."""
    table = platform_table(query_cube(db, rng, config, grain="month"), "month")
    for org in table["id"].to_list():
        drill_down(db, rng, config, org)
    return _by_org_month(table)


def floor(db: Database, rng: DateRange, config: Config) -> pl.DataFrame:
    db.requests.count_documents(rule.match(rng, config))
    return pl.DataFrame()


# -- one method in a child process ---------------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec; ru_maxrss would
    include the parent's memory at fork time."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _config() -> tuple[Config, DateRange]:
    config = replace(load_config(EXAMPLE_CONFIG, env={}), mongodb_db="tiledesk")
    return config, months_ending(*MONTH, config.months, config.timezone)


def child(method: str, uri: str, repeat: int, org: str | None = None) -> dict[str, Any]:
    """Run one method `repeat` times; wall time median, wire counts of one run, peak memory."""
    wire = Wire()
    config, rng = _config()
    result: Any = None
    walls: list[float] = []
    with MongoClient[dict[str, Any]](uri, event_listeners=[wire]) as client:
        db = client.tiledesk
        client.admin.command("ping")
        if method == "drill":
            run: Callable[[], Any] = lambda: drill_down(db, rng, config, org or UNASSIGNED)  # noqa: E731
        else:
            run = lambda: METHOD_FUNCTIONS[method](db, rng, config)  # noqa: E731
        for _ in range(repeat):
            wire.reset()
            started = time.perf_counter()
            result = run()
            walls.append(time.perf_counter() - started)
    return {
        "wall_s": round(statistics.median(walls), 2),
        "runs": [round(w, 2) for w in walls],
        "server_commands": wire.commands,
        "docs_returned": wire.docs,
        "bytes_returned": wire.bytes,
        "largest_doc": wire.largest,
        "peak_rss_mb": _peak_rss_mb(),
        "table": result.to_dicts() if isinstance(result, pl.DataFrame) else None,
    }


def child_pack(uri: str) -> dict[str, Any]:
    """The whole pack in this process (its notebooks run in kernels of their own)."""
    from usage_lib.core.source import Source
    from usage_lib.report.job import make_pack

    wire = Wire()
    monitoring.register(wire)
    config = replace(_config()[0], mongodb_uri=uri)
    source = Source(database(config), config, demo=False)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        pack = make_pack(
            source,
            month_key(f"{MONTH[0]:04d}-{MONTH[1]:02d}"),
            Path(out),
            report_notebooks(),
            progress=False,
        )
        wall = time.perf_counter() - started
        pdf = pack.path / pack.manifest.pdf if pack.manifest.pdf else None
        pdf_mb = round(pdf.stat().st_size / 1e6, 2) if pdf else None  # None: no PDF made
    m = pack.manifest.timings
    notebooks = m.notebooks.values()
    return {
        "wall_s": round(wall, 2),
        "server_commands": wire.commands,
        "docs_returned": wire.docs,
        "bytes_returned": wire.bytes,
        "largest_doc": wire.largest,
        "peak_rss_mb": _peak_rss_mb(),
        "data_s": m.data_pass_s,
        "watch_s": m.watch_pass_s,  # the month's alerts: what started, by day
        "steps_s": m.steps_pass_s,  # the month, step by step
        "notebooks_s": m.notebooks_s,  # executed and exported, `jobs` at a time
        "export_s": round(sum(n.export_s for n in notebooks), 2),
        "pdf_s": m.pdf_s,  # the pack as one PDF, from its pages (WeasyPrint)
        "pdf_mb": pdf_mb,
        "beyond_data_s": round(
            wall - m.data_pass_s - m.watch_pass_s - m.steps_pass_s, 2
        ),  # the notebooks, the pages, the email: all but the three passes
    }


EXPLORE_AS_OF = (2026, 11, 20)  # the demo's last day for MONTH
PRESET_CYCLE = ("last_30_days", "last_90_days", "this_month", "last_month", "last_7_days",
                "last_months")  # fmt: skip
GRANULARITY_CYCLE = ("week", "day", "month", "auto")


def child_explore(uri: str, repeat: int) -> dict[str, Any]:
    """The explorer as an analyst drives it, with no browser: every change goes through the
    widget's own handlers, so the time is what the kernel spends before the browser redraws."""
    from datetime import date

    import altair as alt

    from usage_lib.core.source import Source
    from usage_lib.explorer.state import Explorer
    from usage_lib.explorer.widget import ExplorerWidget

    wire = Wire()
    monitoring.register(wire)
    started = time.perf_counter()
    alt.JupyterChart.enable_offline()  # once per kernel: the chart's JavaScript, bundled
    bundle_s = time.perf_counter() - started
    config = replace(_config()[0], mongodb_uri=uri)
    explorer = Explorer(Source(database(config), config, demo=False), date(*EXPLORE_AS_OF))
    started = time.perf_counter()
    widget = ExplorerWidget(explorer)
    first_s = time.perf_counter() - started
    first_commands = wire.commands
    times: dict[str, list[float]] = {"preset": [], "granularity": [], "drill_down": []}

    def timed(kind: str, change: Callable[[], None]) -> None:
        started = time.perf_counter()
        change()
        times[kind].append((time.perf_counter() - started) * 1000)

    for _ in range(repeat):
        for preset in PRESET_CYCLE:
            timed("preset", partial(setattr, widget.preset, "value", preset))
        widget.preset.value = "last_90_days"
        for grain in GRANULARITY_CYCLE:
            timed("granularity", partial(setattr, widget.granularity, "value", grain))
        assert widget.shown is not None
        for org in widget.shown.platform["id"].head(5).to_list():
            timed("drill_down", partial(setattr, widget.table, "org", org))
            timed("drill_down", partial(setattr, widget.table, "org", ""))
    every = [t for kind in times.values() for t in kind]
    return {
        "wall_s": round(first_s, 2),
        "bundle_s": round(bundle_s, 2),
        "first_load_commands": first_commands,
        "interaction_commands": wire.commands - first_commands,  # inside the window: none
        "passes": explorer.passes,
        **{f"{kind}_ms": round(statistics.median(ts), 1) for kind, ts in times.items()},
        "interaction_ms": round(statistics.median(every), 1),
        "interaction_max_ms": round(max(every), 1),
        "interactions": len(every),
        "server_commands": first_commands,
        "docs_returned": None,
        "bytes_returned": None,
        "largest_doc": wire.largest,
        "peak_rss_mb": _peak_rss_mb(),
    }


METHOD_FUNCTIONS: dict[str, Callable[[Database, DateRange, Config], pl.DataFrame]] = {
    "project": project,
    "metrics": metrics,
    "naive": naive,
    "per_table": per_table,
    "floor": floor,
}


def _spawn(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the benchmark -------------------------------------------------------------------------------


def startup(repeat: int = 5) -> list[dict[str, Any]]:
    """How long a command takes to start: `usage-report --help` against the bare imports of
    polars and pymongo, run alternately, `repeat` times each; medians."""
    script = Path(sys.executable).with_name("usage-report")
    commands = {
        "import polars, pymongo": [sys.executable, "-c", "import polars, pymongo"],
        "usage-report --help": [str(script), "--help"],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            walls[name].append(time.perf_counter() - started)
    return [
        {
            "size": 0,
            "method": f"startup: {name}",
            "wall_s": round(statistics.median(w), 3),
            "runs": [round(x, 3) for x in w],
        }
        for name, w in walls.items()
    ]


def startup_line(records: list[dict[str, Any]]) -> str:
    base, command = (r["wall_s"] for r in records)
    return (
        f"Start-up, median of {len(records[0]['runs'])}: import polars, pymongo {base:.2f} s; "
        f"usage-report --help {command:.2f} s ({command / base:.2f}x)"
    )


def run_bench(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    repeat: int = 3,
    per_table_up_to: int = 50_000,
    log: Callable[[str], None] = print,
    wide: tuple[int, ...] = DEFAULT_WIDE,
    only: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Figures for every size and method (`only`: of ONLY's parts alone), `repeat` runs each (per_table: one run, measured in
    full up to `per_table_up_to` conversations, estimated above; see `_estimate_per_table`):
    the deep shape (the demo's 20-odd customers, `sizes` conversations), then the wide one
    (`wide` tenants, 2-3 agents and 40 conversations each over 13 months)."""
    from usage_lib.demo import data as demo_data
    from usage_lib.demo.server import EmbeddedMongo, load

    records = startup()
    log(startup_line(records))
    shapes = [("deep", size, size) for size in sizes] + [("wide", t, 40 * t) for t in wide]
    for shape, size, conversations in shapes:
        started = time.perf_counter()
        if shape == "deep":
            data = demo_data.generate(MONTH, size=round(size * WINDOW_SHARE))
            what = f"{size:,} conversations"
        else:
            data = demo_data.wide(MONTH, tenants=size, conversations=conversations)
            what = f"wide: {size:,} tenants, {conversations:,} conversations over 13 months"
        documents = len(data.requests)
        with EmbeddedMongo(":memory:") as server:
            load(server.uri, data, journal=False)
            del data
            log(f"\n{what} ({documents:,} in the collection): generated and loaded "
                f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
            tables: dict[str, Any] = {}
            case = {"shape": shape, "size": size, "documents": documents}
            if only:
                log(f"  {' and '.join(sorted(only))} only (--only):")
                if "pack" in only:
                    records.append({**case, "method": "pack", **_spawn("pack", server.uri)})
                    log(_line(records[-1], records))
                if "warm" in only:  # last: it writes to the data
                    records += [
                        {**case, "method": "warm", **f}
                        for f in warm.measure(server.uri, repeat, log)
                    ]
                continue
            for method in METHODS:
                if method == "per_table" and conversations > per_table_up_to:
                    figures = _estimate_per_table(server.uri, tables["project"])
                else:  # per_table in full: one run, it costs 1 + organizations scans
                    runs = 1 if method == "per_table" else repeat
                    figures = _spawn("child", method, server.uri, str(runs))
                tables[method] = figures.pop("table", None)
                records.append({**case, "method": method, **figures})
                log(_line(records[-1], records))
            for method, args in (("pack", ()), ("explore", (str(repeat),))):
                records.append({**case, "method": method, **_spawn(method, server.uri, *args)})
                log(_line(records[-1], records))
            for method in ("metrics", "naive", "per_table"):
                if tables[method] is not None and tables[method] != tables["project"]:
                    raise RuntimeError(f"{method} disagrees with project at {what}")
            log("  warm against cold (the local store; it writes to the data, so it runs last):")
            for figures in warm.measure(server.uri, repeat, log):
                records.append({**case, "method": "warm", **figures})
            log(
                "  metrics, naive and per_table give the same organization x month numbers as project"
            )
    return records


def _estimate_per_table(uri: str, project_table: list[dict[str, Any]]) -> dict[str, Any]:
    """The largest organization's drill-down, measured once. Every pipeline of this method is a
    scan of the collection, so it costs (1 platform + N drill-downs) x that; the platform one
    groups more and costs a little more, so this estimate favours per_table."""
    totals: dict[str, int] = {}
    for row in project_table:
        totals[row["org_id"]] = totals.get(row["org_id"], 0) + row["n"]
    largest = max(totals, key=lambda o: totals[o])
    one = _spawn("child", "drill", uri, "1", largest)
    pipelines = 1 + len(totals)
    return {
        "wall_s": round(pipelines * one["wall_s"], 2),
        "server_commands": pipelines,
        "docs_returned": None,
        "bytes_returned": None,
        "largest_doc": one["largest_doc"],
        "peak_rss_mb": one["peak_rss_mb"],
        "estimated": f"{pipelines} pipelines x {one['wall_s']} s (one drill-down, measured)",
        "table": None,
    }


def _line(r: dict[str, Any], records: list[dict[str, Any]]) -> str:
    floor_s = next((x["wall_s"] for x in records if _same(x, r) and x["method"] == "floor"), None)
    ratio = f"{r['wall_s'] / floor_s:5.2f}x" if floor_s else "     "
    text = (
        f"  {r['method']:<10} {r['wall_s']:8.2f} s {ratio}  {r['server_commands']:>4} commands "
        f"{_n(r['docs_returned']):>9} docs {_n(r['bytes_returned']):>12} bytes, largest "
        f"{_n(r.get('largest_doc')):>9}  {r['peak_rss_mb']:7.1f} MB"
    )
    if r["method"] == "metrics":
        project_s = next(x["wall_s"] for x in records if _same(x, r) and x["method"] == "project")
        text += f"  ({r['wall_s'] / project_s:.2f}x the count-only pass)"
    if r["method"] == "pack":
        text += (
            f"  (data {r['data_s']} s, watch {r['watch_s']} s, steps {r['steps_s']} s, "
            f"notebooks {r['notebooks_s']} s, all but the passes {r['beyond_data_s']} s, "
            f"of which the PDF {r.get('pdf_s')} s, {r.get('pdf_mb')} MB)"
        )
    if r.get("estimated"):
        text += f"  estimated: {r['estimated']}"
    if r["method"] == "explore":
        text = (
            f"  explore    first load {r['wall_s']:.2f} s (chart bundle {r['bundle_s']} s, once "
            f"per kernel); {r['interactions']} interactions: median {r['interaction_ms']} ms "
            f"(preset {r['preset_ms']}, granularity {r['granularity_ms']}, drill-down "
            f"{r['drill_down_ms']}), slowest {r['interaction_max_ms']} ms; "
            f"{r['interaction_commands']} database commands after the first load"
        )
    return text


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["size"] == b["size"] and a.get("shape") == b.get("shape"))


def _label(r: dict[str, Any]) -> str:
    return f"wide {r['size']:,} tenants" if r.get("shape") == "wide" else f"{r['size']:,}"


def _n(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def table(records: list[dict[str, Any]]) -> str:
    """The Markdown table of every method at every size (the benchmark figures page)."""
    head = ("| size | method | wall s (median) | x floor | commands | docs returned | bytes returned "
            "| largest document, bytes | peak RSS MB | pack: data / watch / steps / all but the passes s |\n"
            "|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    lines = [head]
    for r in records:
        if r["size"] == 0 or r["method"] in ("explore", "warm"):  # their own tables
            continue
        floor_s = next(  # none when the floor was not measured (--only pack)
            (x["wall_s"] for x in records if _same(x, r) and x["method"] == "floor"), None
        )
        split = (
            f"{r['data_s']} / {r['watch_s']} / {r['steps_s']} / {r['beyond_data_s']}"
            if r["method"] == "pack"
            else ""
        )
        name = r["method"] + (" (est.)" if r.get("estimated") else "")
        ratio = f"{r['wall_s'] / floor_s:.2f}" if floor_s else "–"
        lines.append(
            f"| {_label(r)} | {name} | {r['wall_s']:.2f} | {ratio} | "
            f"{r['server_commands']} | {_n(r['docs_returned'])} | {_n(r['bytes_returned'])} | "
            f"{_n(r.get('largest_doc'))} | {r['peak_rss_mb']:.0f} | {split} |"
        )
    return "\n".join(lines) + "\n"


def warm_table(records: list[dict[str, Any]]) -> str:
    """Warm against cold (`benchmarks/warm.py`), each step of each case at each size."""
    lines = [
        "| size | case | step | wall s | x cold | days from the store | days read |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if r.get("method") != "warm":
            continue
        cached, read = ("–", "–") if r["days_read"] is None else (r["days_cached"], r["days_read"])
        lines.append(
            f"| {_label(r)} | {r['case']} | {r['step']} | {r['wall_s']:.2f} | {r['vs_cold']} | "
            f"{cached} | {read} |"
        )
    return "\n".join(lines) + "\n"


def explore_table(records: list[dict[str, Any]]) -> str:
    """The Markdown table of the explorer's figures (the benchmark figures page)."""
    lines = [
        "| size | first load s | preset ms | granularity ms | drill-down ms | median ms "
        "| slowest ms | commands after the first load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if r["method"] == "explore":
            lines.append(
                f"| {_label(r)} | {r['wall_s']:.2f} | {r['preset_ms']} | {r['granularity_ms']} "
                f"| {r['drill_down_ms']} | {r['interaction_ms']} | {r['interaction_max_ms']} "
                f"| {r['interaction_commands']} |"
            )
    return "\n".join(lines) + "\n"


def _child_main(argv: list[str]) -> int:
    if argv[0] == "pack":
        result = child_pack(argv[1])
    elif argv[0] == "explore":
        result = child_explore(argv[1], int(argv[2]))
    else:
        result = child(argv[1], argv[2], int(argv[3]), argv[4] if len(argv) > 4 else None)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
