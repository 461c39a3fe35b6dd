"""A big .xlsx sheet parsed in two halves at once reads exactly as one parse of it.

The reader cuts a big sheet's rows in two packages that calamine parses at the same time
(``receivables.reader._parse_in_halves``). These tests compare the halves, read back as
one grid, with calamine's whole parse: on generated workbooks (values of every kind,
gaps, halves of different widths, first rows cut by ``nrows``), on every sheet of the
corpus, and through ``open_workbook`` on a ledger big enough to be cut. Sheets that
cannot be cut safely (rows out of order, comments among the rows) are parsed whole.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import python_calamine as calamine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from receivables import reader

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "workbooks"


def whole(data: bytes, sheet: str, nrows: int | None = None) -> list[list]:
    """calamine's parse of the whole sheet, as the reader reads it."""
    book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=nrows)


def saved(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_VALUES = st.one_of(
    st.none(),
    st.text(alphabet="ab Zé&<>'\"", max_size=6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-(10**9), 10**9),
    st.booleans(),
    st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2090, 1, 1)),
)


@st.composite
def sheets(draw) -> tuple[bytes, int]:
    """An .xlsx workbook of one sheet "Data": rows of generated values, with empty rows
    and columns anywhere (the cut may fall next to a gap, or leave one half narrower)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    row = draw(st.integers(1, 4))
    for _ in range(draw(st.integers(2, 30))):
        start = draw(st.integers(1, 4))
        for offset, value in enumerate(draw(st.lists(_VALUES, min_size=1, max_size=7))):
            sheet.cell(row=row, column=start + offset, value=value)
        row += draw(st.sampled_from([1, 1, 1, 2, 5]))
    return saved(book), row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheet=sheets(), nrows=st.one_of(st.none(), st.integers(1, 40)))
def test_halves_read_as_the_whole_sheet(sheet, nrows):
    data, _rows = sheet
    halves = reader._parse_in_halves(data, "Data")
    expected = whole(data, "Data", nrows)
    if halves is None:  # nothing in one half: the caller parses the sheet whole
        return
    assert halves.to_python(nrows=nrows) == expected


def test_most_generated_sheets_are_cut():
    """The property above is not vacuous: a plain sheet of values is cut in two."""
    book = Workbook()
    for number in range(1, 41):
        book.active.append([f"C{number}", number * 1.5, datetime(2026, 1, number % 28 + 1)])
    data = saved(book)
    halves = reader._parse_in_halves(data, "Sheet")
    assert halves is not None
    assert halves.first.end[0] < halves.second.start[0]
    assert halves.to_python() == whole(data, "Sheet")


def _with_sheet_xml(data: bytes, edit) -> bytes:
    """The workbook ``data`` with its first sheet part's XML passed through ``edit``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = edit(content)
            target.writestr(info, content)
    return out.getvalue()


def _plain_book(rows: int) -> bytes:
    book = Workbook()
    for number in range(1, rows + 1):
        book.active.append([f"C{number}", number])
    return saved(book)


def _big_plain_book(folder: Path) -> Path:
    """A workbook of one sheet "Sheet" just big enough to be cut."""
    path = folder / "big.xlsx"
    path.write_bytes(_plain_book(reader._SPLIT_MIN_ROWS + 10))
    return path


def _prefetched_handle(opened: reader.OpenedWorkbook, sheet: str):
    """What the background parse of ``sheet`` made: halves, or calamine's whole sheet."""
    opened.prefetch(sheet)
    opened._pending[sheet].join()
    return opened._handles[sheet]


def test_a_sheet_with_a_comment_among_its_rows_is_not_cut():
    data = _with_sheet_xml(
        _plain_book(20), lambda xml: xml.replace(b'<row r="3"', b'<!-- </row> --><row r="3"')
    )
    assert reader._parse_in_halves(data, "Sheet") is None


def test_rows_out_of_order_are_not_cut(tmp_path):
    """The extent scan notes rows that do not rise; prefetch then parses them whole."""

    def swap(xml: bytes) -> bytes:
        swapped = xml.replace(b'<row r="2"', b'<row r="@"').replace(b'<row r="3"', b'<row r="2"')
        return swapped.replace(b'<row r="@"', b'<row r="3"')

    path = tmp_path / "unordered.xlsx"
    path.write_bytes(_with_sheet_xml(_plain_book(reader._SPLIT_MIN_ROWS + 10), swap))
    opened = reader.open_workbook(path)
    assert opened.extent("Sheet") == (reader._SPLIT_MIN_ROWS + 10, 2)
    assert "Sheet" not in opened._extents.rising_rows
    assert not isinstance(_prefetched_handle(opened, "Sheet"), reader._Halves)


def test_a_big_ledger_is_read_in_halves_as_one_read(tmp_path, monkeypatch):
    """Through open_workbook: the prefetched big sheet is cut, reads as the whole parse,
    and leaves no temporary file behind."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(["Customer", "Invoice", "Due Date", "Balance"])
    for number in range(reader._SPLIT_MIN_ROWS + 50):
        sheet.append([f"Customer {number % 97}", f"INV-{number}", datetime(2026, 3, 1), number / 4])
    path = tmp_path / "big.xlsx"
    book.save(path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(reader, "spare_core", lambda: True)  # however busy the machine

    opened = reader.open_workbook(path)
    assert isinstance(_prefetched_handle(opened, "Ledger"), reader._Halves)
    assert list(scratch.iterdir()) == []
    assert opened.grid("Ledger").rows == whole(path.read_bytes(), "Ledger")


def test_every_corpus_sheet_that_can_be_cut_reads_as_one_parse():
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is not available")
    compared = 0
    for path in sorted(CORPUS.rglob("*.xls[xm]")):
        data = path.read_bytes()
        try:
            names = [
                s.name
                for s in calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheets_metadata
            ]
        except BaseException:  # the corpus holds broken files on purpose
            continue
        for name in names[:40]:  # one file has 1,024 sheets alike: 40 tell as much
            try:
                expected = whole(data, name)
            except BaseException:
                continue
            halves = reader._parse_in_halves(data, name)
            if halves is not None:
                assert halves.to_python() == expected, f"{path.name}!{name}"
                compared += 1
    assert compared >= 20


def test_without_a_usable_temporary_folder_the_sheet_is_parsed_whole(tmp_path, monkeypatch):
    path = _big_plain_book(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    monkeypatch.setattr(reader, "spare_core", lambda: True)
    opened = reader.open_workbook(path)
    assert not isinstance(_prefetched_handle(opened, "Sheet"), reader._Halves)
    assert opened.grid("Sheet").rows == whole(path.read_bytes(), "Sheet")


def test_without_a_spare_core_the_sheet_is_parsed_whole(tmp_path, monkeypatch):
    """On a busy machine (or in a batch run's worker) the halves would only take turns."""
    path = _big_plain_book(tmp_path)
    monkeypatch.setattr(reader, "spare_core", lambda: False)
    opened = reader.open_workbook(path)
    assert not isinstance(_prefetched_handle(opened, "Sheet"), reader._Halves)
