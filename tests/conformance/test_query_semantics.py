"""Query operators on stored forms: what the rule's `$match` (usage_lib/core/rule.py,
`match` and `tenant_match`) keeps of each stored form of a field.

- `status: {$in: [1000]}` keeps a numeric 1000 of any type, never the string or a bool;
- `depth: {$gte: 3}` keeps numbers only (type bracketing), and an array holding one;
- `preflight: {$ne: true}` and `channel.name: {$nin: [...]}` keep every other form, but
  not an array holding the value;
- `$type` lists and `$not: {$type: "array"}` are how the rule keeps arrays out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from bson import Decimal128, Int64, ObjectId

MANUAL = "https://www.mongodb.com/docs/manual/reference"
BRACKETING = f"{MANUAL}/mql/query-predicates/type-bracketing/"
IN = f"{MANUAL}/operator/query/in/"
NE = f"{MANUAL}/operator/query/ne/"
NIN = f"{MANUAL}/operator/query/nin/"
NOT = f"{MANUAL}/operator/query/not/"
TYPE = f"{MANUAL}/operator/query/type/"
OID = ObjectId("65f0a1b2c3d4e5f6a7b8c9d0")


def case(value: Any, kept: bool, name: str) -> Any:
    return pytest.param(value, kept, id=name)


def kept_forms(server: Any, field: str, forms: list[Any], query: dict[str, Any]) -> list[int]:
    """Which of the forms (stored as `field`, one document each) `query` keeps."""
    return server.matching([{field: v} for v in forms], query)


# -- status: {$in: [1000]} ------------------------------------------------------------------------

# Source: BRACKETING ("MongoDB treats these as equivalent for comparison, so a comparison
# against a number matches values of any numeric type"); IN ("selects the documents where the
# value of a field equals any value in the specified array"; "If the field holds an array ...
# at least one element that matches").
STATUS = [
    case(1000, True, "int"),
    case(Int64(1000), True, "long"),
    case(1000.0, True, "double"),
    case(Decimal128("1000"), True, "decimal-1000"),
    case(Decimal128("1.0E+3"), True, "decimal-1.0E+3"),
    case("1000", False, "string"),
    case(True, False, "true"),
    case(None, False, "null"),
    case(999, False, "other-number"),
    case([1000], True, "array-holding-1000"),
]


@pytest.mark.parametrize(("stored", "kept"), STATUS)
def test_in_matches_any_numeric_type_never_a_string(server: Any, stored: Any, kept: bool) -> None:
    """{status: {$in: [1000]}} (sources: type bracketing, $in)."""
    found = kept_forms(server, "status", [stored], {"status": {"$in": [1000]}})
    assert found == ([0] if kept else []), f"{stored!r}: see {BRACKETING} and {IN}"


def test_in_without_arrays_as_the_rule_writes_it(server: Any) -> None:
    """The rule's `{status: {$in: [...], $not: {$type: "array"}}}` keeps the numbers and
    drops an array holding one. Sources: IN (arrays match element-wise), NOT ("selects the
    documents that do not match ... This includes documents that do not contain the field"),
    TYPE ("Queries for $type: "array" return documents where the field itself is an array")."""
    forms = [1000, Decimal128("1000"), [1000], "1000"]
    query = {"status": {"$in": [1000], "$not": {"$type": "array"}}}
    assert kept_forms(server, "status", forms, query) == [0, 1], f"see {IN}, {NOT}, {TYPE}"


# -- depth: {$gte: 3} ----------------------------------------------------------------------------

# Source: BRACKETING ("{ a: { $gt: 0 } } means "a is a number and a is greater than 0"";
# "If the target field is an array, the comparison matches documents where at least one
# element satisfies the comparison and is of the same type as the operand": `{a: {$gt: 3}}`
# matches `[1, 2, 3, 4]` and `["red", 4, "blue"]`, not `["red", "blue"]`).
DEPTH = [
    case(3, True, "int-3"),
    case(Int64(7), True, "long"),
    case(3.5, True, "double"),
    case(Decimal128("4"), True, "decimal"),
    case(2, False, "int-2"),
    case("5", False, "string-5"),
    case(True, False, "true"),
    case(None, False, "null"),
    case({"n": 5}, False, "object"),
    case(datetime(2026, 1, 1), False, "date"),
    case([5], True, "array-holding-5"),
    case([1, 7], True, "array-holding-7"),
    case(["red", 4, "blue"], True, "mixed-array-holding-4"),
    case(["5", True], False, "array-of-non-numbers"),
    case([1, 2], False, "array-of-small-numbers"),
]


@pytest.mark.parametrize(("stored", "kept"), DEPTH)
def test_range_matches_numbers_only_and_arrays_element_wise(
    server: Any, stored: Any, kept: bool
) -> None:
    """{depth: {$gte: 3}} (source: type bracketing)."""
    found = kept_forms(server, "depth", [stored], {"depth": {"$gte": 3}})
    assert found == ([0] if kept else []), f"{stored!r}: see {BRACKETING}"


def test_range_misses_a_missing_field(server: Any) -> None:
    """A missing depth is no number: {depth: {$gte: 3}} leaves it out (BRACKETING: the
    comparison means "a is a number and ...")."""
    assert server.matching([{}], {"depth": {"$gte": 3}}) == [], f"see {BRACKETING}"


def test_range_without_arrays_as_the_rule_writes_it(server: Any) -> None:
    """The rule's `{depth: {$gte: 3, $not: {$type: "array"}}}`: numbers only, no array."""
    forms = [3, [5], "5", 4.5, True]
    query = {"depth": {"$gte": 3, "$not": {"$type": "array"}}}
    assert kept_forms(server, "depth", forms, query) == [0, 3], f"see {BRACKETING}, {NOT}"


# -- preflight: {$ne: true} ----------------------------------------------------------------------

# Source: NE ("$ne selects documents where the value of the field is not equal to the
# specified value. This includes documents that do not contain the field."; type bracketing:
# "$ne doesn't use type bracketing ... regardless of the value's type"; arrays: "$ne matches
# documents where the scalar value is not present as an element in the array"), BRACKETING
# ("Negations ($ne and $nin) do not use type bracketing. They match values of any type.").
_NOTHING = object()  # the field is missing
PREFLIGHT = [
    case(_NOTHING, True, "missing"),
    case(None, True, "null"),
    case(False, True, "false"),
    case("true", True, "string-true"),
    case(1, True, "int-1"),
    case([False], True, "array-without-true"),
    case([], True, "empty-array"),
    case(True, False, "true"),
    case([True], False, "array-holding-true"),
    case([False, True], False, "array-holding-true-second"),
]


@pytest.mark.parametrize(("stored", "kept"), PREFLIGHT)
def test_ne_keeps_every_form_but_the_value_and_arrays_holding_it(
    server: Any, stored: Any, kept: bool
) -> None:
    """{preflight: {$ne: true}} (sources: $ne, type bracketing)."""
    doc = {} if stored is _NOTHING else {"preflight": stored}
    found = server.matching([doc], {"preflight": {"$ne": True}})
    assert found == ([0] if kept else []), f"{stored!r}: see {NE} and {BRACKETING}"


# -- channel.name: {$nin: [...]} -----------------------------------------------------------------

# Source: NIN ("$nin selects the documents where: the specified field value is not in the
# specified array or the specified field does not exist."; "If the field holds an array, then
# the $nin operator selects the documents whose field holds an array with no element equal to
# a value in the specified array").
CHANNEL = [
    case({"channel": {"name": "chat21"}}, True, "other-name"),
    case({}, True, "no-channel"),
    case({"channel": {}}, True, "no-name"),
    case({"channel": {"name": None}}, True, "null-name"),
    case({"channel": "voice-vxml"}, True, "channel-a-string"),
    case({"channel": {"name": 7}}, True, "name-a-number"),
    case({"channel": {"name": ["chat21"]}}, True, "array-without-listed"),
    case({"channel": {"name": "voice-vxml"}}, False, "listed-name"),
    case({"channel": {"name": ["chat21", "voice-vxml"]}}, False, "array-holding-listed"),
    case({"channel": [{"name": "voice-vxml"}]}, False, "array-of-channels-holding-listed"),
    case({"channel": {"name": "Voice-VXML"}}, True, "listed-name-other-case"),
]


@pytest.mark.parametrize(("doc", "kept"), CHANNEL)
def test_nin_keeps_missing_and_other_types(server: Any, doc: dict[str, Any], kept: bool) -> None:
    """{"channel.name": {$nin: ["voice-vxml"]}} (source: $nin)."""
    found = server.matching([doc], {"channel.name": {"$nin": ["voice-vxml"]}})
    assert found == ([0] if kept else []), f"{doc!r}: see {NIN}"


# -- $type lists ---------------------------------------------------------------------------------

# Source: TYPE ("The $type expression can also accept an array of BSON types ... matches
# documents where the field value is any of the listed types"; "For documents where field is
# an array, $type returns documents in which at least one array element matches a type passed
# to $type"; "Queries for $type: "array" return documents where the field itself is an array").
TYPED = [
    OID,  # 0
    "65f0a1b2c3d4e5f6a7b8c9d0",  # 1
    "",  # 2
    7,  # 3
    None,  # 4
    ["a"],  # 5 an array holding a string
    [7],  # 6 an array holding no listed type
    [],  # 7
    {"id": "a"},  # 8
    True,  # 9
]


def test_type_list_matches_any_listed_type_and_array_elements(server: Any) -> None:
    query = {"f": {"$type": ["objectId", "string"]}}
    assert kept_forms(server, "f", TYPED, query) == [0, 1, 2, 5], f"see {TYPE}"


def test_type_array_matches_the_array_itself(server: Any) -> None:
    forms = [[1], [], [[1]], "a", 1, None]
    assert kept_forms(server, "f", forms, {"f": {"$type": "array"}}) == [0, 1, 2], f"see {TYPE}"


def test_not_type_list_as_the_rule_reads_no_tenant(server: Any) -> None:
    """`tenant_match(NONE)` reads "no tenant" as `$in: [null, ""]`, or `$not: {$type:
    [objectId, string]}`, or an array: every form but an ObjectId or a non-empty string,
    a missing field included (NOT: "This includes documents that do not contain the field")."""
    field = "id_organization"
    query = {
        "$or": [
            {field: {"$in": [None, ""]}},
            {field: {"$not": {"$type": ["objectId", "string"]}}},
            {field: {"$type": "array"}},
        ]
    }
    docs = [{field: v} for v in TYPED] + [{}]
    assert server.matching(docs, query) == [2, 3, 4, 5, 6, 7, 8, 9, 10], f"see {TYPE}, {NOT}"
