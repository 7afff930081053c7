"""Faults on the way to disk: relative folders, rebuilt packs, killed runs, `run` and
`statements` at once, a full disk, a folder that cannot be written. Each runs the installed
command as cron would, against the read-only demo server of tests/conftest.py."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import BIN

from usage_lib.paths import EXAMPLE_CONFIG
from usage_lib.report import store as pack

MONTH = "2026-10"


@pytest.fixture(scope="module")
def env(
    read_only: tuple[str, Any, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    uri, _, _ = read_only
    return {
        "PATH": "/usr/bin:/bin",
        "USAGE_MONGODB_URI": uri,
        "USAGE_CONFIG": str(EXAMPLE_CONFIG),
        "HOME": str(tmp_path_factory.mktemp("home")),
        # the worker's local store (conftest.py), where the session's pack left these days
        "USAGE_CACHE_DIR": os.environ["USAGE_CACHE_DIR"],
    }


@dataclass(frozen=True)
class Previous:
    out: Path
    rows: dict[str, int]  # the statements' rows per customer
    whole: dict[str, float]  # seconds each command took to make its part again


@pytest.fixture(scope="module")
def previous(env: dict[str, str], pack: Path, tmp_path_factory: pytest.TempPathFactory) -> Previous:
    """A complete pack with its statements, made once; every test leaves it complete. Each
    command is timed: the session's `pack` has read the days into the store, so this run
    takes what every later one does, from start-up to the swap."""
    out = tmp_path_factory.mktemp("reports")
    whole = {}
    for command in ("run", "statements"):
        started = time.perf_counter()
        done = cli([command, "--month", MONTH, "--out", str(out), "--quiet"], out, env)
        whole[command] = time.perf_counter() - started
        assert done.returncode == 0, done.stderr[-2000:]
    complete_pack(out / MONTH)
    return Previous(out, complete_statements(out / MONTH), whole)


def cli(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> Any:
    return subprocess.run(
        [str(BIN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def complete_pack(folder: Path) -> str:
    """The pack is whole and readable: its manifest, every page it lists, the index and the
    email. Returns when it was generated."""
    manifest = pack.read_manifest(folder)
    for page in ["index.html", *manifest["pages"]]:
        assert (folder / page).read_text(encoding="utf-8").rstrip().endswith("</html>"), page
    assert (folder / pack.eml_name(MONTH)).stat().st_size > 10_000
    return str(manifest["generated_at"])


def complete_statements(folder: Path) -> dict[str, int]:
    """Every customer's folder is whole: its page, its rows as CSV and XLSX, its manifest
    naming as many rows as the CSV holds. Returns rows per customer."""
    found = {}
    for customer in sorted((folder / "customers").iterdir()):
        if customer.name.startswith("."):
            continue
        manifest = pack.read_manifest(customer)
        assert (customer / "statement.html").read_text(encoding="utf-8").endswith("</html>")
        assert (customer / "conversations.xlsx").stat().st_size > 0
        with open(customer / "conversations.csv", newline="", encoding="utf-8") as handle:
            rows = len(list(csv.DictReader(handle)))
        assert rows == manifest["rows"], customer.name
        found[customer.name] = rows
    assert found
    return found


def no_staging_left(out: Path) -> None:
    assert [p.name for p in out.iterdir() if p.name.startswith(".staging-")] == []


def test_relative_out_rebuilt_twice_keeps_the_statements_and_their_record(
    previous: Previous, env: dict[str, str], tmp_path: Path
) -> None:
    """`run --out <relative>` after `statements`, twice (a cron retry, a catch-up): the
    statements and the record of their sending survive every rebuild."""
    out, rows = previous.out, previous.rows
    customer = next(p for p in (out / MONTH / "customers").iterdir() if p.is_dir())
    sent = {"message_id": "<1@x>", "recipients": ["a@x.com"], "sent_at": "t", "subject": "s"}
    with pack.lock(out, MONTH):
        pack.write_manifest(customer, {**pack.read_manifest(customer), "sent": [sent]})
    generated = complete_pack(out / MONTH)
    relative = os.path.relpath(out, tmp_path)
    for _ in range(2):
        again = cli(["run", "--month", MONTH, "--out", relative, "--quiet"], tmp_path, env)
        assert again.returncode == 0, again.stderr[-2000:]
        assert complete_pack(out / MONTH) > generated  # a new pack
        generated = complete_pack(out / MONTH)
        assert complete_statements(out / MONTH) == rows
        assert pack.read_manifest(customer)["sent"] == [sent]
    no_staging_left(out)
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


def _killed(args: list[str], after: float, cwd: Path, env: dict[str, str]) -> None:
    child = subprocess.Popen([str(BIN), *args], cwd=cwd, env=env, stderr=subprocess.DEVNULL)
    time.sleep(after)
    child.send_signal(signal.SIGKILL)
    child.wait()


@pytest.mark.parametrize("command", ["run", "statements"])
def test_a_run_killed_at_any_point_leaves_the_previous_output_and_the_next_run_succeeds(
    previous: Previous, env: dict[str, str], tmp_path: Path, command: str
) -> None:
    out, rows = previous.out, previous.rows
    generated = complete_pack(out / MONTH)
    args = [command, "--month", MONTH, "--out", str(out), "--quiet"]
    for share in (0.1, 0.5, 0.9):  # from start-up to the swap
        _killed(args, previous.whole[command] * share, tmp_path, env)
        now = complete_pack(out / MONTH)  # the previous pack, or a complete new one
        assert complete_statements(out / MONTH) == rows
        assert now >= generated
    done = cli(args, tmp_path, env)
    assert done.returncode == 0, done.stderr[-2000:]
    complete_pack(out / MONTH)
    assert complete_statements(out / MONTH) == rows
    no_staging_left(out)


def test_run_and_statements_at_once_leave_both_complete(
    previous: Previous, env: dict[str, str], tmp_path: Path
) -> None:
    out, rows = previous.out, previous.rows
    generated = complete_pack(out / MONTH)
    children = [
        subprocess.Popen(
            [str(BIN), command, "--month", MONTH, "--out", str(out), "--quiet"],
            cwd=tmp_path,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in ("run", "statements", "run", "statements")
    ]
    for child in children:
        _, err = child.communicate(timeout=600)
        assert child.returncode == 0, err[-2000:]
    assert complete_pack(out / MONTH) > generated
    assert complete_statements(out / MONTH) == rows
    no_staging_left(out)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 40 MB tmpfs (root only: CI runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_disk_is_one_line_exit_1_and_the_previous_pack_stays(
    previous: Previous, small_disk: Path, env: dict[str, str], tmp_path: Path
) -> None:
    out = previous.out
    subprocess.run(["cp", "-a", str(out / MONTH), str(small_disk)], check=True)
    before = {p.name: p.read_bytes() for p in (small_disk / MONTH).iterdir() if p.is_file()}
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    with open(small_disk / "filler", "wb") as handle:  # leave 64 KB: the cube fits, not more
        handle.write(b"\0" * (free - 64 * 1024))
    done = cli(["run", "--month", MONTH, "--out", str(small_disk), "--quiet"], tmp_path, env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], done.stderr
    assert "previous pack is untouched" in lines[0]
    after = {p.name: p.read_bytes() for p in (small_disk / MONTH).iterdir() if p.is_file()}
    assert after == before
    no_staging_left(small_disk)


def test_an_unwritable_out_is_one_line_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    places = [tmp_path / "a-file" / "x", tmp_path / "a-file"]
    (tmp_path / "a-file").write_text("not a folder")
    if os.geteuid() == 0:  # root writes anywhere but on a read-only file system
        readonly = tmp_path / "ro"
        readonly.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(readonly)], check=True
        )
        places.append(readonly / "reports")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        places.append(locked / "reports")
    try:
        for place in places:
            for command in ("run", "statements"):
                done = cli([command, "--month", MONTH, "--out", str(place)], tmp_path, env)
                assert done.returncode == 2, (place, done.stderr)
                assert done.stderr.count("\n") == 1 and "--out" in done.stderr, done.stderr
                assert "Traceback" not in done.stderr
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(tmp_path / "ro")], check=True)
