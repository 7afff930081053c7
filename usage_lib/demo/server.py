"""The embedded demo database: SecantusDB run as a separate process on loopback.

SecantusDB (GPL-2.0, beta) is only the demo and test server; production is the
user's MongoDB or Atlas. It is started through its own CLI, never imported.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from usage_lib.core.periods import last_full_month
from usage_lib.demo.data import (
    DEFAULT_SIZE,
    GENERATOR_VERSION,
    STOCK_VERSION,
    DemoData,
    generate,
    stock,
    wide,
)
from usage_lib.paths import demo_dir

DEMO_DB = "tiledesk"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedMongo:
    """A SecantusDB server process; use as a context manager or call stop().

    `command`: the program and leading arguments to run instead of `secantusd-py` (the
    tests' launcher of a patched SecantusDB); the server's own arguments follow them."""

    def __init__(
        self,
        storage: str | Path = ":memory:",
        port: int | None = None,
        auth: bool = False,
        command: list[str] | None = None,
    ) -> None:
        self.storage = storage if storage == ":memory:" else str(Path(storage).absolute())
        self.port = port or free_port()
        self.auth = auth  # require SCRAM authentication (users are created before, without it)
        self.command = list(command) if command else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> EmbeddedMongo:
        with socket.socket() as probe:  # else the ping below could reach another server
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(
                    f"the embedded database did not start: port {self.port} is already in use"
                )
        server = Path(sys.executable).with_name("secantusd-py")
        program = self.command or [str(server) if server.exists() else "secantusd-py"]
        command = [
            *program,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            self.storage,
            "--log-level",
            "ERROR",
            *(["--auth"] if self.auth else []),
        ]
        # cwd: the storage's own folder (or an empty one), so that no stray ./secantusd.toml
        # is picked up; the storage path is absolute, so it does not depend on it
        if self.storage == ":memory:":
            cwd = Path(tempfile.mkdtemp(prefix="secantus-"))
            atexit.register(shutil.rmtree, cwd, ignore_errors=True)
        else:
            cwd = Path(self.storage).parent
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        atexit.register(self.stop)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        with MongoClient[dict[str, object]](self.uri, serverSelectionTimeoutMS=300) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    err = (
                        self.process.stderr.read().decode(errors="replace")
                        if self.process.stderr
                        else ""
                    )
                    raise RuntimeError(f"the embedded database did not start: {err.strip()[-300:]}")
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the embedded database did not answer within {START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedMongo:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.stop()


def load(uri: str, data: DemoData, db_name: str = DEMO_DB, journal: bool = True) -> None:
    """Insert the dataset with journaled writes (a killed server loses unjournaled ones;
    `journal=False` is for an in-memory server that is thrown away)."""
    with MongoClient[dict[str, object]](uri, w=1, journal=journal) as client:
        db = client[db_name]
        for name in ("requests", data.tenants, "faq_kbs"):
            db[name].drop()
        db[data.tenants].insert_many(data.organizations)
        db.faq_kbs.insert_many(data.faq_kbs)
        for i in range(0, len(data.requests), 20_000):
            db.requests.insert_many(data.requests[i : i + 20_000], ordered=False)
        db.requests.create_index([("updatedAt", -1)], name="updatedAt_-1")  # as Tiledesk has
        db.requests.create_index([("createdAt", 1)], name="usage_report_started")  # `indexes`


class SharedServer(EmbeddedMongo):
    """The demo database's server, shared by every process that uses the same folder (two
    servers cannot open one storage): `start` reuses the one running (its port is in
    `server.json`) or starts it; `stop` leaves it to the others, and the last user stops
    it. A process killed on the way releases its share (a lock the kernel drops), so the
    server it left is reused, then stopped by the next run; a server left by an earlier
    version (no `server.json`) is found by its storage path and stopped."""

    def __init__(self, storage: Path) -> None:
        super().__init__(storage)
        self.folder = Path(self.storage).parent
        self._share: Any = None  # a shared lock on .users.lock while this process uses it

    def start(self) -> SharedServer:
        with _locked(self.folder / ".control.lock"):
            self._share = open(self.folder / ".users.lock", "w")  # noqa: SIM115
            fcntl.flock(self._share, fcntl.LOCK_SH)
            atexit.register(self.stop)
            running = _read_json(self.folder / "server.json")
            if running and _answers(running["port"]):
                self.port = running["port"]
                return self
            _stop_servers_of(self.storage)
            self.port = free_port()
            super().start()
            assert self.process is not None
            info = {"pid": self.process.pid, "port": self.port}
            (self.folder / "server.json").write_text(json.dumps(info), encoding="utf-8")
        return self

    def stop(self) -> None:
        if self._share is None:
            return
        with _locked(self.folder / ".control.lock"):
            share, self._share = self._share, None
            try:
                fcntl.flock(share, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                share.close()  # others still use it: the last one stops it
                return
            try:
                running = _read_json(self.folder / "server.json")
                (self.folder / "server.json").unlink(missing_ok=True)
                if self.process is not None:
                    super().stop()
                else:  # started by another process, which has gone
                    _stop_servers_of(self.storage, [running["pid"]] if running else [])
            finally:
                share.close()


@contextlib.contextmanager
def _locked(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _answers(port: int) -> bool:
    try:
        with MongoClient[dict[str, object]](
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=1_000
        ) as client:
            client.admin.command("ping")
        return True
    except PyMongoError:
        return False


def _stop_servers_of(storage: str, pids: list[int] | None = None) -> None:
    """Stop the SecantusDB processes serving `storage` (`pids`, and any other one found in
    /proc, left by a killed run): SIGTERM, then SIGKILL after 20 s."""
    pids = list(pids or [])
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if any(b"secantusd" in a for a in args[:2]) and os.fsencode(storage) in args:
                pids.append(int(cmdline.parent.name))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for pid in pids:
        while _running(pid):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has stopped
    except OSError:
        return False


def demo_server(
    last_month: tuple[int, int] | None = None,
    size: int = DEFAULT_SIZE,
    seed: int = 7,
    root: Path | None = None,
    quiet: bool = False,
    profile: str = "custom",
    tenants: int = 0,
) -> EmbeddedMongo:
    """A started server holding the demo data (`profile` "tiledesk": in stock Tiledesk's
    shape; `tenants`: a wide platform of that many customers, 40 conversations each over
    13 months, `demo_data.wide`); generated and loaded on first use only."""
    last_month = last_month or last_full_month(date.today())
    root = root or demo_dir()
    shape = "" if profile == "custom" else f"-{profile}{STOCK_VERSION}"
    if tenants:
        size, shape = 40 * tenants, f"-wide{tenants}"
    folder = root / (
        f"{last_month[0]:04d}-{last_month[1]:02d}-n{size}-s{seed}-v{GENERATOR_VERSION}{shape}"
    )
    marker = folder / "loaded.json"
    with _locked(folder.with_name(folder.name + ".lock")):  # one process generates it
        if not marker.exists():
            _stop_servers_of(str((folder / "data").absolute()))
            shutil.rmtree(folder, ignore_errors=True)  # half-loaded by an interrupted run
            folder.mkdir(parents=True)
            if not quiet:
                print(f"Generating the demo database in {folder} (once) ...", file=sys.stderr)
            data = wide(last_month, tenants, size) if tenants else generate(last_month, size, seed)
            if profile == "tiledesk":
                data = stock(data, seed)
            with EmbeddedMongo(folder / "data") as server:
                load(server.uri, data)
            marker.write_text(
                json.dumps({"requests": len(data.requests), "exclusions": data.exclusions})
            )
    return SharedServer(folder / "data").start()
