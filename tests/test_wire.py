"""The size-checking wire proxy (tests/wire.py) in front of a real SecantusDB."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import bson
import pytest
from pymongo import CursorType, MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure
from wire import OP_COMPRESSED, OP_MSG, OP_QUERY, OP_REPLY, LimitProxy

from usage_lib.demo.server import EmbeddedMongo

MIB = 1024 * 1024
LIMIT = 16 * MIB


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedMongo]:
    with EmbeddedMongo(":memory:") as s:
        yield s


@pytest.fixture
def proxy(server: EmbeddedMongo) -> Iterator[LimitProxy]:
    with LimitProxy("127.0.0.1", server.port) as p:
        yield p


@pytest.fixture
def db(proxy: LimitProxy) -> Iterator[Database[dict[str, Any]]]:
    """A database reached through the proxy, emptied first; the records are reset after
    the client's handshake."""
    with MongoClient[dict[str, Any]](proxy.uri) as client:
        client.drop_database("wire")
        proxy.reset()
        yield client["wire"]


def size(doc: Any) -> int:
    return len(bson.encode(doc))


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_small_find_and_aggregate(db: Database[dict[str, Any]], proxy: LimitProxy) -> None:
    # bigger than a hello reply (~800 bytes), so a monitor's heartbeat cannot be the largest
    db.small.insert_many([{"_id": i, "s": "x" * (2000 + 10 * i)} for i in range(30)])
    proxy.reset()
    found = list(db.small.find({"_id": {"$lt": 20}}))
    assert proxy.largest == max(map(size, found)) == size({"_id": 19, "s": "x" * 2190})
    assert proxy.largest_command == "find"
    proxy.reset()
    grouped = list(db.small.aggregate([{"$match": {"_id": {"$gte": 25}}}, {"$sort": {"_id": 1}}]))
    assert proxy.largest == size(grouped[-1])
    assert proxy.largest_command == "aggregate"
    assert not proxy.violations
    assert not proxy.errors
    assert proxy.largest_message < 64 * 1024


def test_oversized_document_is_a_violation(db: Database[dict[str, Any]], proxy: LimitProxy) -> None:
    db.big.insert_many([{"_id": i, "s": chr(97 + i) * MIB} for i in range(17)])
    pipeline: list[dict[str, Any]] = [
        {"$sort": {"_id": 1}},
        {"$group": {"_id": None, "all": {"$push": "$s"}}},
    ]
    (doc,) = db.big.aggregate(pipeline)  # SecantusDB returns it; mongod would refuse
    assert len(doc["all"]) == 17
    assert size(doc) > LIMIT
    assert proxy.violations == [("aggregate", size(doc))]
    assert (proxy.largest, proxy.largest_command) == (size(doc), "aggregate")
    assert proxy.largest_message > size(doc)
    assert not proxy.errors
    # a reply that is not a cursor: the whole reply document counts
    proxy.reset()
    reply = db.command("distinct", "big", key="s")
    assert len(reply["values"]) == 17
    assert proxy.violations == [("distinct", size(reply))]


def test_many_large_documents_are_no_violation(
    db: Database[dict[str, Any]], proxy: LimitProxy
) -> None:
    db.many.insert_many([{"_id": i, "s": "y" * (MIB - 100 * i)} for i in range(24)])
    proxy.reset()
    docs = list(db.many.find(batch_size=1000))
    assert len(docs) == 24
    assert sum(map(size, docs)) > LIMIT  # spread over a firstBatch and a nextBatch
    assert (proxy.largest, proxy.largest_command) == (size(docs[0]), "find")
    assert proxy.largest_message > 8 * MIB
    assert proxy.seen["client OP_MSG"] >= 2  # find, getMore
    proxy.reset()
    docs = list(db.many.aggregate([{"$sort": {"_id": -1}}], batchSize=1000))
    # the largest, _id 0, comes last: in the nextBatch of a getMore
    assert (proxy.largest, proxy.largest_command) == (size(docs[-1]), "getMore")
    assert not proxy.violations
    assert not proxy.errors


def test_exhaust_cursor_stream(db: Database[dict[str, Any]], proxy: LimitProxy) -> None:
    db.stream.insert_many([{"_id": i, "s": "z" * (1500 + i)} for i in range(20)])
    proxy.reset()
    docs = list(db.stream.find(batch_size=3, cursor_type=CursorType.EXHAUST))
    assert len(docs) == 20
    seen = proxy.seen
    assert seen["server moreToCome"] >= 5  # getMore replies streamed on one request
    assert seen["client exhaustAllowed"] >= 1
    assert (proxy.largest, proxy.largest_command) == (size(docs[-1]), "getMore")
    assert not proxy.errors
    assert not proxy.violations


def test_reset_clears(server: EmbeddedMongo, db: Database[dict[str, Any]]) -> None:
    db.reset.insert_one({"_id": 1, "s": "r" * 5000})
    with LimitProxy("127.0.0.1", server.port, limit=4000) as strict:
        with MongoClient[dict[str, Any]](strict.uri) as client:
            client.wire.reset.find_one()
        assert strict.violations == [("find", size({"_id": 1, "s": "r" * 5000}))]
        assert strict.largest > 5000 and strict.largest_command == "find"
        assert strict.seen and strict.largest_message > 5000
        strict.reset()
        assert (strict.largest, strict.largest_command, strict.largest_message) == (0, "", 0)
        assert strict.violations == [] and strict.errors == [] and not strict.seen
        with MongoClient[dict[str, Any]](strict.uri) as client:  # and it records again
            client.wire.reset.find_one()
        assert len(strict.violations) == 1


def test_auth_passes_through(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    with EmbeddedMongo(folder) as setup, MongoClient[dict[str, Any]](setup.uri) as client:
        client.app.things.insert_many([{"_id": i, "s": "a" * 3000} for i in range(50)])
        client.app.command("createUser", "reader", pwd="pw-1", roles=["read"])
    with EmbeddedMongo(folder, auth=True) as server, LimitProxy("127.0.0.1", server.port) as p:
        uri = f"mongodb://reader:pw-1@127.0.0.1:{p.port}/app?directConnection=true"
        with MongoClient[dict[str, Any]](uri) as client:
            assert len(list(client.app.things.find())) == 50
            assert (p.largest, p.largest_command) == (size({"_id": 49, "s": "a" * 3000}), "find")
        wrong = f"mongodb://reader:nope@127.0.0.1:{p.port}/app?directConnection=true"
        with (
            MongoClient[dict[str, Any]](wrong, serverSelectionTimeoutMS=3000) as client,
            pytest.raises(OperationFailure, match="[Aa]uthentication failed"),
        ):
            client.app.things.find_one()
        with (
            MongoClient[dict[str, Any]](p.uri) as client,
            pytest.raises(OperationFailure),
        ):
            client.app.things.find_one()  # auth is really enforced behind the proxy
        assert not p.violations and not p.errors


def test_many_concurrent_connections(db: Database[dict[str, Any]], proxy: LimitProxy) -> None:
    db.conc.insert_many([{"_id": i, "s": "c" * (1000 + i)} for i in range(200)])
    proxy.reset()
    before = proxy.connections  # the db fixture's client
    with MongoClient[dict[str, Any]](proxy.uri, maxPoolSize=40) as client:
        coll = client.wire.conc

        def work(i: int) -> int:
            return len(list(coll.find({"_id": {"$gte": i % 50}}, batch_size=7)))

        with ThreadPoolExecutor(32) as pool:
            counts = list(pool.map(work, range(300)))
        assert counts == [200 - i % 50 for i in range(300)]
        assert proxy.seen["connections"] > 8
    assert proxy.largest == size({"_id": 199, "s": "c" * 1199})
    assert not proxy.violations and not proxy.errors
    assert wait_for(lambda: proxy.connections == before)


# -- raw wire messages: what pymongo (4.14+, OP_MSG only) never sends


def recv_message(sock: socket.socket) -> tuple[int, int, int, bytes]:
    """(requestID, responseTo, opCode, body) of the next message, or opCode 0 at EOF."""
    data = b""
    while len(data) < 16:
        try:
            chunk = sock.recv(16 - len(data))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return 0, 0, 0, b""
        data += chunk
    length, request_id, response_to, op = struct.unpack("<iiii", data)
    body = b""
    while len(body) < length - 16:
        chunk = sock.recv(length - 16 - len(body))
        assert chunk, "closed in the middle of a message"
        body += chunk
    return request_id, response_to, op, body


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def test_legacy_op_query_handshake_and_checksum(proxy: LimitProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        query = struct.pack("<i", 0) + b"admin.$cmd\0" + struct.pack("<ii", 0, -1)
        query += bson.encode({"isMaster": 1, "client": {"driver": {"name": "raw"}}})
        sock.sendall(struct.pack("<iiii", 16 + len(query), 41, 0, OP_QUERY) + query)
        _, response_to, op, body = recv_message(sock)
        assert (response_to, op) == (41, OP_REPLY)
        (returned,) = struct.unpack_from("<i", body, 16)
        assert returned == 1
        assert bson.decode(body[20:])["ismaster"] is True
        assert (proxy.largest, proxy.largest_command) == (len(body) - 20, "isMaster")
        # an OP_MSG carrying a CRC-32C checksum (flagBits bit 0), the command in section 0
        # after a kind-1 section
        sequence = b"documents\0" + bson.encode({"_id": 1})
        sections = b"\x01" + struct.pack("<i", 4 + len(sequence)) + sequence
        sections += b"\x00" + bson.encode({"insert": "checked", "$db": "wire"})
        head = struct.pack("<iiiiI", 16 + 4 + len(sections) + 4, 42, 0, OP_MSG, 1)
        message = head + sections
        sock.sendall(message + struct.pack("<I", crc32c(message)))
        _, response_to, op, body = recv_message(sock)
        assert (response_to, op) == (42, OP_MSG)
        assert bson.decode(body[5:])["n"] == 1
        assert proxy.largest_command == "isMaster"  # the insert reply is smaller
    seen = proxy.seen
    assert seen["client OP_QUERY"] == 1 and seen["server OP_REPLY"] == 1
    assert seen["checksum"] == 1
    assert not proxy.errors and not proxy.violations


def test_op_compressed_is_flagged(proxy: LimitProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        payload = struct.pack("<iiB", OP_MSG, 100, 2) + b"not really zlib"
        sock.sendall(struct.pack("<iiii", 16 + len(payload), 43, 0, OP_COMPRESSED) + payload)
        assert recv_message(sock)[2] in (0, OP_MSG)  # SecantusDB hangs up
    assert proxy.violations == [("OP_COMPRESSED request", 16 + len(payload))]
    assert any("OP_COMPRESSED" in e for e in proxy.errors)


def test_connections_closed_by_either_side() -> None:
    with EmbeddedMongo(":memory:") as server, LimitProxy("127.0.0.1", server.port) as p:
        ping = bson.encode({"ping": 1, "$db": "admin"})
        ping_msg = struct.pack("<iiiiI", 16 + 5 + len(ping), 1, 0, OP_MSG, 0) + b"\0" + ping
        first = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        second = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        for sock in (first, second):
            sock.sendall(ping_msg)
            assert recv_message(sock)[2] == OP_MSG
        assert p.connections == 2
        first.close()  # the client hangs up
        assert wait_for(lambda: p.connections == 1)
        server.stop()  # the server goes away: the proxy hangs up on the client
        assert recv_message(second)[2] == 0
        second.close()
        assert wait_for(lambda: p.connections == 0)
        assert not p.errors
        third = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        assert recv_message(third)[2] == 0  # nothing to connect to: closed at once
        third.close()
        assert wait_for(lambda: any("cannot connect" in e for e in p.errors))


def test_stop_closes_everything(server: EmbeddedMongo) -> None:
    p = LimitProxy("127.0.0.1", server.port).start()
    # (a short server selection: the client's close tries to end its sessions, in vain)
    with MongoClient[dict[str, Any]](p.uri, serverSelectionTimeoutMS=200) as client:
        client.admin.command("ping")
        before = p.connections
        raw = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        assert wait_for(lambda: p.connections == before + 1)
        p.stop()
        assert p.connections == 0
        assert recv_message(raw)[2] == 0
        raw.close()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", p.port), timeout=2).close()
