"""The monthly report pack: one data pass, every notebook through papermill, offline HTML,
and the month's email (a preview .eml in every pack; `send_pack` sends it once).

reports/<YYYY-MM>/ is replaced only when every notebook succeeded; a failed run
leaves the previous pack as it was and keeps its notebooks in reports/failed/.
Publishing a pack and recording a sending hold the month's lock, and a rebuilt pack
keeps the record of the emails already sent for its month.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from html import escape
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbconvert import HTMLExporter

from . import __version__
from .adoption import headline
from .api import open_month
from .config import PROJECT_ROOT, ConfigError
from .cube import Cube, query_cube
from .mail import PREVIEW_FROM, PREVIEW_TO, Smtp, compose, deliver, write_eml
from .periods import bucket_key
from .render import FONT, counted_line, headline_cards
from .tables import platform_table, totals

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
TEMPLATE_DIR = Path(__file__).parent / "templates"
REPORTS_DIR = PROJECT_ROOT / "reports"
KERNEL = "usage-lib"


class ReportError(RuntimeError):
    """The pack could not be made (exit code 1); the previous pack is untouched."""


@dataclass(frozen=True)
class Pack:
    path: Path
    manifest: dict[str, Any]


def notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("[0-9]_*.ipynb"))


def ensure_kernel() -> None:
    """Register this environment's Python as the `usage-lib` kernel if it is missing."""
    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=KERNEL, display_name="usage-lib", prefix=sys.prefix)


def export_html(notebook_path: Path) -> str:
    """Inputs hidden; the template drops the CDN scripts, so the page is self-contained."""
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook_path, as_version=4))
    return body


def _index(month_label: str, cube: Cube, pages: list[tuple[str, str]], head: str) -> str:
    links = "".join(f'<li><a href="{escape(f)}">{escape(t)}</a></li>' for f, t in pages)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Usage report, {escape(month_label)}</title>'
        f'</head><body style="{FONT}max-width:900px;margin:24px auto;padding:0 12px;">'
        f"<h1>Usage report, {escape(month_label)}</h1>{counted_line(cube)}{head}"
        f"<h2>Pages</h2><ul>{links}</ul></body></html>"
    )


def _title(notebook_path: Path) -> str:
    first = nbformat.read(notebook_path, as_version=4).cells[0].source.splitlines()[0]
    return first.lstrip("# ").strip()


def run_pack(
    month: str,
    config_path: str | None = None,
    out_dir: Path | None = None,
    demo: bool = False,
    progress: bool = True,
) -> Pack:
    import papermill as pm  # slow to import: only when a pack is made

    src, window = open_month(month, config_path, demo=demo)
    key = bucket_key(window.end, "month")
    out = Path(out_dir or REPORTS_DIR)
    ensure_kernel()

    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".staging-{key}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        started = time.perf_counter()
        cube = query_cube(src.db, window, src.config, grain="month")
        cube_path = cube.save(staging / "cube.parquet")
        data_s = time.perf_counter() - started
        _log(progress, f"Read the data once: {cube.frame.height:,} cube rows in {data_s:.1f} s")

        timings: dict[str, dict[str, float]] = {}
        pages = []
        for source in notebooks():
            executed = staging / source.name
            _log(progress, f"Running {source.name} ...")
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(
                    str(source),
                    str(executed),
                    parameters={
                        "month": key,
                        "cube_path": str(cube_path.resolve()),
                        "config_path": "",
                    },
                    kernel_name=KERNEL,
                    progress_bar=progress,
                    cwd=str(NOTEBOOK_DIR),
                )
            except pm.PapermillExecutionError as exc:
                kept = _keep_failed(out, key, staging)
                raise ReportError(
                    f"{source.name} failed ({exc.ename}: {exc.evalue}); the previous pack is untouched; "
                    f"the failed notebook is in {kept}"
                ) from None
            t1 = time.perf_counter()
            html_name = source.with_suffix(".html").name
            (staging / html_name).write_text(export_html(executed), encoding="utf-8")
            timings[source.stem] = {
                "execute_s": round(t1 - t0, 2),
                "export_s": round(time.perf_counter() - t1, 2),
            }
            pages.append((html_name, _title(source)))

        table = platform_table(cube, "month")
        head = headline(cube, key)
        sums = totals(table)
        manifest = {
            "month": key,
            "range": {"start": window.start.isoformat(), "end": window.end.isoformat()},
            "timezone": window.timezone,
            "rule": cube.rule,
            "exclusions": [e.__dict__ for e in cube.exclusions],
            "library_version": __version__,
            "data_as_of": cube.read_at.isoformat(),
            "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "source": "embedded demo database" if src.demo else "configured database",
            "data_pass_s": round(data_s, 2),
            "notebooks": timings,
            "rows": {"cube": cube.frame.height, "organizations": table.height},
            "billable": {
                "month": head.billable,
                "by_month": {k: v for k, v in sums.items() if k != "total"},
                "total": sums["total"],
            },
            "pages": [f for f, _ in pages],
        }
        (staging / "index.html").write_text(
            _index(head.label, cube, pages, headline_cards(head)), encoding="utf-8"
        )
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        sender = src.config.email_from or PREVIEW_FROM
        write_eml(
            staging, key, compose(staging, manifest, sender, src.config.email_to or [PREVIEW_TO])
        )
        with pack_lock(out, key):
            earlier = (
                read_manifest(out / key).get("sent")
                if (out / key / "manifest.json").exists()
                else None
            )
            if earlier:  # a rebuilt pack keeps the record of what was sent for its month
                manifest["sent"] = earlier
                _write_manifest(staging, manifest)
            final = _publish(staging, out / key)
        return Pack(final, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def pack_lock(out: Path, key: str) -> Iterator[None]:
    """The month's lock: one process at a time publishes its pack or records a sending."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f".{key}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read_manifest(pack: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _write_manifest(pack: Path, manifest: dict[str, Any]) -> None:
    """Write to a temporary file, then rename: readers never see half a manifest."""
    tmp = pack / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, pack / "manifest.json")


def already_sent(manifest: dict[str, Any], recipients: Sequence[str]) -> dict[str, Any] | None:
    """The record of an earlier sending of this month to the same recipient list, if any."""
    wanted = _addresses(recipients)
    for record in manifest.get("sent", []):
        if _addresses(record["recipients"]) == wanted:
            return dict(record)
    return None


def _addresses(recipients: Sequence[str]) -> frozenset[str]:
    return frozenset(parseaddr(r)[1].lower() for r in recipients)


@dataclass(frozen=True)
class Sending:
    status: str  # "sent", "already sent" or "dry run"
    record: dict[str, Any]  # message_id, recipients, sent_at, subject (or the .eml path)


def send_pack(
    pack: Path,
    sender: str,
    recipients: Sequence[str],
    smtp: Smtp | None,
    force: bool = False,
    dry_run: bool = False,
) -> Sending:
    """Email the pack once per recipient list; record it in manifest.json only once it is sent.

    Raises MailError (nothing sent, nothing recorded) or ConfigError (no SMTP configured).
    """
    with pack_lock(pack.parent, pack.name):
        manifest = read_manifest(pack)
        earlier = already_sent(manifest, recipients)
        if earlier and not force and not dry_run:
            return Sending("already sent", earlier)
        message = compose(pack, manifest, sender, recipients)
        if dry_run:
            return Sending("dry run", {"eml": str(write_eml(pack, manifest["month"], message))})
        if smtp is None:
            raise ConfigError(
                "USAGE_SMTP_HOST is not set: configure SMTP in the environment, or use --dry-run"
            )
        deliver(message, smtp, sender, recipients)
        record = {
            "message_id": message["Message-ID"],
            "recipients": list(recipients),
            "sent_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "subject": message["Subject"],
        }
        manifest["sent"] = [*manifest.get("sent", []), record]
        _write_manifest(pack, manifest)
        return Sending("sent", record)


def _keep_failed(out: Path, key: str, staging: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = out / "failed" / f"{key}-{stamp}"
    kept.mkdir(parents=True, exist_ok=True)
    for path in staging.glob("*.ipynb"):
        shutil.copy2(path, kept / path.name)
    return kept


def _publish(staging: Path, final: Path) -> Path:
    """Swap the new pack in with renames: readers see the old pack or the new one, never half."""
    old = final.with_name(f".previous-{final.name}-{os.getpid()}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)
