"""An older MongoDB, as the tests' servers present themselves through `LimitProxy` (wire.py).

SecantusDB, the test server, speaks the language of MongoDB 8.2: a pipeline with `$dateTrunc`
(5.0) works on it, and would fail on the MongoDB 4.4 of a Tiledesk install. A `Gate` makes the
proxy answer as mongod of `version` would:

- the handshake (`hello`, `isMaster`, `ismaster`, the monitor's streamed hello too) reports
  the gate's `maxWireVersion` (4.4: 9), and `buildInfo` its `version` and `versionArray`, so
  that the driver sees (and refuses, below 4.4) the old server;
- a command whose body uses a stage, expression, `$group` accumulator, window function or
  option newer than `version` is answered with mongod's own error, and never reaches the
  server: an unknown expression is code 168 `InvalidPipelineOperator` ("Unrecognized
  expression '$dateTrunc'", Expression::parseExpression), an unknown stage 40324
  ("Unrecognized pipeline stage name: '$setWindowFields'", DocumentSource::parse), an unknown
  accumulator 15952 ("unknown group operator '$count'", AccumulationStatement::getParser), an
  unknown window function 9 FailedToParse ("Unrecognized window function, $locf"), and an
  unknown option of the aggregate command 9 ("unrecognized field 'let'",
  AggregationRequest::parseFromBSON up to 4.4). The messages are those of mongodb/mongo's
  source.

The first versions are the manual's "New in version" notes
(https://www.mongodb.com/docs/manual/reference/operator/aggregation/ and each operator's page;
$toUUID 8.0, $bitAnd/$bitOr/$bitXor/$bitNot 6.3, $median/$percentile 7.0, $densify/$documents
5.1, $fill/$linearFill 5.3, $locf/$sortArray/$top.../$minN 5.2, $tsSecond/$tsIncrement 5.1).
Only what came after 4.0 is listed: pymongo refuses anything older than 4.4 (wire 9) anyway.

Only the command document (OP_MSG section kind 0) is read; kind-1 sections (insert's
documents, update's and delete's statements as pymongo sends them) are data and skipped, and
an `insert`, `getMore`, the handshake and authentication are not decoded at all.
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

import bson

OP_REPLY = 1
OP_MSG = 2013
CHECKSUM_PRESENT = 1 << 0
_HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")

Version = tuple[int, int, int]
ATLAS: Version = (99, 0, 0)  # Atlas Search stages: on no mongod of any version

# maxWireVersion of each release (the driver specifications' table; 4.5-4.9 were 10-12)
WIRE_VERSIONS = {
    (3, 6): 6,
    (4, 0): 7,
    (4, 2): 8,
    (4, 4): 9,
    (5, 0): 13,
    (5, 1): 14,
    (5, 2): 15,
    (5, 3): 16,
    (6, 0): 17,
    (6, 1): 18,
    (6, 2): 19,
    (6, 3): 20,
    (7, 0): 21,
    (7, 1): 22,
    (7, 2): 23,
    (7, 3): 24,
    (8, 0): 25,
    (8, 1): 26,
    (8, 2): 27,
}

STAGES: dict[str, Version] = {
    **dict.fromkeys(("$merge", "$planCacheStats", "$replaceWith", "$set", "$unset"), (4, 2, 0)),
    "$unionWith": (4, 4, 0),
    "$setWindowFields": (5, 0, 0),
    "$densify": (5, 1, 0),
    "$documents": (5, 1, 0),
    "$fill": (5, 3, 0),
    "$shardedDataDistribution": (6, 0, 3),
    "$listSearchIndexes": (6, 0, 7),
    "$changeStreamSplitLargeEvent": (6, 0, 9),
    "$vectorSearch": (6, 0, 11),  # Atlas: 6.0.11 and 7.0.2
    "$listSampledQueries": (7, 0, 0),
    "$queryStats": (7, 1, 0),
    "$querySettings": (8, 0, 0),
    "$search": ATLAS,
    "$searchMeta": ATLAS,
}

EXPRESSIONS: dict[str, Version] = {
    **dict.fromkeys(
        (
            *("$convert", "$toBool", "$toDate", "$toDecimal", "$toDouble", "$toInt", "$toLong"),
            *("$toObjectId", "$toString", "$trim", "$ltrim", "$rtrim"),
        ),
        (4, 0, 0),
    ),
    **dict.fromkeys(
        (
            *("$regexFind", "$regexFindAll", "$regexMatch", "$round"),
            *("$sin", "$cos", "$tan", "$asin", "$acos", "$atan", "$atan2"),
            *("$sinh", "$cosh", "$tanh", "$asinh", "$acosh", "$atanh"),
            *("$degreesToRadians", "$radiansToDegrees"),
        ),
        (4, 2, 0),
    ),
    **dict.fromkeys(
        (
            *("$binarySize", "$bsonSize", "$first", "$last", "$function", "$isNumber"),
            *("$replaceOne", "$replaceAll"),
        ),
        (4, 4, 0),
    ),
    "$rand": (4, 4, 2),
    **dict.fromkeys(
        ("$dateAdd", "$dateSubtract", "$dateDiff", "$dateTrunc", "$getField", "$setField"),
        (5, 0, 0),
    ),
    "$unsetField": (5, 0, 0),
    **dict.fromkeys(("$tsSecond", "$tsIncrement"), (5, 1, 0)),
    **dict.fromkeys(("$firstN", "$lastN", "$maxN", "$minN", "$sortArray"), (5, 2, 0)),
    **dict.fromkeys(("$bitAnd", "$bitOr", "$bitXor", "$bitNot"), (6, 3, 0)),
    **dict.fromkeys(("$median", "$percentile"), (7, 0, 0)),
    "$toUUID": (8, 0, 0),
}

# in $group (and $bucket/$bucketAuto output): `{$count: {}}` is the 5.0 accumulator; the
# $count stage, `{$count: "name"}`, is 3.4
ACCUMULATORS: dict[str, Version] = {
    "$accumulator": (4, 4, 0),
    "$count": (5, 0, 0),
    **dict.fromkeys(
        ("$top", "$bottom", "$topN", "$bottomN", "$firstN", "$lastN", "$maxN", "$minN"),
        (5, 2, 0),
    ),
    **dict.fromkeys(("$median", "$percentile"), (7, 0, 0)),
}

# in $setWindowFields output (the stage is 5.0: below that, the stage is refused first)
WINDOW_FUNCTIONS: dict[str, Version] = {
    **ACCUMULATORS,
    **dict.fromkeys(
        (
            *("$shift", "$derivative", "$integral", "$expMovingAvg"),
            *("$covariancePop", "$covarianceSamp", "$denseRank", "$rank", "$documentNumber"),
        ),
        (5, 0, 0),
    ),
    "$locf": (5, 2, 0),
    "$linearFill": (5, 3, 0),
}

# options of a command, by command: the aggregate command's `let` is 5.0
OPTIONS: dict[tuple[str, str], Version] = {("aggregate", "let"): (5, 0, 0)}

# commands whose command document is not read: nothing in them is an operator, or (insert)
# what they carry is data
UNREAD = frozenset(
    (
        *("insert", "getMore", "killCursors", "endSessions", "ping"),
        *("hello", "isMaster", "ismaster", "buildInfo", "buildinfo"),
        *("saslStart", "saslContinue", "authenticate", "logout"),
    )
)
HANDSHAKE = frozenset(("hello", "isMaster", "ismaster"))
BUILD_INFO = frozenset(("buildInfo", "buildinfo"))

# the keys whose value is a query (where only $expr holds expressions)
_QUERIES = frozenset(("filter", "query", "q", "validator", "partialFilterExpression"))


class Refused(Exception):
    """A command mongod of the gate's version would refuse: its error reply's fields."""

    def __init__(self, code: int, code_name: str, errmsg: str) -> None:
        super().__init__(f"{errmsg} (code {code} {code_name})")
        self.code = code
        self.code_name = code_name
        self.errmsg = errmsg

    def document(self) -> dict[str, Any]:
        return {"ok": 0.0, "errmsg": self.errmsg, "code": self.code, "codeName": self.code_name}


def parse_version(version: str) -> Version:
    parts = [int(p) for p in version.split("-")[0].split(".")]
    if not 2 <= len(parts) <= 3:
        raise ValueError(f"not a MongoDB version: {version!r}")
    return (parts[0], parts[1], parts[2] if len(parts) == 3 else 0)


class Gate:
    """MongoDB `version` (with `wire` as its maxWireVersion, by default the release's)."""

    def __init__(self, version: str = "4.4.29", wire: int | None = None) -> None:
        self.version = version
        self.release = parse_version(version)
        if wire is None:
            wire = WIRE_VERSIONS.get(self.release[:2])
            if wire is None:
                raise ValueError(f"no known wire version for MongoDB {version}: pass wire=")
        self.wire = wire
        self._ids = itertools.count(0x6A7E0000)  # the requestIDs of the replies it makes up

    def __repr__(self) -> str:
        return f"Gate({self.version!r}, wire={self.wire})"

    # -- the server's replies --------------------------------------------------------------

    def rewrite_reply(self, command: str, msg: memoryview) -> bytes | None:
        """The handshake or buildInfo reply `msg` as the gate's version sends it, or None
        (forward `msg` unchanged)."""
        if command in HANDSHAKE:
            change: dict[str, Any] = {"maxWireVersion": self.wire}
        elif command in BUILD_INFO:
            array = [*self.release, 0]
            change = {"version": self.version, "versionArray": array}
        else:
            return None
        length, request_id, response_to, op = _HEADER.unpack_from(msg)
        if op == OP_MSG:
            (flags,) = _UINT32.unpack_from(msg, 16)
            end = length - 4 if flags & CHECKSUM_PRESENT else length
            if msg[20] != 0:
                return None
            (size,) = _INT32.unpack_from(msg, 21)
            if 21 + size != end:  # more than one section: not a reply of these commands
                return None
            doc = bson.decode(bytes(msg[21 : 21 + size]))
            if not _changes(doc, change):
                return None
            body = _UINT32.pack(flags & ~CHECKSUM_PRESENT) + b"\x00" + bson.encode(doc)
        elif op == OP_REPLY:
            (returned,) = _INT32.unpack_from(msg, 32)
            if returned != 1:
                return None
            doc = bson.decode(bytes(msg[36:length]))
            if not _changes(doc, change):
                return None
            body = bytes(msg[16:36]) + bson.encode(doc)
        else:
            return None
        return _HEADER.pack(16 + len(body), request_id, response_to, op) + body

    # -- the client's requests -------------------------------------------------------------

    def refusal(self, command: str, msg: memoryview) -> Refused | None:
        """Why mongod of the gate's version would refuse the OP_MSG request `msg` (whose
        command is named `command`), or None."""
        if command in UNREAD:
            return None
        (flags,) = _UINT32.unpack_from(msg, 16)
        end = len(msg) - 4 if flags & CHECKSUM_PRESENT else len(msg)
        pos = 20
        while pos < end:  # the kind-0 section, after any kind-1 ones
            (size,) = _INT32.unpack_from(msg, pos + 1)
            if msg[pos] == 0:
                body = bson.decode(bytes(msg[pos + 1 : pos + 1 + size]))
                break
            pos += 1 + size
        else:
            return None
        try:
            self.check(body)
        except Refused as refused:
            return refused
        return None

    def error_reply(self, request_id: int, refused: Refused) -> bytes:
        """mongod's OP_MSG error reply to request `request_id`."""
        body = _UINT32.pack(0) + b"\x00" + bson.encode(refused.document())
        reply_id = next(self._ids) & 0x7FFFFFFF
        return _HEADER.pack(16 + len(body), reply_id, request_id, OP_MSG) + body

    def check(self, command: dict[str, Any]) -> None:
        """Raise Refused if mongod of the gate's version would refuse this command document
        for a stage, operator or option it does not know."""
        name = next(iter(command), "")
        if name == "explain" and isinstance(command[name], dict):
            self.check(command[name])  # the explained command, as it would run
        for key, value in command.items():
            if key == name or key.startswith("$"):  # the command's name; $db, $clusterTime...
                continue
            since = OPTIONS.get((name, key))
            if since is not None and since > self.release:
                raise Refused(9, "FailedToParse", f"unrecognized field '{key}'")
            self._option(key, value)

    def _newer(self, table: dict[str, Version], name: str) -> bool:
        since = table.get(name)
        return since is not None and since > self.release

    def _option(self, key: str, value: Any) -> None:
        """A value under `key` in a command document (or in one of its statements)."""
        if key == "pipeline" and isinstance(value, list):
            self._pipeline(value)
        elif key in _QUERIES:
            self._query(value)
        elif key in ("projection", "fields", "let"):
            self._expression(value)
        elif key in ("u", "update"):  # an update pipeline; a modifier document is data
            if isinstance(value, list):
                self._pipeline(value)
        elif key == "documents":
            return
        else:
            self._generic(value)

    def _generic(self, value: Any) -> None:
        """Elsewhere in a command: a $-key is an operator."""
        if isinstance(value, dict):
            for key, item in value.items():
                if key.startswith("$"):
                    self._operator(key)
                    self._expression(item)
                else:
                    self._option(key, item)
        elif isinstance(value, list):
            for item in value:
                self._generic(item)

    def _operator(self, name: str) -> None:
        if self._newer(EXPRESSIONS, name):
            raise Refused(168, "InvalidPipelineOperator", f"Unrecognized expression '{name}'")

    def _expression(self, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key.startswith("$"):
                    if key == "$literal":
                        continue
                    self._operator(key)
                self._expression(item)
        elif isinstance(value, list):
            for item in value:
                self._expression(item)

    def _query(self, value: Any) -> None:
        """A query: its operators are query operators (none came after 4.4) but for those
        of $expr."""
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "$expr":
                    self._expression(item)
                elif isinstance(item, dict | list):
                    self._query(item)
        elif isinstance(value, list):
            for item in value:
                self._query(item)

    def _accumulators(self, fields: Any, skip: str = "") -> None:
        """{field: {$accumulator: expression}, ...} of $group or a $bucket's output."""
        if not isinstance(fields, dict):
            return
        for field, spec in fields.items():
            if field == skip or not isinstance(spec, dict):
                self._expression(spec)
                continue
            for name, argument in spec.items():
                if self._newer(ACCUMULATORS, name):
                    raise Refused(15952, "Location15952", f"unknown group operator '{name}'")
                self._expression(argument)

    def _windows(self, fields: Any) -> None:
        """{field: {$function: ..., window: {...}}, ...} of $setWindowFields."""
        if not isinstance(fields, dict):
            return
        for spec in fields.values():
            if not isinstance(spec, dict):
                continue
            for name, argument in spec.items():
                if self._newer(WINDOW_FUNCTIONS, name):
                    raise Refused(9, "FailedToParse", f"Unrecognized window function, {name}")
                if name != "window":
                    self._expression(argument)

    def _pipeline(self, stages: list[Any]) -> None:
        for stage in stages:
            if not isinstance(stage, dict) or not stage:
                continue
            name = next(iter(stage))
            spec = stage[name]
            if self._newer(STAGES, name):
                raise Refused(40324, "Location40324", f"Unrecognized pipeline stage name: '{name}'")
            if name in ("$match",):
                self._query(spec)
            elif name == "$group":
                self._accumulators(spec, skip="_id")
            elif name in ("$bucket", "$bucketAuto") and isinstance(spec, dict):
                self._expression(spec.get("groupBy"))
                self._accumulators(spec.get("output"))
            elif name == "$setWindowFields" and isinstance(spec, dict):
                self._expression(spec.get("partitionBy"))
                self._windows(spec.get("output"))
            elif name == "$facet" and isinstance(spec, dict):
                for branch in spec.values():
                    if isinstance(branch, list):
                        self._pipeline(branch)
            elif name in ("$lookup", "$unionWith", "$graphLookup", "$merge", "$geoNear"):
                if isinstance(spec, dict):
                    self._stage_options(spec)
            elif name in ("$sort", "$count", "$limit", "$skip", "$out", "$sample"):
                continue
            else:  # $project, $addFields, $replaceRoot, $redact, $unwind, ...: expressions
                self._expression(spec)

    def _stage_options(self, spec: dict[str, Any]) -> None:
        """$lookup, $unionWith, $graphLookup, $merge, $geoNear: sub-pipelines, `let`
        variables, queries."""
        for key, value in spec.items():
            if key in ("pipeline", "whenMatched") and isinstance(value, list):
                self._pipeline(value)
            elif key in ("let", "startWith"):
                self._expression(value)
            elif key in ("query", "restrictSearchWithMatch"):
                self._query(value)


def _changes(doc: dict[str, Any], change: dict[str, Any]) -> bool:
    """Apply `change` to the fields doc has (a successful reply); True if any changed."""
    if doc.get("ok") != 1:
        return False
    changed = False
    for key, value in change.items():
        if key in doc and doc[key] != value:
            doc[key] = value
            changed = True
    return changed
