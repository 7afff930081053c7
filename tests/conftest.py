"""Fixtures: a real SecantusDB server (never a mock of pymongo) and trap-laden data."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from limits import Served, release, served
from pymongo import MongoClient
from pymongo.database import Database
from support import BIN, PASSWORD

from usage_lib.demo_data import generate
from usage_lib.embedded import EmbeddedMongo, load
from usage_lib.paths import EXAMPLE_CONFIG

ROOT = Path(__file__).resolve().parent.parent  # the checkout

ORGS = [str(ObjectId(f"{0x6600000 + i:08x}" + "0" * 16)) for i in range(4)]
EXCLUDED_ORG = "6700000000000000000000aa"
BOTS = [f"{0x6800000 + i:08x}" + "1" * 16 for i in range(5)]
DELETED_BOT = "69000000000000000000dead"


@pytest.fixture(scope="session")
def mongo() -> Iterator[Served]:
    """The tests' server, through a proxy that enforces MongoDB's 16 MiB limit (limits.py)."""
    with EmbeddedMongo(":memory:") as server:
        seen = served(server)
        yield seen
        release(seen)


@pytest.fixture(scope="session")
def client(mongo: Served) -> Iterator[MongoClient[dict[str, Any]]]:
    with MongoClient(mongo.uri) as c:
        yield c


def trap_docs(n: int, seed: int, start: datetime, days: int) -> list[dict[str, Any]]:
    """Requests with every trap of docs/domain.md, many of them within minutes of midnight."""
    rng = random.Random(seed)
    people = random.Random(seed + 1)  # end users and human agents, apart from the rest
    users = [ObjectId(f"{0x6A000000 + i:08x}" + "2" * 16) for i in range(150)]  # they return
    docs = []
    for _ in range(n):
        day = start + timedelta(days=rng.randrange(days))
        if rng.random() < 0.5:  # near a midnight somewhere between UTC-10 and UTC+14
            when = day + timedelta(
                hours=rng.choice([-10, -8, -5, -4, 0, 1, 2, 5.5, 9, 14]),
                minutes=rng.choice([-1, 0, 1]),
                seconds=rng.randrange(60),
            )
        else:
            when = day + timedelta(seconds=rng.randrange(86400))
        org = rng.choice(ORGS + [EXCLUDED_ORG])
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "createdAt": when,
            "status": rng.choice([1000, 1000, 1000, 1000, 200, 100, 150, 50]),
            "id_project": "p",
            "channel": {"name": "chat21"},
        }
        org_form = rng.random()
        if org_form < 0.55:
            doc["id_organization"] = ObjectId(org)
        elif org_form < 0.80:
            doc["id_organization"] = org  # older data: the 24-hex string
        elif org_form < 0.85:
            doc["id_organization"] = org.upper()
        elif org_form < 0.92:
            pass  # no organization at all
        else:
            doc["id_organization"] = rng.choice([None, ""])
        test = rng.random()
        if test < 0.15:
            doc["isTestMode"] = True
        elif test < 0.35:
            doc["isTestMode"] = False
        elif test < 0.40:
            doc["isTestMode"] = "true"  # only boolean true excludes
        depth = rng.random()
        if depth < 0.8:
            doc["depth"] = rng.randint(0, 8)
        elif depth < 0.9:
            doc["depth"] = None
        bot = rng.choice(BOTS + [DELETED_BOT])
        shape = rng.random()
        if shape < 0.45:
            doc["attributes"] = {"bot_id": bot}
            doc["participantsBots"] = [bot]
        elif shape < 0.65:
            doc["attributes"] = {"bot_id": bot}
            doc["participantsBots"] = []  # handed to a human
        elif shape < 0.75:
            doc["participantsBots"] = [bot]  # old data: no attributes.bot_id
        elif shape < 0.80:
            doc["attributes"] = {"bot_id": ""}
            doc["participantsBots"] = [bot]
        elif shape < 0.90:
            doc["attributes"] = {}  # human only
        user, form = people.choice(users), people.random()
        if form < 0.5:
            doc["requester"] = user
        elif form < 0.7:
            doc["requester"] = str(user)  # the same user, as a string
        elif form < 0.8:
            doc["requester"] = str(user).upper()
        elif form < 0.9:
            doc["requester"] = None
        humans = people.random()  # missing: no human took part
        if humans < 0.3:
            doc["participantsAgents"] = [f"agent-{people.randrange(3)}"]
        elif humans < 0.6:
            doc["participantsAgents"] = []
        docs.append(doc)
    return docs


@pytest.fixture
def env(mongo: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
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

PROJECTS = [str(ObjectId(f"{0x6B00000 + i:08x}" + "3" * 16)) for i in range(3)]
EXCLUDED_PROJECT = "6b000000000000000000eeee"
STOCK_BOTS = [f"{0x6C00000 + i:08x}" + "4" * 16 for i in range(4)]
FORKS = {f"{0x6D00000 + i:08x}" + "5" * 16: STOCK_BOTS[i] for i in range(2)}  # published
GONE_FORK = "6d0000000000000000000999"  # a published fork the TTL index has deleted
HUMAN = "6e0000000000000000000001"


def stock_docs(n: int, seed: int, start: datetime, days: int) -> list[dict[str, Any]]:
    """Requests as stock Tiledesk writes them (../shared/samples/stock-tiledesk.json), with its
    traps: string id_project, drafts (flag present only when true), preflight TEMP ones, voice,
    hand-offs that empty participantsBots, bot_-prefixed participants, published forks."""
    rng = random.Random(seed)
    users = [ObjectId(f"{0x6F000000 + i:08x}" + "6" * 16) for i in range(120)]
    bots = STOCK_BOTS + list(FORKS) + [GONE_FORK]
    docs = []
    for _ in range(n):
        day = start + timedelta(days=rng.randrange(days))
        offset = rng.choice([-5, -1, 0, 1, 9, 13]) if rng.random() < 0.5 else rng.uniform(0, 24)
        when = day + timedelta(hours=offset, minutes=rng.choice([-1, 0, 1]))
        status = rng.choice([50, 100, 150, 200, 300, 1000, 1000, 1000, 1000])
        bot = rng.choice(bots)
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "createdAt": when,
            "status": status,
            "preflight": status == 50 or rng.random() < 0.03,
            "id_project": rng.choice(PROJECTS + [EXCLUDED_PROJECT]),
            "channel": {"name": rng.choice(["chat21"] * 6 + ["whatsapp", "voice-vxml"])},
            "requester": rng.choice(users) if rng.random() < 0.95 else None,
            "attributes": {"sourcePage": "https://acme.example/"},
            "participantsAgents": [],
        }
        if rng.random() < 0.1:
            doc["draft"] = True  # "test it" in the bot designer
            doc["attributes"]["sourcePage"] += "?td_draft=true"
        kind = rng.random()
        if kind < 0.45:  # bot only
            doc.update(participants=[f"bot_{bot}"], participantsBots=[bot], hasBot=True)
        elif kind < 0.6:  # handed to a human: the bot is gone from both arrays
            doc.update(participants=[HUMAN], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN]
        elif kind < 0.7:  # handed over, the bot still among the participants
            doc.update(participants=[HUMAN, f"bot_{bot}"], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN]
        elif kind < 0.8:  # a deployment that sets attributes.bot_id, then a hand-off
            doc["attributes"]["bot_id"] = bot
            doc.update(participants=[HUMAN], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN]
        else:  # human only
            doc.update(participants=[HUMAN], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN] if rng.random() < 0.7 else []
        docs.append(doc)
    return docs


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
