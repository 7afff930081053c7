"""`python -m benchmarks [--sizes N,N] [--wide N,N] [--repeat N] [--per-table-up-to N]
[--only warm,pack] [--out FILE] [--tables PAGE]`: prints the figures and their tables; bad input is one line,
exit 2. A run of the default sizes also writes the tables as the docs' page
(docs/benchmark-figures.md). `python -m benchmarks --tables-only FILE [--tables PAGE]` writes
that page from the figures of an earlier run (a bench.json), measuring nothing."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NoReturn

from benchmarks import tables
from benchmarks.bench import (
    DEFAULT_SIZES,
    DEFAULT_WIDE,
    ONLY,
    explore_table,
    run_bench,
    table,
    warm_table,
)
from usage_lib.paths import write_atomic
from usage_lib.present.formats import dumps


def fail(message: str) -> NoReturn:
    """Bad input: one line, exit 2 (as usage-report)."""
    print(f"benchmarks: {message}", file=sys.stderr)
    sys.exit(2)


def numbers(text: str, flag: str, low: int, high: int) -> tuple[int, ...]:
    try:
        found = tuple(int(x.replace("_", "")) for x in text.split(",") if x.strip())
    except ValueError:
        fail(f"{flag}: {text!r} is not a comma-separated list of whole numbers")
    if any(n < low or n > high for n in found):
        fail(f"{flag}: each must be between {low} and {high}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--sizes",
        default="50000,150000,500000",
        metavar="N,N,...",
        help="the deep shape: demo datasets of these many conversations in the collection",
    )
    parser.add_argument(
        "--wide",
        default="2000,4000",
        metavar="N,N,...",
        help="the wide shape: these many tenants (2-3 agents, 40 conversations each over 13 "
        "months); '' for none",
    )
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per case (median)")
    parser.add_argument(
        "--per-table-up-to",
        type=int,
        default=50_000,
        metavar="N",
        help="measure one-query-per-table in full up to this size; estimate it above",
    )
    parser.add_argument(
        "--only",
        metavar="PART,PART",
        default="",
        help="measure only these parts at each size: "
        + "; ".join(f"{name}: {what}" for name, what in ONLY.items()),
    )
    parser.add_argument("--out", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--tables",
        metavar="PAGE",
        help="write the tables as Markdown to PAGE (default: docs/benchmark-figures.md after a "
        "run of the default sizes, or with --tables-only; no page after a shorter run)",
    )
    parser.add_argument(
        "--tables-only",
        metavar="FILE",
        help="measure nothing: write the tables page from FILE, the JSON of an earlier run",
    )
    args = parser.parse_args(argv)
    page = Path(args.tables).absolute() if args.tables else None
    if page is not None and not page.parent.is_dir():
        fail(f"--tables: folder {page.parent} does not exist")
    if args.tables_only:
        try:
            written = tables.from_json(Path(args.tables_only), page or tables.PAGE)
        except ValueError as exc:
            fail(f"--tables-only: {exc}")
        print(f"Wrote {written}")
        return 0
    sizes = numbers(args.sizes, "--sizes", 1_000, 5_000_000)
    wide = numbers(args.wide, "--wide", 10, 50_000)
    if not sizes and not wide:
        fail("--sizes and --wide: give at least one size")
    if args.repeat < 1:
        fail("--repeat: must be 1 or more")
    out = Path(args.out).absolute() if args.out else None
    if out is not None and not out.parent.is_dir():
        fail(f"--out: folder {out.parent} does not exist")
    only = frozenset(p.strip() for p in args.only.split(",") if p.strip())
    if only - set(ONLY):
        fail(f"--only: {', '.join(sorted(only - set(ONLY)))}: the parts are {', '.join(ONLY)}")
    full = (sizes, wide, args.repeat, only) == (DEFAULT_SIZES, DEFAULT_WIDE, 3, frozenset())
    if page is None and full:
        page = tables.PAGE  # the full benchmark: its figures are the docs'
    started = time.perf_counter()
    records = run_bench(
        sizes,
        args.repeat,
        args.per_table_up_to,
        log=lambda s: print(s, flush=True),
        wide=wide,
        only=only,
    )
    total_s = time.perf_counter() - started
    records[0]["run"] = tables.run_info(total_s)  # when and on what: the first record says
    if out is not None:  # kept first: printing the tables must not lose the figures
        write_atomic(out, dumps(records).encode())
        print(f"Wrote {out}")
    print(
        f"\n{table(records)}\n{explore_table(records)}\n{warm_table(records)}\nTotal {total_s:.0f} s."
    )
    if page is not None:
        source = out.name if out is not None else "this run (no --out)"
        if out is not None and out.is_relative_to(tables.ROOT):
            source = str(out.relative_to(tables.ROOT))
        tables.write(page, records, source, tables.README if page == tables.PAGE else None)
        print(f"Wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
