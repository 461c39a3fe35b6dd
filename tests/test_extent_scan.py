"""The quick bound of a sheet part's span is the same as listing every cell's reference.

The reader bounds a sheet's span before calamine allocates it (see ``receivables.reader``),
and notes whether its row numbers rise from each row to the next.
Its quick scan skips listing the cells of a block once no cell in it can add a column
letter; this property compares it, streamed and over a part's whole text, with the plain
listing of every cell (the scan as it was written first) on generated sheet parts, read
in blocks small enough that rows, cells and tags fall across block boundaries.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables import reader
from receivables.core.xlref import column_number


def _listed_bound(stream) -> tuple[int, int, bool] | None:
    """Reference: every row and cell reference listed, block by block."""
    max_row, letters, carry, numbers = 0, set(), b"", []
    first = True
    while chunk := stream.read(reader._CHUNK):
        buffer = carry + chunk
        if first and reader._PREFIXED_ROOT.search(buffer[:4096]):
            return None
        first = False
        cut = buffer.rfind(b">") + 1
        view = buffer[:cut]
        rows = reader._QUICK_ROW_REFS.findall(view)
        cells = set(reader._QUICK_CELL_COLUMNS.findall(view))
        if b"" in cells or (rows and b"" in rows):
            return None
        numbers += map(int, rows)
        letters.update(cells)
        carry = buffer[cut:]
        if len(carry) > 16 * reader._CHUNK:
            return None
    rising = all(earlier < later for earlier, later in zip(numbers, numbers[1:], strict=False))
    max_row = max(numbers, default=0)
    return max_row, max((column_number(c.decode()) for c in letters), default=0), rising


_COLUMNS = st.sampled_from(["A", "B", "C", "O", "Z", "AA", "AB", "XFD"])
# The shapes cell tags take in real files and in crafted ones.
_CELL_SHAPES = st.sampled_from(
    [
        '<c r="{col}{row}"><v>1</v></c>',
        '<c r="{col}{row}" t="s"><v>0</v></c>',
        '<c r="{col}{row}" s="3"/>',
        '<c s="1" r="{col}{row}"><v>2</v></c>',
        '<c\tr="{col}{row}"><v>3</v></c>',
        "<c><v>4</v></c>",
        "<c/>",
        '<col min="1" max="3" width="9"/>',
        '<cfRule type="x"/>',
    ]
)


@st.composite
def sheet_parts(draw) -> bytes:
    """A worksheet part of a few rows of generated cells."""
    rows = []
    count = draw(st.integers(1, 12))
    # Rows in order, mostly; now and then one out of order or repeated.
    numbers = draw(
        st.one_of(
            st.just(list(range(1, count + 1))),
            st.lists(st.integers(1, 15), min_size=count, max_size=count),
        )
    )
    for number in numbers:
        cells = "".join(
            draw(_CELL_SHAPES).format(col=draw(_COLUMNS), row=number)
            for _ in range(draw(st.integers(0, 6)))
        )
        row_tag = draw(
            st.sampled_from([f'<row r="{number}">', "<row>", f'<row r="{number}" ht="15">'])
        )
        rows.append(f"{row_tag}{cells}</row>")
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(rows)}</sheetData></worksheet>"
    ).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(part=sheet_parts(), block=st.integers(16, 200))
def test_the_quick_bound_equals_listing_every_cell(part, block):
    saved = reader._CHUNK
    reader._CHUNK = block
    try:
        quick = reader._quick_xml_bound(io.BytesIO(part))
        listed = _listed_bound(io.BytesIO(part))
        from_text = reader._quick_text_bound(part)
    finally:
        reader._CHUNK = saved
    assert quick == listed
    assert from_text == listed


def test_a_far_column_in_a_late_block_still_counts():
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>1</v></c></row>' for n in range(1, 2000))
    late = '<row r="2000"><c r="XFD2000"><v>1</v></c></row>'
    part = f"<worksheet><sheetData>{rows}{late}</sheetData></worksheet>".encode()
    assert reader._quick_xml_bound(io.BytesIO(part)) == (2000, 16384, True)
