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
    bundle, metadata = chart._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    assert metadata == {"image/png": {"width": 568}}  # shown at the width it is drawn for
    assert len(chart.chart.to_dict()["data"]["values"]) == 12  # no conversation rows inside


def test_adoption_chart_counts_active_organizations() -> None:
    values = adoption_chart(CUBE).chart.to_dict()["data"]["values"]
    organizations = [v["count"] for v in values if v["what"] == "Organizations"]
    assert organizations == [8, 8, 8]


def test_the_trend_chart_is_drawn_for_the_email_width() -> None:
    """568 CSS px in all, legend included, rendered at twice the pixels: 12 px text where the
    email shows it (not a 1,400 px image shrunk to 568)."""
    png = trend_chart(CUBE, top=3).png(scale=2)
    width = int.from_bytes(png[16:20], "big")
    assert width == 2 * 568


def test_a_partial_bucket_is_hollow_and_dashed_never_an_ordinary_point() -> None:
    import polars as pl

    from usage_lib.core.buckets import buckets
    from usage_lib.core.periods import DateRange
    from usage_lib.present.charts import view_chart

    bks = buckets(DateRange(date(2026, 10, 8), date(2026, 11, 19)), "week")  # Thu .. Thu
    table = pl.DataFrame({"name": ["Alpha"], **{b.key: [10] for b in bks}})
    chart = view_chart(table, bks, "week", "conversations", interactive=True)
    states = {v["bucket"]: v["state"] for v in chart.spec["data"]["values"]}
    assert states[bks[0].label] == states[bks[-1].label] == "partial"
    assert {states[b.label] for b in bks[1:-1]} == {"complete"}
    assert "partial" in chart.description
    assert any(t["field"] == "state" for t in chart.spec["encoding"]["tooltip"])
    assert chart.png(scale=1).startswith(b"\x89PNG")
