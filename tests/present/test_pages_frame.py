"""Every exported page is a page of one report: titled and linked (usage_lib.execute)."""

from pathlib import Path

from usage_lib.execute import frame_of, report_name


def test_every_page_is_titled_and_linked(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook

    pages = []
    for name, title in (("1_platform", "Platform usage"), ("2_agents", "Agents")):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(new_notebook(cells=[new_markdown_cell(f"# {title}\nText.")]), path)
        pages.append(path)
    frame = frame_of("2026-11", pages)
    assert report_name("2026-11") == "Usage report, Nov 2026"
    assert frame.nav == (
        ("index.html", "Summary"),
        ("1_platform.html", "Platform usage"),
        ("2_agents.html", "Agents"),
    )
    from usage_lib.execute import export_html

    html = export_html(pages[1], frame)
    assert "<title>Usage report, Nov 2026: Agents</title>" in html
    assert '<a href="index.html">Summary</a>' in html
    import re

    current = re.search(r"<a [^>]*aria-current=\"page\"[^>]*>([^<]*)</a>", html)
    assert current is not None and current.group(1) == "Agents"
    assert "@media print" in html  # the pack's stylesheet, inline
