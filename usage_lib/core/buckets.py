"""Bucketing, in one place: the granularity a range gets, its buckets (keys and labels,
partial first and last ones), the day -> bucket map a cube is cut with, and the cut of a
date to its local day or month that the pass asks the server for. Buckets are unions of
days in one zone, so monthly and weekly figures come exactly from a daily cube; weeks start on Monday and are keyed by its date
(never ISO weeks, which break at year ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from usage_lib.core.periods import DateRange, add_months, month_end
from usage_lib.errors import ConfigError

if TYPE_CHECKING:  # polars is imported where a frame is made: --help starts fast
    import polars as pl

Granularity = Literal["month", "week", "day"]
GRANULARITIES: tuple[str, ...] = ("auto", "month", "week", "day")


@dataclass(frozen=True)
class Bucket:
    key: str  # month YYYY-MM, week: its Monday YYYY-MM-DD, day YYYY-MM-DD
    label: str
    start: date  # inclusive, clipped to the range
    end: date  # inclusive, clipped to the range


def choose_granularity(rng: DateRange, override: str = "auto") -> Granularity:
    if override not in GRANULARITIES:
        raise ConfigError("granularity", f"{override!r} is not one of {', '.join(GRANULARITIES)}")
    if override != "auto":
        return override  # type: ignore[return-value]
    if rng.days > 31:
        return "month"
    if rng.days >= 8:
        return "week"
    return "day"


def _span_label(start: date, end: date) -> str:
    """Days as every page writes them, day first ("6 Nov 2026"): "6 Nov", "6 – 8 Nov",
    "30 Mar – 5 Apr"."""
    if start == end:
        return f"{start.day} {start:%b}"
    if start.month == end.month:
        return f"{start.day} – {end.day} {end:%b}"
    return f"{start.day} {start:%b} – {end.day} {end:%b}"


def buckets(rng: DateRange, granularity: Granularity) -> tuple[Bucket, ...]:
    """Every bucket that overlaps the range, clipped to it, in order."""
    out: list[Bucket] = []
    if granularity == "month":
        year, month = rng.start.year, rng.start.month
        while date(year, month, 1) <= rng.end:
            first, last = date(year, month, 1), month_end(year, month)
            start, end = max(first, rng.start), min(last, rng.end)
            full = (start, end) == (first, last)
            label = f"{first:%b %Y}" if full else f"{_span_label(start, end)} {year}"
            out.append(Bucket(f"{year:04d}-{month:02d}", label, start, end))
            year, month = add_months(year, month, 1)
    elif granularity == "week":
        monday = rng.start - timedelta(days=rng.start.weekday())
        while monday <= rng.end:
            start, end = max(monday, rng.start), min(monday + timedelta(days=6), rng.end)
            out.append(Bucket(monday.isoformat(), _span_label(start, end), start, end))
            monday += timedelta(days=7)
    elif granularity == "day":
        day = rng.start
        while day <= rng.end:
            out.append(Bucket(day.isoformat(), _span_label(day, day), day, day))
            day += timedelta(days=1)
    else:
        raise ConfigError("granularity", f"{granularity!r} is not one of month, week, day")
    return tuple(out)


def bucket_key(day: date, granularity: Granularity) -> str:
    """The key of the bucket that holds `day` (mirrors `buckets`)."""
    if granularity == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if granularity == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()


_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/Greenwich"}
_UTC_NAMES |= {"Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0"}


def server_zone(timezone: str) -> str:
    """The zone as every MongoDB since 3.6 reads it: an `Etc/` name (which mongod knows from
    5.0.4 only) as its fixed offset, "Etc/GMT+5" being UTC-05:00 (POSIX signs)."""
    if timezone in _UTC_NAMES:
        return "UTC"
    if timezone.startswith("Etc/GMT") and timezone[7:8] in ("+", "-") and timezone[8:].isdigit():
        hours = int(timezone[8:])
        return f"{'-' if timezone[7] == '+' else '+'}{hours:02d}:00"
    return timezone


def local_day(date_expr: Any, unit: str, timezone: str) -> dict[str, Any]:
    """The server's cut of a date to its local day (`unit` "day") or the first day of its
    local month ("month") in `timezone`, as "YYYY-MM-DD": one `$dateToString` per
    conversation (MongoDB 3.6; `$dateTrunc` needs 5.0), and no instant to convert back."""
    if unit not in ("day", "month"):
        raise ValueError(f"a pass cuts days or months, not {unit!r}")
    fmt = "%Y-%m-01" if unit == "month" else "%Y-%m-%d"
    return {"$dateToString": {"date": date_expr, "format": fmt, "timezone": server_zone(timezone)}}


def bucket_of_day(day_expr: Any, unit: str) -> Any:
    """A "YYYY-MM-DD" local day (`local_day`) -> the key of its bucket as a day: itself, the
    first of its month, or its week's Monday; calendar arithmetic in UTC, where a day is 24
    hours (MongoDB 3.6 operators)."""
    if unit == "day":
        return day_expr
    if unit == "month":
        return {"$concat": [{"$substrCP": [day_expr, 0, 8]}, "01"]}
    if unit != "week":
        raise ValueError(f"no bucket {unit!r}")
    day = {"$dateFromString": {"dateString": day_expr, "format": "%Y-%m-%d", "timezone": "UTC"}}
    back = {"$multiply": [{"$subtract": [{"$isoDayOfWeek": "$$day"}, 1]}, 86_400_000]}
    monday = {"$subtract": ["$$day", back]}
    return {
        "$let": {
            "vars": {"day": day},
            "in": {"$dateToString": {"date": monday, "format": "%Y-%m-%d", "timezone": "UTC"}},
        }
    }


def day_buckets(bks: tuple[Bucket, ...]) -> pl.DataFrame:
    """Every day of the buckets with its bucket key: the exact day -> bucket map."""
    import polars as pl

    days, keys = [], []
    for b in bks:
        for i in range((b.end - b.start).days + 1):
            days.append(b.start + timedelta(days=i))
            keys.append(b.key)
    return pl.DataFrame({"day": days, "bucket": keys}, schema={"day": pl.Date, "bucket": pl.String})


def bucketed(cube: Any, bks: tuple[Bucket, ...], value: str = "billable") -> pl.DataFrame:
    """Cube rows with their bucket key and the counted value as `n`."""
    import polars as pl

    return cube.frame.join(day_buckets(bks), on="day", how="inner").with_columns(
        pl.col(value).alias("n")
    )
