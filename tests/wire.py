"""A MongoDB wire-protocol proxy for the tests that measures every document a server returns.

SecantusDB, the test server, enforces none of MongoDB's size limits: it happily returns a
25 MB document where mongod refuses anything over 16 MiB (BSONObjectTooLarge). Put a
`LimitProxy` between the client and the server and check `violations` afterwards:

    with LimitProxy("127.0.0.1", server.port) as proxy:
        with MongoClient(proxy.uri) as client:
            ...
        assert not proxy.violations, proxy.violations

It is a byte proxy (SCRAM and everything else pass through unchanged) that frames each
message (header: int32 messageLength, requestID, responseTo, opCode) and reads the sizes of
the documents in each reply by walking the BSON elements in place (no decoding, no copy;
pymongo's RawBSONDocument copies every batch, which cost ~1 s per 200 MB): every document of
`cursor.firstBatch` / `cursor.nextBatch`, or the whole reply document when it is not a cursor
reply (OP_MSG section 0, and every document of a kind-1 section or of a legacy OP_REPLY).
A reply is mapped to its request (responseTo == requestID; for a `moreToCome` stream, also
the previous reply's requestID) so that the command name is known. A message is parsed and
recorded before its last bytes reach the client, so the records are complete by the time a
client call returns.

OP_COMPRESSED cannot be measured (no client here enables compression): it is recorded both
in `errors` and as a violation, so that a check of `violations` alone notices it.

With a `gate` (gate.py) the proxy presents the server as an older MongoDB: it rewrites the
handshake and buildInfo replies (small: decoded, re-encoded, messageLength fixed) and answers
a command the older version would refuse with mongod's error, without forwarding it. Only the
command document of a request is decoded, never a kind-1 section nor a reply's batch. A
request over the reused buffer is then held until it is whole (so that it can be refused);
replies still stream. Every write to the client (the relayed replies, a whole large one, and
the gate's error replies) is made under the link's lock, so that they never interleave.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from gate import Gate

OP_REPLY = 1
OP_GET_MORE = 2005  # legacy, removed in MongoDB 5.1; replied to with OP_REPLY
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013
OP_NAMES = {
    OP_REPLY: "OP_REPLY",
    OP_QUERY: "OP_QUERY",
    OP_GET_MORE: "OP_GET_MORE",
    OP_COMPRESSED: "OP_COMPRESSED",
    OP_MSG: "OP_MSG",
}
CHECKSUM_PRESENT = 1 << 0  # OP_MSG flagBits
MORE_TO_COME = 1 << 1
EXHAUST_ALLOWED = 1 << 16

DEFAULT_LIMIT = 16 * 1024 * 1024  # mongod's maxBsonObjectSize
HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")
_BUFFER = 1 << 20  # messages up to this size are framed in a reused buffer, several per recv
_GATED_REPLY = 64 * 1024  # a reply the gate may rewrite (a hello or buildInfo) is smaller


class Verdict(NamedTuple):
    """What to do with a message instead of forwarding it: send `forward` on (b"": nothing)
    and `answer` back to where it came from (b"": nothing)."""

    forward: bytes = b""
    answer: bytes = b""


class LimitProxy:
    """A TCP proxy on 127.0.0.1 in front of one MongoDB server; records the largest document
    returned and every one over `limit` bytes, and with a `gate` presents the server as an
    older MongoDB (see the module's docstring)."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        limit: int = DEFAULT_LIMIT,
        gate: Gate | None = None,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.limit = limit
        self.gate = gate
        self.port = 0
        self._lock = threading.Lock()
        self._largest = 0
        self._largest_command = ""
        self._largest_message = 0
        self._largest_by: dict[str, int] = {}
        self._violations: list[tuple[str, int]] = []
        self._errors: list[str] = []
        self._seen: Counter[str] = Counter()
        self._refused: list[tuple[str, int, str]] = []
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._links: set[_Link] = set()
        self._stopping = threading.Event()

    # -- life cycle ------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> LimitProxy:
        if self._listener is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        listener.settimeout(0.5)  # the accept loop also polls for stop()
        self.port = int(listener.getsockname()[1])
        self._stopping.clear()
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), name=f"limitproxy-{self.port}", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection (both sides); idempotent."""
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes accept() at once on Linux
            listener.close()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
            self._acceptor = None
        with self._lock:
            links = list(self._links)
        for link in links:
            link.shutdown()
        for link in links:
            link.join(timeout=5)

    def __enter__(self) -> LimitProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the records -----------------------------------------------------------------------

    @property
    def largest(self) -> int:
        """The BSON size in bytes of the largest single document returned since reset()."""
        with self._lock:
            return self._largest

    @property
    def largest_command(self) -> str:
        """The name of the command whose reply held `largest` ("" before any reply)."""
        with self._lock:
            return self._largest_command

    def largest_of(self, *commands: str) -> int:
        """The largest document the replies to these commands held since reset()."""
        with self._lock:
            return max((self._largest_by.get(c, 0) for c in commands), default=0)

    @property
    def largest_message(self) -> int:
        """The messageLength of the largest reply (a whole batch, envelope included)."""
        with self._lock:
            return self._largest_message

    @property
    def violations(self) -> list[tuple[str, int]]:
        """(command name, size) of every returned document over `limit`, and of every reply
        that could not be measured (OP_COMPRESSED, unparsable: its messageLength)."""
        with self._lock:
            return list(self._violations)

    @property
    def errors(self) -> list[str]:
        """Protocol anomalies: OP_COMPRESSED, unknown opcodes, malformed messages, replies to
        no known request."""
        with self._lock:
            return list(self._errors)

    @property
    def refused(self) -> list[tuple[str, int, str]]:
        """(command name, code, errmsg) of every request the gate answered with an error."""
        with self._lock:
            return list(self._refused)

    @property
    def seen(self) -> Counter[str]:
        """What went over the wire since reset(): "client OP_MSG", "server OP_REPLY",
        "server moreToCome", "client exhaustAllowed", "checksum", "connections", ..."""
        with self._lock:
            return Counter(self._seen)

    @property
    def connections(self) -> int:
        """The number of client connections open now."""
        with self._lock:
            return len(self._links)

    def reset(self) -> None:
        with self._lock:
            self._largest = 0
            self._largest_command = ""
            self._largest_message = 0
            self._largest_by = {}
            self._violations.clear()
            self._errors.clear()
            self._seen.clear()
            self._refused.clear()

    def _error(self, message: str, violation: tuple[str, int] | None = None) -> None:
        with self._lock:
            self._errors.append(message)
            if violation is not None:
                self._violations.append(violation)

    # -- connections -----------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed by stop()
            client.settimeout(None)
            link = _Link(self, client)
            with self._lock:
                if self._stopping.is_set():
                    client.close()
                    return
                self._links.add(link)
                self._seen["connections"] += 1
            link.start()

    def _closed(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)

    # -- the client's side: which command each requestID is --------------------------------

    def _on_request(self, link: _Link, msg: memoryview) -> Verdict | None:
        _, request_id, _, op = HEADER.unpack_from(msg)
        seen = [f"client {OP_NAMES.get(op, op)}"]
        name: str | None
        command, flags = "", 0
        if op == OP_MSG:
            (flags,) = _UINT32.unpack_from(msg, 16)
            name = command = _op_msg_command(msg, flags)
            if flags & CHECKSUM_PRESENT:
                seen.append("checksum")
            if flags & EXHAUST_ALLOWED:
                seen.append("client exhaustAllowed")
            if flags & MORE_TO_COME:  # fire and forget (w: 0): the server does not reply
                seen.append("client moreToCome")
                name = None
        elif op == OP_QUERY:
            name = _op_query_command(msg)
        elif op == OP_GET_MORE:
            name = "getMore"
        elif op == OP_COMPRESSED:
            name = "OP_COMPRESSED"
            self._error(
                f"the client sent OP_COMPRESSED (request {request_id}): sizes cannot be checked",
                ("OP_COMPRESSED request", len(msg)),
            )
        else:
            name = f"opCode {op}"
            self._error(f"the client sent unknown opCode {op} (request {request_id})")
        if name is not None:
            link.pending[request_id] = name
        verdict = refused = None
        if self.gate is not None and op == OP_MSG:
            try:
                refused = self.gate.refusal(command, msg)
            except Exception as exc:  # forwarded unchanged: the server will judge it
                self._error(f"the gate could not read {command} (request {request_id}): {exc!r}")
            if refused is not None:  # not forwarded: no reply will come from the server
                link.pending.pop(request_id, None)
                answer = b"" if flags & MORE_TO_COME else self.gate.error_reply(request_id, refused)
                verdict = Verdict(b"", answer)
                seen.append("gate refused")
        with self._lock:
            self._seen.update(seen)
            if refused is not None:
                self._refused.append((command, refused.code, refused.errmsg))
        return verdict

    # -- the server's side: the size of every document returned ----------------------------

    def _on_reply(self, link: _Link, msg: memoryview) -> Verdict | None:
        length, request_id, response_to, op = HEADER.unpack_from(msg)
        name = link.pending.pop(response_to, None)
        stream, link.stream = link.stream, None
        if name is None:
            if stream is not None and response_to in stream[:2]:
                name = stream[2]  # the next reply of a moreToCome stream
            else:
                name = "?"
                self._error(f"a reply (responseTo {response_to}) to no known request")
        link.replying = name
        seen = [f"server {OP_NAMES.get(op, op)}"]
        sizes: list[int] = []
        if op == OP_MSG:
            (flags,) = _UINT32.unpack_from(msg, 16)
            if flags & CHECKSUM_PRESENT:
                seen.append("checksum")
            if flags & MORE_TO_COME:  # an exhaust stream: more replies to the same request
                seen.append("server moreToCome")
                # mongod answers the previous reply's requestID, SecantusDB the request's
                link.stream = (request_id, response_to, name)
            end = length - 4 if flags & CHECKSUM_PRESENT else length
            self._op_msg_sizes(msg, end, sizes)
        elif op == OP_REPLY:
            (returned,) = _INT32.unpack_from(msg, 32)
            pos = 36
            for _ in range(returned):
                (size,) = _INT32.unpack_from(msg, pos)
                self._document_sizes(msg, pos, sizes)
                pos += size
            if pos != length:
                raise ValueError(f"OP_REPLY: {returned} documents end at {pos}, not {length}")
        elif op == OP_COMPRESSED:
            self._error(
                f"the server sent OP_COMPRESSED (reply to {name}): sizes cannot be checked",
                (f"{name} (OP_COMPRESSED)", length),
            )
        else:
            self._error(f"the server sent unknown opCode {op} (reply to {name})", (name, length))
        biggest = max(sizes, default=0)
        over = [(name, size) for size in sizes if size > self.limit]
        with self._lock:
            self._seen.update(seen)
            if biggest > self._largest:
                self._largest, self._largest_command = biggest, name
            self._largest_by[name] = max(self._largest_by.get(name, 0), biggest)
            self._largest_message = max(self._largest_message, length)
            self._violations.extend(over)
        if self.gate is not None and length <= _GATED_REPLY:  # a handshake or buildInfo
            rewritten = self.gate.rewrite_reply(name, msg)
            if rewritten is not None:
                with self._lock:
                    self._seen["gate rewrote"] += 1
                return Verdict(rewritten)
        return None

    def _op_msg_sizes(self, msg: memoryview, end: int, sizes: list[int]) -> None:
        pos = 20
        while pos < end:
            kind = msg[pos]
            if kind == 0:
                (size,) = _INT32.unpack_from(msg, pos + 1)
                self._document_sizes(msg, pos + 1, sizes)
                pos += 1 + size
            elif kind == 1:  # int32 size, cstring identifier, documents
                (section,) = _INT32.unpack_from(msg, pos + 1)
                stop = pos + 1 + section
                doc = _cstring_end(msg, pos + 5) + 1
                while doc < stop:
                    (size,) = _INT32.unpack_from(msg, doc)
                    sizes.append(size)
                    doc += size
                pos = stop
            else:
                raise ValueError(f"OP_MSG: unknown section kind {kind} at {pos}")
        if pos != end:
            raise ValueError(f"OP_MSG: sections end at {pos}, not {end}")

    def _document_sizes(self, msg: memoryview, doc: int, sizes: list[int]) -> None:
        """The size of each batch document of the cursor reply at offset doc, or if it is not
        a cursor reply, of the document itself. Walks the elements in place: no copy."""
        cursor = _field(msg, doc, _CURSOR)
        if cursor is not None and cursor[0] == _DOCUMENT:
            batch = _field(msg, cursor[1], _BATCHES)
            if batch is not None and batch[0] == _ARRAY:
                _array_document_sizes(msg, batch[1], sizes)
                return
        (size,) = _INT32.unpack_from(msg, doc)
        sizes.append(size)


class _Link:
    """One client connection and its upstream connection: a thread per direction."""

    def __init__(self, proxy: LimitProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: socket.socket | None = None
        self.pending: dict[int, str] = {}  # requestID -> command name, awaiting a reply
        # after a moreToCome reply: (its requestID, its responseTo, the command name)
        self.stream: tuple[int, int, str] | None = None
        self.replying = "?"  # the command of the reply being parsed
        self._lock = threading.Lock()
        # every write to a socket is made under its lock: the gate answers the client from
        # the client's thread while the server's thread relays replies to it
        self.client_lock = threading.Lock()
        self.upstream_lock = threading.Lock()
        self._running = 2
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        thread = threading.Thread(target=self._client_side, name="limitproxy-c2s", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _client_side(self) -> None:
        try:
            self.upstream = socket.create_connection(self.proxy.upstream, timeout=10)
            self.upstream.settimeout(None)
        except OSError as exc:
            self.proxy._error(f"cannot connect to {self.proxy.upstream}: {exc}")
            self._running = 1
            self._done()
            return
        for sock in (self.client, self.upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        thread = threading.Thread(target=self._server_side, name="limitproxy-s2c", daemon=True)
        self._threads.append(thread)
        thread.start()
        locks = (self.client_lock, self.upstream_lock)
        # with a gate, a large request is held until whole: it may have to be refused
        stream = self.proxy.gate is None
        self._pump(self.client, self.upstream, self.proxy._on_request, "client", locks, stream)

    def _server_side(self) -> None:
        assert self.upstream is not None
        locks = (self.upstream_lock, self.client_lock)
        self._pump(self.upstream, self.client, self.proxy._on_reply, "server", locks, True)

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        handle: Callable[[_Link, memoryview], Verdict | None],
        side: str,
        locks: tuple[threading.Lock, threading.Lock],
        stream_large: bool,
    ) -> None:
        try:
            _relay(src, dst, lambda msg: self._handle(handle, msg, side), locks, stream_large)
        except OSError:
            pass  # a side closed or reset the connection, or stop() shut it down
        except Exception as exc:  # a bug here must not hang the client: report, hang up
            self.proxy._error(f"the {side} relay failed: {exc!r}")
        finally:
            self._done()

    def _handle(
        self, handle: Callable[[_Link, memoryview], Verdict | None], msg: memoryview, side: str
    ) -> Verdict | None:
        try:
            return handle(self, msg)
        except Exception as exc:  # the bytes are forwarded unchanged whatever happens here
            _, request_id, response_to, op = HEADER.unpack_from(msg)
            what = f"{side} opCode {op} message {request_id} (responseTo {response_to})"
            unchecked = (f"{self.replying} (unparsed)", len(msg)) if side == "server" else None
            self.proxy._error(f"could not parse the {what}: {exc!r}", unchecked)
            return None

    def shutdown(self) -> None:
        """Wake both threads (close() alone does not interrupt a blocked recv)."""
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _done(self) -> None:
        self.shutdown()
        with self._lock:
            self._running -= 1
            last = self._running <= 0
        if last:  # the other thread is out of its recv/send: the sockets can go
            self.client.close()
            if self.upstream is not None:
                self.upstream.close()
            self.proxy._closed(self)

    def join(self, timeout: float) -> None:
        """Join both threads, the server's too when the client's starts it while joined."""
        joined: set[threading.Thread] = {threading.current_thread()}
        while pending := [t for t in list(self._threads) if t not in joined]:
            for thread in pending:
                thread.join(timeout)
                joined.add(thread)


def _relay(
    src: socket.socket,
    dst: socket.socket,
    handle: Callable[[memoryview], Verdict | None],
    locks: tuple[threading.Lock, threading.Lock],
    stream_large: bool = True,
) -> None:
    """Forward every byte from src to dst, calling handle(message) on each whole message
    before its last bytes are sent; a Verdict replaces the message (and may answer src).
    Small messages are framed in one reused buffer (several per recv); a large one is
    received into its own buffer and, if `stream_large`, forwarded as it arrives (and then
    never replaced). `locks` guard the writes to src and to dst."""
    src_lock, dst_lock = locks
    buf = bytearray(_BUFFER)
    view = memoryview(buf)
    have = 0
    while True:
        n = src.recv_into(view[have:])
        if not n:
            return
        have += n
        start = flushed = 0
        while have - start >= 16:
            (length,) = _INT32.unpack_from(buf, start)
            if length < 16:
                raise ValueError(f"messageLength {length} < 16: not the MongoDB wire protocol")
            if have - start < length:
                break
            verdict = handle(view[start : start + length])
            if verdict is not None:
                with dst_lock:
                    if start > flushed:
                        dst.sendall(view[flushed:start])
                    if verdict.forward:
                        dst.sendall(verdict.forward)
                if verdict.answer:
                    with src_lock:
                        src.sendall(verdict.answer)
                flushed = start + length
            start += length
        if start:
            if start > flushed:
                with dst_lock:
                    dst.sendall(view[flushed:start])
            buf[: have - start] = buf[start:have]
            have -= start
        if have >= 4:
            (length,) = _INT32.unpack_from(buf, 0)
            if length > _BUFFER:
                _relay_large(src, dst, handle, view[:have], length, locks, stream_large)
                have = 0


def _relay_large(
    src: socket.socket,
    dst: socket.socket,
    handle: Callable[[memoryview], Verdict | None],
    head: memoryview,
    length: int,
    locks: tuple[threading.Lock, threading.Lock],
    stream: bool,
) -> None:
    src_lock, dst_lock = locks
    message = bytearray(length)
    view = memoryview(message)
    view[: len(head)] = head
    have = len(head)
    if not stream:  # held until whole, so that it can be replaced
        while have < length:
            n = src.recv_into(view[have:])
            if not n:
                raise ConnectionResetError("closed in the middle of a message")
            have += n
        verdict = handle(view)
        with dst_lock:
            if verdict is None:
                dst.sendall(view)
            elif verdict.forward:
                dst.sendall(verdict.forward)
        if verdict is not None and verdict.answer:
            with src_lock:
                src.sendall(verdict.answer)
        return
    sent = 0
    with dst_lock:  # the whole message: nothing may be written to dst in the middle of it
        while have < length:
            n = src.recv_into(view[have:])
            if not n:
                raise ConnectionResetError("closed in the middle of a message")
            if have > sent:  # the chunk before this one: keep the last back until handled
                dst.sendall(view[sent:have])
                sent = have
            have += n
        handle(view)  # part of it is gone: a verdict cannot apply (none is given to these)
        dst.sendall(view[sent:])


def _cstring_end(msg: memoryview, pos: int) -> int:
    """The offset of the NUL that ends the cstring at pos."""
    step = 64
    while True:
        chunk = bytes(msg[pos : pos + step])
        nul = chunk.find(0)
        if nul >= 0:
            return pos + nul
        if pos + len(chunk) >= len(msg):
            raise ValueError("unterminated cstring")
        step *= 16


def _first_key(msg: memoryview, doc: int) -> str:
    """The name of the first element of the BSON document at offset doc ("" if empty)."""
    if msg[doc + 4] == 0:
        return ""
    end = _cstring_end(msg, doc + 5)
    return bytes(msg[doc + 5 : end]).decode("utf-8", "replace")


def _op_msg_command(msg: memoryview, flags: int) -> str:
    end = len(msg) - 4 if flags & CHECKSUM_PRESENT else len(msg)
    pos = 20
    while pos < end:  # the kind-0 section may follow kind-1 ones
        if msg[pos] == 0:
            return _first_key(msg, pos + 1)
        (section,) = _INT32.unpack_from(msg, pos + 1)
        pos += 1 + section
    raise ValueError("OP_MSG without a kind-0 section")


def _op_query_command(msg: memoryview) -> str:
    doc = _cstring_end(msg, 20) + 1 + 8  # fullCollectionName, numberToSkip, numberToReturn
    name = _first_key(msg, doc)
    if name in ("$query", "query"):  # a wrapped command: {$query: {...}, $readPreference: ...}
        name = _first_key(msg, doc + 4 + 1 + len(name) + 1)
    return name


# BSON element types: a fixed value size, or how to find the value's end
_DOCUMENT, _ARRAY = 0x03, 0x04
_FIXED = {  # double, undefined, ObjectId, bool, date, null, int32, timestamp, int64, decimal128
    **dict.fromkeys((0x06, 0x0A, 0x7F, 0xFF), 0),  # ... and the value-less: minKey, maxKey
    **{0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16},
}
# int32 n, then n bytes (after the int32 for a string, code, symbol; a subtype byte for binary;
# an ObjectId for a DBPointer): the offset of the value's end after the int32's value n
_SIZED = {0x03: 0, 0x04: 0, 0x0F: 0, 0x02: 4, 0x0D: 4, 0x0E: 4, 0x05: 5, 0x0C: 16}
_CURSOR = (b"cursor",)
_BATCHES = (b"firstBatch", b"nextBatch")


def _field(msg: memoryview, doc: int, names: tuple[bytes, ...]) -> tuple[int, int] | None:
    """(BSON type, value offset) of the first top-level element of the document at offset doc
    named one of names, or None."""
    (size,) = _INT32.unpack_from(msg, doc)
    end = doc + size - 1
    pos = doc + 4
    while pos < end:
        kind = msg[pos]
        key_end = _cstring_end(msg, pos + 1)
        value = key_end + 1
        if msg[pos + 1 : key_end] in names:
            return kind, value
        fixed = _FIXED.get(kind)
        if fixed is not None:
            pos = value + fixed
        elif kind in _SIZED:
            (n,) = _INT32.unpack_from(msg, value)
            pos = value + n + _SIZED[kind]
        elif kind == 0x0B:  # regex: two cstrings
            pos = _cstring_end(msg, _cstring_end(msg, value) + 1) + 1
        else:
            raise ValueError(f"unknown BSON type {kind:#x} at {pos}")
    if pos != end:
        raise ValueError(f"a document's elements end at {pos}, not {end}")
    return None


def _array_document_sizes(msg: memoryview, array: int, sizes: list[int]) -> None:
    """Append the size of each element of the BSON array of documents at offset array."""
    append = sizes.append
    unpack = _INT32.unpack_from
    (size,) = unpack(msg, array)
    end = array + size - 1
    pos = array + 4
    index, digits, wider_at = 0, 1, 10  # the keys are "0", "1", ...: their length is known
    while pos < end:
        if index == wider_at:
            digits, wider_at = digits + 1, wider_at * 10
        if msg[pos] != _DOCUMENT or msg[pos + 1 + digits] != 0:
            raise ValueError(f"batch element {index} is not a document keyed {index}")
        (size,) = unpack(msg, pos + 2 + digits)
        append(size)
        pos += 2 + digits + size
        index += 1
    if pos != end:
        raise ValueError(f"a batch's elements end at {pos}, not {end}")
