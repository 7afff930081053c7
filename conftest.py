"""Session set-up shared by the tests and the nbval notebook run.

One embedded demo database (anchored to Oct 2026, the month the committed
notebooks report) serves every kernel: two servers cannot open one storage folder.
"""

import os

import pytest

from usage_lib.embedded import EmbeddedMongo, demo_server
from usage_lib.paths import EXAMPLE_CONFIG

NOTEBOOK_MONTH = (2026, 10)
_server: EmbeddedMongo | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _server
    _server = demo_server(NOTEBOOK_MONTH, quiet=True)
    os.environ["USAGE_MONGODB_URI"] = _server.uri
    os.environ["USAGE_MONGODB_DB"] = "tiledesk"
    os.environ["USAGE_CONFIG"] = str(EXAMPLE_CONFIG)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _server is not None:
        _server.stop()
