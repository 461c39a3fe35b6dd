"""Streaming the stage cells into a ledger sheet: the bulk path writes what the row-by-row
path writes, for plain sheets and odd ones (prefixed tags, rows without ``r``, spans,
self-closing rows, stage cells of an earlier run, chunk boundaries anywhere)."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from receivables.core.sheets import StageColumns
from receivables.core.xlref import column_letter
from receivables.xlsx import splice

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
LABELS = ("Days Overdue", "Bucket", "Stage", "Next Action")
STAGES = [("1-30", "Reminder", "Send reminder"), ("31-60", "Final notice", "Call"), ("", "", "")]
FILLS = ["FFC7CE", "FFEB9C", None]


def _styles(edit: StageColumns) -> dict:
    styles = {(-1, None): 1}
    for number, fill in enumerate(dict.fromkeys([None, *edit.fills.values()]), start=2):
        for index in range(4):
            styles[(index, fill)] = number * 10 + index
    return styles


def _stream(xml: bytes, edit: StageColumns, chunk: int, monkeypatch, bulk: bool) -> bytes:
    with monkeypatch.context() as patch:
        patch.setattr(splice, "CHUNK", chunk)
        if not bulk:
            patch.setattr(splice._RowEditor, "rewrite_block", lambda self, *args: None)
        sink = io.BytesIO()
        splice.stream_stage_columns(io.BytesIO(xml), sink, edit, _styles(edit))
        return sink.getvalue()


def _sheet(rows: list[str], prefix: str) -> bytes:
    p = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns:{prefix}" if prefix else "xmlns"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}worksheet {xmlns}="{NS}">'
        f'<{p}dimension ref="A1:C9"/><{p}sheetData>{"".join(rows)}</{p}sheetData>'
        f"</{p}worksheet>"
    ).encode()


_row = st.fixed_dictionaries(
    {
        "gap": st.sampled_from([1, 1, 1, 2]),
        "numbered": st.sampled_from([True, True, True, False]),
        "number_first": st.sampled_from([True, True, False]),
        "spans": st.booleans(),
        "padded": st.sampled_from([False, False, False, True]),
        "self_closing": st.sampled_from([False, False, False, True]),
        "after": st.sampled_from(["", "", "\n  "]),
        "columns": st.lists(st.integers(1, 30), max_size=4),
        "unnumbered_cell": st.sampled_from([False, False, True]),
        "staged": st.sampled_from([True, True, False]),
        "stage": st.integers(0, len(STAGES) - 1),
        "fill": st.integers(0, len(FILLS) - 1),
    }
)


def _build(specs: list[dict], prefix: str, start_column: int) -> tuple[bytes, StageColumns]:
    """A sheet of the rows ``specs`` describe, and the stage columns for it."""
    p = f"{prefix}:" if prefix else ""
    rows, cells, fills = [], {}, {}
    number = 0
    for spec in specs:
        number += spec["gap"]
        attributes = []
        if spec["spans"]:
            attributes.append('spans="1:3"')
        if spec["numbered"]:
            position = 0 if spec["number_first"] else len(attributes)
            padding = "0" if spec["padded"] else ""  # r="07" is row 7 too
            attributes.insert(position, f'r="{padding}{number}"')
        else:
            number = number - spec["gap"] + 1  # a row without r follows the previous one
        if not spec["numbered"] and not spec["number_first"]:
            attributes.append('ht="20" customHeight="1"')
        tag = f"<{p}row " + " ".join(attributes) if attributes else f"<{p}row"
        content = "".join(
            f'<{p}c r="{column_letter(column)}{number}"><{p}v>{column}</{p}v></{p}c>'
            for column in sorted(set(spec["columns"]))
        )
        if spec["unnumbered_cell"]:
            content += f"<{p}c><{p}v>7</{p}v></{p}c>"
        if spec["self_closing"]:
            rows.append(f"{tag}/>{spec['after']}")
        else:
            rows.append(f"{tag}>{content}</{p}row>{spec['after']}")
        if spec["staged"]:
            bucket, stage, action = STAGES[spec["stage"]]
            cells[number] = (number * 3 - 20, bucket, stage, action)
            if FILLS[spec["fill"]]:
                fills[number] = FILLS[spec["fill"]]
    edit = StageColumns(
        sheet="Ledger",
        header_row=1,
        start_column=start_column,
        labels=LABELS,
        cells=cells,
        fills=fills,
    )
    return _sheet(rows, prefix), edit


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(_row, max_size=30),
    prefix=st.sampled_from(["", "", "x"]),
    start_column=st.sampled_from([2, 4, 26, 27, 30]),
    chunk=st.sampled_from([40, 97, 512, 4 * 1024 * 1024]),
)
def test_bulk_rows_match_row_by_row(specs, prefix, start_column, chunk, monkeypatch):
    # monkeypatch is only used through monkeypatch.context(), undone after each example.
    xml, edit = _build(specs, prefix, start_column)
    bulk = _stream(xml, edit, chunk, monkeypatch, bulk=True)
    assert bulk == _stream(xml, edit, chunk, monkeypatch, bulk=False)
    etree.fromstring(bulk)  # well-formed


def test_plain_rows_take_the_bulk_path(monkeypatch):
    specs = [
        {
            "gap": 1,
            "numbered": True,
            "number_first": True,
            "spans": index % 2 == 0,
            "padded": False,
            "self_closing": False,
            "after": "",
            "columns": [1, 2, 3],
            "unnumbered_cell": False,
            "staged": index > 0,
            "stage": index % 3,
            "fill": index % 3,
        }
        for index in range(40)
    ]
    xml, edit = _build(specs, "", 4)
    results = []
    original = splice._RowEditor.rewrite_block

    def counted(self, *args):
        results.append(original(self, *args))
        return results[-1]

    monkeypatch.setattr(splice._RowEditor, "rewrite_block", counted)
    sink = io.BytesIO()
    splice.stream_stage_columns(io.BytesIO(xml), sink, edit, _styles(edit))
    assert results and all(result is not None for result in results)
    rows = etree.fromstring(sink.getvalue()).find(f"{{{NS}}}sheetData")
    header = [c.get("r") for c in rows[0]]
    assert header == ["A1", "B1", "C1", "D1", "E1", "F1", "G1"]
    assert [c.findtext(f".//{{{NS}}}t") for c in rows[0]][3:] == list(LABELS)
    for row in rows[1:]:
        number = int(row.get("r"))
        assert row.get("spans") is None  # the new cells would contradict it
        days, bucket, stage, action = edit.cells[number]
        cells = list(row)
        assert [c.get("r") for c in cells[3:]] == [f"{x}{number}" for x in "DEFG"]
        assert cells[3].findtext(f"{{{NS}}}v") == str(days)
        texts = [c.findtext(f".//{{{NS}}}t") for c in cells[4:]]
        assert texts == [t or None for t in (bucket, stage, action)]


# A part after sheetData holding elements named row of another namespace, closed by the
# sheet's own closer: no row of the sheet, left as it is.
_AFTER = (
    '<extLst><ext uri="{x}"><m:rows xmlns:m="urn:example" xmlns="urn:example">'
    '<row r="3"><c r="A3"/></row> <row r="4"></row></m:rows></ext></extLst>'
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(_row, max_size=12),
    start_column=st.sampled_from([2, 4, 27]),
    chunk=st.sampled_from([40, 97, 512, 4 * 1024 * 1024]),
    bulk=st.booleans(),
)
def test_rows_after_sheet_data_are_left_as_they_are(specs, start_column, chunk, bulk, monkeypatch):
    # monkeypatch is only used through monkeypatch.context(), undone after each example.
    xml, edit = _build(specs, "", start_column)
    plain = _stream(xml, edit, chunk, monkeypatch, bulk=bulk)
    extended = xml.replace(b"</sheetData>", b"</sheetData>" + _AFTER.encode())
    expected = plain.replace(b"</sheetData>", b"</sheetData>" + _AFTER.encode())
    assert _stream(extended, edit, chunk, monkeypatch, bulk=bulk) == expected
