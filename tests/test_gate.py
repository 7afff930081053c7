"""The 4.4 gate (tests/gate.py in tests/wire.py's proxy): every test server is seen as MongoDB
4.4.29, so a stage or operator newer than 4.4 fails as mongod 4.4 fails it; and the product
names a server older than 4.4 in one line (usage_lib/core/versions.py)."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import bson
import pytest
from gate import ACCUMULATORS, EXPRESSIONS, STAGES, WINDOW_FUNCTIONS, Gate, Refused
from limits import GATE, Served, release, served, serving
from pymongo import MongoClient
from pymongo.errors import ConfigurationError, OperationFailure
from wire import OP_MSG

from usage_lib.cli import main
from usage_lib.core.versions import describe, too_old, uses_tls

Doc = dict[str, Any]
PASSWORD = "gate-PW-7"

DATE_TRUNC = {"$dateTrunc": {"date": "$at", "unit": "day", "timezone": "Europe/Rome"}}
REFUSED = [
    pytest.param(
        [{"$project": {"day": DATE_TRUNC}}],
        (168, "InvalidPipelineOperator", "Unrecognized expression '$dateTrunc'"),
        id="$dateTrunc",
    ),
    pytest.param(
        [{"$setWindowFields": {"sortBy": {"at": 1}, "output": {"i": {"$documentNumber": {}}}}}],
        (40324, "Location40324", "Unrecognized pipeline stage name: '$setWindowFields'"),
        id="$setWindowFields",
    ),
    pytest.param(
        [{"$group": {"_id": "$kind", "n": {"$count": {}}}}],
        (15952, "Location15952", "unknown group operator '$count'"),
        id="$count accumulator",
    ),
]


@pytest.fixture(scope="module")
def events(client: MongoClient[Doc]) -> list[Doc]:
    docs = [
        {"_id": i, "kind": "ab"[i % 2], "n": i if i % 3 else str(i), "at": datetime(2026, 3, 28, i)}
        for i in range(24)
    ]
    client.gate.events.drop()
    client.gate.events.insert_many(docs)
    return docs


@pytest.fixture(scope="module")
def plain(mongo: Served) -> Iterator[MongoClient[Doc]]:
    """The session's server as it is (SecantusDB, 8.2): a proxy without the gate."""
    seen = served(mongo.server, version=None)
    with MongoClient[Doc](seen.uri) as c:
        yield c
    release(seen)


def test_every_server_is_gated_at_44(mongo: Served) -> None:
    assert GATE == "4.4.29"
    assert mongo.proxy.gate is not None and mongo.proxy.gate.wire == 9


@pytest.mark.parametrize(("pipeline", "error"), REFUSED)
def test_newer_than_44_fails_as_on_mongod_44(
    client: MongoClient[Doc],
    plain: MongoClient[Doc],
    mongo: Served,
    events: list[Doc],
    pipeline: list[Doc],
    error: tuple[int, str, str],
) -> None:
    with pytest.raises(OperationFailure) as caught:
        list(client.gate.events.aggregate(pipeline))
    code, code_name, errmsg = error
    assert caught.value.code == code
    assert caught.value.details == {
        "ok": 0.0,
        "errmsg": errmsg,
        "code": code,
        "codeName": code_name,
    }
    assert mongo.proxy.refused == [("aggregate", code, errmsg)]
    assert not mongo.proxy.errors
    # the server never saw it: without the gate it runs
    assert len(list(plain.gate.events.aggregate(pipeline))) in (2, len(events))


def test_refused_in_sub_pipelines_and_filters(client: MongoClient[Doc], events: list[Doc]) -> None:
    events_ = client.gate.events
    truncated = {"$project": {"day": DATE_TRUNC}}
    for pipeline in (
        [{"$lookup": {"from": "events", "as": "same", "pipeline": [truncated]}}],
        [{"$facet": {"days": [truncated], "all": [{"$match": {}}]}}],
        [{"$unionWith": {"coll": "events", "pipeline": [truncated]}}],
    ):
        with pytest.raises(OperationFailure, match=r"Unrecognized expression '\$dateTrunc'"):
            list(events_.aggregate(pipeline))
    with pytest.raises(OperationFailure) as caught:
        events_.find_one({"$expr": {"$gt": [{"$dateDiff": {"startDate": "$at"}}, 0]}})
    assert caught.value.code == 168
    with pytest.raises(OperationFailure) as caught:
        events_.count_documents({"$expr": {"$eq": [{"$getField": "kind"}, "a"]}})
    assert caught.value.code == 168
    with pytest.raises(OperationFailure) as caught:
        list(events_.aggregate([{"$match": {}}], let={"x": 1}))
    assert (caught.value.code, caught.value.details["errmsg"]) == (9, "unrecognized field 'let'")
    # the $count stage (3.4) and a query without $expr pass
    assert list(events_.aggregate([{"$match": {"kind": {"$in": ["a"]}}}, {"$count": "n"}])) == [
        {"n": 12}
    ]


def test_a_44_pipeline_runs_through_the_gate(
    client: MongoClient[Doc], mongo: Served, events: list[Doc]
) -> None:
    pipeline: list[Doc] = [
        {"$match": {"_id": {"$in": [1, 3, 23]}}},
        {
            "$project": {
                "number": {"$isNumber": "$n"},  # 4.4
                "text": {"$toString": "$_id"},  # 4.0
                "local": {
                    "$dateToString": {
                        "date": "$at",
                        "format": "%Y-%m-%d %H",
                        "timezone": "Europe/Rome",
                    }
                },
                "midnight": {  # 3.6, with a timezone
                    "$dateFromParts": {
                        "year": 2026,
                        "month": 3,
                        "day": 29,
                        "timezone": "Europe/Rome",
                    }
                },
            }
        },
        {"$sort": {"_id": 1}},
    ]
    rows = list(client.gate.events.aggregate(pipeline))
    assert [(r["number"], r["text"], r["local"]) for r in rows] == [
        (True, "1", "2026-03-28 02"),
        (False, "3", "2026-03-28 04"),
        (True, "23", "2026-03-29 00"),  # still CET: the clocks go forward at 02:00
    ]
    assert {r["midnight"] for r in rows} == {datetime(2026, 3, 28, 23)}
    assert not mongo.proxy.refused and not mongo.proxy.errors


def test_the_handshake_says_44(mongo: Served) -> None:
    # a fast heartbeat: the monitor's streamed hello replies (moreToCome) are rewritten too
    with MongoClient[Doc](mongo.uri, heartbeatFrequencyMS=500) as c:
        info = c.admin.command("buildInfo")
        assert (info["version"], info["versionArray"]) == ("4.4.29", [4, 4, 29, 0])
        assert c.admin.command("buildinfo")["version"] == "4.4.29"
        assert c.admin.command("hello")["maxWireVersion"] == 9
        assert c.admin.command("isMaster")["maxWireVersion"] == 9
        deadline = time.monotonic() + 10
        while mongo.proxy.seen["server moreToCome"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mongo.proxy.seen["server moreToCome"] >= 2
        (description,) = c.topology_description.server_descriptions().values()
        assert description.max_wire_version == 9
    assert not mongo.proxy.errors


def test_pymongo_refuses_a_40_server(mongo: Served) -> None:
    with serving(mongo.server, "4.0.23") as old:
        assert old.proxy.gate is not None and old.proxy.gate.wire == 7
        started = time.monotonic()
        with (
            MongoClient[Doc](old.uri, serverSelectionTimeoutMS=5000) as c,
            pytest.raises(ConfigurationError) as caught,
        ):
            c.admin.command("ping")
        assert time.monotonic() - started < 2
    assert f"Server at 127.0.0.1:{old.port} reports wire version 7" in str(caught.value)
    assert "requires at least 9 (MongoDB 4.4)" in str(caught.value)


# -- what the gate reads and refuses, without a server ------------------------------------


def aggregate(*stages: Doc, **options: Any) -> Doc:
    return {"aggregate": "c", "pipeline": list(stages), "cursor": {}, **options, "$db": "x"}


def refusal(command: Doc, version: str = "4.4.29") -> tuple[int, str] | None:
    try:
        Gate(version).check(command)
    except Refused as refused:
        return refused.code, refused.errmsg
    return None


NEWER_THAN_44 = {
    "expressions": (
        *("$dateTrunc", "$dateAdd", "$dateSubtract", "$dateDiff", "$getField", "$setField"),
        *("$unsetField", "$tsSecond", "$tsIncrement", "$firstN", "$lastN", "$maxN", "$minN"),
        *("$sortArray", "$bitAnd", "$bitOr", "$bitXor", "$bitNot", "$median", "$percentile"),
        "$toUUID",
    ),
    "accumulators": (
        *("$count", "$top", "$bottom", "$topN", "$bottomN", "$firstN", "$lastN", "$maxN"),
        *("$minN", "$median", "$percentile"),
    ),
    "windows": (
        *("$shift", "$derivative", "$integral", "$expMovingAvg", "$covariancePop"),
        *("$covarianceSamp", "$denseRank", "$rank", "$documentNumber", "$locf", "$linearFill"),
    ),
    "stages": (
        *("$setWindowFields", "$densify", "$fill", "$documents", "$shardedDataDistribution"),
        *("$changeStreamSplitLargeEvent", "$vectorSearch", "$search", "$querySettings"),
        "$listSampledQueries",
    ),
}


def test_the_44_lists_hold_every_50_addition() -> None:
    release = Gate().release
    assert all(EXPRESSIONS[n] > release for n in NEWER_THAN_44["expressions"])
    assert all(ACCUMULATORS[n] > release for n in NEWER_THAN_44["accumulators"])
    assert all(WINDOW_FUNCTIONS[n] > release for n in NEWER_THAN_44["windows"])
    assert all(STAGES[n] > release for n in NEWER_THAN_44["stages"])
    for name in NEWER_THAN_44["expressions"]:
        got = refusal(aggregate({"$project": {"x": {name: ["$a"]}}}))
        assert got == (168, f"Unrecognized expression '{name}'")
    for name in NEWER_THAN_44["accumulators"]:
        got = refusal(aggregate({"$group": {"_id": None, "x": {name: {}}}}))
        assert got == (15952, f"unknown group operator '{name}'")
    for name in NEWER_THAN_44["stages"]:
        got = refusal(aggregate({name: {}}))
        assert got == (40324, f"Unrecognized pipeline stage name: '{name}'")


@pytest.mark.parametrize(
    ("command", "version", "expected"),
    [
        # where stages are: sub-pipelines of $lookup, $unionWith, $facet; an update's pipeline
        (
            aggregate({"$lookup": {"from": "d", "as": "d", "pipeline": [{"$densify": {}}]}}),
            "4.4.29",
            40324,
        ),
        (aggregate({"$facet": {"a": [{"$match": {}}], "b": [{"$fill": {}}]}}), "4.4.29", 40324),
        (
            aggregate(
                {
                    "$unionWith": {
                        "coll": "d",
                        "pipeline": [{"$group": {"_id": 1, "t": {"$top": {}}}}],
                    }
                }
            ),
            "4.4.29",
            15952,
        ),
        (
            {"update": "c", "updates": [{"q": {}, "u": [{"$set": {"d": {"$dateAdd": {}}}}]}]},
            "4.4.29",
            168,
        ),
        (
            {
                "explain": aggregate({"$project": {"d": {"$dateDiff": {}}}}),
                "verbosity": "queryPlanner",
            },
            "4.4.29",
            168,
        ),
        # accumulators: in $group and $bucket output, not elsewhere
        (
            aggregate(
                {
                    "$bucket": {
                        "groupBy": "$a",
                        "boundaries": [0, 1],
                        "output": {"n": {"$count": {}}},
                    }
                }
            ),
            "4.4.29",
            15952,
        ),
        (aggregate({"$count": "n"}), "4.4.29", None),
        (
            aggregate({"$group": {"_id": {"$toString": "$a"}, "f": {"$first": "$a"}}}),
            "4.4.29",
            None,
        ),
        # 4.4 additions refused by an older gate, accumulators by their own first version
        (aggregate({"$project": {"f": {"$first": "$a"}}}), "4.2.8", 168),
        (aggregate({"$group": {"_id": None, "f": {"$first": "$a"}}}), "4.2.8", None),
        (aggregate({"$unionWith": "d"}), "4.2.8", 40324),
        (aggregate({"$group": {"_id": None, "m": {"$median": {}}}}), "6.0.10", 15952),
        (aggregate({"$group": {"_id": None, "m": {"$median": {}}}}), "7.0.2", None),
        (aggregate({"$project": {"u": {"$toUUID": "$s"}}}), "7.0.2", 168),
        (aggregate({"$project": {"u": {"$toUUID": "$s"}}}), "8.0.0", None),
        # window functions, once $setWindowFields is known
        (aggregate({"$setWindowFields": {"output": {"r": {"$rank": {}}}}}), "5.0.10", None),
        (aggregate({"$setWindowFields": {"output": {"v": {"$locf": "$v"}}}}), "5.0.10", 9),
        # data and queries: $literal, query operators, the $count stage's name
        (aggregate({"$project": {"x": {"$literal": {"$dateTrunc": 1}}}}), "4.4.29", None),
        (
            {"find": "c", "filter": {"a": {"$in": [1]}, "$or": [{"b": {"$exists": True}}]}},
            "4.4.29",
            None,
        ),
        ({"find": "c", "filter": {"$expr": {"$eq": [{"$setField": {}}, 1]}}}, "4.4.29", 168),
        ({"distinct": "c", "key": "a", "query": {"$expr": {"$tsSecond": "$t"}}}, "4.4.29", 168),
        ({"find": "c", "projection": {"d": {"$dateTrunc": {}}}}, "4.4.29", 168),
        (aggregate({"$match": {}}, let={"v": 1}), "4.4.29", 9),
        (aggregate({"$match": {}}, let={"v": 1}), "5.0.10", None),
    ],
)
def test_where_the_gate_looks(command: Doc, version: str, expected: int | None) -> None:
    got = refusal(command, version)
    assert (got and got[0]) == expected, got


def op_msg(request_id: int, body: Doc, *sequences: tuple[str, list[Doc]]) -> bytes:
    sections = b""
    for name, docs in sequences:
        payload = name.encode() + b"\0" + b"".join(bson.encode(d) for d in docs)
        sections += b"\x01" + struct.pack("<i", 4 + len(payload)) + payload
    sections += b"\x00" + bson.encode(body)
    return struct.pack("<iiiiI", 20 + len(sections), request_id, 0, OP_MSG, 0) + sections


def test_kind_1_sections_are_data() -> None:
    gate = Gate()
    # pymongo sends an update's statements as a kind-1 section: they are not read
    data = op_msg(1, {"update": "c", "$db": "x"}, ("updates", [{"q": {}, "u": {"$dateTrunc": 1}}]))
    assert gate.refusal("update", memoryview(data)) is None
    # the command document after a kind-1 section is found and read
    late = op_msg(2, aggregate({"$setWindowFields": {}}), ("documents", [{"a": 1}]))
    refused = gate.refusal("aggregate", memoryview(late))
    assert refused is not None and refused.code == 40324
    reply = gate.error_reply(2, refused)
    length, _, response_to, op = struct.unpack_from("<iiii", reply)
    assert (length, response_to, op) == (len(reply), 2, OP_MSG)
    assert bson.decode(reply[21:]) == refused.document()
    # an insert is never decoded
    assert (
        gate.refusal("insert", memoryview(op_msg(3, {"insert": "c", "d": {"$dateTrunc": 1}})))
        is None
    )


def recv_message(sock: socket.socket) -> tuple[int, bytes]:
    """(responseTo, body after the header) of the next message."""
    data = b""
    while len(data) < 16:
        chunk = sock.recv(16 - len(data))
        assert chunk, "closed"
        data += chunk
    length, _, response_to, op = struct.unpack("<iiii", data)
    assert op == OP_MSG
    body = bytearray()
    while len(body) < length - 16:
        chunk = sock.recv(min(1 << 20, length - 16 - len(body)))
        assert chunk, "closed in the middle of a message"
        body += chunk
    return response_to, bytes(body)


def test_an_error_reply_never_splits_a_large_reply(client: MongoClient[Doc], mongo: Served) -> None:
    client.gate.large.drop()
    client.gate.large.insert_many([{"_id": i, "s": chr(97 + i) * 500_000} for i in range(8)])
    find = op_msg(11, {"find": "large", "batchSize": 100, "$db": "gate"})
    refused = op_msg(12, aggregate({"$project": {"d": DATE_TRUNC}}) | {"$db": "gate"})
    with socket.create_connection(("127.0.0.1", mongo.port), timeout=30) as sock:
        for _ in range(5):  # the refusal is ready at once, while the large reply streams
            sock.sendall(find + refused)
            replies = dict(recv_message(sock) for _ in range(2))
            batch = bson.decode(replies[11][5:])["cursor"]["firstBatch"]
            assert [d["s"][0] for d in batch] == list("abcdefgh")
            assert bson.decode(replies[12][5:])["code"] == 168
    assert not mongo.proxy.errors and not mongo.proxy.violations
    assert mongo.proxy.largest_message > 4_000_000  # a reply over the reused 1 MiB buffer


# -- the product names a server older than 4.4 ----------------------------------------------


def test_the_command_line_names_a_40_server(
    mongo: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(mongo.server, "4.0.23") as old:
        uri = f"mongodb://reader:{PASSWORD}@127.0.0.1:{old.port}/tiledesk?directConnection=true"
        monkeypatch.setenv("USAGE_MONGODB_URI", uri)
        monkeypatch.setenv("USAGE_MONGODB_DB", "tiledesk")
        monkeypatch.delenv("USAGE_CONFIG", raising=False)
        started = time.monotonic()
        code = main(["table", "--format", "json", "--last-days", "7"])
        elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 3, err
    assert elapsed < 3
    assert err.strip().splitlines() == [
        f"usage-report: MongoDB 4.0.23 at 127.0.0.1:{old.port} is older than 4.4, the oldest "
        "this supports (4.0 reached end of life in April 2022); upgrade the server"
    ]
    assert PASSWORD not in out + err and "reader" not in err


@pytest.mark.parametrize(
    ("version", "wire", "named"),
    [
        (
            "4.2.8",
            None,
            "MongoDB 4.2.8 at {where} is older than 4.4, the oldest this supports (4.2 reached end of life in April 2023)",
        ),
        (
            "3.6.23",
            None,
            "MongoDB 3.6.23 at {where} is older than 4.4, the oldest this supports (3.6 reached end of life in April 2021)",
        ),
        (
            "3.4.24",
            5,
            "MongoDB 3.4.24 at {where} is older than 4.4, the oldest this supports (3.4 reached end of life in January 2020)",
        ),
    ],
)
def test_older_servers_are_named_by_their_build_info(
    mongo: Served, version: str, wire: int | None, named: str
) -> None:
    with serving(mongo.server, version, wire) as old, MongoClient[Doc](old.uri) as c:
        with pytest.raises(ConfigurationError) as caught:
            c.admin.command("ping")
        line = too_old(caught.value, old.uri)
    assert line == named.format(where=f"127.0.0.1:{old.port}") + "; upgrade the server"


def test_without_build_info_the_wire_version_names_the_release() -> None:
    refused = ConfigurationError(
        "Server at db.example.net:27017 reports wire version 7, but this version of PyMongo "
        "requires at least 9 (MongoDB 4.4)."
    )
    # over TLS the server is not asked (no socket is opened: the name would not resolve)
    line = too_old(refused, "mongodb://u:pw@db.example.net/?tls=true")
    assert line == (
        "MongoDB 4.0 at db.example.net:27017 is older than 4.4, the oldest this supports "
        "(4.0 reached end of life in April 2022); upgrade the server"
    )
    # a server that does not answer buildInfo: the same
    closed = ConfigurationError(str(refused).replace("db.example.net:27017", "127.0.0.1:9"))
    line = too_old(closed, "mongodb://127.0.0.1:9/")
    assert line is not None and line.startswith("MongoDB 4.0 at 127.0.0.1:9 is older than 4.4")
    assert describe("::1", 27017, 8, None).startswith("MongoDB 4.2 at [::1]:27017 is older")
    assert describe("h", 1, 5, None) == (
        "the MongoDB at h:1 is older than 3.6 (wire version 5); 4.4 is the oldest this "
        "supports (3.6 reached end of life in April 2021); upgrade the server"
    )
    # a buildInfo version that is no older release does not override the wire version
    assert describe("h", 1, 8, "4.4.1").startswith("MongoDB 4.2 at h:1")
    assert too_old(ConfigurationError("something else"), None) is None
    assert too_old(ValueError(str(refused)), None) is None


@pytest.mark.parametrize(
    ("uri", "tls"),
    [
        ("mongodb://h/", False),
        ("mongodb://h/?tls=true", True),
        ("mongodb://h/?ssl=true", True),
        ("mongodb://h/?TLS=false&tlsCAFile=x", False),
        ("mongodb://h/?tlsCAFile=/ca.pem", True),
        ("mongodb+srv://u:p@cluster0.example.net/db", True),
        ("mongodb+srv://cluster0.example.net/?tls=false", False),
    ],
)
def test_uses_tls(uri: str, tls: bool) -> None:
    assert uses_tls(uri) is tls
