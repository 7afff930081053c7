"""Date ranges: whole days, inclusive at both ends, in one IANA time zone, [start 00:00,
end+1 00:00) local time; parsing, the default range (the last full months, never a rolling
window), "last N days", report months. Buckets are in `buckets`.

`resolve_range` is the one place a range is given: a start and an end, the last N days, one
month, or the default. The command line, the explorer and `load_cube` all call it, and its
errors name the setting (`start`, `end`, `last_days`, `month`, `as_of`).
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from usage_lib.core.config import check_timezone
from usage_lib.errors import ConfigError

MAX_DAYS = 3 * 366  # a daily or weekly table over more is unreadable; months are fine up to 3 years


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        check_timezone(self.timezone)
        if self.start > self.end:
            raise ConfigError("range", f"start {self.start} is after end {self.end}")
        if self.days > MAX_DAYS:
            raise ConfigError("range", f"{self.days} days is longer than the {MAX_DAYS} allowed")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 local, end+1 00:00 local) as naive UTC datetimes, as MongoDB stores them."""
        zone = ZoneInfo(self.timezone)

        def midnight(d: date) -> datetime:
            local = datetime.combine(d, time(0), tzinfo=zone)
            return local.astimezone(UTC).replace(tzinfo=None)

        return midnight(self.start), midnight(self.end + timedelta(days=1))

    def describe(self) -> str:
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y} ({self.timezone})"


def parse_date(value: date | str, key: str) -> date:
    """A day given as a date (a datetime gives its date) or as "YYYY-MM-DD"."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def parse_month(text: str, key: str = "month") -> tuple[int, int]:
    try:
        parsed = datetime.strptime(text, "%Y-%m")
    except (TypeError, ValueError):
        raise ConfigError(key, f"{text!r} is not a month (expected YYYY-MM or 'last')") from None
    return parsed.year, parsed.month


def today_in(timezone: str) -> date:
    """Today in the zone, or the day $USAGE_AS_OF pins (reproducible pages and tests)."""
    pinned = os.environ.get("USAGE_AS_OF")
    if pinned:
        return parse_date(pinned, "USAGE_AS_OF")
    return datetime.now(ZoneInfo(check_timezone(timezone))).date()


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month_after(year: int, month: int) -> date:
    """The first day of the next month: the `as_of` for which (year, month) is the last full month."""
    return date(*add_months(year, month, 1), 1)


def report_month(text: str, key: str = "month") -> tuple[int, int]:
    """'YYYY-MM', or '' / 'last' for the last full month (UTC, as billing uses)."""
    if text in ("", "last"):
        return last_full_month(today_in("UTC"))
    return parse_month(text, key)


def month_key(text: str, key: str = "month") -> str:
    """The report month as 'YYYY-MM' ('' or 'last': the last full month)."""
    year, month = report_month(text, key)
    return f"{year:04d}-{month:02d}"


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def months_ending(year: int, month: int, months: int = 6, timezone: str = "UTC") -> DateRange:
    """The `months` full months ending with (year, month)."""
    if months < 1:
        raise ConfigError("months", f"must be 1 or more, got {months}")
    first = add_months(year, month, -(months - 1))
    return DateRange(date(*first, 1), month_end(year, month), timezone)


def last_full_month(as_of: date) -> tuple[int, int]:
    return add_months(as_of.year, as_of.month, -1)


def default_range(as_of: date, months: int = 6, timezone: str = "UTC") -> DateRange:
    """The last `months` full months before `as_of`: never a rolling window."""
    return months_ending(*last_full_month(as_of), months=months, timezone=timezone)


def last_n_days(n: int, today: date, timezone: str = "UTC") -> DateRange:
    """A 'last N days' preset: N days including today."""
    return DateRange(today - timedelta(days=check_days(n) - 1), today, timezone)


def check_days(n: object, key: str = "last_days") -> int:
    """A number of days for "the last N days": a whole number from 1 to MAX_DAYS."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise ConfigError(key, f"{n!r} is not a whole number of days")
    if n < 1:
        raise ConfigError(key, f"must be 1 or more, got {n}")
    if n > MAX_DAYS:
        raise ConfigError(key, f"must be at most {MAX_DAYS}, got {n}")
    return n


def resolve_range(
    *,
    start: date | str | None = None,
    end: date | str | None = None,
    last_days: int | None = None,
    month: str | None = None,
    as_of: date | str | None = None,
    timezone: str,
    months: int,
) -> DateRange:
    """The days asked for, in `timezone`, given one way of four:

    - `start` and `end` (dates or "YYYY-MM-DD"), both included;
    - `last_days`: the last N days, `as_of` (default: today in the zone) included;
    - `month`: one month, "YYYY-MM", or "last": the last full month before `as_of`
      (default: today in UTC, as billing counts months);
    - none of them: the last `months` full months before `as_of` (default: today in the zone).

    None or "" is "not given". A bad or mixed input is a ConfigError keyed by the setting to
    change (`start`, `end`, `last_days`, `month`, `as_of`)."""
    ranged = _given(start) or _given(end)
    if month and ranged:
        raise ConfigError("month", "give either a month or a start and end, not both")
    if month and last_days is not None:
        raise ConfigError("month", "give either a month or the last N days, not both")
    if last_days is not None and ranged:
        raise ConfigError("last_days", "give either the last N days or a start and end, not both")
    if ranged and not _given(end):
        raise ConfigError("end", "give both a start and an end, or neither")
    if ranged and not _given(start):
        raise ConfigError("start", "give both a start and an end, or neither")
    if last_days is not None:
        check_days(last_days)
    check_timezone(timezone)
    day = _day(as_of, "as_of")
    first, last = _day(start, "start"), _day(end, "end")
    if first is not None and last is not None:
        if last < first:
            raise ConfigError("end", f"{last} is before the start {first}")
        days = (last - first).days + 1
        if days > MAX_DAYS:
            raise ConfigError(
                "end", f"{first} to {last} is {days} days, longer than the {MAX_DAYS} allowed"
            )
        return DateRange(first, last, timezone)
    if last_days is not None:
        return last_n_days(last_days, day or today_in(timezone), timezone)
    if month:
        if day is not None and month == "last":
            return months_ending(*last_full_month(day), 1, timezone)
        return months_ending(*report_month(month), 1, timezone)
    return default_range(day or today_in(timezone), months, timezone)


def _given(value: object) -> bool:
    return value is not None and value != ""


def _day(value: date | str | None, key: str) -> date | None:
    return None if value is None or value == "" else parse_date(value, key)
