"""The MongoDB connection: one cached client, reporting-friendly options, clear errors.

The connection string is a secret: it is read from the environment by `config`
and never appears in a message, log line or report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import (
    ConfigurationError,
    ExecutionTimeout,
    InvalidURI,
    OperationFailure,
    PyMongoError,
)
from pymongo.uri_parser import parse_uri

from .config import Config, ConfigError

SERVER_TIMEOUT_MS = 6_000  # unreachable servers fail well inside the 10 s promise
QUERY_TIMEOUT_MS = 300_000  # maxTimeMS of the aggregation over `requests`
LOOKUP_TIMEOUT_MS = 30_000  # maxTimeMS of the name look-ups

_clients: dict[str, MongoClient] = {}


class DatabaseError(RuntimeError):
    """The database is unreachable or refused the request (exit code 3)."""


def hosts_of(uri: str) -> str:
    """The host list of a connection string, safe to print (no user, no password)."""
    try:
        nodes = parse_uri(uri, validate=False, warn=True, connect_timeout=1)["nodelist"]
    except Exception:
        return "the configured server"
    return ",".join(f"{host}:{port}" for host, port in nodes) or "the configured server"


def client_for(uri: str) -> MongoClient:
    if uri not in _clients:
        try:
            _clients[uri] = MongoClient(
                uri,
                appname="usage-report",
                readPreference="secondaryPreferred",
                serverSelectionTimeoutMS=SERVER_TIMEOUT_MS,
                # The monitor's heartbeats use this as their socket timeout: a server
                # busy with the pass (SecantusDB, a large window) may answer late, and a
                # failed heartbeat would cancel the pass. Unreachable still fails within
                # serverSelectionTimeoutMS.
                connectTimeoutMS=30_000,
                socketTimeoutMS=QUERY_TIMEOUT_MS + 30_000,
                tz_aware=False,
            )
        except (InvalidURI, ConfigurationError, ValueError) as exc:
            raise ConfigError(
                "USAGE_MONGODB_URI", f"not a valid connection string ({_clean(exc, uri)})"
            ) from None
    return _clients[uri]


def database(config: Config) -> Database:
    if not config.mongodb_uri:
        raise ConfigError("USAGE_MONGODB_URI", "not set (or use the embedded demo database)")
    return client_for(config.mongodb_uri)[config.mongodb_db]


def _clean(exc: BaseException, uri: str | None) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if uri:
        text = text.replace(uri, "<USAGE_MONGODB_URI>")
    return text[:300]


@contextmanager
def translate_errors(
    db: Database, refused: str = "check the user and its read role in USAGE_MONGODB_URI"
) -> Iterator[None]:
    """Turn driver exceptions into one-line DatabaseErrors that name no secret; `refused` is
    what to do when the server refuses the user."""
    uri = next((u for u, c in _clients.items() if c is db.client), None)
    where = hosts_of(uri) if uri else "the database"
    try:
        yield
    except ExecutionTimeout:
        raise DatabaseError(f"database: the query on {where} ran past its time limit") from None
    except OperationFailure as exc:
        if exc.code in (13, 18) or "auth" in str(exc).lower():
            raise DatabaseError(
                f"database refused the request on {where}: {_clean(exc, uri)} ({refused})"
            ) from None
        raise DatabaseError(f"database error on {where}: {_clean(exc, uri)}") from None
    except PyMongoError as exc:
        raise DatabaseError(
            f"database unreachable: no answer from {where} within {SERVER_TIMEOUT_MS // 1000} s "
            f"({type(exc).__name__})"
        ) from None
