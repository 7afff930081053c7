"""Reconciliation: counted against billed, from a CSV or a collection; what is flagged."""

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from data import ROOT
from pymongo import MongoClient

from usage_lib.connection import open_source
from usage_lib.core.config import Reconcile, load_config
from usage_lib.errors import ReconcileError
from usage_lib.paths import EXAMPLE_CONFIG, report_notebooks
from usage_lib.report.job import make_pack
from usage_lib.report.reconcile import compare, read_billed

A, B, C, D = ("a" * 24, "b" * 24, "c" * 24, "d" * 24)

PUBLISHED = {
    "months": ["2026-09", "2026-10"],
    "organizations": {
        A: {"name": "Alpha", "months": {"2026-09": 1000, "2026-10": 1000}},
        B: {"name": "Beta", "months": {"2026-10": 200}},
        C: {"name": "Gamma", "months": {"2026-10": 50}},
    },
}


def billed(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"org_id": pl.String, "month": pl.String, "billed": pl.Float64}, orient="row"
    )


def test_exactly_the_differences_beyond_tolerance_and_one_sided_are_flagged() -> None:
    frame = compare(
        PUBLISHED,
        billed(
            [
                (A, "2026-09", 1015),
                (A, "2026-10", 1000),
                (B, "2026-10", 190),
                (D, "2026-10", 7),
                (A, "2026-08", 5),
            ]
        ),  # fmt: skip
        0.02,
    )
    status = {(r["organization"], r["month"]): r["status"] for r in frame.iter_rows(named=True)}
    assert status == {
        ("Alpha", "2026-09"): "ok",  # 1.5% off: within 2%
        ("Alpha", "2026-10"): "ok",
        ("Beta", "2026-10"): "beyond tolerance",  # 200 counted, 190 billed: 5.3%
        ("Gamma", "2026-10"): "only counted",
        (D, "2026-10"): "only billed",  # a month outside the window (2026-08) is left out
    }
    beta = frame.filter(pl.col("organization") == "Beta").row(0, named=True)
    assert (beta["difference"], round(beta["percent"], 4)) == (10, round(10 / 190, 4))


def test_a_malformed_csv_names_the_file_and_the_row(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_text(f"organization_id,month,billed\n{A},2026-10,12\n{B},Oct 2026,3\n")
    with pytest.raises(ReconcileError, match=rf"^{path} row 3: 'Oct 2026' is not a month"):
        read_billed(Reconcile(csv=path), None)  # type: ignore[arg-type]
    path.write_text("org,month,n\n")
    with pytest.raises(ReconcileError, match="the header must be organization_id,month,billed"):
        read_billed(Reconcile(csv=path), None)  # type: ignore[arg-type]
    with pytest.raises(ReconcileError, match="cannot be read"):
        read_billed(Reconcile(csv=tmp_path / "missing.csv"), None)  # type: ignore[arg-type]


def test_a_collection_with_named_fields(mongo: Any) -> None:
    with MongoClient(mongo.uri) as client:
        db = client["billing"]
        db.stripe_meters.drop()
        db.stripe_meters.insert_many(
            [
                {"org": {"id": A.upper()}, "period": datetime(2026, 10, 1), "chat_conv_count": 600},
                {"org": {"id": A}, "period": datetime(2026, 10, 15), "chat_conv_count": 400},
                {"org": {"id": B}, "period": "2026-10-01", "chat_conv_count": 150},
                {"org": {"id": B}, "period": "2026-10-01", "voice_duration_minutes": 9},
                {"org": {"id": D}, "period": datetime(2026, 9, 3), "chat_conv_count": 4},
            ]
        )
        spec = Reconcile(collection="stripe_meters", organization_field="org.id")
        frame = read_billed(spec, db)
        assert frame.rows() == [(A, "2026-10", 1000.0), (B, "2026-10", 150.0), (D, "2026-09", 4.0)]
        result = compare(PUBLISHED, frame, 0.02)
        flagged = result.filter(pl.col("status") != "ok").select("org_id", "month", "status")
        assert flagged.rows() == [
            (A, "2026-09", "only counted"),
            (D, "2026-09", "only billed"),
            (B, "2026-10", "beyond tolerance"),
            (C, "2026-10", "only counted"),
        ]
        with pytest.raises(ReconcileError, match="billing.nothing: no document has"):
            read_billed(Reconcile(collection="nothing"), db)


def test_the_demo_pack_gains_a_reconciliation_page(tmp_path: Path) -> None:
    config_file = tmp_path / "usage.toml"
    config_file.write_text(
        EXAMPLE_CONFIG.read_text()
        + f'\n[reconcile]\ncsv = "{ROOT / "docs" / "demo-billing-2026-10.csv"}"\n'
    )
    config = load_config(config_file, env={"USAGE_MONGODB_URI": os.environ["USAGE_MONGODB_URI"]})
    # opened as the commands open it, with the worker's local store (conftest.py), which the
    # notebooks of its group share: this test runs first there (tests/ is collected before
    # notebooks/), so it reads the demo's days and the notebooks find them in the store
    source = open_source(config, quiet=True)
    made = make_pack(source, "2026-10", tmp_path / "out", report_notebooks(),
                     progress=False)  # fmt: skip
    flagged = {
        (r["organization"], r["month"], r["status"])
        for r in made.manifest.compared.reconciliation["flagged"]
    }
    assert flagged == {  # the differences the demo billing file has on purpose
        ("Cobalt Retail", "Sep 2026", "beyond tolerance"),
        ("Granite Builders", "Oct 2026", "only counted"),
        ("Acme AI (internal)", "Oct 2026", "only billed"),  # excluded: billed, not counted
    }
    page = (made.path / "5_reconciliation.html").read_text()
    assert "beyond tolerance" in page and "Cobalt Retail" in page
    assert "5_reconciliation.html" in made.manifest.pages and made.warnings == ()
    assert "Reconciliation with billing" in (made.path / "usage-report-2026-10.eml").read_text(
        errors="replace"
    )


def test_an_unreadable_billing_source_leaves_the_rest_of_the_pack(
    read_only: Any, tmp_path: Path
) -> None:
    config_file = tmp_path / "usage.toml"
    config_file.write_text(EXAMPLE_CONFIG.read_text() + '\n[reconcile]\ncsv = "nowhere.csv"\n')
    config = load_config(config_file, env={"USAGE_MONGODB_URI": read_only[0]})
    source = open_source(config, quiet=True)  # with the worker's store, as `pack` ran
    made = make_pack(source, "2026-10", tmp_path / "out", report_notebooks(),
                     progress=False)  # fmt: skip
    assert made.warnings == (
        f"reconciliation not done: {tmp_path / 'nowhere.csv'}: cannot be read "
        "(No such file or directory)",
    )
    assert len(made.manifest.pages) == 5 and "index.html" in os.listdir(made.path)
    assert "Reconciliation not done" in (made.path / "5_reconciliation.html").read_text()
