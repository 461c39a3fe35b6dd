"""Append the output's cell formats to a workbook's own styles.xml, reusing what exists.

Existing style indices never change (every cell of the input keeps its look); new
formats are appended and their indices handed out by :meth:`StyleBook.xf`.
"""

from __future__ import annotations

import copy

from lxml import etree

from .xmlutil import NS_MAIN, parse_part, serialise

_Q = f"{{{NS_MAIN}}}"
BUILTIN_FORMATS = {
    "General": 0,
    "0": 1,
    "0.00": 2,
    "#,##0": 3,
    "#,##0.00": 4,
    "0%": 9,
    "0.00%": 10,
}

MINIMAL_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/><color theme="1"/><name val="Calibri"/>'
    b'<family val="2"/><scheme val="minor"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium2" '
    b'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
)

# Order of styleSheet children required by the schema.
_ORDER = [
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
]


class StyleBook:
    """The workbook's styles.xml plus the formats this run adds to it."""

    def __init__(self, data: bytes | None):
        self.root = parse_part(data or MINIMAL_STYLES, "xl/styles.xml")
        self._xfs: dict[tuple, int] = {}
        self._fills: dict[str, int] = {}
        self._bold_font: int | None = None
        self._known: dict[str, dict[tuple, int]] = {}  # container -> entry shape -> index
        self._formats: dict[str, int] = {}
        self._sealed = False
        for code, number in BUILTIN_FORMATS.items():
            self._formats[code] = number
        numfmts = self._child("numFmts", create=False)
        for element in numfmts if numfmts is not None else []:
            self._formats.setdefault(element.get("formatCode", ""), int(element.get("numFmtId")))

    def _child(self, tag: str, create: bool = True):
        element = self.root.find(_Q + tag)
        if element is None and create:
            element = etree.Element(_Q + tag)
            position = _ORDER.index(tag)
            for index, child in enumerate(self.root):
                name = etree.QName(child).localname
                if name in _ORDER and _ORDER.index(name) > position:
                    self.root.insert(index, element)
                    break
            else:
                self.root.append(element)
        return element

    @staticmethod
    def _append(container, element) -> int:
        container.append(element)
        count = len(container.findall(element.tag))
        container.set("count", str(count))
        return count - 1

    def _reuse_or_append(self, container, element) -> int:
        """The index of an existing entry identical to ``element``, else of it appended.

        An earlier run's formats are in the workbook's styles.xml already; appending them
        again grew the part by dozens of entries per run.
        """
        # Keyed by the container's tag (one of each in styles.xml): lxml's element proxies
        # come and go, so their id() is no key.
        name = etree.QName(container).localname
        index = self._known.get(name)
        if index is None:
            index = {}
            for position, child in enumerate(container.findall(element.tag)):
                index.setdefault(_shape(child), position)
            self._known[name] = index
        shape = _shape(element)
        if shape not in index:
            index[shape] = self._append(container, element)
        return index[shape]

    def _number_format(self, code: str | None) -> int:
        if not code:
            return 0
        if code not in self._formats:
            numfmts = self._child("numFmts")
            used = [int(e.get("numFmtId")) for e in numfmts] + [163]
            number = max(used) + 1
            element = etree.Element(_Q + "numFmt", numFmtId=str(number), formatCode=code)
            self._append(numfmts, element)
            self._formats[code] = number
        return self._formats[code]

    def _fill(self, rgb: str | None) -> int:
        if not rgb:
            return 0
        if rgb not in self._fills:
            fill = etree.Element(_Q + "fill")
            pattern = etree.SubElement(fill, _Q + "patternFill", patternType="solid")
            etree.SubElement(pattern, _Q + "fgColor", rgb="FF" + rgb)
            etree.SubElement(pattern, _Q + "bgColor", indexed="64")
            self._fills[rgb] = self._reuse_or_append(self._child("fills"), fill)
        return self._fills[rgb]

    def _font(self, bold: bool) -> int:
        if not bold:
            return 0
        if self._bold_font is None:
            fonts = self._child("fonts")
            first = fonts.find(_Q + "font")
            font = copy.deepcopy(first) if first is not None else etree.Element(_Q + "font")
            for old in font.findall(_Q + "b"):
                font.remove(old)
            font.insert(0, etree.Element(_Q + "b"))
            self._bold_font = self._reuse_or_append(fonts, font)
        return self._bold_font

    def xf(
        self,
        number_format: str | None = None,
        fill: str | None = None,
        bold: bool = False,
        wrap: bool = False,
        top: bool = False,
    ) -> int:
        """Index of a cell format with these properties, appended on first use (``top``:
        aligned to the top of the cell, for rows made tall by a wrapped neighbour)."""
        key = (number_format or None, fill or None, bold, wrap, top)
        if key == (None, None, False, False, False):
            return 0
        if key not in self._xfs:
            if self._sealed:
                raise RuntimeError(f"cell format {key} added after styles.xml was written")
            attributes = {
                "numFmtId": str(self._number_format(number_format)),
                "fontId": str(self._font(bold)),
                "fillId": str(self._fill(fill)),
                "borderId": "0",
                "xfId": "0",
            }
            if number_format:
                attributes["applyNumberFormat"] = "1"
            if bold:
                attributes["applyFont"] = "1"
            if fill:
                attributes["applyFill"] = "1"
            element = etree.Element(_Q + "xf", **attributes)
            if wrap or top:
                element.set("applyAlignment", "1")
                alignment = etree.SubElement(element, _Q + "alignment")
                if top:
                    alignment.set("vertical", "top")
                if wrap:
                    alignment.set("wrapText", "1")
            self._xfs[key] = self._reuse_or_append(self._child("cellXfs"), element)
        return self._xfs[key]

    def to_bytes(self) -> bytes:
        """The styles part with every appended format."""
        return serialise(self.root)

    def seal(self) -> None:
        """Refuse new formats from now on (styles.xml is written: a sheet rendered later
        may only use formats registered before; a new one would be a dangling index)."""
        self._sealed = True


def _shape(element) -> tuple:
    """What an XML element says, independent of attribute order (for finding twins)."""
    return (
        etree.QName(element).localname,
        tuple(sorted(element.attrib.items())),
        (element.text or "").strip(),
        tuple(_shape(child) for child in element),
    )
