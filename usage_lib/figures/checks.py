"""Data checks a reader must know before trusting the numbers; each says what it found in one sentence."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from usage_lib.core.buckets import bucketed
from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED, Cube
from usage_lib.core.tables import table_buckets
from usage_lib.figures.adoption import deleted_name


@dataclass(frozen=True)
class Finding:
    title: str
    sentence: str
    frame: pl.DataFrame  # the detail behind the sentence (may be empty)
    flagged: bool  # something a reader should look at


def _labels(cube: Cube) -> dict[str, str]:
    return {b.key: b.label for b in table_buckets(cube, "month")}


def _labelled(cube: Cube, frame: pl.DataFrame) -> pl.DataFrame:
    """`month` keys (YYYY-MM) as the cube's month labels (Sep 2026)."""
    labels = _labels(cube)
    return frame.with_columns(pl.col("month").replace_strict(labels, default=pl.col("month")))


def test_mode_months(cube: Cube) -> Finding:
    """Tenant-months whose qualifying conversations were all test conversations (test mode,
    or drafts under the stock profile)."""
    test = cube.test_word
    if test is None:
        sentence = "Does not apply: the billing rule counts test conversations too."
        return Finding("All test conversations", sentence, pl.DataFrame(), False)
    title, test = f"All {test}", test.replace(" ", "-")  # test-mode conversations
    labels = _labels(cube)
    excluded = [e.id for e in cube.exclusions]
    frame = (
        bucketed(cube, table_buckets(cube, "month"))
        .filter(~pl.col("org_id").is_in(excluded))
        .group_by("org_name", "bucket")
        .agg(pl.col("billable").sum(), pl.col("test_mode").sum())
        .filter((pl.col("billable") == 0) & (pl.col("test_mode") > 0))
        .sort(["test_mode", "bucket", "org_name"], descending=[True, False, False])
        .select(
            pl.col("org_name").alias(cube.tenant),
            pl.col("bucket").replace_strict(labels).alias("month"),
            pl.col("test_mode").alias(f"{test} conversations"),
        )
    )
    if frame.height == 0:
        sentence = f"No {cube.tenant} had a month in which all its conversations were {_as(test)}."
    else:
        items = listed(
            [
                f"{r[cube.tenant]} ({r['month']}, {r[f'{test} conversations']:,} {test} "
                "conversations)"
                for r in frame.iter_rows(named=True)
            ]
        )
        sentence = (
            f"{frame.height} {cube.tenant}-month(s) had only {test} conversations, "
            f"so they count as zero: {items}. "
            + (
                "A widget may have been left in test mode."
                if test == "test-mode"
                else "Only the bot designer's test links were used."
            )
        )
    return Finding(title, sentence, frame, frame.height > 0)


NAMED = 5  # a sentence names this many, the largest first, and counts the rest


def listed(items: list[str], named: int = NAMED) -> str:
    """Items for a sentence: all of a few; of many, the first `named` and how many more."""
    if len(items) <= named + 1:
        return ", ".join(items)
    return f"{', '.join(items[:named])} and {len(items) - named:,} more"


def _as(test: str) -> str:
    return "in test mode" if test == "test-mode" else f"{test}s"


def unattributed_share(cube: Cube) -> Finding:
    """Human-only conversations per tenant, the most first (only tenants that have some)."""
    by_org = (
        cube.frame.group_by("org_name")
        .agg(
            pl.col("billable").sum().alias("billable"),
            pl.col("billable")
            .filter(pl.col("agent_id") == UNATTRIBUTED)
            .sum()
            .alias("unattributed"),
        )
        .filter(pl.col("billable") > 0)
        .with_columns((pl.col("unattributed") / pl.col("billable")).alias("share"))
    )
    total = int(by_org["billable"].sum())
    unattributed = int(by_org["unattributed"].sum())
    by_org = (
        by_org.filter(pl.col("unattributed") > 0)
        .sort(["unattributed", "share", "org_name"], descending=[True, True, False])
        .select(pl.col("org_name").alias(cube.tenant), "billable", "unattributed", "share")
    )
    share = unattributed / total if total else 0.0
    top = by_org.row(0, named=True) if by_org.height else None
    sentence = f"{unattributed:,} of {total:,} billable conversations ({share:.1%}) had no agent (human only)"
    sentence += (
        f"; the most are in {top[cube.tenant]} ({top['unattributed']:,}, {top['share']:.0%} of "
        "its conversations)."
        if top
        else "."
    )
    if cube.tenant == "project":  # stock Tiledesk keeps no trace of the bot after a hand-off
        sentence += (
            " Stock Tiledesk empties participantsBots when a human takes over, so a handed-off"
            " conversation is Unattributed unless the deployment sets attributes.bot_id."
        )
    return Finding("Unattributed share", sentence, by_org, bool(top and top["share"] > 0.25))


def deleted_agents(cube: Cube) -> Finding:
    frame = (
        cube.frame.filter(~pl.col("agent_exists") & (pl.col("billable") > 0))
        .group_by("org_name", "agent_id", "agent_name")
        .agg(pl.col("billable").sum().alias("conversations"))
        .sort(["conversations", "agent_id"], descending=[True, False])
        .select(
            pl.col("org_name").alias(cube.tenant),
            pl.col("agent_id").alias("agent id"),
            "conversations",
        )
    )
    n = int(frame["conversations"].sum()) if frame.height else 0
    if n == 0:
        sentence = "Every conversation names an agent that still exists."
    else:
        sentence = (
            f"{n:,} billable conversations name {frame.height} agent(s) that no longer exist "
            "(deleted or trashed); they are still counted, each shown as "
            f'"{deleted_name(str(frame["agent id"][0]))}" and so on.'
        )
    return Finding("Agents that no longer exist", sentence, frame, n > 0)


def no_organization(cube: Cube) -> Finding:
    labels = _labels(cube)
    frame = (
        bucketed(cube, table_buckets(cube, "month"))
        .filter(pl.col("org_id") == UNASSIGNED)
        .group_by("bucket")
        .agg(pl.col("n").sum().alias("conversations"))
        .sort("bucket")
        .select(pl.col("bucket").replace_strict(labels).alias("month"), "conversations")
    )
    n = int(frame["conversations"].sum()) if frame.height else 0
    sentence = (
        f"{n:,} billable conversations have no {cube.tenant}; they are counted under "
        f"'No {cube.tenant}'."
        if n
        else f"Every billable conversation has {_a(cube.tenant)}."
    )
    return Finding(f"No {cube.tenant}", sentence, frame, n > 0)


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def excluded_volume(cube: Cube) -> Finding:
    names = {e.id: (e.name, e.reason) for e in cube.exclusions}
    sums = cube.frame.group_by("org_id").agg(pl.col("excluded").sum())
    counts = dict(zip(sums["org_id"].to_list(), sums["excluded"].to_list(), strict=True))
    t = cube.tenant
    frame = pl.DataFrame(
        [
            {t: n, "reason": r, "conversations": int(counts.get(i, 0))}
            for i, (n, r) in names.items()
        ],
        schema={t: pl.String, "reason": pl.String, "conversations": pl.Int64},
    ).sort(["conversations", t], descending=[True, False])
    n = int(frame["conversations"].sum()) if frame.height else 0
    if not names:
        sentence = f"No {t} is on the exclusion list."
    else:
        sentence = (
            f"{n:,} conversations that meet the billing rule were left out because their "
            f"{len(names)} {t}(s) are on the exclusion list (internal, demo or test)."
        )
    return Finding(f"Excluded {cube.tenants}", sentence, frame, False)


def restated(cube: Cube, restatements: pl.DataFrame | None) -> Finding:
    """Organization-months whose recount differs from what an earlier pack published
    (`restate.restatements`; None: no earlier pack published these months)."""
    if restatements is None:
        return Finding(
            "Restatements",
            "No earlier report pack published these months: nothing to compare with.",
            pl.DataFrame(),
            False,
        )
    by_month = _labelled(cube, restatements)  # in month order
    frame = by_month.sort(pl.col("change").abs(), "organization", descending=[True, False]).select(
        "organization", "month", "published", "now", "change"
    )  # the largest first
    if frame.height == 0:
        sentence = "Every month that an earlier pack published counts the same today."
    else:
        months = (
            by_month.group_by("month", maintain_order=True)
            .agg(pl.col("published", "now", "change").sum(), pl.len().alias("organizations"))
            .iter_rows(named=True)
        )
        items = "; ".join(
            f"{m['month']}: published {m['published']:,}, now {m['now']:,} ({m['change']:+,}; "
            f"{m['organizations']} organization{'s' if m['organizations'] > 1 else ''})"
            for m in months
        )
        sentence = (
            f"Months count differently from what an earlier pack published (conversations "
            f"that closed late, or changed data): {items}. The table lists each organization."
        )
    return Finding("Restatements", sentence, frame, frame.height > 0)


def reconciled(cube: Cube, frame: pl.DataFrame | None, error: str, tolerance: float) -> Finding:
    """Counted against billed (`reconcile.compare`), or why the billed side was not read."""
    if frame is None:
        return Finding("Reconciliation with billing", f"Not done: {error}.", pl.DataFrame(), True)
    shown = _labelled(cube, frame).select(
        "organization", "month", "counted", "billed", "difference", "percent", "status"
    )
    flagged = shown.filter(pl.col("status") != "ok").sort(
        pl.col("difference").abs(), "organization", descending=[True, False]
    )
    beyond = flagged.filter(pl.col("status") == "beyond tolerance").height
    only_counted = flagged.filter(pl.col("status") == "only counted").height
    only_billed = flagged.filter(pl.col("status") == "only billed").height
    sentence = (
        f"Of {shown.height} {cube.tenant}-months, {beyond} differ from billing by more than "
        f"{tolerance:.0%}, {only_counted} are counted but not billed and {only_billed} are "
        "billed but not counted."
    )
    return Finding("Reconciliation with billing", sentence, flagged, flagged.height > 0)


def all_checks(cube: Cube, restatements: pl.DataFrame | None = None) -> list[Finding]:
    return [
        test_mode_months(cube),
        unattributed_share(cube),
        deleted_agents(cube),
        no_organization(cube),
        excluded_volume(cube),
        restated(cube, restatements),
    ]
