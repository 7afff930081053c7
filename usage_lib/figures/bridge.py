"""Why the month moved: the change of the month's billable total against the month before,
split into new tenants, lost tenants, the growth and decline of the others, and those
unchanged; the conversations with no organization are a row of their own. Every tenant active
in either month is in exactly one part, so the parts cover them all and add up to the change.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from usage_lib.core.cube import UNASSIGNED, Cube
from usage_lib.figures.adoption import month_label, monthly, months_of

PARTS = ("new", "lost", "growth", "decline", "unchanged", "unassigned")
NAMED = 3  # the tenants named behind each part, largest first


@dataclass(frozen=True)
class Part:
    part: str  # one of PARTS
    tenants: int
    change: int  # signed
    largest: tuple[tuple[str, int], ...]  # (name, signed change), largest first


@dataclass(frozen=True)
class Bridge:
    label: str
    previous_label: str
    before: int
    after: int
    parts: tuple[Part, ...]  # in PARTS order (zero ones too; "unassigned" only when nonzero)
    tenant: str = "organization"

    @property
    def change(self) -> int:
        return self.after - self.before

    @property
    def tenants(self) -> int:
        """The tenants active in either month: each is in one part ("unassigned" is none)."""
        return sum(p.tenants for p in self.parts if p.part != "unassigned")

    def heading(self, part: Part) -> str:
        words = {
            "new": f"New {self.tenant}s",
            "lost": f"Lost {self.tenant}s",
            "growth": f"Growth of the other {self.tenant}s",
            "decline": f"Decline of the other {self.tenant}s",
            "unchanged": f"Unchanged {self.tenant}s",
            "unassigned": f"No {self.tenant}",
        }
        return words[part.part]

    def sentence(self) -> str:
        return (
            f"{self.previous_label} {self.before:,} -> {self.label} {self.after:,} "
            f"({self.change:+,}): "
            + "; ".join(f"{self.heading(p).lower()} {p.change:+,}" for p in self.parts)
            + "."
        )


def bridge(cube: Cube, month: str) -> Bridge | None:
    """The month against the one before it; None when the cube does not hold that month."""
    keys = months_of(cube)
    if month not in keys or keys.index(month) == 0:
        return None
    before_key = keys[keys.index(month) - 1]
    per = monthly(cube).filter(pl.col("month").is_in([before_key, month]))
    wide = (
        per.group_by("org_id")
        .agg(
            pl.col("org_name").first(),
            pl.col("n").filter(pl.col("month") == before_key).sum().alias("before"),
            pl.col("n").filter(pl.col("month") == month).sum().alias("after"),
        )
        .with_columns(delta=pl.col("after") - pl.col("before"))
    )
    b, a, d = pl.col("before"), pl.col("after"), pl.col("delta")
    customer = pl.col("org_id") != UNASSIGNED
    which = {
        "new": customer & (b == 0),
        "lost": customer & (a == 0),
        "growth": customer & (b > 0) & (a > 0) & (d > 0),
        "decline": customer & (b > 0) & (a > 0) & (d < 0),
        "unchanged": customer & (b > 0) & (a > 0) & (d == 0),
        "unassigned": ~customer,
    }
    parts = []
    for name in PARTS:
        if name == "unassigned" and wide.filter(which[name]).height == 0:
            continue
        rows = wide.filter(which[name]).sort([d.abs(), "org_name"], descending=[True, False])
        named = tuple(
            (str(n), int(c)) for n, c in rows.head(NAMED).select("org_name", "delta").iter_rows()
        )
        if name in ("unchanged", "unassigned"):
            named = ()
        parts.append(Part(name, rows.height, int(rows["delta"].sum()), named))
    return Bridge(
        label=month_label(cube, month),
        previous_label=month_label(cube, before_key),
        before=int(per.filter(pl.col("month") == before_key)["n"].sum()),
        after=int(per.filter(pl.col("month") == month)["n"].sum()),
        parts=tuple(parts),
        tenant=cube.tenant,
    )
