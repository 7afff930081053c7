"""`python -m benchmarks [--sizes N,N] [--wide N,N] [--repeat N] [--per-table-up-to N]
[--out FILE]`: prints the figures (and the README's tables); bad input is one line, exit 2."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NoReturn

from benchmarks.bench import explore_table, run_bench, table
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
    parser.add_argument("--out", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    sizes = numbers(args.sizes, "--sizes", 1_000, 5_000_000)
    wide = numbers(args.wide, "--wide", 10, 50_000)
    if not sizes and not wide:
        fail("--sizes and --wide: give at least one size")
    if args.repeat < 1:
        fail("--repeat: must be 1 or more")
    out = Path(args.out).absolute() if args.out else None
    if out is not None and not out.parent.is_dir():
        fail(f"--out: folder {out.parent} does not exist")
    started = time.perf_counter()
    records = run_bench(
        sizes, args.repeat, args.per_table_up_to, log=lambda s: print(s, flush=True), wide=wide
    )
    print(
        f"\n{table(records)}\n{explore_table(records)}\nTotal {time.perf_counter() - started:.0f} s."
    )
    if out is not None:
        write_atomic(out, dumps(records).encode())
        print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
