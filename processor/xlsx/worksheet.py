"""Render a :class:`SheetModel` as SpreadsheetML parts: worksheet, table, drawing, chart."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from typing import NamedTuple

from ..core.sheets import HEADER_ROW_HEIGHT, Chart, PageSetup, SheetModel
from ..core.xlref import column_letter
from .styles import StyleBook
from .xmlutil import (
    NS_MAIN,
    NS_REL,
    bool_cell,
    escape_attr,
    escape_cell_text,
    escape_cell_texts,
    escape_text,
    inline_string_cell,
    literal_x,
    number_cell,
)

_EPOCH_1900 = date(1899, 12, 30)
_EPOCH_1904 = date(1904, 1, 1)


def excel_serial(value: date, date1904: bool) -> str:
    """Exact serial number text of a date or datetime in the workbook's date system."""
    epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
    if isinstance(value, datetime):
        delta = value - datetime(epoch.year, epoch.month, epoch.day)
        days = Decimal(delta.days) + Decimal(delta.seconds) / Decimal(86400)
        return format(days.normalize(), "f")
    return str((value - epoch).days)


def number_text(value: int | float | Decimal) -> str:
    """Exact text of a number for a <v> element."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value) if value == value else "0"
    return str(value)


def cell_xml(ref: str, value: object, style: int, date1904: bool) -> str:
    """One cell: strings are always inline text (never formulas), numbers exact."""
    # NaN is pandas' missing value (pandas 3 string columns use it too): an empty cell.
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return f'<c r="{ref}" s="{style}"/>' if style else ""
    if isinstance(value, bool):
        return bool_cell(ref, value, style)
    if isinstance(value, int | float | Decimal):
        return number_cell(ref, number_text(value), style)
    if isinstance(value, date):
        return number_cell(ref, excel_serial(value, date1904), style)
    return inline_string_cell(ref, str(value), style)


def _render_rows(
    model: SheetModel, by_row: Sequence[list[str]], date1904: bool, letters: list[str]
) -> list[str]:
    """The data rows' XML (``by_row``: each row's style attributes, see
    :func:`register_styles`). The hot loop of the writer: the cells are made a column at
    a time (one comprehension per column and kind of value, each text escaped once) for
    rows of one length; rows of mixed lengths are made cell by cell."""
    wraps = any(column.wrap for column in model.columns)
    heights = model.row_heights() if wraps else None
    escaped: dict[str, str] = {}
    rows = model.rows
    out: list[str] = []
    if len(set(map(len, rows))) > 1:
        for row_index, row in enumerate(rows):
            cells = _row_cells(
                row, by_row[row_index], letters, str(row_index + 2), escaped, date1904
            )
            out.append(_row_xml(str(row_index + 2), cells, heights, row_index))
        return out
    serials: dict[date, str] = {}
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK]
        numbers = list(map(str, range(start + 2, start + 2 + len(block))))
        block_styles = by_row[start : start + _BLOCK]
        columns = [
            _column_cells(letter, numbers, column_styles, values, escaped, serials, date1904)
            for letter, column_styles, values in zip(
                letters, zip(*block_styles, strict=True), zip(*block, strict=True), strict=False
            )
        ]
        cells = map("".join, zip(*columns, strict=True)) if columns else repeat("", len(block))
        if heights is None:
            out.extend(f'<row r="{n}">{c}</row>' for n, c in zip(numbers, cells, strict=True))
        else:
            out.extend(
                f'<row r="{n}">{c}</row>'
                if h is None
                else f'<row r="{n}" ht="{h:g}" customHeight="1">{c}</row>'
                for n, c, h in zip(numbers, cells, heights[start : start + _BLOCK], strict=True)
            )
    return out


_BLOCK = 4096  # rows made at once: bounds the cells held apart from their rows


def _row_xml(number: str, cells: str, heights: list[float | None] | None, index: int) -> str:
    """One data row, with its height where its wrapped text needs more than a line."""
    height = heights[index] if heights is not None else None
    if height is None:
        return f'<row r="{number}">{cells}</row>'
    return f'<row r="{number}" ht="{height:g}" customHeight="1">{cells}</row>'


def _column_cells(
    letter: str,
    numbers: list[str],
    styles: tuple[str, ...],
    values: tuple,
    escaped: dict[str, str],
    serials: dict,
    date1904: bool,
) -> list[str]:
    """The cells of one column in rows ``numbers`` (``_row_cells``' XML, a column at a
    time): one comprehension for a column of texts, whole numbers, Decimals or dates
    (with blanks), cell by cell for any other."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    kind = kinds.pop() if len(kinds) == 1 else None
    rows = zip(numbers, styles, values, strict=True)
    # A blank cell (None, or an empty text) is written only where it has a style.
    if kind is str:
        new = [value for value in set(values) if value and value not in escaped]
        escaped.update(zip(new, _inline_texts(new), strict=True))
        return [
            f'<c r="{letter}{n}"{s} t="inlineStr"><is>{escaped[v]}</is></c>'
            if v
            else (f'<c r="{letter}{n}"{s}/>' if s else "")
            for n, s, v in rows
        ]
    if kind is int:
        return [
            f'<c r="{letter}{n}"{s}><v>{v}</v></c>'
            if v is not None
            else (f'<c r="{letter}{n}"{s}/>' if s else "")
            for n, s, v in rows
        ]
    if kind is Decimal:
        return [
            f'<c r="{letter}{n}"{s}><v>{v:f}</v></c>'
            if v is not None
            else (f'<c r="{letter}{n}"{s}/>' if s else "")
            for n, s, v in rows
        ]
    if kind is date:
        for value in set(values):
            if value is not None and value not in serials:
                serials[value] = excel_serial(value, date1904)
        return [
            f'<c r="{letter}{n}"{s}><v>{serials[v]}</v></c>'
            if v is not None
            else (f'<c r="{letter}{n}"{s}/>' if s else "")
            for n, s, v in rows
        ]
    if not kinds and kind is None:  # blanks only
        return [f'<c r="{letter}{n}"{s}/>' if s else "" for n, s, _v in rows]
    return [_row_cells((v,), [s], [letter], n, escaped, date1904) for n, s, v in rows]


class _RowStyles:
    """The style attribute (`` s="3"``) of each cell of a row, per kind of row: its fill,
    bold or not, its length and its currency (money takes the currency's decimals)."""

    def __init__(self, model: SheetModel, styles: StyleBook) -> None:
        self.model = model
        self.styles = styles
        self.base_formats = [column.number_format for column in model.columns]
        self.wraps = [column.wrap for column in model.columns]
        # Where text wraps, every cell sits at the top of its (taller) row, level with
        # the first line of the wrapped text.
        self.top = any(self.wraps)
        width = max((len(row) for row in model.rows), default=0)
        # Which columns take the row's fill: every column, or only the model's fill_columns.
        self.filled = [model.fill_columns is None or c in model.fill_columns for c in range(width)]
        self.by_cell: dict[tuple, str] = {}
        self.by_row: dict[tuple, list[str]] = {}

    def of(self, row_index: int, row) -> list[str]:
        """The style attributes of the cells of ``row`` (data row ``row_index``)."""
        model = self.model
        bold = row_index in model.bold_rows
        fill = None if model.row_fills is None else model.row_fills[row_index]
        currency = None if model.currency_column is None else row[model.currency_column]
        key = (fill, bold, len(row), currency)
        found = self.by_row.get(key)
        if found is None:
            found = self.by_row[key] = self._styles(row_index, fill, bold, len(row))
        return found

    def _styles(self, row_index: int, row_fill: str | None, bold: bool, length: int) -> list[str]:
        model = self.model
        formats = (
            self.base_formats
            if model.currency_column is None
            else [model.format_of(row_index, c) for c in range(len(model.columns))]
        )
        found = []
        for column_index in range(length):
            fill = row_fill if self.filled[column_index] else None
            key = (column_index, fill, bold, formats[column_index])
            style = self.by_cell.get(key)
            if style is None:
                number = self.styles.xf(
                    formats[column_index], fill, bold, wrap=self.wraps[column_index], top=self.top
                )
                style = self.by_cell[key] = f' s="{number}"' if number else ""
            found.append(style)
        return found


def _row_cells(
    row, row_styles: list[str], letters: list[str], number: str, escaped: dict, date1904: bool
) -> str:
    """The cells of one data row (sheet row ``number``)."""
    cells = []
    append = cells.append
    # A row shorter than the sheet leaves its last cells empty.
    for letter, style, value in zip(letters, row_styles, row, strict=False):
        kind = type(value)
        if kind is str:
            if not value:
                if style:
                    append(f'<c r="{letter}{number}"{style}/>')
                continue
            text = escaped.get(value)
            if text is None:
                text = escaped[value] = _inline_text(value)
            append(f'<c r="{letter}{number}"{style} t="inlineStr"><is>{text}</is></c>')
        elif kind is int:  # number_text inlined: most cells of the plan are numbers
            append(f'<c r="{letter}{number}"{style}><v>{value}</v></c>')
        elif kind is Decimal:
            append(f'<c r="{letter}{number}"{style}><v>{value:f}</v></c>')
        elif value is None:
            if style:
                append(f'<c r="{letter}{number}"{style}/>')
        else:
            append(cell_xml(letter + number, value, int(style[4:-1]) if style else 0, date1904))
    return "".join(cells)


def _inline_text(value: str) -> str:
    """The ``<t>`` element of an inline string cell."""
    text = escape_cell_text(value)
    if text != text.strip() or "\n" in text:
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


def _inline_texts(values: list[str]) -> list[str]:
    """:func:`_inline_text` of each of ``values``, escaped at once."""
    return [
        f'<t xml:space="preserve">{text}</t>'
        if text[:1].isspace() or text[-1:].isspace() or "\n" in text
        else f"<t>{text}</t>"
        for text in escape_cell_texts(values)
    ]


def table_name(model: SheetModel) -> str:
    """A valid Excel table name for the model (letters, digits, underscores)."""
    name = model.table_name or re.sub(r"[^0-9A-Za-z_]", "", model.name.title())
    return name if name and not name[0].isdigit() else "T_" + name


class SheetStyles(NamedTuple):
    """The cell formats of a sheet's cells: the header's, and each data row's style
    attributes (`` s="3"``, or "" for the default format), one list per kind of row."""

    header: int
    rows: list[list[str]]


def register_styles(model: SheetModel, styles: StyleBook) -> SheetStyles:
    """Add to ``styles`` every cell format ``model``'s sheet uses, in a fixed order (the
    header's, then the rows' in row order); return them for :func:`render_sheet`.

    The formats' indices depend on that order. Registered before the sheet is rendered,
    styles.xml can be written first, and the sheet rendered later or in another process
    (see :mod:`receivables.xlsx.parallel`) with the same indices.
    """
    # Headers wrap (by word) where a column is narrower than its header: taller row.
    header = styles.xf(bold=True, wrap=model.header_lines > 1)
    row_styles = _RowStyles(model, styles)
    return SheetStyles(header, [row_styles.of(i, row) for i, row in enumerate(model.rows)])


def render_sheet(
    model: SheetModel,
    sheet_styles: SheetStyles,
    date1904: bool,
    drawing_rid: str | None,
    table_rid: str | None,
) -> bytes:
    """The worksheet XML of ``model`` in the formats :func:`register_styles` gave it."""
    column_count = len(model.columns)
    last_row = len(model.rows) + 1
    last_letter = column_letter(max(column_count, 1))
    page = model.page
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        if page.fit_width or page.fit_height
        else "",
        f'<dimension ref="A1:{last_letter}{max(last_row, 1)}"/>',
        '<sheetViews><sheetView workbookViewId="0">',
    ]
    if model.freeze_header:
        parts.append(
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        )
    parts.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
    if model.columns:
        parts.append("<cols>")
        for index, column in enumerate(model.columns, start=1):
            parts.append(
                f'<col min="{index}" max="{index}" width="{column.width:g}" customWidth="1"/>'
            )
        parts.append("</cols>")
    parts.append("<sheetData>")
    lines = model.header_lines
    header_style = sheet_styles.header
    letters = [column_letter(i) for i in range(1, column_count + 1)]
    parts.append(
        f'<row r="1" ht="{lines * HEADER_ROW_HEIGHT:g}" customHeight="1">'
        if lines > 1
        else '<row r="1">'
    )
    parts.extend(
        inline_string_cell(f"{letters[i]}1", column.header, header_style)
        for i, column in enumerate(model.columns)
    )
    parts.append("</row>")
    parts.extend(_render_rows(model, sheet_styles.rows, date1904, letters))
    parts.append("</sheetData>")
    parts.append(
        '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.7" header="0.3" footer="0.3"/>'
    )
    parts.append(page_setup_xml(page))
    if drawing_rid:
        parts.append(f'<drawing r:id="{drawing_rid}"/>')
    if table_rid:
        parts.append(f'<tableParts count="1"><tablePart r:id="{table_rid}"/></tableParts>')
    parts.append("</worksheet>")
    return "".join(parts).encode("utf-8")


def page_setup_xml(page: PageSetup) -> str:
    """``<pageSetup>`` and ``<headerFooter>`` of a sheet (after ``<pageMargins>``).

    The print titles are a defined name of the workbook (see the splice writer)."""
    orientation = "landscape" if page.landscape else "portrait"
    breaks = "".join(f'<brk id="{row}" max="16383" man="1"/>' for row in page.row_breaks)
    return (
        f'<pageSetup orientation="{orientation}" fitToWidth="{page.fit_width}" '
        f'fitToHeight="{page.fit_height}"/>'
        f"<headerFooter><oddFooter>{escape_text(page.footer)}</oddFooter></headerFooter>"
        + (
            f'<rowBreaks count="{len(page.row_breaks)}" manualBreakCount='
            f'"{len(page.row_breaks)}">{breaks}</rowBreaks>'
            if page.row_breaks
            else ""
        )
    )


def print_area(model: SheetModel) -> str | None:
    """The ``_xlnm.Print_Area`` formula, or None when everything on the sheet prints."""
    area = model.print_area
    return None if area is None else f"{_quoted(model.name)}!{area}"


def print_titles(model: SheetModel) -> str | None:
    """The ``_xlnm.Print_Titles`` formula repeating the model's header rows, or None."""
    page = model.page
    parts = []
    if page.title_columns > 0:
        parts.append(f"{_quoted(model.name)}!$A:${column_letter(page.title_columns)}")
    if page.title_rows > 0:
        parts.append(f"{_quoted(model.name)}!$1:${page.title_rows}")
    return ",".join(parts) or None


def render_table(model: SheetModel, table_id: int, name: str) -> bytes:
    """The table (ListObject) part over the model's header and rows, with filters."""
    last_row = max(len(model.rows) + 1, 2)  # a table needs at least one data row
    ref = f"A1:{column_letter(len(model.columns))}{last_row}"
    seen: set[str] = set()
    columns = []
    for index, column in enumerate(model.columns, start=1):
        header = column.header
        while header.casefold() in seen:  # table column names must be unique
            header += " "
        seen.add(header.casefold())
        columns.append(f'<tableColumn id="{index}" name="{escape_attr(literal_x(header))}"/>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<table xmlns="{NS_MAIN}" id="{table_id}" name="{name}" displayName="{name}" '
        f'ref="{ref}" totalsRowShown="0"><autoFilter ref="{ref}"/>'
        f'<tableColumns count="{len(columns)}">{"".join(columns)}</tableColumns>'
        '<tableStyleInfo name="TableStyleMedium2" showFirstColumn="0" showLastColumn="0" '
        'showRowStripes="1" showColumnStripes="0"/></table>'
    ).encode()


def render_drawing(charts: tuple[Chart, ...]) -> bytes:
    """The drawing part anchoring each chart (chart i is relationship rId{i+1})."""
    anchors = []
    for index, chart in enumerate(charts, start=1):
        col0, row0 = chart.anchor_column - 1, chart.anchor_row - 1
        anchors.append(
            '<xdr:twoCellAnchor editAs="oneCell">'
            f"<xdr:from><xdr:col>{col0}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{row0}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f"<xdr:to><xdr:col>{col0 + chart.width_columns}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{row0 + chart.height_rows}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
            '<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr>'
            f'<xdr:cNvPr id="{index + 1}" name="{escape_attr(chart.title)}"/>'
            "<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            f'r:id="rId{index}"/></a:graphicData></a:graphic></xdr:graphicFrame>'
            "<xdr:clientData/></xdr:twoCellAnchor>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{NS_REL}">{"".join(anchors)}</xdr:wsDr>'
    ).encode()


def _quoted(sheet: str) -> str:
    """A sheet name as a formula writes it: always quoted, inner quotes doubled."""
    return "'" + sheet.replace("'", "''") + "'"


def _ref(sheet: str, column: int, first_row: int, last_row: int | None = None) -> str:
    quoted = _quoted(sheet)
    letter = column_letter(column)
    if last_row is None:
        return f"{quoted}!${letter}${first_row}"
    return f"{quoted}!${letter}${first_row}:${letter}${last_row}"


def _row_ref(sheet: str, row: int, first_column: int, last_column: int) -> str:
    return (
        f"{_quoted(sheet)}!${column_letter(first_column)}${row}:${column_letter(last_column)}${row}"
    )


def _values_ref(sheet: str, chart: Chart, series) -> str:
    """The cells of one series: a column range, or a row range for ``plot_by="rows"``."""
    if chart.plot_by == "rows":
        return _row_ref(sheet, series.first_row, chart.first_column, chart.last_column)
    return _ref(sheet, series.column, series.first_row, series.last_row)


def render_chart(chart: Chart, sheet: str, model: SheetModel) -> bytes:
    """A native bar/column chart part with its series referencing the sheet's cells."""
    grouping = "stacked" if chart.stacked else "clustered"
    if chart.plot_by == "rows":
        categories = _row_ref(sheet, chart.first_row, chart.first_column, chart.last_column)
    else:
        categories = _ref(sheet, chart.categories_column, chart.first_row, chart.last_row)
    series_xml = []
    for index, series in enumerate(chart.series):
        if series.name_row == 1:
            name_text = model.columns[series.name_column - 1].header
        else:  # a data cell names the series (plot_by="rows": the row's label)
            name_text = str(model.rows[series.name_row - 2][series.name_column - 1] or "")
        color = chart.colors[index] if index < len(chart.colors) else None
        fill = (
            f'<c:spPr><a:solidFill><a:srgbClr val="{color}"/></a:solidFill></c:spPr>'
            if color
            else ""
        )
        series_xml.append(
            f'<c:ser><c:idx val="{index}"/><c:order val="{index}"/>'
            f"<c:tx><c:strRef><c:f>{escape_text(_ref(sheet, series.name_column, series.name_row))}</c:f>"
            f'<c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>{escape_text(name_text)}</c:v></c:pt>'
            f"</c:strCache></c:strRef></c:tx>{fill}"
            '<c:invertIfNegative val="0"/>'
            f"<c:cat><c:strRef><c:f>{escape_text(categories)}</c:f></c:strRef></c:cat>"
            f"<c:val><c:numRef><c:f>{escape_text(_values_ref(sheet, chart, series))}</c:f></c:numRef></c:val>"
            "</c:ser>"
        )
    overlap = '<c:overlap val="100"/>' if chart.stacked else ""
    bar_dir = "bar" if chart.kind == "bar" else "col"
    y_title = (
        f"<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>{escape_text(chart.y_title)}</a:t>"
        '</a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>'
        if chart.y_title
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{NS_REL}"><c:roundedCorners val="0"/><c:chart>'
        f"<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>{escape_text(chart.title)}</a:t></a:r>"
        '</a:p></c:rich></c:tx><c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        f'<c:plotArea><c:layout/><c:barChart><c:barDir val="{bar_dir}"/><c:grouping val="{grouping}"/>'
        f'<c:varyColors val="0"/>{"".join(series_xml)}<c:gapWidth val="80"/>{overlap}'
        '<c:axId val="500000001"/><c:axId val="500000002"/></c:barChart>'
        '<c:catAx><c:axId val="500000001"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="0"/>'
        '<c:tickLblPos val="nextTo"/><c:crossAx val="500000002"/><c:crosses val="autoZero"/>'
        '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        '<c:valAx><c:axId val="500000002"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        f'<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>{y_title}'
        '<c:numFmt formatCode="#,##0" sourceLinked="0"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="500000001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/>'
        '</c:valAx></c:plotArea><c:legend><c:legendPos val="r"/><c:overlay val="0"/></c:legend>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    ).encode()
