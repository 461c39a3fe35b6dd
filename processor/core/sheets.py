"""Output sheets as models: values plus formats, rendered alike by the file and xlwings writers.

A model says *what* a sheet shows (headers, rows of plain values, number formats, column
widths, fills, a table, charts). The writers only decide *how* to put it in a workbook,
so the headless processor and the add-in produce the same cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

MONEY_FORMAT = "#,##0.00"
INT_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
SCORE_FORMAT = "#,##0.00"

CellValue = str | int | float | Decimal | date | bool | None


@dataclass(frozen=True)
class Column:
    """One column of an output sheet: header, number format (None = General) and width."""

    header: str
    number_format: str | None = None
    width: float = 12.0


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
