"""Read the "Excel" files that ERPs and accounting packages export but that are not Excel.

Three formats, each read into plain rows of Python values, one :class:`SheetGrid` per
sheet, and handed on through :class:`TextWorkbook`, which offers the reader's
:class:`~receivables.reader.OpenedWorkbook` interface (``sheets``, ``grid()``, ``kind``),
so the rest of the pipeline cannot tell them from a workbook. The output is always a new
``.xlsx`` holding the values (``is_ooxml`` is False).

* **Delimited text** (``.csv``, ``.tsv``, ``.txt``): the encoding is detected
  (UTF-8 with or without BOM, UTF-16 by its BOM or its zero bytes, else
  charset-normalizer chooses among cp1252, GB18030 and the rest); the delimiter is the one
  of ``,`` ``;`` tab ``|`` that splits the first lines into the most consistent number
  of fields; quoted fields follow RFC 4180 (Python's csv module). Numbers written with
  the file's decimal mark (decided once per file from its unambiguous numbers: ``12,50``
  or ``1.234,56`` mean a decimal comma) become numbers; everything else stays text,
  including codes with leading zeros (``00123``) and dates, which the core reads.
* **HTML tables** saved with an ``.xls`` name (what many ERPs call "Export to Excel"):
  parsed by lxml's HTML parser with network access off; every ``<table>`` row, in
  document order, with ``colspan``/``rowspan`` cells placed as Excel places them; the
  headings and paragraphs above the first table become title rows (an "As of" date).
* **SpreadsheetML 2003** (``<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">``,
  ``.xml`` or ``.xls``): parsed by lxml with entities, DTDs and the network off (a file
  declaring any is refused first); every ``<Worksheet>`` is a sheet, with ``ss:Index``
  gaps, ``ss:MergeAcross`` and typed ``<Data>`` (Number, DateTime, Boolean, String).

Every format is bounded: files above :data:`MAX_TEXT_BYTES` and sheets above the
reader's cell cap are refused with a message saying so.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .core.grid import SheetGrid
from .core.issues import InputError

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
XML_SUFFIXES = (".xml",)
# A receivables export of 100 MB is already ~1 million rows; beyond this the file is not
# a ledger, and reading it whole would only exhaust memory.
MAX_TEXT_BYTES = 100 * 1024**2
# The same span as the reader allows a sheet of a workbook (rows x columns).
MAX_CELLS = 12_000_000
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 60
_SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"


@dataclass(frozen=True)
class _Sheet:
    name: str
    visible: bool = True
    is_worksheet: bool = True


@dataclass
class TextWorkbook:
    """A non-workbook export read into sheets of values, used like an OpenedWorkbook."""

    path: Path
    kind: str  # "csv", "html" or "spreadsheetml"
    grids: tuple[SheetGrid, ...]
    description: str = ""  # e.g. "UTF-8 text, ';' delimited, decimal comma"
    data: bytes = b""
    date1904: bool = False
    decrypted: bool = False
    has_macros: bool = False
    sheets: tuple[_Sheet, ...] = field(default=())

    def __post_init__(self) -> None:
        """List the grids as worksheets, all visible."""
        self.sheets = tuple(_Sheet(grid.name) for grid in self.grids)

    @property
    def is_ooxml(self) -> bool:
        """Always False: the output is a new package built from the values."""
        return False

    def grid(self, sheet: str, nrows: int | None = None) -> SheetGrid:
        """The values of ``sheet`` (its first ``nrows`` rows when given)."""
        for grid in self.grids:
            if grid.name == sheet:
                if nrows is None:
                    return grid
                return SheetGrid(name=grid.name, rows=grid.rows[:nrows], date1904=False)
        raise InputError(f"{self.path.name} has no sheet named '{sheet}'.")

    def extent(self, sheet: str) -> tuple[int, int] | None:
        """(rows, columns) of ``sheet``."""
        grid = self.grid(sheet)
        return len(grid.rows), max((len(r) for r in grid.rows), default=0)

    def check_extent(self, sheet: str) -> None:
        """Nothing to check: the size was bounded while reading."""

    def prefetch(self, sheet: str) -> None:
        """Nothing to do: the sheets are already read."""


# ----------------------------------------------------------------------------- sniffing


def sniff_kind(path: Path, data: bytes) -> str | None:
    """ "csv", "html" or "spreadsheetml" when ``data`` is one of these formats, else None.

    Decided by content, not name: an ``.xls`` holding HTML or SpreadsheetML is common.
    A text suffix (.csv/.tsv/.txt) with no markup is delimited text.
    """
    head = _decode_head(data[:4096]).lstrip("\ufeff \t\r\n").lower()
    if head.startswith("<?xml") or head.startswith("<workbook") or head.startswith("<ss:workbook"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in _decode_head(data[:65536]).lower():
            return "spreadsheetml"
        if "<html" in head or "<table" in head:
            return "html"
        return "xml"
    if head.startswith(
        ("<!doctype html", "<html", "<table", "<meta", "<head", "<body", "<style", "<!--")
    ) or (head.startswith("<") and "<table" in _decode_head(data[:65536]).lower()):
        return "html"
    if path.suffix.lower() in TEXT_SUFFIXES:
        return "csv"
    if path.suffix.lower() == ".xls" and _is_delimited_text(data[:65536]):
        # SAP's "unconverted" and many ERPs' "Excel" exports: tab-delimited text.
        return "csv"
    return None


def _is_delimited_text(head: bytes) -> bool:
    """Whether the start of a file is text whose lines split on one delimiter."""
    if not head or (
        b"\x00" in head
        and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        and head.count(b"\x00") < len(head) // 4
    ):
        return False
    text = decode_text(head)[0]
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
    if printable < len(text) * 0.95:
        return False
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    delimiter = sniff_delimiter(text, default="\t")
    return len(lines) >= 2 and sum(delimiter in line for line in lines) >= 2


def _decode_head(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    if len(data) > 3 and data[1:2] == b"\x00" and data[3:4] == b"\x00":
        return data.decode("utf-16-le", "replace")
    return data.decode("utf-8", "replace")


def open_text_workbook(path: Path, data: bytes, kind: str) -> TextWorkbook:
    """Read ``data`` (the bytes of ``path``) as ``kind``, or raise :class:`InputError`."""
    if len(data) > MAX_TEXT_BYTES:
        raise InputError(
            f"{path.name} is {len(data) / 1024**2:,.0f} MB, more than the "
            f"{MAX_TEXT_BYTES // 1024**2} MB this tool reads from a text, HTML or XML export. "
            "Export the open items only, or split the file."
        )
    if kind == "csv":
        return _read_delimited(path, data)
    if kind == "html":
        return _read_html(path, data)
    if kind == "spreadsheetml":
        return _read_spreadsheetml(path, data)
    raise InputError(
        f"{path.name} is an XML file but not an Excel 2003 XML workbook (SpreadsheetML); "
        "this tool reads no other XML."
    )


def _check_cells(path: Path, rows: Sequence[Sequence[object]]) -> None:
    width = max((len(r) for r in rows), default=0)
    if len(rows) * width > MAX_CELLS:
        raise InputError(
            f"{path.name} holds {len(rows):,} rows x {width:,} columns, more than the "
            f"{MAX_CELLS:,} cells this tool reads from one sheet."
        )


# ----------------------------------------------------------------------------- encoding


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a text file: BOMs first, then UTF-8, then detection."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "UTF-8 (BOM)"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace"), "UTF-16"
    sample = data[:4000]
    # UTF-16 without BOM: every other byte of ASCII text is zero.
    if len(sample) >= 4 and sample.count(b"\x00") > len(sample) // 4:
        little = sample[1::2].count(b"\x00") > sample[0::2].count(b"\x00")
        encoding = "utf-16-le" if little else "utf-16-be"
        return data.decode(encoding, "replace"), encoding.upper()
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # Western European exports (cp1252) and Chinese ones (GB18030) are the usual
    # non-UTF-8 files; detection weighs them first, then any other encoding.
    best = from_bytes(data[:1_000_000], cp_isolation=["cp1252", "gb18030", "cp1250"]).best()
    if best is None:
        best = from_bytes(data[:1_000_000]).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding == "cp1250" and _western_reading_wins(data[:1_000_000]):
        encoding = "cp1252"
    return data.decode(encoding, "replace"), encoding.upper().replace("_", "-")


# Letters of Western European words (cp1252) and of Central European ones (cp1250). The
# two code pages share most bytes; on a short export detection cannot tell them apart and
# read Spanish "Señor" (byte F1) as Polish "Seńor". The reading whose letters the
# languages use more often wins; a tie keeps cp1252, the usual Windows code page of exports.
_WESTERN = set("áéíóúñüöäßàèçâêôëïîœòùÿæøåÁÉÍÓÚÑÜÖÄÀÈÇÂÊÔËÏÎŒÒÙŸÆØÅ")
_CENTRAL = set("áéíóúöüäőűłąęśćźżńčřěšžůýťďňľĺŕăâîşţÁÉÍÓÚÖÜÄŐŰŁĄĘŚĆŹŻŃČŘĚŠŽŮÝŤĎŇĽĹŔĂÂÎŞŢ")


def _western_reading_wins(data: bytes) -> bool:
    """True when the bytes read as cp1252 give more Western letters than cp1250 gives Central."""
    try:
        western = data.decode("cp1252")
        central = data.decode("cp1250")
    except UnicodeDecodeError:
        return False
    return _letters_in_words(western, _WESTERN) >= _letters_in_words(central, _CENTRAL)


# A run of three or more letters: a word. A Western symbol such as "º" in "Nº", "ª" in
# "1ª" or "£" before an amount reads in cp1250 as a letter ("Nş", "1Ş", "Ł1"), but not as
# one inside a word, so only letters within words count as evidence.
_WORD = re.compile(r"[^\W\d_]{3,}")


def _letters_in_words(text: str, letters: set[str]) -> int:
    """How many characters of ``letters`` stand inside words of ``text``."""
    return sum(1 for word in _WORD.findall(text) for ch in word if ch in letters)


# ----------------------------------------------------------------------------- CSV


def _read_delimited(path: Path, data: bytes) -> TextWorkbook:
    text, encoding = decode_text(data)
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise InputError(f"{path.name} is not a text file (it holds binary data).")
    delimiter = sniff_delimiter(
        text, default="\t" if path.suffix.lower() in (".tsv", ".xls") else ","
    )
    # Excel writes "sep=;" as the first line to name the delimiter: honour and drop it.
    first, _, rest = text.partition("\n")
    if re.fullmatch(r"\s*sep=(.)\s*", first):
        delimiter = first.strip()[4]
        text = rest
    try:
        rows: list[list[object]] = [
            list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise InputError(f"{path.name} cannot be read as delimited text ({exc}).") from exc
    _check_cells(path, rows)
    comma = decimal_comma(rows, default=delimiter == ";")
    rows = [[_number(cell, comma) for cell in row] for row in rows]
    name = _sheet_name(path)
    shown = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}[delimiter]
    description = f"{encoding} text, {shown} delimited, decimal {'comma' if comma else 'point'}"
    return TextWorkbook(
        path=path, kind="csv", grids=(SheetGrid(name, rows),), description=description
    )


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The delimiter that splits the first lines into the most consistent field counts."""
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    if not lines:
        return default
    best, best_key = default, (0.0, 0)
    for delimiter in _DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        wide = [c for c in counts if c > 1]
        if not wide:
            continue
        mode = max(set(wide), key=wide.count)
        # Share of lines splitting into the commonest width (title lines do not), then
        # the width itself.
        key = (round(wide.count(mode) / len(counts), 2), mode)
        if key > best_key:
            best, best_key = delimiter, key
    return best


_COMMA_DECIMAL = re.compile(r"^[-+(]?\d{1,3}(?:[. \u00a0]\d{3})*,\d+\)?$|^[-+(]?\d+,\d{1,2}\)?$")
_POINT_DECIMAL = re.compile(r"^[-+(]?\d{1,3}(?:[, \u00a0]\d{3})*\.\d+\)?$|^[-+(]?\d+\.\d{1,2}\)?$")
_AMBIGUOUS = re.compile(r"^[-+]?\d{1,3}[.,]\d{3}$")


def decimal_comma(rows: Sequence[Sequence[object]], default: bool = False) -> bool:
    """Whether the file's numbers use a decimal comma (``1.234,56``, ``12,50``).

    Decided from the unambiguous numbers only (``1,234`` could be either); ties and
    files without such numbers get ``default`` (True for ';'-delimited files: that
    delimiter is chosen where the comma is the decimal mark).
    """
    comma = point = 0
    for row in rows[:5000]:
        for cell in row:
            if not isinstance(cell, str) or not cell or not cell[-1].isdigit() and cell[-1] != ")":
                continue
            text = cell.strip()
            if _AMBIGUOUS.match(text):
                continue
            if _COMMA_DECIMAL.match(text):
                comma += 1
            elif _POINT_DECIMAL.match(text):
                point += 1
    return comma > point if comma != point else default


_PLAIN_NUMBER = {
    False: re.compile(r"^(-)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$"),
    True: re.compile(r"^(-)?(\d{1,3}(?:\.\d{3})+|\d+)(,\d+)?$"),
}


def _number(cell: str, comma: bool) -> object:
    """A number written plainly with the file's decimal mark, as a float; else the text.

    Codes keep their text: leading zeros (``00123``), more than 15 digits (card and IBAN
    numbers), and anything with letters, signs after the number or currency symbols
    (the core reads those).
    """
    text = cell.strip()
    if not text or len(text) > 22 or not text[-1].isdigit():
        return cell
    match = _PLAIN_NUMBER[comma].match(text)
    if match is None:
        return cell
    sign, whole, fraction = match.groups()
    digits = whole.replace(",", "").replace(".", "")
    if (len(digits) > 1 and digits[0] == "0") or len(digits) + len(fraction or "") > 16:
        return cell
    number = float(f"{sign or ''}{digits}.{(fraction or '.0')[1:]}")
    return number


def _sheet_name(path: Path) -> str:
    # Excel names the sheet of a CSV after the file; sheet names hold 31 characters and
    # none of []:*?/\ .
    name = re.sub(r"[\[\]:*?/\\]", "_", path.stem).strip("'") or "Sheet1"
    return name[:31]


# ----------------------------------------------------------------------------- HTML


def _read_html(path: Path, data: bytes) -> TextWorkbook:
    from lxml import etree
    from lxml import html as lxml_html

    # No network, no external DTD; lxml's HTML parser never expands external entities.
    parser = lxml_html.HTMLParser(
        no_network=True, remove_comments=True, remove_pis=True, huge_tree=False, recover=True
    )
    try:
        root = lxml_html.document_fromstring(_html_text(data), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise InputError(f"{path.name} is an HTML file that cannot be read ({exc}).") from exc
    tables = [t for t in root.iter("table") if not any(a.tag == "table" for a in t.iterancestors())]
    if not tables:
        raise InputError(
            f"{path.name} is a web page (HTML), not a workbook, and holds no table to read."
        )
    rows: list[list[object]] = []
    first = tables[0]
    for element in root.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "caption"):
        if element.getparent() is not None and _before(element, first):
            text = _cell_text(element)
            if text:
                rows.append([text])
    for index, table in enumerate(tables):
        if index and rows:
            rows.append([])
        rows.extend(_table_rows(table))
        _check_cells(path, rows)
    _check_cells(path, rows)
    comma = decimal_comma(rows)
    rows = [[_number(c, comma) if isinstance(c, str) else c for c in row] for row in rows]
    return TextWorkbook(
        path=path,
        kind="html",
        grids=(SheetGrid(_sheet_name(path), rows),),
        description="HTML table",
    )


def _html_text(data: bytes) -> str:
    # The declared charset (meta tag) is honoured by decoding here: lxml would otherwise
    # guess from the bytes.
    head = data[:4096].decode("ascii", "replace").lower()
    declared = re.search(r"charset=[\"']?([a-z0-9_\-]+)", head)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return decode_text(data)[0].lstrip("\ufeff")
    if declared:
        try:
            return data.decode(declared.group(1), "replace")
        except LookupError:
            pass
    return decode_text(data)[0]


def _before(element, table) -> bool:
    """Whether ``element`` comes before ``table`` in the document (and is not inside it)."""
    for node in element.itersiblings():
        if node is table or table in node.iterdescendants():
            return True
    parent = element.getparent()
    return parent is not None and parent.tag != "html" and _before(parent, table)


def _cell_text(element) -> str:
    for br in element.iter("br"):
        br.tail = "\n" + (br.tail or "")
    text = "".join(element.itertext())
    lines = [" ".join(line.split()) for line in text.replace("\u00a0", " ").splitlines()]
    return "\n".join(line for line in lines if line)


def _table_rows(table) -> list[list[object]]:
    """The rows of one table, with spanned cells placed as Excel places merged cells."""
    rows: list[list[object]] = []
    pending: dict[tuple[int, int], bool] = {}  # (row, column) taken by a rowspan above
    for row_index, tr in enumerate(r for r in table.iter("tr") if _own_row(r, table)):
        row: list[object] = []
        column = 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while pending.pop((row_index, column), False):
                row.append("")
                column += 1
            row.append(_cell_text(cell))
            span = _span(cell.get("colspan"))
            down = _span(cell.get("rowspan"))
            for extra in range(1, span):
                row.append("")
                del extra
            for below in range(1, down):
                for offset in range(span):
                    pending[(row_index + below, column + offset)] = True
            column += span
        while pending.pop((row_index, column), False):
            row.append("")
            column += 1
        rows.append(row)
    return rows


def _own_row(tr, table) -> bool:
    return next((a for a in tr.iterancestors() if a.tag == "table"), None) is table


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


# ----------------------------------------------------------------------------- SpreadsheetML


_DECLARATION = re.compile(r"<!(?:DOCTYPE|ENTITY)\b", re.IGNORECASE)


def _read_spreadsheetml(path: Path, data: bytes) -> TextWorkbook:
    root = _spreadsheetml_root(path, data)
    ns = {"ss": _SPREADSHEET_NS}
    grids: list[SheetGrid] = []
    for number, sheet in enumerate(root.iterfind("ss:Worksheet", ns), start=1):
        name = sheet.get(f"{{{_SPREADSHEET_NS}}}Name") or f"Sheet{number}"
        grids.append(SheetGrid(name=name[:31], rows=_worksheet_rows(path, sheet, ns)))
    if not grids:
        raise InputError(f"{path.name} is an Excel 2003 XML workbook without worksheets.")
    return TextWorkbook(
        path=path,
        kind="spreadsheetml",
        grids=tuple(grids),
        description="Excel 2003 XML (SpreadsheetML)",
    )


def _spreadsheetml_root(path: Path, data: bytes):
    """The parsed XML of an Excel 2003 workbook; declarations (an XML bomb) and damaged
    XML are refused with InputError."""
    from lxml import etree

    text = _decode_head(data[:65536])
    if _DECLARATION.search(text) or _DECLARATION.search(_decode_head(data[-65536:])):
        raise InputError(
            f"{path.name} contains XML entity or DTD declarations (a known attack, 'XML "
            "bomb'); it was not expanded and the file is refused."
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(
            f"{path.name} is an Excel 2003 XML workbook that is damaged ({exc})."
        ) from exc


def _worksheet_rows(path: Path, sheet, ns: dict[str, str]) -> list[list[object]]:
    """The cells of one ``ss:Worksheet``, row by row, with the skipped rows and cells
    (``ss:Index``) and merged cells (``ss:MergeAcross``) as blanks; too many cells is
    an InputError."""
    rows: list[list[object]] = []
    table = sheet.find("ss:Table", ns)
    for row in table.iterfind("ss:Row", ns) if table is not None else ():
        index = _int(row.get(f"{{{_SPREADSHEET_NS}}}Index"))
        while index is not None and len(rows) < index - 1:
            rows.append([])
            if len(rows) > MAX_CELLS:
                break
        cells: list[object] = []
        for cell in row.iterfind("ss:Cell", ns):
            at = _int(cell.get(f"{{{_SPREADSHEET_NS}}}Index"))
            if at is not None and at - 1 > len(cells):
                if at > 16384:
                    break
                cells.extend([""] * (at - 1 - len(cells)))
            data_element = cell.find("ss:Data", ns)
            cells.append(_typed(data_element) if data_element is not None else "")
            across = _int(cell.get(f"{{{_SPREADSHEET_NS}}}MergeAcross")) or 0
            cells.extend([""] * min(across, 16384))
        rows.append(cells)
        if len(rows) % 10000 == 0:
            _check_cells(path, rows)
    _check_cells(path, rows)
    return rows


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _typed(element) -> object:
    kind = element.get(f"{{{_SPREADSHEET_NS}}}Type", "String")
    text = "".join(element.itertext())
    if kind == "Number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "DateTime":
        try:
            return datetime.fromisoformat(text.strip()[:19])
        except ValueError:
            return text
    if kind == "Boolean":
        return text.strip() in ("1", "true", "TRUE")
    return text


def looks_like_export(path: Path) -> bool:
    """Whether a ``.txt`` or ``.xml`` file in a batch folder is a ledger export.

    Notes (``readme.txt``) and other XML files lie beside monthly workbooks; they are
    left out of a batch rather than reported as failures. Other suffixes: always True.
    """
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".xml"):
        return True
    try:
        with path.open("rb") as stream:
            head = stream.read(65536)
    except OSError:
        return True  # let the run report what is wrong with it
    kind = sniff_kind(path, head)
    if suffix == ".xml":
        return kind == "spreadsheetml"
    if kind != "csv":
        return kind == "html"
    text = decode_text(head)[0]
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    delimiter = sniff_delimiter(text)
    return len(lines) >= 2 and sum(delimiter in line for line in lines) >= 2
