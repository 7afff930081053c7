"""The embedded demo database: a real SecantusDB process that starts, serves and stops."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from usage_lib.demo.data import generate
from usage_lib.demo.server import EmbeddedMongo, demo_server, free_port, load


def test_starts_serves_and_stops(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "data")
    with server, MongoClient(server.uri) as client:
        assert client.admin.command("ping")["ok"] == 1
        process = server.process
        assert process is not None and process.poll() is None
    assert process.poll() is not None  # no orphaned server
    server.stop()  # stopping twice is harmless


def test_load_writes_every_document_durably(tmp_path: Path) -> None:
    data = generate((2026, 10), size=2_000)
    with EmbeddedMongo(tmp_path / "data") as server:
        load(server.uri, data)
    with EmbeddedMongo(tmp_path / "data") as again, MongoClient(again.uri) as client:
        assert client.tiledesk.requests.count_documents({}) == len(data.requests)
        assert client.tiledesk.organizations.count_documents({}) == len(data.organizations)


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    port = free_port()
    with EmbeddedMongo(":memory:", port=port), pytest.raises(RuntimeError, match="did not start"):
        EmbeddedMongo(":memory:", port=port).start()  # the port is taken


# -- the demo database's server, shared by the processes that use one folder ----------------------

HOLD = """
import sys, time
from pathlib import Path
from usage_lib.demo.server import demo_server
server = demo_server((2026, 10), size=1_000, root=Path(sys.argv[1]), quiet=True)
print(server.port, flush=True)
time.sleep(120)
"""


def _holder(root: Path) -> tuple[subprocess.Popen[str], int]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    return child, int(child.stdout.readline())


def _serving(port: int) -> bool:
    try:
        with MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=500) as c:
            return c.tiledesk.requests.estimated_document_count() > 0
    except PyMongoError:
        return False


def test_a_server_left_by_a_killed_run_is_reused_then_stopped(tmp_path: Path) -> None:
    child, port = _holder(tmp_path)
    os.kill(child.pid, signal.SIGKILL)  # a killed `run --demo`: its server lives on
    child.wait()
    assert _serving(port)
    again = demo_server((2026, 10), size=1_000, root=tmp_path, quiet=True)
    assert again.port == port  # reused, not a second server on the same folder
    with MongoClient(again.uri) as client:
        assert client.tiledesk.requests.estimated_document_count() > 0
    again.stop()  # the last user stops it
    assert not _serving(port)


def test_two_processes_share_one_server_and_the_last_stops_it(tmp_path: Path) -> None:
    child, port = _holder(tmp_path)
    mine = demo_server((2026, 10), size=1_000, root=tmp_path, quiet=True)
    assert mine.port == port
    mine.stop()  # the other process still uses it
    assert _serving(port)
    child.send_signal(signal.SIGINT)  # it ends: its atexit stops the server, now unused
    child.wait(timeout=30)
    deadline = time.monotonic() + 20
    while _serving(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _serving(port)


def test_a_server_of_an_earlier_version_is_found_and_stopped(tmp_path: Path) -> None:
    first = demo_server((2026, 10), size=1_000, root=tmp_path, quiet=True)
    storage = first.storage
    first.stop()
    stray = EmbeddedMongo(storage).start()  # as the earlier version started it: no server.json
    try:
        assert stray.process is not None
        again = demo_server((2026, 10), size=1_000, root=tmp_path, quiet=True)
        with MongoClient(again.uri) as client:  # it opened the folder: the stray one is gone
            assert client.tiledesk.requests.estimated_document_count() > 0
        assert stray.process.wait(timeout=30) is not None
        again.stop()
    finally:
        stray.stop()
