"""The MongoDB connection: one cached client, reporting-friendly options, clear errors.

The connection string is a secret: it is read from the environment by `config`
and never appears in a message, log line or report.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import MongoClient
from pymongo.cursor import Cursor
from pymongo.database import Database
from pymongo.errors import (
    ConfigurationError,
    ExecutionTimeout,
    InvalidURI,
    OperationFailure,
    PyMongoError,
)
from pymongo.uri_parser import parse_uri

from usage_lib.core.config import Config
from usage_lib.core.versions import too_old
from usage_lib.errors import ConfigError, DatabaseError, TooBig
from usage_lib.progress import stage

SERVER_TIMEOUT_MS = 6_000  # unreachable servers fail well inside the 10 s promise
LOOKUP_TIMEOUT_MS = 30_000  # maxTimeMS of the name look-ups
# MongoDB's answers when a pass is too big for its limits (docs/mongodb-limits.md)
TOO_LARGE = {10334: "a result document over 16 MiB"}
OUT_OF_MEMORY = {
    146: "more memory than a stage may use",
    292: "more memory than a stage may use without disk",
    4031700: "more memory than $facet may use",
    16945: "more memory than $group may use without disk",
    16819: "more memory than $sort may use without disk",
}
MAX_TIME = 50

_clients: dict[tuple[str, int], MongoClient] = {}


def hosts_of(uri: str) -> str:
    """The host list of a connection string, safe to print (no user, no password)."""
    try:
        nodes = parse_uri(uri, validate=False, warn=True, connect_timeout=1)["nodelist"]
    except Exception:
        return "the configured server"
    return ",".join(f"{host}:{port}" for host, port in nodes) or "the configured server"


def client_for(uri: str, query_timeout_ms: int = 300_000) -> MongoClient:
    if (uri, query_timeout_ms) not in _clients:
        try:
            _clients[uri, query_timeout_ms] = MongoClient(
                uri,
                appname="usage-report",
                readPreference="secondaryPreferred",
                serverSelectionTimeoutMS=SERVER_TIMEOUT_MS,
                # The monitor's heartbeats use this as their socket timeout: a server
                # busy with the pass (SecantusDB, a large window) may answer late, and a
                # failed heartbeat would cancel the pass. Unreachable still fails within
                # serverSelectionTimeoutMS.
                connectTimeoutMS=30_000,
                socketTimeoutMS=query_timeout_ms + 30_000,
                tz_aware=False,
            )
        except (InvalidURI, ConfigurationError, ValueError) as exc:
            raise ConfigError(
                "USAGE_MONGODB_URI", f"not a valid connection string ({_clean(exc, uri)})"
            ) from None
    return _clients[uri, query_timeout_ms]


def database(config: Config) -> Database:
    if not config.mongodb_uri:
        raise ConfigError("USAGE_MONGODB_URI", "not set (or use the embedded demo database)")
    client = client_for(config.mongodb_uri, config.query_timeout_ms)
    _check_not_refused(config.mongodb_uri)
    return client[config.mongodb_db]


def _check_not_refused(uri: str) -> None:
    """A server that refuses the connection (nothing listens at that port) is said at once:
    the driver would keep trying for SERVER_TIMEOUT_MS, as for a server that does not answer.
    Only when every host of the URI refuses; a mongodb+srv:// URI names no port to try."""
    if not uri.startswith("mongodb://"):
        return
    try:
        nodes = parse_uri(uri, validate=False)["nodelist"]
    except Exception:
        return  # client_for said what is wrong with it
    for host, port in nodes:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except ConnectionRefusedError:
            continue
        except OSError:
            return  # silence, or a name that does not resolve: the driver's answer stands
    where = ",".join(f"{host}:{port}" for host, port in nodes)
    raise DatabaseError(
        f"database refused the connection at {where}: nothing listens there; check the host "
        "and port in USAGE_MONGODB_URI, and that the server is running"
    )


def _clean(exc: BaseException, uri: str | None) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if uri:
        text = text.replace(uri, "<USAGE_MONGODB_URI>")
    return text[:300]


@contextmanager
def translate_errors(
    db: Database,
    refused: str = "check the user and its read role in USAGE_MONGODB_URI",
    what: str = "the query",
) -> Iterator[None]:
    """Turn driver exceptions into one-line DatabaseErrors that name no secret; `refused` is
    what to do when the server refuses the user, `what` names the request (with its range)
    when a limit of the server stops it (TooBig)."""
    uri = next((u for (u, _), c in _clients.items() if c is db.client), None)
    where = hosts_of(uri) if uri else "the database"
    shorter = "try a shorter range (--start/--end, or fewer [report] months)"
    try:
        yield
    except OperationFailure as exc:
        if isinstance(exc, ExecutionTimeout) or exc.code == MAX_TIME:
            raise TooBig(
                f"database: {what} ran past its time limit on {where}; {shorter}, build the "
                "index (usage-report indexes), or raise [source] query_timeout_s"
            ) from None
        if exc.code in TOO_LARGE or exc.code in OUT_OF_MEMORY:
            limit = {**TOO_LARGE, **OUT_OF_MEMORY}[exc.code]
            raise TooBig(
                f"database: {what} needed {limit} on {where} (code {exc.code}); {shorter}; "
                "Atlas shared tiers (M0, Flex) refuse allowDiskUse, so a range this large "
                "needs a dedicated tier"
            ) from None
        if exc.code in (13, 18) or "auth" in str(exc).lower():
            raise DatabaseError(
                f"database refused the request on {where}: {_clean(exc, uri)} ({refused})"
            ) from None
        raise DatabaseError(f"database error on {where}: {_clean(exc, uri)}") from None
    except PyMongoError as exc:
        old = too_old(exc, uri)  # a server older than 4.4, named
        if old is not None:
            raise DatabaseError(old) from None
        raise DatabaseError(
            f"database unreachable: no answer from {where} within {SERVER_TIMEOUT_MS // 1000} s "
            f"({type(exc).__name__})"
        ) from None


# Every read of the database, by name. The stored-forms suite (tests/core/test_stored_shapes.py)
# drives each one over data in every stored form and fails when one here is not in it.
PASSES = {
    "cube": "the report's pass: billable conversations per tenant, agent and day (query.py)",
    "watch": "the daily watch's pass: what started, per tenant, agent and day (watch.py)",
    "steps": "explain's pass: each step of the rule, per tenant (explain.py)",
    "conversations": "the statements' stream: each conversation of a month (conversations.py)",
    "store": "the local store's pass: each day's cube rows and distinct users (warm.py)",
    "counts": "documents started per local day, to check the stored days (changes.py)",
    "edited": "the days of documents updated since a time (changes.py)",
    "watched": "the local store's pass for the daily watch: what started, per day (warm.py)",
}
LOOKUPS = {
    "forks": "published bots and their roots, in faq_kbs (query.py)",
    "names": "the names of tenants and agents (query.py)",
    "billed": "the billed quantities of a collection, for reconciliation (report/reconcile.py)",
}


def aggregate(
    db: Database,
    name: str,
    pipeline: list[Any],
    config: Config,
    batch: int = 10_000,
    label: str = "",
) -> Iterator[Any]:
    """The pass `name` (one of PASSES) over `requests`, as every pass runs: the configured time
    limit, spilling to disk allowed (`$group` and `$sort` past 100 MB), rows streamed `batch`
    at a time; shown as a stage of long work (`progress`) named `label`."""
    if name not in PASSES:
        raise ValueError(f"{name!r} is no pass of db.PASSES: enter it there and in its tests")
    with stage(label or f"Reading {PASSES[name].split(':')[0]}") as advance:
        cursor = db.requests.aggregate(
            pipeline, maxTimeMS=config.query_timeout_ms, allowDiskUse=True, batchSize=batch
        )
        for row in cursor:
            advance(1)
            yield row


def lookup(
    db: Database,
    name: str,
    collection: str,
    query: dict[str, Any],
    fields: dict[str, int],
    batch: int = 5_000,
) -> Cursor[Any]:
    """The look-up `name` (one of LOOKUPS): a find on a small collection, streamed, with the
    look-ups' time limit."""
    if name not in LOOKUPS:
        raise ValueError(f"{name!r} is no look-up of db.LOOKUPS: enter it there and in its tests")
    return db[collection].find(query, fields).max_time_ms(LOOKUP_TIMEOUT_MS).batch_size(batch)
