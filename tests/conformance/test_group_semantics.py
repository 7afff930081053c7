"""`$group` on stored forms: what the pass (usage_lib/core/pipeline.py) groups and sums.

- a missing key field and a null one: one group for a plain or one-field key, two groups
  in a compound key (the pass groups on compound keys of stored forms, then normalizes);
- `$sum` as an accumulator: the type of the sum (int, long on overflow, then double; any
  double or decimal wins), and every non-numeric value (string, bool, null, missing, array)
  ignored: the depth sum of `depth_avg`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128, Int64

MANUAL = "https://www.mongodb.com/docs/manual/reference/operator/aggregation"
GROUP_MISSING_JS = "jstests/aggregation/bugs/groupMissing.js"
SUM = f"{MANUAL}/sum/"
SUM_44 = "https://www.mongodb.com/docs/v4.4/reference/operator/aggregation/sum/"
AVG_32 = "https://www.mongodb.com/docs/v3.2/reference/operator/aggregation/avg/"
NUMERIC_GROUPING_JS = "jstests/aggregation/sources/group/numeric_grouping.js"


# -- missing versus null in group keys -----------------------------------------------------------
# Source: GROUP_MISSING_JS: documents {a: null} and {}:
#   $group {_id: "$a"}            -> one group, _id null;
#   $group {_id: {a: "$a"}}       -> one group, {a: null} ("Bug, see SERVER-21992": the
#                                    "correct behavior after SERVER-21992 is fixed" would be two);
#   $group {_id: {a: "$a", b: "$b"}} over {a: null, b: 1}, {b: 1}
#                                 -> two groups, {b: 1} and {a: null, b: 1}
#   (the same with a `$sort` an index covers merges them again, SERVER-23229: the pass sorts
#   nothing before its `$group`).


def test_plain_key_merges_missing_and_null(server: Any) -> None:
    assert server.groups([{"f": None}, {}], "$f") == [None], f"see {GROUP_MISSING_JS}"


@pytest.mark.secantus_differs(
    "a one-field key {k: '$f'} makes two groups, {} and {k: null}; mongod makes one, {k: null}"
)
def test_one_field_key_merges_missing_and_null(server: Any) -> None:
    """mongod's documented bug SERVER-21992, pinned by its own test: a one-field object key
    does not keep missing and null apart. Whoever needs them apart uses two or more fields."""
    got = server.groups([{"f": None}, {}], {"k": "$f"})
    assert got == [{"k": None}], f"see {GROUP_MISSING_JS}"


def test_compound_key_keeps_missing_and_null_apart(server: Any) -> None:
    """The pass's first `$group` key has four or five fields (tenant, agent evidence, day,
    test flag, requester): a missing tenant and a null one arrive as two rows, which the
    normalizing `$project` maps to one ("No organization")."""
    got = server.groups(
        [{"f": None, "b": 1}, {"b": 1}, {"f": None, "b": 1}], {"k": "$f", "b": "$b"}
    )
    assert got == [{"b": 1}, {"k": None, "b": 1}], f"see {GROUP_MISSING_JS}"


def test_numbers_of_different_types_are_one_group(server: Any) -> None:
    """Source: NUMERIC_GROUPING_JS ("numbers that are equivalent but have different types are
    grouped together"): a status of 1000 stored as int, long and double is one key."""
    docs = [{"f": 24}, {"f": Int64(24)}, {"f": 24.0}, {"f": Decimal128("24")}]
    assert len(server.groups(docs, {"k": "$f", "b": "$b"})) == 1, f"see {NUMERIC_GROUPING_JS}"


# -- $sum as an accumulator: the type of the sum -------------------------------------------------
# Sources: SUM ("When input types are mixed, $sum promotes the smaller input type to the larger
# of the two ... integer -> long -> double -> decimal"; "If the larger input type is integer,
# the result type is promoted to long"; "If the larger input type is long, the result type is
# promoted to double"); SUM_44 ("The result will have the same type as the input except when it
# cannot be represented accurately in that type ... A 32-bit integer will be converted to a
# 64-bit integer if the result is representable as a 64-bit integer ... A 64-bit integer will be
# converted to double if the result is not representable as a 64-bit integer").
def _type(value: Any) -> str:
    if isinstance(value, Decimal128):
        return "decimal"
    if isinstance(value, Int64):
        return "long"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return type(value).__name__


SUMS = [
    pytest.param([1, 2], 3, "int", id="int+int=int"),
    pytest.param([2**31 - 1, 1], 2**31, "long", id="int-overflow=long"),
    pytest.param([1, Int64(2)], 3, "long", id="int+long=long"),
    pytest.param([1, Int64(2), 0.5], 3.5, "double", id="any-double=double"),
    pytest.param([1, 0.5, Decimal128("2.5")], 4, "decimal", id="any-decimal=decimal"),
    pytest.param([Int64(2), Decimal128("0.25")], Decimal("2.25"), "decimal", id="long+decimal"),
]


@pytest.mark.parametrize(("values", "total", "kind"), SUMS)
def test_sum_promotes_to_the_widest_type(
    server: Any, values: list[Any], total: Any, kind: str
) -> None:
    got = server.summed(values)
    number = got.to_decimal() if isinstance(got, Decimal128) else got
    assert (number, _type(got)) == (total, kind), f"see {SUM} and {SUM_44}"


@pytest.mark.secantus_differs("a long overflow fails the command: InternalError (code 1)")
def test_sum_of_longs_overflowing_is_a_double(server: Any) -> None:
    got = server.summed([Int64(2**62), Int64(2**62)])
    assert (got, _type(got)) == (float(2**63), "double"), f"see {SUM} and {SUM_44}"


# -- $sum ignores what is not a number -----------------------------------------------------------
# Sources: SUM ("$sum ignores non-numeric values"); SUM_44 ("If used on a field that contains
# both numeric and non-numeric values, $sum ignores the non-numeric values and returns the sum
# of the numeric values"; "If all operands are non-numeric, $sum returns 0"); an array is not a
# number (AVG_32, the same accumulator family: "In the $group stage, if the expression resolves
# to an array, $avg treats the operand as a non-numerical value").
IGNORED = [
    pytest.param("5", id="string"),
    pytest.param(True, id="true"),
    pytest.param(None, id="null"),
    pytest.param([4, 5], id="array-of-numbers"),
    pytest.param({"n": 3}, id="object"),
]


@pytest.mark.parametrize("other", IGNORED)
def test_sum_ignores_a_non_number(server: Any, other: Any) -> None:
    got = server.summed([1, other, 2])
    assert (got, _type(got)) == (3, "int"), f"{other!r}: see {SUM_44}, {AVG_32}"


def test_sum_ignores_a_missing_field(server: Any) -> None:
    got = server.summed([1, 2], missing=True)
    assert (got, _type(got)) == (3, "int"), f"see {SUM_44}"


def test_sum_of_non_numbers_only_is_zero(server: Any) -> None:
    assert server.summed(["5", True, None, [1]], missing=True) == 0, f"see {SUM_44}"
