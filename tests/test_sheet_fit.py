"""Column widths, wrapping and number formats fitted in the sheet model."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.core.sheets import (
    _ABSENT,
    CELL_PADDING,
    DATE_FORMAT,
    MONEY_FORMAT,
    Column,
    SheetModel,
    _shown_texts,
    display_text,
    money_format,
    text_lines,
    text_width,
    wrap_words,
)


def test_wide_characters_count_double():
    assert text_width("北京科技") == 2 * text_width("0000")
    assert text_width("Ärger") > text_width("arger") - 0.5  # accents are letters, not marks
    assert text_width("e\u0301") == text_width("e")  # a combining mark takes no room


def test_money_takes_each_rows_currency_decimals():
    model = SheetModel(
        "S",
        (Column("Currency"), Column("Amount", MONEY_FORMAT)),
        rows=[
            ("HUF", Decimal("18986177")),
            ("EUR", Decimal("1.50")),
            ("JPY", Decimal("1200")),
            ("KWD", Decimal("1.250")),
        ],
        currency_column=0,
    )
    assert [model.format_of(i, 1) for i in range(4)] == ["#,##0", "#,##0.00", "#,##0", "#,##0.000"]
    assert money_format("XYZ1") == MONEY_FORMAT  # not a code: two decimals


def test_long_text_wraps_within_its_cap_and_rows_grow():
    why = "EUR 41,038.96 overdue, oldest 120 days; broken promise on 27 Oct 2026; at legal"
    model = SheetModel(
        "S",
        (Column("Customer", None, 26), Column("Why", None, 30)),
        rows=[("北京科技有限公司", why), ("Acme", "short")],
    )
    customer, reason = model.columns
    assert not customer.wrap and customer.width >= text_width("北京科技有限公司")
    assert reason.wrap and reason.width == 30
    heights = model.row_heights()
    assert heights[0] is not None and heights[0] >= 3 * 15 and heights[1] is None


headers = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZéöő北京"),
    min_size=1,
    max_size=40,
).filter(str.strip)
numbers = st.one_of(
    st.integers(-(10**12), 10**12),
    st.decimals(-(10**10), 10**10, places=2, allow_nan=False),
    st.dates(date(1990, 1, 1), date(2100, 1, 1)),
)


@settings(max_examples=60, deadline=None)
@given(
    header=headers,
    cap=st.floats(2, 60),
    values=st.lists(numbers, min_size=1, max_size=8),
    fmt=st.sampled_from([MONEY_FORMAT, "0", "#,##0", "0.0", "yyyy-mm-dd", None]),
    table=st.booleans(),
)
def test_no_header_word_is_clipped_and_no_number_shows_hashes(header, cap, values, fmt, table):
    model = SheetModel(
        "S", (Column(header, fmt, cap),), rows=[(v,) for v in values], as_table=table
    )
    column = model.columns[0]
    padding = CELL_PADDING + (2.0 if table else 0.0)
    for word in header.split():
        assert text_width(word, True) + padding <= column.width + 1e-9
    lines = wrap_words(header, column.width - padding, True)
    assert len(lines) <= model.header_lines
    for value in values:
        assert text_width(display_text(value, fmt)) + CELL_PADDING <= column.width + 1e-9


_cell = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.integers(-(10**20), 10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.decimals(allow_nan=True, allow_infinity=True).filter(lambda d: not d.is_snan()),
    st.sampled_from([Decimal("-0"), Decimal("0.00"), Decimal("-0.000"), Decimal("1E+3")]),
    st.floats(allow_nan=True),
    st.booleans(),
    st.dates(),
)
_formats = st.sampled_from([None, "0", "#,##0", MONEY_FORMAT, "#,##0.000", "0.0%", DATE_FORMAT])


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(["one kind", "mixed"]),
    cells=st.lists(_cell, max_size=25),
    pick=st.integers(0, 8),
    shared=st.booleans(),
    formats=st.lists(_formats, min_size=25, max_size=25),
    absent=st.lists(st.booleans(), min_size=25, max_size=25),
)
def test_shown_texts_are_what_each_cell_shows(kind, cells, pick, shared, formats, absent):
    if kind == "one kind" and cells:  # a column of one kind of value, with blanks
        model = next((c for c in cells[pick % len(cells) :] + cells if c is not None), None)
        cells = [
            c if c is None or type(c) is type(model) else None for c in cells
        ]  # keeps the chosen kind only
    values = [
        _ABSENT if gone and i % 3 == 0 else c
        for i, (c, gone) in enumerate(zip(cells, absent[: len(cells)], strict=True))
    ]
    per_cell = formats[0] if shared else formats[: len(values)]
    expected = {
        display_text(value, per_cell if shared else per_cell[i])
        for i, value in enumerate(values)
        if value is not _ABSENT
    }
    assert _shown_texts(values, per_cell) == expected


_wrapped_text = st.text(
    st.sampled_from("aaaa0123 AIlm.,W-\nÄé北\u0301_"), min_size=0, max_size=60
) | st.sampled_from(["Dear 12 34 overdue", "Dear 98 76 overdue", " lead", "two  spaces"])


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_wrapped_text, st.one_of(_wrapped_text, st.none(), st.integers())),
        min_size=1,
        max_size=30,
    ),
    caps=st.tuples(st.floats(3, 30), st.floats(3, 30)),
)
def test_row_heights_are_each_rows_tallest_wrapped_text(rows, caps):
    model = SheetModel(
        "S", (Column("Why", None, caps[0]), Column("Note", None, caps[1])), rows=rows
    )
    wrapped = [(i, c.width - CELL_PADDING) for i, c in enumerate(model.columns) if c.wrap]
    expected = []
    for row in rows:
        lines = max(
            (
                text_lines(row[i], width)
                for i, width in wrapped
                if isinstance(row[i], str) and row[i]
            ),
            default=1,
        )
        expected.append(lines * 15.0 if lines > 1 else None)
    assert model.row_heights() == expected
