"""hub/xlsx.py: every exported cell reads back as the text or number written, and no cell is ever a formula."""

from __future__ import annotations

import io

import openpyxl
from hypothesis import given, settings, strategies as st

from hub.xlsx import FORMULA_STARTS, Sheet, neutral, workbook

cells = st.one_of(st.none(), st.integers(-10**9, 10**9), st.text(max_size=40).map(lambda t: t.replace("\x00", "")),
                  st.sampled_from(["=1+1", "+7", "-cmd|' /C calc'!A0", "@SUM(A1)", "\t=2", "=HYPERLINK(\"x\")"]))


def read_back(data: bytes) -> list[list[object]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [[cell for cell in row] for row in book.active.iter_rows()]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(cells, min_size=2, max_size=2), max_size=6))
def test_ok__no_cell_is_a_formula_and_each_reads_back_as_neutral_made_it(rows):
    data = workbook([Sheet("Danh sách", ["Họ tên", "=header"], rows, (20, 10))])
    back = read_back(data)
    assert [c.value for c in back[0]] == ["Họ tên", "'=header"]
    for written, row in zip(rows, back[1:]):
        for value, cell in zip(written, row):
            assert cell.data_type != "f"
            expected = neutral(value)
            assert (cell.value if cell.value is not None else "") == expected
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_STARTS)


def test_ok__numbers_stay_numbers_and_a_long_title_is_cut_to_excels_limit():
    back = openpyxl.load_workbook(io.BytesIO(workbook([Sheet("x" * 40, ["n"], [[12], [3.5]])])))
    assert back.active.title == "x" * 31
    assert [row[0].value for row in back.active.iter_rows(min_row=2)] == [12, 3.5]
