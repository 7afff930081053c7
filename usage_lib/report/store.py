"""The report pack on disk: staging, the month's lock, atomic publish, the manifest and the
record of the emails sent.

reports/<YYYY-MM>/ is replaced only by a complete pack, with renames, so a reader sees
the old pack or the new one, never half. Publishing and recording a sending hold the
month's lock, and a rebuilt pack keeps the record of what was already sent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import io
import itertools
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from usage_lib.paths import write_atomic

MANIFEST = "manifest.json"


def eml_name(month: str) -> str:
    return f"usage-report-{month}.eml"


def zip_name(month: str) -> str:
    return f"usage-report-{month}.zip"


STAGING = ".staging-"
JOURNAL = ".publishing.json"  # in a staged folder while it is being swapped in


@contextlib.contextmanager
def staging(out: Path, name: str) -> Iterator[Path]:
    """A fresh folder out/.staging-<name>-<pid>-<n>, held by a lock for as long as it is in
    use and removed afterwards whatever happens. The folders of killed runs are left for
    `clear_stale`, which a command calls once before it stages: their lock is free."""
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out / ".staging.lock"):  # a folder is made and locked as one step
        for n in itertools.count():
            folder = out / f"{STAGING}{name}-{os.getpid()}-{n}"
            if not folder.exists() and not _lock_of(folder).exists():
                break
        handle = open(_lock_of(folder), "w")  # noqa: SIM115 - held until the folder goes
        fcntl.flock(handle, fcntl.LOCK_EX)
        folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _lock_of(folder).unlink(missing_ok=True)
        handle.close()


def _lock_of(folder: Path) -> Path:
    return folder.with_name(folder.name + ".lock")


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def clear_stale(out: Path) -> None:
    """Remove the staging folders of runs that were killed (their lock is free), finishing
    or undoing a swap one of them was in the middle of (`_recover`); a run still going
    holds its lock, so its folder is left alone."""
    if not out.is_dir():
        return
    with _exclusive(out / ".staging.lock"):
        for folder in sorted(out.glob(STAGING + "*")):
            if not folder.is_dir():
                continue
            lockfile = _lock_of(folder)
            if lockfile.exists():
                with open(lockfile, "w") as handle:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # its run is still going
                    _remove_stale(out, folder)
                lockfile.unlink(missing_ok=True)
            elif not _alive(folder.name):  # made by an earlier version, without a lock
                _remove_stale(out, folder)
        for lockfile in out.glob(STAGING + "*.lock"):  # a run killed after its folder went
            if not lockfile.with_suffix("").exists():
                with open(lockfile, "w") as handle:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    lockfile.unlink(missing_ok=True)


def _alive(name: str) -> bool:
    """Whether the process whose id ends a staging folder's name is still running."""
    pid = name.rsplit("-", 1)[-1]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out: Path, folder: Path) -> None:
    """A killed run's staging folder: any swap it was in (a journal in the folder, or in a
    folder staged inside it) is finished or undone, then it goes."""
    for path in [*folder.glob(JOURNAL), *folder.glob(f"*/{JOURNAL}")]:
        journal = json.loads(path.read_text(encoding="utf-8"))
        with lock(out, journal["month"]):
            _recover(path.parent, out / journal["final"], journal["keep"])
    shutil.rmtree(folder, ignore_errors=True)


def _recover(staged: Path, final: Path, keep: Sequence[str]) -> None:
    """A swap interrupted by a killed run: before it, the entries it was keeping go back to
    the published folder (which is complete); when only the staged folder is left (a
    killed fallback swap), it is complete: it is published."""
    if not final.exists():
        (staged / JOURNAL).unlink()
        staged.rename(final)
        return
    for name in keep:
        if (staged / name).exists() and not (final / name).exists():
            (staged / name).rename(final / name)


@contextlib.contextmanager
def lock(out: Path, month: str) -> Iterator[None]:
    """The month's lock: one process at a time publishes in out/<month> (the pack, the
    customers' statements) or records a sending."""
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out / f".{month}.lock"):
        yield


def read_manifest(pack: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((pack / MANIFEST).read_text(encoding="utf-8"))
    return manifest


def write_manifest(pack: Path, manifest: dict[str, Any]) -> None:
    """Write to a temporary file, then rename: readers never see half a manifest."""
    write_atomic(pack / MANIFEST, json.dumps(manifest, indent=2).encode())


def publish(staging: Path, out: Path, month: str, final: Path | None = None) -> Path:
    """Swap the staged folder in as `final` (default out/<month>; a customer's statement
    under it), holding the month's lock. Kept from the folder it replaces: the record of
    emails already sent, what it had published (`history`), and every entry it did not
    make itself (customers/ beside a pack, anything a user put there).

    The kept entries move into the staged folder, then the two are exchanged in one
    rename: readers see the old folder or the new one, whole. A run killed on the way is
    finished or undone by the next one (`clear_stale`), so nothing is lost."""
    final = final or out / month
    with lock(out, month):
        (final / JOURNAL).unlink(missing_ok=True)  # left by a run killed after its swap
        manifest = read_manifest(staging)
        manifest["files"] = sorted(p.name for p in staging.iterdir())
        keep: list[str] = []
        if final.exists():
            replaced = read_manifest(final) if (final / MANIFEST).exists() else {}
            if replaced.get("sent"):
                manifest["sent"] = replaced["sent"]
            if replaced.get("published"):
                earlier = {
                    "published_at": replaced["generated_at"],
                    "published": replaced["published"],
                }
                manifest["history"] = [earlier, *replaced.get("history", [])]
            made = set(replaced.get("files") or ()) | set(manifest["files"])
            keep = sorted(p.name for p in final.iterdir() if p.name not in made)
        write_manifest(staging, manifest)
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(final)
            return final
        journal = {"month": month, "final": str(final.relative_to(out)), "keep": keep}
        write_atomic(staging / JOURNAL, json.dumps(journal).encode())
        for name in keep:
            (final / name).rename(staging / name)
        old = _swap(staging, final)
        (final / JOURNAL).unlink()
        shutil.rmtree(old, ignore_errors=True)
    return final


def _swap(staged: Path, final: Path) -> Path:
    """Exchange the two folders atomically (Linux renameat2); where the file system cannot,
    two renames. Returns where the replaced folder now is (to be removed)."""
    if _exchange(staged, final):
        return staged
    old = staged.with_name(staged.name + "-replaced")
    final.rename(old)
    staged.rename(final)
    return old


def _exchange(a: Path, b: Path) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if done == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), str(b))


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


def send_once(
    folder: Path,
    out: Path,
    month: str,
    recipients: Sequence[str],
    send: Callable[[], Message],
    force: bool = False,
) -> Sending:
    """The one send-once protocol, for the pack and for each customer's statement: holding
    the month's lock, an earlier sending of `folder` to the same recipient list is the answer
    (unless `force`); else `send()` delivers the message (all or nothing, raising MailError)
    and only then is it recorded in the folder's manifest."""
    with lock(out, month):
        earlier = already_sent(read_manifest(folder), recipients)
        if earlier and not force:
            return Sending("already sent", earlier)
        message = send()
        record = {
            "message_id": str(message["Message-ID"]),
            "recipients": list(recipients),
            "sent_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "subject": str(message["Subject"]),
        }
        manifest = read_manifest(folder)
        write_manifest(folder, {**manifest, "sent": [*manifest.get("sent", []), record]})
        return Sending("sent", record)


@dataclass(frozen=True)
class Sending:
    status: str  # "sent", "already sent" or "dry run"
    record: dict[str, Any]  # message_id, recipients, sent_at, subject (or the .eml path)


def _addresses(recipients: Sequence[str]) -> frozenset[str]:
    return frozenset(parseaddr(r)[1].lower() for r in recipients)
