"""Reconciliation: the counts next to what was billed, per organization and month.

The billed side is a CSV file (`organization_id,month,billed`) or a collection with
named fields (`stripe_meters`: organization, period, `chat_conv_count`). A difference
beyond the tolerance is flagged, and an organization on one side only is listed as such.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl
from pymongo.database import Database
from pymongo.errors import PyMongoError

from usage_lib.core import rule
from usage_lib.core.config import Reconcile, check_object_id
from usage_lib.core.cube import UNASSIGNED
from usage_lib.core.db import lookup
from usage_lib.errors import ConfigError, ReconcileError

BILLED = {"org_id": pl.String, "month": pl.String, "billed": pl.Float64}
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
COLUMNS = ["organization_id", "month", "billed"]


def read_billed(spec: Reconcile, db: Database) -> pl.DataFrame:
    """org_id, month, billed (summed per organization and month)."""
    rows = _read_csv(spec) if spec.csv is not None else _read_collection(spec, db)
    frame = pl.DataFrame(rows, schema=BILLED, orient="row")
    return frame.group_by("org_id", "month").agg(pl.col("billed").sum()).sort("org_id", "month")


def _read_csv(spec: Reconcile) -> list[tuple[str, str, float]]:
    path = spec.csv
    try:
        with open(str(path), newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if header != COLUMNS:
                raise ReconcileError(f"{path}: the header must be {','.join(COLUMNS)}")
            rows = []
            for number, row in enumerate(reader, start=2):
                if not row or not any(cell.strip() for cell in row):
                    continue
                rows.append(_row(row, f"{path} row {number}"))
            return rows
    except OSError as exc:
        raise ReconcileError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _row(row: list[str], where: str) -> tuple[str, str, float]:
    if len(row) != 3:
        raise ReconcileError(f"{where}: expected 3 values ({','.join(COLUMNS)}), got {len(row)}")
    org, month, billed = (cell.strip() for cell in row)
    try:
        org = check_object_id(org, where)
    except ConfigError:
        raise ReconcileError(
            f"{where}: {org!r} is not an organization id (24 hex digits)"
        ) from None
    if not MONTH.match(month):
        raise ReconcileError(f"{where}: {month!r} is not a month (YYYY-MM)")
    try:
        value = float(billed)
    except ValueError:
        raise ReconcileError(f"{where}: {billed!r} is not a number") from None
    if value < 0:
        raise ReconcileError(f"{where}: billed {billed} is negative")
    return org, month, value


def _read_collection(spec: Reconcile, db: Database) -> list[tuple[str, str, float]]:
    where = f"{db.name}.{spec.collection}"
    fields = {spec.organization_field: 1, spec.period_field: 1, spec.value_field: 1}
    rows = []
    try:
        for doc in lookup(db, "billed", str(spec.collection), {}, fields):
            org = rule.tenant_of(rule.field(doc, spec.organization_field)) or None
            month = _month(rule.field(doc, spec.period_field))
            value = rule.numeric(rule.field(doc, spec.value_field))  # a number of any type, no bool
            if org is None or month is None or value is None:
                continue  # a reading for something else (voice, another meter)
            rows.append((org, month, value))
    except PyMongoError as exc:
        raise ReconcileError(f"{where}: cannot be read ({type(exc).__name__})") from None
    if not rows:
        raise ReconcileError(
            f"{where}: no document has {spec.organization_field}, {spec.period_field} and a "
            f"numeric {spec.value_field}"
        )
    return rows


def _month(value: Any) -> str | None:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).strftime("%Y-%m")
    if isinstance(value, str) and MONTH.match(value[:7]):
        return value[:7]
    return None


SCHEMA = {
    "org_id": pl.String,
    "organization": pl.String,
    "month": pl.String,
    "counted": pl.Int64,
    "billed": pl.Float64,
    "difference": pl.Float64,
    "percent": pl.Float64,
    "status": pl.String,
}


def compare(
    published: Mapping[str, Any],
    billed: pl.DataFrame,
    tolerance: float,
    names: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Per organization and month of the window: counted (what the pack publishes, see
    `restate.published`) against billed; status "ok", "beyond tolerance", "only counted"
    or "only billed". The "No organization" row is not compared. `names` names the
    organizations that are billed but not counted (the excluded ones, for example)."""
    months = set(published["months"])
    counted = {  # conversations with no organization cannot be billed to anyone: left out
        (org, month): n
        for org, item in published["organizations"].items()
        for month, n in item["months"].items()
        if org != UNASSIGNED
    }
    names = {**(names or {}), **{o: i["name"] for o, i in published["organizations"].items()}}
    bills = {
        (r["org_id"], r["month"]): r["billed"]
        for r in billed.iter_rows(named=True)
        if r["month"] in months
    }
    rows = []
    for org, month in sorted(set(counted) | set(bills)):
        n, b = counted.get((org, month)), bills.get((org, month))
        if b is None:
            status, diff, pct = "only counted", None, None
        elif n is None:
            status, diff, pct = "only billed", -b, None
        else:
            diff = n - b
            pct = diff / b if b else None
            status = "ok" if pct is not None and abs(pct) <= tolerance else "beyond tolerance"
        rows.append((org, names.get(org, org), month, n, b, diff, pct, status))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row").sort("month", "organization")
