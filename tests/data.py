"""The tests' data: the trap-laden conversations of the custom profile and of stock
Tiledesk, and the ids they use (the fixtures that load them are in conftest.py)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId

ROOT = Path(__file__).resolve().parent.parent  # the checkout

ORGS = [str(ObjectId(f"{0x6600000 + i:08x}" + "0" * 16)) for i in range(4)]
EXCLUDED_ORG = "6700000000000000000000aa"
BOTS = [f"{0x6800000 + i:08x}" + "1" * 16 for i in range(5)]
DELETED_BOT = "69000000000000000000dead"


def trap_docs(n: int, seed: int, start: datetime, days: int) -> list[dict[str, Any]]:
    """Requests with every trap of docs/domain.md, many of them within minutes of midnight."""
    rng = random.Random(seed)
    people = random.Random(seed + 1)  # end users and human agents, apart from the rest
    users = [ObjectId(f"{0x6A000000 + i:08x}" + "2" * 16) for i in range(150)]  # they return
    docs = []
    for _ in range(n):
        day = start + timedelta(days=rng.randrange(days))
        if rng.random() < 0.5:  # near a midnight somewhere between UTC-10 and UTC+14
            when = day + timedelta(
                hours=rng.choice([-10, -8, -5, -4, 0, 1, 2, 5.5, 9, 14]),
                minutes=rng.choice([-1, 0, 1]),
                seconds=rng.randrange(60),
            )
        else:
            when = day + timedelta(seconds=rng.randrange(86400))
        org = rng.choice(ORGS + [EXCLUDED_ORG])
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "createdAt": when,
            "status": rng.choice([1000, 1000, 1000, 1000, 200, 100, 150, 50]),
            "id_project": "p",
            "channel": {"name": "chat21"},
        }
        org_form = rng.random()
        if org_form < 0.55:
            doc["id_organization"] = ObjectId(org)
        elif org_form < 0.80:
            doc["id_organization"] = org  # older data: the 24-hex string
        elif org_form < 0.85:
            doc["id_organization"] = org.upper()
        elif org_form < 0.92:
            pass  # no organization at all
        else:
            doc["id_organization"] = rng.choice([None, ""])
        test = rng.random()
        if test < 0.15:
            doc["isTestMode"] = True
        elif test < 0.35:
            doc["isTestMode"] = False
        elif test < 0.40:
            doc["isTestMode"] = "true"  # only boolean true excludes
        depth = rng.random()
        if depth < 0.8:
            doc["depth"] = rng.randint(0, 8)
        elif depth < 0.9:
            doc["depth"] = None
        bot = rng.choice(BOTS + [DELETED_BOT])
        shape = rng.random()
        if shape < 0.45:
            doc["attributes"] = {"bot_id": bot}
            doc["participantsBots"] = [bot]
        elif shape < 0.65:
            doc["attributes"] = {"bot_id": bot}
            doc["participantsBots"] = []  # handed to a human
        elif shape < 0.75:
            doc["participantsBots"] = [bot]  # old data: no attributes.bot_id
        elif shape < 0.80:
            doc["attributes"] = {"bot_id": ""}
            doc["participantsBots"] = [bot]
        elif shape < 0.90:
            doc["attributes"] = {}  # human only
        user, form = people.choice(users), people.random()
        if form < 0.5:
            doc["requester"] = user
        elif form < 0.7:
            doc["requester"] = str(user)  # the same user, as a string
        elif form < 0.8:
            doc["requester"] = str(user).upper()
        elif form < 0.9:
            doc["requester"] = None
        humans = people.random()  # missing: no human took part
        if humans < 0.3:
            doc["participantsAgents"] = [f"agent-{people.randrange(3)}"]
        elif humans < 0.6:
            doc["participantsAgents"] = []
        docs.append(doc)
    return docs


PROJECTS = [str(ObjectId(f"{0x6B00000 + i:08x}" + "3" * 16)) for i in range(3)]
EXCLUDED_PROJECT = "6b000000000000000000eeee"
STOCK_BOTS = [f"{0x6C00000 + i:08x}" + "4" * 16 for i in range(4)]
FORKS = {f"{0x6D00000 + i:08x}" + "5" * 16: STOCK_BOTS[i] for i in range(2)}  # published
GONE_FORK = "6d0000000000000000000999"  # a published fork the TTL index has deleted
HUMAN = "6e0000000000000000000001"


def stock_docs(n: int, seed: int, start: datetime, days: int) -> list[dict[str, Any]]:
    """Requests as stock Tiledesk writes them (../shared/samples/stock-tiledesk.json), with its
    traps: string id_project, drafts (flag present only when true), preflight TEMP ones, voice,
    hand-offs that empty participantsBots, bot_-prefixed participants, published forks."""
    rng = random.Random(seed)
    users = [ObjectId(f"{0x6F000000 + i:08x}" + "6" * 16) for i in range(120)]
    bots = STOCK_BOTS + list(FORKS) + [GONE_FORK]
    docs = []
    for _ in range(n):
        day = start + timedelta(days=rng.randrange(days))
        offset = rng.choice([-5, -1, 0, 1, 9, 13]) if rng.random() < 0.5 else rng.uniform(0, 24)
        when = day + timedelta(hours=offset, minutes=rng.choice([-1, 0, 1]))
        status = rng.choice([50, 100, 150, 200, 300, 1000, 1000, 1000, 1000])
        bot = rng.choice(bots)
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "createdAt": when,
            "status": status,
            "preflight": status == 50 or rng.random() < 0.03,
            "id_project": rng.choice(PROJECTS + [EXCLUDED_PROJECT]),
            "channel": {"name": rng.choice(["chat21"] * 6 + ["whatsapp", "voice-vxml"])},
            "requester": rng.choice(users) if rng.random() < 0.95 else None,
            "attributes": {"sourcePage": "https://acme.example/"},
            "participantsAgents": [],
        }
        if rng.random() < 0.1:
            doc["draft"] = True  # "test it" in the bot designer
            doc["attributes"]["sourcePage"] += "?td_draft=true"
        kind = rng.random()
        if kind < 0.45:  # bot only
            doc.update(participants=[f"bot_{bot}"], participantsBots=[bot], hasBot=True)
        elif kind < 0.6:  # handed to a human: the bot is gone from both arrays
            doc.update(participants=[HUMAN], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN]
        elif kind < 0.7:  # handed over, the bot still among the participants
            doc.update(participants=[HUMAN, f"bot_{bot}"], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN]
        elif kind < 0.8:  # a deployment that sets attributes.bot_id, then a hand-off
            doc["attributes"]["bot_id"] = bot
            doc.update(participants=[HUMAN], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN]
        else:  # human only
            doc.update(participants=[HUMAN], participantsBots=[], hasBot=False)
            doc["participantsAgents"] = [HUMAN] if rng.random() < 0.7 else []
        docs.append(doc)
    return docs
