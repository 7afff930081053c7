"""No pass relies on evaluation order: MongoDB may evaluate every operand of `$and`/`$or`
(its manual, `$and` and `$or`, "Error Handling"), so an operator that raises on a wrong type
sits in a branch of `$cond`/`$switch` that its guard chose, never in an `$and`/`$or` beside
its guard. The eager test server (tests/eager_server.py) shows a breach on the data that
triggers it; this walks every pipeline each pass builds, so that a breach is seen whatever
the data.
"""

from __future__ import annotations

import ast
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from usage_lib.core.changes import counts_pipeline, edited_pipeline
from usage_lib.core.config import BillingRule, Config, Exclusion
from usage_lib.core.conversations import conversations_pipeline
from usage_lib.core.db import PASSES
from usage_lib.core.explain import explain_pipeline
from usage_lib.core.metrics import LEVELS, Reading, Users
from usage_lib.core.periods import DateRange
from usage_lib.core.pipeline import pipeline
from usage_lib.core.profiles import PROFILES
from usage_lib.core.warm import STORE_METRICS, STORE_READING
from usage_lib.core.watch import watch_pipeline

# Operators that raise on an argument of the wrong type (an array, a string, a date expected)
RAISING = {
    "$size", "$arrayElemAt", "$concatArrays", "$filter", "$map", "$reduce", "$slice",
    "$setIntersection", "$setUnion", "$setDifference", "$setEquals", "$setIsSubset",
    "$strLenCP", "$strLenBytes", "$substrCP", "$substrBytes", "$split", "$indexOfCP",
    "$toString", "$toInt", "$toLong", "$toDouble", "$toDecimal", "$toObjectId", "$convert",
    "$dateToString", "$dateFromString", "$dateFromParts", "$isoDayOfWeek", "$divide", "$mod",
    "$objectToArray",
}  # fmt: skip
GUARDED = {"$cond": (1, 2, "then", "else"), "$switch": ("then", "default")}

RNG = DateRange(date(2026, 3, 1), date(2026, 4, 30), "Europe/Berlin")
EXCLUDED = (Exclusion("6d" + "0" * 22, "Internal", "staff"),)
RULES = {
    "custom": Config(exclusions=EXCLUDED),
    "custom-flags": Config(
        rule=BillingRule(exclude_preflight=True, exclude_channels=("voice-vxml",)),
        exclusions=EXCLUDED,
    ),
    "stock": Config(
        rule=BillingRule(
            statuses=(100, 1000), min_depth=0, exclude_preflight=True, exclude_channels=("x",)
        ),
        profile=PROFILES["tiledesk"],
        exclusions=EXCLUDED,
    ),
}
FORKS = {f"7{i}" + "0" * 22: "7a" + "0" * 22 for i in range(9)}  # a lookup tree of forks


def pipelines(config: Config) -> dict[str, list[list[Any]]]:
    """Every pipeline each pass of core.db.PASSES builds under `config`."""
    users = Reading.of(["users", "depth_avg", "handoffs"], Users("week", LEVELS["platform"]))
    return {
        "cube": [
            pipeline(RNG, config, grain, org, reading, FORKS, agent)
            for grain in ("day", "month")
            for org, agent in ((None, None), ("6a" + "0" * 22, None), ("6a" + "0" * 22, "7a"))
            for reading in (Reading.of(["conversations"]), users if grain == "day" else None)
            if reading is not None
        ],
        "watch": [watch_pipeline(RNG, config, FORKS)],
        "steps": [explain_pipeline(RNG, config), explain_pipeline(RNG, config, "6a" + "0" * 22)],
        "conversations": [conversations_pipeline(RNG, config, ["6a" + "0" * 22, ""])],
        "store": [
            pipeline(RNG, config, "day", reading=reading, forks=FORKS, sets=True)
            for reading in (STORE_READING, STORE_METRICS)
        ],
        "counts": [counts_pipeline(RNG, config)],
        "edited": [edited_pipeline(RNG, config, datetime(2026, 1, 1))],
        "watched": [watch_pipeline(RNG, config, FORKS, sets=True)],
    }


def breaches(node: Any, in_logic: bool = False, path: str = "") -> list[str]:
    """Where a RAISING operator is evaluated as an operand of $and/$or, unguarded."""
    found: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            found += breaches(item, in_logic, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in RAISING and in_logic:
                found.append(here)
            if key in ("$and", "$or"):
                found += breaches(value, True, here)
            elif key in GUARDED:
                parts = value if isinstance(value, dict) else dict(enumerate(value))
                if key == "$switch":
                    parts = {
                        f"b{i}{k}": v for i, b in enumerate(value["branches"]) for k, v in b.items()
                    }
                    parts |= {"default": value.get("default")}
                for part, sub in parts.items():
                    branch = any(str(part).endswith(str(g)) for g in GUARDED[key])
                    found += breaches(sub, in_logic and not branch, f"{here}.{part}")
            else:
                found += breaches(value, in_logic, here)
    return found


def test_every_pass_is_walked() -> None:
    assert set(pipelines(Config())) == set(PASSES)


@pytest.mark.parametrize("name", sorted(RULES))
def test_no_pass_relies_on_the_order_of_and_or(name: str) -> None:
    for pass_name, built in pipelines(RULES[name]).items():
        for stages in built:
            assert breaches(stages) == [], pass_name


def test_the_walk_sees_a_guard_beside_its_operator_and_one_in_cond() -> None:
    unguarded = {"$and": [{"$isArray": "$x"}, {"$gt": [{"$size": "$x"}, 0]}]}
    guarded = {"$cond": [{"$isArray": "$x"}, {"$gt": [{"$size": "$x"}, 0]}, False]}
    assert breaches([{"$project": {"y": unguarded}}]) == ["[0].$project.y.$and[1].$gt[0].$size"]
    assert breaches([{"$project": {"y": {"$or": [True, guarded]}}}]) == []
    in_condition = {"$or": [{"$cond": [{"$gt": [{"$size": "$x"}, 0]}, 1, 0]}]}
    assert breaches([in_condition]) != []  # the condition of a $cond is evaluated


# -- every read of the database goes through core.db, under a name the suite drives -------------

READS = {"aggregate", "find", "find_one", "count_documents", "distinct", "watch"}
READS |= {"estimated_document_count", "aggregate_raw_batches", "find_raw_batches"}


def test_only_core_db_reads_the_database() -> None:
    """Every read is core.db's `aggregate` (a pass of PASSES) or `lookup` (a look-up of
    LOOKUPS), which tests/core/test_stored_shapes.py drives over every stored form; the demo
    only writes its data."""
    package = Path(__file__).resolve().parents[2] / "usage_lib"
    found = []
    for path in package.rglob("*.py"):
        relative = path.relative_to(package).as_posix()
        if relative in ("core/db.py",) or relative.startswith("demo/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in READS
            ):
                found.append(f"{relative}:{node.lineno} .{node.func.attr}(")
    assert found == []
