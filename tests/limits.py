"""MongoDB's limits, enforced by the tests: every test database sits behind a `LimitProxy`
(tests/wire.py), and the root conftest.py fails any test (an nbval cell too) in which a
server returned a document over 16 MiB, as MongoDB would have refused it.

The proxy also presents the server as the oldest MongoDB the product supports, 4.4 (`GATE`,
tests/gate.py): the driver sees wire version 9 and buildInfo 4.4.29, and a command using a
stage or operator newer than 4.4 (`$dateTrunc`, `$setWindowFields`, ...) fails as it would
on mongod 4.4, so the whole suite proves the product works there.

`served(server)` puts a proxy in front of a started server and registers it; `check()`
is called around every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gate import Gate
from wire import LimitProxy

PROXIES: list[LimitProxy] = []
GATE = "4.4.29"  # every test server presents itself as this MongoDB (None: as itself)


@dataclass(frozen=True)
class Served:
    """A test server seen through its proxy: clients use `uri` (or `port`)."""

    server: Any  # usage_lib.demo.server.EmbeddedMongo
    proxy: LimitProxy

    @property
    def uri(self) -> str:
        return self.proxy.uri

    @property
    def port(self) -> int:
        return self.proxy.port


def served(server: Any, version: str | None = GATE, wire: int | None = None) -> Served:
    """`server` behind a started proxy, seen as MongoDB `version` (its release's wire version
    unless `wire`); version=None shows the server as it is."""
    gate = Gate(version, wire) if version else None
    proxy = LimitProxy("127.0.0.1", server.port, gate=gate).start()
    PROXIES.append(proxy)
    return Served(server, proxy)


def release(served: Served) -> None:
    served.proxy.stop()
    if served.proxy in PROXIES:
        PROXIES.remove(served.proxy)


def reset() -> None:
    for proxy in PROXIES:
        proxy.reset()


def check() -> list[str]:
    """Every document over 16 MiB returned since the last reset, in words."""
    return [
        f"{command} returned a {size:,}-byte document: MongoDB refuses any over 16 MiB"
        for proxy in PROXIES
        for command, size in proxy.violations
    ]


def largest(*commands: str) -> int:
    """The largest document returned since the last reset (to `commands`, if named)."""
    if commands:
        return max((p.largest_of(*commands) for p in PROXIES), default=0)
    return max((p.largest for p in PROXIES), default=0)


@contextmanager
def serving(server: Any, version: str | None = GATE, wire: int | None = None) -> Iterator[Served]:
    """`served` for the length of a `with` block."""
    seen = served(server, version, wire)
    try:
        yield seen
    finally:
        release(seen)
