"""hub/charts.py, pure: any data (any text, any number) gives SVG that parses as XML, with a title, a description and
no style attribute nor script; no data gives a chart saying so; the bars' lengths follow the values."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st

from hub import charts
from hub.charts import Series

SVG = "{http://www.w3.org/2000/svg}"
KINDS = (charts.bars, charts.columns, charts.lines)
values = st.one_of(st.none(), st.integers(-10, 10**9), st.floats(allow_nan=True, allow_infinity=True))
labels = st.lists(st.text(max_size=40), max_size=40)


def parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg" and root.find(SVG + "title") is not None and root.find(SVG + "desc") is not None
    assert "style=" not in svg and "<script" not in svg.lower()
    return root


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(KINDS), rows=labels, data=st.lists(st.tuples(st.text(max_size=30), st.lists(values, max_size=45)),
                                                                 max_size=7), title=st.text(max_size=80))
def test_ok__any_data_renders_as_xml(kind, rows, data, title):
    svg = kind(rows, [Series(name, vals) for name, vals in data], title=title, empty="Không có số liệu", chart_id=title)
    parsed(svg)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("rows", "series"), [([], []), (["a", "b"], []), (["a"], [Series("x", [None])]),
                                              (["a"], [Series("x", [float("nan")])])])
def test_ok__no_data_says_so(kind, rows, series):
    svg = kind(rows, series, title="Số mũi tiêm", empty="Chưa có mũi tiêm nào.")
    root = parsed(svg)
    assert "empty" in root.get("class") and "Chưa có mũi tiêm nào." in svg and "<rect class=\"s1\"" not in svg


def test_ok__bars_are_as_long_as_their_values_and_hostile_text_stays_text():
    svg = charts.bars(["<b>Xã & Phường</b>", "Tân Lập"], [Series("Một mũi", [50, 100]), Series("Đủ mũi", [25, None])],
                      title='"đo"', empty="-", maximum=100, fmt=lambda v: f"{v:g} %", chart_id="c1")
    root = parsed(svg)
    widths = [float(r.get("width")) for r in root.iter(SVG + "rect") if r.get("class") in ("s1", "s2") and r.find(SVG + "title") is not None]
    assert widths[0] == pytest.approx(widths[2] / 2) and widths[1] == pytest.approx(widths[0] / 2) and widths[3] == 0
    assert "&lt;b&gt;Xã &amp; Phường&lt;/b&gt;" in svg and "50 %" in svg and "—" in svg
    assert root.get("aria-labelledby") == "c1-title c1-desc" and root.get("class") == "bars chart"


def test_ok__many_rows_go_in_two_panels():
    root = parsed(charts.bars([f"Xã {n}" for n in range(40)], [Series("x", list(range(40)))], title="t", empty="-"))
    xs = {float(t.get("x")) for t in root.iter(SVG + "text") if t.get("class") == "label"}
    assert len(xs) == 2


def test_ok__a_missing_value_breaks_the_line_and_the_axis_counts_whole_things():
    root = parsed(charts.lines(["1", "2", "3", "4", "5"], [Series("Trạm 1", [1, 2, None, 3, 3])], title="t", empty="-"))
    assert len(list(root.iter(SVG + "polyline"))) == 2 and len(list(root.iter(SVG + "circle"))) == 4
    ticks = [t.text for t in root.iter(SVG + "text") if t.get("class") == "tick"]
    assert ticks == ["0", "1", "2", "3"]


@pytest.mark.parametrize(("largest", "top", "step"), [(0, 1, 1), (3, 3, 1), (6, 6, 2), (37, 40, 10), (100, 100, 20),
                                                       (1234, 1500, 500)])
def test_ok__the_scale_reaches_the_largest_in_round_steps(largest, top, step):
    assert charts.scale(largest) == (top, step)
