"""The benchmark's figures page: rendered from a bench.json's records (each figure in its
row, the run's date and machine said), or saying that no benchmark has been run."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from data import ROOT

from benchmarks import tables

RUN = {"date": "2026-12-01T09:30:00Z", "total_s": 1906, "cores": 2, "cpu": "Test CPU",
       "memory_gb": 7.8, "system": "Linux 6.1 x86_64", "python": "3.11.7"}  # fmt: skip
STARTUP = [
    {"size": 0, "method": "startup: import polars, pymongo", "wall_s": 0.28, "runs": [0.28] * 5,
     "run": RUN},
    {"size": 0, "method": "startup: usage-report --help", "wall_s": 0.07, "runs": [0.07] * 5},
]  # fmt: skip


def record(method: str, wall_s: float, **more: Any) -> dict[str, Any]:
    return {"shape": "deep", "size": 50_000, "documents": 37_700, "method": method,
            "wall_s": wall_s, "server_commands": 3, "docs_returned": 609,
            "bytes_returned": 57_963, "largest_doc": 101, "peak_rss_mb": 81.0, **more}  # fmt: skip


SAMPLE = [
    *STARTUP,
    record("floor", 2.15, server_commands=1, docs_returned=1, bytes_returned=234, largest_doc=21),
    record("project", 2.87),
    record("pack", 21.6, data_s=8.16, watch_s=3.74, steps_s=2.22, notebooks_s=5.3, export_s=1.1,
           pdf_s=1.2, pdf_mb=0.2, beyond_data_s=7.48),
    record("explore", 4.82, bundle_s=0.5, first_load_commands=3, interaction_commands=0,
           passes=1, preset_ms=8.5, granularity_ms=10.7, drill_down_ms=12.0,
           interaction_ms=10.1, interaction_max_ms=19.6, interactions=60),
]  # fmt: skip


def row(page: str, start: str) -> str:
    found = [line for line in page.splitlines() if line.startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


def test_every_figure_is_in_its_row() -> None:
    page = tables.render(SAMPLE)
    assert page.startswith("# Benchmark figures\n")
    assert "Measured on 1 Dec 2026 at 09:30 UTC, on 2 cores (Test CPU), 7.8 GB of memory" in page
    assert "(1,906 s in all), from `reports/bench.json`" in page
    assert "usage-report --help 0.07 s (0.25x)" in page
    cells = [c.strip() for c in row(page, "| 50,000 | project |").split("|")[1:-1]]
    assert cells[:5] == ["50,000", "project", "2.87", "1.33", "3"]  # 2.87 s, 1.33x the floor
    assert "| 21.60 | 10.05 |" in row(page, "| 50,000 | pack |")
    assert "8.16 / 3.74 / 2.22 / 7.48" in row(page, "| 50,000 | pack |")
    explorer = page.split("## The explorer")[1].split("##")[0]
    assert "| 50,000 | 4.82 | 8.5 | 10.7 | 12.0 | 10.1 | 19.6 | 0 |" in explorer
    passes = page.split("## The pack, pass by pass")[1]
    assert "| 50,000 | 21.6 | 8.16 | 3.74 | 2.22 | 5.3 | 1.1 | 1.2 | 0.2 | 7.48 |" in passes


def test_a_file_without_the_run_says_so() -> None:
    page = tables.render([{k: v for k, v in r.items() if k != "run"} for r in SAMPLE])
    assert "does not say when or on what machine it was measured" in page
    assert "| 50,000 | project | 2.87 |" in page


def test_no_run_says_how_to_run_one() -> None:
    page = tables.render(None)
    assert "No benchmark has been run on this checkout" in page and "`make bench`" in page
    assert "|" not in page  # no table of figures that were never measured


def test_the_run_info_names_the_day_and_the_machine() -> None:
    info = tables.run_info(1905.6, datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    assert info["date"] == "2026-12-01T09:30:00Z" and info["total_s"] == 1906
    assert info["cores"] and info["python"] and info["system"]


def test_tables_only_writes_the_page_from_a_json(tmp_path: Path) -> None:
    figures = tmp_path / "bench.json"
    figures.write_text(json.dumps(SAMPLE))
    page = tmp_path / "figures.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tables-only", str(figures), "--tables", str(page)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "| 50,000 | project | 2.87 |" in page.read_text()
    bad = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tables-only", str(tmp_path / "missing.json"),
         "--tables", str(page)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2 and "--tables-only" in bad.stderr and bad.stderr.count("\n") == 1


def warm_record(case: str, step: str, vs_cold: float, size: int = 150_000) -> dict[str, Any]:
    return {"shape": "deep", "size": size, "method": "warm", "case": case, "step": step,
            "wall_s": 1.0, "vs_cold": vs_cold, "days_cached": 1, "days_read": 0}  # fmt: skip


def test_the_readme_block_says_each_warm_figure_against_its_target() -> None:
    records = [
        {**STARTUP[0]},
        *(
            warm_record(case, step, vs, size)
            for size in (150_000, 500_000)
            for case, step, vs in (
                ("explore", "warm", 0.31), ("explore", "new day", 0.42),
                ("alerts", "warm", 0.18), ("alerts", "new day", 0.25),
                ("pack", "warm", 0.5), ("pack", "new day", 0.55),
            )
        ),
    ]  # fmt: skip
    block = tables.warm_summary(records)
    assert "measured on 1 Dec 2026 at 09:30 UTC" in block
    assert (
        "| size | explore (target 0.20x) | alerts (target 0.20x) | pack (target 0.33x) |" in block
    )
    assert "| 500,000 | 0.31x / 0.42x | 0.18x / 0.25x | 0.50x / 0.55x |" in block
    assert "Above the target here: alerts, explore, pack. On SecantusDB" in block
    met = tables.warm_summary(
        [warm_record("alerts", "warm", 0.18), warm_record("pack", "warm", 0.3),
         warm_record("pack", "edit storm", 1.2)]  # a storm reads every day again, as cold
    )  # fmt: skip
    assert "| 150,000 | 0.18x / – | 0.30x / – |" in met  # no new day measured: no figure
    assert "Above the target" not in met
    readme = f"intro\n{tables.BEGIN}\nold figures\n{tables.END}\nmap\n"
    assert (
        tables.with_block(readme, block) == f"intro\n{tables.BEGIN}\n{block}\n{tables.END}\nmap\n"
    )
    assert "No benchmark has been run" in tables.warm_summary(SAMPLE)


def test_the_readme_carries_the_block_the_benchmark_writes() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert tables.with_block(text, "x").count(tables.BEGIN) == 1
