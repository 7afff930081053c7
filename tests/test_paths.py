"""Where files are found and written: from the checkout as before, and from a built wheel
installed away from the checkout, where the full demo pack is made in an empty folder."""

import email
import json
import os
import subprocess
import sys
from datetime import date
from email import policy
from pathlib import Path

from usage_lib import paths
from usage_lib.core.periods import last_full_month
from usage_lib.demo.server import SharedServer, demo_server

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20"  # conftest.py's: the session's demo data ends with Oct 2026


def test_from_the_checkout_everything_is_in_the_project() -> None:
    assert paths.checkout() == ROOT
    assert paths.notebook_dir() == ROOT / "notebooks"
    assert [p.name for p in paths.report_notebooks()] == [
        "1_platform.ipynb",
        "2_agents.ipynb",
        "3_adoption.ipynb",
        "4_data_checks.ipynb",
        "5_reconciliation.ipynb",  # in a pack only when [reconcile] is configured
    ]
    assert paths.reports_dir({}) == ROOT / "reports"
    assert paths.demo_dir({}) == ROOT / ".demo-db"
    assert paths.EXAMPLE_CONFIG.is_file() and (paths.TEMPLATES / "report").is_dir()


def test_settings_override_the_folders(tmp_path: Path) -> None:
    env = {"USAGE_REPORTS_DIR": str(tmp_path / "r"), "USAGE_DEMO_DIR": str(tmp_path / "d")}
    assert paths.reports_dir(env) == tmp_path / "r"
    assert paths.demo_dir(env) == tmp_path / "d"


def test_the_wheel_carries_what_runs(installed: Path) -> None:
    package = installed / "usage_lib"
    assert sorted(p.name for p in (package / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb")
    )
    assert (package / "usage.example.toml").is_file()
    assert (package / "templates" / "report" / "index.html.j2").is_file()
    lab = package / "templates" / "jupyter" / "labconfig" / "page_config.json"
    assert "announcements" in lab.read_text()  # `lab` asks no news question when installed


def test_the_installed_command_makes_the_full_demo_pack_in_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": str(installed),
        "HOME": str(home),
        "USAGE_AS_OF": AS_OF,  # the demo data of Oct 2026, whatever the day the suite runs
    }
    # The session's demo data (conftest.py), linked into the user's cache folder where a first
    # `--demo` run leaves it: its 140,000 conversations are generated once a session
    # (tests/demo makes one from nothing). The command must find it there, by its name.
    session = demo_server(last_full_month(date.fromisoformat(AS_OF)), quiet=True)
    assert isinstance(session, SharedServer)
    session.stop()  # our share of it: the session keeps it running
    demo_db = home / ".cache" / "usage-lib" / "demo-db"
    demo_db.mkdir(parents=True)
    name = session.folder.name
    (demo_db / name).symlink_to(session.folder, target_is_directory=True)
    code = "import usage_lib.paths as p; print(p.PACKAGE, p.checkout())"
    where = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=work, capture_output=True, text=True
    )
    assert where.stdout.split() == [str(installed / "usage_lib"), "None"], where.stderr
    done = subprocess.run(
        [sys.executable, "-m", "usage_lib.cli", "run", "--demo", "--month", "2026-10", "--quiet"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "" and done.stderr == ""  # --quiet: nothing, not even kernel warnings
    pack = work / "reports" / "2026-10"
    names = {p.name for p in pack.iterdir()}
    pages = {"1_platform.html", "2_agents.html", "3_adoption.html", "4_data_checks.html"}
    assert {"index.html", "manifest.json", "usage-report-2026-10.eml", *pages} <= names
    manifest = json.loads((pack / "manifest.json").read_text())
    assert set(manifest["pages"]) == pages and manifest["source"] == "embedded demo database"
    assert manifest["billable"]["month"] > 0
    assert (home / ".cache" / "usage-lib" / "demo-db").is_dir()  # the user's cache folder
    assert (demo_db / f"{name}.lock").is_file()  # the command looked for its demo data there
    message = email.message_from_bytes(
        (pack / "usage-report-2026-10.eml").read_bytes(), policy=policy.default
    )
    assert f"{manifest['billable']['month']:,} billable conversations" in message["Subject"]
    assert sorted(os.listdir(work)) == ["reports"]  # nothing else written where it ran
