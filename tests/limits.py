"""MongoDB's limits, enforced by the tests: every test database sits behind a `LimitProxy`
(tests/wire.py), and the root conftest.py fails any test (an nbval cell too) in which a
server returned a document over 16 MiB, as MongoDB would have refused it.

`served(server)` puts a proxy in front of a started server and registers it; `check()`
is called around every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from wire import LimitProxy

PROXIES: list[LimitProxy] = []


@dataclass(frozen=True)
class Served:
    """A test server seen through its proxy: clients use `uri` (or `port`)."""

    server: Any  # usage_lib.embedded.EmbeddedMongo
    proxy: LimitProxy

    @property
    def uri(self) -> str:
        return self.proxy.uri

    @property
    def port(self) -> int:
        return self.proxy.port


def served(server: Any) -> Served:
    proxy = LimitProxy("127.0.0.1", server.port).start()
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
def serving(server: Any) -> Iterator[Served]:
    """`served` for the length of a `with` block."""
    seen = served(server)
    try:
        yield seen
    finally:
        release(seen)
