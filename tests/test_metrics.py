"""Metric names as users type them, and what the pass reads for them."""

import pytest

from usage_lib.config import ConfigError
from usage_lib.metrics import LEVELS, METRICS, Reading, Users, parse_metrics, users_stages


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
    stages = users_stages(Users("month", LEVELS["platform"]), "UTC", ["a" * 24], True)
    keys = next(s["$project"]["k"] for s in stages if "k" in s.get("$project", {}))
    assert keys == [
        {"o": "$o", "a": "*", "b": "$b"},  # each organization, each month
        {"o": "$o", "a": "*", "b": "*"},  # each organization, the whole range
        {"o": "*", "a": "*", "b": "$b"},  # all of them, each month
        {"o": "*", "a": "*", "b": "*"},  # all of them, the whole range
    ]
    assert stages[0] == {"$match": {"_id.x": False}}  # test conversations are not billable
    assert {"$match": {"o": {"$nin": ["a" * 24]}}} in stages  # nor excluded organizations
