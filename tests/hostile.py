"""Builders of workbooks by hand, byte by byte: hostile inputs and minimal .ods files.

openpyxl cannot write the odd things an attacker (or an odd exporter) writes, so these
write the package parts directly.
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
)
LEDGER_HEADER = ("Customer", "Invoice", "Due Date", "Balance")


def _col(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell(ref: str, value) -> str:
    """An inline-string or numeric cell."""
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def sheet_xml(rows, extra_rows: str = "") -> str:
    """A worksheet part of ``rows`` (lists of values) plus raw row XML after them."""
    body = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(
            cell(f"{_col(c)}{r}", v) for c, v in enumerate(row, start=1) if v is not None
        )
        body.append(f'<row r="{r}">{cells}</row>')
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS_MAIN}">'
        f"<sheetData>{''.join(body)}{extra_rows}</sheetData></worksheet>"
    )


def ledger_rows(count: int = 3, as_of: date = date(2026, 10, 31)) -> list[list]:
    """A header and ``count`` overdue items (due dates as Excel serials)."""
    serial = (as_of - date(1899, 12, 30)).days
    rows = [list(LEDGER_HEADER)]
    rows += [[f"Customer {i}", f"INV-{i}", serial - 40 - i, 100.0 + i] for i in range(count)]
    return rows


def write_xlsx(
    path: Path,
    sheets: list[tuple[str, str]],
    shared_strings: str | None = None,
    extra_parts: dict[str, bytes] | None = None,
    compression=zipfile.ZIP_DEFLATED,
    compresslevel: int | None = None,
) -> Path:
    """An xlsx package of (sheet name, worksheet XML) parts, written part by part."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    if shared_strings is not None:
        overrides += (
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
    sheet_entries = "".join(
        f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _xml) in enumerate(sheets, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    if shared_strings is not None:
        rels += (
            '<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        )
    with zipfile.ZipFile(path, "w", compression, compresslevel=compresslevel) as archive:
        archive.writestr("[Content_Types].xml", CT_HEAD + overrides + "</Types>")
        archive.writestr(
            "_rels/.rels",
            (
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
                'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
        )
        archive.writestr(
            "xl/workbook.xml",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS_MAIN}" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f"<sheets>{sheet_entries}</sheets></workbook>"
            ),
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            (
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>'
            ),
        )
        for i, (_name, xml) in enumerate(sheets, start=1):
            if callable(xml):  # a writer of a part too large to build in memory
                with archive.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as sink:
                    xml(sink)
            else:
                archive.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        for name, data in (extra_parts or {}).items():
            archive.writestr(name, data)
    return path


def ods_cell(value) -> str:
    """An ODS table cell."""
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, str):
        return (
            '<table:table-cell office:value-type="string">'
            f"<text:p>{escape(value)}</text:p></table:table-cell>"
        )
    if isinstance(value, date):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}"/>'
        )
    return f'<table:table-cell office:value-type="float" office:value="{value}"/>'


def write_ods(path: Path, tables: list[tuple[str, list[list] | str]]) -> Path:
    """A minimal .ods of (table name, rows or raw table XML) that calamine reads."""
    body = []
    for name, rows in tables:
        inner = (
            rows
            if isinstance(rows, str)
            else "".join(
                "<table:table-row>" + "".join(ods_cell(v) for v in row) + "</table:table-row>"
                for row in rows
            )
        )
        body.append(f'<table:table table:name="{escape(name)}">{inner}</table:table>')
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{''.join(body)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
        'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
        'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
        'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
        'manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
    return path


# ---- hostile inputs for the bound test (each returns the path it wrote) ----------------------


def _random_text(rnd, size: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz") -> str:
    return "".join(rnd.choice(alphabet) for _ in range(size))


def unused_shared_strings(path: Path, megabytes: int = 12) -> Path:
    """A small ledger whose shared-string table holds ~``megabytes`` MB (compressed) of
    short random texts that no cell uses."""
    import random

    rnd = random.Random(7)
    count = megabytes * 600_000
    body = "".join(f"<si><t>{_random_text(rnd, 2)}</t></si>" for _ in range(count))
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS_MAIN}">{body}</sst>'
    return write_xlsx(path, [("AR", sheet_xml(ledger_rows()))], shared_strings=sst)


def long_inline_strings(path: Path, count: int = 20_000, length: int = 32_000) -> Path:
    """A ledger followed by ``count`` cells of ``length``-character inline texts, varied
    enough to stay under the zip-bomb ratio; the sheet part is streamed into the zip."""
    import random

    rnd = random.Random(3)
    blocks = [_random_text(rnd, 400) for _ in range(64)]
    text = "".join(rnd.choice(blocks) for _ in range(length // 400 + 1))[: length - 8]
    head, _sep, tail = sheet_xml(ledger_rows()).partition("</sheetData>")

    def write(sink) -> None:
        sink.write(head.encode())
        for row in range(10, 10 + count):
            sink.write(
                f'<row r="{row}"><c r="E{row}" t="inlineStr"><is><t>{text}{row:08d}'
                "</t></is></c></row>".encode()
            )
        sink.write(("</sheetData>" + tail).encode())

    return write_xlsx(path, [("AR", write)], compresslevel=1)


def repeated_ods_rows(path: Path, rows: int = 5_000_000) -> Path:
    """A ~1 KB .ods whose one item row is repeated ``rows`` times."""
    table = (
        "<table:table-row>"
        + "".join(ods_cell(v) for v in ("Customer", "Due Date", "Balance"))
        + "</table:table-row>"
        f'<table:table-row table:number-rows-repeated="{rows}">'
        + ods_cell("Acme")
        + ods_cell(date(2026, 1, 1))
        + ods_cell(5.0)
        + "</table:table-row>"
    )
    return write_ods(path, [("AR", table)])


def repeated_ods_text(path: Path, columns: int = 1_000, rows: int = 2_000) -> Path:
    """A small .ods whose one long text is repeated over ``rows`` x ``columns`` cells."""
    text = "x" * 30_000
    table = (
        "<table:table-row>"
        + "".join(ods_cell(v) for v in ("Customer", "Due Date", "Balance"))
        + "</table:table-row>"
        + "<table:table-row>"
        + ods_cell("Acme")
        + ods_cell(date(2026, 1, 1))
        + ods_cell(5.0)
        + "</table:table-row>"
        f'<table:table-row table:number-rows-repeated="{rows}">'
        f'<table:table-cell office:value-type="string" table:number-columns-repeated='
        f'"{columns}"><text:p>{text}</text:p></table:table-cell></table:table-row>'
    )
    return write_ods(path, [("AR", table)])


def repeated_shared_text(path: Path, cells: int = 200_000) -> Path:
    """A ledger with ``cells`` cells all referring to one 32,000-character shared text."""
    sst = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS_MAIN}">'
        f"<si><t>{'y' * 32_000}</t></si></sst>"
    )
    extra = "".join(
        f'<row r="{r}"><c r="F{r}" t="s"><v>0</v></c></row>' for r in range(10, 10 + cells)
    )
    return write_xlsx(path, [("AR", sheet_xml(ledger_rows(), extra))], shared_strings=sst)


def many_sheets(path: Path, count: int = 30_000) -> Path:
    """A ledger and ``count`` tiny sheets."""
    sheets = [("AR", sheet_xml(ledger_rows()))]
    sheets += [(f"S{i}", sheet_xml([["x"]])) for i in range(count)]
    return write_xlsx(path, sheets)


def many_entries(path: Path, count: int = 300_000) -> Path:
    """A ledger package with ``count`` extra one-byte parts."""
    return write_xlsx(
        path,
        [("AR", sheet_xml(ledger_rows()))],
        extra_parts={f"customXml/item{i}.bin": b"x" for i in range(count)},
    )


def absurd_terms(path: Path, terms: int = -99_999_999) -> Path:
    """A ledger whose one item has payment terms of ``terms`` days."""
    serial = (date(2026, 7, 1) - date(1899, 12, 30)).days
    rows = [
        ["Customer", "Invoice", "Invoice Date", "Terms", "Balance", "Address"],
        ["Acme", "I-1", serial, terms, 100.0, "1 Road"],
        ["Borde", "I-2", serial, 30, 50.0, "2 Road"],
    ]
    return write_xlsx(path, [("AR", sheet_xml(rows))])
