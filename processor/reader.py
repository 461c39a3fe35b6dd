"""Open a workbook file of any supported format and read its sheets as grids of values.

This is the shell's side of reading: file formats, encryption and hostile files. It hands
the pure core plain rows of Python values (``core.ledger`` finds the table in them).
calamine (Rust) does the parsing: it reads xlsx/xlsm/xlsb/xls/ods alike, never expands
XML entities, never follows external references and is ~20x faster than openpyxl.

What this module adds around calamine, because calamine trusts its input:

* **Entity declarations are refused up front.** Every XML part of a zip package is
  checked for ``<!DOCTYPE``/``<!ENTITY`` before anything parses it, so an "XML bomb"
  gets a clear message instead of a parser error (and the splice writer, which parses
  some parts with lxml, never sees one).
* **The used range of a sheet is measured before calamine reads it.** calamine
  allocates a dense rows x columns array spanning the cells that hold values; one stray
  value in XFD1048576 makes that 17 billion cells and the process aborts. The cell
  records are scanned (streamed, never loaded whole) and a sheet whose span exceeds
  :data:`MAX_SHEET_CELLS` is refused with the address of its farthest cell.
  Declared ``<dimension>`` ranges and formatting-only cells do not count: calamine
  ignores them too. calamine parses .xls and .ods files whole when it opens them, so
  those are measured first, and all their sheets together stay under
  :data:`MAX_WORKBOOK_CELLS`; .xlsx and .xlsb sheets are measured when first read.
* **A big .xlsx sheet is parsed in two halves at once**, one per core, when its rows
  can be cut safely (every row numbered, rising row after row): two temporary packages
  of half the rows each, read back as one grid exactly as one parse gives it.
* **Rust panics are input errors.** pyo3 turns a panic inside calamine into a
  ``BaseException``; it is caught and reported like any other unreadable file.
* **The 1904 date system** is read from every format (calamine uses it for date-formatted
  cells; the core needs it for serial numbers typed into General-format cells).
* **Encryption**: msoffcrypto decrypts with ``--password``, or silently with Excel's
  default password as Excel does.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import re
import struct
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import python_calamine as calamine
from lxml import etree

from . import inputcaps
from .core.grid import SheetGrid
from .core.issues import InputError
from .core.xlref import column_letter, column_number
from .cores import spare_core
from .zipstream import fast_deflate

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")
# Excel opens files encrypted with this password without asking; so do we.
EXCEL_DEFAULT_PASSWORD = "VelvetSweatshop"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Zip-bomb guards: a real workbook never inflates beyond these. Sheet XML compresses
# about 10-20x; 200x on a part of more than 20 MB is a crafted file.
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
MAX_COMPRESSION_RATIO = 200
_RATIO_CHECK_FROM = 20 * 1024**2
# The largest sheet span (rows x columns, from A1 to the farthest cell with a value) read:
# 100,000 rows x 50 columns, far beyond any receivables ledger, is about 1 GB of Python
# objects at worst. Beyond it the sheet is refused with a message, never a crash.
# 500,000 rows x 24 columns: a year-end ledger fits; a stray cell at XFD1048576 does not.
MAX_SHEET_CELLS = 12_000_000
# .xls and .ods files are parsed whole when opened (calamine keeps every cell of every
# sheet, then the ledger's again as Python values: ~350 bytes a cell measured): all sheets
# together stay below this, ~1 GB.
MAX_WORKBOOK_CELLS = 3_000_000
# An entity declaration can only stand before the root element, i.e. in the prolog.
_PROLOG_BYTES = 64 * 1024
_CHUNK = 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class SheetInfo:
    """A sheet of the workbook: its name, whether it is visible, whether it holds cells."""

    name: str
    visible: bool
    is_worksheet: bool


@dataclass
class OpenedWorkbook:
    """A workbook opened for reading. ``data`` is the (decrypted) file content."""

    path: Path
    kind: str  # "ooxml" (xlsx/xlsm zip), "ooxml-other" (strict OOXML), "xls", "xlsb", "ods"
    data: bytes
    sheets: tuple[SheetInfo, ...]
    date1904: bool
    decrypted: bool = False
    has_macros: bool = False
    _book: calamine.CalamineWorkbook | None = field(default=None, repr=False)
    _extents: dict[str, tuple[int, int]] | None = field(default=None, repr=False)
    # calamine parses a sheet on every get_sheet_by_name; the preview of the first rows
    # and the full read share one parse through this cache.
    _handles: dict[str, object] = field(default_factory=dict, repr=False)
    # calamine's workbook object is not shared between threads: every call into it holds
    # this lock (a background parse started by prefetch() included).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pending: dict[str, threading.Thread] = field(default_factory=dict, repr=False)
    _text_checked: set[str] = field(default_factory=set, repr=False)
    _shared_text: _SharedText | None = field(default=None, repr=False)

    def prefetch(self, sheet: str) -> None:
        """Start parsing ``sheet`` in a background thread; :meth:`grid` takes the result.

        calamine releases the GIL while it parses (the slowest step of reading), so the
        caller's work meanwhile (importing pandas, reading the rules) costs no time. The
        extent guard runs first, as for :meth:`grid`; a sheet it refuses, or one that
        fails to parse, is left for :meth:`grid` to report. A big .xlsx sheet is parsed
        in two halves at once (see :func:`_parse_in_halves`).
        """
        if sheet in self._handles or sheet in self._pending:
            return
        try:
            self.check_extent(sheet)
        except InputError:
            return
        extent = self.extent(sheet)
        text = self._kept_text(sheet)
        # A decrypted workbook is never cut: its halves would be written out in clear.
        in_halves = (
            self.kind == "ooxml"
            and not self.decrypted
            and extent is not None
            and extent[0] >= _SPLIT_MIN_ROWS
            and sheet in getattr(self._extents, "rising_rows", ())
            and spare_core()
        )

        # Cut here, not in the background: holding the GIL, the cutting would share it
        # with the caller's work meanwhile and take twice as long, delaying both parses
        # (the halves are written in the background: writing a file needs no GIL).
        packages = None
        if in_halves:
            # Best effort: a package that cannot be cut (damaged, a full temporary
            # folder) is parsed whole, and that parse reports what is wrong with it.
            with contextlib.suppress(Exception):
                packages = _HalfPackages.of(self.data, sheet, text)

        def parse() -> None:
            # A failure (a Rust panic included) is not kept: grid() parses again and
            # reports it in the caller's thread.
            with self._lock, contextlib.suppress(BaseException):
                handle = packages.parse() if packages is not None else None
                if handle is None:
                    handle = self._book.get_sheet_by_name(sheet)
                self._handles[sheet] = handle

        thread = threading.Thread(target=parse, name=f"parse {sheet}", daemon=True)
        self._pending[sheet] = thread
        thread.start()

    def grid(self, sheet: str, nrows: int | None = None) -> SheetGrid:
        """Read the cells of ``sheet`` (all rows, or the first ``nrows``) as a grid.

        Raises :class:`InputError` when the sheet cannot be read or spans more than
        :data:`MAX_SHEET_CELLS` cells.
        """
        self.check_extent(sheet)
        self._kept_text(sheet)  # read whole: the scan's text is let go
        pending = self._pending.pop(sheet, None)
        if pending is not None:
            pending.join()

        def read() -> list[list[object]]:
            with self._lock:
                handle = self._handles.get(sheet)
                if handle is None:
                    handle = self._handles[sheet] = self._book.get_sheet_by_name(sheet)
                return handle.to_python(skip_empty_area=False, nrows=nrows)

        rows = _guarded(
            read,
            lambda exc: f"The sheet '{sheet}' of {self.path.name} cannot be read ({_short(exc)}).",
        )
        if nrows is None:
            # The whole sheet is now Python values: calamine's copy can go.
            self._handles.pop(sheet, None)
        return SheetGrid(name=sheet, rows=rows, date1904=self.date1904)

    def _kept_text(self, sheet: str) -> bytes | None:
        """The text of ``sheet``'s part the extent scan kept, if any; every text kept is
        let go, so that none outlives the first read."""
        texts = getattr(self._extents, "texts", None)
        if not texts:
            return None
        text = texts.pop(sheet, None)
        texts.clear()
        return text

    def extent(self, sheet: str) -> tuple[int, int] | None:
        """(last row, last column), 1-based, of the cells of ``sheet`` that hold values.

        ``(0, 0)`` for an empty sheet; ``None`` when the sheet's cells cannot be located
        (a damaged package: calamine then reports the problem when the sheet is read).
        """
        if self._extents is None:
            self._extents = _measure_extents(self.kind, self.data)
        return self._extents.get(sheet)

    def check_extent(self, sheet: str) -> None:
        """Raise :class:`InputError` when ``sheet`` spans more than MAX_SHEET_CELLS cells,
        or its cells repeat more shared text than the reader takes (see inputcaps)."""
        extent = self.extent(sheet)
        if extent is None:
            return
        _check_sheet_extent(self.path, sheet, extent)
        if self.kind == "ooxml" and sheet not in self._text_checked:
            if self._shared_text is None:
                self._shared_text = _SharedText.of(self.data)
            self._shared_text.check(self.path, sheet, extent[0] * extent[1])
            self._text_checked.add(sheet)  # only once it passed: a refusal repeats

    @property
    def is_ooxml(self) -> bool:
        """True for zip-based Excel files whose package the splice writer can extend."""
        return self.kind == "ooxml"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _guarded(action: Callable[[], T], message: Callable[[BaseException], str]) -> T:
    """Run a calamine call, turning every failure, Rust panics included, into InputError."""
    try:
        return action()
    except (KeyboardInterrupt, SystemExit, InputError):
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
        raise InputError(message(exc)) from exc


def open_workbook(path: Path, password: str | None = None) -> OpenedWorkbook:
    """Open ``path`` for reading, decrypting it when needed, or raise :class:`InputError`.

    CSV/TSV/TXT, HTML and SpreadsheetML 2003 exports come back as a
    :class:`~receivables.textformats.TextWorkbook`, which is used the same way.
    """
    path = Path(path)
    _check_path(path)
    from .textformats import open_text_workbook, sniff_kind

    data = _read_bytes(path)
    if not data.startswith((_CFB_MAGIC, b"PK")):
        # ERPs' "Excel" exports: delimited text, HTML tables, SpreadsheetML 2003.
        text_kind = sniff_kind(path, data)
        if text_kind is not None:
            return open_text_workbook(path, data, text_kind)
    decrypted = False
    if data.startswith(_CFB_MAGIC):
        data, decrypted = _decrypt_if_needed(path, data, password)
    kind = _workbook_kind(path, data)
    extents = date1904 = None
    if kind == "xls":
        date1904, extents = _safe_biff_scan(data)
        _check_biff_text(path, data)
    elif kind == "ods":
        extents = _measure_extents(kind, data)
        _check_ods_text(path, data)
    if extents is not None:
        # calamine parses every sheet of these formats as it opens them: measure first.
        _check_workbook_extents(path, extents)
    book, sheets = _open_calamine(path, data)
    return OpenedWorkbook(
        path=path,
        kind=kind,
        data=data,
        sheets=sheets,
        date1904=_date1904(kind, data) if date1904 is None else date1904,
        decrypted=decrypted,
        has_macros=kind == "ooxml" and _has_vba(data),
        _book=book,
        _extents=extents,
    )


def _check_path(path: Path) -> None:
    """Refuse what is not a workbook file of a format this tool reads."""
    from .textformats import TEXT_SUFFIXES, XML_SUFFIXES

    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if path.is_dir():
        raise InputError(
            f"{path} is a folder, not a workbook (use 'receivables batch' for folders)."
        )
    if not path.is_file():
        # A pipe or a device would be read forever (or block): only files are workbooks.
        raise InputError(
            f"{path} is not a file (a pipe or a device): save the workbook as a "
            "file and give its path."
        )
    if path.suffix.lower() not in (*SUPPORTED_SUFFIXES, *TEXT_SUFFIXES, *XML_SUFFIXES):
        raise InputError(
            f"{path.name} is not a workbook this tool reads: use .xlsx, .xlsm, .xls, .xlsb, "
            ".ods, .csv, .tsv, .txt or an Excel 2003 .xml."
        )


def _read_bytes(path: Path) -> bytes:
    """The file's content (not empty), or InputError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path.name} cannot be read ({exc.strerror or exc}).") from exc
    if not data:
        raise InputError(f"{path.name} is empty (0 bytes): it is not a workbook.")
    return data


def _workbook_kind(path: Path, data: bytes) -> str:
    """The kind of workbook: "xls", or that of a zip package, from the (decrypted) content."""
    if data.startswith(_CFB_MAGIC):
        return "xls"
    if data.startswith(_ZIP_MAGIC) or data[:2] == b"PK":
        return _zip_kind(path, data)
    if data[:2] in (b"\x09\x04", b"\x09\x02", b"\x09\x00"):
        raise InputError(
            f"{path.name} is an Excel 2.1-4.0 worksheet, a format from before 1995 that this "
            "tool does not read. Open it in Excel or LibreOffice and save it as .xlsx."
        )
    raise InputError(
        f"{path.name} is not an Excel or OpenDocument workbook (its content does not start "
        "like one). It may be damaged, or another kind of file renamed."
    )


def _open_calamine(path: Path, data: bytes):
    """calamine's workbook and the sheets it lists, or InputError."""
    book = _guarded(
        lambda: calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)),
        lambda exc: _explain_open_error(path, exc),
    )
    sheets = _guarded(
        lambda: tuple(
            SheetInfo(
                name=meta.name,
                visible=str(meta.visible).endswith("Visible") and "Hidden" not in str(meta.visible),
                is_worksheet=str(meta.typ).endswith("WorkSheet"),
            )
            for meta in book.sheets_metadata
        ),
        lambda exc: _explain_open_error(path, exc),
    )
    return book, sheets


@dataclass
class _SharedText:
    """The package's shared-string sizes and sheet parts, read once per workbook, for
    :func:`inputcaps.check_shared_text` (xlsx/xlsm sheets)."""

    archive: zipfile.ZipFile | None
    sizes: list[int]
    parts: dict[str, str]

    @classmethod
    def of(cls, data: bytes) -> _SharedText:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            sst = next(
                (i for i in archive.infolist() if i.filename.lower().endswith("sharedstrings.xml")),
                None,
            )
            if sst is None:
                return cls(None, [], {})
            with archive.open(sst) as stream:
                sizes = inputcaps.shared_string_sizes(stream)
            return cls(archive, sizes, _ooxml_sheet_parts(archive))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError):
            return cls(None, [], {})  # calamine reports a damaged package when it reads

    def check(self, path: Path, sheet: str, cells: int) -> None:
        part = self.parts.get(sheet)
        if self.archive is None or part is None:
            return
        try:
            inputcaps.check_shared_text(path, sheet, self.archive, part, cells, self.sizes)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError):
            return


def _check_biff_text(path: Path, data: bytes) -> None:
    """See :func:`inputcaps.check_biff_text` (.xls: calamine parses it whole on opening)."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            name = next((s for s in ("Workbook", "Book") if ole.exists(s)), None)
            if name is None:
                return
            stream = ole.openstream(name).read()
    except (OSError, EOFError, ValueError, IndexError, struct.error, NotImplementedError):
        return
    inputcaps.check_biff_text(path, stream)


def _check_ods_text(path: Path, data: bytes) -> None:
    """See :func:`inputcaps.check_ods_text`."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("content.xml") as stream:
            total = inputcaps.ods_text_bytes(stream, _ODS_TAG, _ODS_ROWS, _ODS_COLUMNS)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError):
        return
    inputcaps.check_ods_text(path, total)


def _has_vba(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return any(name.lower().endswith("vbaproject.bin") for name in archive.namelist())


def _explain_open_error(path: Path, exc: BaseException) -> str:
    name = type(exc).__name__
    text = _short(exc)
    if name == "PasswordError":
        return f"{path.name} is password-protected: give its password with --password."
    if "entity" in text.lower() or "doctype" in text.lower():
        return (
            f"{path.name} contains XML entity declarations (a known attack, 'XML bomb'); "
            "it was not expanded and the file is refused."
        )
    if "Codepage" in text:
        return (
            f"{path.name} uses an encryption or code page this tool cannot read ({text}). "
            "Open it in Excel and save it as .xlsx without a password."
        )
    if name == "PanicException":
        text = f"its structure is inconsistent: {text}"
    return f"{path.name} cannot be read as a workbook: it is damaged or incomplete ({text})."


# ------------------------------------------------------------------------- zip packages


def _zip_kind(path: Path, data: bytes) -> str:
    inputcaps.check_entry_count(path, data)  # before zipfile makes an object per entry
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(
            f"{path.name} is damaged: it is not a complete zip package ({_short(exc)})."
        ) from exc
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES or any(
        info.file_size > _RATIO_CHECK_FROM
        and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
        for info in infos
    ):
        raise InputError(
            f"{path.name} would inflate to {total / 1024**2:,.0f} MB from "
            f"{len(data) / 1024**2:,.1f} MB: refused as a zip bomb."
        )
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names and "mimetype" not in names:
        raise InputError(
            f"{path.name} is a zip file but not a workbook (it has no [Content_Types].xml)."
        )
    inputcaps.check_parts(path, archive, infos)
    _refuse_entity_declarations(path, archive, infos)
    if "mimetype" in names:
        return "ods"
    if any(name.endswith(".bin") and name.startswith("xl/worksheets/") for name in names):
        return "xlsb"
    if "xl/workbook.xml" not in names:
        # Strict OOXML and odd part paths: calamine reads them, the splice writer does not.
        return "ooxml-other"
    return "ooxml"


_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)\b", re.IGNORECASE)
_DECLARATION_UTF16 = ("<!DOCTYPE".encode("utf-16-le"), "<!ENTITY".encode("utf-16-le"))


def _refuse_entity_declarations(path: Path, archive: zipfile.ZipFile, infos) -> None:
    """Refuse a package any of whose XML parts declares a DTD or entities.

    Only the prolog of each part is read (a declaration cannot come after the root
    element), decompressing at most 64 KB per part: a bomb is never expanded.
    """
    for info in infos:
        # Only the XML parts that readers parse: an embedded .svg image may carry an
        # innocent DOCTYPE, and nothing here ever parses it.
        if info.is_dir() or not info.filename.lower().endswith((".xml", ".rels")):
            continue
        try:
            with archive.open(info) as part:
                head = part.read(_PROLOG_BYTES)
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            raise InputError(
                f"{path.name} is damaged: its part {info.filename} cannot be unpacked "
                f"({_short(exc)})."
            ) from exc
        if _DECLARATION.search(head) or any(marker in head for marker in _DECLARATION_UTF16):
            raise InputError(
                f"{path.name} contains XML entity declarations in {info.filename} (a known "
                "attack, 'XML bomb', or an external reference); nothing was expanded or "
                "fetched and the file is refused. Excel refuses such files too."
            )


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """The last entry called ``name`` (damaged zips repeat names), or None."""
    # zipfile's index keeps the last entry of a repeated name; a lookup, not a scan (a
    # scan per part is quadratic in a package of 300,000 entries).
    info = archive.NameToInfo.get(name)
    return None if info is None else archive.read(info)


_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def _xml(data: bytes | None) -> etree._Element | None:
    if data is None:
        return None
    try:
        return etree.fromstring(data, _SAFE_PARSER)
    except etree.XMLSyntaxError:
        return None


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id -> absolute target part of ``part`` (external targets left out)."""
    folder, name = posixpath.split(part)
    root = _xml(_read_part(archive, posixpath.join(folder, "_rels", name + ".rels")))
    targets: dict[str, str] = {}
    if root is None:
        return targets
    for rel in root:
        if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        absolute = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        targets[rel.get("Id", "")] = absolute
    return targets


def _workbook_part(archive: zipfile.ZipFile) -> str | None:
    """The workbook part named by the package relationships (xl/workbook.xml without)."""
    root = _xml(_read_part(archive, "_rels/.rels"))
    for rel in root if root is not None else ():
        if (rel.get("Type") or "").endswith("/officeDocument"):
            return rel.get("Target", "").lstrip("/")
    return "xl/workbook.xml" if _read_part(archive, "xl/workbook.xml") is not None else None


# ------------------------------------------------------------ parsing a big sheet in halves

# A sheet of at least this many rows is parsed in two halves at once, one per core: its
# parse is the longest step of reading (1.25 s at 100k rows), and calamine runs it
# without the GIL, so two halves take little more than half of it.
_SPLIT_MIN_ROWS = 20_000
_SHEET_DATA = re.compile(rb"<sheetData\b[^>]*>")


class _Halves:
    """A sheet parsed in two halves (see :func:`_parse_in_halves`), read back as one.

    Reads like calamine's sheet does in :meth:`OpenedWorkbook.grid`: ``to_python`` with
    ``skip_empty_area=False`` gives the rows from row 1 and the columns from column A,
    each row as wide as the farthest cell with a value.
    """

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    def to_python(self, skip_empty_area: bool = False, nrows: int | None = None):
        """The sheet's rows (the first ``nrows``), as one calamine sheet gives them."""
        if skip_empty_area:
            raise ValueError("a sheet read in halves is read from A1")
        first, second = self.first, self.second
        width = max(first.end[1], second.end[1]) + 1
        wanted = second.end[0] + 1 if nrows is None else nrows
        # The first half from A1 (calamine pads it), the empty rows between the halves,
        # then the second half from its own first cell, padded here the same way: its
        # rows from A1 would be as many empty rows as the first half has rows.
        rows = first.to_python(skip_empty_area=False, nrows=min(wanted, first.end[0] + 1))
        gap_end = min(wanted, second.start[0])
        rows += [[""] * width for _ in range(len(rows), gap_end)]
        if wanted > second.start[0]:
            rest = second.to_python(skip_empty_area=True, nrows=wanted - second.start[0])
            left = [""] * second.start[1]
            rows += [left + row for row in rest] if left else rest
        for row in rows:
            if len(row) < width:  # a half narrower than the sheet: pad as calamine does
                row.extend([""] * (width - len(row)))
        return rows


def _parse_in_halves(data: bytes, sheet: str) -> _Halves | None:
    """``sheet`` parsed by calamine as two packages of half its rows each, at once; None
    when the sheet cannot be cut safely or a half fails, and the caller parses it whole.
    """
    packages = _HalfPackages.of(data, sheet)
    return packages.parse() if packages is not None else None


@dataclass
class _HalfPackages:
    """A sheet cut in two packages of half its rows each, ready for calamine to parse.

    Each package holds the parts calamine reads for one sheet (the workbook, its
    relationships, the styles that make numbers dates, the shared strings) and the sheet
    with half of its rows. Cells keep their references, so the second half's cells land
    on their own rows; the halves are read back as one grid by :class:`_Halves`.

    calamine reads a package from a path ten times faster than from bytes in memory
    (0.01 s against 0.1 s a half at 100k rows): each half goes to a private temporary
    file, deleted as soon as both are parsed (or at exit, should the parse never end).
    """

    sheet: str
    folder: tempfile.TemporaryDirectory
    paths: tuple[Path, Path]
    # What each package is written from: the parts shared, the sheet's part name, and the
    # pieces of its text (views, no copies) making each half's part.
    shared: dict[str, bytes]
    part: str
    pieces: list[tuple[memoryview, memoryview] | None]

    @classmethod
    def of(cls, data: bytes, sheet: str, text: bytes | None = None) -> _HalfPackages | None:
        """The two packages of ``sheet`` (its part's ``text`` when the extent scan kept
        it), to be written by :meth:`parse`; None when it cannot be cut (see _cut_rows)."""
        with fast_deflate():
            archive = zipfile.ZipFile(io.BytesIO(data))
            workbook = _workbook_part(archive)
            part = _ooxml_sheet_parts(archive).get(sheet)
            if workbook is None or part is None:
                return None
            xml = text if text is not None else archive.read(part)
            parts = _parts_read_with_a_sheet(archive, workbook)
            shared = {name: archive.read(name) for name in parts}
        cut = _cut_rows(xml)
        if cut is None:
            return None
        data_start, split, data_end = cut
        view = memoryview(xml)
        pieces = [(view[:split], view[data_end:]), (view[:data_start], view[split:])]
        # Cleaned up even while a half is still open (Windows refuses to delete it).
        folder = tempfile.TemporaryDirectory(prefix="receivables-", ignore_cleanup_errors=True)
        paths = (Path(folder.name, "first.xlsx"), Path(folder.name, "second.xlsx"))
        return cls(sheet, folder, paths, shared, part, pieces)

    def parse(self) -> _Halves | None:
        """Both halves written and parsed at once, each in its own thread (writing a file
        and calamine's parse run without the GIL, beside the caller's work), the packages
        then deleted; None when a half fails or the halves overlap."""
        halves: list = [None, None]

        def parse(index: int) -> None:
            with contextlib.suppress(BaseException):  # None: the sheet is parsed whole
                pieces, self.pieces[index] = self.pieces[index], None
                _write_package(self.paths[index], self.shared, self.part, pieces)
                del pieces
                book = calamine.CalamineWorkbook.from_path(str(self.paths[index]))
                halves[index] = book.get_sheet_by_name(self.sheet)

        other = threading.Thread(target=parse, args=(1,), name="parse second half", daemon=True)
        try:
            other.start()
            parse(0)
            other.join()
        finally:
            self.folder.cleanup()
        first, second = halves
        if first is None or second is None or first.end is None or second.start is None:
            return None
        if first.end[0] >= second.start[0]:
            return None  # rows out of order after all: only a whole parse reads them as Excel
        return _Halves(first, second)


def _parts_read_with_a_sheet(archive: zipfile.ZipFile, workbook: str) -> list[str]:
    """The parts calamine reads besides a sheet's own: content types, relationships,
    the workbook, its styles and shared strings."""
    folder, _, name = workbook.rpartition("/")
    relationships = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    wanted = {"[Content_Types].xml", "_rels/.rels", workbook, relationships}
    return [
        info.filename
        for info in archive.infolist()
        if info.filename in wanted
        or info.filename.lower().endswith(("/styles.xml", "/sharedstrings.xml"))
    ]


def _cut_rows(xml: bytes) -> tuple[int, int, int] | None:
    """Where to cut a sheet part in two: (where its rows start, the end of the row nearest
    the middle, where its rows end), or None.

    Only for a part whose row tags all carry a number, rising tag after tag (the extent
    scan tells), so that each half holds rows the other does not; and only when nothing
    in its rows could hide a row's end tag (a comment, CDATA, a processing instruction)
    or give it a namespace prefix.
    """
    opening = _SHEET_DATA.search(xml)
    if opening is None or opening.group(0).endswith(b"/>"):
        return None
    data_start, data_end = opening.end(), xml.rfind(b"</sheetData>")
    if data_end < data_start:
        return None
    for mark in (b"!", b"?"):
        # A bare "!" or "?" is rare in a sheet (found in no time); "<!" is slow to look
        # for, as "<" starts every tag, and only then looked for.
        if xml.find(mark, data_start, data_end) != -1 and (
            xml.find(b"<" + mark, data_start, data_end) != -1
        ):
            return None
    split = xml.find(b"</row>", (data_start + data_end) // 2, data_end)
    if split == -1:
        return None
    split += len(b"</row>")
    if not xml[split : split + 64].lstrip().startswith(b"<row "):
        return None
    return data_start, split, data_end


def _write_package(path: Path, shared: dict[str, bytes], part: str, pieces: tuple) -> None:
    """A stored (uncompressed) zip at ``path`` of ``shared`` and the sheet ``part`` made
    of ``pieces``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as package:
        for name, content in shared.items():
            package.writestr(name, content)
        with package.open(part, "w", force_zip64=True) as sheet_part:
            for piece in pieces:
                sheet_part.write(piece)


# ------------------------------------------------------------------- used-range guard


def _check_sheet_extent(path: Path, sheet: str, extent: tuple[int, int]) -> None:
    rows, columns = extent
    if rows * columns > MAX_SHEET_CELLS:
        far = f"{column_letter(max(columns, 1))}{rows}"
        raise InputError(
            f"The sheet '{sheet}' of {path.name} has values as far as cell {far}, "
            f"a range of {rows * columns:,} cells, more than the {MAX_SHEET_CELLS:,} this "
            "tool reads. Delete the stray cells far from the table (Ctrl+End in Excel "
            "shows the last one), or copy the ledger into a new workbook."
        )


def _check_workbook_extents(path: Path, extents: dict[str, tuple[int, int]]) -> None:
    """Refuse a workbook with a sheet too large, or too many cells over all its sheets."""
    for sheet, extent in extents.items():
        _check_sheet_extent(path, sheet, extent)
    total = sum(rows * columns for rows, columns in extents.values())
    if total > MAX_WORKBOOK_CELLS:
        raise InputError(
            f"The sheets of {path.name} span {total:,} cells together, more than the "
            f"{MAX_WORKBOOK_CELLS:,} this tool reads from an .xls or .ods file (it has to "
            "read every sheet at once). Save the ledger sheet alone as .xlsx."
        )


def _measure_extents(kind: str, data: bytes) -> dict[str, tuple[int, int]]:
    """Sheet name -> (rows, columns) spanned by its cells with values, per format."""
    try:
        if kind == "xls":
            return _safe_biff_scan(data)[1]
        with fast_deflate():
            return _measure_zip_extents(kind, zipfile.ZipFile(io.BytesIO(data)))
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        IndexError,
        struct.error,
        NotImplementedError,
        RuntimeError,
    ):
        # A part that cannot be unpacked here cannot be unpacked by calamine either; it
        # reports the problem when the sheet is read.
        return {}


def _measure_zip_extents(kind: str, archive: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """:func:`_measure_extents` of the zip-based formats."""
    if kind == "ods":
        return _ods_extents(archive)
    if kind == "xlsb":
        return _xlsb_extents(archive)
    return _ooxml_extents(archive)


def _ooxml_sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    workbook = _workbook_part(archive)
    root = _xml(_read_part(archive, workbook)) if workbook else None
    if root is None:
        return {}
    targets = _relationships(archive, workbook)
    parts: dict[str, str] = {}
    for element in root.iter():
        if _local(element.tag) != "sheet":
            continue
        rid = next((value for key, value in element.attrib.items() if _local(key) == "id"), None)
        if rid in targets:
            parts[element.get("name", "")] = targets[rid]
    return parts


class _SheetExtents(dict):
    """Sheet name -> (rows, columns); the sheets whose row tags all carry a number,
    rising tag after tag (those a big sheet's parse may cut in two: see _cut_rows); and
    the text of the first such sheet big enough to be cut, inflated once for both the
    scan and the cut (let go by the first read of any sheet)."""

    rising_rows: frozenset[str] = frozenset()
    texts: dict[str, bytes]


# A sheet part is scanned from its whole text, kept for cutting it in halves, from this
# size (some 20,000 rows) up to the next (200,000 rows of 15 columns); a bigger sheet is
# parsed whole anyway, and streamed through the scan.
_KEEP_TEXT_BYTES = (8 * 1024**2, 160 * 1024**2)


def _ooxml_extents(archive: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    extents = _SheetExtents()
    extents.texts = {}
    rising = set()
    for name, part in _ooxml_sheet_parts(archive).items():
        info = archive.NameToInfo.get(part)
        if info is None:
            continue
        text = None
        if not extents.texts and _KEEP_TEXT_BYTES[0] <= info.file_size <= _KEEP_TEXT_BYTES[1]:
            text = archive.read(info)
            bound = _quick_text_bound(text)
        else:
            with archive.open(info) as stream:
                bound = _quick_xml_bound(stream)
        if bound is not None and bound[0] * bound[1] <= MAX_SHEET_CELLS:
            extents[name] = bound[:2]
            if bound[2]:
                rising.add(name)
                if text is not None and bound[0] >= _SPLIT_MIN_ROWS:
                    extents.texts[name] = text
            continue
        del text
        with archive.open(info) as stream:
            extents[name] = _sheet_xml_extent(stream)
    extents.rising_rows = frozenset(rising)
    return extents


# Every row and cell tag: ``<row ...>``/``<c ...>`` give their reference, or b"" when
# they have none; bare ``<row>``, ``<c>`` and ``<c/>``, and tags whose name is followed
# by a tab or a line break, give b"" too (the exact scan reads those). ``<rowBreaks>``,
# ``<col>`` and the like do not match.
_QUICK_ROW_REFS = re.compile(rb"<row(?: [^>]*?(?:\br=\"([0-9]{1,7})\"|>)|/?>|\s)")
_QUICK_CELL_COLUMNS = re.compile(rb"<c(?: [^>]*?(?:\br=\"([A-Z]{1,3})[0-9]|>)|/?>|\s)")
_PREFIXED_ROOT = re.compile(rb"<[A-Za-z_][\w.-]*:worksheet\b")


def _quick_xml_bound(stream: IO[bytes]) -> tuple[int, int, bool] | None:
    """An upper bound of a sheet part's span from its row and cell references, and
    whether the row numbers rise from each row tag to the next.

    Formatting-only cells count too, so the bound may exceed the true span; the exact
    scan (:func:`_sheet_xml_extent`, ~3x slower) runs only when the bound is too large,
    or when this returns None: some rows or cells lack a reference, or the part uses a
    namespace prefix (``<x:row>``).
    """
    return _quick_bound(_stream_windows(stream))


def _quick_text_bound(text: bytes) -> tuple[int, int, bool] | None:
    """:func:`_quick_xml_bound` of a part's whole text, read through without a copy."""
    return _quick_bound(_text_windows(text))


class _NoBound(Exception):
    """Megabytes without a tag's end: not a worksheet; the exact scan reads it."""


def _stream_windows(stream: IO[bytes]) -> Iterator[tuple[bytes, int, int]]:
    """(buffer, start, end): a streamed part, block by block, each ending at a ``>``."""
    carry = b""
    while chunk := stream.read(_CHUNK):
        buffer = carry + chunk
        cut = buffer.rfind(b">") + 1
        yield buffer, 0, cut
        carry = buffer[cut:]
        if len(carry) > 16 * _CHUNK:
            raise _NoBound


def _text_windows(text: bytes) -> Iterator[tuple[bytes, int, int]]:
    """The blocks of :func:`_stream_windows` of a whole text, as positions in it."""
    start = end = 0
    while end < len(text):
        end = min(end + _CHUNK, len(text))
        cut = text.rfind(b">", start, end) + 1
        if cut > start:
            yield text, start, cut
            start = cut
        if end - start > 16 * _CHUNK:
            raise _NoBound


def _quick_bound(windows: Iterator[tuple[bytes, int, int]]) -> tuple[int, int, bool] | None:
    """:func:`_quick_xml_bound` of a part given as blocks of whole tags."""
    max_row = 0
    rising, last_row = True, 0
    letters: set[bytes] = set()
    unknown_cells = None  # a pattern for cells outside ``letters`` (see _unknown_cells)
    first = True
    try:
        for buffer, start, cut in windows:
            if first and _PREFIXED_ROOT.search(buffer, start, start + 4096):
                return None
            first = False
            # One pass per tag kind: a tag without a reference shows up as b"".
            rows = _QUICK_ROW_REFS.findall(buffer, start, cut)
            if rows and b"" in rows:
                return None
            if rows:
                numbers = list(map(int, rows))
                max_row = max(max_row, max(numbers))
                if rising:
                    rising = last_row < numbers[0] and all(map(int.__lt__, numbers, numbers[1:]))
                    last_row = numbers[-1]
            # A sheet's cells repeat the same few column letters row after row: once a
            # block has no cell outside the letters already seen (one search, nothing
            # allocated), listing its cells (a million per 100k-row sheet, ~0.2 s) would
            # add none.
            if unknown_cells is None or unknown_cells.search(buffer, start, cut):
                cells = set(_QUICK_CELL_COLUMNS.findall(buffer, start, cut))
                if b"" in cells:
                    return None
                if unknown_cells is None or not cells <= letters:
                    letters.update(cells)
                    unknown_cells = _unknown_cells(letters)
    except _NoBound:
        return None
    max_column = max((column_number(c.decode("ascii")) for c in letters), default=0)
    return max_row, max_column, rising


def _unknown_cells(letters: set[bytes]) -> re.Pattern[bytes]:
    """Cell tags other than ``<c r="X1...`` with the column letters X one of ``letters``.

    Every tag :data:`_QUICK_CELL_COLUMNS` matches and would give something outside
    ``letters`` (b"" included) matches this, and more (a reference not first, a tab
    after ``<c``): a block where this finds nothing adds nothing to the bound, and a
    block where it finds something is listed in full.
    """
    if not letters:
        return re.compile(rb"<c(?=[\s/>])")
    known = b"|".join(re.escape(letter) for letter in sorted(letters))
    return re.compile(rb'<c(?=[\s/>])(?! r="(?:' + known + rb")[0-9])")


_SHEET_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*?)(/?)>")
_CELL_REF = re.compile(rb'\sr\s*=\s*["\']([A-Za-z]{1,3})([0-9]{1,7})["\']')
_ROW_REF = re.compile(rb'\sr\s*=\s*["\']([0-9]{1,7})["\']')


def _tags(stream: IO[bytes], pattern: re.Pattern[bytes]) -> Iterator[re.Match[bytes]]:
    """Matches of a tag pattern over a streamed XML part, 1 MB at a time."""
    carry = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        buffer = carry + chunk
        cut = buffer.rfind(b">") + 1
        yield from pattern.finditer(buffer, 0, cut)
        carry = buffer[cut:]
        if len(carry) > 16 * _CHUNK:
            # Megabytes without a '>': not a worksheet; calamine will say so.
            return


def _sheet_xml_extent(stream: IO[bytes]) -> tuple[int, int]:
    """Rows x columns spanned by the cells with content of a SpreadsheetML sheet part.

    A cell written ``<c r="B2" s="1"/>`` carries only formatting and does not count.
    Rows and cells without ``r`` (some writers omit it) follow the previous one.
    """
    max_row = max_column = 0
    row = column = 0
    for match in _tags(stream, _SHEET_TAG):
        tag, attributes, empty = match.groups()
        if tag == b"row":
            ref = _ROW_REF.search(attributes)
            row = int(ref.group(1)) if ref else row + 1
            column = 0
            continue
        ref = _CELL_REF.search(attributes)
        if ref:
            column = column_number(ref.group(1).decode("ascii"))
            row = int(ref.group(2))
        else:
            column += 1
        if not empty:
            max_row = max(max_row, row)
            max_column = max(max_column, column)
            if max_row * max_column > MAX_SHEET_CELLS:
                break  # already refused; no need to read on
    return max_row, max_column


_ODS_TAG = re.compile(
    rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>"
)
_ODS_NAME = re.compile(rb'table:name\s*=\s*"([^"]*)"')
_ODS_ROWS = re.compile(rb'table:number-rows-repeated\s*=\s*"([0-9]+)"')
_ODS_COLUMNS = re.compile(rb'table:number-columns-repeated\s*=\s*"([0-9]+)"')


def _ods_extents(archive: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """Per table of content.xml: rows x columns spanned by cells with a value or text.

    Repeated rows and cells (``number-rows-repeated``) count as many times as they repeat,
    as calamine expands them; LibreOffice's trailing empty repeats hold no value.
    """
    from html import unescape

    extents: dict[str, tuple[int, int]] = {}
    with archive.open("content.xml") as stream:
        name = None
        max_row = max_column = row = column = 0
        row_repeat, row_has_value = 1, False
        for match in _tags(stream, _ODS_TAG):
            closing, tag, attributes, empty = match.groups()
            if tag == b"table":
                if closing:
                    if name is not None:
                        extents[name] = (max_row, max_column)
                    name = None
                else:
                    found = _ODS_NAME.search(attributes)
                    name = unescape(found.group(1).decode("utf-8", "replace")) if found else ""
                    max_row = max_column = row = 0
                continue
            if tag == b"table-row":
                if closing:
                    if row_has_value:
                        max_row = max(max_row, row + row_repeat)
                    row += row_repeat
                    continue
                repeat = _ODS_ROWS.search(attributes)
                row_repeat = int(repeat.group(1)) if repeat else 1
                row_has_value, column = False, 0
                if empty:
                    row += row_repeat
                continue
            if closing:
                continue
            repeat = _ODS_COLUMNS.search(attributes)
            count = int(repeat.group(1)) if repeat else 1
            if not empty or b"office:value-type" in attributes:
                row_has_value = True
                max_column = max(max_column, column + count)
                if max_column * (row + row_repeat) > MAX_SHEET_CELLS:
                    # Already refused: record the span and read no further.
                    extents[name or ""] = (row + row_repeat, max_column)
                    break
            column += count
    return extents


def _records(data: bytes, stop: int | None = None) -> Iterator[tuple[int, int, int]]:
    """BIFF12 records of an .xlsb part: (type, start of body, end of body)."""
    position, size = 0, len(data)
    while position < size:
        byte = data[position]
        position += 1
        kind = byte & 0x7F
        if byte & 0x80:
            if position >= size:
                return
            kind |= (data[position] & 0x7F) << 7
            position += 1
        length = 0
        for shift in range(4):
            if position >= size:
                return
            byte = data[position]
            position += 1
            length |= (byte & 0x7F) << (7 * shift)
            if not byte & 0x80:
                break
        start, position = position, position + length
        yield kind, start, min(position, size)
        if kind == stop:
            return


def _wide_string(data: bytes, offset: int) -> tuple[str, int]:
    """An XLWideString at ``offset``: (text, offset after it)."""
    (count,) = struct.unpack_from("<I", data, offset)
    end = offset + 4 + 2 * count
    if count == 0xFFFFFFFF or end > len(data):
        return "", offset + 4
    return data[offset + 4 : end].decode("utf-16-le", "replace"), end


def _xlsb_extents(archive: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    workbook = _read_part(archive, "xl/workbook.bin")
    if workbook is None:
        return {}
    targets = _relationships(archive, "xl/workbook.bin")
    extents: dict[str, tuple[int, int]] = {}
    for kind, start, end in _records(workbook, stop=0x0090):  # BrtEndBundleShs
        if kind != 0x009C or end - start < 12:  # BrtBundleSh
            continue
        rid, after = _wide_string(workbook[:end], start + 8)
        name, _ = _wide_string(workbook[:end], after)
        part = targets.get(rid)
        data = _read_part(archive, part) if part else None
        if data is not None:
            extents[name] = _xlsb_sheet_extent(data)
    return extents


# BrtCellRk .. BrtFmlaError: the cell records that carry a value (BrtCellBlank excluded).
_XLSB_VALUE_CELLS = frozenset(range(0x0002, 0x000C))


def _xlsb_sheet_extent(data: bytes) -> tuple[int, int]:
    max_row = max_column = row = 0
    in_data = False
    for kind, start, end in _records(data):
        if kind == 0x0091:  # BrtBeginSheetData
            in_data = True
        elif kind == 0x0092:  # BrtEndSheetData
            break
        elif not in_data or end - start < 4:
            continue
        elif kind == 0x0000:  # BrtRowHdr
            (row,) = struct.unpack_from("<I", data, start)
        elif kind in _XLSB_VALUE_CELLS:
            (column,) = struct.unpack_from("<I", data, start)
            max_row, max_column = max(max_row, row + 1), max(max_column, column + 1)
    return max_row, max_column


# ------------------------------------------------------------------------- 1904 dates

_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(1|true)\"")


def _date1904(kind: str, data: bytes) -> bool:
    """Whether the workbook counts dates from 1904 (Excel for Mac before 2011)."""
    try:
        if kind in ("ooxml", "ooxml-other"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                workbook = _workbook_part(archive) or "xl/workbook.xml"
                content = _read_part(archive, workbook) or b""
            return bool(_DATE1904.search(content[:20000]))
        if kind == "xlsb":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                content = _read_part(archive, "xl/workbook.bin") or b""
            for record, start, end in _records(content, stop=0x0090):
                if record == 0x0099 and end > start:  # BrtWbProp: bit 0 is f1904
                    return bool(content[start] & 1)
            return False
        if kind == "xls":
            return _safe_biff_scan(data)[0]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, struct.error):
        return False
    # ODS stores dates as ISO text (office:date-value), never as serial numbers.
    return False


_BIFF_BOF = frozenset({0x0809, 0x0409, 0x0209, 0x0009})
# Cell records with a value: Number, LabelSst, Label, BoolErr, Formula, RString, RK, MulRk
# (Blank and MulBlank carry only formatting; calamine skips them).
_BIFF_CELLS = frozenset({0x0203, 0x00FD, 0x0204, 0x0205, 0x0006, 0x00D6, 0x027E, 0x00BD})


def _biff_scan(data: bytes) -> tuple[bool, dict[str, tuple[int, int]]]:
    """Date system and sheet extents of a BIFF5/8 workbook, from its record stream.

    The globals substream gives DATEMODE (0x0022, 1 for 1904) and BOUNDSHEET (0x0085: the
    offset of each sheet's BOF and its name); each sheet substream's cell records give its
    extent. Only record headers and cell coordinates are read.
    """
    import olefile

    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        name = next((s for s in ("Workbook", "Book") if ole.exists(s)), None)
        if name is None:
            return False, {}
        stream = ole.openstream(name).read()
    date1904 = False
    biff8 = True
    names: dict[int, str] = {}  # offset of a sheet's BOF -> sheet name
    extents: dict[str, tuple[int, int]] = {}
    current: str | None = None
    in_globals = None  # None before the first BOF
    max_row = max_column = 0
    position, size = 0, len(stream)
    while position + 4 <= size:
        record, length = struct.unpack_from("<HH", stream, position)
        body, end = position + 4, min(position + 4 + length, size)
        if record in _BIFF_BOF:
            if in_globals is None:
                in_globals = True
                biff8 = end - body >= 2 and struct.unpack_from("<H", stream, body)[0] == 0x0600
            else:
                current = names.get(position)
                max_row = max_column = 0
        elif record == 0x000A:  # EOF of a substream
            if current is not None:
                extents[current] = (max_row, max_column)
            in_globals, current = False, None
        elif in_globals:
            if record == 0x0022 and end - body >= 2:
                date1904 = struct.unpack_from("<H", stream, body)[0] == 1
            elif record == 0x0085 and end - body >= 8:
                (offset,) = struct.unpack_from("<I", stream, body)
                names[offset] = _biff_sheet_name(stream[body + 6 : end], biff8)
        elif current is not None and record in _BIFF_CELLS and end - body >= 4:
            row, column = struct.unpack_from("<HH", stream, body)
            if record == 0x00BD and end - body >= 6:  # MulRk: the last column closes it
                (column,) = struct.unpack_from("<H", stream, end - 2)
            max_row, max_column = max(max_row, row + 1), max(max_column, column + 1)
        position = body + length
    return date1904, extents


def _safe_biff_scan(data: bytes) -> tuple[bool, dict[str, tuple[int, int]]]:
    """:func:`_biff_scan`, or (False, {}) for a container it cannot read: calamine then
    says what is wrong with the file."""
    try:
        return _biff_scan(data)
    except (OSError, EOFError, ValueError, IndexError, struct.error, NotImplementedError):
        return False, {}


def _biff_sheet_name(raw: bytes, biff8: bool) -> str:
    """The name of a BOUNDSHEET record (a ShortXLUnicodeString in BIFF8)."""
    if not raw:
        return ""
    count = raw[0]
    if biff8 and len(raw) >= 2:
        if raw[1] & 1:
            return raw[2 : 2 + 2 * count].decode("utf-16-le", "replace")
        return raw[2 : 2 + count].decode("latin-1")
    return raw[1 : 1 + count].decode("cp1252", "replace")


# ------------------------------------------------------------------------- encryption


def _decrypt_if_needed(path: Path, data: bytes, password: str | None) -> tuple[bytes, bool]:
    import msoffcrypto

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        encrypted = office.is_encrypted()
    except Exception:  # not an Office CFB msoffcrypto knows: leave it to calamine
        return data, False
    if not encrypted:
        return data, False
    tried = [password] if password else []
    tried.append(EXCEL_DEFAULT_PASSWORD)
    last_error: Exception | None = None
    for candidate in tried:
        try:
            office = msoffcrypto.OfficeFile(io.BytesIO(data))
            office.load_key(password=candidate)
            out = io.BytesIO()
            office.decrypt(out)
            return out.getvalue(), True
        except Exception as exc:  # msoffcrypto raises bare exceptions for some formats
            last_error = exc
    if password:
        raise InputError(
            f"{path.name} is password-protected and the password given does not open it "
            f"({_short(last_error) if last_error else 'wrong password'})."
        )
    raise InputError(
        f"{path.name} is password-protected: give its password with --password "
        "(the output is written without a password)."
    )
