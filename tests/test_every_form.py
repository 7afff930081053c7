"""Every pass, every stored form, every MongoDB: the acceptance test.

One deterministic stored set per profile (no Hypothesis): plain billable conversations of
each tenant over the six months Nov 2025 - Apr 2026, then, in April 2026, one conversation
per odd form of every field tests/shapes.py lists (shapes.ODD; each otherwise a plain
billable conversation of a real tenant, so that a wrong reading changes a number), a steady
tenant that goes silent and a tenant whose widget is left in test mode (so that the watch
has alerts to raise). The CLI is run in-process on it, on the session's server (SecantusDB
that evaluates every `$and` / `$or` operand and presents itself as MongoDB 4.4), and every
command's numbers are the oracle's (tests/oracle.py):

- `table` (the platform and each tenant's agents), `explain`, `alerts` (JSON and text),
  `run` (the pack's manifest) and `statements` (each customer's rows);
- then `table` and `explain` again on plain SecantusDB (no gate, no eager `$and`): the same
  JSON, parsed and compared whole.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import oracle
import pytest
import shapes
from bson import Decimal128, Int64, ObjectId
from hypothesis.strategies import SearchStrategy
from limits import GATE
from pymongo import MongoClient
from shapes import (
    BOTS,
    EXCLUDE,
    EXCLUDED,
    FIELDS,
    FORK,
    HUMAN,
    MISSING,
    ODD,
    PLAIN,
    PROFILES,
    ROOT,
    TENANTS,
    USERS,
    WIDE,
    faq_kbs,
    mixed,
    stored_field,
    tenant_names,
)

from usage_lib.cli import main
from usage_lib.demo.server import EmbeddedMongo

MONTH = "2026-04"
APRIL = (date(2026, 4, 1), date(2026, 4, 30))
WINDOW = (date(2025, 11, 1), date(2026, 4, 30))  # the pack's six months
TODAY = "2026-05-10"  # USAGE_AS_OF: "today" for the commands that use it
AS_OF = date(2026, 4, 20)  # the watch's day: it watches Apr 17 - 19 (Fri - Sun)
DAYS, WEEKS, MIN_DAILY = 3, 8, 5  # the [alerts] defaults (usage_lib.core.config)
WATCHED = [AS_OF - timedelta(days=DAYS - i) for i in range(DAYS)]
SILENT = TENANTS[2]  # steady on Fridays to Sundays for 8 weeks, then nothing
SURGING = TENANTS[1]  # its widget left in test mode on the watched days
PROFILE_NAMES = ("custom-flags", "stock")
BOT_CYCLE = (*BOTS, FORK)  # FORK: a published fork of ROOT (stock reports it as ROOT)


def is_stock(profile: str) -> bool:
    return profile == "stock"


# -- the stored forms ------------------------------------------------------------------------


def finite(strategy: SearchStrategy[Any]) -> list[Any]:
    """The values a strategy of shapes.py lists literally: a `sampled_from` (not mapped) and
    the `sampled_from`s of a `one_of`; what is drawn from a range or mapped is not read here
    (EXTRA below writes those forms out)."""
    elements = getattr(strategy, "elements", None)
    if elements is not None and not getattr(strategy, "_transformations", ()):
        return list(elements)
    found: list[Any] = []
    for part in getattr(strategy, "original_strategies", ()):
        found += finite(part)
    return found


def _attributes(bot: Any, source: bool = False) -> dict[str, Any]:
    """shapes.py's `attributes` with this `bot_id` (MISSING: none), with the draft link."""
    attributes = {"sourcePage": shapes._SOURCE} if source else {}
    return attributes | ({} if bot is MISSING else {"bot_id": bot})


# The forms shapes.ODD draws from a range or through a map, written out (shapes.py names
# each strategy; these are its values at the ends of each range and in each case).
EXTRA: dict[str, list[Any]] = {
    "createdAt": [
        # ODD: minutes from Mar 26 20:00 UTC over 8 days, and each of _EDGES -1, 0, +1 minute
        *(datetime(2026, 3, 26, 20) + timedelta(minutes=m) for m in (0, 241, 2897, 8 * 24 * 60)),
        *(e + timedelta(minutes=d) for e in shapes._EDGES for d in (-1, 0, 1)),
        # the UTC edges of the six months and of April (BSON datetimes: milliseconds)
        datetime(2025, 10, 31, 23, 59, 59, 999000),
        datetime(2025, 11, 1),
        datetime(2026, 3, 31, 23, 59, 59, 999000),
        datetime(2026, 4, 1),
        datetime(2026, 4, 30, 23, 59, 59, 999000),
        datetime(2026, 5, 1),
    ],
    "tenant": [
        ObjectId(TENANTS[0]),
        TENANTS[0].upper(),
        TENANTS[2],
        mixed(TENANTS[1]),  # neither case: a tenant of its own
        EXCLUDED.upper(),
    ],
    "depth": [
        *range(-1, 3),  # st.integers(-1, 2)
        *(q / 4 for q in (0, 11, 12, 13, 30, 399)),  # quarters as floats
        *(Decimal128(str(q / 4)) for q in (0, 11, 12, 13, 30, 399)),  # and as Decimal128
        Int64(2),
    ],
    "attributes": [
        *(_attributes(b) for b in (BOTS[1].upper(), mixed(BOTS[2]), FORK.upper(), WIDE)),
        _attributes(WIDE.upper()),
        *(_attributes(b) for b in finite(shapes._ODD_BOT_ID)),
        *(_attributes(b, source=True) for b in (BOTS[3], MISSING, 42, ObjectId(ROOT))),
    ],
    "participantsBots": [
        [BOTS[1].upper()],
        [mixed(BOTS[3])],
        [WIDE.upper()],
        [FORK.upper()],
        [BOTS[2], BOTS[1]],
        [WIDE, BOTS[0]],
        BOTS[1],  # a string, not an array
        FORK.upper(),
    ],
    "participants": [
        ["bot_", "bot_" + BOTS[2]],
        [HUMAN, "bot_" + BOTS[1].upper()],
        [ObjectId(HUMAN), "BOT_" + ROOT, "bot_" + BOTS[3]],
        ["bots_x"],
        ["BOT_" + ROOT],
        ["bot_" + WIDE.upper()],
        ["bot_" + FORK],
        [HUMAN],
    ],
    "requester": [USERS[1].upper(), mixed(USERS[2]), USERS[0]],
}

# The forms the brief of this test names, whether or not shapes.ODD holds them already.
NAMED: dict[str, list[Any]] = {
    "status": [MISSING, None, [1000], "1000"],
    "depth": [None, [5]],
    "preflight": ["true", 1, [True]],
    "channel": ["voice-vxml", {"name": 5}, {"name": ["voice-vxml"]}, [{"name": "voice-vxml"}]],
    "participants": [[123, "bot_" + BOTS[1]], [None, "bot_" + BOTS[2]]],
}


def odd_forms(profile: str) -> list[tuple[str, Any]]:
    """(field, value) for every odd form of every field the profile reads: shapes.ODD's
    literal lists, EXTRA and NAMED, each once."""
    stock = is_stock(profile)
    found: list[tuple[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for name in FIELDS["stock" if stock else "custom"]:
        strategy = ODD["stock status" if stock and name == "status" else name]
        for value in [*finite(strategy), *EXTRA.get(name, []), *NAMED.get(name, [])]:
            key = (name, f"{type(value).__name__}:{value!r}")
            if key not in seen:
                seen.add(key)
                found.append((name, value))
    return found


# -- the stored set ----------------------------------------------------------------------------


@dataclass
class Builder:
    profile: str
    docs: list[dict[str, Any]] = field(default_factory=list)

    def plain(self, when: Any, tenant: str | None = None, **changes: Any) -> dict[str, Any]:
        """A plain billable conversation (each field in one of shapes.PLAIN's forms, varied
        with the document's number), of `tenant` (default: one of TENANTS), with `changes`
        (stored names; MISSING: left out)."""
        stock, i = is_stock(self.profile), len(self.docs)
        t = TENANTS[i % 3] if tenant is None else tenant
        bot = BOT_CYCLE[i % len(BOT_CYCLE)]
        statuses = finite(PLAIN["status"])
        doc: dict[str, Any] = {
            "_id": ObjectId(f"e0{i:022x}"),
            "createdAt": when,
            "status": statuses[i % len(statuses)],
            stored_field("tenant", stock): [ObjectId(t), t, t.upper()][i % 3],
            "attributes": {"bot_id": bot},
            "participantsBots": [bot],
            "participants": [HUMAN, f"bot_{bot}"] if i % 4 == 0 else [f"bot_{bot}"],
            "participantsAgents": [HUMAN] if i % 4 == 0 else [],
            "requester": ObjectId(USERS[i % 3]),
            "channel": {"name": "chat21"},
        }
        if i % 2:
            doc[stored_field("test", stock)] = False
            doc["preflight"] = False
        if not stock:
            doc["depth"] = Int64(3 + i % 6) if i % 5 == 0 else 3 + i % 6
        for key, value in changes.items():
            doc.pop(key, None)
            if value is not MISSING:
                doc[key] = value
        self.docs.append(doc)
        return doc


def april_day(i: int) -> datetime:
    """The i-th odd form's start: spread over April's days and hours."""
    return datetime(2026, 4, 1 + (i * 7) % 30, (i * 5) % 24, (i * 13) % 60)


def dataset(profile: str) -> list[dict[str, Any]]:
    stock = is_stock(profile)
    test_field, tenant_field = stored_field("test", stock), stored_field("tenant", stock)
    b = Builder(profile)
    # plain conversations of each tenant, two a month over the six months and four in April
    for year, month in [(2025, 11), (2025, 12), (2026, 1), (2026, 2), (2026, 3)]:
        for t in range(3):
            b.plain(datetime(year, month, 3 + t, 9 + t), TENANTS[t])
            b.plain(datetime(year, month, 20 + t, 15, 30), TENANTS[t])
    for t in range(3):
        for k in range(4):
            b.plain(datetime(2026, 4, 2 + 8 * k, 10 + t, 5 * k), TENANTS[t])
    b.plain(datetime(2025, 12, 28), TENANTS[0], depth=Int64(4))
    # the excluded organization (or project): counted nowhere
    for when in (datetime(2026, 3, 10), datetime(2026, 4, 5), datetime(2026, 4, 18)):
        b.plain(when, EXCLUDED)
    # the watch: SILENT steady on Fridays to Sundays (half not in a counted status), then
    # silent on the watched days; SURGING's conversations on those days are all tests
    day = date(2026, 2, 20)
    while day < WATCHED[0]:
        if day.isoweekday() >= 5:
            for n in range(6):
                when = datetime(day.year, day.month, day.day, 8 + 2 * n)
                b.plain(when, SILENT, attributes={"bot_id": BOTS[2]}, status=1000 if n % 2 else 50)
        day += timedelta(days=1)
    for d in WATCHED:
        for n in range(6):
            b.plain(datetime(d.year, d.month, d.day, 9 + n), SURGING, **{test_field: True})
        b.plain(datetime(d.year, d.month, d.day, 18), TENANTS[0])
    # one conversation per odd form of every field, otherwise plain, of a real tenant
    for i, (name, value) in enumerate(odd_forms(profile)):
        when = april_day(i)
        if i % 3 == 2 and when.date() in WATCHED:  # SILENT's stays silent
            when += timedelta(days=DAYS)
        changes: dict[str, Any] = {}
        other = BOTS[(i + 1) % len(BOTS)]
        if name == "attributes":  # the fall-backs name another bot: a wrong reading shows
            changes |= {"participantsBots": [other], "participants": [HUMAN, f"bot_{BOTS[3]}"]}
        elif name == "participantsBots":
            changes |= {"attributes": {}, "participants": [HUMAN, f"bot_{other}"]}
        elif name == "participants":
            changes |= {"attributes": MISSING, "participantsBots": MISSING}
        changes[stored_field(name, stock)] = value
        b.plain(when, TENANTS[i % 3], **changes)
    for doc in b.docs:  # an odd tenant form may still be SILENT's
        created = doc.get("createdAt")
        if (
            isinstance(created, datetime)
            and created.date() in WATCHED
            and oracle.tenant_key(doc.get(tenant_field)) == SILENT
        ):
            doc["createdAt"] = created + timedelta(days=DAYS)
    return b.docs


# -- the profiles, the oracle's readings ---------------------------------------------------------


def bots(profile: str) -> list[dict[str, Any]]:
    """faq_kbs (the same under both profiles): FORK's root_id a string in upper case,
    BOTS[1]'s root_id null (no fork)."""
    return faq_kbs(ROOT.upper(), None)


def reading(profile: str) -> oracle.Custom | oracle.Stock:
    if is_stock(profile):
        return oracle.Stock(forks=oracle.forks_of(bots(profile)))
    return oracle.Custom(exclude_preflight=True, exclude_channels=frozenset({"voice-vxml"}))


@dataclass
class Stored:
    profile: str
    docs: list[dict[str, Any]]
    config: Path
    uri: str
    db: str

    @property
    def reading(self) -> oracle.Custom | oracle.Stock:
        return reading(self.profile)


def store(uri: str, name: str, profile: str, docs: list[dict[str, Any]]) -> None:
    with MongoClient[dict[str, Any]](uri) as client:
        db = client[name]
        db.requests.insert_many([dict(d) for d in docs])
        db.faq_kbs.insert_many(bots(profile))
        collection, names = tenant_names(profile)
        db[collection].insert_many(names)


def drop(uri: str, name: str) -> None:
    with MongoClient[dict[str, Any]](uri) as client:
        client.drop_database(name)


@pytest.fixture(scope="module", params=PROFILE_NAMES)
def stored(
    request: pytest.FixtureRequest, mongo: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stored]:
    """The profile's set in a fresh database of the session's server, and its config (the
    profile's [billing] and the exclusion of shapes.EXCLUDED)."""
    profile = request.param
    config = tmp_path_factory.mktemp("everyform") / f"{profile}.toml"
    config.write_text(PROFILES[profile] + "\n" + EXCLUDE, encoding="utf-8")
    docs = dataset(profile)
    name = f"everyform_{uuid.uuid4().hex[:12]}"
    store(mongo.uri, name, profile, docs)
    try:
        yield Stored(profile, docs, config, mongo.uri, name)
    finally:
        drop(mongo.uri, name)


@pytest.fixture(scope="module")
def ungated() -> Iterator[EmbeddedMongo]:
    """Plain SecantusDB: no proxy, no gate, no eager `$and` / `$or`."""
    with EmbeddedMongo(":memory:") as server:
        yield server


def cli(s: Stored, *args: str, uri: str | None = None, db: str | None = None) -> str:
    """`usage-report ARGS` in-process on the stored set: exit 0 and no traceback, its stdout."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("USAGE_MONGODB_URI", uri or s.uri)
        env.setenv("USAGE_MONGODB_DB", db or s.db)
        env.setenv("USAGE_CONFIG", str(s.config))
        env.setenv("USAGE_AS_OF", TODAY)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's own errors
                code = exc.code if isinstance(exc.code, int) else 1
    said = f"{s.profile}: usage-report {' '.join(args)}: exit {code}, stderr {err.getvalue()!r}"
    assert "Traceback" not in err.getvalue(), said
    assert code == 0, said
    return out.getvalue()


# -- table and explain ------------------------------------------------------------------------

TABLE = ["table", "--format", "json", "--metrics", "all", "--granularity", "month"]
TABLE += ["--start", WINDOW[0].isoformat(), "--end", WINDOW[1].isoformat()]
EXPLAIN = ["explain", "--month", MONTH, "--format", "json"]


def scopes() -> Iterator[tuple[list[str], dict[str, Any]]]:
    """(flags, the oracle's selection): the platform, and each tenant's agents."""
    yield [], {}
    for tenant in (*TENANTS, EXCLUDED, "unassigned"):
        yield ["--scope", "org", "--org", tenant], {"by": "agent", "org": tenant}


def tables(s: Stored, **server: str) -> dict[str, Any]:
    """`table`'s JSON for every scope, without what it read from the local store (which
    depends on what ran before, not on the data)."""
    answers = {
        " ".join(f) or "platform": json.loads(cli(s, *TABLE, *f, **server)) for f, _ in scopes()
    }
    for answer in answers.values():
        said = set(answer.pop("read"))  # and a note when no conversation carries updatedAt
        assert {"days_cached", "days_read"} <= said <= {"days_cached", "days_read", "note"}
    return answers


def steps_from_json(tenant: dict[str, Any]) -> dict[str, Any]:
    """explain's JSON steps of a tenant in the shape of `oracle.steps`."""
    rows = tenant["steps"]
    assert rows[0]["step"] == "started" and rows[-1]["step"] == "billable"
    left = {r["step"]: r["left_out"] for r in rows[1:-1] if r["left_out"]}
    status: dict[str, int] = next(
        (r.get("by_status", {}) for r in rows if r["step"] == "status"), {}
    )
    missing = next((r["missing"] for r in rows if r["step"] == "depth"), 0)
    billable = rows[-1]["count"]
    assert rows[0]["count"] == billable + sum(left.values()), "the steps add up"
    return {"left": left, "status": status, "missing": missing, "billable": billable}


def test_table_is_the_oracles(stored: Stored) -> None:
    got = tables(stored)
    for flags, selection in scopes():
        want = oracle.metrics(
            stored.docs, *WINDOW, "UTC", "month", {EXCLUDED}, stock=stored.reading, **selection
        )
        assert oracle.metrics_from_json(got[" ".join(flags) or "platform"]) == want, flags
    platform = oracle.metrics_from_json(got["platform"])
    assert set(platform["totals"]) >= {"2025-11", "2026-03", MONTH}  # not vacuous
    assert mixed(TENANTS[1]) in platform["rows"] and "unassigned" in platform["rows"]


def test_explain_is_the_oracles(stored: Stored) -> None:
    got = json.loads(cli(stored, *EXPLAIN))
    by_id = {t["id"]: steps_from_json(t) for t in got["tenants"]}
    platform = by_id.pop("*")
    want = oracle.steps(stored.docs, *APRIL, "UTC", {EXCLUDED}, stored.reading)
    assert by_id == want
    summed: dict[str, Any] = {"left": {}, "status": {}, "missing": 0, "billable": 0}
    for t in want.values():
        for part in ("left", "status"):
            for k, v in t[part].items():
                summed[part][k] = summed[part].get(k, 0) + v
        summed["missing"] += t["missing"]
        summed["billable"] += t["billable"]
    assert platform == summed
    steps = {"preflight", "channel", "test", "status", "excluded"}
    assert steps <= set(summed["left"]), summed  # every step leaves some out


# -- alerts: the watch ---------------------------------------------------------------------------

WATCH_RANGE = (AS_OF - timedelta(weeks=WEEKS + 1), AS_OF - timedelta(days=1))  # from Feb 16


def expected_alerts(
    activity: dict[tuple[str, str, date], tuple[int, int, int]],
) -> tuple[int, set[tuple[str, str, str | None, int]], dict[tuple[str, str | None], float]]:
    """docs/alerts.md's rule over the oracle's activity, written from the doc: (tenants
    judged, {(kind, tenant, agent, observed)}, {(tenant, agent): expected})."""
    tenants: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    agents: dict[tuple[str, str], dict[date, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for (tenant, agent, day), (started, test, _) in activity.items():
        if tenant == oracle.UNASSIGNED:
            continue
        for series in [tenants[tenant]] + (
            [agents[tenant, agent]] if agent != oracle.UNATTRIBUTED else []
        ):
            series[day][0] += started
            series[day][1] += test

    def judge(series: dict[date, list[int]]) -> dict[str, Any] | None:
        seen = [d for d, (n, t) in series.items() if n + t]
        if not seen or min(seen) > AS_OF - timedelta(weeks=WEEKS):
            return None  # not `weeks` weeks of history

        def over(k: int, i: int) -> int:
            return sum(series.get(d - timedelta(weeks=k), [0, 0])[i] for d in WATCHED)

        o, tests = over(0, 0), over(0, 1)
        base = [over(k, 0) for k in range(1, WEEKS + 1)]
        base_tests = sum(over(k, 1) for k in range(1, WEEKS + 1))
        m = statistics.median(base)
        mad = statistics.median(abs(b - m) for b in base)
        z = (o - m) / max(1.4826 * mad, math.sqrt(m), 1.0)
        floor = m >= MIN_DAILY * DAYS
        share = tests / (tests + o) if tests + o else 0.0
        usual = base_tests / (base_tests + sum(base)) if base_tests + sum(base) else 0.0
        kinds = {
            "silent": floor and o == 0,
            "drop": floor and o > 0 and z <= -3 and o <= m / 2,
            "spike": floor and z >= 3 and o >= 2 * m,
            "test_surge": tests >= MIN_DAILY * DAYS and share >= 0.5 and share >= 3 * usual,
        }
        return {"kinds": {k for k, v in kinds.items() if v}, "o": o, "m": m, "tests": tests}

    found: set[tuple[str, str, str | None, int]] = set()
    expected: dict[tuple[str, str | None], float] = {}
    down = {"silent", "drop", "test_surge"}
    directions: dict[str, set[str]] = defaultdict(set)
    judged = 0
    for tenant, series in tenants.items():
        j = judge(series)
        if j is None:
            continue
        judged += 1
        kinds = j["kinds"] - ({"silent", "drop"} if "test_surge" in j["kinds"] else set())
        for kind in kinds:
            observed = j["tests"] if kind == "test_surge" else j["o"]
            found.add((kind, tenant, None, observed))
            directions[tenant].add("down" if kind in down else "up")
        expected[tenant, None] = j["m"]
    for (tenant, agent), series in agents.items():
        j = judge(series)
        if j is None:
            continue
        for kind in j["kinds"] - {"test_surge"}:
            if ("down" if kind in down else "up") not in directions[tenant]:
                found.add((kind, tenant, agent, j["o"]))
        expected[tenant, agent] = j["m"]
    return judged, found, expected


MONTH_SO_FAR = re.compile(
    r"April 2026 through 19 Apr: ([\d,]+) conversations started, ([\d,]+) billable so far; "
    r"on course for about ([\d,]+) billable against ([\d,]+) in March 2026"
)


def test_alerts_are_the_oracles(stored: Stored) -> None:
    activity = oracle.activity(stored.docs, *WATCH_RANGE, "UTC", {EXCLUDED}, stored.reading)
    judged, found, expected = expected_alerts(activity)
    got = json.loads(cli(stored, "alerts", "--format", "json", "--as-of", AS_OF.isoformat()))
    assert got["as_of"] == AS_OF.isoformat()
    assert got["days"] == [d.isoformat() for d in WATCHED]
    assert got["watched"] == judged
    alerts = {(a["kind"], a["id"], a["agent_id"], a["observed"]) for a in got["alerts"]}
    assert alerts == found
    assert {("silent", SILENT, None, 0)} <= found and any(a[0] == "test_surge" for a in found)
    for a in got["alerts"]:
        if a["kind"] != "test_surge":
            assert a["expected"] == pytest.approx(expected[a["id"], a["agent_id"]], abs=0.051)
    # the text: the month so far, from the same pass
    text = cli(stored, "alerts", "--as-of", AS_OF.isoformat())
    said = MONTH_SO_FAR.search(text)
    assert said, text
    started, billable, projection, last = (int(g.replace(",", "")) for g in said.groups())

    def summed(first: date, last: date, i: int) -> int:
        return sum(v[i] for (_, _, d), v in activity.items() if first <= d <= last)

    assert started == summed(date(2026, 4, 1), WATCHED[-1], 0)
    assert billable == summed(date(2026, 4, 1), WATCHED[-1], 2)
    assert last == summed(date(2026, 3, 1), date(2026, 3, 31), 2)
    base_end = WATCHED[0] - timedelta(days=1)
    rates: dict[int, float] = defaultdict(float)
    for (_, _, d), v in activity.items():
        if base_end - timedelta(weeks=WEEKS) < d <= base_end:
            rates[d.isoweekday()] += v[2] / WEEKS
    left = [AS_OF + timedelta(days=i) for i in range((APRIL[1] - AS_OF).days + 1)]
    assert projection == round(billable + sum(rates[d.isoweekday()] for d in left))


# -- the monthly pack and the statements ------------------------------------------------------------


def test_pack_and_statements_are_the_oracles(
    stored: Stored, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("everyform-out")
    r = stored.reading
    counts = oracle.counts(stored.docs, *WINDOW, "UTC", "month", {EXCLUDED}, stock=r)
    by_month: dict[str, int] = defaultdict(int)
    for buckets in counts.values():
        for key, n in buckets.items():
            by_month[key] += n
    cli(stored, "run", "--month", MONTH, "--out", str(out), "--quiet")
    manifest = json.loads((out / MONTH / "manifest.json").read_text(encoding="utf-8"))
    billed = manifest["billable"]
    assert {k: v for k, v in billed["by_month"].items() if v} == by_month
    assert billed["month"] == by_month[MONTH] and billed["total"] == sum(by_month.values())

    cli(stored, "statements", "--month", MONTH, "--out", str(out), "--quiet")
    customers = {
        org: b[MONTH] for org, b in counts.items() if org != oracle.UNASSIGNED and b.get(MONTH)
    }
    stream = oracle.conversations(stored.docs, *APRIL, "UTC", set(customers), r)
    folders = {}
    for folder in (out / MONTH / "customers").iterdir():
        org = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        folders[org["organization"]["id"]] = folder
    assert set(folders) == set(customers)
    for org, folder in folders.items():
        with open(folder / "conversations.csv", newline="", encoding="utf-8") as f:
            rows = {row["_id"]: row for row in csv.DictReader(f)}
        with open(folder / "not-billed.csv", newline="", encoding="utf-8") as f:
            others = {row["_id"]: row["reason"] for row in csv.DictReader(f)}
        mine = {i: v for i, v in stream.items() if v[0] == org}
        assert set(rows) == {i for i, v in mine.items() if v[1] == "billable"}, org
        assert len(rows) == customers[org], org
        for i, row in rows.items():
            agent = mine[i][2]
            assert row["agent_id"] == ("" if agent == oracle.UNATTRIBUTED else agent), (org, i)
        by_id = {str(d["_id"]): d for d in stored.docs}
        want = {}
        for i, (_, step, _) in mine.items():
            if step == "billable":
                continue
            doc = by_id[i]
            if step == "status":
                step = f"status: {oracle.status_name(doc.get('status'))}"
            elif step == "depth":
                known = oracle.number(doc.get("depth")) is not None
                step = "depth: too short" if known else "depth: missing"
            want[i] = step
        assert others == want, org


# -- the same numbers on plain SecantusDB ------------------------------------------------------------


def test_an_ungated_server_gives_the_same_json(stored: Stored, ungated: EmbeddedMongo) -> None:
    with MongoClient[dict[str, Any]](ungated.uri) as client:  # it is not the gate's MongoDB 4.4
        assert client.server_info()["version"] != GATE
    name = f"everyform_{uuid.uuid4().hex[:12]}"
    store(ungated.uri, name, stored.profile, stored.docs)
    try:
        plain = {"uri": ungated.uri, "db": name}
        assert tables(stored, **plain) == tables(stored)
        assert json.loads(cli(stored, *EXPLAIN, **plain)) == json.loads(cli(stored, *EXPLAIN))
    finally:
        drop(ungated.uri, name)
