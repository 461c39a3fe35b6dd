"""Render sheet models and stage columns into a workbook open in Excel, through xlwings only.

The twin of ``receivables.xlsx`` (the file writer): the same :class:`SheetModel` and
:class:`StageColumns` give the same values in the same cells, the same number formats,
fills, bold header, column widths, table and chart. Where Excel itself behaves
differently from a file, the differences are handled here:

* Excel parses what is written into a cell like typed input, so ``=HYPERLINK(...)``
  would become a formula, ``1-30`` a date and ``+1-555`` a sum. Every text is written
  with Excel's text prefix ``'``, which Excel drops and keeps the rest as typed.
* Money is written as float: Windows would pass a Decimal as Currency and macOS refuses
  it. A two-decimal amount has the same float either way.
* The desktop engines cannot freeze panes (``Sheet.freeze_panes`` exists only in
  xlwings' remote engines), so output sheets are not frozen here.
* Excel applies formats per call, so rows of one colour are coloured in one call.
* Print set-up: xlwings offers only ``page_setup.print_area`` on every platform; the
  orientation, fitting, print titles and footer go through ``page_setup.api``, Excel's
  own PageSetup object, whose property names differ between Windows (COM) and macOS
  (AppleScript). Both are written here; the macOS names are untested (README, Known
  limits).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlwings as xw

from receivables.core.sheetnames import labels_fit_table
from receivables.core.sheets import HEADER_ROW_HEIGHT, Chart, SheetModel, StageColumns
from receivables.core.xlref import column_letter
from receivables.xlsx.worksheet import table_name

TEXT_PREFIX = "'"
TABLE_STYLE = "TableStyleMedium2"
# A column nobody formats: its width is the sheet's standard width.
_FAR_COLUMN = 16_384
# Excel's value for 2000-01-01 in the 1900 date system; 1,462 less in the 1904 system.
_PROBE_DAY = datetime(2000, 1, 1)
_PROBE_SERIAL_1900 = 36526.0
_PROBE_SERIAL_1904 = _PROBE_SERIAL_1900 - 1462


def cell_value(value: Any) -> Any:
    """A model value as xlwings should hand it to Excel (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, str):
        return TEXT_PREFIX + value if value else None
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise TypeError(f"a {type(value).__name__} cannot be written to a cell")


def runs(values: Sequence[Any]) -> Iterator[tuple[int, int, Any]]:
    """``(first, last, value)`` of each run of equal consecutive values (0-based)."""
    start = 0
    for index in range(1, len(values) + 1):
        if index == len(values) or values[index] != values[start]:
            yield start, index - 1, values[start]
            start = index


def blocks(rows: Iterable[int]) -> Iterator[list[int]]:
    """Consecutive row numbers grouped: ``[2, 3, 4, 7, 8]`` -> ``[2, 3, 4]``, ``[7, 8]``."""
    block: list[int] = []
    for row in sorted(rows):
        if block and row != block[-1] + 1:
            yield block
            block = []
        block.append(row)
    if block:
        yield block


def _hex(rgb: str) -> str:
    return "#" + rgb


def probe_date1904(cell: xw.Range) -> bool:
    """Whether the workbook counts dates from 1904, found by writing a date into ``cell``.

    Excel converts a date to a serial number in the workbook's own date system, and a
    cell formatted General shows that number. xlwings offers no other way to ask; the
    caller overwrites ``cell`` (and its format) right after.
    """
    cell.value = _PROBE_DAY
    cell.number_format = "General"
    serial = cell.value
    if serial == _PROBE_SERIAL_1900:
        return False
    if serial == _PROBE_SERIAL_1904:
        return True
    raise RuntimeError(f"Excel stored {_PROBE_DAY:%Y-%m-%d} as {serial!r}")


# ---- the receivables sheet -----------------------------------------------------------------


def standard_width(sheet: xw.Sheet) -> float | None:
    """The sheet's standard column width (what a column nobody resized has)."""
    return sheet.range((1, _FAR_COLUMN)).column_width


def write_stage_header(sheet: xw.Sheet, columns: StageColumns) -> None:
    """The four header labels: the first write of Classify (on a protected sheet it fails
    before anything else changed)."""
    header = sheet.range(
        (columns.header_row, columns.start_column), (columns.header_row, columns.start_column + 3)
    )
    header.value = [[cell_value(label) for label in columns.labels]]
    header.clear_formats()
    header.font.bold = True


def write_stage_columns(sheet: xw.Sheet, columns: StageColumns) -> None:
    """The stage cells of every classified row, their formats and fills; the header is
    :func:`write_stage_header`'s. Rows not classified (totals, skipped rows) keep theirs,
    as in the file writer."""
    start = columns.start_column
    for block in blocks(columns.cells):
        first, last = block[0], block[-1]
        area = sheet.range((first, start), (last, start + 3))
        # The file writer gives these cells a fresh style: number format and fill only.
        area.clear_formats()
        area.value = [[cell_value(v) for v in columns.cells[row]] for row in block]
        for offset, number_format in enumerate(columns.formats):
            if number_format:
                sheet.range(
                    (first, start + offset), (last, start + offset)
                ).number_format = number_format
        fills = [columns.fills.get(row) for row in block]
        for low, high, fill in runs(fills):
            if fill:
                sheet.range((first + low, start), (first + high, start + 3)).color = _hex(fill)
    standard = standard_width(sheet)
    for offset, width in enumerate(columns.widths):
        column = sheet.range((1, start + offset))
        # Like the file writer, keep a width the clerk chose; set ours on default columns.
        if column.column_width == standard:
            column.column_width = width
    _extend_table(sheet, columns)


def _extend_table(sheet: xw.Sheet, columns: StageColumns) -> None:
    """Widen a table whose header row is the receivables header to the new columns."""
    for table in sheet.tables:
        area = table.range
        if area is None or area.row != columns.header_row:
            continue
        if area.last_cell.column != columns.start_column - 1:
            continue
        header = sheet.range((area.row, area.column), (area.row, area.last_cell.column))
        names = header.options(ndim=1).value or []
        if not labels_fit_table(names, columns.labels):
            continue  # as the file writer: never two table columns of one name
        table.resize(
            sheet.range((area.row, area.column), (area.last_cell.row, columns.start_column + 3))
        )


# ---- output sheets ---------------------------------------------------------------------------


def replace_sheet(book: xw.Book, name: str) -> xw.Sheet:
    """An empty sheet called ``name``: in place of a sheet of that name, or after the last.

    ``name`` comes from :func:`receivables.pipeline.name_models`, so a sheet of that name
    is an earlier output of ours, never one of the clerk's.
    """
    existing = next((s for s in book.sheets if s.name.casefold() == name.casefold()), None)
    if existing is None:
        return book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])
    position = existing.index  # 1-based
    existing.delete()
    count = len(book.sheets)
    if position <= count:
        return book.sheets.add(name, before=book.sheets[position - 1])
    return book.sheets.add(name, after=book.sheets[count - 1])


def taken_table_names(book: xw.Book) -> set[str]:
    """Names no new table may take: every table's and every defined name (casefolded)."""
    taken = {table.name.casefold() for sheet in book.sheets for table in sheet.tables}
    taken |= {name.name.rsplit("!", 1)[-1].casefold() for name in book.names}
    return taken


def write_model(book: xw.Book, model: SheetModel, sheet: xw.Sheet | None = None) -> xw.Sheet:
    """Write ``model`` as a sheet (replacing one of the same name) and return it.

    ``sheet`` is an empty sheet already made for it by :func:`replace_sheet`.
    """
    sheet = sheet if sheet is not None else replace_sheet(book, model.name)
    width = len(model.columns)
    if not width:
        return sheet
    header = sheet.range((1, 1), (1, width))
    header.value = [[cell_value(h) for h in model.headers]]
    header.font.bold = True
    if len(model.rows):
        _write_body(sheet, model)
    for index, column in enumerate(model.columns, start=1):
        sheet.range((1, index)).column_width = column.width
    lines = model.header_lines
    if lines > 1:  # as the file writer: headers wrap by word, the row grows
        header.wrap_text = True
        header.row_height = lines * HEADER_ROW_HEIGHT
    if model.as_table:
        _add_table(book, sheet, model)
    for chart in model.charts:
        add_chart(sheet, chart)
    apply_page_setup(sheet, model)
    return sheet


def _write_body(sheet: xw.Sheet, model: SheetModel) -> None:
    """The rows under the header: values, number formats, wrapping, row heights, fills
    and bold rows, as the file writer formats them."""
    width, height = len(model.columns), len(model.rows)
    sheet.range((2, 1), (height + 1, width)).value = [
        [cell_value(v) for v in row] for row in model.rows
    ]
    for index, column in enumerate(model.columns, start=1):
        if not column.number_format:
            continue
        if model.currency_column is None:
            sheet.range((2, index), (height + 1, index)).number_format = column.number_format
            continue
        # Money in each row's currency decimals: one call per run of equal formats.
        formats = [model.format_of(row, index - 1) for row in range(height)]
        for low, high, number_format in runs(formats):
            sheet.range((low + 2, index), (high + 2, index)).number_format = number_format
    if any(column.wrap for column in model.columns):
        # As the file writer: cells at the top of rows made tall by wrapped text.
        sheet.range((2, 1), (height + 1, width)).vertical_alignment = "top"
    for index, column in enumerate(model.columns, start=1):
        if column.wrap:
            sheet.range((2, index), (height + 1, index)).wrap_text = True
    for low, high, row_height in runs(model.row_heights()):
        if row_height is not None:
            sheet.range((low + 2, 1), (high + 2, 1)).row_height = row_height
    _fill_model(sheet, model)
    for row in sorted(model.bold_rows):
        sheet.range((row + 2, 1), (row + 2, width)).font.bold = True


# Excel's PageSetup property names: Windows (COM) and macOS (AppleScript).
_XL_LANDSCAPE, _XL_PORTRAIT = 2, 1


def apply_page_setup(sheet: xw.Sheet, model: SheetModel) -> None:
    """The model's print set-up: landscape, fitted to pages, print titles and footer."""
    page = model.page
    if model.print_area is not None:  # the one part xlwings offers on every platform
        sheet.page_setup.print_area = model.print_area
    api = sheet.page_setup.api
    rows = f"$1:${page.title_rows}" if page.title_rows else ""
    columns = f"$A:${column_letter(page.title_columns)}" if page.title_columns else ""
    left, center, right = footer_sections(page.footer)
    if sys.platform == "darwin":  # pragma: no cover - appscript, real Excel on macOS only
        from appscript import k

        api.page_orientation.set(k.landscape if page.landscape else k.portrait)
        api.zoom.set(False)
        api.fit_to_pages_wide.set(page.fit_width or False)
        api.fit_to_pages_tall.set(page.fit_height or False)
        api.print_title_rows.set(rows)
        api.print_title_columns.set(columns)
        api.left_footer.set(left)
        api.center_footer.set(center)
        api.right_footer.set(right)
        return  # page breaks: not set on macOS (README, Known limits)
    api.Orientation = _XL_LANDSCAPE if page.landscape else _XL_PORTRAIT
    api.Zoom = False  # fit to pages instead of a fixed scale
    api.FitToPagesWide = page.fit_width or False
    api.FitToPagesTall = page.fit_height or False
    api.PrintTitleRows = rows
    api.PrintTitleColumns = columns
    api.LeftFooter = left
    api.CenterFooter = center
    api.RightFooter = right
    for row in page.row_breaks:  # Worksheet.HPageBreaks: a new page before the next row
        sheet.api.HPageBreaks.Add(Before=sheet.range((row + 1, 1)).api)


def footer_sections(footer: str) -> tuple[str, str, str]:
    """The left, centre and right parts of a footer written with ``&L``/``&C``/``&R``."""
    parts = {"L": "", "C": "", "R": ""}
    current = "C"  # text before any section code is centred, as in Excel
    index = 0
    while index < len(footer):
        if footer[index] == "&" and footer[index + 1 : index + 2] in ("L", "C", "R"):
            current = footer[index + 1]
            index += 2
            continue
        if footer.startswith("&&", index):
            parts[current] += "&&"
            index += 2
            continue
        parts[current] += footer[index]
        index += 1
    return parts["L"], parts["C"], parts["R"]


def _fill_model(sheet: xw.Sheet, model: SheetModel) -> None:
    if model.row_fills is None:
        return
    width = len(model.columns)
    if model.fill_columns is None:
        spans = [(1, width)]
    else:
        spans = [(block[0] + 1, block[-1] + 1) for block in blocks(model.fill_columns)]
    for low, high, fill in runs(list(model.row_fills)):
        if not fill:
            continue
        for first_column, last_column in spans:
            sheet.range((low + 2, first_column), (high + 2, last_column)).color = _hex(fill)


def _add_table(book: xw.Book, sheet: xw.Sheet, model: SheetModel) -> None:
    headers = [h.casefold() for h in model.headers]
    if len(set(headers)) != len(headers) or not all(model.headers):
        # Excel would rename the header cells to make them unique; the values must stay
        # those of the file writer, so such a sheet gets no table.
        return
    name = table_name(model)
    taken = taken_table_names(book)
    base, suffix = name, 2
    while name.casefold() in taken:
        name, suffix = f"{base}{suffix}", suffix + 1
    # Like the file writer: a table needs at least one data row.
    last_row = max(len(model.rows) + 1, 2)
    sheet.tables.add(
        source=sheet.range((1, 1), (last_row, len(model.columns))),
        name=name,
        table_style_name=TABLE_STYLE,
    )


def add_chart(sheet: xw.Sheet, chart: Chart) -> xw.Chart:
    """A native chart like the file writer's: series from adjacent columns of the sheet
    (or adjacent rows, for ``plot_by="rows"``)."""
    if chart.plot_by == "rows":
        return _add_chart(sheet, chart, _rows_source(sheet, chart), "rows")
    columns = [series.column for series in chart.series]
    contiguous = columns == list(
        range(chart.categories_column + 1, chart.categories_column + 1 + len(columns))
    )
    same_rows = all(
        (s.first_row, s.last_row) == (chart.first_row, chart.last_row)
        and s.name_row == chart.series[0].name_row
        for s in chart.series
    )
    if not columns or not contiguous or not same_rows:
        raise ValueError(
            f"chart {chart.title!r}: xlwings charts need the categories and "
            "adjacent series columns over the same rows"
        )
    name_row = chart.series[0].name_row
    if name_row == chart.first_row - 1:
        source = sheet.range((name_row, chart.categories_column), (chart.last_row, columns[-1]))
        return _add_chart(sheet, chart, source, "columns")
    # A block further down (one currency of several): the rows alone, each series then
    # named by a reference to its header cell, as the file writer names it.
    source = sheet.range((chart.first_row, chart.categories_column), (chart.last_row, columns[-1]))
    added = _add_chart(sheet, chart, source, "columns")
    quoted = "'" + sheet.name.replace("'", "''") + "'"
    for series, spec in zip(added.series, chart.series, strict=True):
        series.name = f"={quoted}!R{spec.name_row}C{spec.name_column}"
    return added


def _rows_source(sheet: xw.Sheet, chart: Chart) -> xw.Range:
    """The one block a by-rows chart reads: the header row and the series rows under it,
    from the series-name column to the last value column."""
    rows = [series.first_row for series in chart.series]
    names = {series.name_column for series in chart.series}
    if (
        not rows
        or rows != list(range(chart.first_row + 1, chart.first_row + 1 + len(rows)))
        or names != {chart.first_column - 1}
        or any(s.name_row != s.first_row for s in chart.series)
    ):
        raise ValueError(
            f"chart {chart.title!r}: a by-rows chart needs adjacent series rows "
            "under its header row, each named in the column left of the values"
        )
    return sheet.range((chart.first_row, chart.first_column - 1), (rows[-1], chart.last_column))


def _add_chart(sheet: xw.Sheet, chart: Chart, source: xw.Range, plot_by: str) -> xw.Chart:
    """Add ``chart`` over ``source``, anchored and styled like the file writer's."""
    kind = ("column" if chart.kind == "column" else "bar") + (
        "_stacked" if chart.stacked else "_clustered"
    )
    anchor = sheet.range((chart.anchor_row, chart.anchor_column))
    # The file writer anchors the chart over width_columns x height_rows cells.
    span = sheet.range(
        (chart.anchor_row, chart.anchor_column),
        (chart.anchor_row + chart.height_rows - 1, chart.anchor_column + chart.width_columns - 1),
    )
    added = sheet.charts.add(
        anchor=anchor,
        width=span.width,
        height=span.height,
        chart_type=kind,
        source=source,
        plot_by=plot_by,
    )
    added.title = chart.title
    for series, color in zip(added.series, chart.colors, strict=False):
        if color:
            series.fill_color = _hex(color)
    added.value_axis.number_format = "#,##0"
    if chart.y_title:
        added.value_axis.title = chart.y_title
    added.legend.position = "right"
    return added
