"""The index advisor: the index it recommends, finding an equivalent one, and building it."""

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from limits import serving
from pymongo import MongoClient
from support import BIN

from usage_lib.core.config import BillingRule, Config
from usage_lib.core.indexes import find_equivalent, recommended
from usage_lib.demo.server import EmbeddedMongo


@pytest.fixture
def database() -> Iterator[tuple[str, Any]]:
    with (
        EmbeddedMongo(":memory:") as raw,
        serving(raw) as server,
        MongoClient(server.uri) as client,
    ):
        client.tiledesk.requests.insert_one({"status": 1000})
        yield server.uri, client.tiledesk


def indexes(uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "USAGE_MONGODB_URI": uri, "HOME": "/tmp"}
    return subprocess.run(
        [str(BIN), "indexes", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_advisor_recommends_equality_then_ranges() -> None:
    assert recommended(Config()) == [("status", 1), ("createdAt", 1), ("depth", 1)]
    no_depth = Config(rule=BillingRule(min_depth=0))
    assert recommended(no_depth) == [("status", 1), ("createdAt", 1)]


def test_the_advisor_follows_the_profile(tmp_path: Any) -> None:
    from usage_lib.core.config import load_config

    stock = tmp_path / "stock.toml"
    stock.write_text('[source]\nprofile = "tiledesk"\n')
    assert recommended(load_config(stock, env={})) == [("status", 1), ("createdAt", 1)]
    stock.write_text('[source]\nprofile = "tiledesk"\n[billing]\nstatuses = "all"\n')
    assert recommended(load_config(stock, env={})) == [("createdAt", 1)]  # the dashboard's
    stock.write_text(
        '[source]\nprofile = "tiledesk"\ndepth_field = "turns"\n[billing]\nmin_depth = 3\n'
    )
    assert recommended(load_config(stock, env={}))[-1] == ("turns", 1)


def test_indexes_reports_then_creates_then_finds(database: tuple[str, Any]) -> None:
    uri, db = database
    first = indexes(uri)
    assert first.returncode == 0 and "Not there" in first.stdout and "--create" in first.stdout
    assert len(db.requests.index_information()) == 1  # only _id: it wrote nothing
    assert first.stdout.count("Not there") == 4

    created = indexes(uri, "--create")
    assert created.returncode == 0
    out = created.stdout
    assert out.index("Writing to the source database") < out.index("Created index")
    info = db.requests.index_information()
    assert info["usage_report_match"]["key"] == [("status", 1), ("createdAt", 1), ("depth", 1)]
    tenant = [("id_organization", 1), ("status", 1), ("createdAt", 1), ("depth", 1)]
    assert info["usage_report_tenant"]["key"] == tenant  # a tenant's own table: that tenant
    assert info["usage_report_started"]["key"] == [("createdAt", 1)]  # the watch: every status
    assert info["usage_report_updated"]["key"] == [("updatedAt", -1)]  # the store's edits
    assert out.count("Created index") == 4

    again = indexes(uri, "--create")
    assert (
        again.returncode == 0 and "Already there" in again.stdout and "Writing" not in again.stdout
    )


@pytest.mark.parametrize(
    ("keys", "options", "serves"),
    [
        (
            [("status", -1), ("createdAt", -1), ("depth", 1), ("x", 1)],
            {},
            True,
        ),  # more fields after
        ([("status", 1), ("createdAt", 1)], {}, False),  # depth missing
        ([("createdAt", 1), ("status", 1), ("depth", 1)], {}, False),  # range before equality
        ([("status", 1), ("createdAt", 1), ("depth", 1)], {"sparse": True}, False),
        (
            [("status", 1), ("createdAt", 1), ("depth", 1)],
            {"partialFilterExpression": {"depth": {"$gt": 5}}},
            False,
        ),
    ],
)
def test_equivalent_index(database: tuple[str, Any], keys: Any, options: Any, serves: bool) -> None:
    _, db = database
    db.requests.create_index(keys, name="candidate", **options)
    found = find_equivalent(db, recommended(Config()))
    assert (found == "candidate") is serves
