"""The report pack end to end: a read-only user, offline HTML, the manifest, no secrets, atomic publish."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import oracle
import pytest
from support import BIN, PASSWORD

from usage_lib.connection import open_source
from usage_lib.core.config import load_config
from usage_lib.core.db import database
from usage_lib.core.source import Source
from usage_lib.paths import EXAMPLE_CONFIG, notebook_dir, report_notebooks
from usage_lib.report import job as report


def test_pack_has_every_page_and_a_manifest(pack: Path) -> None:
    names = {p.name for p in pack.iterdir()}
    pages = {f"{nb.stem}.html" for nb in report_notebooks() if nb.stem != "5_reconciliation"}
    assert {"index.html", "manifest.json", *pages} <= names
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["month"] == "2026-10" and manifest["range"] == {
        "start": "2026-05-01",
        "end": "2026-10-31",
    }
    assert manifest["timezone"] == "UTC" and "status 1000" in manifest["rule"]
    assert [e["name"] for e in manifest["exclusions"]] == [
        "Acme AI (internal)",
        "Demo Sandbox",
        "Partner Test Org",
    ]
    assert set(manifest["notebooks"]) == {p.removesuffix(".html") for p in pages}
    assert "5_reconciliation.html" not in names  # no [reconcile] configured: no such page
    assert manifest["source"] == "configured database"


def test_manifest_numbers_equal_the_independent_count(pack: Path, read_only: Any) -> None:
    _, docs, excluded = read_only
    manifest = json.loads((pack / "manifest.json").read_text())
    from datetime import date

    expected = oracle.counts(
        docs, date(2026, 5, 1), date(2026, 10, 31), "UTC", "month", set(excluded)
    )
    by_month: dict[str, int] = {}
    for buckets in expected.values():
        for key, n in buckets.items():
            by_month[key] = by_month.get(key, 0) + n
    assert manifest["billable"]["by_month"] == by_month
    assert manifest["billable"]["month"] == by_month["2026-10"]
    assert manifest["rows"]["organizations"] == len(expected)
    html = (pack / "1_platform.html").read_text()
    for n in [*by_month.values(), sum(by_month.values())]:
        assert f">{n:,}<" in html  # the monthly totals row shows the same numbers


# The keys make_pack writes, in order: other code, notebooks and published packs read them.
MANIFEST_KEYS = [
    "month", "range", "timezone", "rule", "exclusions", "library_version", "data_as_of",
    "generated_at", "source", "data_pass_s", "watch_pass_s", "steps_pass_s", "notebooks_s",
    "jobs", "notebooks", "pdf_s", "bridge", "alerts", "rows", "billable", "pages", "tables",
    "published", "restatements", "reconciliation", "pdf", "pdf_note", "read",
]  # fmt: skip


def test_the_manifest_reads_back_as_written(pack: Path) -> None:
    """manifest.json keeps its keys, in order, then the store's (files): the typed manifest
    reads it back and writes it again exactly, and open_pack gives the same."""
    data = json.loads((pack / "manifest.json").read_text())
    assert list(data)[: len(MANIFEST_KEYS)] == MANIFEST_KEYS
    assert "files" in data and set(data) - set(MANIFEST_KEYS) <= {"files", "sent", "history"}
    manifest = report.Manifest.from_json(data)
    assert manifest.to_json() == data and list(manifest.to_json()) == list(data)
    assert report.open_pack(pack).manifest == manifest
    assert manifest.range == report.Span("2026-05-01", "2026-10-31")
    assert manifest.figures.billable.month == data["billable"]["month"]
    assert manifest.timings.data_pass_s == data["data_pass_s"] and manifest.timings.jobs >= 1
    assert set(manifest.timings.notebooks) == set(data["notebooks"])
    assert manifest.compared.published == data["published"]
    assert manifest.other["files"] == data["files"]


def test_an_earlier_versions_pack_opens(pack: Path, tmp_path: Path) -> None:
    """A pack made before the watch, the steps, the tables and the comparisons were in the
    manifest still opens (to be sent): what it lacks is empty, what it had is kept."""
    data = json.loads((pack / "manifest.json").read_text())
    later = ("watch_pass_s", "steps_pass_s", "bridge", "alerts", "tables", "published",
             "restatements", "reconciliation", "pdf_s", "pdf", "pdf_note", "read")  # fmt: skip
    old = {k: v for k, v in data.items() if k not in later} | {"cube_path": "/gone.parquet"}
    folder = tmp_path / "2026-10"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(old))
    shutil.copy(pack / "usage-report-2026-10.eml", folder)
    opened = report.open_pack(folder)
    m = opened.manifest
    assert opened.month == "2026-10" and m.figures.rows.cube == data["rows"]["cube"]
    assert m.timings.watch_pass_s == 0.0 and m.tables == () and m.compared.restatements == ()
    assert m.figures.bridge is None and m.compared.reconciliation is None
    store = {k: v for k, v in data.items() if k not in MANIFEST_KEYS}  # files (sent, history)
    assert m.other == {**store, "cube_path": "/gone.parquet"}


def test_pages_are_self_contained(pack: Path) -> None:
    for page in pack.glob("*.html"):
        html = re.sub(
            r"/\*.*?\*/", "", page.read_text(), flags=re.S
        )  # CSS comments carry credits URLs
        assert not re.search(r"<script[^>]+src=", html), page.name
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), page.name
        assert not re.search(r"url\(\s*[\"']?(https?:)?//", html), page.name
        assert "@import" not in html
    platform = (pack / "1_platform.html").read_text()
    assert "data:image/png;base64," in platform  # the chart is inline


def test_no_secret_in_any_file(pack: Path, read_only: Any) -> None:
    uri = read_only[0]
    for path in pack.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and uri.encode() not in data, path.name
    executed = nbformat.read(pack / "1_platform.ipynb", as_version=4)
    parameters = executed.metadata["papermill"]["parameters"]
    assert set(parameters) == {"month", "cube_path", "config_path", "top"}


def test_a_failed_run_leaves_the_previous_pack(pack: Path, read_only: Any, tmp_path: Path) -> None:
    out = pack.parent
    before = {p.name: p.read_bytes() for p in pack.rglob("*") if p.is_file()}
    broken = tmp_path / "notebooks"
    shutil.copytree(notebook_dir(), broken)
    nb = nbformat.read(broken / "2_agents.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('boom')"))
    nbformat.write(nb, broken / "2_agents.ipynb")
    config = load_config(EXAMPLE_CONFIG, env={"USAGE_MONGODB_URI": read_only[0]})
    source = open_source(config, quiet=True)  # warm: `pack` read these days
    with pytest.raises(report.ReportError, match="2_agents.ipynb failed.*boom"):
        report.make_pack(source, "2026-10", out, report_notebooks(broken), progress=False)
    assert {p.name: p.read_bytes() for p in pack.rglob("*") if p.is_file()} == before
    failed = list((out / "failed").glob("2026-10-*/2_agents.ipynb"))
    assert len(failed) == 1 and "papermill-error-cell" in failed[0].read_text()
    assert not list(out.glob(".staging-*")) and not list(out.glob(".previous-*"))


def test_bad_month_exits_2() -> None:
    done = subprocess.run(
        [str(BIN), "run", "--month", "2026-13"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--month" in done.stderr


def test_a_stock_tiledesk_pack_speaks_of_projects(stock: Any, mongo: Any, tmp_path: Path) -> None:
    """Under the tiledesk profile every page, the index and both parts of the email say
    "project" where the custom profile says "organization", and count what the oracle
    counts for the month."""
    import email
    from datetime import date
    from email import policy

    from data import FORKS

    _, docs = stock
    path = tmp_path / "stock.toml"
    path.write_text('[source]\nprofile = "tiledesk"\n')
    config = load_config(path, env={"USAGE_MONGODB_URI": mongo.uri, "USAGE_MONGODB_DB": "stock"})
    source = Source(database(config), config, demo=False)
    made = report.make_pack(source, "2026-03", tmp_path / "out", report_notebooks(), progress=False)
    texts = {p.name: p.read_text(encoding="utf-8") for p in made.path.glob("*.html")}
    message = email.message_from_bytes(
        (made.path / "usage-report-2026-03.eml").read_bytes(), policy=policy.default
    )
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            texts[part.get_content_type()] = part.get_content()
    for name, html in texts.items():
        visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script).*?</\1>", "", html, flags=re.S))
        assert "organization" not in visible.lower(), name
    assert "Projects by month" in texts["1_platform.html"]
    assert "Active projects" in texts["text/plain"]
    expected = oracle.counts(
        docs, date(2026, 3, 1), date(2026, 3, 31), "UTC", "month", set(),
        stock=oracle.Stock(forks=FORKS),
    )  # fmt: skip
    assert made.manifest.figures.billable.month == sum(row["2026-03"] for row in expected.values())


def test_the_email_attaches_the_pdf_and_drops_the_zip_over_the_limit(
    pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[email] attach = ["pdf", "zip"]: both, the PDF first; a message over the limit leaves
    out the zip, never the PDF, and says so; either can be dropped from the list."""
    from dataclasses import replace

    from usage_lib.core.cube import Cube
    from usage_lib.report.digest import Digest

    folder = tmp_path / "2026-10"
    shutil.copytree(pack, folder)
    manifest = report.Manifest.from_json(json.loads((folder / "manifest.json").read_text()))
    digest = Digest.of(Cube.load(folder / "cube.parquet"), "2026-10")
    config = load_config(EXAMPLE_CONFIG, env={})
    made = report._Pdf(manifest.pdf, (folder / manifest.pdf).stat().st_size, "")

    def message(attach: tuple[str, ...], pdf: Any = made) -> tuple[Any, str]:
        source = Source(None, replace(config, attach=attach), demo=False)  # type: ignore[arg-type]
        return report._message(folder, "2026-10", manifest, ("Platform",), digest, source, pdf)

    both, dropped = message(("pdf", "zip"))
    names = [p.get_filename() for p in both.iter_attachments()]
    assert names == ["usage-report-2026-10.pdf", "usage-report-2026-10.zip"] and dropped == ""
    assert [p.get_filename() for p in message(("zip",))[0].iter_attachments()] == [names[1]]
    assert [p.get_filename() for p in message(("pdf",))[0].iter_attachments()] == [names[0]]
    assert list(message(())[0].iter_attachments()) == []

    monkeypatch.setattr(report, "MAX_MESSAGE_BYTES", len(bytes(both)) - 1)
    small, dropped = message(("pdf", "zip"))
    assert [p.get_filename() for p in small.iter_attachments()] == [names[0]]
    assert dropped.startswith("email: usage-report-2026-10.zip") and "over" in dropped
    body = small.get_body(("plain",)).get_content()
    assert "Attached: usage-report-2026-10.pdf" in body and "is not attached" in body

    none, _ = message(("pdf", "zip"), report._Pdf("", 0, "no PDF made: WeasyPrint failed (X)"))
    body = none.get_body(("plain",)).get_content()
    assert "There is no PDF this month (no PDF made: WeasyPrint failed (X))." in body
