"""The watch's rule on generated daily series: planted silences, drops, spikes and test
surges are found, and the false-alarm controls (weekly seasonality, small tenants, noisy but
steady tenants, too little history) are not; every figure against an independent computation
written from docs/alerts.md in plain Python."""

from __future__ import annotations

import math
import random
import statistics
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from usage_lib.figures.watch import Watch, detect, month_alerts, month_so_far

AS_OF = date(2026, 11, 25)  # a Wednesday: the watched days are Sun 22 - Tue 24 Nov
START = AS_OF - timedelta(weeks=10)
END = date(2026, 12, 2)  # the series run on past the as-of day, through November's last watch


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 60:  # a normal approximation is plenty for a test's noise
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


Series = dict[date, tuple[int, int]]  # day -> (started, tests)


def series(
    rng: random.Random, daily: Any, tests: Any = lambda d: 0.0, since: date = START
) -> Series:
    """`daily(day)` and `tests(day)`: the mean started (and test) conversations that day."""
    out = {}
    day = since
    while day < END:
        out[day] = (poisson(rng, daily(day)), poisson(rng, tests(day)))
        day += timedelta(days=1)
    return out


def watched(day: date) -> bool:
    return AS_OF - timedelta(days=3) <= day < AS_OF


def weekday_of_b2b(day: date) -> float:
    return 0.0 if day.weekday() >= 5 else 45.0


# name -> {agent: series}; what each one plants
rng = random.Random(11)
TENANTS: dict[str, dict[str, Series]] = {
    "silent": {"bot-a": series(rng, lambda d: 0 if watched(d) else 30)},
    "dropping": {"bot-a": series(rng, lambda d: 12 if watched(d) else 40)},
    "spiking": {"bot-a": series(rng, lambda d: 110 if watched(d) else 30)},
    "test-mode": {
        "bot-a": series(rng, lambda d: 4 if watched(d) else 30, lambda d: 40 if watched(d) else 1)
    },
    # controls
    "steady": {"bot-a": series(rng, lambda d: 60), "bot-b": series(rng, lambda d: 20)},
    "b2b": {"bot-a": series(rng, weekday_of_b2b)},  # the watched Sunday is quiet: always was
    "small": {"bot-a": series(rng, lambda d: 0 if watched(d) else 2)},
    "noisy": {"bot-a": series(rng, lambda d: rng.choice((5, 40, 80)))},
    "new": {
        "bot-a": series(rng, lambda d: 0 if watched(d) else 30, since=AS_OF - timedelta(weeks=6))
    },
    "open-last-days": {"bot-a": series(rng, lambda d: 35)},  # started, whatever their status
    # one agent of a steady tenant goes silent while the other takes its load
    "moved": {
        "bot-a": series(rng, lambda d: 0 if watched(d) else 25),
        "bot-b": series(rng, lambda d: 40 if watched(d) else 25),
    },
}
PLANTED = {
    ("silent", "silent", None),
    ("drop", "dropping", None),
    ("spike", "spiking", None),
    ("test_surge", "test-mode", None),
    ("silent", "moved", "bot-a"),
}


def activity() -> pl.DataFrame:
    rows = [
        (org, agent, day, started, tests, started)
        for org, agents in TENANTS.items()
        for agent, days in agents.items()
        for day, (started, tests) in days.items()
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "org_id": pl.String,
            "agent_id": pl.String,
            "day": pl.Date,
            "started": pl.Int64,
            "test": pl.Int64,
            "billable": pl.Int64,
        },
        orient="row",
    )
    return frame.with_columns(
        org_name=pl.col("org_id").str.to_uppercase(),
        agent_name=pl.col("agent_id").str.to_uppercase(),
    )


# -- the oracle: the rule of docs/alerts.md, in plain Python -------------------------------------


def judge(days: Series, watch: Watch) -> dict[str, Any] | None:
    seen = [d for d, (s, t) in days.items() if s + t > 0]
    if not seen or min(seen) > watch.as_of - timedelta(weeks=watch.weeks):
        return None

    def total(k: int, i: int) -> int:
        return sum(days.get(d - timedelta(weeks=k), (0, 0))[i] for d in watch.watched)

    observed, tests = total(0, 0), total(0, 1)
    weekly = [total(k, 0) for k in range(1, watch.weeks + 1)]
    base_tests = sum(total(k, 1) for k in range(1, watch.weeks + 1))
    m = statistics.median(weekly)
    mad = statistics.median(abs(b - m) for b in weekly)
    z = (observed - m) / max(1.4826 * mad, math.sqrt(m), 1.0)
    share = tests / (tests + observed) if tests + observed else 0.0
    base_total = base_tests + sum(weekly)
    usual = base_tests / base_total if base_total else 0.0
    big = m >= watch.min_daily * watch.days
    kinds = []
    if big and observed == 0:
        kinds.append("silent")
    if big and observed > 0 and z <= -3 and observed <= m / 2:
        kinds.append("drop")
    if big and z >= 3 and observed >= 2 * m:
        kinds.append("spike")
    if tests >= watch.min_daily * watch.days and share >= 0.5 and share >= 3 * usual:
        kinds.append("test_surge")
    return {
        "kinds": kinds,
        "observed": observed,
        "expected": m,
        "z": z,
        "tests": tests,
        "usual": usual,
    }


def oracle(watch: Watch) -> set[tuple[str, str, str | None]]:
    found: set[tuple[str, str, str | None]] = set()
    for org, agents in TENANTS.items():
        merged: Series = {}
        for days in agents.values():
            for d, (s, t) in days.items():
                a, b = merged.get(d, (0, 0))
                merged[d] = (a + s, b + t)
        verdict = judge(merged, watch)
        tenant_kinds = set(verdict["kinds"]) if verdict else set()
        if "test_surge" in tenant_kinds:
            tenant_kinds -= {"silent", "drop"}
        found |= {(k, org, None) for k in tenant_kinds}
        down = bool(tenant_kinds & {"silent", "drop", "test_surge"})
        up = "spike" in tenant_kinds
        for agent, days in agents.items():
            v = judge(days, watch)
            for kind in v["kinds"] if v else []:
                if kind == "test_surge" or (kind == "spike" and up) or (kind != "spike" and down):
                    continue
                found.add((kind, org, agent))
    return found


def found_by(alerts: pl.DataFrame) -> set[tuple[str, str, str | None]]:
    return {(r["kind"], r["id"], r["agent_id"]) for r in alerts.iter_rows(named=True)}


WATCH = Watch(AS_OF, days=3, weeks=8, min_daily=5)


def test_the_planted_are_found_and_no_control() -> None:
    alerts = detect(activity(), WATCH, "organization")
    assert found_by(alerts.frame) == PLANTED
    assert alerts.watched == len(TENANTS) - 1  # "new" has six weeks of history, not eight


@pytest.mark.parametrize(
    "watch",
    [
        WATCH,
        Watch(AS_OF, days=1, weeks=8, min_daily=5),
        Watch(AS_OF - timedelta(days=2), days=2, weeks=4, min_daily=3),
        Watch(AS_OF - timedelta(days=4), days=3, weeks=6, min_daily=10),
        Watch(AS_OF, days=7, weeks=5, min_daily=1),
    ],
)
def test_the_rule_is_the_oracle_for_any_settings(watch: Watch) -> None:
    assert found_by(detect(activity(), watch, "organization").frame) == oracle(watch)


def test_each_figure_is_the_oracle() -> None:
    alerts = detect(activity(), WATCH, "organization").frame
    for row in alerts.iter_rows(named=True):
        days = TENANTS[row["id"]][row["agent_id"]] if row["agent_id"] else None
        if days is None:
            merged: Series = {}
            for one in TENANTS[row["id"]].values():
                for d, (s, t) in one.items():
                    a, b = merged.get(d, (0, 0))
                    merged[d] = (a + s, b + t)
            days = merged
        v = judge(days, WATCH)
        assert v is not None
        if row["kind"] == "test_surge":
            assert row["observed"] == v["tests"]
            assert row["expected"] == pytest.approx(
                v["usual"] * (v["tests"] + v["observed"]), abs=0.05
            )
            assert row["z"] is None
        else:
            assert (row["observed"], row["expected"]) == (v["observed"], v["expected"])
            if row["kind"] == "silent":
                assert row["z"] is None and row["change_pct"] == -100.0
            else:
                assert row["z"] == pytest.approx(v["z"], abs=0.005)
                assert row["change_pct"] == pytest.approx(
                    100 * (v["observed"] - v["expected"]) / v["expected"], abs=0.05
                )


def test_the_json_contract() -> None:
    result = detect(activity(), WATCH, "organization").to_json()
    assert list(result) == ["as_of", "days", "baseline_weeks", "watched", "alerts"]
    assert result["as_of"] == "2026-11-25"
    assert result["days"] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert result["baseline_weeks"] == 8
    first = result["alerts"][0]
    assert list(first) == [
        "kind", "tenant", "id", "name", "agent_id", "agent_name", "observed", "expected", "change_pct", "z",
    ]  # fmt: skip
    assert first["tenant"] == "organization" and first["name"] == first["id"].upper()
    kinds = [a["kind"] for a in result["alerts"]]
    order = ["silent", "drop", "test_surge", "spike"]
    assert kinds == sorted(kinds, key=order.index)
    silent = [a for a in result["alerts"] if a["kind"] == "silent"]
    assert [a["expected"] for a in silent] == sorted((a["expected"] for a in silent), reverse=True)
    agent = next(a for a in result["alerts"] if a["agent_id"])
    assert (agent["agent_id"], agent["agent_name"]) == ("bot-a", "BOT-A")


def test_a_line_a_person_can_act_on() -> None:
    lines = detect(activity(), WATCH, "organization").lines()
    silent = next(line for line in lines if line.startswith("SILENT:"))
    usual = statistics.median(
        sum(TENANTS["silent"]["bot-a"][d - timedelta(weeks=k)][0] for d in WATCH.watched)
        for k in range(1, 9)
    )
    assert silent == f"SILENT: silent for 3 days (usually {usual / 3:,.0f} a day on these weekdays)"
    assert any(line.startswith("MOVED, agent BOT-A: silent for 3 days") for line in lines)
    assert any(line.startswith("TEST-MODE: ") and "test mode" in line for line in lines)


def test_the_month_so_far_and_its_projection() -> None:
    frame = activity()
    so_far = month_so_far(frame, WATCH)
    in_month = frame.filter(pl.col("day").is_between(date(2026, 11, 1), date(2026, 11, 24)))
    assert (
        so_far.billable == in_month["billable"].sum()
        and so_far.started == in_month["started"].sum()
    )
    october = frame.filter(pl.col("day").is_between(date(2026, 10, 1), date(2026, 10, 31)))
    assert so_far.last_billable == october["billable"].sum()
    # the days left (25-30 Nov) at the mean of the same weekday over the 8 weeks before 22 Nov
    base = {d: 0 for d in range(7)}
    for row in frame.iter_rows(named=True):
        if date(2026, 9, 27) <= row["day"] <= date(2026, 11, 21):
            base[row["day"].weekday()] += row["billable"]
    rest = sum(base[(AS_OF + timedelta(days=i)).weekday()] / 8 for i in range(6))
    assert so_far.projection == round(so_far.billable + rest)
    assert so_far.through == date(2026, 11, 24)


def test_the_months_alerts() -> None:
    """The watch run over every day of November: the tenants that went silent or dropped,
    from the first watched day flagged."""
    flagged = month_alerts(activity(), 2026, 11, WATCH, "organization")
    rows = {r["id"]: r for r in flagged.iter_rows(named=True)}
    assert set(rows) == {"silent", "dropping"}
    assert rows["silent"]["kind"] == "silent" and rows["silent"]["since"] == date(2026, 11, 22)
    assert rows["dropping"]["kind"] == "drop" and rows["dropping"]["since"] >= date(2026, 11, 20)
