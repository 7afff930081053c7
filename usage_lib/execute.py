"""Execute the report notebooks with papermill, several at once, and export them to HTML.

Each notebook runs in a kernel of its own; up to `jobs` run at the same time (one
thread each, waiting on its kernel). Kernel start-up chatter goes to a log file
in the staging folder, never to the user's terminal or the cron log.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager

from usage_lib.errors import NotebookFailed
from usage_lib.paths import TEMPLATES

KERNEL = "usage-lib"


@dataclass(frozen=True)
class Page:
    html: str  # file name in the pack
    title: str
    execute_s: float
    export_s: float


class _QuietKernelManager(AsyncKernelManager):
    """A kernel started in `folder` (its working folder, given to the kernel process, never
    by changing this process's), its stdout and stderr (debugger and start-up warnings)
    going to `log_path`."""

    log_path: Path | None = None
    folder: Path | None = None

    async def _async_start_kernel(self, **kw: Any) -> None:
        if self.folder is not None:
            kw.setdefault("cwd", str(self.folder))
        if self.log_path is None:
            await super()._async_start_kernel(**kw)
            return
        with open(self.log_path, "ab") as handle:  # the kernel process keeps its own copy
            await super()._async_start_kernel(**{"stdout": handle, "stderr": handle, **kw})

    start_kernel = _async_start_kernel  # type: ignore[assignment]


def ensure_kernel() -> None:
    """Register this environment's Python as the `usage-lib` kernel if it is missing."""
    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=KERNEL, display_name="usage-lib", prefix=sys.prefix)


def title(notebook: Path) -> str:
    """The first line of the notebook's first cell, without the heading marks."""
    first = nbformat.read(notebook, as_version=4).cells[0].source.splitlines()[0]
    return first.lstrip("# ").strip()


@dataclass(frozen=True)
class Frame:
    """What makes an exported notebook a page of the pack: the report's name ("Usage report,
    Nov 2026"), the page's title, and the navigation bar (file name, label), index first."""

    report: str
    nav: tuple[tuple[str, str], ...] = ()

    def title(self, page: str) -> str:
        return f"{self.report}: {page}"


def report_name(month: str) -> str:
    """`Usage report, Oct 2026` for the month key 2026-10 (the name every page carries)."""
    from datetime import date

    try:
        year, m = (int(part) for part in month.split("-")[:2])
        return f"Usage report, {date(year, m, 1):%b %Y}"
    except ValueError:  # not a month key: the report's name alone
        return "Usage report"


def frame_of(month: str, notebooks: Sequence[Path]) -> Frame:
    """The pack's frame: the index, then each notebook's page, by their titles."""
    nav = [("index.html", "Summary")]
    nav += [(nb.with_suffix(".html").name, title(nb)) for nb in notebooks]
    return Frame(report_name(month), tuple(nav))


def export_html(notebook: Path, frame: Frame | None = None) -> str:
    """Inputs hidden; the template drops the CDN scripts, so the page is self-contained. With
    a `frame`, the page is titled as a page of the report and carries its navigation bar."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    node = nbformat.read(notebook, as_version=4)
    resources: dict[str, Any] = {}
    if frame is not None:
        page = notebook.with_suffix(".html").name
        node.metadata["title"] = frame.title(title(notebook))
        resources["report"] = {
            "name": frame.report,
            "nav": [(href, label, href == page) for href, label in frame.nav],
        }
    body, _ = exporter.from_notebook_node(node, resources=resources)
    return body


def run_notebooks(
    notebooks: Sequence[Path],
    staging: Path,
    parameters: Mapping[str, Any],
    jobs: int,
    log: Callable[[str], None],
) -> list[Page]:
    """Execute each notebook into `staging` with the same parameters and export its HTML page.

    Raises NotebookFailed for the first notebook (in order) that failed; the others finish.
    Every path is made absolute first: nothing here depends on this process's working
    folder, and nothing changes it (papermill's `cwd=` would, for every thread at once).
    """
    import papermill as pm  # slow to import: only when a pack is made

    for name in ("papermill", "traitlets", "nbclient"):  # what failed is said by the caller
        logging.getLogger(name).setLevel(logging.CRITICAL)
    ensure_kernel()
    staging = staging.absolute()
    notebooks = [nb.absolute() for nb in notebooks]
    kernel_log = staging / "kernels.log"
    frame = frame_of(str(parameters.get("month", "")), notebooks)

    class Manager(_QuietKernelManager):
        log_path = kernel_log
        folder = staging

    def one(source: Path) -> Page:
        executed = staging / source.name
        log(f"Running {source.name} ...")
        started = time.perf_counter()
        declared = pm.inspect_notebook(str(source))  # pass what the notebook declares
        try:
            pm.execute_notebook(
                str(source),
                str(executed),
                parameters={k: v for k, v in parameters.items() if k in declared},
                kernel_name=KERNEL,
                progress_bar=False,
                kernel_manager_class=Manager,
            )
        except pm.PapermillExecutionError as exc:
            raise NotebookFailed(executed, exc.ename, exc.evalue) from None
        executed_s = time.perf_counter() - started
        html = source.with_suffix(".html").name
        (staging / html).write_text(export_html(executed, frame), encoding="utf-8")
        export_s = time.perf_counter() - started - executed_s
        log(f"  {source.name}: ran in {executed_s:.1f} s, exported in {export_s:.1f} s")
        return Page(html, title(source), round(executed_s, 2), round(export_s, 2))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, nb) for nb in notebooks]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    kernel_log.unlink(missing_ok=True)  # kept only with a failed run's notebooks
    return [f.result() for f in futures]
