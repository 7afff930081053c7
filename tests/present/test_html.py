from datetime import date

import polars as pl
from support import billable_cube

from usage_lib.core.tables import platform_table
from usage_lib.figures.checks import Finding
from usage_lib.present import html as render

A, B = "a" * 24, "b" * 24
ROWS = [
    (A, "Alpha <Labs> & Co", "a1", "Bot One", date(2026, 1, 4), 1200),
    (A, "Alpha <Labs> & Co", "unattributed", "Unattributed", date(2026, 2, 4), 3),
    (B, "Beta", "b1", "Bot Two", date(2026, 2, 9), 5),
]
CUBE = billable_cube(ROWS, date(2026, 1, 1), date(2026, 2, 28), "status 1000")


def test_numbers_use_separators_and_a_dash_for_zero() -> None:
    assert [render.number(v) for v in (0, None, 5, 1200, 2.5)] == ["–", "–", "5", "1,200", "2.5"]
    assert render.percent(0.1234) == "12.3%" and render.percent(-0.25, signed=True) == "-25%"


def test_usage_table_has_month_headers_dashes_and_totals() -> None:
    html = render.usage_table(platform_table(CUBE, "month"), CUBE, "month")
    assert ">Jan 2026<" in html and ">Feb 2026<" in html and ">Total<" in html
    assert ">1,203<" in html and ">1,208<" in html  # Alpha's total; the grand total
    assert "Alpha &lt;Labs&gt; &amp; Co" in html and "<Labs>" not in html


def test_agent_sections_escape_names_and_explain_unattributed() -> None:
    html = render.agent_sections(CUBE)
    assert html.index("Alpha &lt;Labs&gt;") < html.index("<h3>Beta</h3>")  # sorted by total
    assert "<Labs>" not in html
    assert html.count("Unattributed: human-only conversations") == 1  # only Alpha has any
    assert "has no billable conversations" in render.agent_sections(CUBE, "c" * 24)
    assert "<h3>Beta</h3>" in render.agent_sections(
        CUBE, B.upper()
    ) and "Alpha" not in render.agent_sections(CUBE, B)


def test_findings_show_each_title_sentence_and_detail() -> None:
    items = [
        Finding(
            "First <check>",
            "One thing found.",
            pl.DataFrame({"organization": ["Beta"], "share": [0.5]}),
            True,
        ),
        Finding(
            "Second", "Nothing found.", pl.DataFrame(schema={"organization": pl.String}), False
        ),
    ]
    html = render.findings(items)
    assert (
        "<h3>First &lt;check&gt;</h3>" in html and "One thing found." in html and ">50.0%<" in html
    )
    # nothing to list: the sentence says so, with no "None." table under it
    assert "<h3>Second</h3>" in html and "Nothing found." in html and ">None.<" not in html


def test_zero_is_never_signed() -> None:
    assert render.formatted("{:+.1f}", -0.04) == "0.0"
    assert render.formatted("{:+.1f}", 0.0) == "0.0"
    assert render.formatted("{:+,}", 0) == "0"
    assert render.formatted("{:+.1f}", -0.3) == "-0.3"
    assert render.percent(-0.001, signed=True) == "0%"


def test_column_headings_are_words() -> None:
    assert render.heading("first_month") == "First month"
    html = render.frame_table(pl.DataFrame({"first_month": ["x"], "conversations": [3]}))
    assert ">First month<" in html and ">Conversations<" in html


def test_a_long_name_is_shortened_with_its_full_text_in_title() -> None:
    html = render.short_name("Brightside Insurance Group", 12)
    assert html == '<span title="Brightside Insurance Group">Brightside…</span>'
    assert render.short_name("Short", 12) == "Short"
