"""Charts: aggregated data only, the top organizations plus one 'All others' series, a PNG."""

from datetime import date

from support import billable_cube

from usage_lib.present.charts import OTHERS, adoption_chart, trend_chart, trend_data

ROWS = [
    (f"{i:024x}", f"Org {i}", "x", "X", date(2026, m, 2), 10 * i + m)
    for i in range(1, 9)
    for m in (1, 2, 3)
]
CUBE = billable_cube(ROWS, date(2026, 1, 1), date(2026, 3, 31))


def test_trend_data_keeps_the_top_and_sums_the_rest() -> None:
    data = trend_data(CUBE, top=3)
    assert sorted(set(data["series"])) == sorted(["Org 8", "Org 7", "Org 6", OTHERS])
    assert data.height == 3 * 4  # months x series: aggregated rows only
    others_jan = data.filter((data["series"] == OTHERS) & (data["month"] == "Jan 2026"))
    assert others_jan["conversations"].item() == sum(10 * i + 1 for i in range(1, 6))
    assert data["conversations"].sum() == sum(r[-1] for r in ROWS)


def test_trend_chart_is_a_png_with_a_description() -> None:
    chart = trend_chart(CUBE, top=3)
    assert chart.png(scale=1).startswith(b"\x89PNG\r\n\x1a\n")
    assert "Jan 2026 to Mar 2026" in chart.description and "Org 8" in chart.description
    bundle = chart._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    assert len(chart.chart.to_dict()["data"]["values"]) == 12  # no conversation rows inside


def test_adoption_chart_counts_active_organizations() -> None:
    values = adoption_chart(CUBE).chart.to_dict()["data"]["values"]
    organizations = [v["count"] for v in values if v["what"] == "Organizations"]
    assert organizations == [8, 8, 8]
