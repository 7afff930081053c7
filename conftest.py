"""Session set-up shared by the tests and the nbval notebook run.

One embedded demo database (anchored to Oct 2026, the month the committed
notebooks report) serves every kernel: two servers cannot open one storage folder.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from usage_lib.demo.server import EmbeddedMongo, demo_server
from usage_lib.paths import EXAMPLE_CONFIG

sys.path.insert(0, str(Path(__file__).parent / "tests"))
import limits  # noqa: E402 - tests/limits.py: MongoDB's size limit, enforced on every server

NOTEBOOK_MONTH = (2026, 10)
AS_OF = "2026-11-20"  # "today" for the explorer notebook: the demo's data ends on this day
_server: EmbeddedMongo | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _server
    _server = demo_server(NOTEBOOK_MONTH, quiet=True)
    os.environ["USAGE_MONGODB_URI"] = limits.served(_server).uri
    os.environ["USAGE_MONGODB_DB"] = "tiledesk"
    os.environ["USAGE_CONFIG"] = str(EXAMPLE_CONFIG)
    os.environ["USAGE_AS_OF"] = AS_OF
    # The local store of days (each worker its own, gone at the end): commands run warm in
    # the tests, as they do for users; a test that wants it cold says --no-cache.
    os.environ["USAGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="usage-cache-")


def pytest_collectstart(collector: pytest.Collector) -> None:
    """The live widget's model id changes with every run; its static HTML is compared."""
    if collector.path is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("application/vnd.jupyter.widget-view+json",)  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test (an nbval cell too) in which a server returned a document that
    MongoDB would have refused."""
    limits.reset()
    result = yield
    found = limits.check()
    if found:
        pytest.fail("; ".join(found), pytrace=False)
    return result


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _server is not None:
        _server.stop()
    if os.environ.get("USAGE_CACHE_DIR", "").startswith(tempfile.gettempdir()):
        shutil.rmtree(os.environ["USAGE_CACHE_DIR"], ignore_errors=True)
