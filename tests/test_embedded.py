"""The embedded demo database: a real SecantusDB process that starts, serves and stops."""

from pathlib import Path

import pytest
from pymongo import MongoClient

from usage_lib.demo_data import generate
from usage_lib.embedded import EmbeddedMongo, free_port, load


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
