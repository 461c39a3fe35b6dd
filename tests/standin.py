"""An openpyxl-backed stand-in for desktop Excel, plugged into xlwings as an engine.

The add-in's handlers talk to Excel only through xlwings. To test them without Excel,
this module implements xlwings' engine interface (``xlwings.base_classes``: apps, books,
sheets, ranges, fonts, tables, charts) over openpyxl workbooks and registers it with
``xw.engines.add``. xlwings' own ``Range.value`` pipeline, converters, chunking and
``Book.caller()`` run unchanged on top; only the last step, the engine, is replaced.

The stand-in behaves like Excel where the handlers could tell the difference:

* reads return what COM returns: numbers as floats, dates as datetimes, the cached value
  of formula cells, ``None`` for empty and error cells;
* a written string is parsed the way Excel parses typed input: ``'`` keeps the rest as
  text, ``=``/``+``/``-`` start a formula, ``12.5``, ``TRUE``, ``2026-10-31`` become a
  number, a boolean and a date, except in cells formatted as Text (``@``);
* protected sheets and workbook structure refuse changes with Excel's message;
* only what the desktop engines (Windows and macOS) implement is offered: everything else
  in ``base_classes`` raises ``NotImplementedError`` naming the feature, so a handler
  cannot pass here by using something that fails in real Excel (``freeze_panes``, for
  instance, exists only in xlwings' remote engines).

Things Excel can do that the stand-in cannot, such as calculating a formula, raise too.
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
from copy import copy
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlwings as xw
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.series import SeriesLabel, StrRef
from openpyxl.styles import Font as XlFont
from openpyxl.styles import PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel, to_excel
from openpyxl.worksheet.table import Table as XlTable
from openpyxl.worksheet.table import TableColumn, TableStyleInfo
from xlwings import base_classes, utils

ENGINE_NAME = "openpyxl-standin"
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
# Excel's default column width (characters of the default font) and row height (points).
DEFAULT_COLUMN_WIDTH = 8.43
DEFAULT_ROW_HEIGHT = 15.0
EXCEL_VERSION = "16.0"
PROTECTED_MESSAGE = (
    "The cell or chart you're trying to change is on a protected sheet. To make a change, "
    "unprotect the sheet. You might be requested to enter a password."
)
STRUCTURE_MESSAGE = "Workbook is protected and cannot be changed."
CHART_TYPES = {  # xlwings chart type -> (openpyxl bar direction, grouping)
    "column_clustered": ("col", "clustered"),
    "column_stacked": ("col", "stacked"),
    "bar_clustered": ("bar", "clustered"),
    "bar_stacked": ("bar", "stacked"),
}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?%?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_COM_EPOCH = datetime(1899, 12, 30)
ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


class StandinError(Exception):
    """What Excel refuses (a protected sheet, a duplicate name), with Excel's message."""


class CellError:
    """An error value (``#N/A``) in a cell: COM hands these to xlwings as error codes."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"CellError({self.text!r})"


def _strict(cls):
    """Make every base_classes member that ``cls`` does not implement raise by name.

    The base classes raise a bare ``NotImplementedError()``; naming the feature says at
    once which xlwings call a handler made that the stand-in (or Excel's desktop engines)
    does not offer. Members the base classes implement themselves (``max_cells_per_read``,
    ``Range.expand``) are kept.
    """
    own: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__ != base_classes.__name__ and klass is not object:
            own.update(vars(klass))
    for klass in cls.__mro__:
        if klass.__module__ != base_classes.__name__:
            continue
        for name, member in vars(klass).items():
            if name in own or name in ("__init__", "__init_subclass__"):
                continue
            feature = f"{klass.__name__}.{name}"
            if isinstance(member, property):
                getter = member.fget if _implemented(member.fget) else _unsupported(feature)
                setter = member.fset if _implemented(member.fset) else _unsupported(feature)
                setattr(cls, name, property(getter, setter))
            elif inspect.isfunction(member) and not _implemented(member):
                setattr(cls, name, _unsupported(feature))
            own.add(name)
    return cls


def _implemented(function) -> bool:
    """Whether a base_classes function does something rather than raise."""
    if function is None:
        return False
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):  # pragma: no cover - source always ships with xlwings
        return False
    return "NotImplementedError" not in source


def _unsupported(feature: str):
    def unsupported(*_args, **_kwargs):
        raise NotImplementedError(f"{feature} is not supported by the openpyxl stand-in for Excel")

    unsupported.__name__ = feature.rsplit(".", 1)[-1]
    return unsupported


# ---- values in and out --------------------------------------------------------------------


def _read(cell, cached, epoch: datetime) -> Any:
    """What COM returns for ``cell``; ``cached()`` gives a formula cell's data-only twin.

    As in Excel, the number format decides between a date and a serial number: a date
    in a cell formatted General reads as its serial in the workbook's date system
    (``epoch``), a number in a date-formatted cell as a date.
    """
    if isinstance(cell, MergedCell):
        return None
    if cell.data_type == "f":
        # Excel returns what the formula last calculated: the value saved in the file.
        cell = cached() if cached is not None else None
        if cell is None:
            return None
    value = cell.value
    if cell.data_type == "e":
        return CellError(str(value))
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    dated = is_date_format(cell.number_format)
    if isinstance(value, numbers.Number):
        return from_excel(value, epoch) if dated else float(value)
    if isinstance(value, time):
        value = datetime.combine(_COM_EPOCH.date(), value)
    elif isinstance(value, timedelta):
        value = _COM_EPOCH + value
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)
        return value if dated else float(to_excel(value, epoch))
    if isinstance(value, str):
        return value
    raise NotImplementedError(
        f"cell {cell.coordinate} holds a {type(value).__name__}, which the stand-in cannot read"
    )


def excel_input(value: Any, number_format: str) -> tuple[Any, str | None]:
    """What Excel stores when ``value`` is written to a cell: (value, new number format).

    Strings are parsed like typed input (US locale), unless the cell is formatted as
    Text. A formula cannot be calculated here, so it raises.
    """
    if value is None or value == "":
        return None, None
    if isinstance(value, bool):
        return value, None
    if isinstance(value, Decimal):
        # pywin32 passes Decimal as Currency (4 decimals, currency format); appscript
        # refuses it: a handler must convert money to float before writing.
        raise TypeError("Decimal cell values behave differently per platform; write a float")
    if isinstance(value, numbers.Number):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"Excel cannot store {value!r}")
        return value, None
    if isinstance(value, datetime | date):
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        automatic = "m/d/yyyy" if value.time() == time(0) else "m/d/yyyy h:mm"
        return value, (automatic if number_format == "General" else None)
    if isinstance(value, time):
        return value, ("h:mm:ss" if number_format == "General" else None)
    if not isinstance(value, str):
        raise TypeError(f"Excel cannot store a {type(value).__name__}")
    if value.startswith("'"):
        return value[1:], None
    if number_format == "@":
        return value, None
    text = value.strip()
    if value[:1] == "=" or (value[:1] in "+-" and len(text) > 1 and not _NUMBER.match(text)):
        raise NotImplementedError(
            f"Excel would enter {value!r} as a formula, which the stand-in cannot calculate "
            "(prefix text with ' to keep it text)"
        )
    if text and _NUMBER.match(text) and any(ch.isdigit() for ch in text):
        number = float(text.replace(",", "").rstrip("%"))
        if text.endswith("%"):
            return number / 100, ("0%" if number_format == "General" else None)
        return (
            int(number)
            if number.is_integer() and "." not in text and "e" not in text.lower()
            else number
        ), None
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE", None
    if text.upper() in ERROR_CODES:
        return CellError(text.upper()), None
    for pattern, order in ((_ISO_DATE, "ymd"), (_US_DATE, "mdy")):
        match = pattern.match(text)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            year = parts["y"] + (2000 if parts["y"] < 30 else 1900 if parts["y"] < 100 else 0)
            try:
                day = datetime(year, parts["m"], parts["d"])
            except ValueError:
                return value, None
            return day, ("m/d/yyyy" if number_format == "General" else None)
    match = _TIME.match(text)
    if match and int(match.group(1)) < 24:
        moment = time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
        return moment, ("h:mm" if number_format == "General" else None)
    return value, None


def _rgb(color: Any) -> str | None:
    """xlwings colour (hex string, RGB tuple, Excel BGR int, None) -> ``RRGGBB``."""
    if color is None:
        return None
    if isinstance(color, str):
        color = utils.hex_to_rgb(color)
    if isinstance(color, int):
        color = utils.int_to_rgb(color)
    red, green, blue = color
    return f"{red:02X}{green:02X}{blue:02X}"


def _fill_rgb(cell) -> str | None:
    fill = cell.fill
    if fill is None or fill.fill_type != "solid":
        return None
    rgb = fill.fgColor.rgb if fill.fgColor is not None else None
    return rgb[-6:].upper() if isinstance(rgb, str) else None


# ---- engine --------------------------------------------------------------------------------


class Engine:
    """The engine object xlwings' conversion pipeline talks to."""

    def __init__(self) -> None:
        self.apps = Apps()

    @property
    def name(self) -> str:
        return ENGINE_NAME

    @property
    def type(self) -> str:
        # "desktop" makes xlwings take the same write paths as for Excel itself.
        return "desktop"

    @staticmethod
    def prepare_xl_data_element(x: Any, options: Any) -> Any:
        """Like the Windows engine: missing values become empty, numpy numbers floats."""
        try:
            import numpy as np
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a dependency
            np = pd = None
        if x is None:
            return ""
        if pd is not None and not isinstance(x, list | tuple | dict) and pd.isna(x):
            return ""
        if np is not None and isinstance(x, np.number):
            return float(x)
        return x

    @staticmethod
    def clean_value_data(data, datetime_builder, empty_as, number_builder, err_to_str):
        """Like the Windows engine: empty -> ``empty``, errors -> None (or their text)."""

        def clean(value):
            if value is None or value == "":
                return empty_as
            if isinstance(value, CellError):
                return value.text if err_to_str else None
            if isinstance(value, datetime) and datetime_builder is not datetime:
                return datetime_builder(
                    year=value.year,
                    month=value.month,
                    day=value.day,
                    hour=value.hour,
                    minute=value.minute,
                    second=value.second,
                    microsecond=value.microsecond,
                )
            if number_builder is not None and isinstance(value, float):
                return number_builder(value)
            return value

        return [[clean(value) for value in row] for row in data]


@_strict
class Apps(base_classes.Apps):
    """The running stand-in Excel instances (normally one)."""

    def __init__(self) -> None:
        self._apps: list[App] = []

    def keys(self):
        return [app.pid for app in self._apps]

    def add(self, spec=None, add_book=True, xl=None, visible=None):
        app = App(self, add_book=add_book)
        self._apps.insert(0, app)
        return app

    def __iter__(self):
        return iter(list(self._apps))

    def __len__(self):
        return len(self._apps)

    def __getitem__(self, index):
        return self._apps[index]


@_strict
class App(base_classes.App):
    """One stand-in Excel: its books, status bar and the message boxes it showed."""

    _next_pid = 90001

    def __init__(self, apps: Apps, add_book: bool = True) -> None:
        self.apps = apps
        self._pid = App._next_pid
        App._next_pid += 1
        self._books = Books(self)
        self._status_bar: str | bool = False
        self.status_history: list[str | bool] = []
        self.alerts: list[dict[str, Any]] = []
        # Buttons the "user" presses, in order; "ok"/"yes" when empty.
        self.answers: list[str] = []
        self._screen_updating = True
        self._display_alerts = True
        self._enable_events = True
        if add_book:
            self._books.add()

    @property
    def engine(self):
        return ENGINE

    @property
    def books(self):
        return self._books

    @property
    def pid(self):
        return self._pid

    @property
    def version(self):
        return EXCEL_VERSION

    @property
    def visible(self):
        return True

    @visible.setter
    def visible(self, value):
        if not value:
            raise NotImplementedError("App.visible = False is not supported by the stand-in")

    def activate(self, steal_focus=False):
        return None

    def quit(self):
        self.apps._apps.remove(self)

    def kill(self):
        self.quit()

    @property
    def status_bar(self):
        return self._status_bar

    @status_bar.setter
    def status_bar(self, value):
        self._status_bar = value
        self.status_history.append(value)

    @property
    def screen_updating(self):
        return self._screen_updating

    @screen_updating.setter
    def screen_updating(self, value):
        self._screen_updating = bool(value)

    @property
    def display_alerts(self):
        return self._display_alerts

    @display_alerts.setter
    def display_alerts(self, value):
        self._display_alerts = bool(value)

    @property
    def enable_events(self):
        return self._enable_events

    @enable_events.setter
    def enable_events(self, value):
        self._enable_events = bool(value)

    def alert(self, prompt, title, buttons, mode, callback):
        if buttons not in (None, "ok", "ok_cancel", "yes_no", "yes_no_cancel"):
            raise ValueError(f"unknown buttons {buttons!r}")
        if mode not in (None, "info", "critical"):
            raise ValueError(f"unknown mode {mode!r}")
        self.alerts.append({"prompt": prompt, "title": title, "buttons": buttons, "mode": mode})
        if self.answers:
            return self.answers.pop(0)
        return "yes" if buttons in ("yes_no", "yes_no_cancel") else "ok"


@_strict
class Books(base_classes.Books):
    """The open workbooks of a stand-in Excel."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.books: list[Book] = []
        self._active: Book | None = None
        self._untitled = 0

    @property
    def active(self):
        return self._active

    def __call__(self, name_or_index):
        if isinstance(name_or_index, numbers.Number):
            return self.books[int(name_or_index) - 1]
        for book in self.books:
            if name_or_index.casefold() in (book.name.casefold(), book.fullname.casefold()):
                return book
        raise KeyError(name_or_index)

    def __len__(self):
        return len(self.books)

    def __iter__(self):
        return iter(list(self.books))

    def add(self):
        self._untitled += 1
        workbook = Workbook()
        workbook.active.title = "Sheet1"
        book = Book(self, workbook, None, f"Book{self._untitled}")
        self.books.append(book)
        self._active = book
        return book

    def open(
        self,
        fullname,
        update_links=None,
        read_only=None,
        format=None,
        password=None,
        write_res_password=None,
        ignore_read_only_recommended=None,
        origin=None,
        delimiter=None,
        editable=None,
        notify=None,
        converter=None,
        add_to_mru=None,
        local=None,
        corrupt_load=None,
    ):
        path = Path(fullname).resolve()
        if path.suffix.lower() not in (".xlsx", ".xlsm", ".xltx", ".xltm"):
            raise NotImplementedError(
                f"the stand-in opens only Office Open XML files, not {path.name}"
            )
        if password:
            raise NotImplementedError("the stand-in cannot open password-protected files")
        workbook = load_workbook(
            path,
            keep_vba=path.suffix.lower() in (".xlsm", ".xltm"),
            keep_links=True,
            rich_text=False,
        )
        book = Book(self, workbook, path, path.name)
        self.books.append(book)
        self._active = book
        return book


@_strict
class Book(base_classes.Book):
    """A workbook held as an openpyxl Workbook (plus its cached formula values)."""

    def __init__(self, books: Books, workbook: Workbook, path: Path | None, name: str) -> None:
        self.books = books
        self.workbook = workbook
        self.path = path
        self._name = name
        self._values: Workbook | None = None
        # Charts added through xlwings, by worksheet: rendered into the file on save.
        self.charts: dict[int, list[Chart]] = {}

    @property
    def name(self):
        return self._name

    @property
    def fullname(self):
        return str(self.path) if self.path else self._name

    @property
    def sheets(self):
        return Sheets(self)

    @property
    def app(self):
        return self.books.app

    @property
    def names(self):
        return Names(self)

    def activate(self):
        self.books._active = self

    def close(self):
        self.books.books.remove(self)
        if self.books._active is self:
            self.books._active = self.books.books[-1] if self.books.books else None

    def cached_cell(self, worksheet, coordinate: str):
        """A formula cell as last calculated (its value saved in the file), or None."""
        if self.path is None:
            return None
        if self._values is None:
            self._values = load_workbook(self.path, data_only=True, rich_text=False)
        if worksheet.title not in self._values.sheetnames:
            return None
        return self._values[worksheet.title][coordinate]

    def check_structure(self) -> None:
        """Raise like Excel when the workbook's structure is protected."""
        security = self.workbook.security
        if security is not None and security.lockStructure:
            raise StandinError(STRUCTURE_MESSAGE)

    def save(self, path=None, password=None):
        if password:
            raise NotImplementedError("Book.save(password=...) is not supported by the stand-in")
        target = Path(path).resolve() if path else self.path
        if target is None:
            raise StandinError("This workbook has never been saved: give Book.save() a path.")
        rendered = []
        for worksheet in self.workbook.worksheets:
            for chart in self.charts.get(id(worksheet), []):
                rendered.append((worksheet, chart.render(worksheet)))
        for worksheet, chart in rendered:
            worksheet._charts.append(chart)
        try:
            self.workbook.save(target)
        finally:
            for worksheet, chart in rendered:
                worksheet._charts.remove(chart)
        self.path = target
        self._name = target.name


@_strict
class Sheets(base_classes.Sheets):
    """The worksheets of a book, in tab order."""

    def __init__(self, book: Book) -> None:
        self.book = book

    @property
    def active(self):
        return Sheet(self.book, self.book.workbook.active)

    def __call__(self, name_or_index):
        worksheets = self.book.workbook.worksheets
        if isinstance(name_or_index, numbers.Number):
            return Sheet(self.book, worksheets[int(name_or_index) - 1])
        for worksheet in worksheets:
            if worksheet.title.casefold() == str(name_or_index).casefold():
                return Sheet(self.book, worksheet)
        raise KeyError(name_or_index)

    def __len__(self):
        return len(self.book.workbook.worksheets)

    def __iter__(self):
        return iter([Sheet(self.book, ws) for ws in self.book.workbook.worksheets])

    def add(self, before=None, after=None, name=None):
        self.book.check_structure()
        workbook = self.book.workbook
        names = {ws.title.casefold() for ws in workbook.worksheets}
        if name is None:
            number = len(workbook.worksheets) + 1
            while f"sheet{number}" in names:
                number += 1
            name = f"Sheet{number}"
        elif name.casefold() in names:
            raise StandinError("That name is already taken. Try a different one.")
        if before is not None:
            index = workbook.worksheets.index(before.worksheet)
        elif after is not None:
            index = workbook.worksheets.index(after.worksheet) + 1
        elif workbook.active in workbook.worksheets:
            # Excel inserts a new sheet before the active one.
            index = workbook.worksheets.index(workbook.active)
        else:
            index = len(workbook.worksheets)
        worksheet = workbook.create_sheet(name, index)
        workbook.active = worksheet
        return Sheet(self.book, worksheet)


@_strict
class Sheet(base_classes.Sheet):
    """A worksheet."""

    def __init__(self, book: Book, worksheet) -> None:
        self._book = book
        self.worksheet = worksheet

    @property
    def name(self):
        return self.worksheet.title

    @name.setter
    def name(self, value):
        self._book.check_structure()
        taken = {
            ws.title.casefold() for ws in self._book.workbook.worksheets if ws is not self.worksheet
        }
        if value.casefold() in taken:
            raise StandinError("That name is already taken. Try a different one.")
        self.worksheet.title = value

    @property
    def index(self):
        return self._book.workbook.worksheets.index(self.worksheet) + 1

    @property
    def book(self):
        return self._book

    @property
    def visible(self):
        return self.worksheet.sheet_state == "visible"

    @visible.setter
    def visible(self, value):
        self._book.check_structure()
        self.worksheet.sheet_state = "visible" if value else "hidden"

    def range(self, arg1, arg2=None):
        return Range(self, arg1, arg2)

    @property
    def cells(self):
        return Range(self, (1, 1), (MAX_ROWS, MAX_COLUMNS))

    @property
    def used_range(self):
        ws = self.worksheet
        if not ws._cells:
            return Range(self, (1, 1))
        return Range(self, (ws.min_row, ws.min_column), (ws.max_row, ws.max_column))

    def activate(self):
        self._book.workbook.active = self.worksheet

    def select(self):
        self.activate()

    def delete(self):
        self._book.check_structure()
        workbook = self._book.workbook
        visible = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]
        if visible == [self.worksheet]:
            raise StandinError("A workbook must contain at least one visible worksheet.")
        self._book.charts.pop(id(self.worksheet), None)
        workbook.remove(self.worksheet)
        if workbook.worksheets and workbook.active is None:
            workbook.active = 0

    @property
    def tables(self):
        return Tables(self)

    @property
    def charts(self):
        return Charts(self)

    def protected(self) -> bool:
        """Whether the sheet is protected (Review > Protect Sheet)."""
        return bool(self.worksheet.protection.sheet)

    @property
    def page_setup(self):
        return PageSetup(self)

    @property
    def api(self):
        """The worksheet's COM members the add-in uses: ``HPageBreaks`` only."""
        return ComSheet(self.worksheet)


class ComSheet:
    """A worksheet's COM object, as far as the add-in uses it: manual page breaks."""

    def __init__(self, worksheet) -> None:
        self.HPageBreaks = ComPageBreaks(worksheet)


class ComPageBreaks:
    """``Worksheet.HPageBreaks``: ``Add(Before=cell)`` starts a page at that cell's row."""

    def __init__(self, worksheet) -> None:
        self.worksheet = worksheet

    def Add(self, Before):  # noqa: N802, N803 - COM's names
        from openpyxl.worksheet.pagebreak import Break

        self.worksheet.row_breaks.append(Break(id=Before.row - 1))


@_strict
class PageSetup(base_classes.PageSetup):
    """A sheet's print set-up: ``print_area`` as xlwings offers it, and ``api`` with the
    properties of Excel's own PageSetup object (Windows COM names) that the add-in sets."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet

    @property
    def api(self):
        return ComPageSetup(self.sheet.worksheet)

    @property
    def print_area(self):
        area = self.sheet.worksheet.print_area
        return area or None

    @print_area.setter
    def print_area(self, value):
        self.sheet.worksheet.print_area = value


class ComPageSetup:
    """The properties of Excel's PageSetup COM object the add-in writes, kept in the
    openpyxl sheet (so the saved file prints as Excel's would). Anything else raises."""

    _FOOTERS = {"LeftFooter": "left", "CenterFooter": "center", "RightFooter": "right"}

    def __init__(self, worksheet) -> None:
        object.__setattr__(self, "worksheet", worksheet)

    def __setattr__(self, name, value):
        ws = self.worksheet
        if name == "Orientation":  # xlPortrait 1, xlLandscape 2
            ws.page_setup.orientation = {1: "portrait", 2: "landscape"}[value]
        elif name == "Zoom":
            if value is not False:
                raise NotImplementedError("the stand-in only fits to pages (Zoom = False)")
            ws.sheet_properties.pageSetUpPr.fitToPage = True
        elif name == "FitToPagesWide":
            ws.page_setup.fitToWidth = 0 if value is False else int(value)
        elif name == "FitToPagesTall":
            ws.page_setup.fitToHeight = 0 if value is False else int(value)
        elif name == "PrintTitleRows":
            ws.print_title_rows = value.replace("$", "") if value else None
        elif name == "PrintTitleColumns":
            ws.print_title_cols = value.replace("$", "") if value else None
        elif name in self._FOOTERS:
            getattr(ws.oddFooter, self._FOOTERS[name]).text = value or None
        else:
            raise NotImplementedError(f"PageSetup.{name} is not supported by the stand-in")


@_strict
class Range(base_classes.Range):
    """A rectangle of cells on a sheet."""

    def __init__(self, sheet: Sheet, arg1, arg2=None) -> None:
        self.sheet = sheet
        self.options = None  # set by xlwings' Range
        if isinstance(arg1, Range):
            first = (arg1.row, arg1.column)
            last = arg1.last if arg2 is None else None
            if isinstance(arg2, Range):
                last = arg2.last
                first, last = (
                    (min(first[0], arg2.row), min(first[1], arg2.column)),
                    (max(arg1.last[0], arg2.last[0]), max(arg1.last[1], arg2.last[1])),
                )
            elif arg2 is not None:
                last = tuple(arg2)
            arg1, arg2 = first, last
        elif isinstance(arg1, str):
            first, last = utils.a1_to_tuples(arg1)
            if first is None:
                raise NotImplementedError(
                    f"named ranges ({arg1!r}) are not supported by the stand-in"
                )
            arg1, arg2 = first, (last if arg2 is None else arg2)
            if isinstance(arg2, Range):
                arg2 = arg2.last
        elif isinstance(arg2, Range):
            arg2 = arg2.last
        if len(arg1) == 4:
            row, column, rows, columns = arg1
            arg1, arg2 = (row, column), (row + rows - 1, column + columns - 1)
        first = (int(arg1[0]), int(arg1[1]))
        last = (int(arg2[0]), int(arg2[1])) if arg2 is not None else first
        top, bottom = sorted((first[0], last[0]))
        left, right = sorted((first[1], last[1]))
        if top < 1 or left < 1 or bottom > MAX_ROWS or right > MAX_COLUMNS:
            raise ValueError(f"range {arg1}-{arg2} is outside the sheet")
        self.first = (top, left)
        self.last = (bottom, right)

    # -- geometry -------------------------------------------------------------------------

    @property
    def api(self):
        # xlwings only tests this for truth before writing.
        return self

    def __len__(self):
        rows, columns = self.shape
        return rows * columns

    @property
    def coords(self):
        rows, columns = self.shape
        return self.sheet.name, self.row, self.column, rows, columns

    @property
    def row(self):
        return self.first[0]

    @property
    def column(self):
        return self.first[1]

    @property
    def shape(self):
        return self.last[0] - self.first[0] + 1, self.last[1] - self.first[1] + 1

    def __call__(self, arg1, arg2=None):
        if arg2 is None:
            columns = self.shape[1]
            arg1, arg2 = (arg1 - 1) // columns + 1, (arg1 - 1) % columns + 1
        return Range(self.sheet, (self.row + arg1 - 1, self.column + arg2 - 1))

    @property
    def address(self):
        return self.get_address(True, True, False)

    def get_address(self, row_absolute, col_absolute, external):
        def cell(row, column):
            return (
                ("$" if col_absolute else "")
                + get_column_letter(column)
                + ("$" if row_absolute else "")
                + str(row)
            )

        text = cell(*self.first)
        if self.first != self.last:
            text += ":" + cell(*self.last)
        if external:
            text = f"[{self.sheet.book.name}]{self.sheet.name}!{text}"
        return text

    @property
    def has_array(self):
        return False

    @property
    def left(self):
        return sum(_column_points(self.sheet.worksheet, c) for c in range(1, self.column))

    @property
    def top(self):
        return sum(_row_points(self.sheet.worksheet, r) for r in range(1, self.row))

    @property
    def width(self):
        return sum(
            _column_points(self.sheet.worksheet, c) for c in range(self.column, self.last[1] + 1)
        )

    @property
    def height(self):
        return sum(_row_points(self.sheet.worksheet, r) for r in range(self.row, self.last[0] + 1))

    def _cells(self, create: bool = True):
        """The openpyxl cells of the range, row by row (created when ``create``)."""
        ws = self.sheet.worksheet
        if len(self) > 5_000_000:
            raise NotImplementedError("the stand-in handles ranges of up to 5,000,000 cells")
        for row in range(self.first[0], self.last[0] + 1):
            if create:
                yield [ws.cell(row, column) for column in range(self.first[1], self.last[1] + 1)]
            else:
                yield [
                    ws._cells.get((row, column))
                    for column in range(self.first[1], self.last[1] + 1)
                ]

    def _existing(self):
        """The cells of the range that exist (reading must not create cells)."""
        ws = self.sheet.worksheet
        rows, columns = self.shape
        if len(ws._cells) < rows * columns:
            return [
                cell
                for (row, column), cell in ws._cells.items()
                if self.first[0] <= row <= self.last[0] and self.first[1] <= column <= self.last[1]
            ]
        return [cell for line in self._cells(create=False) for cell in line if cell is not None]

    def _check_protection(self, what: str) -> None:
        ws = self.sheet.worksheet
        protection = ws.protection
        if not protection.sheet:
            return
        if what == "format" and not protection.formatCells:
            return
        for line in self._cells(create=False):
            for cell in line:
                locked = True if cell is None or cell.protection is None else cell.protection.locked
                if locked:
                    raise StandinError(PROTECTED_MESSAGE)

    # -- values ---------------------------------------------------------------------------

    @property
    def raw_value(self):
        ws = self.sheet.worksheet
        book = self.sheet.book
        rows = []
        for line in self._cells(create=False):
            values = []
            for cell in line:
                if cell is None:
                    values.append(None)
                    continue

                def cached(cell=cell):
                    return book.cached_cell(ws, cell.coordinate)

                values.append(
                    _read(cell, cached if cell.data_type == "f" else None, book.workbook.epoch)
                )
            rows.append(values)
        if self.shape == (1, 1):
            return rows[0][0]  # COM returns a scalar for one cell
        return rows

    @raw_value.setter
    def raw_value(self, data):
        rows, columns = self.shape
        if not isinstance(data, list | tuple):
            data = [[data] * columns for _ in range(rows)]  # Excel fills a range with a scalar
        elif data and not isinstance(data[0], list | tuple):
            data = [list(data)]
        if len(data) != rows or any(len(line) != columns for line in data):
            raise ValueError(f"{len(data)} rows of values for a {rows}x{columns} range")
        self._check_protection("value")
        cells = list(self._cells())
        # Parse everything first: Excel rejects a write as a whole.
        parsed = [
            [
                excel_input(value, cell.number_format)
                for value, cell in zip(line, row_cells, strict=True)
            ]
            for line, row_cells in zip(data, cells, strict=True)
        ]
        for line, row_cells in zip(parsed, cells, strict=True):
            for (value, number_format), cell in zip(line, row_cells, strict=True):
                if isinstance(cell, MergedCell):
                    continue
                if isinstance(value, CellError):
                    cell.value = value.text
                    cell.data_type = "e"
                    continue
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # openpyxl would take "=..." text for a formula
                if number_format is not None:
                    cell.number_format = number_format

    def clear_contents(self):
        self._check_protection("value")
        for cell in self._existing():
            if not isinstance(cell, MergedCell):
                cell.value = None

    def clear_formats(self):
        self._check_protection("format")
        for cell in self._existing():
            if not isinstance(cell, MergedCell):
                cell._style = StyleArray()

    def clear(self):
        self.clear_contents()
        self.clear_formats()

    # -- formats --------------------------------------------------------------------------

    def _uniform(self, getter):
        values = {getter(cell) for line in self._cells(create=False) for cell in line}
        return values.pop() if len(values) == 1 else None

    @property
    def number_format(self):
        return self._uniform(lambda cell: "General" if cell is None else cell.number_format)

    @number_format.setter
    def number_format(self, value):
        self._check_protection("format")
        for line in self._cells():
            for cell in line:
                cell.number_format = value

    @property
    def color(self):
        value = self._uniform(lambda cell: None if cell is None else _fill_rgb(cell))
        return None if value is None else utils.hex_to_rgb(value)

    @color.setter
    def color(self, color_or_rgb):
        self._check_protection("format")
        rgb = _rgb(color_or_rgb)
        fill = PatternFill() if rgb is None else PatternFill("solid", fgColor="FF" + rgb)
        for line in self._cells():
            for cell in line:
                cell.fill = fill

    @property
    def font(self):
        return Font(self)

    @property
    def wrap_text(self):
        values = {bool(cell.alignment.wrap_text) for line in self._cells() for cell in line}
        return values.pop() if len(values) == 1 else None

    @wrap_text.setter
    def wrap_text(self, value):
        self._check_protection("format")
        for line in self._cells():
            for cell in line:
                alignment = copy(cell.alignment)
                alignment.wrap_text = bool(value)
                cell.alignment = alignment

    @property
    def vertical_alignment(self):
        values = {cell.alignment.vertical or "bottom" for line in self._cells() for cell in line}
        return values.pop() if len(values) == 1 else None

    @vertical_alignment.setter
    def vertical_alignment(self, value):
        self._check_protection("format")
        for line in self._cells():
            for cell in line:
                alignment = copy(cell.alignment)
                alignment.vertical = None if value == "bottom" else value
                cell.alignment = alignment

    @property
    def row_height(self):
        heights = {_row_points(self.sheet.worksheet, r) for r in range(self.row, self.last[0] + 1)}
        return heights.pop() if len(heights) == 1 else None

    @row_height.setter
    def row_height(self, value):
        protection = self.sheet.worksheet.protection
        if protection.sheet and protection.formatRows:
            raise StandinError(PROTECTED_MESSAGE)
        for row in range(self.row, self.last[0] + 1):
            self.sheet.worksheet.row_dimensions[row].height = value

    @property
    def column_width(self):
        widths = {
            _column_width(self.sheet.worksheet, c) for c in range(self.column, self.last[1] + 1)
        }
        return widths.pop() if len(widths) == 1 else None

    @column_width.setter
    def column_width(self, value):
        protection = self.sheet.worksheet.protection
        if protection.sheet and protection.formatColumns:
            raise StandinError(PROTECTED_MESSAGE)
        for column in range(self.column, self.last[1] + 1):
            if _column_dimension(self.sheet.worksheet, column, exact=False) is not None and (
                _column_dimension(self.sheet.worksheet, column, exact=True) is None
            ):
                raise NotImplementedError("the stand-in cannot split a group of columns")
            self.sheet.worksheet.column_dimensions[get_column_letter(column)].width = value


def _column_dimension(worksheet, column: int, exact: bool):
    """The <col> entry covering ``column`` (``exact``: one for that column alone)."""
    for dimension in worksheet.column_dimensions.values():
        low = dimension.min or 0
        high = dimension.max or 0
        if not low:
            from openpyxl.utils import column_index_from_string

            low = high = column_index_from_string(dimension.index)
        if low <= column <= high and (not exact or low == high):
            return dimension
    return None


def _column_width(worksheet, column: int) -> float:
    dimension = _column_dimension(worksheet, column, exact=False)
    if dimension is not None and dimension.width:
        return float(dimension.width)
    default = worksheet.sheet_format.defaultColWidth
    return float(default) if default else DEFAULT_COLUMN_WIDTH


def _column_points(worksheet, column: int) -> float:
    # Excel: pixels = trunc(((256 * width + trunc(128 / 7)) / 256) * 7); 96 dpi -> points.
    width = _column_width(worksheet, column)
    pixels = math.trunc(((256 * width + math.trunc(128 / 7)) / 256) * 7)
    return pixels * 0.75


def _row_points(worksheet, row: int) -> float:
    dimension = worksheet.row_dimensions.get(row)
    if dimension is not None and dimension.height:
        return float(dimension.height)
    return DEFAULT_ROW_HEIGHT


@_strict
class Font(base_classes.Font):
    """The font of a range (bold only)."""

    def __init__(self, rng: Range) -> None:
        self.rng = rng

    @property
    def bold(self):
        return self.rng._uniform(lambda cell: bool(cell is not None and cell.font and cell.font.b))

    @bold.setter
    def bold(self, value):
        self.rng._check_protection("format")
        for line in self.rng._cells():
            for cell in line:
                font = copy(cell.font) if cell.font else XlFont()
                font.b = bool(value)
                cell.font = font


@_strict
class Names(base_classes.Names):
    """The defined names of a book (book-level, then each sheet's as ``Sheet!name``)."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def _all(self) -> list[tuple[str, Any]]:
        workbook = self.book.workbook
        names = [(name, item) for name, item in workbook.defined_names.items()]
        for worksheet in workbook.worksheets:
            names += [
                (f"{worksheet.title}!{name}", item)
                for name, item in worksheet.defined_names.items()
            ]
        return names

    def __call__(self, name_or_index):
        names = self._all()
        if isinstance(name_or_index, numbers.Number):
            return Name(*names[int(name_or_index) - 1])
        for name, item in names:
            if name.casefold() == str(name_or_index).casefold():
                return Name(name, item)
        raise KeyError(name_or_index)

    def contains(self, name_or_index):
        return any(name.casefold() == str(name_or_index).casefold() for name, _ in self._all())

    def __len__(self):
        return len(self._all())


@_strict
class Name(base_classes.Name):
    """One defined name (read only)."""

    def __init__(self, name: str, item) -> None:
        self._name = name
        self.item = item

    @property
    def name(self):
        return self._name

    @property
    def refers_to(self):
        return "=" + str(self.item.attr_text)


# ---- tables ----------------------------------------------------------------------------------


@_strict
class Tables(base_classes.Tables):
    """The Excel tables (ListObjects) of a sheet."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet

    def _tables(self):
        return list(self.sheet.worksheet.tables.values())

    def __call__(self, name_or_index):
        tables = self._tables()
        if isinstance(name_or_index, numbers.Number):
            return Table(self.sheet, tables[int(name_or_index) - 1])
        for table in tables:
            if table.displayName.casefold() == name_or_index.casefold():
                return Table(self.sheet, table)
        raise KeyError(name_or_index)

    def __len__(self):
        return len(self._tables())

    def __iter__(self):
        return iter([Table(self.sheet, table) for table in self._tables()])

    def __contains__(self, name):
        return any(t.displayName.casefold() == str(name).casefold() for t in self._tables())

    def add(
        self,
        source_type=None,
        source=None,
        link_source=None,
        has_headers=None,
        destination=None,
        table_style_name=None,
        name=None,
    ):
        if source_type not in (None, "xlSrcRange") or link_source or destination is not None:
            raise NotImplementedError("the stand-in adds tables over a range only")
        if not has_headers:
            raise NotImplementedError(
                "tables without a header row are not supported by the stand-in"
            )
        rng = source.impl if hasattr(source, "impl") else source
        rng._check_protection("format")
        headers = [cell.value for cell in next(iter(rng._cells()))]
        if not all(isinstance(h, str) and h for h in headers) or len(
            {h.casefold() for h in headers}
        ) != len(headers):
            # Excel would rename such headers in the cells (Column1, Rank2): not emulated.
            raise NotImplementedError("table headers must be distinct texts for the stand-in")
        taken = {
            t.displayName.casefold()
            for ws in self.sheet.book.workbook.worksheets
            for t in ws.tables.values()
        }
        if name is None:
            number = 1
            while f"table{number}" in taken:
                number += 1
            name = f"Table{number}"
        elif name.casefold() in taken:
            raise StandinError(f"A table named {name!r} already exists.")
        table = XlTable(displayName=name, ref=rng.get_address(False, False, False))
        table.tableStyleInfo = TableStyleInfo(
            name=table_style_name or "TableStyleMedium2", showRowStripes=True
        )
        table._initialise_columns()
        for column, header in zip(table.tableColumns, headers, strict=True):
            column.name = header
        self.sheet.worksheet.add_table(table)
        return Table(self.sheet, table)


@_strict
class Table(base_classes.Table):
    """One Excel table."""

    def __init__(self, sheet: Sheet, table: XlTable) -> None:
        self.sheet = sheet
        self.table = table

    @property
    def name(self):
        return self.table.displayName

    @name.setter
    def name(self, value):
        tables = self.sheet.worksheet.tables
        taken = {
            t.displayName.casefold()
            for ws in self.sheet.book.workbook.worksheets
            for t in ws.tables.values()
            if t is not self.table
        }
        if value.casefold() in taken:
            raise StandinError(f"A table named {value!r} already exists.")
        # openpyxl keeps a sheet's tables in a dict keyed by name.
        del tables[self.table.displayName]
        self.table.displayName = value
        self.table.name = value
        tables[value] = self.table

    @property
    def parent(self):
        return self.sheet

    @property
    def range(self):
        return Range(self.sheet, self.table.ref.replace("$", ""))

    @property
    def header_row_range(self):
        whole = self.range
        return Range(self.sheet, whole.first, (whole.first[0], whole.last[1]))

    @property
    def data_body_range(self):
        whole = self.range
        if whole.shape[0] < 2:
            return None
        return Range(self.sheet, (whole.first[0] + 1, whole.first[1]), whole.last)

    def resize(self, range):
        rng = range.impl if hasattr(range, "impl") else range
        old = self.range
        if rng.first[0] != old.first[0]:
            raise StandinError("The header row must stay in the same row when resizing a table.")
        headers = [cell.value for cell in next(iter(rng._cells()))]
        names = {c.name: c for c in self.table.tableColumns}
        self.table.ref = rng.get_address(False, False, False)
        if self.table.autoFilter is not None:
            self.table.autoFilter.ref = self.table.ref
        columns = []
        for index, header in enumerate(headers, start=1):
            if not isinstance(header, str) or not header:
                raise NotImplementedError("table headers must be texts for the stand-in")
            column = names.get(header) or TableColumn(id=index, name=header)
            column.id = index
            columns.append(column)
        self.table.tableColumns = columns


# ---- charts ----------------------------------------------------------------------------------


@_strict
class Charts(base_classes.Charts):
    """The charts the handlers added to a sheet (charts already in the file are kept)."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet

    def _charts(self) -> list[Chart]:
        return self.sheet.book.charts.setdefault(id(self.sheet.worksheet), [])

    @property
    def parent(self):
        return self.sheet

    def __call__(self, name_or_index):
        charts = self._charts()
        if isinstance(name_or_index, numbers.Number):
            return charts[int(name_or_index) - 1]
        for chart in charts:
            if chart.name == name_or_index:
                return chart
        raise KeyError(name_or_index)

    def __len__(self):
        return len(self._charts())

    def __iter__(self):
        return iter(list(self._charts()))

    def __contains__(self, name):
        return any(chart.name == name for chart in self._charts())

    def add(
        self,
        left=0,
        top=0,
        width=355,
        height=211,
        chart_type=None,
        source=None,
        plot_by=None,
        name=None,
        anchor=None,
        style=227,
    ):
        if self.sheet.protected():
            raise StandinError(PROTECTED_MESSAGE)
        if anchor is not None:
            cell = anchor.impl if hasattr(anchor, "impl") else anchor
            position = cell.first
        elif left or top:
            raise NotImplementedError("the stand-in places charts by anchor cell only")
        else:
            position = (1, 1)
        charts = self._charts()
        if name is None:
            number = len(charts) + 1
            while any(c.name == f"Chart {number}" for c in charts):
                number += 1
            name = f"Chart {number}"
        chart = Chart(self.sheet, name, position, width, height, style)
        if source is not None:
            chart.set_source_data(source, plot_by)
        if chart_type is not None:
            chart.chart_type = chart_type
        charts.append(chart)
        return chart


@_strict
class Chart(base_classes.Chart):
    """A bar or column chart over cells of its sheet."""

    def __init__(self, sheet: Sheet, name: str, position, width, height, style) -> None:
        self.sheet = sheet
        self._name = name
        self.position = position
        self._width = float(width)
        self._height = float(height)
        self._style = style
        self._type = "column_clustered"
        self._title: str | None = None
        self.categories: tuple[int, int, int] | None = None  # column, first row, last row
        self.series_list: list[ChartSeries] = []
        self.axes = {"value": ChartAxis(), "category": ChartAxis()}
        self._legend = ChartLegend()

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def parent(self):
        return self.sheet

    @property
    def chart_type(self):
        return self._type

    @chart_type.setter
    def chart_type(self, value):
        if value not in CHART_TYPES:
            raise NotImplementedError(f"chart type {value!r} is not supported by the stand-in")
        self._type = value

    @property
    def title(self):
        return self._title

    @title.setter
    def title(self, value):
        self._title = value

    @property
    def style(self):
        return self._style

    @style.setter
    def style(self, value):
        self._style = value

    @property
    def left(self):
        return Range(self.sheet, self.position).left

    @property
    def top(self):
        return Range(self.sheet, self.position).top

    @property
    def width(self):
        return self._width

    @property
    def height(self):
        return self._height

    @property
    def legend(self):
        return self._legend

    @property
    def value_axis(self):
        return self.axes["value"]

    @property
    def category_axis(self):
        return self.axes["category"]

    @property
    def series(self):
        return ChartSeriesCollection(self)

    def delete(self):
        self.sheet.book.charts[id(self.sheet.worksheet)].remove(self)

    def set_source_data(self, rng, plot_by=None):
        """Series from a source range, the way Excel reads one by default.

        A first column of texts holds the categories and a first row of texts the
        series names; each other column (``plot_by="columns"``, or when the range is
        taller than wide) is one series.
        """
        rng = rng.impl if hasattr(rng, "impl") else rng
        if plot_by is None:
            rows, columns = rng.shape
            plot_by = "columns" if rows >= columns else "rows"
        if plot_by == "rows":
            self._set_rows_source(rng)
            return
        if plot_by != "columns":
            raise NotImplementedError(f"the stand-in cannot plot series by {plot_by!r}")
        values = rng.raw_value
        values = values if isinstance(values, list) else [[values]]
        first_column = [line[0] for line in values[1:]]
        has_categories = bool(first_column) and all(
            isinstance(v, str) or v is None for v in first_column
        )
        start = 1 if has_categories else 0
        has_names = all(isinstance(v, str) for v in values[0][start:])
        top = rng.row + (1 if has_names else 0)
        bottom = rng.last[0]
        self.categories = (rng.column, top, bottom) if has_categories else None
        self.category_row = None
        self.series_list = [
            ChartSeries(rng.row if has_names else None, column, top, bottom)
            for column in range(rng.column + start, rng.last[1] + 1)
        ]

    def _set_rows_source(self, rng) -> None:
        """``plot_by="rows"``: a first row of texts holds the categories and a first
        column of texts the series names; each other row is one series."""
        values = rng.raw_value
        values = values if isinstance(values, list) else [[values]]
        has_names = all(isinstance(line[0], str) or line[0] is None for line in values[1:])
        start = 1 if has_names else 0
        has_categories = all(isinstance(v, str) for v in values[0][start:])
        left = rng.column + start
        right = rng.last[1]
        top = rng.row + (1 if has_categories else 0)
        self.categories = None
        self.category_row = (rng.row, left, right) if has_categories else None
        self.series_list = [
            ChartSeries(
                row if has_names else None,
                left,
                row,
                row,
                name_column=rng.column if has_names else None,
                last_column=right,
            )
            for row in range(top, rng.last[0] + 1)
        ]

    def render(self, worksheet) -> BarChart:
        """This chart as an openpyxl chart (drawn into the file on save)."""
        direction, grouping = CHART_TYPES[self._type]
        chart = BarChart()
        chart.type = direction
        chart.grouping = grouping
        if grouping == "stacked":
            chart.overlap = 100
        for series in self.series_list:
            by_row = series.last_column is not None
            data = Reference(
                worksheet,
                min_col=series.column,
                min_row=series.first_row,
                max_col=series.last_column if by_row else series.column,
                max_row=series.last_row,
            )
            chart.add_data(data, from_rows=by_row, titles_from_data=False)
            rendered = chart.series[-1]
            if series.name_row is not None:
                quoted = "'" + worksheet.title.replace("'", "''") + "'"
                name_column = (
                    series.name_column if by_row else (series.name_column or series.column)
                )
                rendered.tx = SeriesLabel(
                    strRef=StrRef(f"{quoted}!${get_column_letter(name_column)}${series.name_row}")
                )
            if series.fill is not None:
                rendered.graphicalProperties.solidFill = series.fill
        if self.categories is not None:
            column, first, last = self.categories
            chart.set_categories(Reference(worksheet, min_col=column, min_row=first, max_row=last))
        if getattr(self, "category_row", None) is not None:
            row, first, last = self.category_row
            chart.set_categories(
                Reference(worksheet, min_col=first, max_col=last, min_row=row, max_row=row)
            )
        chart.title = self._title
        if self.axes["value"].title_text:
            chart.y_axis.title = self.axes["value"].title_text
        if self.axes["value"].format:
            chart.y_axis.number_format = self.axes["value"].format
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.legend.position = {
            "right": "r",
            "left": "l",
            "top": "t",
            "bottom": "b",
            "corner": "tr",
        }[self._legend._position]
        chart.width = self._width / 72 * 2.54  # points -> cm
        chart.height = self._height / 72 * 2.54
        chart.anchor = f"{get_column_letter(self.position[1])}{self.position[0]}"
        return chart


@_strict
class ChartSeriesCollection(base_classes.ChartSeriesCollection):
    """The series of a chart."""

    def __init__(self, chart: Chart) -> None:
        self.chart = chart

    def __call__(self, key):
        if isinstance(key, numbers.Number):
            return self.chart.series_list[int(key) - 1]
        raise NotImplementedError("the stand-in looks series up by position only")

    def __len__(self):
        return len(self.chart.series_list)

    def __iter__(self):
        return iter(list(self.chart.series_list))


@_strict
class ChartSeries(base_classes.ChartSeries):
    """One series: values in one column, its name in a cell above them (or in a row,
    named in the cell left of them)."""

    def __init__(
        self,
        name_row: int | None,
        column: int,
        first_row: int,
        last_row: int,
        name_column: int | None = None,
        last_column: int | None = None,
    ) -> None:
        self.name_row = name_row
        self.column = column
        self.first_row = first_row
        self.last_row = last_row
        # A series along a row (plot_by="rows"): values column..last_column of first_row,
        # named by the cell (name_row, name_column).
        self.name_column = name_column
        self.last_column = last_column
        self.fill: str | None = None

    @property
    def name(self):
        return None if self.name_row is None else f"R{self.name_row}C{self.name_column}"

    @name.setter
    def name(self, value):
        """Only a reference to one cell of the chart's sheet, as Excel's ``="=Sheet!R1C3"``
        (what the add-in writes); a literal name is not kept by the stand-in."""
        match = re.fullmatch(r"=(?:'(?:[^']|'')+'|[^!]+)!R(\d+)C(\d+)", str(value))
        if match is None:
            raise NotImplementedError("the stand-in names series by a cell reference only")
        self.name_row, self.name_column = int(match.group(1)), int(match.group(2))

    @property
    def fill_color(self):
        return None if self.fill is None else utils.hex_to_rgb(self.fill)

    @fill_color.setter
    def fill_color(self, value):
        self.fill = _rgb(value)

    def set(self, **changes):
        for name, value in _changes(changes, "ChartSeries.set", ("fill_color", "name")):
            setattr(self, name, value)


@_strict
class ChartAxis(base_classes.ChartAxis):
    """A chart axis: its title and number format."""

    def __init__(self) -> None:
        self.title_text: str | None = None
        self.format: str | None = None

    @property
    def title(self):
        return self.title_text

    @title.setter
    def title(self, value):
        self.title_text = value

    @property
    def number_format(self):
        return self.format or "General"

    @number_format.setter
    def number_format(self, value):
        self.format = value

    def set(self, **changes):
        for name, value in _changes(changes, "ChartAxis.set", ("title", "number_format")):
            setattr(self, name, value)


@_strict
class ChartLegend(base_classes.ChartLegend):
    """A chart's legend."""

    def __init__(self) -> None:
        self._position = "right"

    @property
    def position(self):
        return self._position

    @position.setter
    def position(self, value):
        self._position = value


def _changes(changes: dict, where: str, supported: tuple[str, ...]):
    """The supplied (name, value) pairs of a ``set(...)`` call; unsupported ones raise."""
    given = [(name, value) for name, value in changes.items() if value is not base_classes._UNSET]
    for name, _value in given:
        if name not in supported:
            raise NotImplementedError(f"{where}({name}=...) is not supported by the stand-in")
    return given


ENGINE = Engine()


# ---- installing the stand-in ---------------------------------------------------------------


def find_engine(name: str = ENGINE_NAME) -> xw.Engine | None:
    """The registered engine called ``name``, or None.

    ``xw.engines[name]`` raises LicenseError (not KeyError) for any name but "excel"
    without an xlwings PRO key, so engines are looked up by iterating.
    """
    return next((engine for engine in xw.engines if engine.name == name), None)


def install() -> xw.Engine:
    """Register the stand-in engine with xlwings (once) and return it."""
    engine = find_engine()
    if engine is None:
        engine = xw.Engine(impl=ENGINE)
        xw.engines.add(engine)
    return engine


def activate() -> xw.App:
    """Make the stand-in the active engine, with one running app; return that app."""
    engine = install()
    engine.activate()
    if not ENGINE.apps._apps:
        ENGINE.apps.add(add_book=False)
    return xw.App(impl=ENGINE.apps[0])


def deactivate(previous: xw.Engine | None = None) -> None:
    """Quit every stand-in app and make ``previous`` the active engine again."""
    ENGINE.apps._apps.clear()
    xw.engines.active = previous


def open_book(path: Path | str) -> xw.Book:
    """Open ``path`` in the stand-in Excel (activating it first) as an xlwings Book."""
    app = activate()
    return app.books.open(str(path))
