"""The indexes that serve the pass's `$match`, and whether the database already has them.

Equality first, then the ranges (MongoDB's Equality, Sort, Range rule): `status` is
matched by equality (one status, or a short `$in` list of them), so it leads and the
scan is confined to closed conversations; `createdAt` is the report window, the
range that stays narrow however long the history grows; `depth` is a second,
unselective range (at least 3 turns), last so that the index serves the whole
filter without a fetch to reject shallow conversations.

A tenant's own table (`--scope org`, a customer's statement) matches its tenant by
equality too (the ObjectId and the hex string in either case: three points), so the second
index puts the tenant first: it reads that tenant's conversations only.

The daily watch (`usage-report alerts`, the pack's month alerts) reads every status and
depth of its days, so the third index is the window alone: `createdAt`. It also serves the
local store's count of documents per day (`changes.day_counts`), from the index alone.

The local store finds the documents edited since it read a day by `updatedAt`: Tiledesk's
own `{updatedAt: -1}` index serves it (either direction does).
"""

from __future__ import annotations

from collections.abc import Callable

from pymongo.database import Database

from usage_lib.core.config import Config
from usage_lib.core.db import translate_errors

INDEX_NAME = "usage_report_match"
TENANT_INDEX_NAME = "usage_report_tenant"
WATCH_INDEX_NAME = "usage_report_started"
EDITS_INDEX_NAME = "usage_report_updated"
EDITS_KEYS: list[tuple[str, int]] = [("updatedAt", -1)]
Keys = list[tuple[str, int]]


def recommended(config: Config) -> Keys:
    """Status (when the rule names statuses) and the window; then the depth range where the
    rule has one. Preflight and channel conditions are an `$expr` on the fetched document,
    which no index serves, so they stay out of it (they reject few conversations)."""
    keys = [("status", 1)] if config.rule.statuses is not None else []
    keys.append(("createdAt", 1))
    if config.rule.min_depth > 0:
        keys.append((config.profile.depth_field, 1))
    return keys


def tenant_keys(config: Config) -> Keys:
    """The tenant, then the window index's keys."""
    return [(config.profile.tenant_field, 1), *recommended(config)]


def watch_keys(config: Config) -> Keys:
    """What the watch's `$match` needs: the window (any status, any depth)."""
    return [("createdAt", 1)]


def find_equivalent(db: Database, keys: Keys) -> str | None:
    """An existing index whose leading fields are `keys` (either direction; not partial,
    sparse or hashed, which would not serve every matching document)."""
    wanted = [field for field, _ in keys]
    with translate_errors(db):
        indexes = db.requests.index_information()
    for name, info in indexes.items():
        fields = [field for field, _ in info["key"]]
        plain = all(isinstance(d, (int, float)) for _, d in info["key"])
        if (
            fields[: len(wanted)] == wanted
            and plain
            and not (info.get("partialFilterExpression") or info.get("sparse"))
        ):
            return str(name)
    return None


def spec(keys: Keys) -> str:
    return "{ " + ", ".join(f"{field}: {direction}" for field, direction in keys) + " }"


def describe(keys: Keys) -> str:
    lines = [f"The report's $match is served by the index {spec(keys)} on requests:"]
    if keys[0][0] == "status":
        lines.append(
            "  status first    equality (the billable statuses): only those statuses are read;"
        )
    lines.append(
        "  createdAt next  the report window, a range that stays narrow as the history grows;"
    )
    if len(keys) > 2 or (keys[0][0] != "status" and len(keys) > 1):
        lines.append(
            f"  {keys[-1][0]} last      a second range (at least N turns), checked in the index."
        )
    return "\n".join(lines)


def describe_tenant(keys: Keys) -> str:
    return (
        f"One tenant's table or statement is served by {spec(keys)}: {keys[0][0]} first, "
        "matched by equality (three points: the ObjectId and the hex in either case)."
    )


def create(db: Database, keys: Keys, name: str = INDEX_NAME) -> str:
    """Build the index (online on MongoDB 4.2 and later). Needs the createIndex privilege."""
    refused = (
        "nothing was created: building an index needs the createIndex privilege "
        "(a dbAdmin user), which the report's read-only user has not"
    )
    with translate_errors(db, refused):
        return str(db.requests.create_index(keys, name=name))


def advise(db: Database, config: Config, build: bool, say: Callable[[str], None]) -> None:
    """`usage-report indexes`: say which of the four indexes are there, and with `build`
    create the missing ones, saying so before each write."""
    wanted = [
        (INDEX_NAME, recommended(config), describe(recommended(config))),
        (TENANT_INDEX_NAME, tenant_keys(config), describe_tenant(tenant_keys(config))),
    ]
    if watch_keys(config) != recommended(config):
        wanted.append(
            (
                WATCH_INDEX_NAME,
                watch_keys(config),
                f"The daily watch (usage-report alerts) and the local store's count per day "
                f"are served by {spec(watch_keys(config))}: they read every status and depth "
                "of their days.",
            )
        )
    wanted.append(
        (
            EDITS_INDEX_NAME,
            EDITS_KEYS,
            f"The local store finds what was edited since it read a day by {spec(EDITS_KEYS)} "
            "(Tiledesk creates it).",
        )
    )
    missing = []
    for name, keys, words in wanted:
        say(words)
        existing = find_equivalent(db, keys)
        if existing:
            say(f"Already there: index {existing!r} on {db.name}.requests serves it.")
        else:
            say(f"Not there: {db.name}.requests has no index that starts with these keys.")
            missing.append((name, keys))
    if not missing:
        say("Nothing to do.")
        return
    if not build:
        say("Run `usage-report indexes --create` to build them (it writes to the database).")
        return
    for name, keys in missing:
        say(
            f"Writing to the source database: creating index {spec(keys)} on "
            f"{db.name}.requests (the only write usage-report ever makes) ..."
        )
        say(f"Created index {create(db, keys, name)!r}.")
