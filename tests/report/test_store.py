"""The pack on disk: staging is cleaned, publish swaps whole packs and keeps what was sent,
and everything beside the pack that it did not make, even when a run is killed on the way."""

import os
import signal
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from usage_lib.report import store as pack

SENT = {"message_id": "<1@x>", "recipients": ["A <a@x.com>"], "sent_at": "t", "subject": "s"}


def stage(out: Path, month: str, marker: str) -> Path:
    folder = out / f".staging-{month}-test"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(marker)
    pack.write_manifest(folder, {"month": month, "marker": marker})
    return folder


def test_staging_is_removed_whatever_happens(tmp_path: Path) -> None:
    try:
        with pack.staging(tmp_path, "2026-10") as folder:
            (folder / "x").write_text("half")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_publish_replaces_the_pack_and_keeps_the_sent_record(tmp_path: Path) -> None:
    first = pack.publish(stage(tmp_path, "2026-10", "one"), tmp_path, "2026-10")
    pack.write_manifest(first, {**pack.read_manifest(first), "sent": [SENT]})
    second = pack.publish(stage(tmp_path, "2026-10", "two"), tmp_path, "2026-10")
    manifest = pack.read_manifest(second)
    assert manifest["marker"] == "two" and manifest["sent"] == [SENT]
    assert (second / "index.html").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2026-10.lock", "2026-10"]


def test_already_sent_compares_addresses_not_spelling(tmp_path: Path) -> None:
    manifest = {"sent": [SENT]}
    assert pack.already_sent(manifest, ["a@X.com"]) == SENT
    assert pack.already_sent(manifest, ["a@x.com", "b@x.com"]) is None


def test_failed_runs_are_kept_with_their_notebooks(tmp_path: Path) -> None:
    staging = stage(tmp_path, "2026-10", "x")
    (staging / "2_agents.ipynb").write_text("{}")
    (staging / "kernels.log").write_text("log")
    kept = pack.keep_failed(tmp_path, "2026-10", staging)
    assert sorted(p.name for p in kept.iterdir()) == ["2_agents.ipynb", "kernels.log"]
    assert kept.parent == tmp_path / "failed"


def test_pages_zip_holds_the_index_and_pages(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("i")
    (tmp_path / "1_a.html").write_text("a")
    names = zipfile.ZipFile(BytesIO(pack.pages_zip(tmp_path, "2026-10", ["1_a.html"]))).namelist()
    assert names == ["usage-report-2026-10/index.html", "usage-report-2026-10/1_a.html"]


def _pack(out: Path, marker: str, pages: tuple[str, ...] = ("index.html", "1_a.html")) -> Path:
    """A staged pack whose every page says `marker`."""
    folder = out / f".staging-2026-10-{marker}"
    folder.mkdir(parents=True)
    for page in pages:
        (folder / page).write_text(marker)
    pack.write_manifest(folder, {"month": "2026-10", "marker": marker})
    return folder


def _beside(final: Path) -> None:
    """What the statements and a user put beside a pack."""
    customer = final / "customers" / "acme-1"
    customer.mkdir(parents=True)
    pack.write_manifest(customer, {"month": "2026-10", "sent": [SENT]})
    (customer / "statement.html").write_text("acme")
    (final / "notes.txt").write_text("mine")


def test_a_rebuilt_pack_keeps_everything_it_did_not_make(tmp_path: Path) -> None:
    first = pack.publish(
        _pack(tmp_path, "one", ("index.html", "1_a.html", "5_r.html")), tmp_path, "2026-10"
    )
    _beside(first)
    second = pack.publish(_pack(tmp_path, "two"), tmp_path, "2026-10")
    names = sorted(p.name for p in second.iterdir())
    assert names == ["1_a.html", "customers", "index.html", "manifest.json", "notes.txt"]
    assert (second / "index.html").read_text() == "two"  # the new pack's pages
    assert not (second / "5_r.html").exists()  # a page the old pack made and the new one not
    customer = second / "customers" / "acme-1"
    assert pack.read_manifest(customer)["sent"] == [SENT]  # the statement's sending record
    assert (second / "notes.txt").read_text() == "mine"
    assert pack.read_manifest(second)["files"] == ["1_a.html", "index.html", "manifest.json"]
    third = pack.publish(_pack(tmp_path, "three"), tmp_path, "2026-10")  # and again
    assert sorted(p.name for p in third.iterdir()) == names
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging")] == []


# A child process publishes a second pack and is killed (os._exit, as SIGKILL: no clean-up)
# at one step of the swap; the next run must find either pack whole, with what was beside it.
CRASH = """
import os, sys
from pathlib import Path
from usage_lib.report import store as pack
out, step = Path(sys.argv[1]), sys.argv[2]
staged = out / ".staging-2026-10-{pid}-0".format(pid=os.getpid())
staged.mkdir()
lock = open(pack._lock_of(staged), "w")
import fcntl; fcntl.flock(lock, fcntl.LOCK_EX)
for page in ("index.html", "1_a.html"):
    (staged / page).write_text("two")
pack.write_manifest(staged, {"month": "2026-10", "marker": "two"})
real_rename, real_swap, moved = Path.rename, pack._swap, []
def rename(self, target):
    done = real_rename(self, target)
    moved.append(target)
    if step == "moving" and len(moved) == 1:
        os._exit(9)
    if step == "fallback" and Path(target).name.endswith("-replaced"):
        os._exit(9)
    return done
def swap(a, b):
    old = real_swap(a, b)
    if step == "swapped":
        os._exit(9)
    return old
Path.rename = rename
pack._swap = swap
if step == "fallback":
    pack._exchange = lambda a, b: False
pack.publish(staged, out, "2026-10")
os._exit(0 if step == "none" else 3)
"""


@pytest.mark.parametrize("step", ["moving", "swapped", "fallback", "none"])
def test_a_run_killed_while_publishing_loses_nothing(tmp_path: Path, step: str) -> None:
    first = pack.publish(_pack(tmp_path, "one"), tmp_path, "2026-10")
    _beside(first)
    done = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path), step], timeout=60)
    assert done.returncode == (0 if step == "none" else 9)
    pack.clear_stale(tmp_path)  # what the next run does first
    final = tmp_path / "2026-10"
    marker = (final / "index.html").read_text()
    assert marker in ("one", "two")  # one pack or the other, whole
    assert (final / "1_a.html").read_text() == marker
    assert pack.read_manifest(final)["marker"] == marker
    assert pack.read_manifest(final / "customers" / "acme-1")["sent"] == [SENT]
    assert (final / "notes.txt").read_text() == "mine"
    assert not (final / pack.JOURNAL).exists() or marker == "two"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging-")] == []
    again = pack.publish(_pack(tmp_path, "three"), tmp_path, "2026-10")  # the next run
    assert (again / "index.html").read_text() == "three"
    assert (again / "customers" / "acme-1" / "statement.html").read_text() == "acme"
    assert sorted(p.name for p in again.iterdir()) == [
        "1_a.html", "customers", "index.html", "manifest.json", "notes.txt"
    ]  # fmt: skip


def test_only_the_staging_folders_of_killed_runs_are_cleared(tmp_path: Path) -> None:
    hold = (
        "import sys, time\nfrom pathlib import Path\nfrom usage_lib.report import store as pack\n"
    )
    hold += "with pack.staging(Path(sys.argv[1]), '2026-10') as f:\n"
    hold += "    (f / 'x').write_text('x'); print(f, flush=True); time.sleep(60)\n"
    child = subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    legacy = tmp_path / ".staging-2026-09-999999999"  # an earlier version's, its process gone
    legacy.mkdir()
    pack.clear_stale(tmp_path)
    assert folder.is_dir() and (folder / "x").exists()  # a run still going keeps its folder
    assert not legacy.exists()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    time.sleep(0.1)
    pack.clear_stale(tmp_path)
    assert not folder.exists() and not pack._lock_of(folder).exists()
