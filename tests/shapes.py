"""Hypothesis strategies: small sets of stored `requests` in every form a field can take.

../shared/DOMAIN.md, "Stored data comes in every form": any field the product reads may
be missing, null, empty or of another type. Each field has plain forms and odd ones
(PLAIN, ODD); a document is plain but for a few fields, so that Hypothesis shrinks a
failing set towards plain documents and leaves only the forms that matter. Tenants and
bots come from small fixed pools, and many documents are siblings of another, so that
rows collide and ids of different forms name the same tenant or bot.

Both source profiles: `custom` (organizations, isTestMode, depth; with and without the
preflight and channel steps) and stock Tiledesk
(projects, draft, no depth, `bot_` participants, published forks in faq_kbs), the latter
under three billing rules (the quota meter's defaults, the dashboard's "all", and a rule
whose statuses include 1, against which a stored `true` must not count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bson import Decimal128, Int64, ObjectId
from hypothesis import strategies as st

# A week across the EU DST change (Sunday Mar 29, 2026) and a month end, so that month
# and day buckets both cut it, differently in UTC and in Berlin.
START, END = date(2026, 3, 27), date(2026, 4, 2)
# UTC, a DST zone, and offsets of half and three-quarter hours (St John's: -02:30 in DST)
ZONES = ("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Asia/Kathmandu")
GRAINS = ("month", "day")

_TAIL = "1b2c3d4e5f6a7b8c9d0e1f"  # letters in every id, so that its case matters
TENANTS = tuple(f"{p}{_TAIL}" for p in ("6a", "6b", "6c"))
EXCLUDED = f"6d{_TAIL}"  # on the exclusion list of every config
BOTS = tuple(f"{p}{_TAIL}" for p in ("7a", "7b", "7c", "7d"))
FORK = f"7e{_TAIL}"  # a published fork of ROOT (stock: reported as ROOT)
ROOT = BOTS[0]
USERS = tuple(f"{p}{_TAIL}" for p in ("8a", "8b", "8c"))
HUMAN = f"9a{_TAIL}"  # a human agent's id in `participants`
# A bot id beyond ASCII: $toLower changes A-Z only, so its Python-upper form is another bot
WIDE = "bötÉ-" + _TAIL


class _Missing:
    """A field left out of the document (not null: MongoDB groups the two apart)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

# The profiles and billing rules a set is read under: the config's TOML (after the
# exclusion) and the oracle's reading of the same rule (None: the custom profile).
EXCLUDE = f'[[exclude]]\nid = "{EXCLUDED}"\nname = "Internal"\nreason = "staff"\n'
PROFILES = {
    "custom": "",
    "custom-flags": '[billing]\nexclude_preflight = true\nexclude_channels = ["voice-vxml"]\n',
    "stock": '[source]\nprofile = "tiledesk"\n',
    "stock-dashboard": '[source]\nprofile = "tiledesk"\n\n[billing]\nstatuses = "all"\n'
    "exclude_test_mode = false\nmin_depth = 0\nexclude_preflight = true\nexclude_channels = []\n",
    "stock-numeric": '[source]\nprofile = "tiledesk"\n\n[billing]\nstatuses = [1, 1000]\n'
    'exclude_test_mode = true\nmin_depth = 0\nexclude_preflight = false\nexclude_channels = ["voice-vxml"]\n',
}
STOCK_RULES: dict[str, dict[str, Any]] = {
    "stock": {},
    "stock-dashboard": {
        "statuses": None,
        "exclude_drafts": False,
        "exclude_preflight": True,
        "exclude_channels": frozenset(),
    },
    "stock-numeric": {"statuses": frozenset({1, 1000}), "exclude_preflight": False},
}


def mixed(hex_id: str) -> str:
    """Every other letter upper-cased: "6a1b2c3d..." -> "6A1b2C3d..."; neither lower nor upper."""
    out, letters = [], 0
    for c in hex_id:
        if c.isalpha():
            c, letters = (c.upper() if letters % 2 == 0 else c), letters + 1
        out.append(c)
    return "".join(out)


def hex_strings(ids: tuple[str, ...], cases: bool = True) -> st.SearchStrategy[str]:
    """An id as a string: lower-case hex; with `cases`, also UPPER-case or mixed."""
    if not cases:
        return st.sampled_from(ids)
    return st.sampled_from(ids).flatmap(lambda h: st.sampled_from([h, h.upper(), mixed(h)]))


def id_forms(ids: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """An id (tenant, requester) as one entity: an ObjectId, or its hex in any case."""
    return st.one_of(st.sampled_from([ObjectId(h) for h in ids]), hex_strings(ids))


# No id at all, in every form: missing, null, "", an int, an object, an array, a bool.
NO_ID = st.sampled_from([MISSING, None, "", 7, {"id": TENANTS[0]}, [TENANTS[0]], True])

# Boundary instants (UTC) of the range in both zones, of the month and of the DST change.
_EDGES = [
    datetime(2026, 3, 27),  # START, UTC midnight
    datetime(2026, 3, 26, 23),  # START, Berlin midnight (UTC+1)
    datetime(2026, 3, 29, 1),  # the DST change: 02:00 CET becomes 03:00 CEST
    datetime(2026, 3, 31, 22),  # Apr 1, Berlin midnight (UTC+2): the month end
    datetime(2026, 4, 1),  # Apr 1, UTC midnight
    datetime(2026, 4, 2, 22),  # END + 1, Berlin midnight
    datetime(2026, 4, 3),  # END + 1, UTC midnight
    datetime(2026, 3, 26, 18, 30),  # START, Kolkata midnight (UTC+05:30)
    datetime(2026, 4, 2, 18, 30),  # END + 1, Kolkata midnight
    datetime(2026, 3, 27, 2, 30),  # START, St John's midnight (UTC-02:30)
    datetime(2026, 4, 3, 2, 30),  # END + 1, St John's midnight
    datetime(2026, 3, 26, 18, 15),  # START, Kathmandu midnight (UTC+05:45)
]
# A numeric 1000 in each type (the rule's status), and what is not one.
_THOUSANDS = [1000, Int64(1000), 1000.0, Decimal128("1000"), Decimal128("1000.0")]
_THOUSANDS += [Decimal128("1.0E+3")]
_NOT_STATUS = ["1000", True, None, MISSING, 200, 50, 1000.5, [1000], {"s": 1000}]
_STOCK_STATUS = [100, 150, 300, Int64(300), 300.0, Decimal128("300"), "300", 1, Int64(1)]
_STOCK_STATUS += [Decimal128("1"), 1.0, False, 0]  # 1 and true: a rule with statuses [1, 1000]
# Depths: whole numbers in each numeric type, and multiples of 0.25 below 100 as floats and
# Decimal128s: their sums are exact in binary, so a float sum on the server is the exact
# sum the oracle takes (no rounding in either to disagree about). No NaN and no infinity:
# NaN compares like no number (and SecantusDB need not order it as MongoDB does), an
# infinite depth has no average that JSON can carry; both are beyond what the rule counts.
_QUARTERS = st.integers(0, 399)
BOTS_LOWER = hex_strings((*BOTS, FORK), cases=False)
BOT_STRINGS = st.one_of(hex_strings((*BOTS, FORK)), st.sampled_from([WIDE, WIDE.upper()]))
_SOURCE = "https://acme.example/?td_draft=true"


def _attributes(bot: Any) -> dict[str, Any]:
    """`attributes` with this `bot_id`, or (MISSING) without one."""
    return {} if bot is MISSING else {"bot_id": bot}


_ODD_BOT_ID = st.sampled_from([MISSING, None, "", 42, {"id": ROOT}, ObjectId(ROOT), ObjectId(FORK)])
_PARTICIPANT = st.one_of(
    BOT_STRINGS.map(lambda b: "bot_" + b),
    st.sampled_from(["bot_", HUMAN, 123, None, ObjectId(HUMAN), "BOT_" + ROOT, "bots_x"]),
)

# Each field the product reads: its plain forms (what the rule counts as intended: a
# billable, attributed conversation, an id in any of its forms) and its odd ones. A drawn
# document is plain but for a few fields (see `request_docs`), so that a failing set
# shrinks to plain documents with only the forms that matter.
PLAIN: dict[str, st.SearchStrategy[Any]] = {
    # inside the range in both zones (Mar 27 00:00 UTC to Apr 2 22:00 UTC, Berlin's END + 1)
    "createdAt": st.integers(0, (6 * 24 + 22) * 60 - 1).map(
        lambda m: datetime(2026, 3, 27) + timedelta(minutes=m)
    ),
    "status": st.sampled_from(_THOUSANDS),
    "tenant": id_forms((*TENANTS, EXCLUDED)),
    "test": st.sampled_from([MISSING, False]),
    "depth": st.one_of(st.integers(3, 8), st.integers(3, 8).map(Int64)),
    "attributes": st.one_of(
        BOTS_LOWER.map(_attributes), st.sampled_from([MISSING, {}, {"sourcePage": _SOURCE}])
    ),
    "participantsBots": st.one_of(BOTS_LOWER.map(lambda b: [b]), st.sampled_from([[], MISSING])),
    "participants": st.one_of(
        st.sampled_from([MISSING, [], [HUMAN]]),
        BOTS_LOWER.map(lambda b: [f"bot_{b}"]),
        BOTS_LOWER.map(lambda b: [HUMAN, f"bot_{b}"]),
    ),
    "participantsAgents": st.sampled_from([MISSING, [], ["a"], [HUMAN, "b"]]),
    "requester": st.one_of(id_forms(USERS), st.sampled_from([MISSING, None])),
    "preflight": st.sampled_from([MISSING, False]),
    "channel": st.sampled_from([MISSING, {"name": "chat21"}, {"name": "voice-vxml"}]),
    "updatedAt": st.integers(0, 10 * 24 * 60).map(
        lambda m: datetime(2026, 3, 27) + timedelta(minutes=m)
    ),
}
ODD: dict[str, st.SearchStrategy[Any]] = {
    "createdAt": st.one_of(
        # a few hours either side of the range, in one zone or the other
        st.integers(0, 8 * 24 * 60).map(lambda m: datetime(2026, 3, 26, 20) + timedelta(minutes=m)),
        st.tuples(st.sampled_from(_EDGES), st.sampled_from([-1, 0, 1])).map(
            lambda e: e[0] + timedelta(minutes=e[1])
        ),
        st.sampled_from([datetime(2026, 1, 15), datetime(2026, 5, 15)]),  # far outside
        # not a date: in no range, whatever it says
        st.sampled_from([MISSING, None, "2026-03-28T10:00:00Z", 1774692000000, 20260328]),
    ),
    "status": st.sampled_from(_NOT_STATUS),
    "stock status": st.sampled_from(_NOT_STATUS + _STOCK_STATUS),
    "tenant": NO_ID,
    "test": st.sampled_from([True, "true", 1, None]),
    "depth": st.one_of(
        st.integers(-1, 2),
        _QUARTERS.map(lambda q: q / 4),
        _QUARTERS.map(lambda q: Decimal128(Decimal(q) / 4)),
        st.sampled_from([Decimal128("3.00"), Decimal128("2.75"), Decimal128("1E+1")]),
        st.sampled_from([MISSING, None, "5", "", True, False, [5], {"n": 5}]),
    ),
    "attributes": st.one_of(
        BOT_STRINGS.map(_attributes),  # any case
        _ODD_BOT_ID.map(_attributes),
        st.tuples(st.one_of(BOT_STRINGS, _ODD_BOT_ID), st.just(_SOURCE)).map(
            lambda t: {"sourcePage": t[1]} | _attributes(t[0])
        ),
        st.sampled_from([None, [{"bot_id": ROOT}], ROOT, "x"]),  # not an object
    ),
    "participantsBots": st.one_of(
        st.sampled_from([None, [None], [""]]),  # no bot, in three more forms
        BOT_STRINGS.map(lambda b: [b]),  # any case
        st.lists(BOT_STRINGS, min_size=2, max_size=2),
        st.sampled_from([["", ROOT], [123], [ObjectId(ROOT)]]),
        BOT_STRINGS,  # a string, not an array
    ),
    "participants": st.one_of(
        st.lists(_PARTICIPANT, min_size=1, max_size=3),
        st.sampled_from([None, "bot_" + ROOT]),
    ),
    "participantsAgents": st.sampled_from([None, [None], "a", True]),
    "requester": st.one_of(NO_ID, hex_strings(USERS)),
    "preflight": st.sampled_from(
        [True, "true", 1, None, [True], [False, True], ["true"], [[True]]]
    ),
    "channel": st.sampled_from(
        [None, {}, {"name": None}, "voice-vxml", {"name": "VOICE-VXML"}, {"name": 5}, 7]
        + [{"name": ["voice-vxml"]}, {"name": ["chat21", "voice-vxml"]}, [{"name": "voice-vxml"}]]
        + [[{"name": "chat21"}, {"x": 1}], [{"name": ["voice-vxml"]}], [[{"name": "voice-vxml"}]]]
    ),
    # no updatedAt (a deployment without mongoose's timestamps), or not a date
    "updatedAt": st.sampled_from(
        [MISSING, None, "2026-03-30T10:00:00Z", 1774692000000, [datetime(2026, 3, 30)], []]
    ),
}
COMMON: tuple[str, ...] = ("createdAt", "status", "tenant", "test", "attributes")
COMMON += ("participantsBots", "participants", "participantsAgents", "requester", "updatedAt")
FIELDS = {
    "custom": (*COMMON, "depth", "preflight", "channel"),
    "stock": (*COMMON, "preflight", "channel"),
}


def stored_field(name: str, stock: bool) -> str:
    """The stored name of a field of FIELDS under a profile."""
    if name == "tenant":
        return "id_project" if stock else "id_organization"
    if name == "test":
        return "draft" if stock else "isTestMode"
    return name


@st.composite
def request_docs(draw: st.DrawFn, profile: str, odd: bool = True) -> dict[str, Any]:
    """One stored conversation: plain, but (`odd`) for up to three fields in an odd form; a
    field drawn MISSING is left out."""
    stock = not profile.startswith("custom")
    names = FIELDS["stock" if stock else "custom"]
    odds = set(draw(st.lists(st.sampled_from(names), max_size=3 if odd else 0, unique=True)))
    doc = {}
    for name in names:
        if name not in odds:
            value = draw(PLAIN[name])
        else:
            value = draw(ODD["stock status" if stock and name == "status" else name])
        if value is not MISSING:
            doc[stored_field(name, stock)] = value
    return doc


@st.composite
def request_sets(draw: st.DrawFn, profile: str, odd: bool = True) -> list[dict[str, Any]]:
    """1 to 12 requests; many are siblings of an earlier one with one or two fields drawn
    again, so that rows collide and forms of one field meet in one group."""
    stock = not profile.startswith("custom")
    names = FIELDS["stock" if stock else "custom"]
    docs = [draw(request_docs(profile, odd))]
    for _ in range(draw(st.integers(0, 11))):
        if not draw(st.booleans()):
            docs.append(draw(request_docs(profile, odd)))
            continue
        sibling, fresh = dict(draw(st.sampled_from(docs))), draw(request_docs(profile, odd))
        for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)):
            key = stored_field(name, stock)
            sibling.pop(key, None)
            if key in fresh:
                sibling[key] = fresh[key]
        docs.append(sibling)
    return docs


# A name as stored: a non-empty string is the name; anything else is none (the id is shown)
NAMES = st.sampled_from(["Named", MISSING, None, "", "  ", 5, {"x": 1}, ["Named"]])


def faq_kbs(root_id: Any, other_root: Any, name: Any = "Bot 3") -> list[dict[str, Any]]:
    """The bots: BOTS (one with a `root_id` that makes no fork: null or ""; one whose `_id` is
    its hex in upper case; one named `name`), and FORK, the release of ROOT, `root_id` an
    ObjectId or a string in any case."""
    bots: list[dict[str, Any]] = [
        {"_id": ObjectId(b), "name": f"Bot {i}", "id_project": TENANTS[0]}
        for i, b in enumerate(BOTS)
    ]
    bots[2]["_id"] = BOTS[2].upper()
    bots[3].pop("name")
    if name is not MISSING:
        bots[3]["name"] = name
    if other_root is not MISSING:
        bots[1]["root_id"] = other_root
    bots.append({"_id": ObjectId(FORK), "name": "Bot 0 (published)", "trashed": True})
    bots[-1]["root_id"] = root_id
    return bots


def tenant_names(profile: str, name: Any = "Tenant 1") -> tuple[str, list[dict[str, Any]]]:
    """The tenants' names: (collection, documents); one tenant's _id is its hex string, one
    is named `name`."""
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(t), "name": f"Tenant {i}"} for i, t in enumerate(TENANTS)
    ]
    docs[2]["_id"] = TENANTS[2]
    docs[1].pop("name")
    if name is not MISSING:
        docs[1]["name"] = name
    docs.append({"_id": ObjectId(EXCLUDED), "name": "Internal"})
    return ("organizations" if profile.startswith("custom") else "projects"), docs


# A billing meter reading (reconciliation's `stripe_meters`) in every form of its fields
METER = st.fixed_dictionaries(
    {},
    optional={
        "id_organization": st.one_of(id_forms(TENANTS), NO_ID),
        "period": st.sampled_from(
            [datetime(2026, 3, 15), datetime(2026, 3, 31, 23), "2026-03", "2026-04-01T00:00Z"]
            + ["2026-3", "March", 202603, None, [datetime(2026, 3, 1)], "2026-13"]
        ),
        "chat_conv_count": st.sampled_from(
            [5, Int64(7), 2.5, Decimal128("3"), Decimal128("NaN"), float("inf"), True]
            + ["5", None, [5], {"n": 5}]
        ),
    },
).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})


@dataclass
class Shapes:
    """One stored set and how it is read: the profile (a key of PROFILES), the requests,
    the forms of the fork's `root_id`, the zone and granularity, and the tenant and the bot
    the agent scope asks for."""

    profile: str
    requests: list[dict[str, Any]]
    tz: str = "UTC"
    grain: str = "month"
    tenant: str = TENANTS[0]
    bot: str = ROOT
    root_id: Any = field(default_factory=lambda: ObjectId(ROOT))
    other_root: Any = MISSING
    bot_name: Any = "Bot 3"
    tenant_name: Any = "Tenant 1"
    meters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def faq_kbs(self) -> list[dict[str, Any]]:
        return faq_kbs(self.root_id, self.other_root, self.bot_name)

    @property
    def names(self) -> tuple[str, list[dict[str, Any]]]:
        return tenant_names(self.profile, self.tenant_name)


@st.composite
def shapes(
    draw: st.DrawFn, profiles: tuple[str, ...] = tuple(PROFILES), odd: bool = True
) -> Shapes:
    """A stored set under one of `profiles`; without `odd`, plain documents only."""
    profile = draw(st.sampled_from(profiles))
    return Shapes(
        profile=profile,
        requests=draw(request_sets(profile, odd)),
        tz=draw(st.sampled_from(ZONES)),
        grain=draw(st.sampled_from(GRAINS)),
        tenant=draw(st.sampled_from((*TENANTS, EXCLUDED, "unassigned"))),
        bot=draw(st.sampled_from((*BOTS, FORK))),
        root_id=draw(st.sampled_from([ObjectId(ROOT), ROOT, ROOT.upper()])),
        other_root=draw(st.sampled_from([MISSING, None, ""])),
        bot_name=draw(NAMES),
        tenant_name=draw(NAMES),
        meters=draw(st.lists(METER, max_size=4)),
    )
