from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from usage_lib.core.buckets import (
    bucket_key,
    bucket_of_day,
    buckets,
    choose_granularity,
    server_zone,
)
from usage_lib.core.periods import (
    DateRange,
    default_range,
    last_full_month,
    last_n_days,
    month_after,
    months_ending,
    parse_date,
    report_month,
    resolve_range,
    today_in,
)
from usage_lib.errors import ConfigError


def test_default_range_is_the_last_six_full_months() -> None:
    assert default_range(date(2026, 11, 24)) == DateRange(date(2026, 5, 1), date(2026, 10, 31))
    assert default_range(date(2026, 11, 1)) == DateRange(date(2026, 5, 1), date(2026, 10, 31))
    # across a year end
    assert default_range(date(2026, 2, 10)) == DateRange(date(2025, 8, 1), date(2026, 1, 31))
    assert default_range(date(2026, 1, 31), months=1) == DateRange(
        date(2025, 12, 1), date(2025, 12, 31)
    )


def test_months_ending_includes_february_of_a_leap_year() -> None:
    assert months_ending(2028, 2, 2) == DateRange(date(2028, 1, 1), date(2028, 2, 29))


def test_last_n_days_includes_today() -> None:
    rng = last_n_days(7, date(2026, 2, 24))
    assert (rng.start, rng.end, rng.days) == (date(2026, 2, 18), date(2026, 2, 24), 7)


def test_parse_date_takes_a_date_or_its_text() -> None:
    assert parse_date("2026-02-24", "start") == parse_date(date(2026, 2, 24), "start")
    assert parse_date(datetime(2026, 2, 24, 23, 59), "start") == date(2026, 2, 24)
    for bad in ("2026-02-30", "yesterday", None, 20260224):
        with pytest.raises(ConfigError) as error:
            parse_date(bad, "as_of")  # type: ignore[arg-type]
        assert error.value.key == "as_of" and "is not a date (expected YYYY-MM-DD)" in str(error)


# -- resolve_range: every way a range is given, and every way to get it wrong ------------------

AS_OF = date(2026, 2, 24)


@pytest.mark.parametrize(
    ("given", "start", "end"),
    [
        # a start and an end, as text or dates; as_of changes nothing
        ({"start": "2026-01-05", "end": "2026-01-09"}, date(2026, 1, 5), date(2026, 1, 9)),
        ({"start": date(2026, 1, 5), "end": date(2026, 1, 5)}, date(2026, 1, 5), date(2026, 1, 5)),
        ({"start": "2025-12-30", "end": "2026-01-02", "as_of": "2020-01-01"},
         date(2025, 12, 30), date(2026, 1, 2)),
        # the last N days, as_of included
        ({"last_days": 7}, date(2026, 2, 18), AS_OF),
        ({"last_days": 1}, AS_OF, AS_OF),
        ({"last_days": 30, "as_of": "2026-03-10"}, date(2026, 2, 9), date(2026, 3, 10)),
        # one month
        ({"month": "2024-02"}, date(2024, 2, 1), date(2024, 2, 29)),
        ({"month": "last"}, date(2026, 1, 1), date(2026, 1, 31)),
        ({"month": "last", "as_of": "2026-01-01"}, date(2025, 12, 1), date(2025, 12, 31)),
        ({"month": "2026-01", "as_of": "2020-06-15"}, date(2026, 1, 1), date(2026, 1, 31)),
        # the default: the last `months` full months before as_of
        ({}, date(2025, 8, 1), date(2026, 1, 31)),
        ({"as_of": "2026-11-01"}, date(2026, 5, 1), date(2026, 10, 31)),
        ({"as_of": date(2026, 1, 31), "months": 1}, date(2025, 12, 1), date(2025, 12, 31)),
        # "" is "not given" (the notebook's parameters, empty text fields)
        ({"start": "", "end": "", "month": "", "as_of": ""}, date(2025, 8, 1), date(2026, 1, 31)),
    ],
)  # fmt: skip
def test_resolve_range_every_way(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, Any], start: date, end: date
) -> None:
    monkeypatch.setenv("USAGE_AS_OF", AS_OF.isoformat())  # "today", in every zone
    given = {"timezone": "Europe/Rome", "months": 6, **given}
    rng = resolve_range(**given)
    assert rng == DateRange(start, end, "Europe/Rome")


def test_resolve_range_reads_today_in_its_zone() -> None:
    rng = resolve_range(last_days=1, timezone="Pacific/Kiritimati", months=6)
    assert rng.end == today_in("Pacific/Kiritimati")
    assert resolve_range(timezone="UTC", months=6) == default_range(today_in("UTC"))


@pytest.mark.parametrize(
    ("given", "key", "problem"),
    [
        ({"last_days": 3, "start": "2026-01-01", "end": "2026-01-02"}, "last_days",
         "give either the last N days or a start and end, not both"),
        ({"last_days": 3, "end": "2026-01-02"}, "last_days",
         "give either the last N days or a start and end, not both"),
        ({"month": "2026-01", "start": "2026-01-01", "end": "2026-01-02"}, "month",
         "give either a month or a start and end, not both"),
        ({"month": "last", "last_days": 3}, "month",
         "give either a month or the last N days, not both"),
        ({"start": "2026-01-01"}, "end", "give both a start and an end, or neither"),
        ({"end": "2026-01-01"}, "start", "give both a start and an end, or neither"),
        ({"start": "2026-13-01", "end": "2026-12-31"}, "start",
         "'2026-13-01' is not a date (expected YYYY-MM-DD)"),
        ({"start": "2026-01-01", "end": "soon"}, "end", "'soon' is not a date (expected YYYY-MM-DD)"),
        ({"start": "2026-02-01", "end": "2026-01-31"}, "end", "2026-01-31 is before the start 2026-02-01"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "end",
         "2020-01-01 to 2026-01-01 is 2193 days, longer than the 1098 allowed"),
        ({"last_days": 0}, "last_days", "must be 1 or more, got 0"),
        ({"last_days": -3}, "last_days", "must be 1 or more, got -3"),
        ({"last_days": 1099}, "last_days", "must be at most 1098, got 1099"),
        ({"last_days": "7"}, "last_days", "'7' is not a whole number of days"),
        ({"last_days": True}, "last_days", "True is not a whole number of days"),
        ({"month": "2026-13"}, "month", "'2026-13' is not a month (expected YYYY-MM or 'last')"),
        ({"as_of": "yesterday"}, "as_of", "'yesterday' is not a date (expected YYYY-MM-DD)"),
        ({"as_of": "2026-02-30", "start": "2026-01-01", "end": "2026-01-02"}, "as_of",
         "'2026-02-30' is not a date (expected YYYY-MM-DD)"),
        ({"timezone": "Mars/Base"}, "timezone",
         "unknown time zone 'Mars/Base' (use an IANA name such as UTC or Europe/Rome)"),
        ({"months": 0}, "months", "must be 1 or more, got 0"),
    ],
)  # fmt: skip
def test_resolve_range_errors_name_the_setting(
    given: dict[str, Any], key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as error:
        resolve_range(**{"timezone": "UTC", "months": 6, "as_of": "2026-02-24", **given})
    assert (error.value.key, error.value.problem) == (key, problem)
    assert "\n" not in str(error.value) and "--" not in str(error.value)  # a setting, not a flag


@pytest.mark.parametrize(
    ("days", "grain"), [(1, "day"), (7, "day"), (8, "week"), (31, "week"), (32, "month")]
)
def test_adaptive_granularity(days: int, grain: str) -> None:
    rng = DateRange(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=days - 1))
    assert choose_granularity(rng) == grain
    assert choose_granularity(rng, "day") == "day"


def test_bad_ranges_and_granularity() -> None:
    with pytest.raises(ConfigError, match="after"):
        DateRange(date(2026, 2, 2), date(2026, 2, 1))
    with pytest.raises(ConfigError, match="time zone"):
        DateRange(date(2026, 2, 1), date(2026, 2, 2), "Nowhere/City")
    with pytest.raises(ConfigError, match="granularity"):
        choose_granularity(DateRange(date(2026, 2, 1), date(2026, 2, 2)), "year")


def test_weekly_buckets_start_monday_and_label_partial_weeks() -> None:
    bks = buckets(DateRange(date(2026, 2, 17), date(2026, 2, 24)), "week")
    assert [(b.key, b.label, b.start, b.end) for b in bks] == [
        ("2026-02-16", "17 – 22 Feb", date(2026, 2, 17), date(2026, 2, 22)),
        ("2026-02-23", "23 – 24 Feb", date(2026, 2, 23), date(2026, 2, 24)),
    ]


def test_weeks_across_the_year_end_use_calendar_dates_not_iso_weeks() -> None:
    bks = buckets(DateRange(date(2025, 12, 25), date(2026, 1, 7)), "week")
    assert [(b.key, b.label) for b in bks] == [
        ("2025-12-22", "25 – 28 Dec"),
        ("2025-12-29", "29 Dec – 4 Jan"),
        ("2026-01-05", "5 – 7 Jan"),
    ]


def test_monthly_and_daily_labels() -> None:
    bks = buckets(DateRange(date(2025, 9, 1), date(2025, 11, 12)), "month")
    assert [(b.key, b.label) for b in bks] == [
        ("2025-09", "Sep 2025"),
        ("2025-10", "Oct 2025"),
        ("2025-11", "1 – 12 Nov 2025"),
    ]
    assert [b.label for b in buckets(DateRange(date(2026, 2, 18), date(2026, 2, 19)), "day")] == [
        "18 Feb",
        "19 Feb",
    ]


def test_utc_bounds_follow_dst() -> None:
    # New York springs forward on 8 Mar 2026: that local day has 23 hours
    start, end = DateRange(date(2026, 3, 8), date(2026, 3, 8), "America/New_York").utc_bounds()
    assert (start, end) == (datetime(2026, 3, 8, 5), datetime(2026, 3, 9, 4))
    # Rome falls back on 25 Oct 2026: that local day has 25 hours
    start, end = DateRange(date(2026, 10, 25), date(2026, 10, 25), "Europe/Rome").utc_bounds()
    assert (start, end) == (datetime(2026, 10, 24, 22), datetime(2026, 10, 25, 23))
    start, end = DateRange(date(2026, 1, 1), date(2026, 1, 31), "Asia/Kolkata").utc_bounds()
    assert (start, end) == (datetime(2025, 12, 31, 18, 30), datetime(2026, 1, 31, 18, 30))


@given(
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    length=st.integers(1, 800),
    grain=st.sampled_from(["month", "week", "day"]),
)
def test_buckets_partition_the_range(start: date, length: int, grain: str) -> None:
    rng = DateRange(start, start + timedelta(days=length - 1))
    bks = buckets(rng, grain)  # type: ignore[arg-type]
    assert bks[0].start == rng.start and bks[-1].end == rng.end
    assert all(a.end + timedelta(days=1) == b.start for a, b in zip(bks, bks[1:], strict=False))
    assert len({b.key for b in bks}) == len(bks)
    for b in bks:
        assert bucket_key(b.start, grain) == b.key == bucket_key(b.end, grain)  # type: ignore[arg-type]


def test_report_month() -> None:
    assert report_month("2026-10") == (2026, 10)
    assert report_month("last") == report_month("") == last_full_month(today_in("UTC"))
    assert month_after(2026, 12) == date(2027, 1, 1)
    with pytest.raises(ConfigError, match="--month: '2026-13' is not a month"):
        report_month("2026-13", "--month")


def test_etc_zones_go_to_the_server_as_offsets_with_posix_signs() -> None:
    """mongod knows `Etc/` names from 5.0.4 only; an offset works on every version."""
    assert server_zone("Etc/GMT+5") == "-05:00"  # POSIX: GMT+5 is five hours behind
    assert server_zone("Etc/GMT-14") == "+14:00"
    assert server_zone("Etc/UTC") == server_zone("Etc/GMT") == "UTC"
    assert server_zone("Europe/Berlin") == "Europe/Berlin"


def test_the_server_cuts_weeks_and_months_from_a_day_as_python_does(client: Any) -> None:
    """`bucket_of_day` on the server equals `bucket_key` for every day of two years (year
    ends, leap day, weeks across them)."""
    days = [date(2026, 12, 20) + timedelta(days=i) for i in range(-730, 30)]
    db = client["buckets_of_days"]
    db.days.drop()
    db.days.insert_many([{"_id": i, "d": d.isoformat()} for i, d in enumerate(days)])
    try:
        for unit in ("day", "week", "month"):
            got = db.days.aggregate(
                [{"$project": {"b": bucket_of_day("$d", unit)}}, {"$sort": {"_id": 1}}]
            )
            want = [bucket_key(d, unit) for d in days]  # type: ignore[arg-type]
            wanted = [w if unit != "month" else w + "-01" for w in want]
            assert [r["b"] for r in got] == wanted, unit
    finally:
        client.drop_database("buckets_of_days")
