"""The conformance suite: MongoDB's semantics that the billing rule stands on, run on a server.

Every case runs a real command on the tests' server (the `client` fixture of
tests/conftest.py: the embedded SecantusDB one, or the MongoDB that
USAGE_TEST_MONGODB_URI names) in a database of its own, `conformance_<random>`, which it
drops afterwards; no other database is touched.

A case that SecantusDB is known to get wrong carries `@pytest.mark.secantus_differs("what
it does")`: on the embedded server it is an expected failure (strict: the day SecantusDB
agrees, the mark must go), on any other server an ordinary case. The assertion itself is
always MongoDB's documented result, never weakened to fit the test server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure

Client = MongoClient[dict[str, Any]]
DIFFERS = "secantus_differs"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{DIFFERS}(reason): SecantusDB is known to disagree with MongoDB on this case; "
        "an expected failure (strict) on the embedded server only",
    )


def is_secantus(build_info: Mapping[str, Any]) -> bool:
    """SecantusDB answers `buildInfo` with the MongoDB version it imitates and its own
    version under `secantusVersion`; mongod has no such key."""
    return any(key.lower().startswith("secantus") for key in build_info)


@pytest.fixture(scope="session")
def embedded(client: Client) -> bool:
    """Whether the server is SecantusDB (the embedded test server)."""
    return is_secantus(client.admin.command("buildInfo"))


@pytest.fixture(autouse=True)
def _secantus_differs(request: pytest.FixtureRequest, embedded: bool) -> None:
    mark = request.node.get_closest_marker(DIFFERS)
    if mark is not None and embedded:
        reason = mark.args[0] if mark.args else mark.kwargs.get("reason", "")
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"SecantusDB differs: {reason}"))


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


class Server:
    """One test's database and the few command shapes the cases use."""

    MISSING: ClassVar[_Missing] = _Missing()  # what `value` returns for a missing result

    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.db = db
        self.coll = db["docs"]

    def store(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Replace the collection's documents by `docs`, `_id` = position."""
        self.coll.delete_many({})
        if docs:
            self.coll.insert_many([{"_id": i, **d} for i, d in enumerate(docs)])

    def matching(self, docs: Sequence[Mapping[str, Any]], query: Mapping[str, Any]) -> list[int]:
        """The positions of the stored `docs` that `find(query)` returns."""
        self.store(docs)
        return sorted(d["_id"] for d in self.coll.find(query, {"_id": 1}))

    def value(self, expr: Any, doc: Mapping[str, Any] | None = None) -> Any:
        """`expr` evaluated by `$project` on one stored document (a missing result:
        `Server.MISSING`)."""
        self.store([doc or {}])
        (row,) = self.coll.aggregate([{"$project": {"_id": 0, "v": expr}}])
        return row.get("v", self.MISSING)

    def values(self, fields: Mapping[str, Any], doc: Mapping[str, Any]) -> dict[str, Any]:
        """Several expressions evaluated by one `$project` on one stored document."""
        self.store([doc])
        (row,) = self.coll.aggregate([{"$project": {"_id": 0, **fields}}])
        return row

    def error(self, expr: Any, doc: Mapping[str, Any] | None = None) -> int | None:
        """The error code of evaluating `expr` on one stored document, None if it succeeds."""
        try:
            self.value(expr, doc)
        except OperationFailure as exc:
            return exc.code
        return None

    def groups(self, docs: Sequence[Mapping[str, Any]], key: Any) -> list[Any]:
        """The `_id`s `$group` on `key` makes of `docs`, in a stable order."""
        self.store(docs)
        keys = [row["_id"] for row in self.coll.aggregate([{"$group": {"_id": key}}])]
        return sorted(keys, key=repr)

    def summed(self, values: Sequence[Any], missing: bool = False) -> Any:
        """`$sum` of `v` as a `$group` accumulator over one document per value (and one
        without `v` when `missing`)."""
        self.store([{"v": v} for v in values] + ([{}] if missing else []))
        (row,) = self.coll.aggregate([{"$group": {"_id": None, "s": {"$sum": "$v"}}}])
        return row["s"]


@pytest.fixture
def server(client: Client) -> Iterator[Server]:
    """A fresh database, `conformance_<random>`, dropped after the test."""
    name = f"conformance_{uuid.uuid4().hex[:12]}"
    try:
        yield Server(client[name])
    finally:
        client.drop_database(name)
