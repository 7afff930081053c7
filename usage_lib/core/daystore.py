"""The local store of days already read: for each local day, its cube rows and its distinct
(tenant, agent, end user) triples, as the store's pass read them (`warm`), or the daily
watch's rows (what started, per tenant and agent), with the count of documents started that
day and when it was read.

One Parquet file per day, in a folder per key: the database and collection, the profile, the
rule, the exclusions, the zone, the published forks and this code's version of the rule. Any
change to those is another folder, never a wrong answer. The files hold requester ids: the
folders are 0700, the files 0600, and they live in the user's cache folder
(`paths.cache_dir`), never in the checkout.

A day is written to a temporary file and renamed over the old one: a reader, a second run
or a run killed at any point sees the old day or the new one, never half of it. A file that
cannot be read is a day not read (it is read again and replaced), never a day served wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from usage_lib.core.cube import SCHEMA

FORMAT = "1"  # of the files; another format is another key
RULE_VERSION = "2026-12-05"  # of the rule's code: bump it when a pass counts differently
USERS_SCHEMA = {"org_id": pl.String, "agent_id": pl.String, "day": pl.Date, "user": pl.String}
_STALE_TMP_S = 3600  # a temporary file this old was left by a killed run


@dataclass(frozen=True)
class Stored:
    """What the store knows of a day without reading its rows."""

    count: int  # documents started that day, counted just before it was read
    read_at: datetime  # when (UTC, naive): edits after it make the day dirty
    updated: bool  # a conversation of the day carries updatedAt: the deployment writes it
    users: bool  # its end users were read (a reading without users does not read them)


@dataclass(frozen=True)
class Day:
    day: date
    count: int
    read_at: datetime
    updated: bool
    with_users: bool
    cube: pl.DataFrame  # the store's schema (cube.SCHEMA, or the watch's), this day's rows
    users: pl.DataFrame  # USERS_SCHEMA, this day's distinct triples


def private_folder(path: Path) -> Path:
    """`path` created if missing, 0700 (the store's folders hold customers' data)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o777 != 0o700:
        path.chmod(0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """`data` as `path`, 0600, atomically: a temporary file beside it, then a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def key_digest(key: dict[str, Any]) -> str:
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class DayStore:
    """The days of one key, in `root`/<digest of the key>/, each a frame of `schema` (the
    cube's rows, or the daily watch's) and its users triples."""

    def __init__(
        self, root: Path, key: dict[str, Any], schema: dict[str, Any] | None = None
    ) -> None:
        self.root = root
        self.key = {**key, "format": FORMAT, "rule_version": RULE_VERSION}
        self.folder = root / key_digest(self.key)
        self.schema = SCHEMA if schema is None else schema
        # a row of the schema has no user; a users row no counts
        self._file_schema = {**self.schema, "user": pl.String}

    def _path(self, day: date) -> Path:
        return self.folder / f"{day.isoformat()}.parquet"

    def _open(self) -> None:
        private_folder(self.root)
        private_folder(self.folder)
        key_file = self.folder / "key.json"
        if not key_file.exists():
            _write_private(key_file, json.dumps(self.key, indent=1, default=str).encode())

    def stored(self) -> list[date]:
        """Every day this key holds, in order."""
        return [date.fromisoformat(p.stem) for p in _day_files(self.folder)]

    def known(self, days: Iterable[date]) -> dict[date, Stored]:
        """The stored days among `days`: their count and read time (a day whose file cannot
        be read is not known)."""
        found: dict[date, Stored] = {}
        for day in days:
            path = self._path(day)
            if not path.exists():
                continue
            try:
                meta = pl.read_parquet_metadata(path)
                found[day] = Stored(
                    int(meta["count"]),
                    datetime.fromisoformat(meta["read_at"]),
                    meta["updated"] == "1",
                    meta["users"] == "1",
                )
            except Exception:  # noqa: BLE001 - damaged or foreign: read the day again
                continue
        return found

    def load(self, days: Iterable[date]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The rows and the users triples of `days` (all of them known)."""
        paths = [self._path(d) for d in days]
        if not paths:
            return pl.DataFrame(schema=self.schema), pl.DataFrame(schema=USERS_SCHEMA)
        rows = pl.read_parquet(paths, schema=self._file_schema)
        is_user = pl.col("user").is_not_null()
        cube = rows.filter(~is_user).select(list(self.schema))
        users = rows.filter(is_user).select(list(USERS_SCHEMA))
        return cube, users

    def put(self, days: Iterable[Day]) -> None:
        """Each day replaced whole, atomically."""
        self._open()
        for d in days:
            rows = pl.concat([d.cube, d.users], how="diagonal_relaxed")
            buffer = io.BytesIO()
            rows.select(list(self._file_schema)).cast(self._file_schema).write_parquet(  # type: ignore[arg-type]
                buffer,
                metadata={
                    "count": str(d.count),
                    "read_at": d.read_at.isoformat(),
                    "updated": "1" if d.updated else "0",
                    "users": "1" if d.with_users else "0",
                },
            )
            _write_private(self._path(d.day), buffer.getvalue())


# -- the whole store: what `usage-report cache status` and `cache clear` see ---------------


@dataclass(frozen=True)
class KeyStatus:
    folder: Path
    key: dict[str, Any]
    days: int
    first: date | None
    last: date | None
    last_read: datetime | None
    size: int  # bytes


def _day_files(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.glob("*.parquet")) if not p.name.startswith("."))


def status(root: Path) -> list[KeyStatus]:
    """Every key the store holds, with its days, their span, the last read and the size."""
    out = []
    for key_file in sorted(root.glob("*/key.json")) if root.is_dir() else []:
        folder = key_file.parent
        files = list(_day_files(folder))
        days = [date.fromisoformat(p.stem) for p in files]
        reads = []
        for p in files[-31:]:  # the newest days carry the last read
            try:
                reads.append(datetime.fromisoformat(pl.read_parquet_metadata(p)["read_at"]))
            except Exception:  # noqa: BLE001, S112 - a damaged day shows in `cache verify`
                continue
        try:
            key = json.loads(key_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            key = {}
        out.append(
            KeyStatus(
                folder,
                key,
                len(days),
                min(days, default=None),
                max(days, default=None),
                max(reads, default=None),
                sum(p.stat().st_size for p in folder.iterdir() if p.is_file()),
            )
        )
    return out


def clear(root: Path) -> int:
    """Remove every key the store holds (and what killed runs left); how many keys."""
    keys = [p.parent for p in root.glob("*/key.json")] if root.is_dir() else []
    for folder in keys:
        shutil.rmtree(folder, ignore_errors=True)
    for leftover in root.glob("*") if root.is_dir() else []:
        if leftover.is_dir() and not any(leftover.iterdir()):
            leftover.rmdir()
    return len(keys)


def sweep(folder: Path) -> None:
    """Temporary files left by killed runs, once they are old enough not to be a live run's."""
    if not folder.is_dir():
        return
    now = time.time()
    for tmp in folder.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > _STALE_TMP_S:
                tmp.unlink()
        except OSError:
            continue
