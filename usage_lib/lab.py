"""JupyterLab on the notebooks (`usage-report lab`), opened on the explorer, with one
database shared by every kernel: the configured one, or the demo's server, which two
processes cannot open twice but share (`demo.server.SharedServer`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from usage_lib.core.source import Source
from usage_lib.errors import ConfigError
from usage_lib.execute import ensure_kernel
from usage_lib.paths import EXAMPLE_CONFIG, TEMPLATES, checkout, notebook_dir


def launch(source: Source, folder: Path, jupyter_args: Sequence[str] = ()) -> None:
    """Run `jupyter lab` on `folder` until it stops (Ctrl-C), its kernels on `source`."""
    ensure_kernel()
    env = dict(os.environ)
    if source.demo:
        env.update(
            USAGE_MONGODB_URI=source.config.mongodb_uri or "",
            USAGE_MONGODB_DB="tiledesk",
            USAGE_CONFIG=str(source.config.source or EXAMPLE_CONFIG),
        )
    # Opens on the explorer; no news-feed question (the announcements plugin is disabled by a
    # page_config.json on the config path, beside the analyst's own settings).
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(TEMPLATES / "jupyter"), *filter(None, [env.get("JUPYTER_CONFIG_PATH")])]
    )
    lab = Path(sys.executable).with_name("jupyter")
    command = [str(lab), "lab", "--notebook-dir", str(folder)]
    command += ["--allow-root"] if os.geteuid() == 0 else []  # containers and CI machines
    if (folder / "explore.ipynb").exists():
        command += ["--LabApp.default_url=/lab/tree/explore.ipynb"]
    command += [arg for arg in jupyter_args if arg != "--"]
    if checkout() is None or folder != notebook_dir():
        print(f"JupyterLab on {folder}", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(command, env=env, check=False)


def working_copy(folder: Path | None) -> Path:
    """The notebooks analysts open: the checkout's own, or a copy in `folder` (default
    ./usage-notebooks when installed) made once: files already there are never overwritten."""
    source = notebook_dir()
    if folder is None:
        if checkout() is not None:
            return source
        folder = Path.cwd() / "usage-notebooks"
    folder = folder.absolute()
    if folder.resolve() == source.resolve():
        return source
    if folder.exists() and not folder.is_dir():
        raise ConfigError("--notebooks", f"{folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(source.glob("*.ipynb")):
        if not (folder / notebook.name).exists():
            shutil.copyfile(notebook, folder / notebook.name)
    return folder
