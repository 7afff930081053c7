"""The pictures of the README and the docs, made from the demo data (`make screenshots`).

`python tools/screenshots.py [--out DIR]` makes the demo pack of Oct 2026 and one explorer
view as a page in a temporary folder, with "today" pinned to 20 Nov 2026 (USAGE_AS_OF), so
that the pictures are the same on every machine, then photographs them with headless
Chromium (Debian's `chromium`):

- pack-index.png: the pack's front page (index.html);
- email.png: the month's email, the HTML part of usage-report-2026-10.eml with its inline
  chart;
- explorer.png: `usage-report page --last-days 30 --org <Cobalt Retail>`, the explorer's
  view with an organization opened, as one page.

They are written to docs/images/ (or --out). Bad input or a failed step: one line, exit 1.
"""

from __future__ import annotations

import argparse
import email
import os
import shutil
import subprocess
import sys
import tempfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20"  # the tests' day: the demo world whose last full month is Oct 2026
MONTH = "2026-10"
UNSET = ("USAGE_MONGODB_URI", "USAGE_CONFIG")  # the demo database, with the example config
ORG = "659200808f0be21124179c3d"  # Cobalt Retail, a demo customer with two agents
PICTURES = {  # name: window width, height (CSS pixels)
    "pack-index.png": (1000, 1560),  # the cards, the trend, the organizations and their total
    "email.png": (660, 1340),  # down to the organizations' total
    "explorer.png": (1040, 1340),  # the tables, an organization's agents, the chart
}


class Failed(Exception):
    """A step failed; str() is one line."""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise Failed("no Chromium: install Debian's chromium package (apt-get install chromium)")
    return found


def shoot(page: Path, png: Path, size: tuple[int, int], profile: Path) -> None:
    """A picture of `page` (a local HTML file) at window `size`, with no scroll bars."""
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={png}",
        page.as_uri(),
    ]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not png.is_file():
        raise Failed(f"chromium could not photograph {page.name}: {done.stderr.strip()[-300:]}")


def usage_report(*args: str, env: dict[str, str]) -> None:
    """Run usage-report of this environment; a failure is one line with the tail of its output."""
    program = Path(sys.executable).with_name("usage-report")
    done = subprocess.run([str(program), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise Failed(f"usage-report {args[0]} failed (exit {done.returncode}): {tail[0]}")


def no_cache() -> list[str]:
    """--no-cache where the commands offer it: read from the database, not a local store."""
    from usage_lib.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {f for a in sub.choices["page"]._actions for f in a.option_strings}
    return ["--no-cache"] if "--no-cache" in flags else []


def email_page(eml: Path, folder: Path) -> Path:
    """The message's HTML part as a page, its inline images (cid:) as files beside it."""
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("html",))
    if body is None:
        raise Failed(f"{eml.name} has no HTML part")
    html = body.get_content()
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            name = part.get_filename() or f"{cid.strip('<>')}.{part.get_content_subtype()}"
            (folder / name).write_bytes(part.get_content())
            html = html.replace(f"cid:{cid.strip('<>')}", name)
    page = folder / "email.html"
    page.write_text(html, encoding="utf-8")
    return page


def make(out: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="usage-screenshots-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        env.update(USAGE_AS_OF=AS_OF, USAGE_CACHE_DIR=str(work / "cache"))
        cache = no_cache()
        print(f"Making the demo pack of {MONTH} (as of {AS_OF}) ...", flush=True)
        usage_report(
            "run", "--demo", "--month", MONTH, "--out", str(work / "reports"), "--quiet", *cache,
            env=env,
        )  # fmt: skip
        print("Making the explorer's view as a page ...", flush=True)
        view = work / "view.html"
        usage_report(
            "page", "--demo", "--as-of", AS_OF, "--last-days", "30", "--org", ORG,
            "--out", str(view), "--quiet", *cache,
            env=env,
        )  # fmt: skip
        pack = work / "reports" / MONTH
        mail = work / "email"
        mail.mkdir()
        pages = {
            "pack-index.png": pack / "index.html",
            "email.png": email_page(pack / f"usage-report-{MONTH}.eml", mail),
            "explorer.png": view,
        }
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, page in pages.items():
            shoot(page, work / name, PICTURES[name], work / "chromium")
            shutil.copyfile(work / name, out / name)
            written.append(out / name)
            print(f"Wrote {out / name}", flush=True)
        return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/screenshots.py", description=__doc__)
    parser.add_argument(
        "--out", default=str(ROOT / "docs" / "images"), metavar="DIR", help="where the PNGs go"
    )
    args = parser.parse_args(argv)
    try:
        make(Path(args.out).absolute())
    except (Failed, OSError, subprocess.TimeoutExpired) as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
