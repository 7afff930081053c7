"""Metric names as users type them, and what the pass reads for them."""

from datetime import date

import pytest

from usage_lib.core.config import Config, Exclusion
from usage_lib.core.metrics import LEVELS, METRICS, Reading, Users, parse_metrics
from usage_lib.core.periods import DateRange
from usage_lib.core.pipeline import pipeline
from usage_lib.errors import ConfigError


def test_parse_metrics_keeps_the_order_asked() -> None:
    assert parse_metrics("all") == METRICS
    assert parse_metrics("handoffs, users") == ("handoffs", "users")
    for bad in ("", "visits", "users,users"):
        with pytest.raises(ConfigError) as error:
            parse_metrics(bad)
        assert error.value.key == "metrics"


def test_the_pass_reads_only_what_is_asked() -> None:
    users = Users("week", LEVELS["platform"])
    assert Reading.of(["conversations"], users) == Reading(False, None)
    assert Reading.of(["depth_avg"], users) == Reading(True, None)
    assert Reading.of(["users"], users) == Reading(True, users)


def test_users_keys_cover_rows_and_totals_per_bucket_and_range() -> None:
    """Each billable row fans out into its cube key and one users key per level and bucket,
    and the whole range; tests and excluded organizations carry no users key."""
    reading = Reading.of(["users"], Users("month", LEVELS["platform"]))
    config = Config(exclusions=(Exclusion("a" * 24, "x", "y"),))
    stages = pipeline(DateRange(date(2026, 1, 1), date(2026, 3, 31)), config, "day", None, reading)
    fan_out = next(s["$project"]["k"] for s in stages if "k" in s.get("$project", {}))
    cube_key, (billable, keys, none) = (
        fan_out["$concatArrays"][0],
        fan_out["$concatArrays"][1]["$cond"],
    )
    assert cube_key == [{"t": "c", "o": "$o", "a": "$a", "d": "$d", "x": "$x"}]
    month = {"$concat": [{"$substrCP": ["$d", 0, 8]}, "01"]}  # "YYYY-MM-DD" -> "YYYY-MM-01"
    assert keys == [
        {"t": "u", "o": "$o", "a": None, "b": month, "u": "$u"},  # each organization, month
        {"t": "u", "o": "$o", "a": None, "b": None, "u": "$u"},  # each, the whole range
        {"t": "u", "o": None, "a": None, "b": month, "u": "$u"},  # all of them, each month
        {"t": "u", "o": None, "a": None, "b": None, "u": "$u"},  # all, the whole range
    ]
    assert none == []
    has_user, billed = billable["$and"]
    assert has_user == {"$ne": ["$u", ""]}  # a conversation with no end user counts none
    assert {"$eq": ["$x", False]} in billed["$and"]  # test conversations are not billable
    assert {"$not": [{"$in": ["$o", ["a" * 24]]}]} in billed["$and"]  # nor excluded ones
