"""Fixtures: a real SecantusDB server (never a mock of pymongo) and trap-laden data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from data import (
    BOTS,
    EXCLUDED_ORG,
    EXCLUDED_PROJECT,
    FORKS,
    ORGS,
    PROJECTS,
    ROOT,
    STOCK_BOTS,
    stock_docs,
    trap_docs,
)
from eager_server import eager_mongo
from limits import Served, release, served
from pymongo import MongoClient, uri_parser
from pymongo.database import Database
from support import BIN, PASSWORD

from usage_lib.demo.data import generate
from usage_lib.demo.server import EmbeddedMongo, load
from usage_lib.paths import EXAMPLE_CONFIG

#: A user's MongoDB for the tests that create and drop their own databases (no server started).
TEST_URI_VARIABLE = "USAGE_TEST_MONGODB_URI"


@dataclass(frozen=True)
class External:
    """A user's MongoDB named by USAGE_TEST_MONGODB_URI, seen as `limits.Served` is (no
    server of ours, no proxy: the 16 MiB limit is the server's own there)."""

    uri: str
    server: None = None
    proxy: None = None

    @property
    def port(self) -> int | None:
        """The first host's port (None for a mongodb+srv:// URI, which names none)."""
        if not self.uri.startswith("mongodb://"):
            return None
        return int(uri_parser.parse_uri(self.uri)["nodelist"][0][1])


@pytest.fixture(scope="session")
def mongo() -> Iterator[Served | External]:
    """The tests' server: SecantusDB whose `$and` / `$or` expressions evaluate every
    operand, as mongod may (tests/eager_server.py), through a proxy that enforces MongoDB's
    16 MiB limit (limits.py), or the MongoDB at USAGE_TEST_MONGODB_URI when it is set."""
    uri = os.environ.get(TEST_URI_VARIABLE)
    if uri:
        yield External(uri)
        return
    with eager_mongo() as server:
        seen = served(server)
        yield seen
        release(seen)


@pytest.fixture(scope="session")
def client(mongo: Served | External) -> Iterator[MongoClient[dict[str, Any]]]:
    with MongoClient(mongo.uri) as c:
        yield c


@pytest.fixture
def env(mongo: Served | External, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI on the trap database: its URI in the environment, a config excluding one
    organization."""
    config = tmp_path / "usage.toml"
    config.write_text(f'[[exclude]]\nid = "{EXCLUDED_ORG}"\nname = "Internal"\nreason = "staff"\n')
    monkeypatch.setenv("USAGE_MONGODB_URI", mongo.uri)
    monkeypatch.setenv("USAGE_MONGODB_DB", "traps")
    monkeypatch.delenv("USAGE_CONFIG", raising=False)
    return config


@pytest.fixture(scope="session")
def traps(
    client: MongoClient[dict[str, Any]],
) -> tuple[Database[dict[str, Any]], list[dict[str, Any]]]:
    """A database named `traps` over Dec 2025 - Apr 2026 (year end, both DST changes)."""
    docs = trap_docs(4000, seed=11, start=datetime(2025, 12, 20), days=120)
    db = client["traps"]
    db.requests.drop()
    db.requests.insert_many([dict(d) for d in docs])
    db.organizations.drop()
    db.organizations.insert_many(
        [{"_id": ObjectId(o), "name": f"Org {i}"} for i, o in enumerate(ORGS)]
        + [{"_id": ObjectId(EXCLUDED_ORG), "name": "Internal"}]
    )
    db.faq_kbs.drop()
    db.faq_kbs.insert_many([{"_id": ObjectId(b), "name": f"Bot {i}"} for i, b in enumerate(BOTS)])
    return db, docs


# -- the report pack made by a user with only the read role (shared by test_report and test_mail)


@pytest.fixture(scope="session")
def read_only(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, list[dict[str, Any]], list[str]]]:
    """A server with --auth holding a small demo dataset, and a user with only the read role."""
    folder = tmp_path_factory.mktemp("auth") / "data"
    data = generate((2026, 10), size=6_000)
    with EmbeddedMongo(folder) as setup:
        load(setup.uri, data)
        with MongoClient(setup.uri) as client:
            client.tiledesk.command(
                "createUser", "reader", pwd=PASSWORD, roles=[{"role": "read", "db": "tiledesk"}]
            )
    with EmbeddedMongo(folder, auth=True) as server:
        seen = served(server)
        uri = f"mongodb://reader:{PASSWORD}@127.0.0.1:{seen.port}/tiledesk?directConnection=true"
        yield uri, data.requests, [e["id"] for e in data.exclusions]
        release(seen)


@pytest.fixture(scope="session")
def pack(
    read_only: tuple[str, list[dict[str, Any]], list[str]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    uri, _, _ = read_only
    out = tmp_path_factory.mktemp("reports")
    env = {
        "PATH": "/usr/bin:/bin",
        "USAGE_MONGODB_URI": uri,
        "USAGE_CONFIG": str(EXAMPLE_CONFIG),
        "HOME": str(out),
        # the worker's local store (conftest.py): the later runs on this database are warm
        "USAGE_CACHE_DIR": os.environ["USAGE_CACHE_DIR"],
    }
    done = subprocess.run(
        [str(BIN), "run", "--month", "2026-10", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert PASSWORD not in done.stdout + done.stderr
    assert "index.html" in done.stdout
    return out / "2026-10"


# -- stock Tiledesk: the same kind of traps, in the shape the open-source server writes --------


@pytest.fixture(scope="session")
def stock(
    client: MongoClient[dict[str, Any]],
) -> tuple[Database[dict[str, Any]], list[dict[str, Any]]]:
    """A database named `stock` over Dec 2025 - Apr 2026 in stock Tiledesk's shape."""
    docs = stock_docs(3000, seed=21, start=datetime(2025, 12, 20), days=120)
    db = client["stock"]
    for name in ("requests", "projects", "faq_kbs"):
        db.drop_collection(name)
    db.requests.insert_many([dict(d) for d in docs])
    db.projects.insert_many(
        [{"_id": ObjectId(p), "name": f"Project {i}"} for i, p in enumerate(PROJECTS)]
        + [{"_id": ObjectId(EXCLUDED_PROJECT), "name": "Internal project"}]
    )
    db.faq_kbs.insert_many(
        [
            {"_id": ObjectId(b), "name": f"Bot {i}", "id_project": PROJECTS[0]}
            for i, b in enumerate(STOCK_BOTS)
        ]
        + [
            {
                "_id": ObjectId(f),
                "name": "Bot (published)",
                "trashed": True,
                "root_id": ObjectId(r) if i == 0 else r,
            }  # fmt: skip
            for i, (f, r) in enumerate(FORKS.items())
        ]
    )
    return db, docs


# -- the product as a user installs it ---------------------------------------------------------


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, installed into a folder of its own."""
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = dist.glob("usage_lib-*.whl")
    target = tmp_path_factory.mktemp("site")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return target
