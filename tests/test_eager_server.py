"""tests/eager_server.py, over real connections: its `$and` / `$or` expressions evaluate every
operand (in order), as mongod may, where plain SecantusDB stops at the first that decides;
`$cond` still evaluates only the branch taken; and the answers are otherwise the same."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from eager_server import eager_mongo
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from usage_lib.demo.server import EmbeddedMongo

SIZE_ERROR = re.escape("The argument to $size must be an array")
SIZE_OF_S = {"$gt": [{"$size": "$s"}, 0]}  # raises on {s: "abc"}
GUARDED = {"$cond": [{"$isArray": "$s"}, {"$size": "$s"}, 0]}

Coll = Collection[dict[str, Any]]


def _collection(server: EmbeddedMongo) -> Iterator[Coll]:
    with server, MongoClient[dict[str, Any]](server.uri) as client:
        coll = client.eager_test.docs
        coll.insert_one({"_id": 1, "s": "abc"})
        yield coll


@pytest.fixture(scope="module")
def plain() -> Iterator[Coll]:
    """`{s: "abc"}` on SecantusDB as `secantusd-py` runs it."""
    yield from _collection(EmbeddedMongo(":memory:"))


@pytest.fixture(scope="module")
def eager() -> Iterator[Coll]:
    """`{s: "abc"}` on the eager server."""
    yield from _collection(eager_mongo(":memory:"))


def project(coll: Coll, expr: Any) -> Any:
    (doc,) = coll.aggregate([{"$project": {"_id": 0, "x": expr}}])
    return doc["x"]


@pytest.mark.parametrize(
    ("op", "decided"), [("$and", False), ("$or", True)], ids=["and-false", "or-true"]
)
def test_a_decided_operator_evaluates_the_rest(
    plain: Coll, eager: Coll, op: str, decided: bool
) -> None:
    expr = {op: [decided, SIZE_OF_S]}
    assert project(plain, expr) is decided  # SecantusDB stops at the first operand
    with pytest.raises(OperationFailure, match=SIZE_ERROR):
        project(eager, expr)


@pytest.mark.parametrize("op", ["$and", "$or"])
def test_operands_are_evaluated_in_order(eager: Coll, op: str) -> None:
    """The first erroring operand is the one reported: `$size`'s, not `$divide`'s after it."""
    by_zero = {"$gt": [{"$divide": [1, {"$size": {"$literal": []}}]}, 0]}
    with pytest.raises(OperationFailure, match=re.escape("can't $divide by zero")):
        project(eager, {op: [op == "$or", by_zero]})
    expr = {op: [op == "$or", SIZE_OF_S, by_zero]}
    with pytest.raises(OperationFailure, match=SIZE_ERROR):
        project(eager, expr)


def test_cond_evaluates_only_the_branch_taken(plain: Coll, eager: Coll) -> None:
    for coll in (plain, eager):
        assert project(coll, GUARDED) == 0
        assert project(coll, {"$and": [{"$isArray": "$s"}, {"$gt": [GUARDED, 0]}]}) is False
        coll.insert_one({"_id": 2, "s": [1, 2]})
        try:
            got = coll.aggregate([{"$project": {"x": GUARDED}}, {"$sort": {"_id": 1}}])
            assert [d["x"] for d in got] == [0, 2]
        finally:
            coll.delete_one({"_id": 2})


def test_expr_in_match(plain: Coll, eager: Coll) -> None:
    for op, decided in (("$and", False), ("$or", True)):
        expr = {op: [decided, SIZE_OF_S]}
        assert len(list(plain.aggregate([{"$match": {"$expr": expr}}]))) == (1 if decided else 0)
        assert len(list(plain.find({"$expr": expr}))) == (1 if decided else 0)
        with pytest.raises(OperationFailure, match=SIZE_ERROR):
            list(eager.aggregate([{"$match": {"$expr": expr}}]))
        with pytest.raises(OperationFailure, match=SIZE_ERROR):
            list(eager.find({"$expr": expr}))  # find's filter is evaluated the same way
    guarded = {"$expr": {"$and": [{"$isArray": "$s"}, {"$gt": [GUARDED, 0]}]}}
    for coll in (plain, eager):
        assert list(coll.aggregate([{"$match": {"$expr": {"$not": [guarded["$expr"]]}}}]))
        assert not list(coll.find(guarded))


#: Operands and their truth to mongod: only false, null, missing and zero are false.
OPERANDS: dict[str, tuple[Any, bool]] = {
    "true": (True, True),
    "false": (False, False),
    "null": (None, False),
    "missing": ("$nosuch", False),
    "null_field": ("$n", False),
    "zero": (0, False),
    "one_field": ("$one", True),
    "empty_string": ("", True),
    "string_field": ("$s", True),
    "empty_array": ({"$literal": []}, True),
    "zero_field": ("$z", False),
}


def test_the_same_answers_as_plain_secantus(plain: Coll, eager: Coll) -> None:
    """A truth table over one, two and three operands, nulls and missing fields included,
    and the single-operand and empty forms."""
    cases: dict[str, tuple[Any, bool]] = {}
    for op, combine in (("$and", all), ("$or", any)):
        for n in (1, 2, 3):
            for names in itertools.product(OPERANDS, repeat=n):
                key = f"{op[1:]}__{'__'.join(names)}"
                cases[key] = (
                    {op: [OPERANDS[name][0] for name in names]},
                    combine(OPERANDS[name][1] for name in names),
                )
        for name, (operand, truth) in OPERANDS.items():
            cases[f"{op[1:]}_bare__{name}"] = ({op: operand}, truth)  # {$and: "$s"}: one operand
        cases[f"{op[1:]}_empty"] = ({op: []}, op == "$and")
    doc = {"_id": 3, "s": "abc", "n": None, "one": 1, "z": 0}
    pipeline = [
        {"$match": {"_id": 3}},
        {"$project": {"_id": 0, **{key: expr for key, (expr, _) in cases.items()}}},
    ]
    got = []
    for coll in (plain, eager):
        coll.insert_one(doc)
        try:
            (row,) = coll.aggregate(pipeline)
        finally:
            coll.delete_one({"_id": 3})
        got.append(row)
    assert got[0] == got[1]
    assert got[1] == {key: truth for key, (_, truth) in cases.items()}
    assert len(cases) > 2_000


@pytest.mark.skipif(
    bool(os.environ.get("USAGE_TEST_MONGODB_URI")), reason="the tests run on the user's MongoDB"
)
def test_the_tests_server_is_the_eager_one(client: MongoClient[dict[str, Any]]) -> None:
    """conftest's `mongo` (hence `client`) runs tests/eager_server.py."""
    coll = client.eager_fixture.docs
    coll.drop()
    coll.insert_one({"s": "abc"})
    try:
        with pytest.raises(OperationFailure, match=SIZE_ERROR):
            project(coll, {"$and": [False, SIZE_OF_S]})
    finally:
        client.drop_database("eager_fixture")
