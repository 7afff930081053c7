"""The MongoDB client: errors in one line that name no secret, within the promised time."""

import socket
import subprocess
import time
from pathlib import Path

import pytest
from pymongo.errors import OperationFailure
from support import BIN

from usage_lib.core.config import Config, load_config
from usage_lib.core.db import client_for, database, hosts_of, translate_errors
from usage_lib.errors import ConfigError, DatabaseError, TooBig
from usage_lib.paths import EXAMPLE_CONFIG

SECRET = "pw-Zq81"


def test_hosts_of_names_hosts_only() -> None:
    uri = f"mongodb://reader:{SECRET}@db1.example.com:27017,db2.example.com/tiledesk"
    assert hosts_of(uri) == "db1.example.com:27017,db2.example.com:27017"
    assert hosts_of("not a uri") == "the configured server"


def test_a_malformed_uri_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as error:
        client_for(f"mongodb://reader:{SECRET}@")
    assert error.value.key == "USAGE_MONGODB_URI" and SECRET not in str(error.value)


def test_no_uri_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="USAGE_MONGODB_URI"):
        database(Config())


def test_a_refused_connection_is_a_database_error_at_once() -> None:
    uri = f"mongodb://reader:{SECRET}@127.0.0.1:9/?directConnection=true"
    started = time.monotonic()
    with pytest.raises(DatabaseError) as error:
        database(Config(mongodb_uri=uri))
    assert time.monotonic() - started < 2
    assert "refused the connection at 127.0.0.1:9" in str(error.value)
    assert SECRET not in str(error.value)


def test_a_server_that_does_not_answer_is_unreachable_within_ten_seconds() -> None:
    """A port that takes connections and never answers (silence, not a refusal)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts; nobody ever reads or writes
        port = silent.getsockname()[1]
        uri = f"mongodb://reader:{SECRET}@127.0.0.1:{port}/?directConnection=true"
        db = database(Config(mongodb_uri=uri))
        started = time.monotonic()
        with pytest.raises(DatabaseError) as error, translate_errors(db):
            db.command("ping")
        assert time.monotonic() - started < 10
    assert "no answer from" in str(error.value) and f"127.0.0.1:{port}" in str(error.value)
    assert SECRET not in str(error.value)


def test_a_refusal_says_what_to_do(mongo: object) -> None:
    uri = getattr(mongo, "uri")  # noqa: B009
    db = database(Config(mongodb_uri=uri))
    with (
        pytest.raises(DatabaseError, match="needs a dbAdmin"),
        translate_errors(db, "needs a dbAdmin"),
    ):
        raise OperationFailure("not authorized on tiledesk", code=13)


@pytest.mark.parametrize(
    ("code", "says"),
    [(10334, "16 MiB"), (146, "memory"), (292, "without disk"), (16819, "$sort"), (50, "time")],
)
def test_a_limit_of_the_server_says_so_and_what_to_do(mongo: object, code: int, says: str) -> None:
    db = database(Config(mongodb_uri=getattr(mongo, "uri")))  # noqa: B009
    with pytest.raises(TooBig) as error, translate_errors(db, what="the pass over May 2026"):
        raise OperationFailure("too much", code=code)
    text = str(error.value)
    assert says in text and "the pass over May 2026" in text and "shorter range" in text
    assert "\n" not in text


def test_the_query_timeout_is_a_setting_and_its_error_exits_1(tmp_path: Path) -> None:
    """[source] query_timeout_s = 1 on the demo database's 13 months: the server stops the
    pass (SecantusDB enforces maxTimeMS), one line naming the range, exit 1, not 3."""
    config = tmp_path / "usage.toml"
    config.write_text(EXAMPLE_CONFIG.read_text() + "\n[source]\nquery_timeout_s = 1\n")
    done = subprocess.run(
        [str(BIN), "table", "--config", str(config), "--start", "2025-10-01", "--end",
         "2026-10-31", "--granularity", "day", "--metrics", "all", "--format", "json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "ran past its time limit" in done.stderr
    assert "1 Oct 2025 – 31 Oct 2026" in done.stderr and "query_timeout_s" in done.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[source]\nquery_timeout_s = 0\n")
    with pytest.raises(ConfigError, match="source.query_timeout_s"):
        load_config(bad, env={})
