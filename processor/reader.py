"""Open a workbook file of any supported format and read its sheets as grids of values.

This is the shell's side of reading: file formats, encryption and hostile files. It hands
the pure core plain rows of Python values (``core.ledger`` finds the table in them).
calamine (Rust) does the parsing: it reads xlsx/xlsm/xlsb/xls/ods alike, never expands
XML entities and is ~20x faster than openpyxl.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine as calamine

from .core.grid import SheetGrid
from .core.issues import InputError

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")
# Excel opens files encrypted with this password without asking; so do we.
EXCEL_DEFAULT_PASSWORD = "VelvetSweatshop"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Zip-bomb guard: a real workbook never inflates beyond this.
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
MAX_COMPRESSION_RATIO = 1000


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
    kind: str  # "ooxml" (xlsx/xlsm zip), "xls", "xlsb", "ods"
    data: bytes
    sheets: tuple[SheetInfo, ...]
    date1904: bool
    decrypted: bool = False
    has_macros: bool = False
    _book: calamine.CalamineWorkbook | None = field(default=None, repr=False)

    def grid(self, sheet: str, nrows: int | None = None) -> SheetGrid:
        """Read the cells of ``sheet`` (all rows, or the first ``nrows``) as a grid."""
        try:
            handle = self._book.get_sheet_by_name(sheet)
            rows = handle.to_python(skip_empty_area=False, nrows=nrows)
        except Exception as exc:  # calamine raises several unrelated types for bad parts
            raise InputError(
                f"The sheet '{sheet}' of {self.path.name} cannot be read ({_short(exc)})."
            ) from exc
        return SheetGrid(name=sheet, rows=rows, date1904=self.date1904)

    @property
    def is_ooxml(self) -> bool:
        """True for zip-based Excel files whose package the splice writer can extend."""
        return self.kind == "ooxml"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def open_workbook(path: Path, password: str | None = None) -> OpenedWorkbook:
    """Open ``path`` for reading, decrypting it when needed, or raise :class:`InputError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a workbook (use 'receivables batch' for folders).")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"{path.name} is not a workbook this tool reads: use .xlsx, .xlsm, .xls, .xlsb or .ods."
        )
    data = path.read_bytes()
    if not data:
        raise InputError(f"{path.name} is empty (0 bytes): it is not a workbook.")
    decrypted = False
    if data.startswith(_CFB_MAGIC):
        data, decrypted = _decrypt_if_needed(path, data, password)
    if data.startswith(_CFB_MAGIC):
        kind = "xls"
    elif data.startswith(_ZIP_MAGIC) or data[:2] == b"PK":
        kind = _zip_kind(path, data)
    elif data[:2] in (b"\x09\x04", b"\x09\x02", b"\x09\x00"):
        raise InputError(
            f"{path.name} is an Excel 2.1-4.0 worksheet, a format from before 1995 that this "
            "tool does not read. Open it in Excel or LibreOffice and save it as .xlsx."
        )
    else:
        raise InputError(
            f"{path.name} is not an Excel or OpenDocument workbook (its content does not start "
            "like one). It may be damaged, or another kind of file renamed."
        )
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine's errors carry no common base class
        raise InputError(_explain_open_error(path, exc)) from exc
    sheets = tuple(
        SheetInfo(
            name=meta.name,
            visible=str(meta.visible).endswith("Visible") and "Hidden" not in str(meta.visible),
            is_worksheet=str(meta.typ).endswith("WorkSheet"),
        )
        for meta in book.sheets_metadata
    )
    date1904 = _ooxml_date1904(data) if kind == "ooxml" else False
    has_macros = kind == "ooxml" and _has_vba(data)
    return OpenedWorkbook(
        path=path, kind=kind, data=data, sheets=sheets, date1904=date1904,
        decrypted=decrypted, has_macros=has_macros, _book=book,
    )


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
    return f"{path.name} cannot be read as a workbook: it is damaged or incomplete ({text})."


def _zip_kind(path: Path, data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(
            f"{path.name} is damaged: it is not a complete zip package ({_short(exc)})."
        ) from exc
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES or any(
        info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
        and info.file_size > 50 * 1024**2
        for info in infos
    ):
        raise InputError(
            f"{path.name} would inflate to {total / 1024**3:.1f} GB: refused as a zip bomb."
        )
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names and "mimetype" not in names:
        raise InputError(
            f"{path.name} is a zip file but not a workbook (it has no [Content_Types].xml)."
        )
    if "mimetype" in names:
        return "ods"
    if any(name.endswith(".bin") and name.startswith("xl/worksheets/") for name in names):
        return "xlsb"
    if "xl/workbook.xml" not in names:
        # Strict OOXML and odd part paths: calamine reads them, the splice writer does not.
        return "ooxml-other"
    return "ooxml"


def _decrypt_if_needed(path: Path, data: bytes, password: str | None) -> tuple[bytes, bool]:
    import msoffcrypto
    from msoffcrypto.exceptions import DecryptionError, FileFormatError, InvalidKeyError

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
        except (InvalidKeyError, DecryptionError, FileFormatError, AssertionError, ValueError) as exc:
            last_error = exc
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


_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(1|true)\"")


def _ooxml_date1904(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            workbook = archive.read("xl/workbook.xml")[:20000]
    except (KeyError, zipfile.BadZipFile, OSError):
        return False
    return bool(_DATE1904.search(workbook))
