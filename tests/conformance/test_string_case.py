"""`$toLower`/`$toUpper`: how the rule normalizes ids (`tenant_expr` compares a value with its
lower and upper case; `user_expr` and `agent_expr` lower-case), on the server.

The manual defines them for ASCII only ("$toLower only has a well-defined behavior for
strings of ASCII characters"): ids are hex, so the rule needs only the ASCII part, which
these cases assert. What mongod does with other letters is pinned by its own test
(`upperlower.js`: "ó" and "Ó" come back unchanged, "Not handled."), while Python's
`str.lower` lowers them: that is why the per-document reading (usage_lib/core/rule.py
`lower`/`upper`) translates ASCII letters only, and why that case is here.
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

MANUAL = "https://www.mongodb.com/docs/manual/reference/operator/aggregation"
TO_LOWER = f"{MANUAL}/toLower/"
TO_UPPER = f"{MANUAL}/toUpper/"
UPPERLOWER_JS = "jstests/aggregation/bugs/upperlower.js"

ASCII = [
    pytest.param("65F0A1B2C3D4E5F6A7B8C9D0", "65f0a1b2c3d4e5f6a7b8c9d0", id="hex-upper"),
    pytest.param("65f0a1b2c3d4e5f6a7b8c9d0", "65f0a1b2c3d4e5f6a7b8c9d0", id="hex-lower"),
    pytest.param("Bot_65F0a1", "bot_65f0a1", id="mixed"),
    pytest.param("1^a-A_$%.", "1^a-a_$%.", id="punctuation"),
    pytest.param("", "", id="empty"),
]


@pytest.mark.parametrize(("stored", "lower"), ASCII)
def test_ascii_letters_change_case(server: Any, stored: str, lower: str) -> None:
    got = server.values({"l": {"$toLower": "$f"}, "u": {"$toUpper": "$f"}}, {"f": stored})
    assert got == {"l": lower, "u": lower.upper()}, f"see {TO_LOWER}, {TO_UPPER}, {UPPERLOWER_JS}"


def test_null_becomes_the_empty_string(server: Any) -> None:
    """TO_LOWER: "If the argument resolves to null, $toLower returns an empty string"."""
    got = server.values({"l": {"$toLower": "$f"}, "u": {"$toUpper": "$f"}}, {"f": None})
    assert got == {"l": "", "u": ""}, f"see {TO_LOWER}, {TO_UPPER}"


def test_non_ascii_letters_are_left_as_they_are(server: Any) -> None:
    """Outside ASCII the manual promises nothing; mongod's own test pins "Not handled": the
    letters come back unchanged, where Python would change them."""
    stored = "ÉLAN-ó-Ó"
    got = server.values({"l": {"$toLower": "$f"}, "u": {"$toUpper": "$f"}}, {"f": stored})
    assert got == {"l": "Élan-ó-Ó", "u": "ÉLAN-ó-Ó"}, f"see {UPPERLOWER_JS}"
    assert stored.lower() == "élan-ó-ó" != got["l"], "Python lowers É and Ó; the server does not"


# `tenant_expr` and `user_expr` turn an ObjectId into its hex with `$toString`. Source:
# TO_STRING ("ObjectId: Returns the ObjectId value as a hexadecimal string";
# `{$toString: ObjectId("5ab9c3da31c2ab715d421285")}` is "5ab9c3da31c2ab715d421285"; "If the
# value is null or missing, $toString returns null"). Which other types it converts changed
# (objects and arrays from 8.3): the rule converts only ObjectIds, so only they are asserted.
TO_STRING = f"{MANUAL}/toString/"


def test_to_string_of_an_object_id_is_its_lower_case_hex(server: Any) -> None:
    oid = ObjectId("5ab9c3da31c2ab715d421285")
    got = server.values({"s": {"$toString": "$f"}, "n": {"$toString": "$missing"}}, {"f": oid})
    assert got == {"s": "5ab9c3da31c2ab715d421285", "n": None}, f"see {TO_STRING}"
