"""Array operators on what is not an array: where an expression raises, and so where a guard
must stand.

`$size` and `$setIntersection` raise on a string or a number, `$arrayElemAt` too; `$size`
also on null and on a missing field. MongoDB does not promise to evaluate `$and`'s operands
in order or to stop early (the manual's "Error Handling" for `$and`), so a guard written as
`{$and: [{$isArray: x}, {$gt: [{$size: x}, 0]}]}` may raise on a document where `x` is a
string; `$cond` evaluates only the branch it takes. A "may" cannot be asserted on a server
(mongod often does stop early): these cases assert the raising operators and the `$cond`
guard. The tests' embedded server evaluates every `$and`/`$or` operand (tests/eager_server.py),
so the product's own tests catch an `$and` guard there.
"""

from __future__ import annotations

from typing import Any

import pytest

MANUAL = "https://www.mongodb.com/docs/manual/reference/operator/aggregation"
SIZE = f"{MANUAL}/size/"
SIZE_JS = "jstests/aggregation/expressions/size.js"
SET_JS = "jstests/aggregation/expressions/set.js"
ELEM_AT_JS = "jstests/aggregation/expressions/array_elem_at.js"
AND = f"{MANUAL}/and/"
# The classic engine's codes, and what the slot-based engine (SBE, 5.x and later) raises
# instead, as jstests/libs/sbe_assert_error_override.js lists them.
SBE_JS = "jstests/libs/sbe_assert_error_override.js"
SIZE_CODES = {17124}
SET_INTERSECTION_CODES = {17047, 5126900, 7158100}
ELEM_AT_CODES = {28689, 5126701}
_NOTHING = object()  # the field is missing

NOT_ARRAYS = [
    pytest.param("abc", id="string"),
    pytest.param(5, id="number"),
    pytest.param({"a": 1}, id="object"),
    pytest.param(True, id="true"),
]


def doc_of(value: Any) -> dict[str, Any]:
    return {} if value is _NOTHING else {"f": value}


# Source: SIZE ("The argument for $size must resolve to an array. If the argument for $size is
# missing or does not resolve to an array, $size errors."); SIZE_JS (code 17124).
@pytest.mark.parametrize(
    "stored", [*NOT_ARRAYS, pytest.param(None, id="null"), pytest.param(_NOTHING, id="missing")]
)
def test_size_raises_on_a_non_array(server: Any, stored: Any) -> None:
    assert server.error({"$size": "$f"}, doc_of(stored)) in SIZE_CODES, f"see {SIZE}, {SIZE_JS}"


# Source: SET_JS (`$setIntersection` of a string and an array: code 17047; with a null or
# missing argument: null).
@pytest.mark.parametrize("stored", NOT_ARRAYS)
def test_set_intersection_raises_on_a_non_array(server: Any, stored: Any) -> None:
    expr = {"$setIntersection": ["$f", [True]]}
    assert server.error(expr, doc_of(stored)) in SET_INTERSECTION_CODES, f"see {SET_JS}, {SBE_JS}"


@pytest.mark.parametrize(
    "stored", [pytest.param(None, id="null"), pytest.param(_NOTHING, id="missing")]
)
def test_set_intersection_of_null_or_missing_is_null(server: Any, stored: Any) -> None:
    assert server.value({"$setIntersection": ["$f", [True]]}, doc_of(stored)) is None, (
        f"see {SET_JS}"
    )


# Source: ELEM_AT_JS ("First argument is not an array": code 28689; `$arrayElemAt: [null, 4]`
# is null).
@pytest.mark.parametrize("stored", NOT_ARRAYS)
def test_array_elem_at_raises_on_a_non_array(server: Any, stored: Any) -> None:
    code = server.error({"$arrayElemAt": ["$f", 0]}, doc_of(stored))
    assert code in ELEM_AT_CODES, f"see {ELEM_AT_JS}, {SBE_JS}"


def test_array_elem_at_of_null_is_null(server: Any) -> None:
    assert server.value({"$arrayElemAt": ["$f", 0]}, {"f": None}) is None, f"see {ELEM_AT_JS}"


# The guard in `$cond`: the manual's own `$size` example guards with
# `{$cond: {if: {$isArray: "$colors"}, then: {$size: "$colors"}, else: "NA"}}` (SIZE), and AND
# says an operand after the first "may cause an error even if the first expression evaluates
# to false". This is the form of `_holds` in usage_lib/core/rule.py done with `$cond`.
GUARDED = {
    "$cond": [
        {"$isArray": "$f"},
        {"$gt": [{"$size": {"$setIntersection": ["$f", [True]]}}, 0]},
        False,
    ]
}
FORMS = [
    pytest.param("abc", False, id="string"),
    pytest.param(5, False, id="number"),
    pytest.param({"a": 1}, False, id="object"),
    pytest.param(None, False, id="null"),
    pytest.param(_NOTHING, False, id="missing"),
    pytest.param([], False, id="empty-array"),
    pytest.param([False, "true"], False, id="array-without-true"),
    pytest.param([False, True], True, id="array-holding-true"),
]


@pytest.mark.parametrize(("stored", "holds"), FORMS)
def test_cond_guard_never_raises(server: Any, stored: Any, holds: bool) -> None:
    assert server.value(GUARDED, doc_of(stored)) is holds, f"see {SIZE} and {AND}"
