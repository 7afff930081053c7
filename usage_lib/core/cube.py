"""The cube: what one pass over `requests` hands on. A row per tenant, agent and local day
(or month), with the billable count and what the rule left out, the metrics' sums, the
distinct users per bucket; saved and loaded with the pack. Every table is a polars step
over it (`tables`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from usage_lib.core.config import Exclusion
from usage_lib.core.periods import DateRange

if TYPE_CHECKING:
    from usage_lib.core.warm import Read

Grain = Literal["day", "month"]
UNASSIGNED = "unassigned"  # the organization row of requests with no organization
UNATTRIBUTED = "unattributed"  # the agent row of human-only conversations
UNATTRIBUTED_NAME = "Unattributed"

SCHEMA = {
    "org_id": pl.String,
    "agent_id": pl.String,
    "day": pl.Date,
    "billable": pl.Int64,  # conversations the billing rule counts
    "test_mode": pl.Int64,  # closed, deep enough, but test mode: left out of billing
    "excluded": pl.Int64,  # would be billable, but the organization is on the exclusion list
    "depth_sum": pl.Float64,  # of the billable conversations (read with the metrics)
    "depth_n": pl.Int64,  # billable conversations with a depth
    "handoffs": pl.Int64,  # billable, attributed to an agent, a human agent took part
}
USERS_SCHEMA = {"org_id": pl.String, "agent_id": pl.String, "bucket": pl.String, "users": pl.Int64}
NAMES = {"org_name": pl.String, "agent_name": pl.String, "agent_exists": pl.Boolean}


@dataclass(frozen=True)
class Cube:
    """The cube for one range, with what it counted and when it was read.

    `grain` "day": a row per organization, agent and local day (any table can be cut
    from it). "month": a row per month, dated its first day in the range (the
    monthly report's pass; fewer groups for the server to keep).
    """

    frame: pl.DataFrame  # SCHEMA + NAMES columns
    range: DateRange
    rule: str  # the billing rule in words
    exclusions: tuple[Exclusion, ...]
    read_at: datetime  # when the data was read (UTC)
    grain: Grain = "day"
    metrics: tuple[str, ...] = ("conversations",)  # what the pass read
    users: pl.DataFrame | None = None  # USERS_SCHEMA; ALL ("*") for every org, agent or bucket
    users_granularity: str | None = None  # the buckets `users` was counted for
    users_levels: tuple[tuple[bool, bool], ...] = ()  # (by tenant, by agent) levels counted
    users_totals: bool = True  # and over the whole range (bucket ALL)
    tenant: str = "organization"  # what a row of the platform table is (the profile's word)
    test_word: str | None = "test mode"  # what the rule leaves out as tests; None: it counts them
    has_depth: bool = True  # False: the profile stores no depth, so depth_avg is unavailable
    read: Read | None = None  # made from the local store: what it read (`warm`)

    @property
    def Tenant(self) -> str:  # noqa: N802 - the word with a capital, for headings
        return self.tenant[:1].upper() + self.tenant[1:]

    @property
    def tenants(self) -> str:
        return self.tenant + "s"

    @property
    def Tenants(self) -> str:  # noqa: N802
        return self.Tenant + "s"

    def save(self, path: str | Path) -> Path:
        """Write the cube as Parquet plus a JSON sidecar (`<path>.json`)."""
        path = Path(path)
        self.frame.write_parquet(path)
        meta = {
            "start": self.range.start.isoformat(),
            "end": self.range.end.isoformat(),
            "timezone": self.range.timezone,
            "rule": self.rule,
            "exclusions": [e.__dict__ for e in self.exclusions],
            "read_at": self.read_at.isoformat(),
            "grain": self.grain,
            "metrics": list(self.metrics),
            "users": None if self.users is None else self.users.to_dicts(),
            "users_granularity": self.users_granularity,
            "users_levels": [list(level) for level in self.users_levels],
            "users_totals": self.users_totals,
            "tenant": self.tenant,
            "test_word": self.test_word,
            "has_depth": self.has_depth,
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

    def within(self, rng: DateRange) -> Cube:
        """The days of `rng` as a cube of their own: a polars filter, no database call.

        `rng` must lie inside this daily cube's range and zone. Distinct users, counted for
        this cube's buckets, cannot be cut down, so the slice has none."""
        if self.grain != "day" or rng.timezone != self.range.timezone:
            raise ValueError(f"a {rng.timezone} range cannot be cut from this cube")
        if rng.start < self.range.start or rng.end > self.range.end:
            raise ValueError(f"{rng.describe()} is not inside {self.range.describe()}")
        return replace(
            self,
            frame=self.frame.filter(pl.col("day").is_between(rng.start, rng.end)),
            range=rng,
            metrics=tuple(m for m in self.metrics if m != "users"),
            users=None,
            users_granularity=None,
            users_levels=(),
        )

    @classmethod
    def load(cls, path: str | Path) -> Cube:
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        return cls(
            frame=pl.read_parquet(path),
            range=DateRange(
                datetime.fromisoformat(meta["start"]).date(),
                datetime.fromisoformat(meta["end"]).date(),
                meta["timezone"],
            ),
            rule=meta["rule"],
            exclusions=tuple(Exclusion(**e) for e in meta["exclusions"]),
            read_at=datetime.fromisoformat(meta["read_at"]),
            grain=meta.get("grain", "day"),
            metrics=tuple(meta.get("metrics", ["conversations"])),
            users=None
            if meta.get("users") is None
            else pl.DataFrame(meta["users"], schema=USERS_SCHEMA, orient="row"),
            users_granularity=meta.get("users_granularity"),
            users_levels=tuple((bool(a), bool(b)) for a, b in meta.get("users_levels", [])),
            users_totals=meta.get("users_totals", True),
            tenant=meta.get("tenant", "organization"),
            test_word=meta.get("test_word", "test mode"),
            has_depth=meta.get("has_depth", True),
        )
