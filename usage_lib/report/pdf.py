"""The pack and the statements as PDF: WeasyPrint over the very HTML the pages are.

One source for screen and paper. The PDF is not drawn again from the figures: it is the
pack's own pages (the front page, then each notebook page in the pack's order) joined into
one document and laid out with the print rules of templates/report/report.css (`@page`, the
running footer, tables that repeat their header and never cut a row). So it cannot disagree
with the pages: it is them. A statement's PDF is its statement.html the same way.

WeasyPrint needs only Pango. It is imported here, when a PDF is made, and a machine where it
is missing or fails gets `PdfUnavailable` with the reason in one line: the caller writes the
HTML pack anyway and says why there is no PDF.

What keeps it fast (WeasyPrint's time grows with rules x elements and with elements whose
style is their own):
- The pack's document carries none of the pages' stylesheets. A notebook page's export
  holds JupyterLab's (some 260 kB, thousands of rules WeasyPrint would try on every
  element); report.css alone styles the paper, with the few rules of JupyterLab's that
  reach a report page (its first section, marked `pdf-pack`).
- Every inline `style="..."` becomes a class, one per distinct style, in the document's
  own stylesheet: where every table cell had a style of its own to parse and compute,
  cells alike share one. The rules keep the weight inline styles had: they are the
  document's (author) rules and report.css is given as the user's, so they win over
  report.css except where it says !important, as inline styles did.
- WeasyPrint is imported with its libraries found from the linker's cache: left to
  itself, it asks ctypes for names that do not exist and ctypes runs gcc and ld for each
  (about 15 child processes, the better part of a second). `warm()` pays for the import
  and the first document's set-up ahead, in a thread while other work runs.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path
from typing import Any

from usage_lib.paths import TEMPLATES

STYLESHEET = TEMPLATES / "report" / "report.css"
_STYLE = re.compile(r"<style\b[^>]*>.*?</style>", re.S | re.I)
_BODY = re.compile(r"<body\b([^>]*)>(.*)</body>", re.S | re.I)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)
_PAGE_LINK = re.compile(r'href="([A-Za-z0-9_.-]+)\.html"')
_ATTR = re.compile(  # one attribute of a start tag, and its value however quoted
    r"""\s+(?P<name>[^\s"'<>/=]+)"""
    r"""(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'=<>`]+)))?"""
)
_TAG = re.compile(rf"<(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>(?:{_ATTR.pattern})*)(?P<end>\s*/?)>")
_SVG = re.compile(r"<svg\b.*?</svg\s*>", re.S | re.I)  # drawn apart: its styles stay inline
_NOT_A_DECLARATION = re.compile(r"[{}<>@\\]|/\*")  # left inline: it could leave its rule
PACK_CLASS = "pdf-pack"  # on the pack document's <html>: report.css's notebook rules


class PdfUnavailable(Exception):
    """No PDF was made: WeasyPrint is missing or failed. str() is the reason, one line."""


@dataclass(frozen=True)
class Footer:
    """What every page's footer says besides "page N of M"."""

    title: str  # "Usage report, Oct 2026" or "Usage statement, Oct 2026"
    rule: str  # the billing rule in one line
    data_as_of: str


def _css_string(text: str) -> str:
    """A CSS string literal: quotes and backslashes escaped, one line."""
    one_line = " ".join(text.split())
    return '"' + one_line.replace("\\", "\\\\").replace('"', '\\"') + '"'


def page_css(footer: Footer, paper: str) -> str:
    """The page box: its size and the running footer (the rest of the print rules are in
    report.css, shared with the screen)."""
    left = _css_string(f"{footer.title} · {footer.rule}")
    right = _css_string(f"Data as of {footer.data_as_of} ·")
    return (  # \a0: a space that stays before the counter
        f"@page {{ size: {paper}; "
        f"@bottom-left {{ content: {left}; }} "
        f'@bottom-right {{ content: {right} " page\\a0" counter(page) " of " counter(pages); }} }}'
    )


def _stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8") if STYLESHEET.exists() else ""


def joined(pages: Sequence[tuple[str, str]], title: str) -> str:
    """One HTML document of several pages (name, HTML), each starting on a new sheet: each
    body as it was (its attributes on a <div>), links between them turned into links inside
    the document, inline styles turned into shared classes. The pages' own stylesheets are
    left out: report.css styles the PDF (see the module's note)."""
    bodies: list[str] = []
    names = {name.removesuffix(".html") for name, _ in pages}
    classes: dict[str, str] = {}
    for name, html in pages:
        found = _BODY.search(html)
        attrs, body = (found.group(1), found.group(2)) if found else ("", html)
        body = _PAGE_LINK.sub(
            lambda m: f'href="#{m.group(1)}"' if m.group(1) in names else m.group(0), body
        )
        stem = escape(name.removesuffix(".html"))
        page = _classed(f"<div{attrs}>{_STYLE.sub('', body)}</div>", classes)
        bodies.append(f'<section class="pdf-sheet" id="{stem}">{page}</section>')
    return (
        f'<!DOCTYPE html><html class="{PACK_CLASS}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_class_rules(classes)}</style></head>"
        f"<body>{''.join(bodies)}</body></html>"
    )


def _classed(html: str, classes: dict[str, str]) -> str:
    """`html` with each inline style that is only declarations moved to a class, named in
    `classes` (declarations -> class name, shared across calls); inside an <svg>, which
    WeasyPrint draws with its own styles only, they stay."""

    def tag(found: re.Match[str]) -> str:
        attrs = list(_ATTR.finditer(found["attrs"]))
        style = _attribute(attrs, "style")
        declarations = "" if style is None else unescape(_value(style)).strip().rstrip(";")
        if not declarations or _NOT_A_DECLARATION.search(declarations):
            return found.group(0)
        name = classes.setdefault(declarations, f"pdf-s{len(classes)}")
        given = _attribute(attrs, "class")
        names = name if given is None else f"{unescape(_value(given))} {name}"
        kept = "".join(a.group(0) for a in attrs if a is not style and a is not given)
        return f'<{found["tag"]}{kept} class="{escape(names)}"{found["end"]}>'

    kept, at = [], 0
    for svg in _SVG.finditer(html):
        kept += [_TAG.sub(tag, html[at : svg.start()]), svg.group(0)]
        at = svg.end()
    return "".join([*kept, _TAG.sub(tag, html[at:])])


def _attribute(attrs: list[re.Match[str]], name: str) -> re.Match[str] | None:
    return next((a for a in attrs if a.group("name").lower() == name), None)  # the first


def _value(attr: re.Match[str]) -> str:
    return next((v for v in attr.group("dq", "sq", "bare") if v is not None), "")


def _class_rules(classes: dict[str, str]) -> str:
    return "\n".join(f".{name} {{ {declarations} }}" for declarations, name in classes.items())


def title_of(html: str) -> str:
    found = _TITLE.search(html)
    return found.group(1).strip() if found else ""


def _weasyprint() -> Any:
    try:
        if "weasyprint" not in sys.modules and sys.platform.startswith("linux"):
            try:  # quietly: on failure WeasyPrint prints a banner before it raises
                with _libraries_from_ldconfig(), _quiet_in_this_thread():
                    import weasyprint
            except Exception:  # the linker's cache did not know them: the usual search
                for name in [m for m in sys.modules if m.partition(".")[0] == "weasyprint"]:
                    del sys.modules[name]
        import weasyprint
    except Exception as exc:  # missing, or Pango not found (OSError)
        raise PdfUnavailable(_reason("WeasyPrint is not available", exc)) from None
    return weasyprint


class _ThreadFilter:
    """A stream that drops what one thread writes and passes on what the others do."""

    def __init__(self, stream: Any, thread: int) -> None:
        self._stream, self._thread = stream, thread

    def write(self, text: str) -> int:
        return len(text) if threading.get_ident() == self._thread else self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _quiet_in_this_thread() -> Iterator[None]:
    """What this thread prints is dropped, not what the others print: the pack imports
    WeasyPrint in a thread (`warm`) while the main one prints its progress, so
    `contextlib.redirect_stdout`, which swaps the stream for every thread, would eat it."""
    previous = sys.stdout
    sys.stdout = quiet = _ThreadFilter(previous, threading.get_ident())  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.stdout is quiet:  # not if another thread has since set a stream of its own
            sys.stdout = previous


_ABI = {  # ldconfig's name for this machine's libraries, as ctypes.util has it
    "x86_64-64": "libc6,x86-64",
    "ppc64-64": "libc6,64bit",
    "sparc64-64": "libc6,64bit",
    "s390x-64": "libc6,64bit",
    "ia64-64": "libc6,IA-64",
}


@contextlib.contextmanager
def _libraries_from_ldconfig() -> Iterator[None]:
    """ctypes.util.find_library answered from one reading of the linker's cache (then
    LD_LIBRARY_PATH) while WeasyPrint is imported: a name neither knows is not there, with
    no gcc and ld run to say so."""
    import ctypes.util

    listing = _linker_cache()
    abi = _ABI.get(f"{os.uname().machine}-{struct.calcsize('l') * 8}", "libc6")
    folders = [Path(d) for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]

    def find(name: str) -> str | None:
        pattern = rf"^\s+(lib{re.escape(name)}\.so\S*)\s+\({re.escape(abi)}"
        if found := re.search(pattern, listing, re.M):
            return found.group(1)
        return next((str(f) for d in folders for f in sorted(d.glob(f"lib{name}.so*"))), None)

    original = ctypes.util.find_library
    if listing:
        ctypes.util.find_library = find
    try:
        yield
    finally:
        ctypes.util.find_library = original


def _linker_cache() -> str:
    """`ldconfig -p`: the libraries the dynamic linker knows; "" where there is none."""
    try:
        return subprocess.run(
            ["ldconfig", "-p"],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C", "PATH": f"/sbin:/usr/sbin:{os.defpath}"},
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _reason(what: str, exc: BaseException) -> str:
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return f"{what} ({type(exc).__name__}: {detail})"


def render(html: str, footer: Footer, paper: str, base: Path) -> bytes:
    """The PDF of `html` (relative links and images from `base`), with report.css and the
    page box. Raises PdfUnavailable."""
    weasyprint = _weasyprint()
    try:
        css = [weasyprint.CSS(string=_stylesheet()), weasyprint.CSS(string=page_css(footer, paper))]
        document = weasyprint.HTML(string=html, base_url=str(base.resolve()) + "/")
        with _collector_paused():
            return bytes(document.write_pdf(stylesheets=css))
    except Exception as exc:  # a layout or font failure: the HTML pack stands without it
        raise PdfUnavailable(_reason("WeasyPrint failed", exc)) from None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a while: WeasyPrint makes millions of objects, and
    the collector would walk them (and the rest of the heap) again and again, for little
    garbage to find."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def pack_pdf(folder: Path, pages: Sequence[str], footer: Footer, paper: str) -> bytes:
    """The pack as one PDF: `pages` (file names in `folder`, the front page first) in order."""
    read = [(name, (folder / name).read_text(encoding="utf-8")) for name in pages]
    return render(joined(read, footer.title), footer, paper, folder)


def statement_pdf(folder: Path, footer: Footer, paper: str) -> bytes:
    """A customer's statement.html as PDF: its own page, nothing added but the footer."""
    html = (folder / "statement.html").read_text(encoding="utf-8")
    return render(html, footer, paper, folder)


def warm() -> None:
    """WeasyPrint loaded, with what its first document costs beyond the document (its C
    types, the fonts' configuration): a caller can pay that in a thread while other work
    runs, as the pack can while its notebooks run. Never raises: a failure is the PDF's to
    report, when one is made."""
    sample = "<h1>Warm</h1><p>warm</p><table><tr><th>a</th><td>1</td></tr></table>"
    with contextlib.suppress(Exception):  # the pack's stylesheets and fonts, parsed and found
        render(sample, Footer("", "", ""), "A4", Path.cwd())
