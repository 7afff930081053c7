"""The embedded demo database: SecantusDB run as a separate process on loopback.

SecantusDB (GPL-2.0, beta) is only the demo and test server; production is the
user's MongoDB or Atlas. It is started through its own CLI, never imported.
"""

from __future__ import annotations

import atexit
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from .demo_data import DEFAULT_SIZE, GENERATOR_VERSION, STOCK_VERSION, DemoData, generate, stock
from .paths import demo_dir
from .periods import last_full_month

DEMO_DB = "tiledesk"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedMongo:
    """A SecantusDB server process; use as a context manager or call stop()."""

    def __init__(
        self, storage: str | Path = ":memory:", port: int | None = None, auth: bool = False
    ) -> None:
        self.storage = str(storage)
        self.port = port or free_port()
        self.auth = auth  # require SCRAM authentication (users are created before, without it)
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
        command = [
            str(server) if server.exists() else "secantusd-py",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            self.storage,
            "--log-level",
            "ERROR",
        ]
        # cwd: an empty folder, so no stray ./secantusd.toml is picked up
        cwd = Path(self.storage).parent if self.storage != ":memory:" else Path.cwd()
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


def demo_server(
    last_month: tuple[int, int] | None = None,
    size: int = DEFAULT_SIZE,
    seed: int = 7,
    root: Path | None = None,
    quiet: bool = False,
    profile: str = "custom",
) -> EmbeddedMongo:
    """A started server holding the demo data (`profile` "tiledesk": in stock Tiledesk's
    shape); generated and loaded on first use only."""
    last_month = last_month or last_full_month(date.today())
    root = root or demo_dir()
    shape = "" if profile == "custom" else f"-{profile}{STOCK_VERSION}"
    folder = root / (
        f"{last_month[0]:04d}-{last_month[1]:02d}-n{size}-s{seed}-v{GENERATOR_VERSION}{shape}"
    )
    marker = folder / "loaded.json"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)  # a half-loaded folder from an interrupted run
        folder.mkdir(parents=True)
        if not quiet:
            print(f"Generating the demo database in {folder} (once) ...", file=sys.stderr)
        data = generate(last_month, size, seed)
        if profile == "tiledesk":
            data = stock(data, seed)
        with EmbeddedMongo(folder / "data") as server:
            load(server.uri, data)
        marker.write_text(
            json.dumps({"requests": len(data.requests), "exclusions": data.exclusions})
        )
    return EmbeddedMongo(folder / "data").start()
