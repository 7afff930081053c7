"""The billing rule's one owner: what each stored form means per document, and the `$match`
the pass sends (the same meanings on the server are checked against the oracle over every
form in test_stored_shapes.py)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from bson import Decimal128, ObjectId

from usage_lib.core import rule
from usage_lib.core.config import BillingRule, Config
from usage_lib.core.periods import DateRange
from usage_lib.core.profiles import PROFILES

HEX = "6a1b2c3d4e5f6a7b8c9d0e1f"
STOCK = PROFILES["tiledesk"]
CUSTOM = PROFILES["custom"]


@pytest.mark.parametrize(
    ("stored", "tenant"),
    [
        (ObjectId(HEX), HEX),
        (HEX, HEX),
        (HEX.upper(), HEX),  # either case of the hex is one tenant
        ("6A1b2C3d4E5f6A7b8C9d0E1f", "6A1b2C3d4E5f6A7b8C9d0E1f"),  # mixed: as written
        (None, ""),
        ("", ""),
        (7, ""),
        ({"id": HEX}, ""),
        ([HEX], ""),
    ],
)
def test_a_tenant_in_every_form(stored: Any, tenant: str) -> None:
    assert rule.tenant_of(stored) == tenant


@pytest.mark.parametrize(
    ("doc", "agent"),
    [
        ({"attributes": {"bot_id": HEX.upper()}, "participantsBots": ["x"]}, HEX),
        ({"attributes": {"bot_id": ""}, "participantsBots": [HEX]}, HEX),
        ({"attributes": {"bot_id": {"id": 1}}, "participantsBots": [HEX]}, HEX),  # not text
        ({"attributes": {"bot_id": ObjectId(HEX)}, "participantsBots": []}, ""),
        ({"attributes": [{"bot_id": HEX}]}, ""),  # attributes not an object: no bot_id
        ({"participantsBots": HEX}, ""),  # a string, not an array
        ({"participantsBots": [None, HEX]}, ""),  # the first entry decides
        ({"participantsBots": [""]}, ""),
        ({}, ""),
    ],
)
def test_the_agent_under_the_custom_profile(doc: dict[str, Any], agent: str) -> None:
    assert rule.agent_of(doc, CUSTOM, {}) == agent


def test_under_stock_tiledesk_a_bot_participant_and_a_fork_count() -> None:
    fork = "7e1b2c3d4e5f6a7b8c9d0e1f"
    doc = {"participantsBots": [], "participants": ["human", "bot_", f"bot_{fork.upper()}"]}
    assert rule.agent_of(doc, STOCK, {}) == fork  # the first bot_ longer than the prefix
    assert rule.agent_of(doc, STOCK, {fork: HEX}) == HEX  # published: reported as its root
    assert rule.agent_of({"participants": "bot_x"}, STOCK, {}) == ""


@pytest.mark.parametrize(
    ("value", "depth"),
    [(4, 4.0), (4.25, 4.25), (Decimal128("4.5"), 4.5), ("4", None), (True, None), (None, None)],
)
def test_a_depth_is_a_number_not_a_bool_or_text(value: Any, depth: float | None) -> None:
    assert rule.numeric(value) == depth


def test_only_true_is_a_test_and_only_a_non_empty_array_a_hand_off() -> None:
    assert rule.is_test({"isTestMode": True}, CUSTOM)
    assert not any(rule.is_test({"isTestMode": v}, CUSTOM) for v in ("true", 1, False, None))
    assert rule.handed_off({"participantsAgents": [None]})
    assert not any(rule.handed_off({"participantsAgents": v}) for v in ([], True, "a", None))
    assert rule.user_of(ObjectId(HEX)) == rule.user_of(HEX.upper()) == HEX
    assert rule.user_of(7) == rule.user_of({"id": 1}) == ""


def test_the_match_reads_the_rule_and_a_tenant_as_three_points() -> None:
    rng = DateRange(date(2026, 3, 1), date(2026, 3, 31), "Europe/Rome")
    found = rule.match(rng, Config(), tenant=HEX)
    start, end = rng.utc_bounds()
    assert found["createdAt"] == {"$gte": start, "$lt": end, "$not": {"$type": "array"}}
    assert found["status"] == {"$in": [1000], "$not": {"$type": "array"}}
    assert found["depth"] == {"$gte": 3, "$not": {"$type": "array"}}
    assert found["id_organization"] == {"$in": [ObjectId(HEX), HEX, HEX.upper()]}
    unassigned = rule.match(rng, Config(), tenant=rule.NONE)
    assert {"id_organization": {"$type": "array"}} in unassigned["$or"]
    every = Config(rule=BillingRule(statuses=None, min_depth=0))
    assert set(rule.match(rng, every)) == {"createdAt"}  # "all" statuses, no depth condition


def test_an_agent_anywhere_is_matched_in_every_place_it_may_be() -> None:
    rng = DateRange(date(2026, 3, 1), date(2026, 3, 31))
    found = rule.match(rng, Config(profile=STOCK), agent=rule.Agent(HEX, {"f" * 24: HEX}))
    places = {next(iter(p)) for p in found["$or"]}
    assert places == {"attributes.bot_id", "participantsBots", "participants"}
    forms = found["$or"][0]["attributes.bot_id"]["$in"]
    assert all(isinstance(f, re.Pattern) and f.flags & re.IGNORECASE for f in forms)
    assert len(forms) == 2  # the bot and its published fork


def test_the_match_comes_as_the_stages_an_index_bounds_then_the_rest() -> None:
    """What an index bounds (the range, the tenant's points) is a stage of its own, the rest
    follows: the same conditions, each in one of the two."""
    rng = DateRange(date(2026, 1, 1), date(2026, 1, 31))
    found = rule.match(rng, Config(), tenant=HEX)
    tenant = Config().profile.tenant_field
    first, rest = (stage["$match"] for stage in rule.match_stages(found))
    assert set(first["createdAt"]) == {"$gte", "$lt"} and first[tenant] == found[tenant]
    assert rest["createdAt"] == {"$not": {"$type": "array"}} and tenant not in rest
    assert {**first, **rest}.keys() == found.keys()
    for key in found:
        parts = [part[key] for part in (first, rest) if key in part]
        assert {op: v for part in parts for op, v in part.items()} == found[key]
