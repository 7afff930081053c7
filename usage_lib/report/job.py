"""The monthly job: make the pack (one data pass, the notebooks, the digest, the email) and
send it at most once per month and recipient list.

A failed run leaves the previous pack as it was and keeps its notebooks in <out>/failed/.
The email is composed once, with the pack; the pack made (or read back from disk by
`open_pack`) carries it, and sending addresses that message. What the pack was made from,
how long its passes took and what it counted is its `Manifest` (manifest.json).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import polars as pl

from usage_lib import __version__
from usage_lib.core.cube import Cube
from usage_lib.core.explain import explain
from usage_lib.core.source import Source, month_cube, month_window
from usage_lib.core.warm import Read
from usage_lib.errors import NotebookFailed, ReconcileError, ReportError
from usage_lib.execute import Page, run_notebooks
from usage_lib.figures.checks import Finding, reconciled
from usage_lib.paths import write_atomic
from usage_lib.present.formats import dumps, pack_tables
from usage_lib.report import store
from usage_lib.report.digest import Digest
from usage_lib.report.mail import MAX_MESSAGE_BYTES, Letter, addressed, compose, parse
from usage_lib.report.manifest import Compared, Manifest, NotebookTime, Span, Timings
from usage_lib.report.pages import index_page
from usage_lib.report.pdf import Footer, PdfUnavailable, pack_pdf, warm
from usage_lib.report.reconcile import compare, read_billed
from usage_lib.report.restate import published, restatements
from usage_lib.report.smtp import Mailing
from usage_lib.report.store import Sending
from usage_lib.report.watch import month_watch


@dataclass(frozen=True)
class Pack:
    """A published pack: its folder and manifest, its month's message (not yet addressed),
    and, when it was just made, the digest it was made from."""

    path: Path
    manifest: Manifest  # as published (with the store's record: files, sent, history)
    message: EmailMessage
    digest: Digest | None = None
    warnings: tuple[str, ...] = ()  # what was left out of an otherwise complete pack

    @property
    def month(self) -> str:
        return self.manifest.month

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
    manifest = Manifest.from_json(store.read_manifest(folder))
    eml = folder / store.eml_name(manifest.month)
    if not eml.exists():
        raise ReportError(f"{eml} is missing: make the pack again (usage-report run)")
    warnings = (manifest.pdf_note,) if manifest.pdf_note else ()  # sent without the PDF
    return Pack(folder, manifest, parse(eml.read_bytes()), warnings=warnings)


@dataclass
class _Lap:
    seconds: float = 0.0


class _Passes:
    """The pack's passes, each timed by name where it runs (`with passes.timed("data") as
    lap:`, then `lap.seconds`), and recorded together (`timings`)."""

    def __init__(self) -> None:
        self.laps: dict[str, _Lap] = {}

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[_Lap]:
        lap = self.laps[name] = _Lap()
        started = time.perf_counter()
        yield lap
        lap.seconds = time.perf_counter() - started

    def timings(self, jobs: int, pages: Sequence[Page]) -> Timings:
        def s(name: str) -> float:
            return round(self.laps[name].seconds, 2)

        return Timings(
            data_pass_s=s("data"),
            watch_pass_s=s("watch"),
            steps_pass_s=s("steps"),
            notebooks_s=s("notebooks"),
            pdf_s=s("pdf") if "pdf" in self.laps else 0.0,
            jobs=jobs,
            notebooks={Path(p.html).stem: NotebookTime(p.execute_s, p.export_s) for p in pages},
        )


def _read(data: Read | None, watch: Read | None) -> dict[str, Any]:
    """The manifest's "read": the data's days, and the watch's under "watch"."""
    said = {} if data is None else data.to_json()
    return said | ({} if watch is None else {"watch": watch.to_json()})


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
    if source.config.reconcile is None:  # its page is in the pack only when configured
        notebooks = [nb for nb in notebooks if nb.stem != RECONCILIATION_PAGE]
    passes = _Passes()
    warnings: list[str] = []  # what was left out of an otherwise complete pack
    store.clear_stale(out)
    try:
        with store.staging(out, month) as staging:
            with passes.timed("data") as lap:
                cube = month_cube(source, month)
                cube_path = cube.save(staging / "cube.parquet")
            read = "" if cube.read is None else f" ({cube.read.describe()})"
            log(f"Read the data: {cube.frame.height:,} cube rows in {lap.seconds:.1f} s{read}")
            compared = _compare(source, cube, out, staging)
            warnings.extend(compared.warnings)
            with passes.timed("watch") as lap:
                alerts, watch_read = month_watch(source, month)  # what started, by day
            read = "" if watch_read is None else f" ({watch_read.describe()})"
            log(f"Watched the month's days: {alerts.height} alerts in {lap.seconds:.1f} s{read}")
            with passes.timed("steps"):
                steps = explain(source.db, month_window(source.config, month, 1), source.config)
                write_atomic(staging / "steps.json", dumps(steps.to_json()).encode())
            tables = [f"tables/{n}" for n in pack_tables(cube, staging / "tables")]
            parameters = {
                "month": month,
                "cube_path": str(cube_path.resolve()),
                "config_path": "",
                "top": source.config.top,
                "steps_path": str((staging / "steps.json").resolve()),
                **compared.parameters,
            }
            # WeasyPrint's start-up (its libraries, the fonts) while the kernels work
            warming = threading.Thread(target=warm, name="pdf-warm", daemon=True)
            warming.start()
            with passes.timed("notebooks"):
                pages = _run(notebooks, staging, parameters, jobs, log, out, month)

            digest = Digest.of(cube, month, compared.restated, compared.reconciliation, alerts)
            index = index_page(digest, [(p.html, p.title) for p in pages], tables)
            (staging / "index.html").write_text(index, encoding="utf-8")
            manifest = Manifest(
                month=month,
                range=Span(window.start.isoformat(), window.end.isoformat()),
                timezone=window.timezone,
                rule=cube.rule,
                exclusions=cube.exclusions,
                library_version=__version__,
                data_as_of=cube.read_at.isoformat(),
                generated_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
                source="embedded demo database" if source.demo else "configured database",
                timings=passes.timings(jobs, pages),
                figures=digest.figures(),
                pages=tuple(p.html for p in pages),
                tables=tuple(tables),
                compared=compared.figures(),
                read=_read(cube.read, watch_read),
            )
            warming.join()
            with passes.timed("pdf") as lap:
                made_pdf = _pdf(
                    staging, month, ["index.html", *(p.html for p in pages)], digest, source
                )
            if made_pdf.note:
                warnings.append(made_pdf.note)
            else:
                log(f"Wrote {made_pdf.name} ({made_pdf.size / 1e6:.1f} MB) in {lap.seconds:.1f} s")
            manifest = replace(
                manifest,
                timings=passes.timings(jobs, pages),
                pdf=made_pdf.name,
                pdf_note=made_pdf.note,
            )
            store.write_manifest(staging, manifest.to_json())
            message, dropped = _message(
                staging, month, manifest, tuple(p.title for p in pages), digest, source, made_pdf
            )
            if dropped:
                warnings.append(dropped)
            write_atomic(staging / store.eml_name(month), bytes(_preview(message, source)))
            final = store.publish(staging, out, month)
    except OSError as exc:  # a full disk, a folder gone underneath: nothing was published
        raise ReportError(
            f"could not write the pack ({exc.strerror or exc}: {exc.filename or out}); "
            "the previous pack is untouched"
        ) from None
    published_manifest = Manifest.from_json(store.read_manifest(final))
    return Pack(final, published_manifest, message, digest, tuple(warnings))


def _run(
    notebooks: Sequence[Path],
    staging: Path,
    parameters: Mapping[str, Any],
    jobs: int,
    log: Callable[[str], None],
    out: Path,
    month: str,
) -> list[Page]:
    """Every notebook on the staged cube; one that fails is kept in out/failed/ and is one
    line (a full disk under a kernel that did not start is an OSError)."""
    try:
        return run_notebooks(notebooks, staging, parameters, jobs, log)
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


RECONCILIATION_PAGE = "5_reconciliation"


def pdf_name(month: str) -> str:
    return f"usage-report-{month}.pdf"


@dataclass(frozen=True)
class _Pdf:
    name: str  # in the pack; "" when it was not made
    size: int
    note: str  # why it was not made, one line; "" when it was


def footer(digest: Digest, title: str) -> Footer:
    """A PDF's footer: the month, the rule and when the data was read."""
    cube = digest.cube
    return Footer(f"{title}, {digest.headline.label}", cube.rule, cube.read_at.isoformat())


def _pdf(staging: Path, month: str, pages: Sequence[str], digest: Digest, source: Source) -> _Pdf:
    """The pack as one PDF beside its pages, from those pages; a machine where WeasyPrint is
    missing or fails gets the HTML pack and the reason."""
    try:
        data = pack_pdf(staging, pages, footer(digest, "Usage report"), source.config.paper)
    except PdfUnavailable as exc:
        return _Pdf("", 0, f"no PDF made: {exc}; the HTML pack is complete")
    write_atomic(staging / pdf_name(month), data)
    return _Pdf(pdf_name(month), len(data), "")


def _message(
    staging: Path,
    month: str,
    manifest: Manifest,
    titles: tuple[str, ...],
    digest: Digest,
    source: Source,
    pdf: _Pdf,
) -> tuple[EmailMessage, str]:
    """The month's message with what [email] attach asks for: the PDF and the zip of the
    pages. Over MAX_MESSAGE_BYTES it leaves out the zip, never the PDF, and says so (in the
    message and in the returned line; "" when nothing was left out)."""
    attach = source.config.attach
    pdf_file = pdf.name if "pdf" in attach and pdf.name else ""
    files: list[tuple[str, bytes]] = []
    if pdf_file:
        files.append((pdf_file, (staging / pdf_file).read_bytes()))
    notes = [f"There is no PDF this month ({pdf.note})."] if "pdf" in attach and pdf.note else []
    letter = Letter("", titles, __version__, pdf=pdf_file, note=" ".join(notes))
    if "zip" in attach:
        zipped = store.pages_zip(staging, month, [*manifest.pages, *manifest.tables])
        with_zip = replace(letter, attachment=store.zip_name(month))
        message = compose(digest, with_zip, [*files, (store.zip_name(month), zipped)])
        if len(bytes(message)) <= MAX_MESSAGE_BYTES:
            return message, ""
        dropped = (
            f"{store.zip_name(month)} ({len(zipped) / 1e6:.1f} MB) is not attached: the message "
            f"would be over {MAX_MESSAGE_BYTES / 1e6:g} MB, more than mail servers accept; "
            "the pages are in the pack folder"
        )
        letter = replace(letter, note=" ".join([*notes, dropped[0].upper() + dropped[1:] + "."]))
        return compose(digest, letter, files), f"email: {dropped}"
    return compose(digest, letter, files), ""


@dataclass(frozen=True)
class _Comparisons:
    """The month's counts against what earlier packs published and what was billed."""

    published: dict[str, Any]  # per organization and month: what later packs compare with
    restated: pl.DataFrame | None  # None: no earlier pack of the same data
    reconciliation: Finding | None  # None: no [reconcile] configured
    parameters: dict[str, str]  # the files (and the error) the notebooks read
    warnings: tuple[str, ...]  # what was left out of an otherwise complete pack

    def figures(self) -> Compared:
        """What the manifest records of them."""
        r = self.reconciliation
        return Compared(
            published=self.published,
            restatements=() if self.restated is None else tuple(self.restated.to_dicts()),
            reconciliation=None
            if r is None
            else {"sentence": r.sentence, "flagged": r.frame.to_dicts()},
        )


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


def _logger(progress: bool) -> Callable[[str], None]:
    def log(message: str) -> None:
        if progress:  # one write with its newline: the notebooks' threads log at once
            sys.stderr.write(f"{message}\n")
            sys.stderr.flush()

    return log
