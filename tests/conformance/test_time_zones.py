"""Cutting instants into local days, ISO weeks and months with MongoDB 4.4's operators only
(no `$dateTrunc`, which is 5.0): `$dateToString` with `format` and `timezone`; `$year`,
`$month`, `$dayOfMonth`, `$isoWeekYear`, `$isoWeek`, `$isoDayOfWeek` with `timezone`; and
`$dateFromParts` (calendar and ISO-week forms) with `timezone` back to the instant the local
day, week (its Monday) and month start.

Each instant sits next to a boundary: a DST change (Europe/Berlin, America/New_York both ways,
Australia/Adelaide, Australia/Lord_Howe whose clocks move by 30 minutes), a half-hour zone
(Asia/Kolkata, Adelaide), a month, year or ISO-year end. The expected values are computed
independently, in Python with zoneinfo.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

MANUAL = "https://www.mongodb.com/docs/manual/reference/operator/aggregation"
DATE_TO_STRING = f"{MANUAL}/dateToString/"
DATE_FROM_PARTS = f"{MANUAL}/dateFromParts/"
ISO_WEEK = f"{MANUAL}/isoWeek/"
TZ_JS = "jstests/aggregation/expressions/date_expressions_with_timezones.js"
PARTS_JS = "jstests/aggregation/expressions/date_from_parts.js"
SOURCES = f"see {DATE_TO_STRING}, {DATE_FROM_PARTS}, {ISO_WEEK}, {TZ_JS}, {PARTS_JS}"

MS = timedelta(milliseconds=1)


def at(text: str) -> datetime:
    """A UTC instant, naive as pymongo returns it."""
    return datetime.fromisoformat(text)


def around(zone: str, instant: str, why: str) -> list[Any]:
    """The last millisecond before `instant` and `instant` itself."""
    t = at(instant)
    return [
        pytest.param(zone, t - MS, id=f"{zone}-{why}-before"),
        pytest.param(zone, t, id=f"{zone}-{why}-at"),
    ]


INSTANTS = [
    # Europe/Berlin: CET -> CEST at 2026-03-29 01:00 UTC; the local day starts at 23:00 UTC.
    *around("Europe/Berlin", "2026-03-29T01:00:00", "dst-start"),
    *around("Europe/Berlin", "2026-03-28T23:00:00", "midnight-before-dst"),
    *around("Europe/Berlin", "2026-03-29T22:00:00", "midnight-after-dst"),
    *around("Europe/Berlin", "2026-10-25T01:00:00", "dst-end"),
    # America/New_York: EST -> EDT at 2026-03-08 07:00 UTC, EDT -> EST at 2026-11-01 06:00 UTC
    # (a Sunday: Oct 31 is a month end and a Saturday).
    *around("America/New_York", "2026-03-08T07:00:00", "dst-start"),
    *around("America/New_York", "2026-03-08T05:00:00", "midnight-before-dst"),
    *around("America/New_York", "2026-11-01T06:00:00", "dst-end"),
    *around("America/New_York", "2026-11-01T04:00:00", "month-end"),
    *around("America/New_York", "2026-11-02T05:00:00", "monday-after-dst-end"),
    # Asia/Kolkata, UTC+05:30: a month end and a year end (2027-01-01 is in ISO week 2026-W53).
    *around("Asia/Kolkata", "2026-01-31T18:30:00", "month-end"),
    *around("Asia/Kolkata", "2026-12-31T18:30:00", "year-end"),
    # Australia/Adelaide, +09:30 / +10:30: DST starts 2026-10-03 16:30 UTC, ends 2026-04-04
    # 16:30 UTC; February ends at 2026-02-28 13:30 UTC.
    *around("Australia/Adelaide", "2026-10-03T16:30:00", "dst-start"),
    *around("Australia/Adelaide", "2026-10-03T14:30:00", "midnight-before-dst"),
    *around("Australia/Adelaide", "2026-04-04T16:30:00", "dst-end"),
    *around("Australia/Adelaide", "2026-02-28T13:30:00", "month-end"),
    # Australia/Lord_Howe, +10:30 / +11:00 (a 30-minute shift): DST starts 2026-10-03 15:30 UTC,
    # ends 2026-04-04 15:00 UTC; March ends at 2026-03-31 13:00 UTC.
    *around("Australia/Lord_Howe", "2026-10-03T15:30:00", "dst-start"),
    *around("Australia/Lord_Howe", "2026-04-04T15:00:00", "dst-end"),
    *around("Australia/Lord_Howe", "2026-03-31T13:00:00", "month-end"),
    *around("Australia/Lord_Howe", "2026-10-03T13:30:00", "midnight-before-dst"),
    # UTC: a year end inside ISO week 2026-W53.
    *around("UTC", "2027-01-01T00:00:00", "year-end"),
]


def pipeline_fields(zone: str) -> dict[str, Any]:
    """What the server computes of `$t` in `zone`, with 4.4 operators only."""

    def part(op: str) -> dict[str, Any]:
        return {op: {"date": "$t", "timezone": zone}}

    year, month, day = part("$year"), part("$month"), part("$dayOfMonth")
    iso_year, iso_week = part("$isoWeekYear"), part("$isoWeek")
    return {
        "text": {
            "$dateToString": {"date": "$t", "format": "%Y-%m-%d %H:%M:%S.%L", "timezone": zone}
        },
        "day_key": {"$dateToString": {"date": "$t", "format": "%Y-%m-%d", "timezone": zone}},
        "iso_key": {"$dateToString": {"date": "$t", "format": "%G-W%V-%u", "timezone": zone}},
        "y": year,
        "m": month,
        "d": day,
        "iy": iso_year,
        "iw": iso_week,
        "idw": part("$isoDayOfWeek"),
        "day": {"$dateFromParts": {"year": year, "month": month, "day": day, "timezone": zone}},
        "month": {"$dateFromParts": {"year": year, "month": month, "timezone": zone}},
        "monday": {
            "$dateFromParts": {
                "isoWeekYear": iso_year,
                "isoWeek": iso_week,
                "isoDayOfWeek": 1,
                "timezone": zone,
            }
        },
    }


def utc_of(local: datetime) -> datetime:
    return local.astimezone(UTC).replace(tzinfo=None)


def expected(zone: str, t: datetime) -> dict[str, Any]:
    """The same, computed by Python's zoneinfo."""
    tz = ZoneInfo(zone)
    local = t.replace(tzinfo=UTC).astimezone(tz)
    iy, iw, idw = local.isocalendar()
    monday = date.fromisocalendar(iy, iw, 1)
    return {
        "text": local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}",
        "day_key": local.strftime("%Y-%m-%d"),
        "iso_key": f"{iy:04d}-W{iw:02d}-{idw}",
        "y": local.year,
        "m": local.month,
        "d": local.day,
        "iy": iy,
        "iw": iw,
        "idw": idw,
        "day": utc_of(datetime(local.year, local.month, local.day, tzinfo=tz)),
        "month": utc_of(datetime(local.year, local.month, 1, tzinfo=tz)),
        "monday": utc_of(datetime(monday.year, monday.month, monday.day, tzinfo=tz)),
    }


@pytest.mark.parametrize(("zone", "instant"), INSTANTS)
def test_local_day_week_and_month_with_44_operators(
    server: Any, zone: str, instant: datetime
) -> None:
    got = server.values(pipeline_fields(zone), {"t": instant})
    assert got == expected(zone, instant), SOURCES


def test_the_instants_straddle_their_boundaries() -> None:
    """The table is what it says: each pair is one millisecond apart and falls on two local
    days or two UTC offsets (checked in Python only, so a typo cannot make a case vacuous)."""
    pairs = [INSTANTS[i : i + 2] for i in range(0, len(INSTANTS), 2)]
    for before, after in pairs:
        (zone, t0), (_, t1) = before.values, after.values
        tz = ZoneInfo(zone)
        a, b = t0.replace(tzinfo=UTC).astimezone(tz), t1.replace(tzinfo=UTC).astimezone(tz)
        assert t1 - t0 == MS
        assert a.date() != b.date() or a.utcoffset() != b.utcoffset(), (zone, t0)
