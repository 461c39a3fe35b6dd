"""Output sheets as models: values plus formats, rendered alike by the file and xlwings writers.

A model says *what* a sheet shows (headers, rows of plain values, number formats, column
widths, fills, a table, charts). The writers only decide *how* to put it in a workbook,
so the headless processor and the add-in produce the same cells.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from itertools import compress, repeat
from operator import itemgetter

from .currency import currency_digits

MONEY_FORMAT = "#,##0.00"
INT_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
SCORE_FORMAT = "#,##0.00"

CellValue = str | int | float | Decimal | date | bool | None
# A sheet wider than this (column-width units) prints two pages wide; a landscape A4 or
# Letter page holds ~150 units at 100 %, so one page wide stays above ~60 %.
ONE_PAGE_MAX_WIDTH = 250.0


@dataclass(frozen=True)
class Column:
    """One column of an output sheet: header, number format (None = General) and width.

    ``width`` is where a text column stops growing (its longest text wraps inside it);
    the width written is fitted to the header and the values when the model is made
    (see :func:`fit_columns`), so ``width`` never clips a number or a header word.
    ``wrap`` says whether the column's text wraps; it is set by the fitting.
    """

    header: str
    number_format: str | None = None
    width: float = 12.0
    wrap: bool = False
    fitted: bool = False


@dataclass(frozen=True)
class PageSetup:
    """How a sheet prints: landscape, one page wide, the header row on every page, and a
    footer naming the sheet, the as-of date and the page (``&A``, ``&P``, ``&N`` are
    Excel's header/footer codes for the sheet name, page number and page count)."""

    landscape: bool = True
    # Pages across; None: one, or two for a sheet wider than ONE_PAGE_MAX_WIDTH (one
    # page wide would shrink its text below ~6.5 points), decided once widths are fitted.
    fit_width: int | None = None
    fit_height: int = 0  # pages down; 0 = as many as needed
    title_rows: int = 1  # rows repeated at the top of every page
    # Columns repeated at the left of every page when the sheet prints more than one
    # page wide (so every printed row still says whose it is).
    title_columns: int = 0
    as_of: date | None = None
    # False: only the table prints (the print area), not charts placed beside it.
    print_charts: bool = True
    # Sheet rows after which a new page starts (charts below a table on a page of their own).
    row_breaks: tuple[int, ...] = ()

    @property
    def footer(self) -> str:
        """The footer in Excel's header/footer codes (left, centre, right sections)."""
        middle = f"&Cas of {self.as_of.isoformat()}" if self.as_of else ""
        return f"&L&A{middle}&RPage &P of &N"


@dataclass(frozen=True)
class Series:
    """A chart series: its name cell and its values, as 1-based rows of one column."""

    name_row: int
    name_column: int
    first_row: int
    last_row: int
    column: int


@dataclass(frozen=True)
class Chart:
    """A native chart over cells of the same sheet (categories in one column)."""

    title: str
    kind: str  # "column" (vertical bars) or "bar" (horizontal)
    categories_column: int
    first_row: int
    last_row: int
    series: tuple[Series, ...]
    anchor_row: int  # 1-based top-left cell of the chart
    anchor_column: int
    stacked: bool = False
    width_columns: int = 9
    height_rows: int = 18
    y_title: str = ""
    colors: tuple[str | None, ...] = ()  # RGB hex per series, None = theme colour
    # "columns": categories down ``categories_column``, one series per column (above).
    # "rows": categories along ``first_row`` (a header row) from ``first_column`` to
    # ``last_column``; each series is the row ``Series.first_row`` over those columns,
    # named by the cell (``name_row``, ``name_column``).
    plot_by: str = "columns"
    first_column: int = 0
    last_column: int = 0


@dataclass(frozen=True)
class SheetModel:
    """A whole output sheet: a header row then data rows, starting at A1."""

    name: str
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[CellValue]]
    # Fill colour (RGB hex) of each data row, or None; applied to ``fill_columns``
    # (0-based), or to the whole row when ``fill_columns`` is None.
    row_fills: Sequence[str | None] | None = None
    fill_columns: tuple[int, ...] | None = None
    # Rows (0-based data rows) shown bold, e.g. totals.
    bold_rows: frozenset[int] = frozenset()
    as_table: bool = True
    table_name: str = ""
    freeze_header: bool = True
    charts: tuple[Chart, ...] = ()
    page: PageSetup = PageSetup()
    # 0-based column holding each row's ISO currency: money columns (MONEY_FORMAT) of
    # that row take the currency's own decimals (HUF and JPY none, KWD three).
    currency_column: int | None = None

    def __post_init__(self) -> None:
        if not all(column.fitted for column in self.columns):
            object.__setattr__(self, "columns", fit_columns(self))
        if self.page.fit_width is None:
            wide = sum(column.width for column in self.columns) > ONE_PAGE_MAX_WIDTH
            object.__setattr__(
                self,
                "page",
                replace(
                    self.page,
                    fit_width=2 if wide else 1,
                    title_columns=self.page.title_columns if wide else 0,
                ),
            )

    def format_of(self, row_index: int, column_index: int) -> str | None:
        """Number format of data cell (row_index, column_index), both 0-based."""
        number_format = self.columns[column_index].number_format
        if number_format == MONEY_FORMAT and self.currency_column is not None:
            return money_format(self.rows[row_index][self.currency_column])
        return number_format

    def row_heights(self) -> list[float | None]:
        """Height (points) of each data row whose wrapped text needs more than one line;
        None for a row of the default height. Files carry row heights as written (a
        reader does not re-measure wrapped text), so they are computed here."""
        wrapped = [
            (index, column.width - CELL_PADDING)
            for index, column in enumerate(self.columns)
            if column.wrap
        ]
        if not wrapped:
            return [None] * len(self.rows)
        # Lines per cell, column by column: each distinct text is wrapped once, and texts
        # of one shape (the same widths of characters between the same spaces and line
        # breaks, such as messages differing in their digits) once between them; any
        # other value takes one line.
        counts = []
        for index, width in wrapped:
            values = _column(self.rows, index)
            known = {}
            by_shape: dict[bytes, int] = {}
            for value in set(values):
                if isinstance(value, str) and value:
                    shape = value.encode("utf-8", "surrogatepass").translate(_SHAPES)
                    lines = by_shape.get(shape)
                    if lines is None:
                        lines = by_shape[shape] = text_lines(value, width)
                    known[value] = lines
            counts.append(map(known.get, values, repeat(1)))
        return [
            lines * HEADER_ROW_HEIGHT if lines > 1 else None
            for lines in (map(max, *counts) if len(counts) > 1 else counts[0])
        ]

    @property
    def print_area(self) -> str | None:
        """The A1 range that prints (``$A$1:$X$40``), or None for everything on the sheet."""
        if self.page.print_charts or not self.columns:
            return None
        from .xlref import column_letter

        return f"$A$1:${column_letter(len(self.columns))}${max(len(self.rows) + 1, 2)}"

    @property
    def header_lines(self) -> int:
        """Lines the tallest header needs at its column's width (headers wrap by word)."""
        return max(
            (len(wrap_words(c.header, c.width - header_padding(self), True)) for c in self.columns),
            default=1,
        )

    @property
    def headers(self) -> list[str]:
        """Header texts in column order."""
        return [column.header for column in self.columns]


@dataclass(frozen=True)
class StageColumns:
    """The four columns appended to the receivables sheet, by sheet row.

    ``start_column`` is where the first of them goes (1-based), ``header_row`` the row of
    the table's header; ``cells`` maps a sheet row to (days overdue, bucket, stage label,
    next action) and ``fills`` the row to its stage colour.
    """

    sheet: str
    header_row: int
    start_column: int
    labels: tuple[str, str, str, str]
    cells: Mapping[int, tuple[int, str, str, str]]
    fills: Mapping[int, str] = field(default_factory=dict)
    widths: tuple[float, float, float, float] = (13.0, 13.0, 16.0, 40.0)
    formats: tuple[str | None, ...] = (INT_FORMAT, None, None, None)


# ---- fitting columns to their content ---------------------------------------------------

# Characters of Excel's default font (Calibri 11) narrower or wider than a digit, the unit
# of column widths. Approximate metrics, erring wide: LibreOffice substitutes a wider font.
_NARROW = frozenset("iljtfrI.,:;'|!()[] /-`")
_WIDE = frozenset("mwMW@%&")
CELL_PADDING = 1.2  # the cell's left and right margins, in width units
FILTER_BUTTON = 2.0  # the filter button a table draws at the right edge of each header
MIN_WIDTH = 4.0
NUMBER_SPARE = 1.25
HEADER_ROW_HEIGHT = 15.0  # points per header line


def _char_units(char: str) -> int:
    """Width of one character in hundredths of a digit."""
    if char in _NARROW:
        return 55
    if char in _WIDE:
        return 145
    if char.isascii():
        return 115 if char.isupper() else 100
    if unicodedata.combining(char):
        return 0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 200
    return 110 if char.isupper() else 100


def _shape_table() -> bytes:
    """A bytes.translate table putting each ASCII character but the space and the line
    break as one of the same width (:func:`_char_units`): the UTF-8 of texts that wrap
    alike becomes the same (other characters' bytes, all above 127, stay as they are)."""
    representative = {55: ".", 100: "a", 115: "A", 145: "m"}
    table = bytearray(range(256))
    for code in range(128):
        if chr(code) not in " \n":
            table[code] = ord(representative[_char_units(chr(code))])
    return bytes(table)


_SHAPES = _shape_table()

# Units per character, and per word, seen so far: sizing a 100k-row sheet measures
# millions of characters, mostly in words it has met before (names, actions).
_UNITS: dict[str, int] = {}
_WORD_UNITS: dict[str, int] = {}
_WORD_CACHE_LIMIT = 200_000


def _text_units(text: str) -> int:
    """Width of ``text`` in hundredths of a digit (whole numbers: sums are exact, so the
    width of a line is the sum of its words' and spaces')."""
    total = _WORD_UNITS.get(text)
    if total is not None:
        return total
    units = _UNITS
    total = 0
    for char in text:
        unit = units.get(char)
        if unit is None:
            unit = units[char] = _char_units(char)
        total += unit
    if len(_WORD_UNITS) >= _WORD_CACHE_LIMIT:
        _WORD_UNITS.clear()  # bounded memory; the cache refills with what recurs
    _WORD_UNITS[text] = total
    return total


def text_width(text: str, bold: bool = False) -> float:
    """Width of ``text`` in column-width units (a digit of the default font is 1).

    East Asian wide and full-width characters count 2, combining marks 0.
    """
    return _text_units(text) / 100 * (1.08 if bold else 1.0)


def wrap_words(text: str, width: float, bold: bool = False) -> list[str]:
    """``text`` broken into lines at spaces so each fits ``width`` where a word allows
    (a word longer than the width stays whole on its own line)."""
    return [line for line, _units in _wrapped(text, width, bold)]


def _wrapped(text: str, width: float, bold: bool) -> list[tuple[str, int]]:
    """The lines of :func:`wrap_words` with their widths in hundredths of a digit."""
    scale = (1.08 if bold else 1.0) / 100
    space = _text_units(" ")
    lines: list[tuple[str, int]] = []
    for paragraph in str(text).split("\n"):
        line, line_units = "", 0
        for word in paragraph.split(" "):
            units = _text_units(word)
            if not line:
                line, line_units = word, units
            elif (line_units + space + units) * scale > width:
                lines.append((line, line_units))
                line, line_units = word, units
            else:
                line, line_units = f"{line} {word}", line_units + space + units
        lines.append((line, line_units))
    return lines


def text_lines(text: str, width: float) -> int:
    """Lines ``text`` takes wrapped in a column ``width`` units wide (a word wider than the
    column breaks across lines). :func:`text_width` errs wide, so this errs tall."""
    if "\n" not in text and len(text) * 1.45 <= width:
        return 1  # cannot be wider than the column, whatever its characters
    # A line's width is the sum of its words' and spaces' (whole hundredths): the units
    # the wrapping adds up are the line's text_width, without building or measuring it.
    # The steps are wrap_words' (an empty line takes the next word in its place).
    space = _text_units(" ")
    lines = 0
    for paragraph in text.split("\n"):
        line_units, empty = 0, True
        for word in paragraph.split(" "):
            units = _text_units(word)
            if empty:
                line_units, empty = units, not word
            elif (line_units + space + units) * _PLAIN > width:
                lines += _line_count(line_units, width)
                line_units, empty = units, not word
            else:
                line_units += space + units
        lines += _line_count(line_units, width)
    return lines


_PLAIN = 1.0 / 100  # wrap_words' scale for text that is not bold


def _line_count(units: int, width: float) -> int:
    """Lines one wrapped line of ``units`` takes (a word wider than the column breaks)."""
    return max(1, math.ceil(units / 100 / width)) if width > 0 else 1


def money_format(currency: object) -> str:
    """The money format with the decimals of ``currency`` (two when unknown)."""
    digits = currency_digits(currency)
    return "#,##0" if digits == 0 else "#,##0." + "0" * digits


def display_text(value: object, number_format: str | None) -> str:
    """The text a cell shows for ``value`` in ``number_format`` (near enough to size it)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime | date):
        return "2026-10-31" if number_format == DATE_FORMAT else value.isoformat()
    if isinstance(value, int | float | Decimal):
        if number_format and number_format.endswith("%"):
            decimals = number_format.count("0") - 1
            return f"{float(value) * 100:,.{max(decimals, 0)}f}%"
        if not number_format:
            return repr(value) if isinstance(value, float) else str(value)
        # A Decimal formats as it is (Decimal(str(d)) is d, digits and exponent alike).
        number = value if type(value) is Decimal else Decimal(str(value))
        if "." in number_format:
            decimals = len(number_format.rsplit(".", 1)[1].rstrip(";"))
            grouping = "," if "," in number_format else ""
            return f"{number:{grouping}.{decimals}f}"
        if "," in number_format:
            return f"{number:,.0f}"
        return f"{number:.0f}"
    return str(value)


def header_padding(model: SheetModel) -> float:
    """Room a header cell needs besides its text: margins, and the filter button."""
    return CELL_PADDING + (FILTER_BUTTON if model.as_table else 0.0)


def _widest_texts(texts: Collection[str], sample: int = 24) -> float:
    """Width of the widest of ``texts``, measured on the longest few (by length) only:
    measuring every cell of a 100k-row sheet character by character is slow."""
    if not texts:
        return 0.0
    distinct = sorted(set(texts), key=len, reverse=True)[:sample]
    return max(max(text_width(line) for line in text.split("\n")) for text in distinct)


# Stands for the cell of a row too short to reach a column.
_ABSENT = object()
_NUMERIC = (int, float, Decimal, date)


def _column_values(rows: Sequence[Sequence[CellValue]], count: int) -> list[Sequence[object]]:
    """The model's values column by column (``_ABSENT`` where a row is too short)."""
    if not rows:
        return [() for _ in range(count)]
    widths = set(map(len, rows))
    if len(widths) == 1 and widths.pop() >= count:
        return list(zip(*rows, strict=True))[:count]  # all rows alike: C speed
    return [[row[index] if index < len(row) else _ABSENT for row in rows] for index in range(count)]


def _column(rows: Sequence[Sequence[CellValue]], index: int) -> Sequence[object]:
    """The values of one column of the model (``_ABSENT`` where a row is too short)."""
    if rows and min(map(len, rows)) > index:
        return list(map(itemgetter(index), rows))
    return [row[index] if index < len(row) else _ABSENT for row in rows]


def _shown_texts(
    values: Sequence[object],
    formats: Sequence[str | None] | str | None,
    kinds: set[type] | None = None,
) -> set[str]:
    """The distinct texts the cells show (:func:`display_text`), each value formatted once.

    ``formats`` is the number format of every cell, or a list of one per cell. Values
    that show alike whatever their spelling share a key; a Decimal's or float's sign
    and, unformatted, a Decimal's exponent are part of it (``-0.00``, ``1.0``).
    ``kinds`` are the types of the values, when the caller has them.
    """
    kinds = set(map(type, values)) if kinds is None else set(kinds)
    blank = type(None) in kinds
    kinds.discard(type(None))
    kinds.discard(object)  # _ABSENT: a row too short shows nothing
    texts = None
    if len(kinds) == 1:
        # A column of one kind (every column of the outputs): its distinct values are
        # found at C speed and formatted at once; :func:`_shown_texts_each` otherwise.
        texts = _shown_texts_of(kinds.pop(), values, formats)
    if texts is None:
        return _shown_texts_each(values, formats)
    if blank:
        texts.add("")  # display_text(None)
    return texts


def _shown_texts_of(
    kind: type, values: Sequence[object], formats: Sequence[str | None] | str | None
) -> set[str] | None:
    """:func:`_shown_texts` of the cells of ``kind`` among ``values`` (others are None
    or _ABSENT), or None where only the cell-by-cell way is sure to show them alike."""
    shared = formats is None or isinstance(formats, str)
    if kind is str:
        texts = set(values)
        texts.discard(None)
        texts.discard(_ABSENT)
        return texts
    if kind is date and shared:
        if formats == DATE_FORMAT:
            return {"2026-10-31"} if any(type(value) is date for value in values) else set()
        return {value.isoformat() for value in set(values) if type(value) is date}
    if kind is int and shared:
        distinct = [value for value in set(values) if type(value) is int]
        spec = _integer_spec(formats)
        if spec is None:
            return None
        grouping, decimals = spec
        return {format(value, grouping) + decimals for value in distinct}
    if kind is Decimal:
        return _shown_decimal_texts(values, formats, shared)
    return None


def _shown_decimal_texts(
    values: Sequence[object], formats: Sequence[str | None] | str | None, shared: bool
) -> set[str] | None:
    """:func:`_shown_texts_of` for Decimal cells (``shared``: one format for all)."""
    if formats is None:
        return {str(value) for value in values if type(value) is Decimal}
    if not shared and not all(formats):
        return None  # unformatted cells show their exponent (1.0, 1.00): by spelling
    # The cells by format (one, or one per currency: a few), each group's distinct
    # values found and formatted at C speed.
    if shared:
        groups = {formats: values}
    else:
        groups = {
            number_format: list(compress(values, map(number_format.__eq__, formats)))
            for number_format in set(formats)
        }
    texts = set()
    for number_format, cells in groups.items():
        try:  # equal values show alike in one format...
            distinct = set(cells)
        except TypeError:  # a signalling NaN, which cannot be hashed
            return None
        distinct.discard(None)
        distinct.discard(_ABSENT)
        if _ZERO in distinct:
            # ... but for the sign of a zero (-0.00): one zero of each sign.
            distinct = [value for value in distinct if value]
            distinct += {v.is_signed(): v for v in cells if type(v) is Decimal and not v}.values()
        spec = _decimal_spec(number_format)
        if spec is None:
            texts.update(display_text(value, number_format) for value in distinct)
        else:
            texts.update(map(format, distinct, repeat(spec)))
    return texts


_ZERO = Decimal(0)  # equal to every zero, whatever its sign and exponent


def _decimal_spec(number_format: str | None) -> str | None:
    """The format() spec of a Decimal in ``number_format`` as :func:`display_text`
    shows it; None for a format it shows otherwise (percentages, none)."""
    if not number_format or number_format.endswith("%"):
        return None
    grouping = "," if "," in number_format else ""
    if "." in number_format:
        return f"{grouping}.{len(number_format.rsplit('.', 1)[1].rstrip(';'))}f"
    return f"{grouping}.0f"


def _integer_spec(number_format: str | None) -> tuple[str, str] | None:
    """How :func:`display_text` shows an int in ``number_format``: the format() spec of
    its whole digits and the zero decimals after them; None for a percentage."""
    if number_format and number_format.endswith("%"):
        return None
    if not number_format:
        return "d", ""
    spec = _decimal_spec(number_format)
    decimals = int(spec[spec.index(".") + 1 : -1])
    return spec[: spec.index(".")] + "d", "." + "0" * decimals if decimals else ""


def _shown_texts_each(
    values: Sequence[object], formats: Sequence[str | None] | str | None
) -> set[str]:
    """:func:`_shown_texts`, value by value."""
    texts: set[str] = set()
    add = texts.add
    shown: dict[tuple, str] = {}
    shared = formats is None or isinstance(formats, str)
    for position, value in enumerate(values):
        kind = type(value)
        if kind is str:
            add(value)  # display_text of a plain str is the str itself
            continue
        if value is None:
            add("")
            continue
        if value is _ABSENT:
            continue
        number_format = formats if shared else formats[position]
        if kind is int:
            key = (number_format, kind, value)
        elif kind is Decimal and not value.is_nan():
            key = (
                (number_format, kind, value, value.is_signed())
                if number_format
                else (None, kind, str(value))
            )
        elif kind is float:
            key = (number_format, kind, value, math.copysign(1.0, value))
        else:
            add(display_text(value, number_format))
            continue
        text = shown.get(key)
        if text is None:
            text = shown[key] = display_text(value, number_format)
        add(text)
    return texts


def _holds_numbers(values: Sequence[object], kinds: set[type] | None = None) -> bool:
    """Whether any cell holds a number or a date (booleans are neither); ``kinds`` are the
    types of the values, when the caller has them."""
    return any(
        issubclass(kind, _NUMERIC) and not issubclass(kind, bool)
        for kind in (set(map(type, values)) if kinds is None else kinds)
    )


def _cell_formats(model: SheetModel) -> list[str] | None:
    """The money format of each row (its currency's decimals), or None without a
    currency column."""
    if model.currency_column is None:
        return None
    by_currency: dict[object, str] = {}
    formats = []
    column = model.currency_column
    for row in model.rows:
        currency = row[column] if column < len(row) else None
        number_format = by_currency.get(currency)
        if number_format is None:
            number_format = by_currency[currency] = money_format(currency)
        formats.append(number_format)
    return formats


def _header_width(header: str, content: float, padding: float) -> float:
    """The column's width given its content's: at least the header's longest word; one
    line for the header when that costs little, else two lines (the header row grows)."""
    words = max((text_width(word, True) for word in header.split()), default=0.0)
    two_lines = min(
        (
            max(
                text_width(" ".join(header.split()[:cut]), True),
                text_width(" ".join(header.split()[cut:]), True),
            )
            for cut in range(1, len(header.split()))
        ),
        default=text_width(header, True),
    )
    one_line = text_width(header, True)
    width = max(content, words + padding, MIN_WIDTH)
    if one_line + padding > width:
        width = (
            one_line + padding
            if one_line + padding <= width * 1.25
            else max(width, two_lines + padding)
        )
    return width


def fit_columns(model: SheetModel) -> tuple[Column, ...]:
    """The model's columns with widths fitted to the header and the values.

    A number or date column is as wide as its widest formatted value (never ``###``); a
    text column as its widest text, up to ``Column.width``, beyond which its text wraps.
    A header is never clipped: the column is at least as wide as the header's longest
    word, and the header wraps onto two lines rather than widen a narrow column much.

    Each distinct value is formatted once (a 100k-row sheet repeats most of its values).
    """
    padding = header_padding(model)
    money_formats = _cell_formats(model)
    fitted = []
    for column, values in zip(
        model.columns, _column_values(model.rows, len(model.columns)), strict=True
    ):
        formats = (
            money_formats
            if money_formats is not None and column.number_format == MONEY_FORMAT
            else column.number_format
        )
        kinds = set(map(type, values))  # looked at once for both questions
        texts = _shown_texts(values, formats, kinds)
        reached = any(value is not _ABSENT for value in values)
        numeric = _holds_numbers(values, kinds)
        content = _widest_texts(texts) if reached else 0.0
        if numeric:
            # A number too wide shows ###: room for a wider substitute font (LibreOffice
            # without Calibri's metric twin prints digits ~20 % wider).
            content *= NUMBER_SPARE
        content += CELL_PADDING if reached else 0.0
        wrap = False
        if not numeric:
            cap = max(column.width, MIN_WIDTH)
            if content > cap:
                content, wrap = cap, True
        width = _header_width(column.header, content, padding)
        # Rounded up: a width rounded down could leave a header word a hair too wide.
        fitted.append(replace(column, width=math.ceil(width * 10) / 10, wrap=wrap, fitted=True))
    return tuple(fitted)
