"""The limits fixture sees every test database: a document over 16 MiB returned by any of
them is a failure of the test that asked for it (conftest.py's pytest_runtest_call)."""

import os
from typing import Any

import limits
from pymongo import MongoClient


def test_a_document_over_16_mib_from_any_test_server_is_caught(mongo: Any) -> None:
    for uri in (mongo.uri, os.environ["USAGE_MONGODB_URI"]):  # the tests' and the demo's
        limits.reset()
        with MongoClient(uri) as client:
            db = client["limits_probe"]
            db.big.drop()
            db.big.insert_many([{"s": "x" * (1 << 20)} for _ in range(17)])
            (one,) = db.big.aggregate([{"$group": {"_id": None, "all": {"$push": "$s"}}}])
            db.big.drop()
        assert len(one["all"]) == 17
        found = limits.check()
        assert len(found) == 1 and "aggregate returned a 17," in found[0], found
    limits.reset()  # caught: this test's own probe must not fail it


def test_small_documents_are_not(mongo: Any, traps: Any) -> None:
    limits.reset()
    with MongoClient(mongo.uri) as client:
        assert len(list(client.traps.requests.find({}, limit=3))) == 3
    assert limits.check() == [] and 0 < limits.largest() < 10_000
