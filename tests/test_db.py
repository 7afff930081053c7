"""The MongoDB client: errors in one line that name no secret, within the promised time."""

import time

import pytest
from pymongo.errors import OperationFailure

from usage_lib.config import Config, ConfigError
from usage_lib.db import DatabaseError, client_for, database, hosts_of, translate_errors

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


def test_unreachable_is_a_database_error_within_ten_seconds() -> None:
    uri = f"mongodb://reader:{SECRET}@127.0.0.1:9/?directConnection=true"
    db = database(Config(mongodb_uri=uri))
    started = time.monotonic()
    with pytest.raises(DatabaseError) as error, translate_errors(db):
        db.command("ping")
    assert time.monotonic() - started < 10
    assert "unreachable" in str(error.value) and "127.0.0.1:9" in str(error.value)
    assert SECRET not in str(error.value)


def test_a_refusal_says_what_to_do(mongo: object) -> None:
    uri = getattr(mongo, "uri")  # noqa: B009
    db = database(Config(mongodb_uri=uri))
    with (
        pytest.raises(DatabaseError, match="needs a dbAdmin"),
        translate_errors(db, "needs a dbAdmin"),
    ):
        raise OperationFailure("not authorized on tiledesk", code=13)
