"""The pack and the statements as PDF: WeasyPrint over the very HTML the pages are.

One source for screen and paper. The PDF is not drawn again from the figures: it is the
pack's own pages (the front page, then each notebook page in the pack's order) joined into
one document and laid out with the print rules of templates/report/report.css (`@page`, the
running footer, tables that repeat their header and never cut a row). So it cannot disagree
with the pages: it is them. A statement's PDF is its statement.html the same way.

WeasyPrint needs only Pango. It is imported here, when a PDF is made, and a machine where it
is missing or fails gets `PdfUnavailable` with the reason in one line: the caller writes the
HTML pack anyway and says why there is no PDF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from usage_lib.paths import TEMPLATES

STYLESHEET = TEMPLATES / "report" / "report.css"
_STYLE = re.compile(r"<style\b[^>]*>.*?</style>", re.S | re.I)
_LINK_CSS = re.compile(r"<link\b[^>]*stylesheet[^>]*>", re.S | re.I)
_BODY = re.compile(r"<body\b([^>]*)>(.*)</body>", re.S | re.I)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)
_PAGE_LINK = re.compile(r'href="([A-Za-z0-9_.-]+)\.html"')


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
    """One HTML document of several pages (name, HTML), each starting on a new sheet: their
    styles once each, each body as it was (its attributes on a <div>), links between them
    turned into links inside the document."""
    styles: list[str] = []
    bodies: list[str] = []
    names = {name.removesuffix(".html") for name, _ in pages}
    for name, html in pages:
        head, _, _ = html.partition("<body")
        for style in _STYLE.findall(head) + _LINK_CSS.findall(head):
            if style not in styles:
                styles.append(style)
        found = _BODY.search(html)
        attrs, body = (found.group(1), found.group(2)) if found else ("", html)
        body = _PAGE_LINK.sub(
            lambda m: f'href="#{m.group(1)}"' if m.group(1) in names else m.group(0), body
        )
        stem = escape(name.removesuffix(".html"))
        bodies.append(
            f'<section class="pdf-sheet" id="{stem}"><div{attrs}>{_STYLE.sub("", body)}</div>'
            "</section>"
        )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"{''.join(styles)}</head><body>{''.join(bodies)}</body></html>"
    )


def title_of(html: str) -> str:
    found = _TITLE.search(html)
    return found.group(1).strip() if found else ""


def _weasyprint() -> Any:
    try:
        import weasyprint
    except Exception as exc:  # missing, or Pango not found (OSError)
        raise PdfUnavailable(_reason("WeasyPrint is not available", exc)) from None
    return weasyprint


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
        return bytes(document.write_pdf(stylesheets=css))
    except Exception as exc:  # a layout or font failure: the HTML pack stands without it
        raise PdfUnavailable(_reason("WeasyPrint failed", exc)) from None


def pack_pdf(folder: Path, pages: Sequence[str], footer: Footer, paper: str) -> bytes:
    """The pack as one PDF: `pages` (file names in `folder`, the front page first) in order."""
    read = [(name, (folder / name).read_text(encoding="utf-8")) for name in pages]
    return render(joined(read, footer.title), footer, paper, folder)


def statement_pdf(folder: Path, footer: Footer, paper: str) -> bytes:
    """A customer's statement.html as PDF: its own page, nothing added but the footer."""
    html = (folder / "statement.html").read_text(encoding="utf-8")
    return render(html, footer, paper, folder)
