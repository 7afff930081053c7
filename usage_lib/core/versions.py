"""The MongoDB versions this works with, and the one line that names a server too old.

MongoDB 4.4 is the oldest: the driver (pymongo 4.18 and later) refuses anything older at
server selection, with a ConfigurationError that names only a wire version ("Server at
host:port reports wire version 7, but this version of PyMongo requires at least 9 (MongoDB
4.4)."). `too_old` turns it into a line a user can act on, naming the server's exact version,
asked with `buildInfo` (which needs no authentication) over a plain socket, or the release of
its wire version when that cannot be had (TLS, no answer in time).

End-of-life dates: MongoDB's Software Lifecycle Schedules,
https://www.mongodb.com/legal/support-policy/lifecycles (3.6: April 30, 2021; 4.0: April 30,
2022; 4.2: April 30, 2023).
"""

from __future__ import annotations

import re
import socket
import struct
import time
from urllib.parse import parse_qsl

import bson
from pymongo.errors import ConfigurationError

MINIMUM = (4, 4)
MINIMUM_WIRE = 9
# the release whose maxWireVersion this is, for those below MINIMUM_WIRE (3.6 brought 6)
RELEASES = {6: "3.6", 7: "4.0", 8: "4.2"}
END_OF_LIFE = {
    "3.0": "February 2018",
    "3.2": "September 2018",
    "3.4": "January 2020",
    "3.6": "April 2021",
    "4.0": "April 2022",
    "4.2": "April 2023",
}
BUILD_INFO_TIMEOUT_S = 1.5  # the whole question: connecting, asking, reading the answer

_REFUSED = re.compile(
    r"Server at (?P<host>.+):(?P<port>\d+) reports wire version (?P<wire>-?\d+), "
    r"but this version of PyMongo requires at least"
)
_VERSION = re.compile(r"(\d{1,3})\.(\d{1,3})(?:\.\d{1,4})?(?:-[0-9A-Za-z.]{1,40})?")
_HEADER = struct.Struct("<iiii")
_OP_REPLY, _OP_QUERY, _OP_MSG = 1, 2004, 2013
_REQUEST_ID = 0x75736167


def too_old(exc: BaseException, uri: str | None) -> str | None:
    """The one line naming the server, when `exc` is the driver refusing one older than 4.4
    (else None). Names host:port and versions only: never the URI nor its password."""
    if not isinstance(exc, ConfigurationError):
        return None
    found = _REFUSED.search(str(exc))
    if found is None:
        return None
    host, port, wire = found["host"], int(found["port"]), int(found["wire"])
    version = None
    if uri is not None and not uses_tls(uri):
        version = build_info_version(host, port, wire)
    return describe(host, port, wire, version)


def describe(host: str, port: int, wire: int, version: str | None) -> str:
    """The line for a server at host:port reporting maxWireVersion `wire` and, if known,
    buildInfo `version`."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    oldest = ".".join(map(str, MINIMUM))
    release = _release(version) if version else None
    if release is not None:
        name = f"MongoDB {version}"
    elif wire in RELEASES:
        release = RELEASES[wire]
        name = f"MongoDB {release}"
    else:
        return (
            f"the MongoDB at {where} is older than 3.6 (wire version {wire}); {oldest} is the "
            f"oldest this supports (3.6 reached end of life in {END_OF_LIFE['3.6']}); upgrade "
            "the server"
        )
    end = END_OF_LIFE.get(release)
    eol = f" ({release} reached end of life in {end})" if end else ""
    return f"{name} at {where} is older than {oldest}, the oldest this supports{eol}; upgrade the server"


def _release(version: str) -> str | None:
    """ "4.0" of "4.0.23", or None if `version` is no version older than MINIMUM."""
    found = _VERSION.fullmatch(version)
    if found is None:
        return None
    major, minor = int(found[1]), int(found[2])
    return f"{major}.{minor}" if (major, minor) < MINIMUM else None


def uses_tls(uri: str) -> bool:
    """Whether the driver reaches this connection string over TLS: tls/ssl say so, any other
    tls option implies it, and so does mongodb+srv:// by default."""
    scheme, _, rest = uri.partition("://")
    query = rest.partition("?")[2]
    options = {key.lower(): value.lower() for key, value in parse_qsl(query)}
    for key in ("tls", "ssl"):
        if key in options:
            return options[key] == "true"
    if any(key.startswith(("tls", "ssl")) for key in options):
        return True
    return scheme.lower() == "mongodb+srv"


def build_info_version(
    host: str, port: int, wire: int = 6, timeout: float = BUILD_INFO_TIMEOUT_S
) -> str | None:
    """The `version` of the server's buildInfo over a plain socket (OP_MSG; OP_QUERY below
    3.6, wire version 6), or None if it cannot be had within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    command = bson.encode({"buildInfo": 1, "$db": "admin"})
    if wire >= 6:
        body = struct.pack("<I", 0) + b"\x00" + command
        op = _OP_MSG
    else:
        legacy = bson.encode({"buildInfo": 1})  # flags, admin.$cmd, skip 0, return 1
        body = struct.pack("<i", 0) + b"admin.$cmd\x00" + struct.pack("<ii", 0, -1) + legacy
        op = _OP_QUERY
    request = _HEADER.pack(16 + len(body), _REQUEST_ID, 0, op) + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(request)
            length, _, response_to, reply_op = _HEADER.unpack(_receive(sock, 16, deadline))
            if response_to != _REQUEST_ID or not 16 < length <= 1 << 20:
                return None
            reply = _receive(sock, length - 16, deadline)
        if reply_op == _OP_MSG and reply[4] == 0:
            document = bson.decode(reply[5 : 5 + int.from_bytes(reply[5:9], "little")])
        elif reply_op == _OP_REPLY and int.from_bytes(reply[16:20], "little") == 1:
            document = bson.decode(reply[20:])
        else:
            return None
    except (OSError, ValueError, IndexError, bson.errors.BSONError):
        return None
    version = document.get("version")
    if document.get("ok") != 1 or not isinstance(version, str):
        return None
    return version if _VERSION.fullmatch(version) else None


def _receive(sock: socket.socket, size: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("buildInfo: no answer in time")
        sock.settimeout(left)
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("buildInfo: the server hung up")
        data += chunk
    return bytes(data)
