"""The docs keep up with the code: the CLI reference is what the parser says (every command
and flag in it), the README is a front door whose links lead somewhere, and the site builds
with `mkdocs build --strict` (a broken link, anchor or page left out of the nav fails)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from usage_lib.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "cli_reference.py"
spec = importlib.util.spec_from_file_location("cli_reference", TOOL)
assert spec is not None and spec.loader is not None
cli_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli_reference)


def test_the_cli_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == cli_reference.render(), (
        "docs/cli.md is out of date: run .venv/bin/python tools/cli_reference.py --write"
    )


def test_every_command_and_flag_is_in_the_cli_reference() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        assert f"usage-report {name}" in reference, name
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in reference, f"{name} {flag}"


def test_the_reference_check_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_reference.main(["--check"]) == 0  # the committed page
    stale = tmp_path / "cli.md"
    stale.write_text("# CLI reference\n", encoding="utf-8")
    monkeypatch.setattr(cli_reference, "PAGE", stale)
    assert cli_reference.main(["--check"]) == 1
    assert capsys.readouterr().err == (
        "docs/cli.md is out of date: run .venv/bin/python tools/cli_reference.py --write\n"
    )


def test_the_readme_is_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for command in ("make report", "make test", "make lab", "alerts --demo", "explain --demo"):
        assert command in readme, command
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link and not link.startswith("mailto:")]
    assert local, "the README links into docs/"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_the_site_builds_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.fail("mkdocs is not installed: .venv/bin/pip install -e '.[dev]' (the dev extra)")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (site / "index.html").is_file() and (site / "cli" / "index.html").is_file()
    assert "usage-report table" in (site / "cli" / "index.html").read_text(encoding="utf-8")
