"""Splice output into an existing xlsx/xlsm package, or build a new package from grids.

Parts are copied as they are except: the receivables sheet (streamed; stage cells appended
to each row), workbook.xml, its relationships, [Content_Types].xml, styles.xml, the
tables over the receivables range, and the parts of output sheets from an earlier run
(replaced in place, so sheet order, ids and defined names stay valid).
"""

from __future__ import annotations

import contextlib
import functools
import io
import posixpath
import queue
import re
import sys
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..core.grid import SheetGrid
from ..core.sheetnames import labels_fit_table
from ..core.sheets import SheetModel, StageColumns
from ..core.xlref import column_letter, column_number
from ..cores import spare_core
from ..zipstream import ReadAhead, fast_deflate
from .parallel import ForkedCalls
from .styles import StyleBook
from .worksheet import (
    cell_xml,
    print_area,
    print_titles,
    register_styles,
    render_chart,
    render_drawing,
    render_sheet,
    render_table,
    table_name,
)
from .xmlutil import (
    NS_CT,
    NS_MAIN,
    NS_PKG_REL,
    NS_REL,
    inline_string_cell,
    number_cell,
    parse_part,
    serialise,
)

CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_TABLE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
RT_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
RT_TABLE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"
RT_DRAWING = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing"
RT_CHART = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"
RT_STYLES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
_M = f"{{{NS_MAIN}}}"
_R = f"{{{NS_REL}}}"
_P = f"{{{NS_PKG_REL}}}"
_C = f"{{{NS_CT}}}"
CHUNK = 4 * 1024 * 1024

# When the new sheets are rendered in a forked child while the receivables sheet's rows
# are rewritten here (see :mod:`receivables.xlsx.parallel`): only when both jobs are big
# enough for the overlap to pay for the fork (measured at 100k rows: the fork of a 400 MB
# process takes ~10 ms, sending 20 MB of sheets back ~35 ms; sheets render at ~1.3
# million cells and rows are rewritten at ~300,000 rows a second), and not for the
# largest ledgers: there the zip writer thread keeps the second core busy compressing
# the rows (measured at 500k rows: 2.2-2.4 s without the child, 2.45-2.85 s with it;
# at 100k rows 0.73-0.79 s without, 0.58-0.67 s with), and the child's memory (its
# rendered sheets and the pages it copies) would raise the peak of the largest runs.
FORK_MIN_CELLS = 50_000  # cells of the sheets to render
FORK_MIN_ROWS = 20_000  # rows of the receivables sheet
FORK_MAX_ROWS = 200_000


def rels_path(part: str) -> str:
    """Path of the relationships part of ``part`` (xl/a.xml -> xl/_rels/a.xml.rels)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    """Absolute part name of a relationship ``target`` relative to ``source_part``."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def relative(source_part: str, target_part: str) -> str:
    """Relationship target of ``target_part`` as seen from ``source_part``."""
    return posixpath.relpath(target_part, posixpath.dirname(source_part))


@dataclass
class _Rels:
    """A relationships part, editable."""

    root: etree._Element

    @classmethod
    def parse(cls, data: bytes | None, part: str) -> _Rels:
        if data is None:
            return cls(etree.Element(_P + "Relationships", nsmap={None: NS_PKG_REL}))
        return cls(parse_part(data, part))

    def items(self) -> list[tuple[str, str, str, str]]:
        """(id, type, target, mode) of every relationship."""
        return [
            (e.get("Id"), e.get("Type"), e.get("Target"), e.get("TargetMode", ""))
            for e in self.root.findall(_P + "Relationship")
        ]

    def add(self, rel_type: str, target: str) -> str:
        used = {e.get("Id") for e in self.root.findall(_P + "Relationship")}
        number = 1
        while f"rId{number}" in used:
            number += 1
        rid = f"rId{number}"
        etree.SubElement(self.root, _P + "Relationship", Id=rid, Type=rel_type, Target=target)
        return rid

    def to_bytes(self) -> bytes:
        return serialise(self.root)


@dataclass
class _Package:
    """The parts of a zip package: originals, replacements, removals and additions."""

    archive: zipfile.ZipFile | None
    names: list[str]
    replaced: dict[str, bytes] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    # ``names`` as a set, and the next number to try per free_name pattern: lookups stay
    # constant-time in a package of hundreds of thousands of parts.
    known: set[str] = field(default_factory=set)
    next_free: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.known = set(self.names)

    def read(self, name: str) -> bytes | None:
        if name in self.replaced:
            return self.replaced[name]
        if name in self.removed or self.archive is None or name not in self.archive.NameToInfo:
            return None
        return self.archive.read(name)

    def exists(self, name: str) -> bool:
        return name in self.replaced or (name in self.known and name not in self.removed)

    def put(self, name: str, data: bytes) -> None:
        self.replaced[name] = data
        self.removed.discard(name)
        if name not in self.known:
            self.known.add(name)
            self.names.append(name)

    def free_name(self, pattern: str) -> str:
        number = self.next_free.get(pattern, 1)
        while self.exists(pattern.format(number)):
            number += 1
        # Names handed out are put() at once; removed ones are not reused (any is fine).
        self.next_free[pattern] = number + 1
        return pattern.format(number)


class SpliceWriter:
    """Add output sheets and stage columns to a package; see :func:`write_output`."""

    def __init__(self, source: bytes | None, date1904: bool = False):
        if source is None:
            archive = None
            names: list[str] = []
        else:
            archive = zipfile.ZipFile(io.BytesIO(source))
            # A damaged zip may repeat an entry name; the last one is the one readers use.
            names = list(dict.fromkeys(info.filename for info in archive.infolist()))
        self.package = _Package(archive, names)
        self.date1904 = date1904
        if archive is None:
            self._create_skeleton()
        self.content_types = parse_part(
            self.package.read("[Content_Types].xml"), "[Content_Types].xml"
        )
        self.workbook_part = self._find_workbook_part()
        self.workbook = parse_part(self.package.read(self.workbook_part), self.workbook_part)
        self.workbook_rels = _Rels.parse(
            self.package.read(rels_path(self.workbook_part)), rels_path(self.workbook_part)
        )
        styles_part = self._styles_part()
        self.styles_part = styles_part
        self.styles = StyleBook(self.package.read(styles_part) if styles_part else None)
        self.streamed: dict[str, tuple[StageColumns, str]] = {}
        # Sheet parts rendered when they are written (their styles registered already).
        self.renders: dict[str, _Render] = {}
        self._table_ids = self._existing_table_ids()

    # -- package structure -------------------------------------------------------------

    def _create_skeleton(self) -> None:
        ct = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Types xmlns="{NS_CT}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            "</Types>"
        )
        rels = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        )
        date1904_attr = ' date1904="1"' if self.date1904 else ""
        workbook = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">'
            f"<workbookPr{date1904_attr}/>"
            '<bookViews><workbookView activeTab="0"/></bookViews><sheets/></workbook>'
        )
        workbook_rels = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" Type="{RT_STYLES}" '
            'Target="styles.xml"/></Relationships>'
        )
        from .styles import MINIMAL_STYLES

        self.package.put("[Content_Types].xml", ct.encode())
        self.package.put("_rels/.rels", rels.encode())
        self.package.put("xl/workbook.xml", workbook.encode())
        self.package.put("xl/_rels/workbook.xml.rels", workbook_rels.encode())
        self.package.put("xl/styles.xml", MINIMAL_STYLES)

    def _find_workbook_part(self) -> str:
        rels = _Rels.parse(self.package.read("_rels/.rels"), "_rels/.rels")
        for _rid, rel_type, target, _mode in rels.items():
            if rel_type.endswith("/officeDocument"):
                return resolve("", target)
        return "xl/workbook.xml"

    def _styles_part(self) -> str | None:
        for _rid, rel_type, target, _mode in self.workbook_rels.items():
            if rel_type == RT_STYLES:
                return resolve(self.workbook_part, target)
        part = posixpath.join(posixpath.dirname(self.workbook_part), "styles.xml")
        self.workbook_rels.add(RT_STYLES, "styles.xml")
        self._set_override(
            part, "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
        )
        return part

    def _set_override(self, part: str, content_type: str) -> None:
        name = "/" + part
        for element in self.content_types.findall(_C + "Override"):
            if element.get("PartName") == name:
                element.set("ContentType", content_type)
                return
        etree.SubElement(
            self.content_types, _C + "Override", PartName=name, ContentType=content_type
        )

    def _drop_override(self, part: str) -> None:
        name = "/" + part
        for element in self.content_types.findall(_C + "Override"):
            if element.get("PartName") == name:
                self.content_types.remove(element)

    def _sheets(self) -> list[etree._Element]:
        sheets = self.workbook.find(_M + "sheets")
        return [] if sheets is None else sheets.findall(_M + "sheet")

    def sheet_part(self, name: str) -> str | None:
        """The part holding the sheet called ``name`` (case-insensitive, as Excel)."""
        targets = {rid: target for rid, _t, target, _m in self.workbook_rels.items()}
        for sheet in self._sheets():
            if sheet.get("name", "").casefold() == name.casefold():
                target = targets.get(sheet.get(_R + "id"))
                return resolve(self.workbook_part, target) if target else None
        return None

    def _existing_table_ids(self) -> set[int]:
        ids = set()
        for name in self.package.names:
            if name.startswith("xl/tables/") and name.endswith(".xml"):
                data = self.package.read(name)
                match = re.search(rb'<(?:\w+:)?table\b[^>]*?\bid="(\d+)"', data or b"")
                if match:
                    ids.add(int(match.group(1)))
        return ids

    def _table_names(self) -> set[str]:
        names = set()
        for name in self.package.names:
            if name.startswith("xl/tables/") and self.package.exists(name):
                match = re.search(rb'\bdisplayName="([^"]+)"', self.package.read(name) or b"")
                if match:
                    names.add(match.group(1).decode("utf-8", "replace").casefold())
        return names

    def _remove_part_tree(self, part: str) -> None:
        """Remove a part with the drawings, charts and tables it alone points to."""
        rels_name = rels_path(part)
        data = self.package.read(rels_name)
        if data is not None:
            for _rid, rel_type, target, mode in _Rels.parse(data, rels_name).items():
                if mode == "External":
                    continue
                if rel_type in (RT_DRAWING, RT_CHART, RT_TABLE) or rel_type.endswith(
                    ("/chartUserShapes", "/chartStyle", "/chartColorStyle")
                ):
                    self._remove_part_tree(resolve(part, target))
            self.package.removed.add(rels_name)
            self.package.replaced.pop(rels_name, None)
        self.package.removed.add(part)
        self.package.replaced.pop(part, None)
        self._drop_override(part)

    # -- edits -------------------------------------------------------------------------

    def add_sheet(self, model: SheetModel, replaceable: frozenset[str] = frozenset()) -> None:
        """Write ``model`` as a sheet, replacing an earlier output of the same name in place.

        Only a sheet named in ``replaceable`` (casefolded; see
        :func:`receivables.core.sheetnames.name_outputs`) is replaced: any other clash is a
        bug of the caller, and would lose a sheet of the user's.
        """
        part = self._output_sheet_part(model, replaceable)
        self._set_override(part, CT_SHEET)
        rels = _Rels.parse(None, rels_path(part))
        table_rid = self._add_table(model, part, rels) if model.as_table and model.columns else None
        drawing_rid = self._add_charts(model, part, rels) if model.charts else None
        # The sheet's XML is made when the part is written, maybe in another process
        # (see save); its formats are registered now, sheet after sheet, so that their
        # indices in styles.xml are the same either way.
        sheet_styles = register_styles(model, self.styles)
        self.package.put(part, b"")  # its place in the package; the bytes come later
        self.renders[part] = _Render(
            functools.partial(
                render_sheet, model, sheet_styles, self.date1904, drawing_rid, table_rid
            ),
            len(model.rows) * max(len(model.columns), 1),
        )
        self._set_print_titles(model)
        if drawing_rid or table_rid:
            self.package.put(rels_path(part), rels.to_bytes())

    def _output_sheet_part(self, model: SheetModel, replaceable: frozenset[str]) -> str:
        """The part ``model`` is written to: that of an earlier output of its name (its
        old parts removed), else a new sheet's, registered in the workbook."""
        part = self.sheet_part(model.name)
        if part is None and any(
            s.get("name", "").casefold() == model.name.casefold() for s in self._sheets()
        ):
            part = ""  # a sheet of that name without a part of its own: never ours
        if part is not None:
            if model.name.casefold() not in replaceable or not part:
                raise ValueError(
                    f"the output sheet {model.name!r} would replace a sheet of "
                    "the workbook that is not an earlier output"
                )
            self._remove_part_tree(part)
            return part
        part = self.package.free_name(
            posixpath.join(posixpath.dirname(self.workbook_part), "worksheets/sheet{}.xml")
        )
        rid = self.workbook_rels.add(RT_SHEET, relative(self.workbook_part, part))
        sheets = self.workbook.find(_M + "sheets")
        if sheets is None:
            sheets = etree.SubElement(self.workbook, _M + "sheets")
        sheet_id = max((int(s.get("sheetId", "0")) for s in self._sheets()), default=0) + 1
        element = etree.SubElement(sheets, _M + "sheet", name=model.name, sheetId=str(sheet_id))
        element.set(_R + "id", rid)
        return part

    def _add_table(self, model: SheetModel, part: str, rels: _Rels) -> str:
        """Write the table of sheet ``part`` under a name no table or defined name of the
        workbook has (a number appended), related in ``rels``; return its relationship id."""
        table_part = self.package.free_name("xl/tables/table{}.xml")
        table_id = max(self._table_ids, default=0) + 1
        self._table_ids.add(table_id)
        name = table_name(model)
        taken = self._table_names() | {
            e.get("name", "").casefold() for e in self.workbook.iter(_M + "definedName")
        }
        base, suffix = name, 2
        while name.casefold() in taken:
            name, suffix = f"{base}{suffix}", suffix + 1
        self.package.put(table_part, render_table(model, table_id, name))
        self._set_override(table_part, CT_TABLE)
        return rels.add(RT_TABLE, relative(part, table_part))

    def _add_charts(self, model: SheetModel, part: str, rels: _Rels) -> str:
        """Write the charts of sheet ``part`` and the drawing holding them, related in
        ``rels``; return the drawing's relationship id."""
        drawing_part = self.package.free_name("xl/drawings/drawing{}.xml")
        drawing_rels = _Rels.parse(None, rels_path(drawing_part))
        for chart in model.charts:
            chart_part = self.package.free_name("xl/charts/chart{}.xml")
            self.package.put(chart_part, render_chart(chart, model.name, model))
            self._set_override(chart_part, CT_CHART)
            drawing_rels.add(RT_CHART, relative(drawing_part, chart_part))
        self.package.put(drawing_part, render_drawing(model.charts))
        self.package.put(rels_path(drawing_part), drawing_rels.to_bytes())
        self._set_override(drawing_part, CT_DRAWING)
        return rels.add(RT_DRAWING, relative(part, drawing_part))

    def _set_print_titles(self, model: SheetModel) -> None:
        """Repeat the model's header row on every printed page (the sheet's
        ``_xlnm.Print_Titles`` defined name) and limit what prints (``_xlnm.Print_Area``),
        replacing the names an earlier run wrote."""
        index = next(
            i
            for i, sheet in enumerate(self._sheets())
            if sheet.get("name", "").casefold() == model.name.casefold()
        )
        names = self.workbook.find(_M + "definedNames")
        if names is not None:
            for element in names.findall(_M + "definedName"):
                if element.get("name") in (
                    "_xlnm.Print_Titles",
                    "_xlnm.Print_Area",
                ) and element.get("localSheetId") == str(index):
                    names.remove(element)
        for name, formula in (
            ("_xlnm.Print_Titles", print_titles(model)),
            ("_xlnm.Print_Area", print_area(model)),
        ):
            if formula is not None:
                names = self._defined_name(names, name, index, formula)

    def _defined_name(self, names, name: str, index: int, formula: str):
        """Add the sheet-local defined name ``name`` (``<definedNames>`` made if needed)."""
        if names is None:
            names = etree.Element(_M + "definedNames")
            # definedNames follows sheets (and externalReferences) in the schema order.
            anchor = self.workbook.find(_M + "externalReferences")
            if anchor is None:
                anchor = self.workbook.find(_M + "sheets")
            anchor.addnext(names)
        element = etree.SubElement(names, _M + "definedName", name=name, localSheetId=str(index))
        element.text = formula
        return names

    def add_grid_sheet(
        self, grid: SheetGrid, stage_columns: StageColumns | None = None, hidden: bool = False
    ) -> None:
        """Write a sheet of plain values (for inputs that are not an xlsx package)."""
        part = self.package.free_name("xl/worksheets/sheet{}.xml")
        rid = self.workbook_rels.add(RT_SHEET, relative(self.workbook_part, part))
        sheets = self.workbook.find(_M + "sheets")
        sheet_id = max((int(s.get("sheetId", "0")) for s in self._sheets()), default=0) + 1
        element = etree.SubElement(sheets, _M + "sheet", name=grid.name, sheetId=str(sheet_id))
        if hidden:
            element.set("state", "hidden")
        element.set(_R + "id", rid)
        self._set_override(part, CT_SHEET)
        self.package.put(part, render_grid(grid, self.styles, self.date1904, stage_columns))

    def append_stage_columns(self, edit: StageColumns) -> None:
        """Arrange for the receivables sheet to get the stage columns (streamed on save)."""
        part = self.sheet_part(edit.sheet)
        if part is None:
            raise KeyError(edit.sheet)
        self.streamed[part] = (edit, self._stage_styles(edit))
        self._extend_tables(part, edit)

    def _stage_styles(self, edit: StageColumns):
        styles: dict[tuple[int, str | None], int] = {}
        for fill in dict.fromkeys([None, *edit.fills.values()]):  # ordered: same bytes every run
            for index, number_format in enumerate(edit.formats):
                styles[(index, fill)] = self.styles.xf(number_format, fill)
        styles[(-1, None)] = self.styles.xf(bold=True)
        return styles

    def _extend_tables(self, sheet_part: str, edit: StageColumns) -> None:
        """Widen a table whose header row is the receivables header to cover new columns."""
        rels_name = rels_path(sheet_part)
        data = self.package.read(rels_name)
        if data is None:
            return
        last_new = edit.start_column + 3
        for _rid, rel_type, target, mode in _Rels.parse(data, rels_name).items():
            if rel_type != RT_TABLE or mode == "External":
                continue
            table_part = resolve(sheet_part, target)
            table = parse_part(self.package.read(table_part) or b"", table_part)
            ref = table.get("ref", "")
            match = re.match(r"([A-Z]+)(\d+):([A-Z]+)(\d+)$", ref)
            if not match or int(match.group(2)) != edit.header_row:
                continue
            first_col, last_col = column_number(match.group(1)), column_number(match.group(3))
            if not first_col <= edit.start_column - 1 <= last_col or last_col >= last_new:
                continue
            if last_col != edit.start_column - 1:
                continue
            new_ref = f"{match.group(1)}{match.group(2)}:{column_letter(last_new)}{match.group(4)}"
            table.set("ref", new_ref)
            auto_filter = table.find(_M + "autoFilter")
            if auto_filter is not None:
                auto_filter.set("ref", new_ref)
            columns = table.find(_M + "tableColumns")
            if not labels_fit_table([c.get("name", "") for c in columns], edit.labels):
                # The table has a column of that name already (its own "Next Action"): two
                # columns of one name make Excel repair the file, so the table stays as it
                # is and our columns stand beside it.
                continue
            ids = [int(c.get("id", "0")) for c in columns]
            for offset, label in enumerate(edit.labels, start=1):
                etree.SubElement(columns, _M + "tableColumn", id=str(max(ids) + offset), name=label)
            columns.set("count", str(len(columns)))
            self.package.put(table_part, serialise(table))

    # -- output ------------------------------------------------------------------------

    def save(self, target: io.BufferedIOBase | str | Path, parallel: bool | None = None) -> int:
        """Write the package to ``target`` (a path or a binary file object).

        The new sheets are rendered in a forked child meanwhile when ``parallel`` is
        True, or when None and the work is big enough (:meth:`_worth_forking`), where
        forking is safe (:func:`~receivables.xlsx.parallel.can_fork`); the bytes are the
        same either way. Returns how many sheets the child rendered (0: all made here).
        """
        self.package.put("[Content_Types].xml", serialise(self.content_types))
        self.package.put(self.workbook_part, serialise(self.workbook))
        self.package.put(rels_path(self.workbook_part), self.workbook_rels.to_bytes())
        if self.styles_part:
            self.package.put(self.styles_part, self.styles.to_bytes())
        self.styles.seal()
        order = ["[Content_Types].xml"] + [
            n for n in self.package.names if n != "[Content_Types].xml"
        ]
        forking = self._worth_forking() if parallel is None else parallel
        # Forked before the threads below start: a child of a threaded process may
        # inherit a lock held for ever.
        forked = self._fork_renders(order) if forking else _NoRenders()
        # Level 1: a third of level 6's time for ~10% larger parts; Excel reads either.
        with (
            forked,
            fast_deflate(),
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
            _Worker() as worker,
            _quick_thread_switches(),
        ):
            # zlib and crc32 release the GIL: the worker compresses and writes every part
            # while this thread rewrites the rows of the receivables sheet.
            self._write_parts(out, worker, order, forked)
        return forked.used

    def _worth_forking(self) -> bool:
        """Whether the sheets to render and the rows to rewrite are both big enough for
        rendering in a child to pay, and the ledger small enough (see FORK_MIN_CELLS),
        with a core to spare."""
        cells = sum(render.cells for render in self.renders.values())
        rows = sum(len(edit.cells) for edit, _styles in self.streamed.values())
        return cells >= FORK_MIN_CELLS and FORK_MIN_ROWS <= rows <= FORK_MAX_ROWS and spare_core()

    def _fork_renders(self, order: list[str]) -> _ForkedRenders | _NoRenders:
        """Start rendering, in a forked child, the sheets written after the first
        streamed sheet (this process rewrites its rows meanwhile; a sheet written before
        it is rendered here, as it would be waited for anyway)."""
        first = next((i for i, name in enumerate(order) if name in self.streamed), len(order))
        names = [name for name in order[first:] if name in self.renders]
        forked = ForkedCalls.start([self.renders[name].call for name in names])
        return _NoRenders() if forked is None else _ForkedRenders(forked, names)

    def _write_parts(
        self,
        out: zipfile.ZipFile,
        worker: _Worker,
        order: list[str],
        forked: _ForkedRenders | _NoRenders,
    ) -> None:
        """Hand every part of the package to ``worker`` to write into ``out``, in
        ``order`` ([Content_Types].xml first); the streamed sheets' rows are rewritten
        here, and the sheets to render are rendered here or taken from ``forked``."""
        package = self.package
        # Small parts go to the worker in batches: one hand-over per part costs more
        # than copying it, and a package may hold 100,000 of them.
        batch: list[zipfile.ZipInfo] = []
        batch_bytes = 0
        for name in order:
            if name in package.removed:
                continue
            if (
                name not in self.streamed
                and name not in package.replaced
                and package.archive is not None
            ):
                info = package.archive.NameToInfo[name]
                if info.is_dir():
                    continue
                if info.file_size < _SMALL_PART:
                    batch.append(info)
                    batch_bytes += info.file_size
                    if len(batch) >= 256 or batch_bytes >= CHUNK:
                        worker.submit(_copy_parts, package.archive, batch, out)
                        batch, batch_bytes = [], 0
                    continue
            if batch:
                worker.submit(_copy_parts, package.archive, batch, out)
                batch, batch_bytes = [], 0
            if name in self.streamed:
                self._stream_part(name, out, worker)
            elif name in self.renders:
                data = forked.take(name)
                if data is None:
                    data = self.renders[name].call()
                worker.submit(out.writestr, _zipinfo(name), data)
            elif name in package.replaced:
                worker.submit(out.writestr, _zipinfo(name), package.replaced[name])
            elif package.archive is not None:
                info = package.archive.NameToInfo[name]
                worker.submit(_copy_part, package.archive, info, out)
        if batch:
            worker.submit(_copy_parts, package.archive, batch, out)

    def _stream_part(self, name: str, out: zipfile.ZipFile, worker: _Worker) -> None:
        """Rewrite sheet part ``name`` with its stage cells as it is read, block by
        block, the blocks compressed and written by ``worker``."""
        edit, styles = self.streamed[name]
        sink = _QueuedSink(worker, out, _zipinfo(name))
        try:
            with ReadAhead(self.package.archive, name, CHUNK) as source:
                stream_stage_columns(source, sink, edit, styles)
        finally:
            sink.close()


@dataclass(frozen=True)
class _Render:
    """A sheet part made when it is written: the call making its bytes, and its cells
    (rows x columns, what rendering it costs)."""

    call: Callable[[], bytes]
    cells: int


class _ForkedRenders:
    """The sheets a forked child renders, by part name (see SpliceWriter.save)."""

    def __init__(self, forked: ForkedCalls, names: list[str]) -> None:
        self.forked = forked
        self.names = names
        self.rendered: dict[str, bytes] | None = None
        self.used = 0  # sheets taken from the child

    def take(self, name: str) -> bytes | None:
        """The child's bytes of part ``name`` (waits for them), or None: not one of its
        parts, or the child failed (the caller renders it then, to the same bytes)."""
        if self.rendered is None:
            results = self.forked.results()
            self.rendered = dict(zip(self.names, results, strict=True)) if results else {}
        data = self.rendered.pop(name, None)
        self.used += data is not None
        return data

    def __enter__(self) -> _ForkedRenders:
        return self

    def __exit__(self, *exc_info) -> None:
        self.forked.close()


class _NoRenders:
    """No child: every sheet is rendered where it is written."""

    used = 0

    def take(self, name: str) -> None:
        return None

    def __enter__(self) -> _NoRenders:
        return self

    def __exit__(self, *exc_info) -> None:
        return None


@contextlib.contextmanager
def _quick_thread_switches() -> Iterator[None]:
    """Let threads take turns every millisecond (Python's default: 5 ms) meanwhile.

    Between its zlib calls the zip writer thread needs the GIL for a moment; while the
    row rewrite holds it, each such moment otherwise waits up to 5 ms, and the writer
    falls behind (~0.1 s per 100,000 rows).
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.001))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


_SMALL_PART = 64 * 1024


def _copy_parts(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], out: zipfile.ZipFile
) -> None:
    """Copy several small parts as they are, in order."""
    for info in infos:
        out.writestr(_zipinfo(info.filename, info.date_time), archive.read(info))


def _copy_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: zipfile.ZipFile) -> None:
    """Copy one part as it is (recompressed), chunk by chunk."""
    with (
        archive.open(info) as source,
        out.open(
            _zipinfo(info.filename, info.date_time), "w", force_zip64=info.file_size > 2**31
        ) as sink,
    ):
        while chunk := source.read(CHUNK):
            sink.write(chunk)


class _Worker:
    """One background thread running submitted calls in order (the zip output's writer).

    A call that fails stops the worker (only cleanups still run); the error is raised in
    the submitting thread at its next submit, or when the ``with`` block ends.
    """

    def __init__(self) -> None:
        # Bounded: the rewritten sheet waits for the compressor instead of piling up.
        self.jobs: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="zip writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            function, args, cleanup = job
            if self.error is None or cleanup:
                try:
                    function(*args)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                    self.error = self.error or exc

    def submit(self, function, *args) -> None:
        """Queue ``function(*args)``; raises the error of an earlier call, if any."""
        if self.error is not None:
            raise self.error
        self.jobs.put((function, args, False))

    def cleanup(self, function, *args) -> None:
        """Queue ``function(*args)`` to run even after an error; never raises."""
        self.jobs.put((function, args, True))

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.jobs.put(None)
        self.thread.join()
        if kind is None and self.error is not None:
            raise self.error


class _QueuedSink:
    """A write-only stream of one zip member, written by the worker in order."""

    def __init__(self, worker: _Worker, out: zipfile.ZipFile, info: zipfile.ZipInfo):
        self.worker = worker
        self.holder: list = []
        worker.submit(self._open, out, info)

    def _open(self, out: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        self.holder.append(out.open(info, "w", force_zip64=True))

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the member."""
        if data:
            self.worker.submit(self._write, data)

    def _write(self, data: bytes) -> None:
        self.holder[0].write(data)

    def close(self) -> None:
        """Queue the end of the member (also after an error: the zip must close)."""
        self.worker.cleanup(self._close)

    def _close(self) -> None:
        if self.holder:
            self.holder.pop().close()


def _zipinfo(name: str, date_time=(1980, 1, 1, 0, 0, 0)) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    # A ZipInfo carries its own level (zipfile ignores the archive's for it); the
    # attribute is public from Python 3.13, private before.
    try:
        info.compress_level = 1
    except AttributeError:
        info._compresslevel = 1
    return info


# -- streaming the receivables sheet -------------------------------------------------------

_ROW_OPEN = re.compile(rb"<(\w+:)?row\b([^>]*?)(/?)>")
_ATTR_R = re.compile(rb'\br="(\d+)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b[^>]*?(?:/>|>.*?</(?:\w+:)?c>)", re.S)
_CELL_REF = re.compile(rb'^<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"')
_LAST_REF = re.compile(rb'r="([A-Z]+)\d+"')
_LETTERS = re.compile(rb"[A-Z]*")
_DIMENSION = re.compile(rb'<((?:\w+:)?)dimension\s+ref="([^"]*)"\s*/>')


def stream_stage_columns(source, sink, edit: StageColumns, styles) -> None:
    """Copy a worksheet part from ``source`` to ``sink``, adding the stage cells per row."""
    opened = _stream_head(source, sink, edit)
    if opened is None:
        return
    buffer, prefix = opened
    closer = b"</" + prefix + b"row>"
    state = {"row": 0, "end": b"</" + prefix + b"sheetData>"}
    letters = [column_letter(edit.start_column + i).encode() for i in range(4)]
    _stream_rows(source, sink, buffer, closer, (edit, styles, letters), state)


def _stream_head(source, sink, edit: StageColumns) -> tuple[bytes, bytes] | None:
    """Read up to the ``<sheetData>`` tag, write the head with its dimension and cols
    widened for the stage columns; return the bytes read after the tag and the tag's
    namespace prefix, or None when the whole part is written (no rows at all)."""
    buffer = b""
    # Head: everything before the first row; small, edited whole (dimension, cols).
    while True:
        chunk = source.read(CHUNK)
        buffer += chunk
        start = _find_sheetdata(buffer)
        if start is not None or not chunk:
            break
    if start is None:
        sink.write(buffer)
        return None
    prefix = re.match(rb"<(\w+:)?sheetData", buffer[start:]).group(1) or b""
    head_end = buffer.index(b">", start) + 1
    head = _edit_head(buffer[:head_end], edit, prefix)
    if buffer[head_end - 2 : head_end] == b"/>":  # <sheetData/>: no rows at all
        sink.write(head + buffer[head_end:])
        sink.write(source.read())
        return None
    sink.write(head)
    return buffer[head_end:], prefix


def _stream_rows(source, sink, buffer: bytes, closer: bytes, how: tuple, state: dict) -> None:
    """Write the rows from ``buffer`` on, then from ``source``, with their stage cells
    (``how``: the edit, styles and column letters), block by block, and the rest of
    the part after them as it is."""
    end_marker = state["end"]
    searched = 0  # the end marker is not in buffer[:searched + len(end_marker) - 1]
    while True:
        cut = buffer.rfind(closer)
        # sheetData ends after its last row: its end is looked for after the last closer
        # only. (An end before a closer, one in some part after sheetData, is found by
        # _rewrite_rows, which then leaves the rest as it is.)
        end = buffer.find(end_marker, max(cut, searched))
        if end == -1:
            searched = max(len(buffer) - len(end_marker) + 1, 0)
            chunk = source.read(CHUNK)
            if cut != -1 and chunk:
                cut += len(closer)
                # The rows up to the last closer (no copy of them made to cut them off).
                sink.write(_rewrite_rows(buffer, closer, *how, state, False))
                if state.get("ended"):  # all of buffer written, the rows ended in it
                    sink.write(chunk)
                    _copy_rest(source, sink)
                    return
                buffer = buffer[cut:] + chunk
                searched = max(searched - cut, 0)
                continue
            if chunk:
                buffer += chunk
                continue
            end = len(buffer)
        sink.write(_rewrite_rows(buffer[:end], closer, *how, state))
        sink.write(buffer[end:])
        _copy_rest(source, sink)
        return


def _copy_rest(source, sink) -> None:
    """Copy what is left of ``source`` to ``sink`` as it is, block by block."""
    while chunk := source.read(CHUNK):
        sink.write(chunk)


def _find_sheetdata(buffer: bytes) -> int | None:
    match = re.search(rb"<(?:\w+:)?sheetData\b", buffer)
    if match is None:
        return None
    if buffer.find(b">", match.start()) == -1:
        return None
    return match.start()


def _edit_head(head: bytes, edit: StageColumns, prefix: bytes) -> bytes:
    last_new = edit.start_column + 3

    def widen(match: re.Match) -> bytes:
        ref = match.group(2).decode()
        parts = re.match(r"\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$", ref)
        if not parts:
            return match.group(0)
        first_col, first_row = parts.group(1), parts.group(2)
        last_col = parts.group(3) or first_col
        last_row = parts.group(4) or first_row
        new_last = column_letter(max(column_number(last_col), last_new))
        return (
            match.group(1)
            + b'dimension ref="'
            + f"{first_col}{first_row}:{new_last}{last_row}".encode()
            + b'"/>'
        )

    head = _DIMENSION.sub(widen, head, count=1)
    wanted = [(edit.start_column + i, width) for i, width in enumerate(edit.widths)]
    cols = re.search(rb"<(\w+:)?cols>(.*?)</(?:\w+:)?cols>", head, re.S)
    p = prefix.decode()
    if cols is None:
        block = "".join(
            f'<{p}col min="{c}" max="{c}" width="{w:g}" customWidth="1"/>' for c, w in wanted
        ).encode()
        at = re.search(rb"<(?:\w+:)?sheetData\b", head).start()
        return head[:at] + b"<" + prefix + b"cols>" + block + b"</" + prefix + b"cols>" + head[at:]
    existing = [
        (int(m.group(1)), int(m.group(2)))
        for m in re.finditer(
            rb'<(?:\w+:)?col\b[^>]*?\bmin="(\d+)"[^>]*?\bmax="(\d+)"', cols.group(2)
        )
    ]
    free = [(c, w) for c, w in wanted if not any(lo <= c <= hi for lo, hi in existing)]
    if not free:
        return head
    # Columns must stay sorted: ours go after every range that starts before them.
    entries = re.findall(rb"<(?:\w+:)?col\b[^>]*?/>", cols.group(2))
    merged = [(int(re.search(rb'\bmin="(\d+)"', e).group(1)), e) for e in entries]
    merged += [
        (c, f'<{p}col min="{c}" max="{c}" width="{w:g}" customWidth="1"/>'.encode())
        for c, w in free
    ]
    merged.sort(key=lambda item: item[0])
    body = b"".join(e for _c, e in merged)
    return head[: cols.start(2)] + body + head[cols.end(2) :]


def _rewrite_rows(
    block: bytes, closer: bytes, edit: StageColumns, styles, letters, state, whole: bool = True
) -> bytes:
    """Rewrite complete rows in ``block``: append stage cells to header and data rows.

    With ``whole`` False, the text after the last closer (a row read in part, which the
    caller keeps for the next block) is left out.

    The hot loop of the writer (once per ledger row): the cells of a data row come from
    one bytes format per stage combination, and whether a row has cells right of the
    table is decided by its last cell's column letters, looked up once per letters.
    """
    rows = state.get("rows")
    if rows is None:
        rows = state["rows"] = _RowEditor(closer, edit, styles, letters)
    done = rows.rewrite_block(block, state, whole)
    if done is not None:
        return done
    # Rows close before sheetData does; a closer after its end (in a part of another
    # namespace, say) is no row's, and the text from the end on is left as it is.
    end = block.find(state["end"]) if "end" in state else -1
    if end != -1:
        state["ended"] = True
        return _rewrite_rows(block[:end], closer, edit, styles, letters, state) + block[end:]
    pieces = block.split(closer)
    out: list[bytes] = []
    append = out.append
    rewrite = rows.rewrite
    row_number = state["row"]
    for piece in pieces[:-1]:
        row_number = rewrite(piece, row_number, append)
    if whole:
        append(pieces[-1])  # text after the final </row> (whitespace, or nothing)
    state["row"] = row_number
    return b"".join(out)


class _RowEditor:
    """Appends the stage cells to one row at a time (see :func:`_rewrite_rows`)."""

    def __init__(self, closer: bytes, edit: StageColumns, styles, letters) -> None:
        self.closer = closer
        self.opener = closer.replace(b"</", b"<", 1)[:-1]  # b"<row" or b"<x:row"
        self.edit, self.styles, self.letters = edit, styles, letters
        self.cells_get = edit.cells.get
        self.fills_get = edit.fills.get
        self.formats: dict[tuple, bytes] = {}
        self.left_of_table: dict[bytes, bool] = {}
        # A plain row tag (its number first) and, for rewrite_block, a closer with it.
        plain_tag = b"(" + re.escape(self.opener) + rb' r="(\d+)"([^>]*)>)'
        self.first_tag = re.compile(rb"(\s*)" + plain_tag)
        self.by_closer = re.compile(re.escape(closer) + rb"(\s*)(?:" + plain_tag + b")?")
        # The formats of the stage cells with the closer after them, by stage combination.
        self.closed_formats: dict[tuple, bytes] = {}
        self.plain_ends: dict[bytes, bool] = {}
        self.unspanned: dict[bytes, bytes] = {}
        self.header_cells: bytes | None = None

    def rewrite_block(self, block: bytes, state: dict, whole: bool = True) -> bytes | None:
        """:func:`_rewrite_rows` for a block of plain rows, in bulk; None for any other.

        Plain rows (the rows of nearly every ledger) are tags ``<row r="7" ...>`` closed
        by ``</row>``, one after the other, with nothing at or right of the stage columns
        in their last cell. One split of the block at every closer and the plain row tag
        after it finds all of them (instead of a Python call and a few searches per row);
        then only the stage cells are made per row. The output is the same bytes as
        :meth:`rewrite`'s; any other block (a row without ``r``, a self-closing row, stage
        cells of an earlier run) is left to it.
        """
        rows = self._plain_rows(block, whole)
        if rows is None:
            return None
        first, parts, tags, texts, attributes, contents = rows
        numbers = list(map(int, texts))
        tails = self._tails(numbers, contents)
        if tails is None:
            return None
        if b"spans=" in b"".join(attributes):
            self._unspan(tags, texts, attributes, tails)
        # The rows' tags, contents, tails and the whitespace after each, in order, between
        # the whitespace before the first row and the text after the last.
        out: list = [None] * (4 * len(tags) + 2)
        out[0], out[-1] = first.group(1), parts[-1]
        out[1:-1:4] = tags
        out[2:-1:4] = contents
        out[3:-1:4] = tails
        out[4:-1:4] = parts[1::5]
        state["row"] = numbers[-1]
        # Without the whitespace and text after the last closer, unless whole.
        return b"".join(out if whole else out[:-2])

    def _plain_rows(self, block: bytes, whole: bool):
        """The plain rows of ``block`` column by column: the first row's tag match, the
        split parts, and per row its tag, number (as text), attributes and content; None
        when some row is not plain (see :meth:`rewrite_block`)."""
        parts = self.by_closer.split(block)
        # parts: the text before the first closer, then per closer: the whitespace after
        # it, the next row's tag, number and attributes (None when no plain row tag
        # follows), and the row's content up to the next closer.
        first = self.first_tag.match(parts[0]) if len(parts) > 1 else None
        if first is None or (whole and parts[-3] is not None):
            return None
        # Per row: its tag, number, attributes and content, and the whitespace after it.
        tags = [first.group(2), *parts[2:-5:5]]
        numbers = [first.group(3), *parts[3:-5:5]]
        attributes = [first.group(4), *parts[4:-5:5]]
        if None in numbers or b"/" in b"".join(attributes):  # a self-closing row
            return None
        contents = [parts[0][first.end() :], *parts[5:-5:5]]
        return first, parts, tags, numbers, attributes, contents

    def _tails(self, numbers: list[int], contents: list[bytes]) -> list[bytes] | None:
        """What follows each row's content: its stage cells (if any) and the closer;
        None when some row has a cell at or right of the stage columns.

        The hot loop of the bulk path (once per row): locals only, one format per stage
        combination."""
        closer, header_row = self.closer, self.edit.header_row
        cells_get, fills_get, forms = self.cells_get, self.fills_get, self.closed_formats
        plain_get = self.plain_ends.get
        tails = []
        append = tails.append
        for number, content in zip(numbers, contents, strict=True):
            values = cells_get(number)
            if values is None and number != header_row:
                append(closer)
                continue
            # rewrite() adds the cells at the end of a row whose last cell is left of them.
            at = content.rfind(b'r="')
            if at != -1:
                key = content[at + 3 : at + 7]
                plain = plain_get(key)
                if plain is None:
                    plain = self._plain_end(key)
                if not plain:
                    return None
            if number == header_row:
                append(self._header_cells() + closer)
            else:
                key = (values[1], values[2], values[3], fills_get(number))
                form = forms.get(key)
                if form is None:
                    form = forms[key] = _row_format(
                        number, self.edit, self.styles, self.letters
                    ) + closer.replace(b"%", b"%%")
                append(form % (number, int(values[0]), number, number, number))
        return tails

    def _unspan(self, tags: list, texts: list, attributes: list, tails: list) -> None:
        """Remake, in ``tags``, the tags of the rows that get cells (their tail is not the
        bare closer) without their spans, which would no longer cover the row."""
        # Their attributes repeat row after row: each is stripped of spans once.
        closer, opener, unspanned = self.closer, self.opener + b' r="', self.unspanned
        for index, (attrs, tail) in enumerate(zip(attributes, tails, strict=True)):
            if tail is not closer and b"spans=" in attrs:
                kept = unspanned.get(attrs)
                if kept is None:
                    kept = unspanned[attrs] = _without_spans(attrs, 0, len(attrs))
                tags[index] = opener + texts[index] + b'"' + kept + b">"

    def _plain_end(self, key: bytes) -> bool:
        """Whether a row whose last ``r="`` is followed by ``key`` (its next four bytes)
        surely has nothing at or right of the stage columns; False when unsure."""
        letters = _LETTERS.match(key).group(0)
        plain = len(letters) < len(key) and (
            not letters or column_number(letters.decode()) < self.edit.start_column
        )
        self.plain_ends[key] = plain
        return plain

    def _header_cells(self) -> bytes:
        if self.header_cells is None:
            self.header_cells = _stage_cells(
                self.edit.header_row, self.edit, self.styles, self.letters
            )
        return self.header_cells

    def rewrite(self, piece: bytes, row_number: int, append) -> int:
        """Append ``piece`` (text ending where its row closes) with the row's stage cells
        and the closer; return the row's number."""
        opener = self.opener
        start = piece.rfind(opener)
        after = start + len(opener)
        while start != -1 and piece[after : after + 1] not in b" >\t\r\n/":
            start = piece.rfind(opener, 0, start)  # "<rowBreaks" and the like are not rows
            after = start + len(opener)
        if start == -1:
            append(piece)
            append(self.closer)
            return row_number
        if start and piece.count(opener, 0, start):
            row_number = _numbers_before(piece, start, row_number)
        tag_end = piece.index(b">", start) + 1
        found = _ATTR_R.search(piece, start, tag_end)
        row_number = int(found.group(1)) if found else row_number + 1
        values = self.cells_get(row_number)
        if values is None and row_number != self.edit.header_row:
            append(piece)
            append(self.closer)
            return row_number
        new_cells = self._new_cells(row_number, values)
        last_ref = piece.rfind(b'r="', tag_end)
        match = _LAST_REF.match(piece, last_ref) if last_ref != -1 else None
        if match is None or self._left_of_table(match.group(1)):
            # Nothing right of the table (the usual case): the cells go at the end of the
            # row, without the copies _merge_cells makes.
            append(_without_spans(piece, start, tag_end))
            append(new_cells)
            append(self.closer)
            return row_number
        content = _merge_cells(piece[tag_end:], new_cells, self.edit.start_column, self.letters)
        append(_without_spans(piece[:tag_end], start, tag_end) + content + self.closer)
        return row_number

    def _new_cells(self, row_number: int, values) -> bytes:
        if row_number == self.edit.header_row:
            return _stage_cells(row_number, self.edit, self.styles, self.letters)
        key = (*values[1:], self.fills_get(row_number))
        form = self.formats.get(key)
        if form is None:
            form = self.formats[key] = _row_format(row_number, self.edit, self.styles, self.letters)
        return form % (row_number, int(values[0]), row_number, row_number, row_number)

    def _left_of_table(self, column: bytes) -> bool:
        left = self.left_of_table.get(column)
        if left is None:
            left = column_number(column.decode()) < self.edit.start_column
            self.left_of_table[column] = left
        return left


def _numbers_before(piece: bytes, start: int, row_number: int) -> int:
    """The row number after the self-closing rows before ``start`` (a row without ``r``
    follows the previous one)."""
    for match in _ROW_OPEN.finditer(piece, 0, start):
        found = _ATTR_R.search(match.group(2))
        row_number = int(found.group(1)) if found else row_number + 1
    return row_number


def _without_spans(piece: bytes, start: int, tag_end: int) -> bytes:
    """``piece`` without the ``spans`` of its row tag (the new cells would contradict it)."""
    if piece.find(b"spans=", start, tag_end) == -1:
        return piece
    tag = re.sub(rb'\s+spans="[^"]*"', b"", piece[start:tag_end])
    return piece[:start] + tag + piece[tag_end:]


def _row_format(row_number: int, edit: StageColumns, styles, letters) -> bytes:
    """The stage cells of a data row as a bytes format of (row, days, row, row, row), for
    the stage combination (bucket, stage, action, fill) of ``row_number``."""
    templates: dict = {}
    _stage_cells(row_number, edit, styles, letters, templates)
    (template,) = templates.values()
    first, days_part = template[1].split(b"\x01", 1)
    parts = (template[0], first, days_part, template[2], template[3], template[4])
    return b"%d".join(part.replace(b"%", b"%%") for part in parts)


def _stage_cells(row_number: int, edit: StageColumns, styles, letters, templates=None) -> bytes:
    """The four stage cells of a row; the XML per stage combination is built once."""
    number = str(row_number)
    if row_number == edit.header_row:
        style = styles[(-1, None)]
        return "".join(
            inline_string_cell(letters[i].decode() + number, edit.labels[i], style)
            for i in range(4)
        ).encode("utf-8")
    days, bucket, stage, action = edit.cells[row_number]
    fill = edit.fills.get(row_number)
    key = (bucket, stage, action, fill)
    template = None if templates is None else templates.get(key)
    if template is None:
        refs = [letter.decode() + "\x00" for letter in letters]
        text = (
            number_cell(refs[0], "\x01", styles[(0, fill)])
            + inline_string_cell(refs[1], bucket, styles[(1, fill)])
            + inline_string_cell(refs[2], stage, styles[(2, fill)])
            + inline_string_cell(refs[3], action, styles[(3, fill)])
        ).encode("utf-8")
        template = text.split(b"\x00")
        if templates is not None:
            templates[key] = template
    first = template[1].replace(b"\x01", str(int(days)).encode(), 1)
    encoded = number.encode()
    return (
        template[0]
        + encoded
        + first
        + encoded
        + template[2]
        + encoded
        + template[3]
        + encoded
        + template[4]
    )


def _merge_cells(content: bytes, new_cells: bytes, start_column: int, letters) -> bytes:
    """Put ``new_cells`` into a row's cells, replacing earlier stage cells, keeping order."""
    last_ref = content.rfind(b'r="')
    if last_ref == -1:
        return content + new_cells
    match = _LAST_REF.match(content, last_ref)
    if match is None or column_number(match.group(1).decode()) < start_column:
        return content + new_cells  # the common case: nothing right of the table
    ours = {letter for letter in letters}
    kept_before, kept_after = [], []
    for cell in _CELL.finditer(content):
        ref = _CELL_REF.match(cell.group(0))
        if ref is None:
            kept_before.append(cell.group(0))
            continue
        letter = ref.group(1)
        if letter in ours:
            continue
        (kept_before if column_number(letter.decode()) < start_column else kept_after).append(
            cell.group(0)
        )
    return b"".join(kept_before) + new_cells + b"".join(kept_after)


# -- sheets for inputs that are not an xlsx package --------------------------------------


def render_grid(
    grid: SheetGrid, styles: StyleBook, date1904: bool, edit: StageColumns | None = None
) -> bytes:
    """A worksheet of the grid's values (dates formatted as dates), plus stage columns."""
    from datetime import date as date_type
    from datetime import datetime, time, timedelta

    date_style = styles.xf("yyyy-mm-dd")
    datetime_style = styles.xf("yyyy-mm-dd hh:mm")
    stage_styles = None
    letters = []
    if edit is not None:
        stage_styles = {}
        for fill in dict.fromkeys([None, *edit.fills.values()]):  # ordered: same bytes every run
            for index, number_format in enumerate(edit.formats):
                stage_styles[(index, fill)] = styles.xf(number_format, fill)
        stage_styles[(-1, None)] = styles.xf(bold=True)
        letters = [column_letter(edit.start_column + i).encode() for i in range(4)]
    width = max((len(row) for row in grid.rows), default=0)
    last_col = max(width, edit.start_column + 3 if edit else 0, 1)
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">'
        f'<dimension ref="A1:{column_letter(last_col)}{max(len(grid.rows), 1)}"/><sheetData>'
    ]
    for row_index, row in enumerate(grid.rows, start=1):
        cells = []
        for column_index, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            ref = f"{column_letter(column_index)}{row_index}"
            if isinstance(value, datetime):
                cells.append(cell_xml(ref, value, datetime_style, date1904))
            elif isinstance(value, date_type):
                cells.append(cell_xml(ref, value, date_style, date1904))
            elif isinstance(value, time | timedelta):
                cells.append(cell_xml(ref, str(value), 0, date1904))
            else:
                cells.append(cell_xml(ref, value, 0, date1904))
        text = "".join(cells)
        if edit is not None and (row_index == edit.header_row or row_index in edit.cells):
            text = _merge_cells(
                text.encode("utf-8"),
                _stage_cells(row_index, edit, stage_styles, letters),
                edit.start_column,
                letters,
            ).decode("utf-8")
        if text:
            parts.append(f'<row r="{row_index}">{text}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts).encode("utf-8")


def sheet_names(writer: SpliceWriter) -> list[str]:
    """Names of the sheets in the package, in order."""
    return [s.get("name", "") for s in writer._sheets()]


def write_package(
    target: io.BufferedIOBase | str | Path,
    *,
    source: bytes | None,
    date1904: bool,
    stage_columns: StageColumns | None,
    models: Sequence[SheetModel],
    grids: Iterable[SheetGrid] = (),
    replaceable: frozenset[str] | None = None,
    hidden: frozenset[str] = frozenset(),
    parallel: bool | None = None,
) -> int:
    """Write the output workbook; return how many sheets a forked child rendered.

    With ``source`` (an xlsx/xlsm package), its parts are kept and ``stage_columns`` is
    spliced into its receivables sheet; without it, a new package holds ``grids`` as
    plain values (the receivables one with ``stage_columns``). ``models`` become sheets.

    ``replaceable`` names (casefolded) the existing sheets that are earlier outputs and
    may be replaced, as decided by :func:`~receivables.core.sheetnames.name_outputs`;
    when None, the names are decided here (an output clashing with any other sheet is
    renamed, never written over it). ``hidden`` names the ``grids`` that stay hidden.
    ``parallel``: see :meth:`SpliceWriter.save` (None: when it pays, where it is safe).
    """
    writer = SpliceWriter(source, date1904=date1904)
    grids = list(grids)
    if grids and not models and all(grid.name in hidden for grid in grids):
        hidden = hidden - {grids[0].name}  # a workbook needs one visible sheet
    if source is None:
        for grid in grids:
            is_target = stage_columns is not None and grid.name == stage_columns.sheet
            writer.add_grid_sheet(
                grid, stage_columns if is_target else None, hidden=grid.name in hidden
            )
    elif stage_columns is not None:
        writer.append_stage_columns(stage_columns)
    if replaceable is None:
        models, replaceable = _name_here(writer, source, grids, models, stage_columns)
    for model in models:
        writer.add_sheet(model, replaceable)
    return writer.save(target, parallel)


def _name_here(
    writer: SpliceWriter,
    source: bytes | None,
    grids: list[SheetGrid],
    models: Sequence[SheetModel],
    stage_columns: StageColumns | None,
):
    """Name the outputs for a caller that did not (first rows read with calamine)."""
    from ..core.sheetnames import name_outputs

    first_rows = {grid.name: (grid.rows[0] if grid.rows else None) for grid in grids}

    def header_of(name: str):
        if name in first_rows:
            return first_rows[name]
        try:
            import python_calamine as calamine

            book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(source))
            rows = book.get_sheet_by_name(name).to_python(nrows=1)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - unreadable (a chart sheet, a Rust panic)
            return None
        return rows[0] if rows else None

    named = name_outputs(
        models,
        sheet_names(writer),
        header_of,
        ledger=stage_columns.sheet if stage_columns else None,
    )
    return named.models, named.replaceable
