"""The conversations behind a statement: each conversation of a range, one by one, with the
step of the rule that leaves it out (`rule.PASSED` when it is billable), by customer, then
oldest first. One aggregation, streamed; its sort spills to disk, so memory stays flat
however large the month is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pymongo.database import Database

from usage_lib.core import rule
from usage_lib.core.config import Config
from usage_lib.core.db import aggregate, translate_errors
from usage_lib.core.explain import status_name
from usage_lib.core.periods import DateRange
from usage_lib.core.profiles import Profile
from usage_lib.core.rows import CUSTOMER, STEP

FIELDS = (
    "request_id",
    "createdAt",
    "status",
    "attributes.bot_id",
    "participantsBots",
    "participantsAgents",
)  # fmt: skip  (and the profile's tenant, test and depth fields)


def conversations_pipeline(
    rng: DateRange, config: Config, customers: list[str], tenant: str | None = None
) -> list[dict[str, Any]]:
    """Each conversation of `rng` whose normalized tenant is one of `customers` (of `tenant`
    only, when given), as `c` (that tenant) and `s` (the step that leaves it out), with the
    fields a statement shows, sorted by (c, createdAt, _id)."""
    p = config.profile
    wanted = [
        *FIELDS,
        *([p.depth_field] if p.has_depth else []),
        *(["participants"] if p.bot_prefix else []),
    ]
    return [
        *rule.match_stages(rule.window_match(rng, p, tenant)),
        {
            "$project": {
                CUSTOMER: rule.tenant_expr(f"${p.tenant_field}"),
                STEP: rule.left_out_expr(config),
                **dict.fromkeys(wanted, 1),
            }
        },
        {"$match": {CUSTOMER: {"$in": customers}}},
        {"$sort": {CUSTOMER: 1, "createdAt": 1, "_id": 1}},
    ]


def conversations(
    db: Database, rng: DateRange, config: Config, customers: list[str], tenant: str | None = None
) -> Iterator[dict[str, Any]]:
    """`conversations_pipeline`'s documents, streamed 2,000 at a time."""
    with translate_errors(db, what=f"the conversations of {rng.describe()}"):
        pipeline = conversations_pipeline(rng, config, customers, tenant)
        label = f"Listing the conversations of {rng.describe()}"
        yield from aggregate(db, "conversations", pipeline, config, batch=2_000, label=label)


def reason(doc: dict[str, Any], profile: Profile) -> str:
    """Why a streamed conversation is not billed, in the steps' words (`explain`)."""
    step = doc[STEP]
    if step == "status":
        return f"status: {status_name(doc.get('status'))}"
    if step == "depth":
        known = rule.numeric(doc.get(profile.depth_field)) is not None
        return "depth: too short" if known else "depth: missing"
    return str(step)
