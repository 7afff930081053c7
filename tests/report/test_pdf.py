"""The pack and the statements as PDF, read as a reader would: pypdf's text of the pages."""

import io
import json
import re
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import oracle
import pytest
from pymongo import MongoClient
from pypdf import PdfReader

from usage_lib.paths import EXAMPLE_CONFIG
from usage_lib.report import pdf

HOSTILE = '<b>Evil & "Co"</b><script>alert(1)</script>'
FOOTER = pdf.Footer(
    "Usage report, Oct 2026", 'status 1000, "quoted" \\ rule', "2026-11-01T00:00:00+00:00"
)


def pages_text(data: bytes | Path) -> list[str]:
    reader = PdfReader(io.BytesIO(data) if isinstance(data, bytes) else data)
    return [page.extract_text() for page in reader.pages]


def assert_footer_on_every_page(pages: list[str], title: str, as_of: str) -> None:
    for n, page in enumerate(pages, 1):
        assert title in page and "status 1000" in page, n
        assert f"Data as of {as_of}" in page, n
        assert re.search(rf"page\s*{n} of {len(pages)}\b", page), (n, page[-200:])


def test_a_hostile_name_is_text_and_every_page_has_the_footer(tmp_path: Path) -> None:
    from html import escape

    rows = "".join(f"<tr><td>{escape(HOSTILE)} {i}</td><td>{i:,}</td></tr>" for i in range(400))
    html = (
        f"<html><body><h1>{escape(HOSTILE)}</h1><table><thead><tr><th>Organization</th>"
        f"<th>Conversations</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    )
    (tmp_path / "index.html").write_text(html)
    data = pdf.pack_pdf(tmp_path, ["index.html"], FOOTER, "Letter")
    pages = pages_text(data)
    assert len(pages) > 3
    assert HOSTILE in pages[0]  # the name as it is, not markup
    assert_footer_on_every_page(pages, "Usage report, Oct 2026", FOOTER.data_as_of)
    assert all(p.count("Organization Conversations") == 1 for p in pages)  # the header repeats
    size = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert (round(float(size.width)), round(float(size.height))) == (612, 792)  # Letter


def test_pages_are_joined_with_links_inside_and_report_css_alone() -> None:
    """The pages' own stylesheets are left out (report.css styles the paper); each inline
    style becomes a class shared by the elements that had it, the rest of the tag as it was."""
    style = "<style>p{color:red}</style>"
    cell = '<td style="padding:3px;text-align:right;">1</td>'
    page = (
        f"<html><head>{style}</head><body class='x'><p>one</p><table><tr>{cell}"
        f"<td class=\"n\" id=q style='padding:3px;text-align:right'>2</td>"
        '<td style="color:red}x{color:blue">3</td></tr></table>'
        '<svg><rect style="fill:red"/></svg></body></html>'
    )
    index = '<html><body><a href="1_a.html">A</a><a href="tables/t.csv">t</a></body></html>'
    joined = pdf.joined([("index.html", index), ("1_a.html", page), ("2_b.html", page)], "T")
    assert style not in joined and joined.count('class="pdf-sheet"') == 3
    assert '<html class="pdf-pack">' in joined
    assert 'href="#1_a"' in joined and 'href="tables/t.csv"' in joined
    assert "<div class='x'>" in joined
    assert joined.count('<td class="pdf-s0">1</td>') == 2  # one class for both pages
    assert joined.count('<td id=q class="n pdf-s0">2</td>') == 2
    assert ".pdf-s0 { padding:3px;text-align:right }" in joined
    assert joined.count('style="color:red}x{color:blue"') == 2  # it could leave its rule
    assert joined.count('<rect style="fill:red"/>') == 2  # an SVG is drawn with its own
    assert 'style="padding' not in joined


def test_an_inline_style_outweighs_report_css_as_on_the_page(tmp_path: Path) -> None:
    """Inline styles become classes with the weight they had: over report.css's rules (its
    tables are 8pt on paper), under its !important ones (a header cell wraps on paper
    whatever its page said)."""
    cell = "padding:3px 8px;white-space:nowrap;font-size:13px;"
    head = " ".join(["header"] * 60)
    rows = "".join(f'<tr><td style="{cell}">row{i}</td></tr>' for i in range(300))
    html = (
        f'<html><body><table><thead><tr><th style="{cell}">{head}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table><table><tr><td>plain</td></tr></table></body></html>"
    )
    (tmp_path / "index.html").write_text(html)
    reader = PdfReader(io.BytesIO(pdf.pack_pdf(tmp_path, ["index.html"], FOOTER, "A4")))
    sizes: dict[str, float] = {}
    for page in reader.pages:
        page.extract_text(
            visitor_text=lambda t, cm, tm, font, size: sizes.setdefault(t.strip(), size)
        )
    assert round(sizes["row0"]) == 13 and round(sizes["plain"] * 0.75) == 8  # px; 8pt
    first = reader.pages[0].extract_text()
    assert first.startswith("header") and "header\nheader" in first  # wrapped
    assert len(reader.pages) > 2


def test_the_footer_is_one_css_string_whatever_it_says() -> None:
    css = pdf.page_css(pdf.Footer('a "b"\nc', "x\\y", "t"), "A4")
    assert 'content: "a \\"b\\" c · x\\\\y"' in css and "size: A4" in css


def test_no_weasyprint_is_one_line_of_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as if not installed
    (tmp_path / "index.html").write_text("<p>x</p>")
    with pytest.raises(pdf.PdfUnavailable) as caught:
        pdf.pack_pdf(tmp_path, ["index.html"], FOOTER, "A4")
    assert "WeasyPrint is not available" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_pack_pdf_equals_the_oracle(pack: Path, read_only: Any) -> None:
    """The headline and every listed organization's total, as text, equal the independent
    count; the footer is on every page."""
    uri, docs, excluded = read_only
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["pdf"] == "usage-report-2026-10.pdf" and manifest["pdf_note"] == ""
    pages = pages_text(pack / manifest["pdf"])
    assert_footer_on_every_page(pages, "Usage report, Oct 2026", manifest["data_as_of"])
    text = "".join("".join(pages).split())  # whitespace gone: wrapped cells join again
    expected = oracle.counts(
        docs, date(2026, 5, 1), date(2026, 10, 31), "UTC", "month", set(excluded)
    )
    month = sum(b.get("2026-10", 0) for b in expected.values())
    assert f"Billableconversations{month:,}" in text
    with MongoClient(uri) as client:
        names = {str(o["_id"]): o["name"] for o in client.get_database().organizations.find()}
    listed = 0
    for org, buckets in expected.items():
        name = names.get(org)
        if name is None:
            continue
        cells = [buckets.get(f"2026-{m:02d}", 0) for m in range(5, 11)]
        row = "".join(f"{n:,}" if n else "–" for n in cells) + f"{sum(cells):,}"
        assert "".join(name.split()) + row in text, (name, row)
        listed += 1
    assert listed >= 5


def test_without_weasyprint_the_html_pack_is_made_with_one_line_why(
    read_only: Any, tmp_path: Path
) -> None:
    uri, _, _ = read_only
    env = {"PATH": "/usr/bin:/bin", "USAGE_MONGODB_URI": uri, "USAGE_CONFIG": str(EXAMPLE_CONFIG)}
    code = (
        "import sys; sys.modules['weasyprint'] = None\n"  # a machine without it
        "from usage_lib.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--month", "2026-10", "--out", str(tmp_path)],
        env={**env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    why = [line for line in done.stderr.splitlines() if "PDF" in line]
    assert len(why) == 1 and "WeasyPrint is not available" in why[0], done.stderr
    folder = tmp_path / "2026-10"
    assert (folder / "index.html").exists() and not list(folder.glob("*.pdf"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["pdf"] == "" and "WeasyPrint" in manifest["pdf_note"]
    eml = (folder / "usage-report-2026-10.eml").read_text()
    assert "usage-report-2026-10.zip" in eml and "application/pdf" not in eml
    assert "There is no PDF this month" in eml


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the linker's cache is Linux's")
@pytest.mark.parametrize(
    ("case", "setup"),
    [
        ("the linker's cache", ""),
        ("no ldconfig", "pdf._linker_cache = lambda: ''"),
        ("a first try that fails", "sys.modules['weasyprint.text.ffi'] = None"),
    ],
)
def test_weasyprint_is_imported_without_a_compiler_run(case: str, setup: str) -> None:
    """Its libraries come from one `ldconfig -p`, not from ctypes' search (gcc and ld for
    each name WeasyPrint tries); without it, or if that fails, the usual search, quietly."""
    code = (
        "import ctypes.util, sys\n"
        "from usage_lib.report import pdf\n"
        "searched = []\n"
        "usual = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda name: searched.append(name) or usual(name)\n"
        f"{setup}\n"
        "assert pdf._weasyprint().HTML\n"
        "print(len(searched))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.split() == [done.stdout.split()[-1]], done.stdout  # nothing else said
    searched = int(done.stdout.split()[-1])
    assert (searched == 0) == (case == "the linker's cache"), searched


def test_warming_loads_weasyprint_and_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the pack can do in a thread while its notebooks run; a machine without
    WeasyPrint hears about it when the PDF is made, not here."""
    pdf.warm()
    assert "weasyprint" in sys.modules
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    pdf.warm()


def test_the_quiet_import_leaves_what_other_threads_print(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The pack imports WeasyPrint in a thread while the main one prints its progress: only
    the importing thread's output (WeasyPrint's banner on a failed try) is dropped."""
    stream = sys.stdout
    entered, printed = threading.Event(), threading.Event()

    def importing() -> None:
        with pdf._quiet_in_this_thread():
            print("WeasyPrint's banner")
            entered.set()
            printed.wait(10)

    thread = threading.Thread(target=importing)
    thread.start()
    assert entered.wait(10)
    print("Running 1_platform.ipynb ...")  # the main thread, while the other is quiet
    printed.set()
    thread.join(10)
    assert capsys.readouterr().out == "Running 1_platform.ipynb ...\n"
    assert sys.stdout is stream
