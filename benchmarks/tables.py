"""The benchmark's figures as a Markdown page of the docs (docs/benchmark-figures.md).

Written when `make bench` finishes, and again from any bench.json with
`python -m benchmarks --tables-only reports/bench.json`. The page is generated, never
edited: it says when and on what machine the figures were measured (the `run` entry the
benchmark adds to the first record), or, with no bench.json, that no benchmark has been
run on this checkout and how to run one.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.bench import ROOT, explore_table, startup_line, table, warm_table

PAGE = ROOT / "docs" / "benchmark-figures.md"
README = ROOT / "README.md"  # its block of warm figures, between these two lines
BEGIN = "<!-- warm figures: written by the benchmark (benchmarks/tables.py); do not edit -->"
END = "<!-- end of the warm figures -->"
TARGETS = {"explore": 0.2, "alerts": 0.2, "pack": 1 / 3}  # warm at most this much of cold
STEPS = ("warm", "new day")  # the README's: nothing changed, then one new day of data
#: Said under the README's figures when a warm run is above its target.
MISSED = (
    "Above the target here: {cases}. On SecantusDB every warm run counts its range's "
    "documents one by one, where MongoDB counts them from the `createdAt` index alone, so "
    "the warm runs save less here than on MongoDB "
    "([what a warm run costs on MongoDB](docs/local-store.md#what-a-warm-run-costs-on-mongodb-on-paper))."
)
TITLE = "# Benchmark figures"
REGENERATE = "python -m benchmarks --tables-only reports/bench.json"
HEAD = f"""{TITLE}

<!-- Written by the benchmark (benchmarks/tables.py); do not edit. Regenerate from a run's
     figures with: {REGENERATE} -->
"""
NO_RUN = f"""{HEAD}
No benchmark has been run on this checkout, so there are no figures to show yet.

Run it with `make bench` (the deep shape at 50k, 150k and 500k conversations, the wide one
at 2,000 and 4,000 tenants; 1,906 s on a 2-core machine on 1 Dec 2026). It prints every figure, writes them
to `reports/bench.json` and this page from them. For a shorter run,
`python -m benchmarks --sizes 50000 --wide 2000 --out FILE` (it prints the same tables and
writes FILE; `{REGENERATE.replace("reports/bench.json", "FILE")}` makes this page from it).

What the benchmark measures and why: [performance](performance.md).
"""


def _cpu() -> str:
    """The processor's model name, where the system says it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def run_info(total_s: float, now: datetime | None = None) -> dict[str, Any]:
    """When and on what the benchmark ran: the `run` entry of bench.json's first record."""
    now = now or datetime.now(UTC)
    return {
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "total_s": round(total_s),
        "cores": os.cpu_count(),
        "cpu": _cpu(),
        "memory_gb": _memory_gb(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
    }


def _machine(run: dict[str, Any]) -> str:
    memory = f", {run['memory_gb']:g} GB of memory" if run.get("memory_gb") else ""
    return (
        f"{run.get('cores', '?')} cores ({run.get('cpu', 'unknown processor')}){memory}, "
        f"{run.get('system', 'unknown system')}, Python {run.get('python', '?')}"
    )


def _when(run: dict[str, Any]) -> str:
    at = datetime.strptime(run["date"], "%Y-%m-%dT%H:%M:%SZ")
    return f"{at.day} {at:%b %Y} at {at:%H:%M} UTC"


def _pack_table(records: list[dict[str, Any]]) -> str:
    """The pack's time, pass by pass, and its PDF."""
    lines = [
        "| size | all s | data pass s | watch pass s | steps pass s | notebooks s | export s "
        "| PDF s | PDF MB | all but the passes s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if r.get("method") != "pack":
            continue
        cells = [r.get(k) for k in ("wall_s", "data_s", "watch_s", "steps_s", "notebooks_s",
                                    "export_s", "pdf_s", "pdf_mb", "beyond_data_s")]  # fmt: skip
        label = f"wide {r['size']:,} tenants" if r.get("shape") == "wide" else f"{r['size']:,}"
        lines.append(
            f"| {label} | " + " | ".join("–" if c is None else str(c) for c in cells) + " |"
        )
    return "\n".join(lines) + "\n"


def render(records: list[dict[str, Any]] | None, source: str = "reports/bench.json") -> str:
    """The page: the run's date and machine, then every table the benchmark prints (and the
    pack's passes); with no records, the page that says no benchmark has been run."""
    if not records:
        return NO_RUN
    run = next((r["run"] for r in records if isinstance(r.get("run"), dict)), None)
    if run is not None:
        measured = (
            f"Measured on {_when(run)}, on {_machine(run)}, in one run of the benchmark "
            f"({run.get('total_s', 0):,} s in all), from `{source}`."
        )
    else:
        measured = (
            f"From `{source}`, which does not say when or on what machine it was measured "
            "(written before the benchmark recorded it)."
        )
    startup = [r for r in records if str(r.get("method", "")).startswith("startup: ")]
    parts = [
        HEAD,
        measured + " What the methods are and what the figures show: "
        "[performance](performance.md).",
        "",
    ]
    if len(startup) == 2:
        parts += [startup_line(startup) + ".", ""]
    measured_records = [r for r in records if r.get("size")]
    methods = {r.get("method") for r in measured_records}
    if methods - {"warm", "explore", "pack"}:  # not a run of warm runs alone (--only warm)
        parts += ["## Every method at every size", "", table(records)]
    if any(r.get("method") == "explore" for r in measured_records):
        parts += ["## The explorer", "", explore_table(records)]
    if any(r.get("method") == "pack" for r in measured_records):
        parts += ["## The pack, pass by pass", "", _pack_table(records)]
    if any(r.get("method") == "warm" for r in measured_records):
        parts += ["## Warm runs: the local store against one pass", "", warm_table(records)]
    return "\n".join(parts).rstrip() + "\n"


def warm_summary(records: list[dict[str, Any]] | None) -> str:
    """The README's few lines of warm figures: per size, each case's warm run (nothing
    changed) and its run after a new day, as a share of the cold run, against the target."""
    warm = [r for r in records or () if r.get("method") == "warm" and r.get("vs_cold") is not None]
    if not warm:
        return "No benchmark has been run on this checkout: `make bench` writes its figures here."
    run = next((r["run"] for r in records or () if isinstance(r.get("run"), dict)), None)
    when = f" on {_when(run)}" if run else ""
    cases = list(dict.fromkeys(r["case"] for r in warm))
    head = " | ".join(f"{c} (target {TARGETS[c]:.2f}x)" if c in TARGETS else c for c in cases)
    lines = [
        f"Warm runs against cold ones, measured{when} on SecantusDB "
        "([all figures](docs/benchmark-figures.md)): nothing changed / a new day.",
        "",
        f"| size | {head} |",
        "|---|" + "---|" * len(cases),
    ]
    by = {(_size(r), r["case"], r["step"]): r["vs_cold"] for r in warm}
    for size in dict.fromkeys(_size(r) for r in warm):
        cells = [" / ".join(_ratio(by.get((size, c, step))) for step in STEPS) for c in cases]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    missed = sorted(
        {r["case"] for r in warm if r["step"] in STEPS and r["vs_cold"] > TARGETS.get(r["case"], 1)}
    )
    if missed:
        lines += ["", MISSED.format(cases=", ".join(missed))]
    return "\n".join(lines)


def _ratio(vs_cold: float | None) -> str:
    return "–" if vs_cold is None else f"{vs_cold:.2f}x"


def _size(r: dict[str, Any]) -> str:
    return f"wide {r['size']:,} tenants" if r.get("shape") == "wide" else f"{r['size']:,}"


def with_block(text: str, block: str) -> str:
    """`text` (the README) with its warm figures' block replaced by `block`."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"the README has no block of warm figures ({BEGIN} ... {END})")
    head, rest = text.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{block}\n{END}{rest.split(END, 1)[1]}"


def write(
    page: Path, records: list[dict[str, Any]] | None, source: str, readme: Path | None = None
) -> Path:
    """The page; with `readme`, its block of warm figures too."""
    page.write_text(render(records, source), encoding="utf-8")
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        readme.write_text(with_block(text, warm_summary(records)), encoding="utf-8")
    return page


def from_json(path: Path, page: Path = PAGE) -> Path:
    """The page from a bench.json; ValueError (one line) when it cannot be read."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the figures ({exc})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: not the benchmark's figures (a list of records)")
    try:
        shown = str(path.resolve().relative_to(ROOT))
    except ValueError:
        shown = path.name
    return write(page, records, shown, README if page == PAGE else None)
