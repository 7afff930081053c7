"""Progress of long work, on stderr when it is a terminal: what is being read, and how long it
has taken so far. The command line turns it on (`enable`) unless --quiet; in cron, in a pipe,
in a notebook or a test it says nothing.

    with stage("Counting 1 May – 31 Oct 2026 (UTC)") as advance:
        for row in cursor:
            advance(1)

prints "Counting 1 May – 31 Oct 2026 (UTC) … 12 s, 3,000 rows", rewritten in place twice a
second, then "Counting 1 May – 31 Oct 2026 (UTC): 14.2 s, 3,210 rows".
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

_stream: TextIO | None = None
TICK_S = 0.5


def enable(on: bool, stream: TextIO | None = None) -> None:
    """Show stages on `stream` (stderr) from now on, when `on` and it is a terminal."""
    global _stream
    stream = stream or sys.stderr
    _stream = stream if on and stream.isatty() else None


@contextmanager
def stage(what: str) -> Iterator[Callable[[int], None]]:
    """A stage of long work: yields `advance(n)`, to count what has arrived."""
    stream = _stream
    if stream is None:
        yield lambda n: None
        return
    count = [0]
    started = time.monotonic()
    done = threading.Event()

    def line(end: str) -> None:
        rows = f", {count[0]:,} rows" if count[0] else ""
        stream.write(f"\r\033[K{what}{end}{time.monotonic() - started:.0f} s{rows}")
        stream.flush()

    def tick() -> None:
        while not done.wait(TICK_S):
            line(" … ")

    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield lambda n: count.__setitem__(0, count[0] + n)
    finally:
        done.set()
        ticker.join()
        rows = f", {count[0]:,} rows" if count[0] else ""
        stream.write(f"\r\033[K{what}: {time.monotonic() - started:.1f} s{rows}\n")
        stream.flush()
