"""Where the product finds its files and writes its output, installed or run from a checkout.

Installed (a wheel, pipx, `pip install .`): the report notebooks, the HTML template
and the example config are package data; packs go to ./reports under the current
folder (or USAGE_REPORTS_DIR, or --out); the demo database lives in the user's
cache folder. Run from the git checkout: the top-level notebooks/, reports/ and
.demo-db/, as analysts and nbval use them. The environment is read by the caller
(the command line) and passed in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
EXAMPLE_CONFIG = PACKAGE / "usage.example.toml"


def checkout() -> Path | None:
    """The project root when this package is imported from a git checkout (editable install)."""
    root = PACKAGE.parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root
    return None


def notebook_dir() -> Path:
    """The report notebooks: the checkout's notebooks/ (one source), or the wheel's copy."""
    root = checkout()
    return root / "notebooks" if root else PACKAGE / "notebooks"


def report_notebooks(folder: Path | None = None) -> list[Path]:
    """The pages of the monthly pack, in order: `N_name.ipynb`."""
    return sorted((folder or notebook_dir()).glob("[0-9]_*.ipynb"))


def reports_dir(env: Mapping[str, str] | None = None) -> Path:
    """USAGE_REPORTS_DIR, else the checkout's reports/, else ./reports."""
    env = os.environ if env is None else env
    if env.get("USAGE_REPORTS_DIR", "").strip():
        return Path(env["USAGE_REPORTS_DIR"].strip()).expanduser().absolute()
    root = checkout()
    return root / "reports" if root else Path.cwd() / "reports"


def demo_dir(env: Mapping[str, str] | None = None) -> Path:
    """USAGE_DEMO_DIR, else the checkout's .demo-db/, else the user's cache folder."""
    env = os.environ if env is None else env
    if env.get("USAGE_DEMO_DIR", "").strip():
        return Path(env["USAGE_DEMO_DIR"].strip()).expanduser().absolute()
    root = checkout()
    if root:
        return root / ".demo-db"
    cache = env.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache) / "usage-lib" / "demo-db"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The local store of days read: USAGE_CACHE_DIR, else $XDG_CACHE_HOME/usage-lib/days
    (~/.cache/usage-lib/days). Never the checkout: it holds customers' data."""
    env = os.environ if env is None else env
    if env.get("USAGE_CACHE_DIR", "").strip():
        return Path(env["USAGE_CACHE_DIR"].strip()).expanduser().absolute()
    cache = env.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache).expanduser().absolute() / "usage-lib" / "days"


def writable_folder(folder: Path, key: str) -> Path:
    """`folder` made absolute, created if missing, and checked to take files: a ConfigError
    naming `key` otherwise (a path under a file, a read-only or unwritable place)."""
    from usage_lib.errors import ConfigError

    folder = folder.expanduser().absolute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except FileExistsError:
        raise ConfigError(key, f"{folder} is a file, not a folder") from None
    except NotADirectoryError:
        raise ConfigError(key, f"{folder} is under a file, not a folder") from None
    except OSError as exc:
        raise ConfigError(key, f"{folder} cannot be written ({exc.strerror or exc})") from None
    return folder


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a reader sees the old file or the
    new one, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
