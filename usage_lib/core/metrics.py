"""The metrics a table can show, what each counts, and what the pass must read for them.

All of them count billable conversations only (the billing rule and the exclusions):

- conversations: how many;
- users: distinct end users (`requester`; an ObjectId and its hex string are one user,
  a missing one is none). Not additive: every total is its own distinct count;
- depth_avg: the mean `depth`, to 2 decimals (half up, exactly); none without conversations;
- handoffs: conversations attributed to an agent in which a human agent took part
  (`participantsAgents` not empty). Additive.

Distinct users cannot be added up from days into weeks or months, so the pass counts
them exactly for the buckets and the totals a table needs: a `$group` on (key, user),
then a count per key (`pipeline`). Only the counts leave the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from usage_lib.errors import ConfigError

METRICS = ("conversations", "users", "depth_avg", "handoffs")
ALL = "*"  # in a users key: every organization, every agent, or the whole range

TITLES = {
    "conversations": "Billable conversations",
    "users": "End users (distinct)",
    "depth_avg": "Average depth (message turns)",
    "handoffs": "Hand-offs to a human",
}
MEANINGS = {
    "conversations": "conversations: how many",
    "users": "end users: distinct requesters (counted, not added, across buckets and rows)",
    "depth_avg": "average depth: mean message turns",
    "handoffs": "hand-offs: those attributed to an agent in which a human agent took part "
    "(hand-off rate: hand-offs per agent-attributed conversation)",
}

NO_DEPTH = "average depth: not available (this source stores no depth)"

# Which rows a table's users are counted for: (by organization, by agent).
LEVELS: dict[str, tuple[tuple[bool, bool], ...]] = {
    "platform": ((True, False), (False, False)),  # organizations, then all of them
    "organization": ((True, True), (True, False)),  # an organization's agents, then it
    "agent": ((True, True),),  # one agent within one organization
    "agent_anywhere": ((False, True),),  # one agent across organizations
}
# A platform table and any organization's drill-down, from one pass.
DRILL_DOWN = tuple(dict.fromkeys(LEVELS["platform"] + LEVELS["organization"]))


def parse_metrics(text: str, key: str = "metrics") -> tuple[str, ...]:
    """'conversations,users' or 'all' -> the names, in the order asked."""
    if text.strip() == "all":
        return METRICS
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in METRICS]
    if not names or unknown:
        raise ConfigError(
            key, f"{text!r} is not a list of metrics (choose from {', '.join(METRICS)}, or all)"
        )
    if len(set(names)) != len(names):
        raise ConfigError(key, f"{text!r} names a metric twice")
    return names


@dataclass(frozen=True)
class Users:
    """Distinct users to count in the pass: per bucket of `granularity`, for `levels`, and
    (`totals`) over the whole range. Each count costs the server a sort of its users."""

    granularity: str
    levels: tuple[tuple[bool, bool], ...]
    totals: bool = True


@dataclass(frozen=True)
class Reading:
    """What the pass reads besides the count."""

    details: bool = False  # depth and hand-offs (and the test flag in the group key)
    users: Users | None = None

    @classmethod
    def of(cls, metrics: Sequence[str], users: Users | None = None) -> Reading:
        details = any(m in ("depth_avg", "handoffs", "users") for m in metrics)
        return cls(details, users if "users" in metrics else None)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics a cube read this way can show."""
        if not self.details:
            return ("conversations",)
        return tuple(m for m in METRICS if m != "users" or self.users is not None)


COUNT_ONLY = Reading()
