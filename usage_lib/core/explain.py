"""Every number explained: for each tenant and a range, the conversations started, then each
step of the configured billing rule with how many it leaves out, down to the billable count.
A conversation is left out by the first step that leaves it out, so the steps add up.

One aggregation for every tenant of the range: `$match` the range (and the tenant), `$group`
on (stored tenant, the step that leaves the conversation out, its status when that step is
the status, whether its depth is missing when it is the depth), normalize the tenant, and
`$group` again: a few rows per tenant, bounded whatever the data's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from usage_lib.core import rule
from usage_lib.core.config import Config
from usage_lib.core.cube import UNASSIGNED
from usage_lib.core.db import aggregate, translate_errors
from usage_lib.core.periods import DateRange
from usage_lib.core.query import lookup_tenant_names
from usage_lib.core.rows import COUNT, NO_DEPTH, STATUS, STEP, TENANT, field, grouped

STEPS = ("started", "preflight", "channel", "test", "status", "depth", "excluded", "billable")
STATUS_NAMES = {
    50: "temporary",
    100: "open",
    150: "abandoned",
    200: "assigned",
    300: "served",
    1000: "closed",
}
OTHER_STATUS = "other"  # a status of no known number (a string, missing, another number)
PLATFORM = "*"


def steps_of(config: Config) -> tuple[str, ...]:
    """The steps the configured rule has, in order (started and billable always)."""
    r = config.rule
    has = {
        "preflight": r.exclude_preflight,
        "channel": bool(r.exclude_channels),
        "test": r.exclude_test_mode,
        "status": r.statuses is not None,
        "depth": r.min_depth > 0,
        "excluded": bool(config.exclusions),
    }
    return tuple(s for s in STEPS if has.get(s, True))


def explain_pipeline(rng: DateRange, config: Config, tenant: str | None = None) -> list[Any]:
    step = rule.left_out_expr(config)
    return [
        *rule.match_stages(rule.window_match(rng, config.profile, tenant)),
        {
            "$group": {
                "_id": {
                    TENANT: f"${config.profile.tenant_field}",
                    STEP: step,
                    STATUS: {"$cond": [{"$eq": [step, "status"]}, "$status", None]},
                    NO_DEPTH: {
                        "$and": [
                            {"$eq": [step, "depth"]},
                            {"$not": [rule.depth_known_expr(config.profile)]},
                        ]
                    },
                },
                COUNT: {"$sum": 1},
            }
        },
        {
            "$project": {
                "_id": 0,
                TENANT: rule.tenant_expr(grouped(TENANT)),
                **{k: grouped(k) for k in (STEP, STATUS, NO_DEPTH)},
                COUNT: 1,
            }
        },
        {
            "$group": {
                "_id": {k: field(k) for k in (TENANT, STEP, STATUS, NO_DEPTH)},
                COUNT: {"$sum": field(COUNT)},
            }
        },
    ]


def status_name(value: Any) -> str:
    number = rule.numeric(value)
    if number is None or not number.is_integer():
        return OTHER_STATUS
    return STATUS_NAMES.get(int(number), OTHER_STATUS)


@dataclass(frozen=True)
class Steps:
    """One tenant's (or the platform's) count, step by step."""

    id: str
    name: str
    left_out: dict[str, int]  # step -> conversations it left out
    by_status: dict[str, int]  # status name -> conversations the status step left out
    depth_missing: int  # of those the depth step left out, with no depth at all
    billable: int

    @property
    def started(self) -> int:
        return self.billable + sum(self.left_out.values())

    def to_json(self, steps: tuple[str, ...], dashboard: str | None = None) -> dict[str, Any]:
        """`usage-report explain --format json`: `count` is what remains after the step."""
        rows: list[dict[str, Any]] = [{"step": "started", "count": self.started}]
        left = self.started
        for step in steps[1:-1]:
            left -= self.left_out.get(step, 0)
            row: dict[str, Any] = {
                "step": step,
                "left_out": self.left_out.get(step, 0),
                "count": left,
            }
            if step == "status":
                row["by_status"] = dict(sorted(self.by_status.items()))
            if step == "depth":
                row["missing"] = self.depth_missing
            if step == "preflight" and dashboard:
                row["label"] = dashboard
            rows.append(row)
        rows.append({"step": "billable", "count": self.billable})
        return {"id": self.id, "name": self.name, "steps": rows}


@dataclass(frozen=True)
class Explained:
    range: DateRange
    rule: str
    steps: tuple[str, ...]
    tenants: list[Steps]  # every tenant with a conversation in the range, largest first
    platform: Steps | None  # None when one tenant was asked
    dashboard: str | None  # the preflight line's name under the tiledesk profile

    def to_json(self) -> dict[str, Any]:
        return {
            "range": {
                "start": self.range.start.isoformat(),
                "end": self.range.end.isoformat(),
                "timezone": self.range.timezone,
            },
            "rule": self.rule,
            "tenants": [t.to_json(self.steps, self.dashboard) for t in self._all()],
        }

    def _all(self) -> list[Steps]:
        return [*self.tenants, *([] if self.platform is None else [self.platform])]

    def lines(self) -> list[str]:
        """The steps as text, one block per tenant."""
        out = [f"Counted: {self.rule}; {self.range.describe()}.", ""]
        for t in self._all():
            out.append(f"{t.name} ({t.id})" if t.id != PLATFORM else "The platform")
            for row in t.to_json(self.steps, self.dashboard)["steps"]:
                out.append("  " + step_line(row))
            out.append("")
        return out


WORDS = {
    "started": "conversations started",
    "preflight": "pre-chat (preflight) left out",
    "channel": "channels left out",
    "test": "tests left out",
    "status": "not in a counted status",
    "depth": "too short",
    "excluded": "excluded (internal) tenant",
    "billable": "billable",
}


def step_line(row: dict[str, Any]) -> str:
    name = row["step"]
    if name in ("started", "billable"):
        return f"{WORDS[name] + ':':<34}{row['count']:>10,}"
    detail = ""
    if name == "status" and row.get("by_status"):
        detail = " (" + ", ".join(f"{k} {v:,}" for k, v in row["by_status"].items()) + ")"
    if name == "depth" and row.get("missing"):
        detail = f" ({row['missing']:,} with no depth)"
    left = f"{-row['left_out']:+,}" if row["left_out"] else "0"
    text = f"{'- ' + WORDS[name] + ':':<34}{left:>10}  -> {row['count']:,}{detail}"
    if row.get("label"):
        text += f"   {row['label']}"
    return text


def explain(db: Database, rng: DateRange, config: Config, tenant: str | None = None) -> Explained:
    """The steps for every tenant of `rng` (or `tenant` only) and the platform."""
    excluded = set(config.excluded_ids)
    if tenant is not None:
        tenant = rule.NONE if tenant == UNASSIGNED else rule.lower(tenant)
    per: dict[str, dict[str, Any]] = {}
    with translate_errors(db, what=f"the steps of {rng.describe()}"):
        stages = explain_pipeline(rng, config, tenant)
        label = f"Explaining {rng.describe()} step by step"
        cursor = aggregate(db, "steps", stages, config, label=label)
        for row in cursor:
            key, n = row["_id"], int(row[COUNT])
            o = key[TENANT] or UNASSIGNED
            step = key[STEP]
            if step == rule.PASSED:
                step = "excluded" if key[TENANT] in excluded else "billable"
            t = per.setdefault(o, {"left": {}, "status": {}, "missing": 0, "billable": 0})
            if step == "billable":
                t["billable"] += n
                continue
            t["left"][step] = t["left"].get(step, 0) + n
            if step == "status":
                name = status_name(key.get(STATUS))  # no key: a conversation with no status
                t["status"][name] = t["status"].get(name, 0) + n
            if step == "depth" and key.get(NO_DEPTH):
                t["missing"] += n
    names = lookup_tenant_names(db, sorted(per), config.profile)
    tenants = [
        Steps(o, names.get(o, o), t["left"], t["status"], t["missing"], t["billable"])
        for o, t in per.items()
    ]
    tenants.sort(key=lambda s: (-s.started, s.name))
    platform = (
        None
        if tenant is not None
        else Steps(
            PLATFORM,
            "The platform",
            _summed(t.left_out for t in tenants),
            _summed(t.by_status for t in tenants),
            sum(t.depth_missing for t in tenants),
            sum(t.billable for t in tenants),
        )
    )
    dashboard = None
    if config.profile.name == "tiledesk" and config.rule.exclude_preflight:
        dashboard = "what the Tiledesk dashboard shows"
        if rng.timezone != "UTC":
            dashboard += " (it cuts months in UTC)"
    return Explained(rng, config.describe_rule(), steps_of(config), tenants, platform, dashboard)


def _summed(parts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0) + v
    return total
