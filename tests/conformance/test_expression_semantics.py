"""Aggregation expressions on stored forms: how the rule's expressions (usage_lib/core/rule.py:
`tenant_expr`, `user_expr`, `agent_evidence`, `_is_text`, `_depth_counted`, `_status_counted`)
read a value of any type.

- `$type` names the type of a value, "missing" for a missing field;
- `$isNumber` is true for the four numeric types only (a depth is a number, not a bool);
- `$in` (expression) compares numbers across types, never a string, never inside an array;
- `$gt`/`$lt`/`$cmp` compare across types in BSON order, so `"" < x < {}` is exactly "x is a
  non-empty string", and a missing field sorts below null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from bson import Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

MANUAL = "https://www.mongodb.com/docs/manual/reference"
TYPE = f"{MANUAL}/operator/aggregation/type/"
IS_NUMBER = f"{MANUAL}/operator/aggregation/isNumber/"
IS_NUMBER_JS = "jstests/aggregation/expressions/is_number.js"
IN = f"{MANUAL}/operator/aggregation/in/"
IN_JS = "jstests/aggregation/expressions/in.js"
ORDER = f"{MANUAL}/bson-type-comparison-order/"
CMP = f"{MANUAL}/operator/aggregation/cmp/"
MISSING_JS = "jstests/aggregation/expressions/comparison_missing_and_key_values.js"
OID = ObjectId("65f0a1b2c3d4e5f6a7b8c9d0")
_NOTHING = object()  # the field is missing


def doc_of(value: Any) -> dict[str, Any]:
    return {} if value is _NOTHING else {"f": value}


# -- $type: the names the rule uses ---------------------------------------------------------------

# Source: TYPE ("Returns a string that specifies the BSON type of the argument"; "when passed
# an array as its argument, the $type aggregation operator returns the type of the argument,
# i.e. "array""; "If the argument is a field that is missing in the input document, $type
# returns the string "missing""; the alias table: "double", "string", "object", "array",
# "objectId", "bool", "date", "null", "int", "long", "decimal").
TYPE_NAMES = [
    pytest.param([1], "array", id="array"),
    pytest.param([], "array", id="empty-array"),
    pytest.param(OID, "objectId", id="objectId"),
    pytest.param("5f", "string", id="string"),
    pytest.param(datetime(2026, 3, 1), "date", id="date"),
    pytest.param(True, "bool", id="bool"),
    pytest.param(Decimal128("3"), "decimal", id="decimal"),
    pytest.param(3.0, "double", id="double"),
    pytest.param(3, "int", id="int"),
    pytest.param(Int64(3), "long", id="long"),
    pytest.param(None, "null", id="null"),
    pytest.param({"a": 1}, "object", id="object"),
    pytest.param(_NOTHING, "missing", id="missing"),
]


@pytest.mark.parametrize(("stored", "name"), TYPE_NAMES)
def test_type_names(server: Any, stored: Any, name: str) -> None:
    assert server.value({"$type": "$f"}, doc_of(stored)) == name, f"see {TYPE}"


# -- $isNumber -----------------------------------------------------------------------------------

# Source: IS_NUMBER ("$isNumber checks if the specified expression resolves to one of the
# following numeric BSON types: Integer, Decimal, Double, Long"; "false if the expression
# resolves to any other BSON type, null, or a missing field"; new in 4.4); IS_NUMBER_JS.
IS_NUMBER_CASES = [
    pytest.param(4, True, id="int"),
    pytest.param(Int64(4), True, id="long"),
    pytest.param(4.5, True, id="double"),
    pytest.param(Decimal128("4"), True, id="decimal"),
    pytest.param(True, False, id="true"),
    pytest.param(False, False, id="false"),
    pytest.param("4", False, id="string"),
    pytest.param(None, False, id="null"),
    pytest.param(_NOTHING, False, id="missing"),
    pytest.param([4], False, id="array"),
    pytest.param(datetime(2026, 3, 1), False, id="date"),
]


@pytest.mark.parametrize(("stored", "number"), IS_NUMBER_CASES)
def test_is_number(server: Any, stored: Any, number: bool) -> None:
    assert server.value({"$isNumber": "$f"}, doc_of(stored)) is number, (
        f"see {IS_NUMBER}, {IS_NUMBER_JS}"
    )


# -- $in (expression) ----------------------------------------------------------------------------

# Sources: ORDER ("all numeric types are considered equivalent in comparisons" / "numeric types
# undergo conversion before comparison"); IN ("Returns a boolean indicating whether a
# specified value is in an array"; `{ $in: [ [ "a" ], [ "a" ] ] }` is false: an array is
# compared whole, not element-wise); IN_JS (`{$in: [[1], [1, 2, 3]]}` is false, unlike the
# query's `$in`).
IN_CASES = [
    pytest.param(1000, True, id="int"),
    pytest.param(Int64(1000), True, id="long"),
    pytest.param(1000.0, True, id="double"),
    pytest.param(Decimal128("1.0E+3"), True, id="decimal"),
    pytest.param("1000", False, id="string"),
    pytest.param(True, False, id="true"),
    pytest.param(None, False, id="null"),
    pytest.param(_NOTHING, False, id="missing"),
    pytest.param([1000], False, id="array-holding-1000"),
]


@pytest.mark.parametrize(("stored", "found"), IN_CASES)
def test_in_expression_compares_numbers_across_types(server: Any, stored: Any, found: bool) -> None:
    """The rule's `_status_counted`: `{$in: ["$status", [1000]]}`."""
    assert server.value({"$in": ["$f", [1000]]}, doc_of(stored)) is found, (
        f"{stored!r}: see {ORDER}, {IN}, {IN_JS}"
    )


def test_in_expression_true_is_only_the_boolean(server: Any) -> None:
    """The rule's `_holds`: `{$in: [value, [true]]}` for a flag."""
    results = [
        server.value({"$in": ["$f", [True]]}, doc_of(v))
        for v in (True, 1, "true", [True], None, _NOTHING)
    ]
    assert results == [True, False, False, False, False, False], f"see {ORDER}, {IN_JS}"


# -- comparison order across types ---------------------------------------------------------------

# Source: ORDER ("When comparing values of different BSON types ... MongoDB uses the following
# comparison order, from lowest to highest: MinKey, Null, Numbers, Symbol/String, Object,
# Array, BinData, ObjectId, Boolean, Date, Timestamp, Regular Expression, MaxKey"; "Aggregation
# expressions make comparisons across types"); CMP ("$cmp compares both value and type, using
# the specified BSON comparison order for values of different types").
ASCENDING = [
    ("minKey", MinKey()),
    ("null", None),
    ("number", 5),
    ("string", "a"),
    ("object", {"a": 1}),
    ("array", [1]),
    ("binData", Binary(b"x")),
    ("objectId", OID),
    ("bool", True),
    ("date", datetime(2026, 3, 1)),
    ("timestamp", Timestamp(1, 1)),
    ("regex", Regex("a")),
    ("maxKey", MaxKey()),
]
PAIRS = [
    pytest.param(low, high, id=f"{a}<{b}")
    for (a, low), (b, high) in zip(ASCENDING, ASCENDING[1:], strict=False)
]


@pytest.mark.parametrize(("low", "high"), PAIRS)
def test_comparison_order_across_types(server: Any, low: Any, high: Any) -> None:
    a, b = {"$literal": low}, {"$literal": high}
    got = server.values(
        {
            "lt": {"$lt": [a, b]},
            "gt": {"$gt": [b, a]},
            "cmp": {"$cmp": [a, b]},
            "back": {"$cmp": [b, a]},
        },
        {},
    )
    assert got == {"lt": True, "gt": True, "cmp": -1, "back": 1}, f"see {ORDER}, {CMP}"


def test_numbers_compare_across_numeric_types(server: Any) -> None:
    got = server.values(
        {
            "eq": {"$eq": [Int64(3), Decimal128("3.0")]},
            "cmp": {"$cmp": [2.5, 3]},
            "gte": {"$gte": [Decimal128("3"), 3]},
        },
        {},
    )
    assert got == {"eq": True, "cmp": -1, "gte": True}, f"see {ORDER}"


# `_is_text`: {$and: [{$gt: [x, ""]}, {$lt: [x, {}]}]}: "" is the least string and {} the least
# object, so between them lie exactly the non-empty strings (source: ORDER).
TEXT = [
    pytest.param("a", True, id="string"),
    pytest.param("65f0a1b2c3d4e5f6a7b8c9d0", True, id="hex-string"),
    pytest.param(" ", True, id="blank-string"),
    pytest.param("", False, id="empty-string"),
    pytest.param({}, False, id="empty-object"),
    pytest.param({"a": "b"}, False, id="object"),
    pytest.param([], False, id="empty-array"),
    pytest.param(["a"], False, id="array-of-string"),
    pytest.param(7, False, id="number"),
    pytest.param(Decimal128("7"), False, id="decimal"),
    pytest.param(None, False, id="null"),
    pytest.param(_NOTHING, False, id="missing"),
    pytest.param(True, False, id="true"),
    pytest.param(OID, False, id="objectId"),
    pytest.param(datetime(2026, 3, 1), False, id="date"),
]


@pytest.mark.parametrize(("stored", "text"), TEXT)
def test_between_empty_string_and_empty_object_is_a_non_empty_string(
    server: Any, stored: Any, text: bool
) -> None:
    is_text = {"$and": [{"$gt": ["$f", ""]}, {"$lt": ["$f", {}]}]}
    assert server.value(is_text, doc_of(stored)) is text, f"{stored!r}: see {ORDER}"


def test_greater_than_empty_string_alone_is_not_text(server: Any) -> None:
    """Why `_is_text` needs its upper bound: objects and arrays sort after strings, so
    `{$gt: [x, ""]}` is true for them too (source: ORDER; docs/domain.md's traps table)."""
    got = [server.value({"$gt": ["$f", ""]}, {"f": v}) for v in ({}, [], {"a": 1}, True)]
    assert got == [True, True, True, True], f"see {ORDER}"


def test_missing_sorts_below_null_in_expressions(server: Any) -> None:
    """Source: MISSING_JS ("A missing field ("Nothing") sorts above MinKey but below every real
    value, including null"; the comparison expressions, unlike sorting, do not substitute null
    for a missing field): missing < null, and missing is not equal to null. (Where missing
    stands against MinKey was a mongod bug until recently, SERVER-131544: not asserted.)"""
    got = server.values(
        {
            "lt": {"$lt": ["$nope", None]},
            "eq": {"$eq": ["$nope", None]},
            "cmp": {"$cmp": ["$nope", None]},
            "null_eq": {"$eq": ["$n", None]},
        },
        {"n": None},
    )
    assert got == {"lt": True, "eq": False, "cmp": -1, "null_eq": True}, f"see {MISSING_JS}"


# `is_test_expr`: `{$eq: ["$isTestMode", true]}`. Source: ORDER (Boolean is a type of its own,
# after the numbers and strings); CMP ("compares both value and type"): only the boolean true.
FLAGS = [
    pytest.param(True, True, id="true"),
    pytest.param(False, False, id="false"),
    pytest.param(1, False, id="int-1"),
    pytest.param(1.0, False, id="double-1"),
    pytest.param("true", False, id="string-true"),
    pytest.param([True], False, id="array-holding-true"),
    pytest.param(None, False, id="null"),
    pytest.param(_NOTHING, False, id="missing"),
]


@pytest.mark.parametrize(("stored", "test"), FLAGS)
def test_only_the_boolean_true_equals_true(server: Any, stored: Any, test: bool) -> None:
    assert server.value({"$eq": ["$f", True]}, doc_of(stored)) is test, f"see {ORDER}, {CMP}"


# A field path through an array of objects: `"$channel.name"` where `channel` is
# `[{name: "voice-vxml"}]`. Source: FIELD_PATHS ("`$instock.warehouse` outputs an array of
# values that are in the nested `warehouse` field for each document": `warehouses: [ "A", "C" ]`;
# "`$inventory.apples` resolves to an array of nested arrays"). The rule reads `channel.name`
# through an explicit `$map` (rule.py `_CHANNEL_NAMES`) because the embedded server does not.
FIELD_PATHS = "https://www.mongodb.com/docs/manual/core/field-paths/"


@pytest.mark.secantus_differs("a field path through an array of objects is missing")
def test_field_path_through_an_array_of_objects_is_an_array(server: Any) -> None:
    got = server.values(
        {
            "warehouses": "$instock.warehouse",
            "apples": "$inventory.apples",
            "type": {"$type": "$instock.warehouse"},
        },
        {
            "instock": [{"warehouse": "A"}, {"warehouse": "C"}],
            "inventory": [{"apples": ["m", "g"]}, {"oranges": ["x"]}, {"apples": ["b"]}],
        },
    )
    assert got == {"warehouses": ["A", "C"], "apples": [["m", "g"], ["b"]], "type": "array"}, (
        f"see {FIELD_PATHS}"
    )
