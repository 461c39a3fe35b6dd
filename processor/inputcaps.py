"""Caps on what reading a workbook may cost, judged from the input's declared sizes.

The zip guards of :mod:`receivables.reader` stop inflation bombs; these stop inputs that
inflate honestly but make the reader allocate far more than the file suggests, before
anything is allocated:

* **Zip entries**: the count is read from the archive's end record before Python's
  zipfile builds an object per entry (300,000 entries took half a minute).
* **Part sizes**: an XML part beyond :data:`MAX_XML_PART_BYTES` (a sheet of long texts)
  is refused from the zip directory alone; a real sheet of ten million cells is smaller.
* **Shared strings**: their count (streamed, never parsed) stays under
  :data:`MAX_SHARED_STRINGS`; unused strings cost memory as much as used ones.
* **Shared strings repeated by reference**: every cell that refers to a shared string
  becomes its own Python string, so a 32,000-character string referred to by a million
  cells is 32 GB. A sheet's references are summed (streamed) when the cheap bound
  (cells x longest string) exceeds :data:`MAX_SHEET_TEXT_BYTES`.
* **OpenDocument repeats**: ``number-rows-repeated``/``number-columns-repeated`` expand
  a cell's text as often as they say; the expanded text of content.xml is summed.

Each cap ends with an :class:`InputError` naming the file, the figure and the limit.
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .core.issues import InputError

MAX_ZIP_ENTRIES = 20_000
MAX_XML_PART_BYTES = 512 * 1024**2
MAX_SHARED_STRINGS = 4_000_000
# The text (in bytes of the file) that the cells of one sheet may expand to.
MAX_SHEET_TEXT_BYTES = 512 * 1024**2
_CHUNK = 1024 * 1024


def _mb(size: int) -> str:
    return f"{size / 1024**2:,.0f} MB"


def declared_entries(data: bytes) -> int | None:
    """The number of entries a zip archive declares in its end record (None if absent)."""
    tail = data[-(65536 + 22) :]
    at = tail.rfind(b"PK\x05\x06")
    if at == -1 or len(tail) - at < 22:
        return None
    (count,) = struct.unpack_from("<H", tail, at + 10)
    if count == 0xFFFF:  # zip64: the count is in the zip64 end record
        locator = tail.rfind(b"PK\x06\x06", 0, at)
        if locator != -1 and len(tail) - locator >= 40:
            (count,) = struct.unpack_from("<Q", tail, locator + 32)
    return count


def check_entry_count(path: Path, data: bytes) -> None:
    """Refuse an archive declaring more than :data:`MAX_ZIP_ENTRIES` entries."""
    count = declared_entries(data)
    if count is not None and count > MAX_ZIP_ENTRIES:
        raise InputError(
            f"{path.name} holds {count:,} parts, more than the {MAX_ZIP_ENTRIES:,} this tool "
            "reads (a workbook has a few per sheet). It is refused unread; save the ledger "
            "sheet alone as a new workbook."
        )


def check_parts(path: Path, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse XML parts too large to read, and shared-string tables with too many entries."""
    for info in infos:
        if info.filename.lower().endswith((".xml", ".bin")) and info.file_size > MAX_XML_PART_BYTES:
            raise InputError(
                f"{path.name}: its part {info.filename} unpacks to {_mb(info.file_size)}, more "
                f"than the {_mb(MAX_XML_PART_BYTES)} this tool reads in one part (a sheet of "
                "ten million cells is smaller). Delete long texts or unused cells, or copy "
                "the ledger into a new workbook."
            )
    for info in infos:
        if info.filename.lower().endswith("sharedstrings.xml"):
            with archive.open(info) as stream:
                count = count_tags(stream, _SI)
            if count > MAX_SHARED_STRINGS:
                raise InputError(
                    f"{path.name} declares {count:,} shared texts, more than the "
                    f"{MAX_SHARED_STRINGS:,} this tool reads. Save it again in Excel "
                    "(which drops unused texts), or copy the ledger into a new workbook."
                )


_SI = re.compile(rb"<(?:\w+:)?si[\s/>]")


def count_tags(stream: IO[bytes], pattern: re.Pattern[bytes]) -> int:
    """Occurrences of ``pattern`` (a short tag opener) in a streamed part."""
    count, carry = 0, b""
    while chunk := stream.read(_CHUNK):
        buffer = carry + chunk
        cut = max(len(buffer) - 16, 0)
        count += len(pattern.findall(buffer, 0, cut))
        carry = buffer[cut:]
    return count + len(pattern.findall(carry))


# ---- shared strings referred to by a sheet --------------------------------------------------

_STRING_LENGTHS = re.compile(rb"<(?:\w+:)?si\b.*?</(?:\w+:)?si>|<(?:\w+:)?si\s*/>", re.S)
_SHARED_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="s"[^>]*>\s*<(?:\w+:)?v>\s*(\d+)\s*<')


def shared_string_sizes(stream: IO[bytes]) -> list[int]:
    """The size in bytes (as written, tags included) of each shared string, in order."""
    sizes: list[int] = []
    carry = b""
    while chunk := stream.read(_CHUNK):
        buffer = carry + chunk
        end = 0
        for match in _STRING_LENGTHS.finditer(buffer):
            sizes.append(match.end() - match.start())
            end = match.end()
        carry = buffer[end:]
        if len(carry) > 64 * _CHUNK:  # one string of 64 MB: Excel's limit is 32,767 chars
            sizes.append(len(carry))
            carry = b""
    return sizes


def _references(stream: IO[bytes]) -> Iterator[int]:
    """The shared-string index of every ``t="s"`` cell of a streamed sheet part."""
    carry = b""
    while True:
        chunk = stream.read(_CHUNK)
        buffer = carry + chunk
        # Cells do not nest: every cell that starts before the last "<c" has ended there.
        cut = buffer.rfind(b"<c") if chunk else len(buffer)
        if cut <= 0:
            cut = 0 if chunk else len(buffer)
        for match in _SHARED_REF.finditer(buffer, 0, cut):
            yield int(match.group(1))
        carry = buffer[cut:]
        if not chunk:
            return


def check_shared_text(
    path: Path, sheet: str, archive: zipfile.ZipFile, sheet_part: str, cells: int, sizes: list[int]
) -> None:
    """Refuse a sheet whose cells refer to more shared text than
    :data:`MAX_SHEET_TEXT_BYTES` (each reference becomes its own copy when read)."""
    if not sizes or cells * max(sizes) <= MAX_SHEET_TEXT_BYTES:
        return
    info = archive.NameToInfo.get(sheet_part)
    if info is None:
        return
    total = 0
    count = len(sizes)
    with archive.open(info) as stream:
        for index in _references(stream):
            if index < count:
                total += sizes[index]
                if total > MAX_SHEET_TEXT_BYTES:
                    raise InputError(
                        f"The sheet '{sheet}' of {path.name} repeats its shared texts (long "
                        "texts referred to by many cells) to more than the "
                        f"{_mb(MAX_SHEET_TEXT_BYTES)} of text this tool reads in one sheet; "
                        "reading it would take many times that in memory. "
                        "Shorten the long texts, or copy the ledger columns into a new "
                        "workbook."
                    )


# ---- OpenDocument --------------------------------------------------------------------------


def ods_text_bytes(
    stream: IO[bytes], tag: re.Pattern[bytes], rows: re.Pattern[bytes], columns: re.Pattern[bytes]
) -> int:
    """Bytes of cell content in content.xml once every repeat is expanded.

    ``tag`` matches the table, row and cell tags (groups: closing slash, name,
    attributes, empty slash); a cell's content is what lies between its tag and the next
    matched tag, counted once per repeated row and column.
    """
    total = 0
    row_repeat = 1
    pending = 0  # repeats of the cell whose content is being measured
    carry = b""
    while chunk := stream.read(_CHUNK):
        buffer = carry + chunk
        cut = buffer.rfind(b">") + 1
        previous_end = 0
        for match in tag.finditer(buffer, 0, cut):
            if pending:
                total += (match.start() - previous_end) * pending
                if total > MAX_SHEET_TEXT_BYTES:
                    return total
            closing, name, attributes, empty = match.groups()
            pending = 0
            if name == b"table-row" and not closing:
                found = rows.search(attributes)
                row_repeat = int(found.group(1)) if found else 1
            elif name in (b"table-cell", b"covered-table-cell") and not closing and not empty:
                found = columns.search(attributes)
                pending = (int(found.group(1)) if found else 1) * row_repeat
            previous_end = match.end()
        if pending:
            total += (cut - previous_end) * pending
        carry = buffer[cut:]
    return total


def check_ods_text(path: Path, total: int) -> None:
    """Refuse an .ods whose repeated cells expand to too much text."""
    if total > MAX_SHEET_TEXT_BYTES:
        raise InputError(
            f"{path.name} repeats cells with text (number-rows-repeated, "
            f"number-columns-repeated) to more than the {_mb(MAX_SHEET_TEXT_BYTES)} of text "
            "this tool reads; reading it would take many times that in memory. Delete the "
            "repeated rows, or "
            "copy the ledger into a new workbook."
        )


# ---- .xls (BIFF8) ----------------------------------------------------------------------------


def _sst_lengths(segments: list[bytes]) -> list[int]:
    """Characters of each string of a BIFF8 SST record (``segments``: its body, then the
    bodies of its CONTINUE records). A string's characters split over two records resume
    after a new option byte; everything else runs on."""
    lengths: list[int] = []
    index, position = 0, 0

    def take(count: int) -> bytes:
        nonlocal index, position
        out = bytearray()
        while count and index < len(segments):
            chunk = segments[index][position : position + count]
            out += chunk
            position += len(chunk)
            count -= len(chunk)
            if position >= len(segments[index]):
                index, position = index + 1, 0
        if count:
            raise ValueError("SST ends inside a string")
        return bytes(out)

    (unique,) = struct.unpack("<I", take(8)[4:])
    for _ in range(unique):
        start = (index, position)
        count, options = struct.unpack("<HB", take(3))
        runs = struct.unpack("<H", take(2))[0] if options & 0x08 else 0
        extra = struct.unpack("<I", take(4))[0] if options & 0x04 else 0
        wide, left = options & 0x01, count
        while left:
            if index >= len(segments):
                raise ValueError("SST ends inside a string")
            if position == 0 and (index, position) != start:
                # The characters run on in a CONTINUE record, which restates their width.
                wide = take(1)[0] & 0x01
                continue
            available = len(segments[index]) - position
            step = min(left, available // (2 if wide else 1))
            if step == 0:
                raise ValueError("SST string split inside a character")
            take(step * (2 if wide else 1))
            left -= step
        take(4 * runs + extra)
        lengths.append(count)
    return lengths


def biff_shared_text(stream: bytes) -> dict[int, int]:
    """Per sheet substream (by its position), the characters its LABELSST cells refer to."""
    segments: list[bytes] = []
    in_sst = False
    references: dict[int, int] = {}
    sheet: int | None = None
    counts: dict[int, dict[int, int]] = {}
    position, size = 0, len(stream)
    while position + 4 <= size:
        record, length = struct.unpack_from("<HH", stream, position)
        body = stream[position + 4 : position + 4 + length]
        if record == 0x00FC:  # SST
            segments, in_sst = [body], True
        elif record == 0x003C and in_sst:  # CONTINUE of the SST
            segments.append(body)
        else:
            in_sst = False
            if record in (0x0809, 0x0409, 0x0209, 0x0009):  # BOF
                sheet = position
            elif record == 0x00FD and len(body) >= 10 and sheet is not None:  # LABELSST
                (isst,) = struct.unpack_from("<I", body, 6)
                per_sheet = counts.setdefault(sheet, {})
                per_sheet[isst] = per_sheet.get(isst, 0) + 1
        position += 4 + length
    if not segments:
        return references
    lengths = _sst_lengths(segments)
    for sheet_at, per_sheet in counts.items():
        references[sheet_at] = sum(lengths[i] * n for i, n in per_sheet.items() if i < len(lengths))
    return references


def check_biff_text(path: Path, stream: bytes) -> None:
    """Refuse an .xls whose cells repeat shared texts beyond :data:`MAX_SHEET_TEXT_BYTES`."""
    try:
        totals = biff_shared_text(stream)
    except (ValueError, struct.error):
        return  # a damaged SST: calamine says what is wrong when it opens the file
    if totals and max(totals.values()) > MAX_SHEET_TEXT_BYTES:
        raise InputError(
            f"{path.name} repeats its shared texts (long texts referred to by many cells) "
            f"to more than the {_mb(MAX_SHEET_TEXT_BYTES)} of text this tool reads in one "
            "sheet; reading it would take many times that in memory. Shorten the long "
            "texts, or copy the ledger columns into a new workbook."
        )
