"""`usage-report cache status | verify | clear` and `--no-cache`, as a user runs them: what each
says, its exit code, and the store's files (tests/core/test_warm.py proves the numbers)."""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from usage_lib.cli import main

RANGE = ["--start", "2026-03-01", "--end", "2026-03-10"]


@pytest.fixture
def data(
    client: MongoClient[dict[str, Any]], mongo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Ten days of one billable conversation each, in a database of their own; the store in
    a folder of this test's."""
    name = f"cache_{uuid.uuid4().hex[:12]}"
    db = client[name]
    written = datetime(2026, 3, 11)
    db.requests.insert_many(
        [
            {
                "createdAt": datetime(2026, 3, 1, 12) + timedelta(days=d),
                "updatedAt": written,
                "status": 1000,
                "depth": 5,
                "requester": f"u{d}",
            }
            for d in range(10)
        ]
    )
    monkeypatch.setenv("USAGE_MONGODB_URI", mongo.uri)
    monkeypatch.setenv("USAGE_MONGODB_DB", name)
    monkeypatch.setenv("USAGE_CACHE_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("USAGE_CONFIG", raising=False)
    yield db
    client.drop_database(name)


def table(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[dict[str, Any], str]:
    assert main(["table", "--format", "json", *RANGE, *flags]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_a_second_run_reads_nothing_and_says_so(
    data: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = table(capsys)
    assert first["read"] == {"days_cached": 0, "days_read": 10}
    second, _ = table(capsys)
    assert second["read"] == {"days_cached": 10, "days_read": 0}
    assert second["totals"] == first["totals"]
    assert main(["table", *RANGE]) == 0  # text: the line on stderr, stdout stays the table
    out, err = capsys.readouterr()
    assert "Read: 10 days from the local store, 0 read from the database." in err
    assert "Read:" not in out
    cold, _ = table(capsys, "--no-cache")
    assert "read" not in cold and cold["totals"] == first["totals"]
    files = list((tmp_path / "store").rglob("*"))
    assert {stat.S_IMODE(p.stat().st_mode) for p in files if p.is_dir()} == {0o700}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files if p.is_file()} == {0o600}


def test_status_verify_and_clear(
    data: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table(capsys)
    assert main(["cache", "status"]) == 0
    status = capsys.readouterr().out
    assert f"Local store: {tmp_path / 'store'} (1 key(s)," in status
    assert f"/{data.name}, zone UTC: 10 days, 2026-03-01 to 2026-03-10, last read" in status

    assert main(["cache", "verify"]) == 0
    assert capsys.readouterr().out.endswith(": 0 differ.\n")

    # the documented limit: an edit that skips updatedAt and keeps its day's count
    data.requests.update_one({"requester": "u3"}, {"$set": {"status": 100}})
    stale, _ = table(capsys)
    assert stale["totals"]["totals"]["conversations"] == 10  # no signal showed it
    assert main(["cache", "verify", "--start", "2026-03-01", "--end", "2026-03-10"]) == 1
    said = capsys.readouterr().out
    assert "2026-03-04: differs (conversations); replaced" in said
    assert "Verified 10 stored day(s)" in said and ": 1 differ." in said
    fixed, _ = table(capsys)
    assert fixed["totals"]["totals"]["conversations"] == 9  # verify replaced the day

    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"Removed 1 key(s) from {tmp_path / 'store'}.\n"
    assert main(["cache", "status"]) == 0
    assert "(0 key(s), 0.0 MB)" in capsys.readouterr().out


def test_verify_bad_range_is_one_line_exit_2(data: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "verify", "--start", "2026-03-10", "--end", "2026-03-01"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--start" in err
