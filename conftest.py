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
from typing import Any

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


# -- how `make test` shares the suite between its two workers (-n 2 --dist loadfile) ----------

#: Files that share a costly session fixture or store run on one worker, which builds it once:
#: "pack", the read-only server's pack (tests/conftest.py `pack`) and the days its run left in
#: the worker's local store; "demo", the demo data's six months in the worker's store, read by
#: every notebook and the reconciliation pack (and the one demo server is not shared by both
#: workers at once for them); "wheel", the built wheel (`installed`). Every other file is a unit.
GROUPS = {
    "pack": (
        "tests/report/test_faults.py",
        "tests/report/test_daily_watch.py",
        "tests/report/test_mail.py",
        "tests/report/test_job.py",
        "tests/report/test_pdf.py",
    ),
    "demo": ("notebooks/", "tests/report/test_reconcile.py"),
    "wheel": ("tests/test_paths.py", "tests/test_journey.py"),
}
#: The longest units first (as measured), so that neither worker is left running a long one
#: alone at the end; the other files follow in the order they are collected.
FIRST = (
    "demo",
    "pack",
    "wheel",
    "tests/benchmarks/test_bench.py",
    "tests/core/test_scale.py",
    "tests/core/test_stored_shapes.py",
    "tests/report/test_restate.py",
    "tests/explorer/test_lab_e2e.py",
    "tests/demo/test_demo_server.py",
    "tests/test_every_form.py",
)


def _unit(nodeid: str) -> str:
    """The file of a test, or the group its file is in."""
    path = nodeid.split("::")[0]
    return next((name for name, paths in GROUPS.items() if path.startswith(paths)), path)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` with GROUPS as units, handed out in FIRST's order. (xdist's own
    `loadgroup` marks do not group under pytest 9: it renames `item._nodeid`, which pytest 9
    no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Units(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    config.option.loadscopereorder = False  # the workers' order below, not by number of tests
    return Units(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist's workers, whose collection the scheduler hands out in order: FIRST's units
    first, each test where it was within its unit (a stable sort)."""
    if hasattr(config, "workerinput"):
        rank = {unit: n for n, unit in enumerate(FIRST)}
        items.sort(key=lambda item: rank.get(_unit(item.nodeid), len(FIRST)))


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
