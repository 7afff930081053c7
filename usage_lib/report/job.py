"""The monthly job: make the pack (one data pass, the notebooks, the digest, the email) and
send it at most once per month and recipient list.

A failed run leaves the previous pack as it was and keeps its notebooks in <out>/failed/.
The email is composed once, with the pack; the pack made (or read back from disk by
`open_pack`) carries it, and sending addresses that message.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import polars as pl

from usage_lib import __version__
from usage_lib.core.cube import Cube
from usage_lib.core.explain import explain
from usage_lib.core.source import Source, month_cube, month_window
from usage_lib.errors import NotebookFailed, ReconcileError, ReportError
from usage_lib.execute import run_notebooks
from usage_lib.figures.checks import Finding, reconciled
from usage_lib.paths import write_atomic
from usage_lib.present.formats import dumps, pack_tables
from usage_lib.report import store
from usage_lib.report.alerts import month_watch
from usage_lib.report.digest import Digest
from usage_lib.report.mail import Letter, addressed, compose, parse
from usage_lib.report.pages import index_page
from usage_lib.report.reconcile import compare, read_billed
from usage_lib.report.restate import published, restatements
from usage_lib.report.smtp import Mailing
from usage_lib.report.store import Sending


@dataclass(frozen=True)
class Pack:
    """A published pack: its folder and manifest, its month's message (not yet addressed),
    and, when it was just made, the digest it was made from."""

    path: Path
    manifest: dict[str, Any]
    message: EmailMessage
    digest: Digest | None = None
    warnings: tuple[str, ...] = ()  # what was left out of an otherwise complete pack

    @property
    def month(self) -> str:
        return str(self.manifest["month"])

    @property
    def eml(self) -> Path:
        return self.path / store.eml_name(self.month)


def _preview(message: EmailMessage, source: Source) -> EmailMessage:
    """The month's message as the pack keeps it (`usage-report-<M>.eml`, to open in any mail
    client): addressed as the config's [email] would send it, when it says."""
    config = source.config
    if config.email_from and config.email_to:
        return addressed(message, config.email_from, config.email_to)
    return message


def open_pack(folder: Path) -> Pack:
    """The pack on disk, read back: its manifest and its month's message."""
    manifest = store.read_manifest(folder)
    eml = folder / store.eml_name(manifest["month"])
    if not eml.exists():
        raise ReportError(f"{eml} is missing: make the pack again (usage-report run)")
    return Pack(folder, manifest, parse(eml.read_bytes()))


def make_pack(
    source: Source,
    month: str,
    out: Path,
    notebooks: Sequence[Path],
    jobs: int = 0,
    progress: bool = True,
) -> Pack:
    """Read the window once, run every notebook on that cube, write the pages, the index, the
    manifest and the month's email, then publish out/<month> atomically."""
    if not notebooks:
        raise ReportError("no report notebooks found: the installation is incomplete")
    log = _logger(progress)
    window = month_window(source.config, month)
    jobs = min(jobs or os.cpu_count() or 1, len(notebooks))
    store.clear_stale(out)
    try:
        with store.staging(out, month) as staging:
            started = time.perf_counter()
            cube = month_cube(source, month)
            cube_path = cube.save(staging / "cube.parquet")
            data_s = time.perf_counter() - started
            log(f"Read the data once: {cube.frame.height:,} cube rows in {data_s:.1f} s")
            compared = _compare(source, cube, out, staging)
            t0 = time.perf_counter()
            alerts = month_watch(source, month)  # a second pass: what started, by day
            watch_s = time.perf_counter() - t0
            log(f"Watched the month's days: {alerts.height} alerts in {watch_s:.1f} s")
            t0 = time.perf_counter()
            steps = explain(source.db, month_window(source.config, month, 1), source.config)
            write_atomic(staging / "steps.json", dumps(steps.to_json()).encode())
            steps_s = time.perf_counter() - t0
            tables = [f"tables/{n}" for n in pack_tables(cube, staging / "tables")]
            parameters = {
                "month": month,
                "cube_path": str(cube_path.resolve()),
                "config_path": "",
                "top": source.config.top,
                "steps_path": str((staging / "steps.json").resolve()),
                **compared.parameters,
            }
            if source.config.reconcile is None:  # its page is in the pack only when configured
                notebooks = [nb for nb in notebooks if nb.stem != RECONCILIATION_PAGE]
            t0 = time.perf_counter()
            try:
                pages = run_notebooks(notebooks, staging, parameters, jobs, log)
            except NotebookFailed as exc:
                kept = store.keep_failed(out, month, staging)
                raise ReportError(
                    f"{exc}; the previous pack is untouched; the failed notebook is in {kept}"
                ) from None
            except RuntimeError as exc:  # a kernel that did not start (a full disk, ...)
                if shutil.disk_usage(staging).free < 1 << 20:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out)) from None
                raise ReportError(
                    f"a notebook's kernel failed ({str(exc).splitlines()[0][:200]}); the "
                    "previous pack is untouched"
                ) from None
            notebooks_s = time.perf_counter() - t0

            digest = Digest.of(cube, month, compared.restated, compared.reconciliation, alerts)
            links = [(p.html, p.title) for p in pages]
            index = index_page(digest, links, tables)
            (staging / "index.html").write_text(index, encoding="utf-8")
            manifest = {
                "month": month,
                "range": {"start": window.start.isoformat(), "end": window.end.isoformat()},
                "timezone": window.timezone,
                "rule": cube.rule,
                "exclusions": [e.__dict__ for e in cube.exclusions],
                "library_version": __version__,
                "data_as_of": cube.read_at.isoformat(),
                "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "source": "embedded demo database" if source.demo else "configured database",
                "data_pass_s": round(data_s, 2),
                "watch_pass_s": round(watch_s, 2),
                "steps_pass_s": round(steps_s, 2),
                "notebooks_s": round(notebooks_s, 2),
                "jobs": jobs,
                "notebooks": {
                    Path(p.html).stem: {"execute_s": p.execute_s, "export_s": p.export_s}
                    for p in pages
                },
                **digest.figures(),
                "pages": [p.html for p in pages],
                "tables": tables,
                **compared.figures(),
            }
            store.write_manifest(staging, manifest)
            letter = Letter(store.zip_name(month), tuple(p.title for p in pages), __version__)
            attachment = store.pages_zip(staging, month, [*manifest["pages"], *tables])
            message = compose(digest, letter, attachment)
            write_atomic(staging / store.eml_name(month), bytes(_preview(message, source)))
            final = store.publish(staging, out, month)
    except OSError as exc:  # a full disk, a folder gone underneath: nothing was published
        raise ReportError(
            f"could not write the pack ({exc.strerror or exc}: {exc.filename or out}); "
            "the previous pack is untouched"
        ) from None
    return Pack(final, store.read_manifest(final), message, digest, compared.warnings)


RECONCILIATION_PAGE = "5_reconciliation"


@dataclass(frozen=True)
class _Comparisons:
    """The month's counts against what earlier packs published and what was billed."""

    published: dict[str, Any]  # per organization and month: what later packs compare with
    restated: pl.DataFrame | None  # None: no earlier pack of the same data
    reconciliation: Finding | None  # None: no [reconcile] configured
    parameters: dict[str, str]  # the files (and the error) the notebooks read
    warnings: tuple[str, ...]  # what was left out of an otherwise complete pack

    def figures(self) -> dict[str, Any]:
        """What the manifest records of them."""
        r = self.reconciliation
        return {
            "published": self.published,
            "restatements": [] if self.restated is None else self.restated.to_dicts(),
            "reconciliation": None
            if r is None
            else {"sentence": r.sentence, "flagged": r.frame.to_dicts()},
        }


def _compare(source: Source, cube: Cube, out: Path, staging: Path) -> _Comparisons:
    """Restatements against the packs in `out`, and the reconciliation with billing when it is
    configured: a billed side that cannot be read is a warning, not a failed pack."""
    now = published(cube, source.key)
    earlier = store.publications(out)
    restated = restatements(now, earlier) if earlier else None
    parameters = {"restatements_path": "", "reconciliation_path": "", "reconciliation_error": ""}
    if restated is not None:
        restated.write_parquet(staging / "restatements.parquet")
        parameters["restatements_path"] = str((staging / "restatements.parquet").resolve())
    spec = source.config.reconcile
    if spec is None:
        return _Comparisons(now, restated, None, parameters, ())
    try:
        names = {e.id: e.name for e in source.config.exclusions}
        frame = compare(now, read_billed(spec, source.db), spec.tolerance, names)
    except ReconcileError as exc:
        error = str(exc)  # names the file (and row) or the collection
        parameters["reconciliation_error"] = error
        finding = reconciled(cube, None, error, spec.tolerance)
        return _Comparisons(
            now, restated, finding, parameters, (f"reconciliation not done: {error}",)
        )
    frame.write_parquet(staging / "reconciliation.parquet")
    parameters["reconciliation_path"] = str((staging / "reconciliation.parquet").resolve())
    return _Comparisons(now, restated, reconciled(cube, frame, "", spec.tolerance), parameters, ())


def send_pack(pack: Pack, mailing: Mailing, force: bool = False, dry_run: bool = False) -> Sending:
    """Email the pack's message once per recipient list (`store.send_once`); a dry run
    writes it, addressed, as the pack's .eml and sends nothing. Raises MailError (nothing
    sent, nothing recorded)."""
    if dry_run:
        write_atomic(pack.eml, bytes(addressed(pack.message, mailing.sender, mailing.recipients)))
        return Sending("dry run", {"eml": str(pack.eml)})
    return store.send_once(
        pack.path,
        pack.path.parent,
        pack.month,
        mailing.recipients,
        lambda: mailing.send(pack.message),
        force,
    )


def _logger(progress: bool) -> Any:
    def log(message: str) -> None:
        if progress:
            print(message, file=sys.stderr, flush=True)

    return log
