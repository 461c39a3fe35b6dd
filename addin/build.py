"""Reproducible build of the ``Collections.xlam`` ribbon add-in, on any OS, without Excel.

The add-in is xlwings' own ``quickstart_addin_ribbon.xlam`` (from the pinned xlwings
package, so its VBA matches the Python side it calls) with four changes:

* the template's ribbon module ``RibbonMyAddin`` becomes ``CollectionsRibbon``, whose
  source is ``addin/CollectionsRibbon.bas`` (one callback for every button);
* the ``PROJECT_NAME`` constant of the ``xlwings`` module and the VBA project name become
  the add-in name, so the config sheet, config file and ``%USERPROFILE%\\.<name>`` folder are
  the add-in's own;
* ``customUI/customUI14.xml`` is ``addin/ribbon.xml``;
* the config sheet is ``<name>.conf`` and holds only settings that have a value.

VBA modules are stored as MS-OVBA compressed source with no compiled cache (MODULEOFFSET 0)
and the template's ``_VBA_PROJECT`` stream says "version 0xFFFF, no performance cache",
so Excel compiles every module from source when it opens the add-in. Module sizes change,
so ``vbaProject.bin`` (a Compound File) is written anew by the small writer below rather
than patched in place. Everything that could vary between runs (timestamps, CLSIDs, zip
entry order and attributes, directory layout) is fixed, so two builds are byte-identical.

The readers and writers here depend on nothing but the standard library and lxml, so the
build runs wherever the package is installed; the tests check them against olefile,
oletools and LibreOffice, which are independent implementations.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import io
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from receivables.atomic import atomic_write
from receivables.xlsx.xmlutil import NS_CT, NS_MAIN, NS_REL, serialise

from .buttons import BUTTONS

ADDIN_NAME = "Collections"
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
DISPATCHER_MODULE = "CollectionsRibbon"
RIBBON_CALLBACK = "CollectionsRibbon_OnAction"
RIBBON_PART = "customUI/customUI14.xml"
# Office 2010+ reads customUI14.xml (the 2009/07 namespace) through this relationship type.
RIBBON_REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"

# Settings written to the <name>.conf sheet. xlwings stops looking at the first layer that
# has a key, even with an empty value, so only keys with values are written (an empty
# "Interpreter_Win" row would hide the user's own config file). The dispatcher imports the
# installed ``receivables`` package; putting the clerk's workbook folder on sys.path would
# only let a stray ``receivables.py`` or ``xlwings.py`` next to a ledger shadow it.
CONF_SETTINGS: Mapping[str, str | bool | int | float] = {"ADD_WORKBOOK_TO_PYTHONPATH": False}

# The template module replaced by the dispatcher.
_TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"
# Zip timestamps: the earliest the format allows, the usual choice for reproducible builds.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_LEVEL = 9
# A VBA project name is an identifier; the config sheet name "<name>.conf" must fit Excel's
# 31-character sheet-name limit.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,25}$")

_NS_DC = "http://purl.org/dc/elements/1.1/"


class TemplateError(RuntimeError):
    """The xlwings template is not what this build was written for (xlwings changed)."""


# --------------------------------------------------------------------------------------
# MS-OVBA compression (MS-OVBA 2.4.1)
# --------------------------------------------------------------------------------------

_CHUNK = 4096


def _bit_count(difference: int) -> int:
    """Offset bits of a CopyToken ``difference`` bytes into a chunk (MS-OVBA 2.4.1.3.19.1)."""
    bits = 4
    while (1 << bits) < difference:
        bits += 1
    return bits


def ovba_compress(data: bytes) -> bytes:
    """Compress ``data`` into an MS-OVBA CompressedContainer.

    Follows the specification's greedy algorithm (longest match within the chunk, the
    nearest one on ties), so the output is a pure function of the input.
    """
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        out += _compress_chunk(data, start, min(start + _CHUNK, len(data)))
    return bytes(out)


def _compress_chunk(data: bytes, start: int, end: int) -> bytes:
    """Compress ``data[start:end]`` (at most 4096 bytes) into one CompressedChunk."""
    body = bytearray()
    # Earlier positions of the chunk by their first three bytes: only those can start a
    # copy (matches shorter than three bytes are not worth a two-byte token).
    seen: dict[bytes, list[int]] = {}
    indexed = start
    pos = start
    while pos < end:
        flag_at = len(body)
        body.append(0)
        flags = 0
        for bit in range(8):
            if pos >= end:
                break
            while indexed < pos and indexed + 3 <= end:
                seen.setdefault(data[indexed : indexed + 3], []).append(indexed)
                indexed += 1
            best_len, best_at = _longest_match(data, pos, end, seen)
            bits = _bit_count(pos - start)
            if best_len >= 3:
                length = min(best_len, (0xFFFF >> bits) + 3)
                token = ((pos - best_at - 1) << (16 - bits)) | (length - 3)
                body += struct.pack("<H", token)
                flags |= 1 << bit
                pos += length
            else:
                body.append(data[pos])
                pos += 1
        body[flag_at] = flags
    if len(body) > _CHUNK:
        # The format allows an uncompressed chunk here, but VBA source never gets near
        # this and Excel reportedly drops modules stored that way: fail loudly instead.
        raise ValueError("chunk does not compress; MS-OVBA raw chunks are not written")
    # Header: compressed flag, signature 0b011, size of the whole chunk minus three.
    return struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body


def _longest_match(
    data: bytes, pos: int, end: int, seen: dict[bytes, list[int]]
) -> tuple[int, int]:
    """Longest earlier copy of ``data[pos:end]`` in the chunk: ``(length, position)``."""
    best_len, best_at = 0, 0
    limit = end - pos
    if limit < 3:
        # ``data`` goes on past the chunk, but a copy must not: chunks decode on their own.
        return best_len, best_at
    for cand in reversed(seen.get(data[pos : pos + 3], ())):
        # A candidate can only win if it also matches one byte past the best so far.
        if best_len and data[cand + best_len] != data[pos + best_len]:
            continue
        length = 3
        while length < limit and data[cand + length] == data[pos + length]:
            length += 1
        if length > best_len:
            best_len, best_at = length, cand
            if length == limit:
                break
    return best_len, best_at


def ovba_decompress(data: bytes) -> bytes:
    """Decompress an MS-OVBA CompressedContainer (MS-OVBA 2.4.1.3.1).

    Stricter than the specification's pseudo-code (and than oletools): every chunk but the
    last must decode to exactly 4096 bytes and no copy may cross a chunk boundary, because
    LibreOffice stops reading a module at such a chunk.
    """
    if not data or data[0] != 0x01:
        raise ValueError("not an MS-OVBA compressed container (signature byte is not 1)")
    out = bytearray()
    pos = 1
    while pos < len(data):
        (header,) = struct.unpack_from("<H", data, pos)
        if (header >> 12) & 0b111 != 0b011:
            raise ValueError(f"bad MS-OVBA chunk signature at byte {pos}")
        chunk_end = min(pos + (header & 0x0FFF) + 3, len(data))
        pos += 2
        chunk_start = len(out)
        if chunk_start % _CHUNK:
            raise ValueError("MS-OVBA chunk before the last one is shorter than 4096 bytes")
        if not header & 0x8000:
            out += data[pos : pos + _CHUNK]
            pos += _CHUNK
            continue
        while pos < chunk_end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags >> bit & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                (token,) = struct.unpack_from("<H", data, pos)
                pos += 2
                bits = _bit_count(len(out) - chunk_start)
                length = (token & (0xFFFF >> bits)) + 3
                source = len(out) - ((token >> (16 - bits)) + 1)
                # Strict where Office and LibreOffice are: a copy stays inside its chunk.
                if source < chunk_start or len(out) + length - chunk_start > _CHUNK:
                    raise ValueError("MS-OVBA copy token reaches outside its chunk")
                # Byte by byte: a copy may overlap the bytes it produces.
                for k in range(length):
                    out.append(out[source + k])
    return bytes(out)


# --------------------------------------------------------------------------------------
# Compound File Binary (MS-CFB), version 3 (512-byte sectors)
# --------------------------------------------------------------------------------------

_CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_ENTRY = 128
_FREESECT = 0xFFFFFFFF
_ENDOFCHAIN = 0xFFFFFFFE
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_STORAGE, _STREAM, _ROOT = 1, 2, 5
_RED, _BLACK = 0, 1
_HEADER_DIFAT = 109


def read_cfb(data: bytes) -> dict[str, bytes]:
    """Return the streams of a Compound File as ``{"Storage/Stream": bytes}``.

    Streams come in directory-tree order (siblings in CFB name order), paths use ``/``.
    """
    reader = _CfbReader(data)
    found: dict[str, bytes] = {}

    def walk(sid: int, prefix: str) -> None:
        if sid == _NOSTREAM:
            return
        entry = _parse_entry(reader.entries[sid])
        walk(entry["left"], prefix)
        if entry["type"] == _STREAM:
            found[prefix + entry["name"]] = reader.stream(entry)
        elif entry["type"] == _STORAGE:
            walk(entry["child"], prefix + entry["name"] + "/")
        walk(entry["right"], prefix)

    walk(reader.root["child"], "")
    return found


class _CfbReader:
    """The sectors, FAT, directory and mini stream of a Compound File being read."""

    def __init__(self, data: bytes) -> None:
        if data[:8] != _CFB_MAGIC:
            raise ValueError("not a Compound File (bad signature)")
        self.data = data
        (sector_shift, mini_shift) = struct.unpack_from("<HH", data, 30)
        (n_fat, first_dir, _, self.mini_cutoff, first_minifat, _, first_difat, n_difat) = (
            struct.unpack_from("<IIIIIIII", data, 44)
        )
        self.size = 1 << sector_shift
        self.mini_size = 1 << mini_shift
        self.fat = self._fat(n_fat, first_difat, n_difat)
        directory = b"".join(self.sector(s) for s in self.chain(first_dir, self.fat))
        self.entries = [directory[i : i + _ENTRY] for i in range(0, len(directory), _ENTRY)]
        self.minifat: list[int] = []
        for s in self.chain(first_minifat, self.fat):
            self.minifat += struct.unpack(f"<{self.size // 4}I", self.sector(s))
        self.root = _parse_entry(self.entries[0])
        self.mini_stream = b"".join(
            self.sector(s) for s in self.chain(self.root["start"], self.fat)
        )

    def sector(self, n: int) -> bytes:
        """Sector ``n`` of the body."""
        # The header occupies the first sector slot (512 bytes, or 4096 in version 4).
        return self.data[(n + 1) * self.size : (n + 2) * self.size]

    def _fat(self, n_fat: int, first_difat: int, n_difat: int) -> list[int]:
        fat_sectors = list(struct.unpack_from(f"<{_HEADER_DIFAT}I", self.data, 76))
        difat_at = first_difat
        for _ in range(n_difat):
            entries = struct.unpack(f"<{self.size // 4}I", self.sector(difat_at))
            fat_sectors += entries[:-1]
            difat_at = entries[-1]
        fat: list[int] = []
        for s in fat_sectors[:n_fat]:
            fat += struct.unpack(f"<{self.size // 4}I", self.sector(s))
        return fat

    @staticmethod
    def chain(start: int, table: list[int]) -> Iterator[int]:
        """The sectors of the chain from ``start`` in ``table`` (FAT or mini FAT)."""
        seen = 0
        while start not in (_ENDOFCHAIN, _FREESECT):
            if seen > len(table) or start >= len(table):
                raise ValueError("broken sector chain in Compound File")
            yield start
            start = table[start]
            seen += 1

    def stream(self, entry: dict) -> bytes:
        """The bytes of the stream of directory ``entry``."""
        if entry["size"] < self.mini_cutoff:
            size = self.mini_size
            parts = (
                self.mini_stream[s * size : (s + 1) * size]
                for s in self.chain(entry["start"], self.minifat)
            )
        else:
            parts = (self.sector(s) for s in self.chain(entry["start"], self.fat))
        return b"".join(parts)[: entry["size"]]


def _parse_entry(raw: bytes) -> dict:
    """Decode the fields of one 128-byte directory entry that the reader needs."""
    name_len, kind, _color, left, right, child = struct.unpack_from("<HBBIII", raw, 64)
    start, size = struct.unpack_from("<IQ", raw, 116)
    return {
        "name": raw[: max(name_len - 2, 0)].decode("utf-16-le"),
        "type": kind,
        "left": left,
        "right": right,
        "child": child,
        "start": start,
        # Version 3 files may leave garbage in the high half of the size.
        "size": size & 0xFFFFFFFF,
    }


@dataclass
class _Node:
    """A directory entry while a Compound File is being laid out."""

    name: str
    kind: int
    data: bytes = b""
    children: list[_Node] = field(default_factory=list)
    sid: int = 0
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    color: int = _BLACK
    start: int = _ENDOFCHAIN
    size: int = 0


def _cfb_order(node: _Node) -> tuple[int, str]:
    """CFB sibling order: shorter names first, then by upper-cased name (MS-CFB 2.6.4)."""
    return (len(node.name.encode("utf-16-le")), node.name.upper())


def write_cfb(streams: Mapping[str, bytes]) -> bytes:
    """Write a version-3 Compound File holding ``streams`` (``{"Storage/Stream": bytes}``).

    Deterministic by construction: zero CLSIDs, timestamps and state bits; entries numbered
    depth-first in CFB name order; siblings in a balanced red-black tree; sector layout
    fixed (big streams, mini stream, mini FAT, directory, FAT).
    """
    root = _cfb_tree(streams)
    nodes = _number_entries(root)
    # Streams under the cutoff live in the mini stream, in 64-byte mini sectors.
    small = [n for n in nodes if n.kind == _STREAM and len(n.data) < _MINI_CUTOFF]
    big = [n for n in nodes if n.kind == _STREAM and len(n.data) >= _MINI_CUTOFF]
    minifat, mini_stream = _mini_stream(small)

    sectors = _Sectors()
    for n in big:
        n.size = len(n.data)
        n.start = sectors.place(n.data)
    root.start = sectors.place(mini_stream)
    root.size = len(mini_stream)
    minifat_bytes = b"".join(struct.pack("<I", s) for s in minifat)
    minifat_bytes += struct.pack("<I", _FREESECT) * (-len(minifat) % (_SECTOR // 4))
    first_minifat = sectors.place(minifat_bytes)
    n_minifat = _sectors_for(len(minifat_bytes), _SECTOR)
    directory = b"".join(_pack_entry(n) for n in nodes)
    directory += _UNUSED_ENTRY * (-len(nodes) % (_SECTOR // _ENTRY))
    first_dir = sectors.place(directory)
    fat_first, n_fat = sectors.close()
    header = _cfb_header(
        n_fat=n_fat,
        first_dir=first_dir,
        first_minifat=first_minifat if n_minifat else _ENDOFCHAIN,
        n_minifat=n_minifat,
        difat=range(fat_first, fat_first + n_fat),
    )
    return header + bytes(sectors.body)


def _cfb_tree(streams: Mapping[str, bytes]) -> _Node:
    """The storage tree of ``streams``: storages made on first use, names checked."""
    root = _Node("Root Entry", _ROOT)
    for path, data in streams.items():
        *storages, name = path.split("/")
        parent = root
        for storage in storages:
            found = next((c for c in parent.children if c.name == storage), None)
            if found is None:
                found = _Node(storage, _STORAGE)
                parent.children.append(found)
            elif found.kind != _STORAGE:
                raise ValueError(f"{path}: {storage} is a stream, not a storage")
            parent = found
        if any(c.name == name for c in parent.children):
            raise ValueError(f"duplicate stream {path}")
        if len(name.encode("utf-16-le")) > 62:
            raise ValueError(f"{path}: CFB names have at most 31 characters")
        parent.children.append(_Node(name, _STREAM, data=data))
    return root


def _number_entries(root: _Node) -> list[_Node]:
    """Number the entries depth-first in CFB name order and link each storage's children
    as a red-black tree; return the entries in directory order."""
    nodes: list[_Node] = []

    def number(node: _Node) -> None:
        node.sid = len(nodes)
        nodes.append(node)
        node.children.sort(key=_cfb_order)
        for c in node.children:
            number(c)
        node.child = _red_black(node.children)

    number(root)
    return nodes


def _sectors_for(n_bytes: int, unit: int) -> int:
    return -(-n_bytes // unit)


def _mini_stream(small: list[_Node]) -> tuple[list[int], bytes]:
    """Lay the small streams out in the mini stream: (mini FAT, mini stream bytes)."""
    minifat: list[int] = []
    mini_stream = bytearray()
    for n in small:
        n.size = len(n.data)
        if not n.data:
            continue
        count = _sectors_for(len(n.data), _MINI_SECTOR)
        n.start = len(minifat)
        minifat += list(range(n.start + 1, n.start + count)) + [_ENDOFCHAIN]
        mini_stream += n.data.ljust(count * _MINI_SECTOR, b"\0")
    return minifat, bytes(mini_stream)


class _Sectors:
    """The file body after the header: chains of 512-byte sectors and their FAT."""

    def __init__(self) -> None:
        self.fat: list[int] = []
        self.body = bytearray()

    def place(self, data: bytes) -> int:
        """Append ``data`` as a chain of whole sectors; return its first sector."""
        count = _sectors_for(len(data), _SECTOR)
        if count == 0:
            return _ENDOFCHAIN
        first = len(self.fat)
        self.fat.extend(list(range(first + 1, first + count)) + [_ENDOFCHAIN])
        self.body.extend(data.ljust(count * _SECTOR, b"\0"))
        return first

    def close(self) -> tuple[int, int]:
        """Append the FAT itself; return (its first sector, its number of sectors)."""
        # The FAT also maps its own sectors, so its size is found by iteration.
        n_fat = 1
        while n_fat * (_SECTOR // 4) < len(self.fat) + n_fat:
            n_fat += 1
        if n_fat > _HEADER_DIFAT:
            raise ValueError("Compound File too large for a header-only DIFAT")
        fat_first = len(self.fat)
        self.fat.extend([_FATSECT] * n_fat)
        self.fat.extend([_FREESECT] * (n_fat * (_SECTOR // 4) - len(self.fat)))
        self.body.extend(b"".join(struct.pack("<I", s) for s in self.fat))
        return fat_first, n_fat


def _cfb_header(
    *, n_fat: int, first_dir: int, first_minifat: int, n_minifat: int, difat: range
) -> bytes:
    """The 512-byte version-3 header, with every FAT sector in its DIFAT."""
    entries = [*difat] + [_FREESECT] * (_HEADER_DIFAT - len(difat))
    return struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        _CFB_MAGIC,
        b"\0" * 16,
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # little-endian byte order mark
        9,  # sector shift: 2**9 = 512
        6,  # mini sector shift: 2**6 = 64
        b"\0" * 6,
        0,  # number of directory sectors: must be 0 in version 3
        n_fat,
        first_dir,
        0,  # transaction signature
        _MINI_CUTOFF,
        first_minifat,
        n_minifat,
        _ENDOFCHAIN,  # no DIFAT sectors
        0,
    ) + struct.pack(f"<{_HEADER_DIFAT}I", *entries)


def _red_black(siblings: list[_Node]) -> int:
    """Link sorted ``siblings`` as a balanced red-black tree; return the root's id.

    Median splits fill every level but the last, so colouring exactly the nodes of the
    deepest, incomplete level red gives every path the same number of black nodes.
    """
    if not siblings:
        return _NOSTREAM
    full = len(siblings) + 1
    deepest = full.bit_length() - 1 if full & (full - 1) else None  # None: tree is perfect
    return _link(siblings, 0, deepest)


def _link(siblings: list[_Node], depth: int, red_depth: int | None) -> int:
    """Recursive half of :func:`_red_black`."""
    if not siblings:
        return _NOSTREAM
    mid = len(siblings) // 2
    node = siblings[mid]
    node.color = _RED if depth == red_depth else _BLACK
    node.left = _link(siblings[:mid], depth + 1, red_depth)
    node.right = _link(siblings[mid + 1 :], depth + 1, red_depth)
    return node.sid


def _pack_entry(node: _Node) -> bytes:
    """Encode one 128-byte directory entry (zero CLSID, state bits and timestamps)."""
    name = node.name.encode("utf-16-le")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name) + 2,
        node.kind,
        node.color,
        node.left,
        node.right,
        node.child,
        b"\0" * 16,
        0,
        0,
        0,
        node.start if node.kind != _STORAGE else 0,
        node.size,
    )


# Unused directory slots: all zero except the three links (MS-CFB 2.6.3).
_UNUSED_ENTRY = struct.pack(
    "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, b"", 0, 0, 0, 0, 0
)


# --------------------------------------------------------------------------------------
# The VBA project (MS-OVBA 2.3)
# --------------------------------------------------------------------------------------

# dir stream record ids used here.
_PROJECTCODEPAGE = 0x0003
_PROJECTNAME = 0x0004
_PROJECTVERSION = 0x0009
_MODULENAME = 0x0019
_MODULENAMEUNICODE = 0x0047
_MODULESTREAMNAME = 0x001A
_MODULESTREAMNAMEUNICODE = 0x0032
_MODULEDOCSTRING = 0x001C
_MODULEDOCSTRINGUNICODE = 0x0048
_MODULEOFFSET = 0x0031
_MODULETYPE_PROCEDURAL = 0x0021
_MODULE_TERMINATOR = 0x002B


def parse_dir(data: bytes) -> list[list]:
    """Split a decompressed ``VBA/dir`` stream into ``[record_id, payload]`` pairs."""
    records: list[list] = []
    pos = 0
    while pos < len(data):
        rid, size = struct.unpack_from("<HI", data, pos)
        pos += 6
        if rid == _PROJECTVERSION:
            # Its size field says 4, but a 4-byte major and a 2-byte minor follow.
            size = 6
        records.append([rid, data[pos : pos + size]])
        pos += size
    if pos != len(data):
        raise ValueError("truncated VBA dir stream")
    return records


def pack_dir(records: list[list]) -> bytes:
    """Inverse of :func:`parse_dir`."""
    out = bytearray()
    for rid, payload in records:
        size = 4 if rid == _PROJECTVERSION else len(payload)
        out += struct.pack("<HI", rid, size) + payload
    return bytes(out)


@dataclass
class _Module:
    """One module's records in the dir stream (a slice of the record list)."""

    records: list[list]
    codepage: str

    def get(self, rid: int) -> bytes:
        """Payload of this module's record ``rid``."""
        return next(p for r, p in self.records if r == rid)

    def set(self, rid: int, payload: bytes) -> None:
        """Replace the payload of this module's record ``rid`` (it must exist)."""
        for record in self.records:
            if record[0] == rid:
                record[1] = payload
                return
        raise TemplateError(f"module record 0x{rid:04X} missing")

    @property
    def name(self) -> str:
        """The module name (MODULENAME)."""
        return self.get(_MODULENAME).decode(self.codepage)

    @property
    def stream(self) -> str:
        """Name of the module's stream in the VBA storage (MODULESTREAMNAME)."""
        return self.get(_MODULESTREAMNAME).decode(self.codepage)

    @property
    def offset(self) -> int:
        """Where the compressed source starts in the stream (MODULEOFFSET)."""
        return struct.unpack("<I", self.get(_MODULEOFFSET))[0]


def _modules(records: list[list], codepage: str) -> list[_Module]:
    """The module record groups of a parsed dir stream, in order (sharing the records)."""
    modules: list[_Module] = []
    current: list[list] | None = None
    for record in records:
        if record[0] == _MODULENAME:
            current = []
        if current is not None:
            current.append(record)
            if record[0] == _MODULE_TERMINATOR:
                modules.append(_Module(current, codepage))
                current = None
    return modules


def build_vba_project(template_bin: bytes, name: str, dispatcher_source: str) -> bytes:
    """Return a new ``vbaProject.bin``: the template's, with the dispatcher and ``name``.

    Raises :class:`TemplateError` if the template does not have the layout this relies on.
    """
    streams = read_cfb(template_bin)
    vba_project = streams.get("VBA/_VBA_PROJECT", b"")
    # Version 0xFFFF with no performance cache makes Excel rebuild the compiled state from
    # source; that is what lets us store new modules as source only.
    if len(vba_project) != 7 or vba_project[2:4] != b"\xff\xff":
        raise TemplateError("_VBA_PROJECT is not the 7-byte, version 0xFFFF form")
    records = parse_dir(ovba_decompress(streams["VBA/dir"]))
    codepage_id = struct.unpack("<H", _record(records, _PROJECTCODEPAGE))[0]
    codepage = f"cp{codepage_id}"
    modules = _template_modules(records, codepage)

    xlwings = modules["xlwings"]
    xlwings_source = _module_source(streams, xlwings).decode(codepage)
    xlwings_source = _set_project_name(xlwings_source, name)
    xlwings.set(_MODULEOFFSET, struct.pack("<I", 0))

    old_stream = _become_dispatcher(modules[_TEMPLATE_RIBBON_MODULE], codepage)
    _set_record(records, _PROJECTNAME, name.encode(codepage))

    replaced = {
        "VBA/dir": ovba_compress(pack_dir(records)),
        f"VBA/{xlwings.stream}": ovba_compress(_vba_text(xlwings_source, codepage)),
        f"VBA/{DISPATCHER_MODULE}": ovba_compress(_vba_text(dispatcher_source, codepage)),
        "PROJECT": _project_stream(streams["PROJECT"], name, codepage),
        "PROJECTwm": _projectwm([m.name for m in _modules(records, codepage)], codepage),
    }
    out: dict[str, bytes] = {}
    for path, data in streams.items():
        if path == f"VBA/{old_stream}":
            continue
        out[path] = replaced.pop(path, data)
    out.update(replaced)
    return write_cfb(out)


def _template_modules(records: list[list], codepage: str) -> dict[str, _Module]:
    """The template's modules by name; it must have the ribbon module and xlwings' own."""
    modules = {m.name: m for m in _modules(records, codepage)}
    for required in (_TEMPLATE_RIBBON_MODULE, "xlwings"):
        if required not in modules:
            raise TemplateError(f"template has no {required} module")
    if DISPATCHER_MODULE in modules:
        raise TemplateError(f"template already has a {DISPATCHER_MODULE} module")
    return modules


def _become_dispatcher(ribbon: _Module, codepage: str) -> str:
    """Turn the template's ribbon module into the dispatcher; return its old stream name."""
    if not any(r == _MODULETYPE_PROCEDURAL for r, _ in ribbon.records):
        raise TemplateError(f"{_TEMPLATE_RIBBON_MODULE} is not a standard module")
    old_stream = ribbon.stream
    encoded = DISPATCHER_MODULE.encode(codepage)
    ribbon.set(_MODULENAME, encoded)
    ribbon.set(_MODULENAMEUNICODE, DISPATCHER_MODULE.encode("utf-16-le"))
    ribbon.set(_MODULESTREAMNAME, encoded)
    ribbon.set(_MODULESTREAMNAMEUNICODE, DISPATCHER_MODULE.encode("utf-16-le"))
    ribbon.set(_MODULEDOCSTRING, b"")
    ribbon.set(_MODULEDOCSTRINGUNICODE, b"")
    ribbon.set(_MODULEOFFSET, struct.pack("<I", 0))
    return old_stream


def _record(records: list[list], rid: int) -> bytes:
    """Payload of the first record ``rid``."""
    for r, payload in records:
        if r == rid:
            return payload
    raise TemplateError(f"dir record 0x{rid:04X} missing")


def _set_record(records: list[list], rid: int, payload: bytes) -> None:
    """Replace the payload of the first record ``rid``."""
    for record in records:
        if record[0] == rid:
            record[1] = payload
            return
    raise TemplateError(f"dir record 0x{rid:04X} missing")


def _module_source(streams: Mapping[str, bytes], module: _Module) -> bytes:
    """Decompressed source of ``module`` (it starts at MODULEOFFSET, after any p-code)."""
    return ovba_decompress(streams[f"VBA/{module.stream}"][module.offset :])


def _vba_text(source: str, codepage: str) -> bytes:
    """VBA module text as Excel stores it: CRLF line ends, the project's code page."""
    return source.replace("\r\n", "\n").replace("\n", "\r\n").encode(codepage)


def _set_project_name(source: str, name: str) -> str:
    """Set ``PROJECT_NAME`` in the xlwings module after checking it is the pinned version."""
    pinned = importlib.metadata.version("xlwings")
    versions = re.findall(r"^'Version: (\S+)", source, flags=re.M)
    constant = re.findall(r'^Public Const XLWINGS_VERSION As String = "([^"]*)"', source, re.M)
    # The VBA must match the xlwings Python package it talks to.
    if versions != [pinned] or constant != [pinned]:
        raise TemplateError(f"xlwings VBA is version {versions}/{constant}, not {pinned}")
    new, count = re.subn(
        r'^(Public Const PROJECT_NAME As String = )"[^"]*"',
        lambda m: f'{m.group(1)}"{name}"',
        source,
        flags=re.M,
    )
    if count != 1:
        raise TemplateError("xlwings module has no single PROJECT_NAME constant")
    return new


def _project_stream(data: bytes, name: str, codepage: str) -> bytes:
    """The ``PROJECT`` stream with the ribbon module renamed and the project named."""
    lines = data.decode(codepage).split("\r\n")
    old = _TEMPLATE_RIBBON_MODULE
    counts = {"module": 0, "name": 0}
    section = ""
    for i, line in enumerate(lines):
        if line.startswith("["):
            section = line
        elif not section and line == f"Module={old}":
            lines[i] = f"Module={DISPATCHER_MODULE}"
            counts["module"] += 1
        elif not section and line.startswith('Name="'):
            lines[i] = f'Name="{name}"'
            counts["name"] += 1
        elif section == "[Workspace]" and line.startswith(f"{old}="):
            # Window positions in the VBA editor; a closed window is "0, 0, 0, 0, C".
            lines[i] = f"{DISPATCHER_MODULE}=0, 0, 0, 0, C"
    if counts != {"module": 1, "name": 1}:
        raise TemplateError(f"PROJECT stream does not have one Module={old} and one Name=")
    return "\r\n".join(lines).encode(codepage)


def _projectwm(module_names: list[str], codepage: str) -> bytes:
    """The ``PROJECTwm`` stream: each module name in the code page and in UTF-16."""
    out = bytearray()
    for module in module_names:
        out += module.encode(codepage) + b"\0" + module.encode("utf-16-le") + b"\0\0"
    return bytes(out + b"\0\0")


# --------------------------------------------------------------------------------------
# Workbook parts
# --------------------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def _xml(data: bytes) -> etree._Element:
    """Parse package XML without entity expansion or network access."""
    return etree.fromstring(data, _PARSER)


NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS_X15AC = "http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"


def strip_abs_path(workbook: etree._Element) -> None:
    """Remove ``x15ac:absPath``: the folder the template was last saved in on its
    author's machine (a stranger's user name in every add-in built). Excel writes it
    inside an ``mc:AlternateContent`` block, dropped whole when nothing else is in it."""
    for path in list(workbook.iter(f"{{{NS_X15AC}}}absPath")):
        parent = path.getparent()
        parent.remove(path)
        # mc:Choice, then mc:AlternateContent, each gone once it holds nothing.
        while (
            parent is not None
            and parent is not workbook
            and len(parent) == 0
            and (etree.QName(parent).namespace == NS_MC)
        ):
            grandparent = parent.getparent()
            grandparent.remove(parent)
            parent = grandparent


def _conf_parts(parts: dict[str, bytes], name: str) -> None:
    """Rename the template's conf sheet to ``<name>.conf`` and write :data:`CONF_SETTINGS`."""
    workbook = _xml(parts["xl/workbook.xml"])
    sheets = workbook.findall(f"{{{NS_MAIN}}}sheets/{{{NS_MAIN}}}sheet")
    conf = [s for s in sheets if s.get("name", "").endswith(".conf")]
    if len(conf) != 1:
        raise TemplateError("template does not have exactly one .conf sheet")
    conf[0].set("name", f"{name}.conf")
    strip_abs_path(workbook)
    parts["xl/workbook.xml"] = serialise(workbook)

    rels = _xml(parts["xl/_rels/workbook.xml.rels"])
    rid = conf[0].get(f"{{{NS_REL}}}id")
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    sheet_part = f"xl/{target.lstrip('/').removeprefix('xl/')}"

    strings: list[str] = []
    sheet = _xml(parts[sheet_part])
    data = sheet.find(f"{{{NS_MAIN}}}sheetData")
    for child in list(data):
        data.remove(child)
    for row_number, (key, value) in enumerate(CONF_SETTINGS.items(), start=1):
        row = etree.SubElement(data, f"{{{NS_MAIN}}}row", r=str(row_number))
        strings.append(key)
        _cell(row, f"A{row_number}", "s", str(len(strings) - 1))
        if isinstance(value, bool):
            _cell(row, f"B{row_number}", "b", "1" if value else "0")
        elif isinstance(value, (int, float)):
            _cell(row, f"B{row_number}", None, repr(value))
        else:
            strings.append(value)
            _cell(row, f"B{row_number}", "s", str(len(strings) - 1))
    dimension = sheet.find(f"{{{NS_MAIN}}}dimension")
    if dimension is not None:
        dimension.set("ref", f"A1:B{len(CONF_SETTINGS)}" if CONF_SETTINGS else "A1")
    parts[sheet_part] = serialise(sheet)

    sst = etree.Element(f"{{{NS_MAIN}}}sst", nsmap={None: NS_MAIN})
    sst.set("count", str(len(strings)))
    sst.set("uniqueCount", str(len(strings)))
    for text in strings:
        etree.SubElement(etree.SubElement(sst, f"{{{NS_MAIN}}}si"), f"{{{NS_MAIN}}}t").text = text
    parts["xl/sharedStrings.xml"] = serialise(sst)


def _cell(row: etree._Element, ref: str, kind: str | None, value: str) -> None:
    """Append a cell with the template's conf-sheet style (``s="1"``)."""
    cell = etree.SubElement(row, f"{{{NS_MAIN}}}c", r=ref, s="1")
    if kind:
        cell.set("t", kind)
    etree.SubElement(cell, f"{{{NS_MAIN}}}v").text = value


def _ribbon_parts(parts: dict[str, bytes], ribbon: bytes) -> None:
    """Replace the template's ribbon with ``ribbon`` as ``customUI/customUI14.xml``."""
    rels = _xml(parts["_rels/.rels"])
    ui = [r for r in rels if r.get("Type", "").endswith("/relationships/ui/extensibility")]
    if len(ui) != 1:
        raise TemplateError("template does not have exactly one ribbon relationship")
    parts.pop(ui[0].get("Target").lstrip("/"), None)
    ui[0].set("Type", RIBBON_REL_TYPE)
    ui[0].set("Target", RIBBON_PART)
    parts["_rels/.rels"] = serialise(rels)
    parts[RIBBON_PART] = ribbon

    types = _xml(parts["[Content_Types].xml"])
    has_xml_default = any(
        t.tag == f"{{{NS_CT}}}Default" and t.get("Extension", "").lower() == "xml" for t in types
    )
    if not has_xml_default:
        etree.SubElement(
            types,
            f"{{{NS_CT}}}Override",
            PartName=f"/{RIBBON_PART}",
            ContentType="application/xml",
        )
        parts["[Content_Types].xml"] = serialise(types)


def _core_properties(parts: dict[str, bytes], name: str) -> None:
    """Title and comment that Excel's Add-ins dialog shows for the add-in."""
    core = _xml(parts["docProps/core.xml"])
    version = importlib.metadata.version("xlwings")
    for tag, text in (
        ("title", name),
        ("description", f"Receivables collections ribbon (xlwings {version})."),
    ):
        element = core.find(f"{{{_NS_DC}}}{tag}")
        if element is None:
            element = etree.SubElement(core, f"{{{_NS_DC}}}{tag}")
        element.text = text
    parts["docProps/core.xml"] = serialise(core)


def check_ribbon(ribbon: bytes) -> list[str]:
    """Return the ribbon's button ids after checking them against ``BUTTONS``.

    Raises ``ValueError`` if the ribbon is not customUI 2009/07, or if its buttons differ
    from the table in id, order, label, image, tips, or do not all call the dispatcher.
    """
    root = _xml(ribbon)
    if root.tag != f"{{{CUSTOMUI_NS}}}customUI":
        raise ValueError(f"ribbon root must be customUI in {CUSTOMUI_NS}")
    buttons = root.findall(f".//{{{CUSTOMUI_NS}}}button")
    ids = [b.get("id") for b in buttons]
    expected = [b.id for b in BUTTONS]
    if ids != expected:
        raise ValueError(f"ribbon buttons {ids} differ from BUTTONS {expected}")
    for element, spec in zip(buttons, BUTTONS, strict=True):
        wanted = {
            "label": spec.label,
            "imageMso": spec.image_mso,
            "screentip": spec.screentip,
            "supertip": spec.supertip,
            "onAction": RIBBON_CALLBACK,
        }
        for attribute, value in wanted.items():
            if element.get(attribute) != value:
                raise ValueError(
                    f"ribbon button {spec.id}: {attribute}={element.get(attribute)!r}, "
                    f"expected {value!r}"
                )
    return ids


# --------------------------------------------------------------------------------------
# The add-in
# --------------------------------------------------------------------------------------


def template_path() -> Path:
    """Path of ``quickstart_addin_ribbon.xlam`` in the installed (pinned) xlwings."""
    # find_spec locates the package without importing it (xlwings imports are slow).
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise TemplateError("xlwings is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / TEMPLATE_NAME
    if not path.is_file():
        raise TemplateError(f"{path} is missing from the xlwings package")
    return path


def _source(filename: str) -> bytes:
    """A text source shipped in this package (``ribbon.xml``, ``CollectionsRibbon.bas``)."""
    return importlib.resources.files(__package__).joinpath(filename).read_bytes()


def build_addin_bytes(name: str = ADDIN_NAME) -> bytes:
    """Return the ``.xlam`` file for add-in ``name`` (see :func:`build_addin`)."""
    if not _NAME.match(name):
        raise ValueError(f"add-in name {name!r} must be a VBA identifier of at most 26 characters")
    ribbon = _source("ribbon.xml")
    check_ribbon(ribbon)
    dispatcher = _source(f"{DISPATCHER_MODULE}.bas").decode("ascii")
    if not dispatcher.startswith(f'Attribute VB_Name = "{DISPATCHER_MODULE}"'):
        raise ValueError(f"{DISPATCHER_MODULE}.bas must start with its VB_Name attribute")

    with zipfile.ZipFile(template_path()) as template:
        parts = {info.filename: template.read(info) for info in template.infolist()}
    parts["xl/vbaProject.bin"] = build_vba_project(parts["xl/vbaProject.bin"], name, dispatcher)
    _ribbon_parts(parts, ribbon)
    _conf_parts(parts, name)
    _core_properties(parts, name)

    # Content types first (as Office writes it), then a fixed order of the rest.
    first = ["[Content_Types].xml", "_rels/.rels"]
    order = first + sorted(p for p in parts if p not in first)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in order:
            info = zipfile.ZipInfo(part, date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            # ZipInfo defaults these from the OS the build runs on, and zipfile replaces
            # a zero external_attr with its own default: set them all explicitly.
            info.create_system = 3  # Unix, so that the mode below means rw-r--r--
            info.create_version = 20
            info.external_attr = 0o100644 << 16
            archive.writestr(info, parts[part], compresslevel=_ZIP_LEVEL)
    return buffer.getvalue()


def build_addin(output_dir: Path, name: str = ADDIN_NAME) -> Path:
    """Build ``<output_dir>/<name>.xlam`` and return its path.

    The same xlwings version and the same sources give a byte-identical file. The file is
    written atomically, so a failed build never leaves a half-written add-in behind.
    """
    data = build_addin_bytes(name)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{name}.xlam"
    with atomic_write(target, prefix=f".{name}.") as stream:
        stream.write(data)
    return target
