"""The month's digest: one computation that the index page, the manifest and the email share."""

from datetime import date

from support import billable_cube

from usage_lib.report.digest import Digest, Figures

A, B = "a" * 24, "b" * 24
CUBE = billable_cube(
    [
        (A, "Alpha", "x", "X", date(2026, 1, 3), 40),
        (A, "Alpha", "x", "X", date(2026, 2, 3), 60),
        (B, "Beta", "y", "Y", date(2026, 2, 20), 15),
    ],
    date(2026, 1, 1),
    date(2026, 2, 28),
)


def test_figures_are_the_table_totals_and_the_headline() -> None:
    d = Digest.of(CUBE, "2026-02")
    assert d.headline.billable == 75 and d.headline.previous == 40
    assert d.headline.new_organizations == ("Beta",)
    assert d.figures().to_json() == {
        "bridge": {  # Alpha 40 -> 60, Beta new with 15
            "before": 40,
            "after": 75,
            "parts": {
                "new": {"tenants": 1, "change": 15},
                "lost": {"tenants": 0, "change": 0},
                "growth": {"tenants": 1, "change": 20},
                "decline": {"tenants": 0, "change": 0},
                "unchanged": {"tenants": 0, "change": 0},
            },
        },
        "alerts": None,  # no month watch given
        "rows": {"cube": 3, "organizations": 2},
        "billable": {"month": 75, "by_month": {"2026-01": 40, "2026-02": 75}, "total": 115},
    }
    assert Figures.from_json(d.figures().to_json()) == d.figures()
    assert d.figures().billable.by_month == {"2026-01": 40, "2026-02": 75}
    assert d.chart_png.startswith(b"\x89PNG") and "Alpha" in d.chart_description
    assert [f.title for f in d.findings][0] == "All test mode"


def test_the_index_is_the_front_page_the_month_before_the_rule() -> None:
    from usage_lib.report.pages import index_page

    html = index_page(Digest.of(CUBE, "2026-02"), [("1_platform.html", "Platform usage")])
    assert "<title>Usage report, Feb 2026</title>" in html
    order = [
        html.index(s)
        for s in (
            'class="report-nav"',  # the bar to every page
            "Billable conversations</div>",  # the headline cards
            "<h2>Trend</h2>",
            "data:image/png;base64,",
            "Billable conversations by organization",
            "Why the month moved",
            "<h2>Pages</h2>",
            'id="counting-rule"',  # the rule in full, at the foot
        )
    ]
    assert order == sorted(order)
    assert html.index("The counting rule in full") < html.index("Billable conversations</div>")
    assert "Counted: " in html[html.index('id="counting-rule"') :]
    assert "Counted: " not in html[: html.index('id="counting-rule"')]
    assert ".report-nav" in html  # the pack's stylesheet, inline
