"""Tried as a user: every command of the README, installed from the wheel, run from a
folder outside the checkout with relative paths for --out, --config and --notebooks.

The commands read the small read-only database of tests/conftest.py (USAGE_MONGODB_URI);
`--demo` and `demo-db` use the checkout's demo database (USAGE_DEMO_DIR, given relative
too), sharing the test session's server as two processes on one demo folder do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from data import ROOT

AS_OF = ["--as-of", "2026-11-05"]  # the demo data of Oct 2026, the session's


@pytest.fixture
def user(installed: Path, read_only: Any, tmp_path: Path) -> Any:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "home").mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": str(installed),
        "HOME": str(tmp_path / "home"),
        "USAGE_DEMO_DIR": os.path.relpath(ROOT / ".demo-db", work),
        "USAGE_AS_OF": "2026-11-05",
        "USAGE_MONGODB_URI": read_only[0],
    }

    def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "usage_lib.cli", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done

    return work, env, run


def test_every_command_from_the_wheel_with_relative_paths(user: Any) -> None:
    work, env, run = user
    reports_before = sorted(p.name for p in (ROOT / "reports").iterdir())

    config = run("example-config")
    assert config.returncode == 0
    (work / "usage.toml").write_text(config.stdout)

    table = run("table", "--config", "usage.toml", "--format", "json", *AS_OF)
    assert table.returncode == 0, table.stderr
    assert json.loads(table.stdout)["rows"]
    demo = run("table", "--demo", "--config", "../work/usage.toml", *AS_OF, "--last-days", "7")
    assert demo.returncode == 0 and "Counted:" in demo.stdout, demo.stderr

    page = run("page", "--config", "./usage.toml", *AS_OF, "--last-days", "30",
               "--out", "views/page.html")  # fmt: skip
    assert page.returncode == 0, page.stderr
    assert (work / "views" / "page.html").read_text().rstrip().endswith("</html>")

    pack = ["--config", "usage.toml", "--month", "2026-10", "--out", "./out"]
    made = run("run", *pack, "--quiet")
    assert made.returncode == 0, made.stderr
    assert (work / "out" / "2026-10" / "index.html").is_file()
    sent = run("send", *pack, "--dry-run")
    assert sent.returncode == 0 and "Dry run" in sent.stdout, sent.stderr
    statements = run("statements", *pack, "--quiet")
    assert statements.returncode == 0, statements.stderr
    assert list((work / "out" / "2026-10" / "customers").glob("*/statement.html"))

    explained = run("explain", "--config", "usage.toml", "--month", "2026-10", "--format", "json")
    assert explained.returncode == 0, explained.stderr
    assert json.loads(explained.stdout)["tenants"][-1]["id"] == "*"
    watch = run("alerts", "--config", "usage.toml", *AS_OF, "--dry-run", "--out", "./out")
    assert watch.returncode == 0 and "No alerts: nothing sent." in watch.stderr, watch.stderr
    planted = run("alerts", "--demo", *AS_OF, "--format", "json")  # the README's try, on Oct 2026
    assert planted.returncode == 0, planted.stderr
    names = [a["name"] for a in json.loads(planted.stdout)["alerts"]]
    assert names == ["Brightside Insurance", "Pinecrest Realty"]

    indexes = run("indexes", "--config", "usage.toml")
    assert indexes.returncode == 0 and "{ status: 1, createdAt: 1" in indexes.stdout

    lab = run("lab", "--config", "usage.toml", "--notebooks", "nbs", *AS_OF,
              "--", "--version")  # fmt: skip
    assert lab.returncode == 0, lab.stderr
    assert (work / "nbs" / "explore.ipynb").is_file() and lab.stdout.strip()[0].isdigit()

    demo = subprocess.Popen(
        [sys.executable, "-m", "usage_lib.cli", "demo-db", *AS_OF],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    assert demo.stdout.readline().startswith("Demo database running")
    uri = demo.stdout.readline().strip()
    demo.send_signal(signal.SIGTERM)
    # on its way out it talks to the shared server (its sessions, the control lock), which
    # the other worker's tests may keep busy for a minute: it took over 60 s once under -n 2
    assert demo.wait(timeout=240) == 0 and uri.startswith("mongodb://127.0.0.1:")

    assert sorted(p.name for p in work.iterdir()) == ["nbs", "out", "usage.toml", "views"]
    assert sorted(p.name for p in (ROOT / "reports").iterdir()) == reports_before
