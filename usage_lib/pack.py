"""The report pack on disk: staging, the month's lock, atomic publish, the manifest and the
record of the emails sent.

reports/<YYYY-MM>/ is replaced only by a complete pack, with renames, so a reader sees
the old pack or the new one, never half. Publishing and recording a sending hold the
month's lock, and a rebuilt pack keeps the record of what was already sent.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email.message import Message
from email.utils import parseaddr
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def eml_name(month: str) -> str:
    return f"usage-report-{month}.eml"


def zip_name(month: str) -> str:
    return f"usage-report-{month}.zip"


@contextlib.contextmanager
def staging(out: Path, month: str) -> Iterator[Path]:
    """A fresh folder beside the packs, removed afterwards whatever happens."""
    out.mkdir(parents=True, exist_ok=True)
    folder = out / f".staging-{month}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def lock(out: Path, month: str) -> Iterator[None]:
    """The month's lock: one process at a time publishes its pack or records a sending."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f".{month}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read_manifest(pack: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((pack / MANIFEST).read_text(encoding="utf-8"))
    return manifest


def write_manifest(pack: Path, manifest: dict[str, Any]) -> None:
    """Write to a temporary file, then rename: readers never see half a manifest."""
    write_file(pack / MANIFEST, json.dumps(manifest, indent=2).encode())


def write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def publish(staging: Path, out: Path, month: str) -> Path:
    """Swap the staged pack in as out/<month>, keeping the record of emails already sent and
    of what the pack it replaces had published (`history`)."""
    final = out / month
    with lock(out, month):
        if (final / MANIFEST).exists():
            replaced = read_manifest(final)
            manifest = read_manifest(staging)
            if replaced.get("sent"):
                manifest["sent"] = replaced["sent"]
            if replaced.get("published"):
                earlier = {
                    "published_at": replaced["generated_at"],
                    "published": replaced["published"],
                }
                manifest["history"] = [earlier, *replaced.get("history", [])]
            write_manifest(staging, manifest)
        old = final.with_name(f".previous-{month}-{os.getpid()}")
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    return final


def publications(out: Path) -> list[tuple[str, dict[str, Any]]]:
    """(published_at, figures) of every pack in `out`, and of the packs they replaced."""
    found = []
    for path in sorted(out.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/" + MANIFEST)):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("published"):
            found.append((manifest["generated_at"], manifest["published"]))
        found += [(h["published_at"], h["published"]) for h in manifest.get("history", [])]
    return found


def keep_failed(out: Path, month: str, staging: Path) -> Path:
    """Copy a failed run's notebooks (and the kernels' log) to out/failed/<month>-<time>/."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = out / "failed" / f"{month}-{stamp}"
    kept.mkdir(parents=True, exist_ok=True)
    for path in [*staging.glob("*.ipynb"), *staging.glob("kernels.log")]:
        shutil.copy2(path, kept / path.name)
    return kept


def pages_zip(pack: Path, month: str, pages: Sequence[str]) -> bytes:
    """index.html and the pack's pages (self-contained HTML) in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ["index.html", *pages]:
            archive.write(pack / name, f"usage-report-{month}/{name}")
    return buffer.getvalue()


def already_sent(manifest: dict[str, Any], recipients: Sequence[str]) -> dict[str, Any] | None:
    """The record of an earlier sending of this month to the same recipient list, if any."""
    wanted = _addresses(recipients)
    for record in manifest.get("sent", []):
        if _addresses(record["recipients"]) == wanted:
            return dict(record)
    return None


def record_sent(pack: Path, record: dict[str, Any]) -> None:
    """Add a sending to the manifest (the caller holds the month's lock)."""
    manifest = read_manifest(pack)
    write_manifest(pack, {**manifest, "sent": [*manifest.get("sent", []), record]})


def record_message(pack: Path, message: Message, recipients: Sequence[str]) -> dict[str, Any]:
    """Record a message just sent: its id, recipients, time and subject."""
    record = {
        "message_id": str(message["Message-ID"]),
        "recipients": list(recipients),
        "sent_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "subject": str(message["Subject"]),
    }
    record_sent(pack, record)
    return record


def _addresses(recipients: Sequence[str]) -> frozenset[str]:
    return frozenset(parseaddr(r)[1].lower() for r in recipients)
