from pathlib import Path

import pytest

from usage_lib.core.config import BillingRule, check_object_id, load_config, parse_config, parse_id
from usage_lib.errors import ConfigError
from usage_lib.paths import EXAMPLE_CONFIG


def test_defaults_follow_the_billing_rule() -> None:
    config = parse_config({})
    assert config.rule == BillingRule(statuses=(1000,), exclude_test_mode=True, min_depth=3)
    assert (config.timezone, config.months, config.exclusions) == ("UTC", 6, ())


def test_example_config_is_valid_and_lists_the_demo_exclusions() -> None:
    config = load_config(EXAMPLE_CONFIG, env={})
    assert [e.name for e in config.exclusions] == [
        "Acme AI (internal)",
        "Demo Sandbox",
        "Partner Test Org",
    ]
    assert config.email_to == ("leadership@example.com",)


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"billing": {"statuse": [1000]}}, "billing.statuse"),
        ({"reports": {}}, "reports"),
        ({"billing": {"statuses": []}}, "billing.statuses"),
        ({"billing": {"statuses": ["1000"]}}, "billing.statuses"),
        ({"billing": {"min_depth": -1}}, "billing.min_depth"),
        ({"billing": {"min_depth": True}}, "billing.min_depth"),
        ({"billing": {"exclude_test_mode": "yes"}}, "billing.exclude_test_mode"),
        ({"report": {"timezone": "Mars/Olympus"}}, "report.timezone"),
        ({"report": {"months": 0}}, "report.months"),
        ({"exclude": [{"id": "xyz", "name": "a", "reason": "b"}]}, "exclude[0].id"),
        ({"exclude": [{"id": "a" * 24, "name": "a"}]}, "exclude[0].reason"),
        ({"exclude": [{"id": "a" * 24, "name": "a", "reason": "b", "note": "c"}]}, "exclude.note"),
        ({"email": {"to": ["not-an-address"]}}, "email.to"),
        ({"report": {"uri": "mongodb://x"}}, "report.uri"),
    ],
)
def test_bad_values_name_the_key(data: dict, names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace("[", r"\[").replace("]", r"\]")):
        parse_config(data)


def test_duplicate_exclusions_are_refused() -> None:
    item = {"id": "a" * 24, "name": "a", "reason": "b"}
    with pytest.raises(ConfigError, match="twice"):
        parse_config({"exclude": [item, {**item, "id": "A" * 24}]})


HEX = "65920080f54ee781cc75f636"


@pytest.mark.parametrize(
    ("typed", "special", "normalized"),
    [
        (HEX, None, HEX),
        (HEX.upper(), None, HEX),  # either case of the hex is one tenant
        ("65920080F54ee781CC75f636", "unassigned", HEX),
        ("unassigned", "unassigned", "unassigned"),
        ("UnAssigned", "unassigned", "unassigned"),
        ("UNATTRIBUTED", "unattributed", "unattributed"),
        (None, "unassigned", None),  # not given
        ("", None, None),
    ],
)
def test_parse_id_normalizes_what_a_user_typed(
    typed: str | None, special: str | None, normalized: str | None
) -> None:
    assert parse_id(typed, "org", special) == normalized


@pytest.mark.parametrize(
    ("typed", "special", "key", "problem"),
    [
        ("123", None, "org", "'123' is not an organization or agent id (24 hex digits)"),
        ("unassigned", None, "org", "'unassigned' is not an organization or agent id (24 hex digits)"),
        ("unattributed", "unassigned", "org",
         "'unattributed' is not an organization or agent id (24 hex digits) or 'unassigned'"),
        ("zz", "unattributed", "agent",
         "'zz' is not an organization or agent id (24 hex digits) or 'unattributed'"),
        (HEX + "\n", None, "org", f"{HEX + chr(10)!r} is not an organization or agent id (24 hex digits)"),
        (HEX + "0", None, "org", f"'{HEX}0' is not an organization or agent id (24 hex digits)"),
        (" " + HEX, None, "org", f"' {HEX}' is not an organization or agent id (24 hex digits)"),
        # only ASCII letters are lower-cased, as $toLower does: no Unicode look-alike passes
        ("UNASSİGNED", "unassigned", "org",
         "'UNASSİGNED' is not an organization or agent id (24 hex digits) or 'unassigned'"),
        (12, None, "agent", "12 is not an organization or agent id (24 hex digits)"),
    ],
)  # fmt: skip
def test_parse_id_names_the_setting(
    typed: object, special: str | None, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as error:
        parse_id(typed, key, special)
    assert (error.value.key, error.value.problem) == (key, problem)


def test_check_object_id_takes_hex_only_and_lower_cases_it() -> None:
    assert check_object_id(HEX.upper(), "exclude[0].id") == HEX
    with pytest.raises(ConfigError, match="exclude.0..id"):
        check_object_id(HEX + "\n", "exclude[0].id")


def test_secrets_are_refused_with_a_pointer_to_the_environment() -> None:
    with pytest.raises(ConfigError, match="USAGE_MONGODB_URI"):
        parse_config({"report": {"password": "x"}})


def test_environment_supplies_connection_and_database(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[report]\ntimezone = "Europe/Rome"\n')
    env = {"USAGE_MONGODB_URI": "mongodb://u:p@h:1/", "USAGE_MONGODB_DB": "other"}
    config = load_config(path, env=env)
    assert (config.timezone, config.mongodb_db, config.mongodb_uri) == (
        "Europe/Rome",
        "other",
        env["USAGE_MONGODB_URI"],
    )
    assert "u:p" not in repr(config)
    assert load_config(None, env={"USAGE_CONFIG": str(path)}).timezone == "Europe/Rome"


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"USAGE_MONGODB_URI": "http://x"}, "USAGE_MONGODB_URI"),
        ({"USAGE_MONGODB_DB": "bad name!"}, "USAGE_MONGODB_DB"),
        ({"USAGE_CONFIG": "/nonexistent.toml"}, "not found"),
    ],
)
def test_bad_environment(env: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(None, env=env)


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[report\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, env={})


def test_paper_and_attachments() -> None:
    from usage_lib.core.config import Config, parse_config

    assert (Config().paper, Config().attach) == ("A4", ("pdf", "zip"))
    made = parse_config({"report": {"paper": "Letter"}, "email": {"attach": ["pdf"]}})
    assert (made.paper, made.attach) == ("Letter", ("pdf",))
    assert parse_config({"email": {"attach": []}}).attach == ()
    with pytest.raises(ConfigError, match="report.paper"):
        parse_config({"report": {"paper": "A3"}})
    with pytest.raises(ConfigError, match="email.attach"):
        parse_config({"email": {"attach": ["pdf", "html"]}})
