"""A seeded, realistic synthetic Tiledesk dataset for the demo database and the tests.

Shape (see docs/domain.md): ~140k requests in the report's 6-month window (~225k in all),
20 customer organizations plus internal/demo ones, monthly billable totals growing from
~4.7k to ~12k in the window, one customer spiking in one month, customers starting
mid-period, a misconfigured widget (a month all test mode), hand-offs to
humans that empty `participantsBots`, deleted bots, string organization ids in
older data and requests with no organization; for the daily watch, a customer whose widget
breaks on the 27th of the last month and one with a 3-day campaign early in the month after.
The data covers the 13 full months ending with `last_month` (the explorer's window) and the
first 20 days of the month after. The 7 months before the report's window tell how the
platform got there: 9 customers and ~1.7k billable conversations in the first month, 17 and
~4k in the month before the window (customers join one by one, volumes grow, one customer
slowly declines). The earliest 6 (version 5) are drawn from generators of their own: the 8
later months are the same documents as in version 4.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from usage_lib.core.periods import add_months

GENERATOR_VERSION = 5  # 2: returning end users, a skewed depth; 3: a silence and a spike;
# 4: Tiledesk's {updatedAt: -1} index (the local store's edits); 5: 6 earlier months (from
# FIRST_MONTH), so that the explorer's 13-month window holds data; the later months unchanged
NOMINAL_SIZE = 148_000  # requests in the 6-month window that the profiles produce at scale 1
DEFAULT_SIZE = 140_000  # requests in the 6-month window of the demo database
FIRST_MONTH = -7  # months FIRST_MONTH..6 relative to the window's first (0): 13 full months
# ending with the last one (5) and the current one (6); version 4 began at -1


@dataclass(frozen=True)
class OrgProfile:
    name: str
    monthly: tuple[int, ...]  # billable conversations for months -7..6 (window is 0..5)
    bots: tuple[str, ...]
    human_share: float = 0.04  # conversations with no bot at all
    handoff_share: float = 0.1  # bot conversations handed to a human (participantsBots emptied)
    internal: str | None = None  # reason, for organizations on the exclusion list


def _ramp(a: int, b: int) -> tuple[int, ...]:
    """`a` in month -1 to `b` in month 6, in a straight line (none before it reaches 0)."""
    return tuple(max(0, round(a + (b - a) * (m + 1) / 7)) for m in range(FIRST_MONTH, 7))


LATER = (0,) * (-1 - FIRST_MONTH)  # the earlier months of a customer that joined in the window

PROFILES: tuple[OrgProfile, ...] = (
    OrgProfile(
        "Northwind Telecom",
        _ramp(1300, 1800),
        ("Northwind Assistant", "Billing Helper", "Roaming FAQ"),
    ),
    OrgProfile(
        "Helios Travel",
        (330, 380, 420, 470, 520, 560) + (600, 650, 820, 960, 3800, 1150, 1300, 1250),
        ("Helios Concierge", "Booking Bot"),
    ),
    OrgProfile(
        "Brightside Insurance",
        _ramp(420, 900),
        ("Claims Bot", "Policy Advisor"),
        handoff_share=0.62,
    ),
    OrgProfile(
        "Cobalt Retail",
        (0, 0, 60, 150, 260, 360) + (450, 600, 900, 1300, 1700, 2100, 2500, 2400),
        ("Cobalt Shop Assistant", "Cobalt Returns", "Cobalt Legacy Bot"),
    ),
    OrgProfile("Meridian Bank", _ramp(500, 1700), ("Meridian Help", "Card Services")),
    OrgProfile(
        "Kite Health",
        LATER + (0, 0, 0, 120, 420, 900, 1450, 1500),
        ("Kite Triage", "Kite Appointments"),
    ),
    OrgProfile("Atlas Logistics", LATER + (0, 0, 0, 0, 45, 132, 310, 330), ("Atlas Tracker",)),
    OrgProfile(
        "Orbit Games",
        (100, 105, 115, 120, 125, 135) + (140, 150, 160, 170, 180, 190, 200, 200),
        ("Orbit Support",),
    ),
    OrgProfile("Pinecrest Realty", _ramp(180, 300), ("Pinecrest Viewer",)),
    OrgProfile("Lumen Energy", _ramp(220, 260), ("Lumen Outage Bot", "Lumen Tariffs")),
    OrgProfile("Quartz Legal", _ramp(60, 140), ("Quartz Intake",)),
    OrgProfile("Vega Automotive", _ramp(90, 240), ("Vega Service Desk",)),
    OrgProfile("Harbor Foods", _ramp(30, 80), ("Harbor Orders",)),
    OrgProfile("Summit Education", _ramp(150, 110), ("Summit Admissions", "Summit Campus Bot")),
    OrgProfile("Nimbus Cloud", _ramp(40, 95), ("Nimbus Support",)),
    OrgProfile("Fjord Outdoor", _ramp(12, 35), ("Fjord Gear Guide",)),
    OrgProfile("Saffron Hotels", _ramp(70, 160), ("Saffron Reservations",)),
    OrgProfile("Tidewater Utilities", _ramp(25, 45), ("Tidewater Helpdesk",)),
    OrgProfile(
        "Ember Fitness", (21, 18, 15, 13, 11, 9) + (8, 6, 5, 4, 4, 3, 3, 3), ("Ember Coach",)
    ),
    OrgProfile("Granite Builders", LATER + (0, 0, 0, 0, 0, 18, 60, 70), ("Granite Quotes",)),
    OrgProfile(
        "Acme AI (internal)",
        _ramp(900, 1400),
        ("Acme Playground", "Acme QA Bot"),
        internal="internal: our own staff and QA",
    ),
    OrgProfile(
        "Demo Sandbox", _ramp(500, 800), ("Demo Bot",), internal="demo: sales demonstrations"
    ),
    OrgProfile(
        "Partner Test Org",
        _ramp(120, 200),
        ("Partner Sandbox Bot",),
        internal="test: partner integration tests",
    ),
)
TEST_MODE_ORG = "Orbit Games"  # its widget was left in test mode for one month
TEST_MODE_MONTH = 2
DELETED_BOTS = {"Cobalt Legacy Bot"}  # removed from faq_kbs; requests still name it
TRASHED_BOTS = {"Summit Campus Bot"}
STRING_ID_ORGS = {"Helios Travel", "Meridian Bank"}  # older requests store the id as a string
LEGACY_PARTICIPANTS_ORGS = {"Lumen Energy"}  # older requests lack attributes.bot_id
NO_ORG_MONTHLY = 25  # billable requests per month with no organization at all
SILENT_ORG = "Brightside Insurance"  # its widget breaks on day SILENT_FROM of the last month
SILENT_FROM = 27
SPIKE_ORG = "Pinecrest Realty"  # a campaign: SPIKE_DAILY more a day on days 2-4 of the month after
SPIKE_DAILY = 200
CURRENT_DAYS = 20  # the month after the last one holds its first 20 days


class _People:
    """End users and conversation depth, drawn from a generator of their own so that the
    counts of the dataset do not change with them.

    A third of conversations come from a returning user of the same organization (recent
    visitors more often), so users repeat within and across months; a few older widgets
    stored the requester as a string, and a few conversations have none. Depth is skewed:
    most conversations are short, a few run long.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: dict[str, list[ObjectId]] = {}

    def requester(self, org: str, fresh: ObjectId) -> ObjectId | str | None:
        seen = self.seen.setdefault(org, [])
        if seen and self.rng.random() < 0.35:
            user = seen[-1 - min(int(self.rng.expovariate(1 / 400)), len(seen) - 1)]
        else:
            user = fresh
            seen.append(user)
        form = self.rng.random()
        if form < 0.02:
            return None
        return str(user) if form < 0.10 else user

    def depth(self) -> int:
        return 3 + min(int(self.rng.expovariate(1 / 5)), 57)


def _oid(rng: random.Random, when: datetime) -> ObjectId:
    return ObjectId(int(when.timestamp()).to_bytes(4, "big") + rng.randbytes(8))


@dataclass(frozen=True)
class DemoData:
    organizations: list[dict[str, Any]]  # the tenants: organizations, or projects (stock)
    faq_kbs: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    exclusions: list[dict[str, str]]  # id, name, reason for the internal organizations
    tenants: str = "organizations"  # the collection the tenants go to
    # requests created before it are the earlier months (version 5), drawn apart: `stock`
    # draws for them from a generator of its own too
    earlier_until: datetime | None = None


def generate(last_month: tuple[int, int], size: int = DEFAULT_SIZE, seed: int = 7) -> DemoData:
    """Deterministic for (last_month, size, seed); `size` is the requests in the window."""
    rng = random.Random(seed)
    people = _People(seed + 1)
    scale = size / NOMINAL_SIZE
    origin = datetime(2024, 1, 1)  # ids of organizations and bots depend on the seed only

    organizations, faq_kbs, exclusions = [], [], []
    org_bots: dict[str, list[tuple[str, str]]] = {}
    org_ids: dict[str, ObjectId] = {}
    for profile in PROFILES:
        oid = _oid(rng, origin)
        org_ids[profile.name] = oid
        organizations.append(
            {"_id": oid, "name": profile.name, "active": True, "createdAt": origin}
        )
        if profile.internal:
            exclusions.append({"id": str(oid), "name": profile.name, "reason": profile.internal})
        bots = []
        for bot_name in profile.bots:
            bot_id = _oid(rng, origin)
            bots.append((str(bot_id), bot_name))
            if bot_name in DELETED_BOTS:
                continue
            faq_kbs.append(
                {
                    "_id": bot_id,
                    "name": bot_name,
                    "id_project": f"proj-{oid}",
                    "id_organization": oid,
                    "type": "tilebot",
                    "trashed": bot_name in TRASHED_BOTS,
                }
            )
        org_bots[profile.name] = bots

    requests: list[dict[str, Any]] = []
    for m in range(-1, 7):
        requests += _month(rng, people, last_month, m, org_bots, org_ids, scale)
    requests = _planted(requests, last_month, people, org_bots, org_ids, scale, seed)
    earlier_until = datetime(*add_months(*last_month, -6), 1)  # month -1's first day
    requests += _earlier(last_month, org_bots, org_ids, scale, seed)
    requests.sort(key=lambda d: d["createdAt"])  # stable: requests of one second keep their order
    return DemoData(organizations, faq_kbs, requests, exclusions, earlier_until=earlier_until)


def _month(
    rng: random.Random,
    people: _People,
    last_month: tuple[int, int],
    m: int,
    org_bots: dict[str, list[tuple[str, str]]],
    org_ids: dict[str, ObjectId],
    scale: float,
) -> list[dict[str, Any]]:
    """The requests of month `m` (0 is the window's first), drawn from `rng` and `people`."""
    year, month = add_months(*last_month, m - 5)
    start = datetime(year, month, 1)
    end = datetime(*add_months(year, month, 1), 1)
    seconds = int((end - start).total_seconds())
    share = 1.0
    if m == 6:  # the current month, still in progress, at the same daily rate
        share = CURRENT_DAYS * 86400 / seconds
        seconds = CURRENT_DAYS * 86400
    requests: list[dict[str, Any]] = []
    for profile in PROFILES:
        billable = round(profile.monthly[m - FIRST_MONTH] * scale * share)
        test_month = profile.name == TEST_MODE_ORG and m == TEST_MODE_MONTH
        for _ in range(billable):
            when = start + timedelta(seconds=rng.randrange(seconds))
            requests.append(
                _request(
                    rng,
                    people,
                    when,
                    profile,
                    org_bots,
                    org_ids,
                    m,
                    billable=not test_month,
                    test_mode=test_month,
                )
            )
            for _ in range(_noise_count(rng)):
                when = start + timedelta(seconds=rng.randrange(seconds))
                requests.append(
                    _request(rng, people, when, profile, org_bots, org_ids, m, billable=False)
                )
    for _ in range(round(NO_ORG_MONTHLY * scale)):
        when = start + timedelta(seconds=rng.randrange(seconds))
        doc = _request(rng, people, when, PROFILES[0], org_bots, org_ids, m, billable=True)
        if rng.random() < 0.5:
            del doc["id_organization"]
        else:
            doc["id_organization"] = None
        requests.append(doc)
    return requests


def _earlier(
    last_month: tuple[int, int],
    org_bots: dict[str, list[tuple[str, str]]],
    org_ids: dict[str, ObjectId],
    scale: float,
    seed: int,
) -> list[dict[str, Any]]:
    """Months FIRST_MONTH to -2 (version 5), so that the explorer's window holds data: drawn
    from generators of their own, so that the requests, ids and end users of the later
    months are the documents version 4 made. Older data's traits hold as in month -1 (string
    organization ids, requests with only `participantsBots`, the legacy bot still in use);
    their end users are their own (none of them comes back after month -2)."""
    rng = random.Random(seed + 10)
    people = _People(seed + 11)
    requests: list[dict[str, Any]] = []
    for m in range(FIRST_MONTH, -1):
        requests += _month(rng, people, last_month, m, org_bots, org_ids, scale)
    return requests


def _planted(
    requests: list[dict[str, Any]],
    last_month: tuple[int, int],
    people: _People,
    org_bots: dict[str, list[tuple[str, str]]],
    org_ids: dict[str, ObjectId],
    scale: float,
    seed: int,
) -> list[dict[str, Any]]:
    """What the daily watch should find (`usage-report alerts`): SILENT_ORG's conversations
    stop on day SILENT_FROM of the last month, and SPIKE_ORG has a campaign on days 2 to 4 of
    the month after. Drawn from generators of their own: the rest of the data is as before."""
    silent_id = org_ids[SILENT_ORG]
    broken = datetime(*last_month, SILENT_FROM)
    kept = [
        d
        for d in requests
        if not (d["createdAt"] >= broken and d.get("id_organization") == silent_id)
    ]
    rng = random.Random(seed + 3)
    spike = next(p for p in PROFILES if p.name == SPIKE_ORG)
    campaign = datetime(*add_months(*last_month, 1), 2)
    for day in range(3):
        for _ in range(round(SPIKE_DAILY * scale)):
            when = campaign + timedelta(days=day, seconds=rng.randrange(86400))
            billable = rng.random() < 0.45
            kept.append(_request(rng, people, when, spike, org_bots, org_ids, 6, billable))
    return kept


def _noise_count(rng: random.Random) -> int:
    # about 1.4 non-billable requests per billable one
    return rng.choice((0, 1, 1, 1, 2, 2, 3))


def _request(
    rng: random.Random,
    people: _People,
    when: datetime,
    profile: OrgProfile,
    org_bots: dict[str, list[tuple[str, str]]],
    org_ids: dict[str, ObjectId],
    m: int,
    billable: bool,
    test_mode: bool = False,
) -> dict[str, Any]:
    org_id = org_ids[profile.name]
    bots = org_bots[profile.name]
    doc: dict[str, Any] = {
        "_id": _oid(rng, when),
        "createdAt": when,
        "updatedAt": when + timedelta(minutes=rng.randint(1, 90)),
        "status": 1000,
        "depth": rng.randint(3, 40),
        "id_organization": str(org_id)
        if profile.name in STRING_ID_ORGS and m <= 1 and rng.random() < 0.6
        else org_id,
        "id_project": f"proj-{org_id}",
        "channel": {"name": "chat21"},
        "requester": _oid(rng, when),  # drawn either way, so that `rng` keeps its sequence
        "lead": _oid(rng, when),
        "participantsAgents": [],
        "draft": False,
        "preflight": False,
    }
    doc["depth"] = people.depth()
    requester = people.requester(profile.name, doc["requester"])
    if requester is None:
        del doc["requester"]
    else:
        doc["requester"] = requester
    r = rng.random()
    if test_mode:
        doc["isTestMode"] = True
    elif r < 0.15:
        doc["isTestMode"] = False
    if not billable:
        kind = rng.random()
        if kind < 0.40:
            doc["depth"] = rng.randint(0, 2)  # a bounce: too short to bill
        elif kind < 0.55:
            del doc["depth"]  # older widgets never wrote depth
        elif kind < 0.80:
            doc["status"] = rng.choice((50, 100, 150, 200))  # still open or abandoned
        else:
            doc["isTestMode"] = True  # the test widget
    if doc["status"] == 1000:
        doc["closed_at"] = doc["updatedAt"]

    if rng.random() < profile.human_share:
        doc.update(
            participantsBots=[],
            hasBot=False,
            attributes={},
            participantsAgents=[f"agent-{rng.randint(1, 9)}"],
        )
        return doc
    weights = [1.0 / (i + 1) for i in range(len(bots))]
    bot_id, bot_name = rng.choices(bots, weights)[0]
    if bot_name in DELETED_BOTS and m >= 3:  # the legacy bot was replaced mid-period
        bot_id = bots[0][0]
    doc["attributes"] = {"bot_id": bot_id, "departmentId": f"dep-{org_id}"}
    doc["participantsBots"] = [bot_id]
    doc["hasBot"] = True
    if profile.name in LEGACY_PARTICIPANTS_ORGS and m <= 1:
        doc["attributes"] = {}  # older conversations: only participantsBots names the bot
    elif rng.random() < profile.handoff_share:
        doc["participantsBots"] = []  # a human took over: Tiledesk clears the bot list
        doc["hasBot"] = False
        doc["participantsAgents"] = [f"agent-{rng.randint(1, 9)}"]
    return doc


STOCK_VERSION = 1


def stock(data: DemoData, seed: int = 7) -> DemoData:
    """The same customers and volumes as stock Tiledesk stores them (docs/domain.md, "Stock
    Tiledesk"): projects, `id_project` as a string, drafts instead of test mode, no depth,
    preflight TEMP conversations, voice, hand-offs that leave only the human in
    `participants` (sometimes the `bot_` entry survives), published bots as trashed forks
    with `root_id`, and a trashed fork already deleted."""
    rng = random.Random(seed + 100)
    projects = [
        {"_id": o["_id"], "name": o["name"], "createdAt": o["createdAt"]}
        for o in data.organizations
    ]
    bots, forks = [], {}
    for bot in data.faq_kbs:
        bot = {k: v for k, v in bot.items() if k != "id_organization"}
        bot["id_project"] = str(bot.pop("id_organization", None) or bot["id_project"])
        bots.append(bot)
    for bot in list(bots):
        if rng.random() < 0.5 and not bot.get("trashed"):  # published: a fork with root_id
            fork_id = _oid(rng, datetime(2024, 6, 1))
            forks[str(bot["_id"])] = str(fork_id)
            bots.append(
                {
                    "_id": fork_id,
                    "name": bot["name"],
                    "id_project": bot["id_project"],
                    "type": "tilebot",
                    "trashed": True,
                    "trashedAt": datetime(2024, 6, 1),
                    "root_id": bot["_id"],
                }
            )
    gone_fork = str(_oid(rng, datetime(2024, 5, 1)))  # published, trashed, deleted by TTL
    first_project = str(projects[0]["_id"])
    requests = []
    earlier = random.Random(seed + 110)  # for the earlier months (version 5): the rest as before
    for doc in data.requests:
        draw = rng
        if data.earlier_until is not None and doc["createdAt"] < data.earlier_until:
            draw = earlier
        org = doc.get("id_organization")
        if org is None:
            continue  # stock requests always have a project
        out = {k: v for k, v in doc.items() if k not in ("id_organization", "isTestMode", "depth",
                                                          "draft", "id_project")}  # fmt: skip
        out["id_project"] = str(org).lower()
        attributes = dict(doc.get("attributes") or {})
        if doc.get("isTestMode") is True:
            out["draft"] = True  # the designer's "test it" link
            attributes["sourcePage"] = "https://widget.example/?td_draft=true"
        out["preflight"] = False
        r = draw.random()
        if doc["status"] != 1000 and r < 0.3:
            out.update(status=50, preflight=True)  # opened by a trigger, never answered
        elif r < 0.02:
            out["channel"] = {"name": "voice-vxml"}
        agent = attributes.pop("bot_id", None) or (doc.get("participantsBots") or [None])[0]
        if agent is not None and str(agent) in forks and draw.random() < 0.4:
            agent = forks[str(agent)]  # served by the published release
        elif agent is not None and out["id_project"] == first_project and draw.random() < 0.05:
            agent = gone_fork
        if draw.random() < 0.1 and agent is not None:
            attributes["bot_id"] = agent  # a deployment that sets it
        humans = doc.get("participantsAgents") or []
        if agent is None:
            out.update(participants=list(humans), participantsBots=[], hasBot=False)
        elif doc.get("participantsBots"):
            out.update(participants=[f"bot_{agent}"], participantsBots=[agent], hasBot=True)
        else:  # handed to a human: the agent leaves both arrays, or stays in participants
            kept = [f"bot_{agent}"] if draw.random() < 0.3 else []
            out.update(participants=[*kept, *humans], participantsBots=[], hasBot=False)
        out["attributes"] = attributes
        requests.append(out)
    return DemoData(
        projects, bots, requests, data.exclusions, "projects", earlier_until=data.earlier_until
    )


WIDE_NAMES = ("Acme", "Blue", "Cedar", "Delta", "Echo", "Fable", "Granite", "Harbor", "Iris",
              "Juniper", "Kestrel", "Lumen", "Maple", "Nova", "Orchid", "Pioneer", "Quill",
              "Rowan", "Sable", "Tundra", "Umber", "Vale", "Willow", "Xenon", "Yarrow", "Zephyr")  # fmt: skip
WIDE_KINDS = ("Clinic", "Retail", "Bank", "Travel", "Foods", "Energy", "Legal", "Games", "Homes")


def wide(
    last_month: tuple[int, int],
    tenants: int = 2_000,
    conversations: int = 60_000,
    months: int = 13,
    seed: int = 11,
) -> DemoData:
    """A wide platform: many tenants with 2 or 3 agents each and few conversations each,
    spread over `months` full months ending with `last_month` (and some of the month
    after): the shape under which the cube, not the conversations, is what grows. Sizes
    are skewed (a few large customers, a long tail); about 1 in 40 conversations is a test,
    1 in 10 not closed, 1 in 12 too short; end users return within their tenant."""
    rng = random.Random(seed)
    origin = datetime(2024, 1, 1)
    organizations, faq_kbs, bots_of = [], [], []
    for i in range(tenants):
        oid = _oid(rng, origin)
        name = f"{WIDE_NAMES[i % 26]} {WIDE_KINDS[i // 26 % 9]} {i // 234 + 1}"
        organizations.append({"_id": oid, "name": name, "active": True, "createdAt": origin})
        bots = []
        for j in range(2 + (rng.random() < 0.5)):
            bot_oid = _oid(rng, origin)
            bots.append(str(bot_oid))
            faq_kbs.append({"_id": bot_oid, "name": f"{name} bot {j + 1}", "id_organization": oid,
                            "id_project": str(oid), "type": "tilebot", "trashed": False})  # fmt: skip
        bots_of.append((oid, bots))
    first = add_months(*last_month, -(months - 1))
    start = datetime(*first, 1)
    end = datetime(*add_months(*last_month, 1), 15)  # and half of the month after
    span = int((end - start).total_seconds())
    weights = [1 / (1 + i) ** 0.8 for i in range(tenants)]  # a few large ones, a long tail
    users: dict[int, list[ObjectId]] = {}
    requests = []
    for t in rng.choices(range(tenants), weights, k=conversations):
        oid, bots = bots_of[t]
        when = start + timedelta(seconds=rng.randrange(span))
        seen = users.setdefault(t, [])
        if seen and rng.random() < 0.4:
            user = rng.choice(seen)
        else:
            user = _oid(rng, when)
            seen.append(user)
        bot = bots[0] if rng.random() < 0.6 else rng.choice(bots)
        handed = rng.random() < 0.15
        doc: dict[str, Any] = {
            "_id": _oid(rng, when),
            "createdAt": when,
            "updatedAt": when + timedelta(minutes=30),  # as mongoose writes it (no draw)
            "status": 1000 if rng.random() < 0.9 else rng.choice((100, 150, 200)),
            "depth": rng.randint(3, 30) if rng.random() < 11 / 12 else rng.randint(0, 2),
            "id_organization": oid,
            "id_project": str(oid),
            "channel": {"name": "chat21"},
            "requester": user,
            "attributes": {"bot_id": bot} if rng.random() < 0.97 else {},
            "participantsBots": [] if handed else [bot],
            "participantsAgents": [f"agent-{rng.randint(1, 5)}"] if handed else [],
        }
        if rng.random() < 0.025:
            doc["isTestMode"] = True
        requests.append(doc)
    requests.sort(key=lambda d: d["createdAt"])
    return DemoData(organizations, faq_kbs, requests, [])
