"""Stored data in every form (../shared/DOMAIN.md), through `usage-report table`.

Each generated set (tests/shapes.py) goes into a fresh database on the session's
SecantusDB server; the command then answers, for the platform, every tenant and one
agent, either with exactly the oracle's numbers (exit 0) or with one line saying what it
cannot read (exit 2). Never a traceback, never another exit code.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any

import oracle
import polars as pl
import pytest
from bson import Decimal128, ObjectId
from hypothesis import HealthCheck, Phase, event, given, settings
from pymongo import MongoClient
from shapes import (
    BOTS,
    END,
    EXCLUDE,
    EXCLUDED,
    FORK,
    HUMAN,
    PROFILES,
    ROOT,
    START,
    STOCK_RULES,
    TENANTS,
    USERS,
    WIDE,
    Shapes,
    mixed,
)
from shapes import shapes as stored_sets

from usage_lib.cli import main
from usage_lib.core import changes, rule, warm
from usage_lib.core.config import Config, Reconcile, load_config
from usage_lib.core.conversations import conversations
from usage_lib.core.db import LOOKUPS, PASSES
from usage_lib.core.explain import explain
from usage_lib.core.metrics import DRILL_DOWN, METRICS, Reading, Users
from usage_lib.core.periods import DateRange
from usage_lib.core.query import fork_roots, lookup_names, lookup_tenant_names, query_cube
from usage_lib.core.rows import CUSTOMER, STEP
from usage_lib.core.watch import query_watch
from usage_lib.errors import ReconcileError
from usage_lib.report.reconcile import read_billed

Client = MongoClient[dict[str, Any]]
# One bug per test shrunk (FOUND below keeps the others), and no explain phase: a failing
# run stays within a few minutes. The suite draws the same examples every run (CI must not
# fail by chance); USAGE_EXPLORE=N draws N times as many, new ones each run, to hunt.
EXPLORE = int(os.environ.get("USAGE_EXPLORE", "0") or 0)
SETTINGS = settings(
    derandomize=not EXPLORE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)


@pytest.fixture(scope="session")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One config file per profile and rule of shapes.PROFILES, each excluding EXCLUDED."""
    folder = tmp_path_factory.mktemp("shapes")
    paths = {}
    for name, toml in PROFILES.items():
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(toml + "\n" + EXCLUDE, encoding="utf-8")
    return paths


def run(args: list[str]) -> tuple[int, str, str]:
    """`usage-report table --format json --metrics all ARGS` in-process: (code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["table", "--format", "json", "--metrics", "all", *args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def scopes(s: Shapes) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """(the command's scope flags, the oracle's selection) for the platform, every tenant,
    and the drawn agent and Unattributed within the drawn tenant."""
    yield [], {}
    for tenant in (*TENANTS, EXCLUDED, "unassigned"):
        yield ["--scope", "org", "--org", tenant], {"by": "agent", "org": tenant}
    for agent in (s.bot, "unattributed"):
        flags = ["--scope", "agent", "--org", s.tenant, "--agent", agent]
        yield flags, {"by": "agent", "org": s.tenant, "agent": agent}


def reading(s: Shapes) -> oracle.Stock | oracle.Custom:
    """The oracle's reading of the set's profile and rule."""
    if s.profile == "custom":
        return oracle.Custom()
    if s.profile == "custom-flags":
        return oracle.Custom(exclude_preflight=True, exclude_channels=frozenset({"voice-vxml"}))
    return oracle.Stock(**STOCK_RULES[s.profile], forks=oracle.forks_of(s.faq_kbs))


def expected(s: Shapes, selection: dict[str, Any]) -> dict[str, Any]:
    return oracle.metrics(
        s.requests, START, END, s.tz, s.grain, {EXCLUDED}, stock=reading(s), **selection
    )


# -- every other read of the database, each against the oracle on the same set ------------------


def _watch(db: Any, config: Config, s: Shapes) -> None:
    """The watch's one pass (--no-cache), and the days `alerts` keeps in the local store."""
    rng = DateRange(START, END, s.tz)
    want = oracle.activity(s.requests, START, END, s.tz, {EXCLUDED}, reading(s))
    with tempfile.TemporaryDirectory() as root:
        for frame, what in (
            (query_watch(db, rng, config), "the watch's pass"),
            (warm.watched(db, Path(root), "shapes", rng, config)[0], "the watch's stored days"),
        ):
            got = {
                (r["org_id"], r["agent_id"], r["day"]): (r["started"], r["test"], r["billable"])
                for r in frame.iter_rows(named=True)
            }
            assert got == {k: v for k, v in want.items() if any(v)}, what


def _steps(db: Any, config: Config, s: Shapes) -> None:
    explained = explain(db, DateRange(START, END, s.tz), config)
    got = {
        t.id: {
            "left": t.left_out,
            "status": t.by_status,
            "missing": t.depth_missing,
            "billable": t.billable,
        }
        for t in explained.tenants
    }
    assert got == oracle.steps(s.requests, START, END, s.tz, {EXCLUDED}, reading(s)), "steps"


def _conversations(db: Any, config: Config, s: Shapes) -> None:
    customers = [*TENANTS, "", mixed(TENANTS[0])]
    rng = DateRange(START, END, s.tz)
    forks = fork_roots(db, config)
    got = {}
    last: tuple[str, datetime] | None = None
    for doc in conversations(db, rng, config, customers):
        here = (doc[CUSTOMER], doc["createdAt"])
        assert last is None or last <= here, "the stream is by customer, then oldest first"
        last = here
        agent = rule.agent_of(doc, config.profile, forks) or oracle.UNATTRIBUTED
        step = "billable" if doc[STEP] == rule.PASSED else doc[STEP]
        got[str(doc["_id"])] = (doc[CUSTOMER] or oracle.UNASSIGNED, step, agent)
    wanted = {t if t else oracle.UNASSIGNED for t in customers}
    want = oracle.conversations(s.requests, START, END, s.tz, wanted, reading(s))
    assert got == want, "the statements' stream"


def _names(db: Any, config: Config, s: Shapes) -> None:
    profile = config.profile
    collection, tenants = s.names
    ids = [*TENANTS, EXCLUDED, mixed(TENANTS[1])]
    assert lookup_tenant_names(db, ids, profile) == oracle.names(tenants, ids) | {
        oracle.UNASSIGNED: f"No {profile.tenant}"
    }, "tenant names"
    bots = [*BOTS, FORK, WIDE]
    frame = pl.DataFrame({"org_id": [TENANTS[0]] * len(bots), "agent_id": bots})
    named = lookup_names(db, frame, profile)
    got = dict(zip(named["agent_id"], named["agent_name"], strict=True))
    assert got == oracle.names(s.faq_kbs, bots), "agent names"


def _forks(db: Any, config: Config, s: Shapes) -> None:
    want = oracle.forks_of(s.faq_kbs) if config.profile.forks else {}
    assert fork_roots(db, config) == want, "published forks"


def _billed(db: Any, config: Config, s: Shapes) -> None:
    spec = Reconcile(collection="stripe_meters")
    want = oracle.billed(s.meters)
    if not want:
        with pytest.raises(ReconcileError):
            read_billed(spec, db)
        return
    got = {
        (r["org_id"], r["month"]): r["billed"] for r in read_billed(spec, db).iter_rows(named=True)
    }
    assert got == want, "reconciliation's billed side"


# Every pass of core.db.PASSES and look-up of core.db.LOOKUPS, and how it is checked ('table'
# drives the cube in every scope). A read of the database that is not here fails
# test_every_read_of_the_database_is_in_the_suite.
def _cube(db: Any, config: Config, s: Shapes) -> None:
    """The one pass over the range (--no-cache) against the cube `table` made from the local
    store's days (the oracle's numbers, above): the same frame and the same users."""
    rng = DateRange(START, END, s.tz)
    keys = ["org_id", "agent_id", "day"]
    without_users = Reading.of(["conversations", "depth_avg", "handoffs"])
    with tempfile.TemporaryDirectory() as root:
        got = warm.cube(db, Path(root), "shapes", rng, config, reading=without_users)
        cold = query_cube(db, rng, config, reading=without_users)
        assert got.frame.sort(keys).equals(cold.frame.sort(keys)), "the store's pass, no users"
        reading = Reading.of(METRICS, Users(s.grain, DRILL_DOWN))  # the days read again
        got = warm.cube(db, Path(root), "shapes", rng, config, reading=reading)
    cold = query_cube(db, rng, config, reading=reading)
    assert got.frame.sort(keys).equals(cold.frame.sort(keys)), "the cube's pass"
    assert got.users is not None and cold.users is not None
    assert got.users.equals(cold.users), "the cube's pass: users"


def _edits(db: Any, config: Config, s: Shapes) -> None:
    rng = DateRange(START, END, s.tz)
    assert changes.day_counts(db, rng, config) == oracle.day_counts(s.requests, START, END, s.tz), (
        "the count per day"
    )
    since = datetime(2026, 3, 30)
    got = changes.edited_days(db, rng, config, since)
    assert set(got) == oracle.edited_days(s.requests, START, END, s.tz, since), "edited days"


DRIVEN: dict[str, Callable[[Any, Config, Shapes], None] | None] = {
    "store": None,  # usage-report table, every scope, above: from the local store's days
    "cube": _cube,
    "counts": _edits,
    "edited": _edits,
    "watch": _watch,
    "watched": _watch,
    "steps": _steps,
    "conversations": _conversations,
    "names": _names,
    "forks": _forks,
    "billed": _billed,
}


def test_every_read_of_the_database_is_in_the_suite() -> None:
    assert set(DRIVEN) == set(PASSES) | set(LOOKUPS)


def check(
    client: Client,
    uri: str,
    configs: dict[str, Path],
    s: Shapes,
    record: Callable[[str], object] = print,
    may_refuse: bool = True,
) -> None:
    """Store `s` in a database of its own, ask every scope, compare; drop the database.
    `record`: told of each exit 2 (Hypothesis's `event` inside a property test); without
    `may_refuse` (plain documents only) the command must read the set: exit 0."""
    name = f"shapes_{uuid.uuid4().hex[:12]}"
    db = client[name]
    for doc in s.requests:
        doc.setdefault("_id", ObjectId())
    try:
        db.requests.insert_many([dict(d) for d in s.requests])
        db.faq_kbs.insert_many([dict(d) for d in s.faq_kbs])
        collection, names = s.names
        db[collection].insert_many(names)
        if s.meters:
            db.stripe_meters.insert_many([dict(d) for d in s.meters])
        span = ["--start", START.isoformat(), "--end", END.isoformat()]
        span += ["--tz", s.tz, "--granularity", s.grain]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("USAGE_MONGODB_URI", uri)
            env.setenv("USAGE_MONGODB_DB", name)
            env.setenv("USAGE_CONFIG", str(configs[s.profile]))
            for flags, selection in scopes(s):
                code, out, err = run([*span, *flags])
                said = f"{' '.join(flags) or 'platform'}: exit {code}, stderr {err!r}"
                assert "Traceback" not in err, said
                if code == 2 and may_refuse:  # it says in one line what it cannot read
                    assert len(err.splitlines()) == 1 and not out, said
                    record(f"exit 2: {err.strip()[:80]}")
                    continue
                assert code == 0, said
                got = oracle.metrics_from_json(json.loads(out))
                assert got == expected(s, selection), said
        config = load_config(configs[s.profile], env={})
        for check_pass in dict.fromkeys(DRIVEN.values()):  # each once
            if check_pass is not None:
                check_pass(db, config, s)
    finally:
        client.drop_database(name)


@settings(SETTINGS, max_examples=60 * max(1, EXPLORE))
@given(s=stored_sets(("custom", "custom-flags")))
def test_custom_profile_reads_every_stored_form(
    client: Client, mongo: Any, configs: dict[str, Path], s: Shapes
) -> None:
    check(client, mongo.uri, configs, s, event)


@settings(SETTINGS, max_examples=60 * max(1, EXPLORE))
@given(s=stored_sets(("stock", "stock-dashboard", "stock-numeric")))
def test_stock_profile_reads_every_stored_form(
    client: Client, mongo: Any, configs: dict[str, Path], s: Shapes
) -> None:
    check(client, mongo.uri, configs, s, event)


@settings(SETTINGS, max_examples=30 * max(1, EXPLORE))
@given(s=stored_sets(tuple(PROFILES), odd=False))
def test_plain_sets_are_always_read(
    client: Client, mongo: Any, configs: dict[str, Path], s: Shapes
) -> None:
    """Exit 2 is for what stored data cannot be read: a set of plain documents (ids in any
    form, any numeric status, no agent in the usual ways) is always read, exit 0."""
    check(client, mongo.uri, configs, s, event, may_refuse=False)


# -- what Hypothesis found, minimised: each set fails on the product as it was when found ----

DAY = datetime(2026, 3, 28, 12)  # inside the range in both zones


def custom(*changes: dict[str, Any]) -> Shapes:
    """Custom-profile requests, each a plain billable conversation (closed, depth 4, no
    tenant, no agent) with these fields changed."""
    return Shapes("custom", [{"createdAt": DAY, "status": 1000, "depth": 4} | c for c in changes])


def stock(*changes: dict[str, Any]) -> Shapes:
    """Stock-profile requests, each a plain closed conversation with these fields changed."""
    return Shapes("stock", [{"createdAt": DAY, "status": 1000} | c for c in changes])


FOUND = [
    # int(Decimal128) of the depth sum: a TypeError traceback in every scope
    pytest.param(custom({"depth": Decimal128("4")}), id="depth-decimal128"),
    # int() of a float depth sum: depth_avg 44.0 instead of 44.25
    pytest.param(custom({"depth": 44.25}), id="depth-fractional-float"),
    # `depth: {$gte: 3}` matches an array with a 5 in it: counted, with depth_avg 0.0
    pytest.param(custom({"depth": [5]}), id="depth-array"),
    # `$gt: [true, []]` (a bool sorts after arrays): counted as a hand-off
    pytest.param(
        custom({"participantsBots": [BOTS[1]], "participantsAgents": True}),
        id="participantsAgents-true",
    ),
    # $toString of an int or bool requester: counted as a user ("7", "true")
    pytest.param(custom({"requester": 7}), id="requester-int"),
    pytest.param(custom({"requester": True}), id="requester-bool"),
    # $toString of an object or array requester or tenant: exit 3, "Unsupported conversion
    # from object to string in $convert" (as MongoDB would say too)
    pytest.param(custom({"requester": {"id": USERS[0]}}), id="requester-object"),
    pytest.param(custom({"requester": [USERS[0]]}), id="requester-array"),
    pytest.param(custom({"id_organization": {"id": TENANTS[0]}}), id="tenant-object"),
    pytest.param(custom({"id_organization": [TENANTS[0]]}), id="tenant-array"),
    # an int or bool tenant is Unassigned in the counts, but its users go to a tenant "true"
    # (or "7"): the Unassigned row has 0 users while the platform total has 1
    pytest.param(
        custom({"id_organization": True, "requester": ObjectId(USERS[0])}), id="tenant-bool-users"
    ),
    pytest.param(
        custom({"id_organization": 7, "requester": ObjectId(USERS[0])}), id="tenant-int-users"
    ),
    # an upper- or mixed-case bot id is not lower-cased: an agent row "7B1B..." of its own
    pytest.param(custom({"participantsBots": [BOTS[1].upper()]}), id="participantsBots-upper"),
    pytest.param(custom({"attributes": {"bot_id": BOTS[2].upper()}}), id="bot_id-upper"),
    pytest.param(
        stock({"participants": ["bot_" + BOTS[3].upper()]}), id="stock-participants-upper"
    ),
    # ... and under stock an upper-case fork id is not reported as its root
    pytest.param(stock({"attributes": {"bot_id": FORK.upper()}}), id="stock-fork-upper"),
    # participantsBots a string, not an array: taken as the agent
    pytest.param(custom({"participantsBots": BOTS[1]}), id="participantsBots-string"),
    # a first participantsBots entry that is no string: the agent "123"
    pytest.param(custom({"participantsBots": [123]}), id="participantsBots-int"),
    pytest.param(custom({"participantsBots": [ObjectId(ROOT)]}), id="participantsBots-objectid"),
    # an object or ObjectId bot_id sorts after "" and is taken, then read as no agent:
    # Unattributed, though participantsBots names the bot
    pytest.param(
        custom({"attributes": {"bot_id": {"id": ROOT}}, "participantsBots": [BOTS[1]]}),
        id="bot_id-object",
    ),
    pytest.param(
        custom({"attributes": {"bot_id": ObjectId(ROOT)}, "participantsBots": [BOTS[1]]}),
        id="bot_id-objectid",
    ),
    pytest.param(
        stock({"attributes": {"bot_id": ObjectId(FORK)}, "participants": ["bot_" + BOTS[1]]}),
        id="stock-bot_id-objectid",
    ),
    # stock: participantsBots [""] or [None] is not empty, so the bot_ participant is not read
    pytest.param(
        stock({"participantsBots": [""], "participants": ["bot_" + BOTS[1]]}),
        id="stock-participantsBots-empty-string",
    ),
    pytest.param(
        stock({"participantsBots": [None], "participants": ["bot_" + BOTS[1]]}),
        id="stock-participantsBots-null-entry",
    ),
    # stock: a bare "bot_" first is taken as the bot_ entry, and is no agent
    pytest.param(
        stock({"participants": ["bot_", "bot_" + BOTS[2]]}), id="stock-participants-bare-prefix"
    ),
    # stock: participants a string: exit 3, "input to $filter must be an array not string"
    pytest.param(stock({"participants": "bot_" + ROOT}), id="stock-participants-string"),
    # two forms of "no bot" in one organization and bucket: two Unattributed rows of users,
    # and polars' ComputeError ("'item' expected no or a single value") at --scope org
    pytest.param(custom({}, {"participantsBots": None}), id="unattributed-missing-and-null"),
    pytest.param(custom({}, {"participantsBots": []}), id="unattributed-missing-and-empty"),
    pytest.param(custom({}, {"participantsBots": [None]}), id="unattributed-missing-and-[null]"),
]


@pytest.mark.parametrize("s", FOUND)
def test_what_hypothesis_found(
    client: Client, mongo: Any, configs: dict[str, Path], s: Shapes
) -> None:
    check(client, mongo.uri, configs, s)


PLAIN_FOUND = [
    # nothing billable in the range (the one conversation is an excluded organization's):
    # exit 2 "--metrics: distinct users were not counted for platform tables" in every
    # scope, where an empty table (exit 0, "No billable conversations ...") is the answer
    pytest.param(custom({"id_organization": ObjectId(EXCLUDED)}), id="nothing-billable"),
    # a tenant or agent without conversations (here every tenant but TENANTS[0]): exit 2
    # "distinct users were not counted for organization tables" (agent tables)
    pytest.param(
        custom({"id_organization": ObjectId(TENANTS[0]), "attributes": {"bot_id": BOTS[1]}}),
        id="tenant-without-conversations",
    ),
    # a stock hand-off that keeps its bot only in participants: read, not refused
    pytest.param(
        stock({"participants": [HUMAN, "bot_" + ROOT], "participantsAgents": [HUMAN]}),
        id="stock-handoff-bot-in-participants",
    ),
]


@pytest.mark.parametrize("s", PLAIN_FOUND)
def test_plain_sets_found(client: Client, mongo: Any, configs: dict[str, Path], s: Shapes) -> None:
    check(client, mongo.uri, configs, s, may_refuse=False)
