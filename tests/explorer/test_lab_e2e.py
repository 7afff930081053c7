"""End to end in a real browser: `usage-report lab` on the demo database, the explorer
notebook run in JupyterLab by Chromium (Debian's, driven by Playwright), a preset picked,
an organization opened, its agent rows checked against the library, the CSV downloaded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from usage_lib.connection import connect
from usage_lib.explorer.state import Explorer, View
from usage_lib.explorer.widget import download

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "e2e-token"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def _browser_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = "no Chromium: install Debian's chromium package (.ci/run does)"
    if os.environ.get("USAGE_E2E_REQUIRED"):
        pytest.fail(reason)  # CI installs it: a missing browser there is a failure
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`usage-report lab` as an analyst starts it, on a working copy of the notebooks."""
    _browser_or_skip()
    root = tmp_path_factory.mktemp("lab")
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    command = [str(Path(sys.executable).with_name("usage-report")), "lab",
               "--notebooks", str(root / "notebooks"), "--",
               "--no-browser", f"--port={port}", f"--IdentityProvider.token={TOKEN}"]  # fmt: skip
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, (root / "lab.log").read_text()
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_explorer_in_jupyterlab(lab: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(f"{lab}/?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        assert page.url.endswith("/lab/tree/explore.ipynb")  # it opens on the explorer
        page.get_by_text("usage-lib | Idle").wait_for(timeout=90_000)  # the kernel is up
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_selector("table.usage-explorer", timeout=240_000)
        except Exception:
            page.screenshot(path=str(tmp_path / "failed.png"))
            outputs = page.locator(".jp-OutputArea-output").all_text_contents()
            pytest.fail(f"no explorer table; the notebook's outputs: {outputs}")
        assert page.get_by_text("official Jupyter news").count() == 0  # no news question

        page.locator(".widget-dropdown", has_text="Range").locator("select").select_option(
            label="Last 30 days"
        )
        page.wait_for_function(
            "() => document.querySelector('table.usage-explorer th:nth-child(2)')"
            ".textContent.includes('–')",
            timeout=30_000,
        )
        org = page.locator("tr[data-kind=organization]").first
        org_id = org.get_attribute("data-id")
        org.click()
        page.wait_for_selector("tr[data-kind=agent]", timeout=30_000)
        shown = {
            row.locator("td").first.text_content(): row.locator("td").last.text_content()
            for row in page.locator("tr[data-kind=agent]").all()
        }
        with page.expect_download() as downloaded:
            page.locator("button[data-download=csv]").click()
        csv = Path(downloaded.value.path()).read_bytes()
        page.screenshot(path=str(tmp_path / "explorer.png"))
        browser.close()

    # The same view from the library, on the same database and day.
    explorer = Explorer(connect(quiet=True), as_of=date.fromisoformat(os.environ["USAGE_AS_OF"]))
    view = explorer.show(View("last_30_days", org=org_id))
    assert view.agents is not None and org_id == view.platform["id"][0]
    assert shown == {r["name"]: f"{r['total']:,}" for r in view.agents.iter_rows(named=True)}
    _, _, expected = download(view, "csv")
    assert pl.read_csv(csv, infer_schema=False).equals(pl.read_csv(expected, infer_schema=False))
