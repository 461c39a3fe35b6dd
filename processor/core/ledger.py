"""From a sheet grid to the canonical ledger: find the table, map headers, parse values.

Pure: takes :class:`SheetGrid` values, returns a :class:`Ledger` with every record's
source row and every problem as an :class:`Issue`. The design's §3 is the spec.

Every row below the header becomes a record or a :class:`SkippedRow` with its reason:

* blank rows (reported when more rows follow them);
* repeated header rows (a page header printed again), matched like the header;
* totals rows: a label among the row's first three texts (``Total``, ``Grand Total``,
  ``合计``, ``Összesen``, ``Summe``, ``Total général``, or a text starting with one),
  unless the row has an invoice number and a date, which makes it an item of a customer
  called "Total Energies"; or a row without customer whose amounts equal the sums of
  the items since the last totals row, or since the top (a grand total);
* rows with text in the customer column but no invoice, date or amount: notes under the
  table and section headings;
* rows without customer (a warning when they hold amounts), and rows whose due date and
  amount cannot be read (each unreadable cell is an issue at its address).

A bare ``¥`` is decided per ledger (yuan or yen, see :func:`_resolve_bare_yen`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from operator import itemgetter

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from . import frame as F
from .currency import currency_code
from .grid import SheetGrid
from .headers import HeaderMatcher, header_concepts, normalise_header
from .issues import Issue, Location, Severity, cell_ref
from .reports import (
    GroupAssignment,
    assign_groups,
    bucket_columns,
    find_group_headings,
    heading_text,
    is_bucket_label,
    report_date,
)
from .rules import Rules
from .values import MAX_CENTS, parse_amount, parse_date_column, parse_flag, parse_number
from .xlref import column_letter

HEADER_SEARCH_ROWS = 30
# Labels of totals rows in the seed languages (normalised: lower case, no accents/spaces).
TOTAL_WORDS = frozenset(
    normalise_header(word)
    for word in (
        "total",
        "totals",
        "grand total",
        "subtotal",
        "sub-total",
        "sum",
        "total general",
        "totales",
        "suma",
        "suma total",
        "合计",
        "總計",
        "总计",
        "小计",
        "合計",
        "összesen",
        "mindösszesen",
        "végösszeg",
        "gesamt",
        "summe",
        "gesamtsumme",
        "somme",
        "total général",
        "sous-total",
    )
)


@dataclass(frozen=True)
class SkippedRow:
    """A sheet row inside the table that did not become a record, and why."""

    row: int
    reason: str


@dataclass(frozen=True)
class TableLocation:
    """Where the receivables table is on a sheet (all numbers 1-based)."""

    header_row: int
    columns: Mapping[str, int]  # canonical field -> column
    headers: Mapping[int, str]  # column -> header text, every non-empty header cell
    output_columns: Mapping[str, int]  # our appended columns from an earlier run
    score: float
    # A report grouped by customer headings (no customer column): ``columns["customer"]``
    # is then the column the headings stand in.
    grouped: bool = False
    # Aging-bucket columns summed into the balance when there is no balance or amount
    # column (``columns["balance"]`` is then the first of them).
    buckets: tuple[int, ...] = ()
    # The report date of a title block ("As of October 31, 2026") and its cell.
    report_date: date | None = None
    report_date_cell: Location | None = None

    @property
    def last_column(self) -> int:
        """Rightmost column of the user's table (our appended columns excluded)."""
        ours = set(self.output_columns.values())
        return max((c for c in self.headers if c not in ours), default=1)


@dataclass(frozen=True)
class Ledger:
    """The canonical ledger of one sheet (see :mod:`frame`), with provenance and issues."""

    frame: pd.DataFrame
    sheet: str
    location: TableLocation
    skipped: tuple[SkippedRow, ...] = ()
    issues: tuple[Issue, ...] = ()
    unmapped: tuple[tuple[int, str], ...] = field(default=())
    # Sheet row -> the group-heading cell its customer was read from (grouped reports).
    customer_cells: Mapping[int, Location] = field(default_factory=dict)
    # The rightmost column holding a value in the header row or below it (where the
    # appended columns may start), so that the grid need not outlive the ledger.
    last_used_column: int = 0

    @property
    def header_row(self) -> int:
        """1-based sheet row of the header."""
        return self.location.header_row


def _is_empty(value: object) -> bool:
    # A float NaN (a crafted ``<v>NaN</v>``: Excel itself cannot store one) is a blank
    # cell, as :func:`_text` reads it, not a customer or a value.
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and value != value)
    )


def output_labels(rules: Rules) -> tuple[str, str, str, str]:
    """Headers of the four columns this tool appends, in order."""
    labels = rules.labels
    return (
        labels["days_overdue"],
        labels["bucket"],
        labels["stage"],
        labels["next_action"],
    )


def locate_table(grid: SheetGrid, matcher: HeaderMatcher, rules: Rules) -> TableLocation | None:
    """Find the header row in the first 30 rows: the row whose cells best match fields.

    A header may take two rows: group headings over sub-headings, with the headings of
    single columns merged down both rows ("Cliente" in A4:A5 above the empty A5, next to
    "Importes" over "Total | Cobrado | Pendiente"). A merged cell keeps its text in its
    top cell only, so each row is also scored with its empty cells taken from the row
    above; that combination is the header when the row alone lacks a required field and
    the combination scores higher. The header row is then the lower row.
    """
    ours = [normalise_header(label) for label in output_labels(rules)]
    best: TableLocation | None = None
    above: dict[int, str] = {}
    for index, row in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        texts = {
            column: str(value).strip()
            for column, value in enumerate(row, start=1)
            if not _is_empty(value)
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
        }
        variants = [texts]
        if texts and any(column not in texts for column in above):
            variants.append({**above, **texts})
        above = texts
        plain_complete = False
        for variant_index, variant in enumerate(variants):
            if len(variant) < 2:
                continue
            output_columns = _find_output_columns(variant, ours)
            candidates = [variant.get(c, "") for c in range(1, max(variant) + 1)]
            for column in output_columns.values():
                candidates[column - 1] = ""
            match = matcher.score_header_row(candidates)
            if variant_index == 0:
                plain_complete = match.complete
            elif plain_complete or not match.complete:
                continue  # the two-row reading only completes an incomplete row
            if match.score <= 0:
                continue
            if best is None or match.score > best.score:
                best = TableLocation(
                    header_row=index + 1,
                    columns={field: column + 1 for column, field in match.columns.items()},
                    headers=variant,
                    output_columns=output_columns,
                    score=match.score,
                )
    return _report_layout(grid, best) if best is not None else None


def _report_layout(grid: SheetGrid, location: TableLocation) -> TableLocation:
    """Complete a table location with what reports add: group headings naming the
    customers, aging-bucket columns holding the balance, the report date of the title."""
    columns = dict(location.columns)
    below = grid.rows[location.header_row : location.header_row + 200]
    grouped = False
    if "customer" not in columns and "customer_id" not in columns:
        first = next(
            (
                p
                for p, row in enumerate(below[:-1])
                if (h := heading_text(row)) is not None
                and not is_bucket_label(h[1])
                and find_group_headings(below[p : p + 2], TOTAL_WORDS)
            ),
            None,
        )
        if first is not None:
            columns["customer"] = heading_text(below[first])[0] + 1
            grouped = True
    buckets: tuple[int, ...] = ()
    if not {"balance", "amount"} & set(columns):
        taken = set(columns.values()) | set(location.output_columns.values())
        buckets = bucket_columns(location.headers, sorted(taken))
        if buckets:
            columns["balance"] = buckets[0]
    found = report_date(grid.rows[: location.header_row - 1])
    when, where = (found[0], cell_ref(grid.name, found[1], found[2])) if found else (None, None)
    if not grouped and not buckets and found is None:
        return location
    return replace(
        location,
        columns=columns,
        grouped=grouped,
        buckets=buckets,
        report_date=when,
        report_date_cell=where,
    )


def _find_output_columns(texts: Mapping[int, str], ours: Sequence[str]) -> dict[str, int]:
    """Our four appended headers, when they stand side by side in order in this row."""
    normalised = {column: normalise_header(text) for column, text in texts.items()}
    for column, text in normalised.items():
        if text == ours[0] and all(
            normalised.get(column + offset) == ours[offset] for offset in range(1, 4)
        ):
            return {
                key: column + offset
                for offset, key in enumerate(("days_overdue", "bucket", "stage", "next_action"))
            }
    return {}


def missing_required(columns: Mapping[str, int]) -> list[str]:
    """Names of the required fields (design.md §3) that the mapping lacks.

    A customer number stands in for a missing customer name.
    """
    missing = []
    if "customer" not in columns and "customer_id" not in columns:
        missing.append("customer")
    if not {"balance", "amount"} & set(columns):
        missing.append("balance (or amount)")
    if not {"due_date", "invoice_date"} & set(columns):
        missing.append("due date (or invoice date)")
    return missing


@dataclass
class _Table:
    """The data rows under the header and the field -> column mapping, with column access.

    ``raw(field)`` gives a field's cells, one per data row (shared: read only). Whole
    columns are also looked at at once: the types their cells hold, which cells are
    filled, and a column of texts as one pandas (Arrow) text array, so that the usual
    columns (all numbers, all dates or all texts) are converted without a Python step
    per cell.
    """

    sheet: str
    location: TableLocation
    columns: dict[str, int]
    data: Sequence[Sequence[object]]
    date1904: bool
    buckets: tuple[int, ...] = ()
    _raw: dict[str, list[object]] = field(default_factory=dict)
    _kinds: dict[str, set[type]] = field(default_factory=dict)
    _texts: dict[str, ExtensionArray | None] = field(default_factory=dict)
    _filled: dict[str, np.ndarray] = field(default_factory=dict)
    _by_column: list[tuple | None] | None = None  # see _columns_at_once

    def sheet_row(self, position: int) -> int:
        """1-based sheet row of data row ``position``."""
        return self.location.header_row + position + 1

    @functools.cached_property
    def _widths(self) -> tuple[int, int]:
        """Lengths of the shortest and the longest data row."""
        widths = set(map(len, self.data))
        return min(widths, default=0), max(widths, default=0)

    @property
    def shortest(self) -> int:
        """Length of the shortest data row."""
        return self._widths[0]

    @functools.cached_property
    def _columns_at_once(self) -> bool:
        """Whether the columns are taken from the rows all at once (see column_cells):
        the rows are all as wide (calamine's are) and the table reads at least half of
        their cells."""
        shortest, longest = self._widths
        wanted = {column - 1 for column in (*self.columns.values(), *self.buckets)}
        if not self.data or shortest != longest or 2 * len(wanted) < shortest:
            return False
        # One pass over the rows (zip) for every column: a column at a time goes over
        # every row's list again, several times slower on a big sheet. Each column is
        # handed out once, then dropped (memory as with one column at a time).
        self._by_column = list(zip(*self.data, strict=True))
        return True

    def column_cells(self, column: int) -> list[object]:
        """The cells of a 1-based sheet column, one per data row."""
        position = column - 1
        if self._columns_at_once and self._by_column is not None:
            cells = self._by_column[position] if position < len(self._by_column) else None
            if cells is not None:
                self._by_column[position] = None
                return list(cells)
        if position < self.shortest:
            # Every row reaches the column (calamine's rows are all as wide): C speed.
            return list(map(itemgetter(position), self.data))
        return [row[position] if position < len(row) else None for row in self.data]

    def raw(self, field_name: str) -> list[object]:
        """The cells of a field's column, one per data row."""
        cells = self._raw.get(field_name)
        if cells is None:
            cells = self._raw[field_name] = self.column_cells(self.columns[field_name])
        return cells

    def release(self) -> None:
        """Drop the columns kept for reading (a 500k-row ledger: ~150 MB)."""
        self._by_column = None
        self._raw.clear()
        self._texts.clear()
        self._filled.clear()

    def kinds(self, field_name: str) -> set[type]:
        """The types of a field's cells (C speed: one pass of ``map(type, ...)``)."""
        found = self._kinds.get(field_name)
        if found is None:
            found = self._kinds[field_name] = set(map(type, self.raw(field_name)))
        return found

    def texts(self, field_name: str) -> ExtensionArray | None:
        """A field's cells as a text array when each is a ``str`` or None."""
        if field_name not in self._texts:
            self._texts[field_name] = _text_array(self.raw(field_name), self.kinds(field_name))
        return self._texts[field_name]

    def filled(self, field_name: str) -> np.ndarray:
        """Per data row, whether the field's cell is neither ``""`` nor None (a text of
        spaces counts as filled, as in :func:`_plain_rows`)."""
        found = self._filled.get(field_name)
        if found is None:
            kinds, texts = self.kinds(field_name), self.texts(field_name)
            if type(None) not in kinds and not any(issubclass(kind, str) for kind in kinds):
                found = np.ones(len(self.data), dtype=bool)  # numbers or dates: all filled
            elif texts is not None:
                found = np.asarray(texts != "", dtype=bool) & ~texts.isna()
            else:
                cells = self.raw(field_name)
                found = ~np.fromiter(map(_EMPTY.__contains__, cells), dtype=bool, count=len(cells))
            self._filled[field_name] = found
        return found


def _text_array(cells: Sequence[object], kinds: set[type] | None = None) -> ExtensionArray | None:
    """``cells`` as an Arrow-backed text array (None missing) when each is a ``str`` or
    None and pandas has such arrays, else None. Arrow copies the texts in C, and its
    string functions then run over the whole column."""
    if _TEXT_DTYPE is None:
        return None
    if kinds is None:
        kinds = set(map(type, cells))
    if not kinds <= {str, type(None)}:
        return None
    try:
        # Through a temporary object array, which pandas may convert in place: a third
        # faster than from the list.
        return pd.array(np.array(cells, dtype=object), dtype=_TEXT_DTYPE, copy=False)
    except (ValueError, TypeError, UnicodeError):
        return None  # texts Arrow cannot hold (lone surrogates): the per-cell path decides


@dataclass
class _Money:
    """Money columns in cents, per data row, with unreadable cells and symbol currencies.

    ``cents[name]`` is int64 with 0 where ``present[name]`` is False (an empty or
    unreadable cell); ``errors[name]`` maps the data rows of unreadable cells to the
    problem (few, so a dict).
    """

    cents: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    errors: dict[str, dict[int, str]]
    symbol_currency: list[str | None]

    def amounts(self, position: int) -> list[tuple[str, int]]:
        """The (name, cents) of the money cells data row ``position`` holds."""
        return [
            (name, int(cents[position]))
            for name, cents in self.cents.items()
            if self.present[name][position]
        ]


@dataclass
class _Rows:
    """The outcome of reading row by row: which data rows are items, and the rest."""

    keep: list[int]
    skipped: list[SkippedRow]
    customers: list[object]  # the customer of every data row (group headings applied)
    customer_cells: dict[int, Location]  # sheet row -> cell its customer was read from


def build_ledger(
    grid: SheetGrid, rules: Rules, location: TableLocation, matcher: HeaderMatcher
) -> Ledger:
    """Turn the table at ``location`` into canonical records, reporting every bad cell.

    Five phases, each returning its values and its issues: map the columns (with the
    fallbacks and the warnings about columns left unread), parse the money columns,
    decide row by row what is an item (group headings, totals, blanks, notes), read the
    items' fields, and derive balances and due dates.
    """
    table = _Table(
        sheet=grid.name,
        location=location,
        columns=dict(location.columns),
        data=grid.rows[location.header_row :],
        date1904=grid.date1904,
    )
    issues, reported = _map_columns(table, matcher, rules)
    money, money_issues = _parse_money(table, rules)
    issues += money_issues
    rows, row_issues = _classify_rows(table, money)
    issues += row_issues
    records, record_issues = _read_records(table, money, rows, rules)
    issues += record_issues
    table.release()  # the columns' cells are read: their copies go before the frame is built
    currency_cells, rows_of = records["currency"], records[F.ROW]
    # In the frame's final order: no reordering copy of every column later.
    # Arrays made here and held by no one else: the frame takes them without a copy.
    frame = pd.DataFrame({name: _column(name, records[name]) for name in _RECORD_ORDER}, copy=False)
    del records  # the per-row lists go: the frame holds their values (text as Arrow)
    frame, skipped_late, derive_issues = _derive(
        frame, currency_cells, rows_of, table, money, rules
    )
    issues += derive_issues
    skipped = sorted([*rows.skipped, *skipped_late], key=lambda s: s.row)
    taken = (
        set(table.columns.values())
        | set(location.output_columns.values())
        | set(table.buckets)
        | reported
    )
    unmapped = tuple(
        (column, text) for column, text in sorted(location.headers.items()) if column not in taken
    )
    return Ledger(
        frame=frame,
        sheet=grid.name,
        location=location,
        skipped=tuple(skipped),
        issues=tuple(issues),
        unmapped=unmapped,
        customer_cells=rows.customer_cells,
        last_used_column=_last_used_column(
            grid.rows,
            location.header_row - 1,
            max(len(grid.rows[location.header_row - 1]), table._widths[1]),
        ),
    )


def _last_used_column(
    rows: Sequence[Sequence[object]], start: int = 0, longest: int | None = None
) -> int:
    """Rightmost non-empty column (1-based) of ``rows[start:]``; ``longest`` is the length
    of their longest row, when the caller knows it (a pass over every row less)."""
    if longest is None:
        longest = max(map(len, itertools.islice(rows, start, None)), default=0)
    widest = 0
    for row in itertools.islice(rows, start, None):
        for column in range(len(row), widest, -1):
            value = row[column - 1]
            if value is not None and value != "":
                widest = column
                break
        if widest == longest:  # no row reaches further (calamine's rows are all as wide)
            break
    return widest


# ------------------------------------------------------------------ phase 1: columns

# Fields whose absence changes the result: a column that looks like one but was not read
# is a warning, with the settings line that maps it.
_LIKELY = {"promise": "promise_date", "dispute": "dispute_reason", "due": "due_date"}


def _map_columns(
    table: _Table, matcher: HeaderMatcher, rules: Rules
) -> tuple[list[Issue], set[int]]:
    """Settle the field -> column mapping; report how headers were read and left unread.

    Returns the issues and the columns they already report (left out of "not a known
    field"). Fills ``table.columns`` with the customer-number fallback and the bucket
    columns.
    """
    issues = _headers_read(table, matcher)
    duplicates, reported = _duplicate_columns(table, matcher)
    issues += duplicates
    issues += _fallback_columns(table)
    unread, likely = _likely_unread(table, reported)
    return issues + unread, reported | likely


def _headers_read(table: _Table, matcher: HeaderMatcher) -> list[Issue]:
    """How each mapped header was recognised, where a rule of the matcher says so."""
    location, header = table.location, table.location.header_row
    issues = []
    for field_name, column in sorted(table.columns.items(), key=lambda item: item[1]):
        rule = matcher.explain(location.headers.get(column))
        if rule:
            issues.append(
                Issue(
                    cell_ref(table.sheet, header, column),
                    f"column '{location.headers[column]}' read as {field_name} ({rule})",
                    Severity.INFO,
                )
            )
    return issues


def _duplicate_columns(table: _Table, matcher: HeaderMatcher) -> tuple[list[Issue], set[int]]:
    """Two columns naming one field: the choice and the loser (whose column is returned)."""
    location, columns, header = table.location, table.columns, table.location.header_row
    cells = [location.headers.get(c, "") for c in range(1, max(location.headers, default=0) + 1)]
    issues: list[Issue] = []
    reported: set[int] = set()
    for position, field_name in matcher.score_header_row(cells).duplicates.items():
        column = position + 1
        used = columns.get(field_name)
        if used is None or used == column:
            continue
        reported.add(column)
        issues.append(
            Issue(
                cell_ref(table.sheet, header, column),
                f"two columns could be {field_name}: '{location.headers[used]}' "
                f"({column_letter(used)}) is read, '{location.headers[column]}' "
                f"({column_letter(column)}) is not",
                Severity.INFO,
            )
        )
    return issues, reported


def _fallback_columns(table: _Table) -> list[Issue]:
    """The customer number standing for a missing customer name, and the aging columns
    summed into a missing balance (both set on ``table``)."""
    location, columns, header = table.location, table.columns, table.location.header_row
    issues = []
    if "customer" not in columns and "customer_id" in columns:
        columns["customer"] = columns["customer_id"]
        issues.append(
            Issue(
                cell_ref(table.sheet, header, columns["customer_id"]),
                f"no customer-name column: the customer number in "
                f"'{location.headers[columns['customer_id']]}' stands for the "
                "customer",
                Severity.INFO,
            )
        )
    if location.buckets:
        table.buckets = location.buckets
        names = ", ".join(f"'{location.headers[c]}'" for c in location.buckets)
        issues.append(
            Issue(
                cell_ref(table.sheet, header, location.buckets[0]),
                f"no balance column: each row's balance is the sum of the aging columns {names}",
                Severity.INFO,
            )
        )
    return issues


def _likely_unread(table: _Table, reported: set[int]) -> tuple[list[Issue], set[int]]:
    """Columns left unread that look like a field which changes the result, with the
    settings line that would read them (and those columns)."""
    location, columns = table.location, table.columns
    taken = set(columns.values()) | set(location.output_columns.values()) | reported
    issues: list[Issue] = []
    found: set[int] = set()
    for column, text in sorted(location.headers.items()):
        if column in taken or column in location.buckets:
            continue
        if not set(_LIKELY).intersection(header_concepts(text)):
            continue  # the usual unknown column: no need to look at its cells
        likely = _likely_field(text, table.column_cells(column)[:500], columns)
        if likely is None:
            continue
        found.add(column)
        quoted = text.replace('"', '\\"')
        issues.append(
            Issue(
                cell_ref(table.sheet, location.header_row, column),
                f"column '{text}' looks like the {likely.replace('_', ' ')} but is not read: if it "
                f'is, add to rules.toml: [headers] {likely} = ["{quoted}"]',
            )
        )
    return issues, found


def _likely_field(text: str, cells: Sequence[object], columns: Mapping[str, int]) -> str | None:
    """The result-changing field an unread column seems to hold, or None.

    A date column whose header speaks of a promise, a dispute or a due date, or a
    yes/no column whose header speaks of a dispute, and that field is not read yet.
    """
    concepts = header_concepts(text)
    if not set(_LIKELY).intersection(concepts):
        return None
    values = [v for v in cells[:500] if not _is_empty(v)]
    if not values:
        return None
    dates = parse_date_column(values)
    is_dates = sum(d is not None for d in dates.dates) >= max(1, len(values) * 0.8)
    is_flags = sum(parse_flag(v)[1] is None for v in values) >= max(1, len(values) * 0.8)
    for concept, field_name in _LIKELY.items():
        if concept not in concepts:
            continue
        if concept == "dispute" and is_flags and not is_dates and "disputed" not in columns:
            return "disputed"
        if (
            is_dates
            and field_name not in columns
            and not (concept == "dispute" and "disputed" in columns)
        ):
            return field_name
    return None


# ------------------------------------------------------------------ phase 2: money


def _parse_money(table: _Table, rules: Rules) -> tuple[_Money, list[Issue]]:
    """Money columns in cents (bucket columns summed into a balance when there is none)."""
    columns = table.columns
    money = _Money({}, {}, {}, [None] * len(table.data))
    sources: dict[str, list[list[object]]] = {
        name: [table.raw(name)] for name in ("amount", "paid", "balance") if name in columns
    }
    if table.buckets:
        sources["balance"] = [table.column_cells(c) for c in table.buckets]
    symbol_currency = money.symbol_currency
    for name, cell_lists in sources.items():
        parsed = [_parse_money_column(cells) for cells in cell_lists]
        cents, present, errors, currencies = parsed[0]
        if len(parsed) > 1:
            # Aging buckets: a row's balance is the sum of its amounts (None without
            # any); its first unreadable bucket and its first currency stand for it.
            cents = np.sum([p[0] for p in parsed], axis=0, dtype=np.int64)
            present = np.logical_or.reduce([p[1] for p in parsed])
            errors, currencies = {}, {}
            for _c, _p, bucket_errors, bucket_currencies in parsed:
                for position, error in bucket_errors.items():
                    errors.setdefault(position, error)
                for position, code in bucket_currencies.items():
                    currencies.setdefault(position, code)
        money.cents[name], money.present[name], money.errors[name] = cents, present, errors
        for position, code in currencies.items():
            if not symbol_currency[position]:
                symbol_currency[position] = code
    # One cell per row for the yen check: a bucket row's text amount, if any.
    issues = _resolve_bare_yen(
        {
            name: [
                next((v for v in cells if isinstance(v, str) and v.strip()), cells[0])
                for cells in zip(*lists, strict=True)
            ]
            if len(lists) > 1
            else lists[0]
            for name, lists in sources.items()
        },
        columns,
        table.location,
        symbol_currency,
        rules,
        table.sheet,
    )
    return money, issues


# ------------------------------------------------------------------ phase 3: rows


@dataclass(frozen=True)
class _RowContext:
    """What the decision on a row compares it with: the header's texts, and the columns
    whose content makes a row an item rather than a note or a heading."""

    header_keys: frozenset[str]
    header_casefold: frozenset[str]
    substance: tuple[int, ...]
    invoice_position: int | None
    date_positions: tuple[int, ...]
    customer_position: int

    @classmethod
    def of(cls, table: _Table) -> _RowContext:
        """The context of ``table``'s rows."""
        location, columns = table.location, table.columns
        header_texts = [location.headers.get(c, "") for c in range(1, max(location.headers) + 1)]
        dates = sorted(F.DATE_FIELDS)
        substance = [
            columns[name] - 1
            for name in ("invoice", *dates, "amount", "paid", "balance")
            if name in columns
        ]
        return cls(
            header_keys=frozenset(normalise_header(t) for t in header_texts if t),
            header_casefold=frozenset(t.strip().casefold() for t in header_texts if t),
            substance=(*substance, *(c - 1 for c in table.buckets)),
            invoice_position=columns["invoice"] - 1 if "invoice" in columns else None,
            date_positions=tuple(columns[name] - 1 for name in dates if name in columns),
            customer_position=columns["customer"] - 1,
        )


class _Sums:
    """Sums of the kept rows' amounts since the last totals row (running) and since the
    top of the table (grand): an unlabelled row equal to either is a subtotal or a grand
    total."""

    def __init__(self, names) -> None:
        self.names = list(names)
        self.running = dict.fromkeys(self.names, 0)
        self.grand = dict.fromkeys(self.names, 0)

    def add(self, amounts) -> None:
        """Count a kept row's (name, cents) amounts."""
        running, grand = self.running, self.grand
        for name, value in amounts:
            running[name] += value
            grand[name] += value

    def add_rows(self, money: _Money, start: int, end: int) -> None:
        """Count the kept data rows ``start:end`` (absent amounts are 0 in ``money``)."""
        for name in self.names:
            total = int(money.cents[name][start:end].sum())
            self.running[name] += total
            self.grand[name] += total

    def reset(self) -> None:
        """A totals row closes the running sums."""
        self.running = dict.fromkeys(self.names, 0)

    def equal(self, amounts) -> bool:
        """Whether non-zero (name, cents) amounts all equal the running or the grand sums
        (a row of zeros "equals" an empty running sum: it proves nothing)."""
        if not any(v for _n, v in amounts):
            return False
        # The first amount differing from both sums settles it (the usual case).
        name, value = amounts[0]
        if value != self.running[name] and value != self.grand[name]:
            return False
        return all(v == self.running[n] for n, v in amounts) or all(
            v == self.grand[n] for n, v in amounts
        )


def _classify_rows(table: _Table, money: _Money) -> tuple[_Rows, list[Issue]]:
    """Decide for every data row whether it is an item; skip the rest with a reason.

    See the module docstring for the kinds of rows skipped. In a grouped report the
    customer of a row is the heading above it.
    """
    context = _RowContext.of(table)
    customers, customer_cells, group_skips, issues = _customers(table)
    skipped: list[SkippedRow] = list(group_skips)
    headings = {s.row - table.location.header_row - 1 for s in group_skips}
    plain = _plain_rows(table, customers, context)
    if headings:
        plain[sorted(headings)] = False
    sums = _Sums(money.cents)
    ahead = _LookAhead(plain, money)
    keep: list[int] = []
    trailing_blank: list[int] = []
    position, size = 0, len(table.data)
    while position < size:
        # Nearly every row: a customer, an invoice number and a date. It is an item
        # unless its amounts equal the sums above (then the full checks below run);
        # runs of such rows are taken at once.
        end = ahead.items_until(position, sums)
        if end > position:
            if trailing_blank:
                skipped.extend(SkippedRow(r, "blank row") for r in trailing_blank)
                trailing_blank = []
            sums.add_rows(money, position, end)
            keep.extend(range(position, end))
            position = end
            continue
        row, amounts = table.data[position], money.amounts(position)
        position += 1
        if position - 1 in headings:
            continue
        sheet_row = table.sheet_row(position - 1)
        if _is_blank(row):
            trailing_blank.append(sheet_row)
            continue
        skipped.extend(SkippedRow(r, "blank row") for r in trailing_blank)
        trailing_blank = []
        reason, reset, severity = _unusual_row(row, customers[position - 1], amounts, sums, context)
        if severity is not None:  # reported at the row's (empty) customer cell
            where = cell_ref(table.sheet, sheet_row, table.columns["customer"])
            issues.append(Issue(where, f"row skipped: {reason}", severity))
        if reset:
            sums.reset()
        if reason is not None:
            skipped.append(SkippedRow(sheet_row, reason))
            continue
        sums.add(amounts)
        keep.append(position - 1)
    return _Rows(keep, skipped, customers, customer_cells), issues


class _LookAhead:
    """Finds runs of rows that are items without a look at each: plain rows (see
    :func:`_plain_rows`) whose amounts do not equal the sums above them.

    The sums above each row of a run are the sums before it plus the run's running
    total (numpy cumulative sums, exact: int64 cannot overflow, checked once). A window
    grows while runs are long and shrinks where rows equal the sums above them, so that
    a ledger of such rows costs about what a row-by-row look costs.
    """

    def __init__(self, plain: np.ndarray, money: _Money) -> None:
        self.plain = plain
        self.stops = np.flatnonzero(~plain)  # rows that need the full checks
        self.size = len(plain)
        self.cents = list(money.cents.items())
        self.present = money.present
        # Every partial sum is at most the sum of all |cents| of its column: below 2**62
        # (with margin for the float estimate) nothing overflows int64.
        self.exact = all(
            float(np.abs(cents.astype(np.float64)).sum()) < 2.0**61 for _n, cents in self.cents
        )
        self.window = 1024

    def items_until(self, start: int, sums: _Sums) -> int:
        """The end of the run of items from data row ``start`` (``start`` itself when that
        row needs the full checks)."""
        if not self.exact or not self.plain[start]:
            return start
        index = int(np.searchsorted(self.stops, start))
        stop = int(self.stops[index]) if index < len(self.stops) else self.size
        end = min(stop, start + self.window)
        if end <= start:
            return start
        first = self._first_equal(start, end, sums)
        found = end if first is None else start + first
        # Long runs widen the window, rows equal to the sums above narrow it.
        self.window = min(max(2 * (found - start), 32), 1 << 16)
        return found

    def _first_equal(self, start: int, end: int, sums: _Sums) -> int | None:
        """Offset of the first row of ``start:end`` whose amounts equal the running or
        the grand sums above it (as :meth:`_Sums.equal`), if rows up to it are kept."""
        count = end - start
        nonzero = np.zeros(count, dtype=bool)
        running = np.ones(count, dtype=bool)
        grand = np.ones(count, dtype=bool)
        for name, column in self.cents:
            cents = column[start:end]
            absent = ~self.present[name][start:end]
            above = np.cumsum(cents) - cents  # the run's rows before each row
            nonzero |= cents != 0
            running &= absent | (cents == above + sums.running[name])
            grand &= absent | (cents == above + sums.grand[name])
        equal = nonzero & (running | grand)
        return int(np.argmax(equal)) if equal.any() else None


def _plain_rows(table: _Table, customers: Sequence[object], context: _RowContext) -> np.ndarray:
    """Per data row, whether it plainly is an item: a customer (not a header text), an
    invoice number and a date. Whole columns at a time."""
    size = len(table.data)
    invoiced = (
        table.filled("invoice")
        if context.invoice_position is not None
        else np.zeros(size, dtype=bool)
    )
    dated = np.zeros(size, dtype=bool)
    for name in sorted(F.DATE_FIELDS):
        if name in table.columns:
            dated = dated | table.filled(name)
    header_casefold = context.header_casefold

    def named(customer: object) -> bool:
        return (
            type(customer) is str
            and bool(text := customer.strip())
            and text.casefold() not in header_casefold
        )

    if set(map(type, customers)) <= {str, type(None)}:
        # Customers repeat: each name is looked at once.
        verdicts = {customer: named(customer) for customer in set(customers)}
        has_customer = np.fromiter(map(verdicts.__getitem__, customers), dtype=bool, count=size)
    else:
        has_customer = np.fromiter(map(named, customers), dtype=bool, count=size)
    plain = has_customer & invoiced & dated
    if not table.location.grouped:
        _plain_without_invoice(table, has_customer & dated & ~invoiced, context, plain)
    return plain


def _plain_without_invoice(
    table: _Table, candidates: np.ndarray, context: _RowContext, plain: np.ndarray
) -> None:
    """Mark as plain the ``candidates`` (a customer and a date, no invoice number) that
    :func:`_unusual_row` keeps whatever the sums above them: a date it sees (a cell not
    empty), and none of the first three texts a total word or asterisks. A label that
    merely starts with a total word ("Total Energies") matters only where the amounts
    equal the sums above, and the look-ahead sends those rows to the full checks."""
    data, dates = table.data, context.date_positions
    for position in np.flatnonzero(candidates).tolist():
        row = data[position]
        if not any(not _is_empty(_cell(row, p)) for p in dates):
            continue
        labels = [v for v in row if isinstance(v, str) and v.strip()][:3]
        if not any(_row_label(v) in TOTAL_WORDS or set(v.strip()) == {"*"} for v in labels):
            plain[position] = True


def _is_blank(row: Sequence[object]) -> bool:
    # list.count runs in C: most rows are told apart without a Python-level scan.
    return row.count("") + row.count(None) == len(row) or (
        all(v is None or isinstance(v, str) for v in row) and all(_is_empty(v) for v in row)
    )


def _unusual_row(
    row: Sequence[object], customer: object, amounts, sums: _Sums, context: _RowContext
) -> tuple[str | None, bool, Severity | None]:
    """The decision on a row that is not plainly an item: (why it is skipped, or None to
    keep it; whether it closes the running sums; the severity of an issue to report)."""
    strings = None
    # A repeated header (a page header printed again) repeats the customer heading;
    # only such rows are normalised, the slow part of this check.
    first_text = _cell(row, context.customer_position)
    if isinstance(first_text, str) and first_text.strip().casefold() in context.header_casefold:
        strings = [v for v in row if isinstance(v, str) and v.strip()]
        texts = [normalise_header(v) for v in strings]
        header_keys = context.header_keys
        if sum(t in header_keys for t in texts) >= max(2, len(header_keys) // 2):
            return "repeated header row", False, None
    sums_above = sums.equal(amounts)
    has_invoice = context.invoice_position is not None and not _is_empty(
        _cell(row, context.invoice_position)
    )
    has_date = any(not _is_empty(_cell(row, p)) for p in context.date_positions)
    # A row with an invoice number and a date is an item whatever its label says,
    # unless its amounts are the sums above: only other rows need their labels read.
    could_be_total = sums_above or not (has_invoice and has_date)
    if could_be_total and strings is None:
        strings = [v for v in row if isinstance(v, str) and v.strip()]
    labels = [_row_label(v) for v in strings[:3]] if could_be_total else []
    # ALV lists (SAP) mark subtotals with asterisks: "*", "**".
    starred = could_be_total and any(set(v.strip()) == {"*"} for v in strings[:3])
    if (labels and _is_totals_row(labels, has_invoice, has_date, sums_above)) or starred:
        return "totals row", True, None
    summed = "totals row (its amounts are the sums of the rows above)"
    if sums_above and not has_invoice and not has_date:
        return summed, True, None
    if _is_empty(customer):
        if sums_above:
            return summed, True, None
        reason = "no customer" if amounts else "no customer and no amount"
        return reason, False, Severity.WARNING if amounts else Severity.INFO
    if all(_is_empty(_cell(row, p)) for p in context.substance):
        # Text in the customer column and nothing else the ledger reads: a note under
        # the table ("Prepared by ...") or a section heading ("EXPORT CUSTOMERS").
        return "no amount and no date (a note or a heading)", False, None
    return None, False, None


def _customers(
    table: _Table,
) -> tuple[list[object], dict[int, Location], list[SkippedRow], list[Issue]]:
    """The customer of every data row, the cells they come from, and the heading rows.

    A plain table: the customer column (a blank one filled by the customer number when
    there is one). A grouped report: the heading above each row; every heading is
    reported once with the rows it covers.
    """
    raw = table.raw("customer")
    grouped = table.location.grouped
    if grouped:
        assignment = assign_groups(table.data, TOTAL_WORDS, grouped)
    else:
        assignment = GroupAssignment([], [], {}, _bucket_headings(table))
    skipped = [SkippedRow(table.sheet_row(p), "aging-period heading") for p in assignment.buckets]
    skipped += [
        SkippedRow(table.sheet_row(p), f"customer heading '{text}' (its items follow)")
        for p, (_, text) in assignment.headings.items()
    ]
    if not grouped:
        customers, issues = _plain_customers(table, raw)
        return customers, {}, skipped, issues
    customers, customer_cells, issues = _grouped_customers(table, raw, assignment)
    return customers, customer_cells, skipped, issues


def _plain_customers(table: _Table, raw: list[object]) -> tuple[list[object], list[Issue]]:
    """The customers of a plain table: its customer column, a blank cell filled by the
    customer number when the table has a column of its own for it."""
    location, columns = table.location, table.columns
    issues: list[Issue] = []
    if "customer_id" not in columns or columns["customer_id"] == columns["customer"]:
        return raw, issues
    ids = table.raw("customer_id")
    filled, count = raw, 0
    for position in _blank_positions(table, "customer"):
        if not _is_empty(ids[position]):
            if filled is raw:
                filled = list(raw)
            filled[position] = ids[position]
            count += 1
    if count:
        issues.append(
            Issue(
                cell_ref(table.sheet, location.header_row, columns["customer"]),
                f"{count} rows without a customer name: their customer "
                "number stands for the customer",
                Severity.INFO,
            )
        )
    return filled, issues


def _grouped_customers(
    table: _Table, raw: list[object], assignment: GroupAssignment
) -> tuple[list[object], dict[int, Location], list[Issue]]:
    """The customers of a grouped report: each row's heading (or its own cell), the
    heading cell each comes from, and one issue per heading with the rows it covers."""
    columns, sheet = table.columns, table.sheet
    issues: list[Issue] = []
    customer_cells: dict[int, Location] = {}
    # The customer column of a grouped report holds the headings; an item's own cell in
    # it (a date in Xero's first column) is not its customer unless no other field
    # shares the column.
    shared = any(c == columns["customer"] for f, c in columns.items() if f != "customer")
    customers = []
    covered: dict[int, list[int]] = {}
    for position, heading in enumerate(assignment.customers):
        own = raw[position]
        if not shared and isinstance(own, str) and own.strip():
            customers.append(own)
            continue
        customers.append(heading)
        at = assignment.heading_of[position]
        if heading is not None and at is not None:
            column, _ = assignment.headings[at]
            customer_cells[table.sheet_row(position)] = cell_ref(
                sheet, table.sheet_row(at), column + 1
            )
            covered.setdefault(at, []).append(table.sheet_row(position))
    for at, rows_below in covered.items():
        column, text = assignment.headings[at]
        issues.append(
            Issue(
                cell_ref(sheet, table.sheet_row(at), column + 1),
                f"customer '{text}' of rows {rows_below[0]}-{rows_below[-1]} read from this group "
                "heading",
                Severity.INFO,
            )
        )
    return customers, customer_cells, issues


def _blank_positions(table: _Table, field_name: str) -> list[int]:
    """Data rows whose cell of the field is empty (None or spaces, see
    :func:`_is_empty`), found in Arrow when the column holds texts."""
    texts = table.texts(field_name)
    if texts is None:
        return [p for p, value in enumerate(table.raw(field_name)) if _is_empty(value)]
    trimmed = pd.Series(texts, copy=False).str.strip(PYTHON_SPACES).array
    blank = np.asarray(trimmed == "", dtype=bool) | trimmed.isna()
    return np.flatnonzero(blank).tolist()


def _bucket_headings(table: _Table) -> tuple[int, ...]:
    """Data rows that are aging-period headings ("31-60 days" alone on its row), as
    :func:`assign_groups` finds them in a table with a customer column.

    A heading is a row with one filled cell: rows with two filled cells among the mapped
    columns (nearly all) are ruled out a column at a time.
    """
    # Columns the item checks read anyway first (their filled cells are kept).
    preferred = ("customer", "invoice", "due_date", "invoice_date", *table.columns)
    by_column = {table.columns[name]: name for name in reversed(preferred) if name in table.columns}
    fields = sorted(by_column.values(), key=preferred.index)
    candidates: Sequence[int] = range(len(table.data))
    if len(fields) >= 2:
        both = table.filled(fields[0]) & table.filled(fields[1])
        candidates = np.flatnonzero(~both).tolist()
    found = []
    for position in candidates:
        heading = heading_text(table.data[position])
        if heading is not None and is_bucket_label(heading[1]):
            found.append(position)
    return tuple(found)


# ------------------------------------------------------------------ phase 4: records


def _read_records(
    table: _Table, money: _Money, rows: _Rows, rules: Rules
) -> tuple[dict[str, object], list[Issue]]:
    """Read the fields of the kept rows: texts, dates (day/month order per column),
    numbers and flags, each unreadable cell an issue at its address."""
    columns, keep = table.columns, rows.keep
    issues = _money_errors(table, money, keep)
    rows_of = np.asarray(keep, dtype=np.int64) + (table.location.header_row + 1)
    records: dict[str, object] = {F.ROW: rows_of}
    customers = rows.customers
    records["customer"] = _read_texts(
        customers,
        keep,
        table.texts("customer") if customers is table.raw("customer") else None,
    )
    for name in F.TEXT_FIELDS - {"customer"}:
        records[name] = (
            _read_texts(table.raw(name), keep, table.texts(name))
            if name in columns
            else [None] * len(keep)
        )
    for name in sorted(F.DATE_FIELDS):
        records[name] = _read_dates(table, name, keep, rows_of, rules, issues)
    for name in ("terms_days", "distance_km"):
        records[name] = _read_numbers(table, name, keep, rules, issues)
    records["disputed"] = _read_flags(table, keep, issues)
    return records, issues


def _kept(values: Sequence[object], keep: list[int]) -> Sequence[object]:
    """The values of the kept rows (``values`` itself when every row is kept: ``keep``
    is ascending without repeats). Read only."""
    if len(keep) == len(values):
        return values
    return [values[p] for p in keep]


def _money_errors(table: _Table, money: _Money, keep: list[int]) -> list[Issue]:
    """An issue at every unreadable amount of a kept row."""
    issues = []
    kept = None
    for name, errors in money.errors.items():
        if not errors:
            continue
        if kept is None:
            kept = np.zeros(len(table.data), dtype=bool)
            kept[keep] = True
        for position in sorted(errors):
            if kept[position]:
                where = cell_ref(table.sheet, table.sheet_row(position), table.columns[name])
                issues.append(Issue(where, errors[position]))
    return issues


def _read_texts(
    cells: Sequence[object], keep: list[int], texts: ExtensionArray | None = None
) -> ExtensionArray | list[str | None]:
    """The texts of the kept rows (see :func:`_texts`): a text array when every cell is
    a ``str`` or None (``texts``, if already made), else a list."""
    if texts is None:
        texts = _text_array(cells)
    if texts is None:
        return _texts(_kept(cells, keep))
    if len(keep) != len(texts):
        texts = texts.take(np.asarray(keep, dtype=np.intp))
    return _stripped(texts)


# Python's whitespace: what str.strip() removes (chr(c).isspace(); a test checks the
# list against the running Python), for pandas' str.strip over Arrow texts.
PYTHON_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _stripped(texts: ExtensionArray) -> ExtensionArray:
    """``text.strip() or None`` of every text, over the whole array (Arrow trims exactly
    the characters Python strips)."""
    trimmed = pd.Series(texts, copy=False).str.strip(PYTHON_SPACES).array
    empty = np.asarray(trimmed == "", dtype=bool)
    if empty.any():
        trimmed[empty] = None
    elif not np.asarray(trimmed != texts, dtype=bool)[~texts.isna()].any():
        return texts  # nothing to strip (the usual column): no second copy of its texts
    return trimmed


def _read_dates(
    table: _Table, name: str, keep: list[int], rows_of, rules: Rules, issues: list[Issue]
) -> np.ndarray:
    """A date field of the kept rows (NaT when missing), deciding day/month order for the
    column from its unambiguous values; its problems are added to ``issues``."""
    if name not in table.columns:
        return np.full(len(keep), np.datetime64("NaT"), dtype="datetime64[s]")
    column = table.columns[name]
    cells = _kept(table.raw(name), keep)
    # Cells that are dates already (nearly all) need no parsing and cast no vote on the
    # column's day/month order: only the others go through parse_date_column.
    if table.kinds(name) <= {date, datetime}:
        others: Sequence[int] = ()
    else:
        others = [i for i, v in enumerate(cells) if type(v) is not date and type(v) is not datetime]
    result = parse_date_column(
        [cells[i] for i in others], date1904=table.date1904, order=rules.date_order
    )
    dates = cells
    if others:
        dates = list(cells)
        for position, found in zip(others, result.dates, strict=True):
            dates[position] = found
    if any(result.errors):
        for position, error in zip(others, result.errors, strict=True):
            if error:
                issues.append(Issue(cell_ref(table.sheet, int(rows_of[position]), column), error))
    if result.ambiguous:
        issues.append(
            Issue(
                cell_ref(table.sheet, table.location.header_row, column),
                f"dates in '{table.location.headers.get(column)}' could be day-first "
                f"or month-first; read as {'day' if result.order != 'mdy' else 'month'}-first "
                "(set general.date_order in the rules to decide)",
            )
        )
    if not keep:
        return np.array([], dtype="datetime64[s]")
    return _datetime64(dates)


# date(1970, 1, 1).toordinal(): datetime64 counts days from 1970-01-01.
_EPOCH_ORDINAL = 719163


def _datetime64(dates: Sequence[date | None]) -> np.ndarray:
    """Dates (or datetimes, whose time is dropped) as datetime64[s], NaT for None,
    through their day numbers: much faster than converting date objects one by one."""
    if None not in dates:
        days = np.fromiter(map(date.toordinal, dates), dtype=np.int64, count=len(dates))
        return (days - _EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[s]")
    missing = [d is None for d in dates]
    days = np.fromiter(
        (0 if d is None else d.toordinal() for d in dates), dtype=np.int64, count=len(dates)
    )
    out = (days - _EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[s]")
    out[np.array(missing)] = np.datetime64("NaT")
    return out


def _read_numbers(
    table: _Table, name: str, keep: list[int], rules: Rules, issues: list[Issue]
) -> np.ndarray:
    """A number field of the kept rows as float64, NaN when missing (group reductions
    then run vectorised); unreadable cells are added to ``issues``."""
    if name not in table.columns:
        return np.full(len(keep), np.nan)
    cells = _kept(table.raw(name), keep)
    # Numbers only (the usual column): each distinct one is checked once, and all are
    # taken as they are unless one is out of range.
    if table.kinds(name) <= {float, int} and not any(
        _parse_number_cell(name, v, rules)[1] for v in set(cells)
    ):
        return np.array(cells, dtype=np.float64)
    # Terms repeat (30, 45, "30 días"): each distinct value is parsed once.
    keys = list(zip(map(type, cells), cells, strict=True))
    parsed = {key: _parse_number_cell(name, key[1], rules) for key in dict.fromkeys(keys)}
    if any(error for _number, error in parsed.values()):
        for position, key in zip(keep, keys, strict=True):
            error = parsed[key][1]
            if error:
                where = cell_ref(table.sheet, table.sheet_row(position), table.columns[name])
                issues.append(Issue(where, error))
    numbers = [parsed[key][0] for key in keys]
    return np.array([np.nan if v is None else v for v in numbers], dtype=np.float64)


def _parse_number_cell(name: str, value: object, rules: Rules) -> tuple[float | None, str | None]:
    """(number, error) of one cell of a number field; payment terms beyond
    :data:`MAX_TERMS_DAYS` are an error, and the default terms apply."""
    number, error = parse_number(value)
    if (
        name == "terms_days"
        and number is not None
        and not -MAX_TERMS_DAYS <= number <= MAX_TERMS_DAYS
    ):
        error = (
            f"payment terms of {number:,.0f} days are out of range "
            f"(-{MAX_TERMS_DAYS:,} to {MAX_TERMS_DAYS:,}); the default "
            f"{rules.default_terms_days} days are used"
        )
        number = None
    return number, error


def _read_flags(table: _Table, keep: list[int], issues: list[Issue]) -> list[bool]:
    """The disputed flag of the kept rows; unreadable cells are added to ``issues``."""
    if "disputed" not in table.columns:
        return [False] * len(keep)
    cells = _kept(table.raw("disputed"), keep)
    if table.kinds("disputed") <= {str, type(None)}:
        # Texts repeat ("yes", "", "no"): each distinct one is parsed once.
        flags = {value: parse_flag(value) for value in set(cells)}
        if not any(error for _flag, error in flags.values()):
            return [bool(flags[value][0]) for value in cells]
    disputed = []
    for position, value in zip(keep, cells, strict=True):
        flag, error = parse_flag(value)
        if error:
            where = cell_ref(table.sheet, table.sheet_row(position), table.columns["disputed"])
            issues.append(Issue(where, error))
        disputed.append(bool(flag))
    return disputed


# ------------------------------------------------------------------ phase 5: derive


def _derive(
    frame: pd.DataFrame,
    currency_cells: Sequence[object],
    rows_of: np.ndarray,
    table: _Table,
    money: _Money,
    rules: Rules,
) -> tuple[pd.DataFrame, list[SkippedRow], list[Issue]]:
    """The ledger frame: currency, balance = amount - paid, due = invoice date + terms;
    rows whose due date or balance cannot be had are dropped and reported."""
    columns = table.columns
    keep = rows_of - (table.location.header_row + 1)
    issues: list[Issue] = []
    if "dispute_reason" in columns and "disputed" not in columns:
        # Without a Disputed column a dispute reason marks the item as disputed; with one,
        # the flag decides: "Disputed = no" beside a leftover reason is a settled dispute.
        frame["disputed"] = frame["dispute_reason"].notna()
    frame["currency"] = _currencies(currency_cells, keep, money, rules)
    amount, paid, balance = _amounts(keep, rows_of, table, money, issues)
    frame[F.AMOUNT] = _int64_array(*amount)
    frame[F.PAID] = _int64_array(_paid_cents(amount, paid, balance), None)
    frame[F.BALANCE] = _int64_array(*balance)
    _derive_due_dates(frame, table, rules, issues)
    frame, skipped = _drop_unusable(frame, table, issues)
    frame[F.BALANCE] = frame[F.BALANCE].astype(np.int64)
    if list(frame.columns) != _FRAME_ORDER:
        frame = frame[_FRAME_ORDER]
    return frame, skipped, issues


def _column(name: str, values):
    """A column for the frame, as an array pandas takes without looking at each value:
    texts in the string dtype pandas would infer for them, a column without any value
    as objects (pandas keeps a list of None so), flags as booleans."""
    if not isinstance(values, np.ndarray) and not len(values):
        return []  # as before: pandas makes float64 of an empty list beside empty columns
    if isinstance(values, ExtensionArray):  # texts read by _read_texts
        return np.full(len(values), None, dtype=object) if values.isna().all() else values
    if not isinstance(values, list):
        return values  # numpy arrays
    if values.count(None) == len(values):
        return np.full(len(values), None, dtype=object)
    if name in F.FLAG_FIELDS:
        return np.array(values, dtype=bool)
    if _TEXT_DTYPE is None or name not in F.TEXT_FIELDS:
        return values
    return pd.array(values, dtype=_TEXT_DTYPE)


_TEXT_DTYPE = F.text_dtype()


# The columns of the ledger frame, in order: the records read, then the money and the flag
# derived from them.
_RECORD_ORDER = [F.ROW, *[f for f in F.FIELDS if f not in F.MONEY_FIELDS]]
_FRAME_ORDER = [*_RECORD_ORDER, F.AMOUNT, F.PAID, F.BALANCE, F.DUE_DERIVED]


def _currencies(
    cells: ExtensionArray | Sequence[object], keep: np.ndarray, money: _Money, rules: Rules
):
    """Each item's currency: its currency cell, else its amount's symbol, else the
    settings' default."""
    symbols = money.symbol_currency
    if isinstance(cells, ExtensionArray):
        if not any(symbols):
            # No amount names a currency (the usual case): each distinct cell once.
            positions, distinct = cells.factorize(use_na_sentinel=False)
            codes = [
                (currency_code(value) or value.strip().upper() if isinstance(value, str) else None)
                or rules.default_currency
                for value in distinct.tolist()
            ]
            return pd.array(codes, dtype=_TEXT_DTYPE).take(positions)
        cells = [value if isinstance(value, str) else None for value in cells.tolist()]
    currency = []
    codes_of: dict[str, str | None] = {}  # a currency column holds a handful of values
    for position, value in zip(keep.tolist(), cells, strict=True):
        code = None
        if value:
            if value not in codes_of:
                codes_of[value] = currency_code(value) or str(value).strip().upper()
            code = codes_of[value]
        currency.append(code or symbols[position] or rules.default_currency)
    return currency


# Cents of the kept rows and where they are present (int64 values are 0 elsewhere).
_Cents = tuple[np.ndarray, np.ndarray]


def _amounts(
    keep: np.ndarray, rows_of: np.ndarray, table: _Table, money: _Money, issues: list[Issue]
) -> tuple[_Cents, _Cents, _Cents]:
    """(amount, paid, balance) cents of the kept rows; a missing balance is amount - paid,
    and a row with neither is an issue (not present)."""
    columns, size = table.columns, len(keep)
    every_row = size == len(table.data)  # keep is ascending: every row, in order

    def kept(name: str) -> _Cents:
        if name not in money.cents:
            return np.zeros(size, dtype=np.int64), np.zeros(size, dtype=bool)
        if every_row:
            return money.cents[name], money.present[name]
        return money.cents[name][keep], money.present[name][keep]

    amount, paid, (balance, given) = kept("amount"), kept("paid"), kept("balance")
    if not given.all():
        derived = ~given & amount[1]
        balance = np.where(derived, amount[0] - paid[0], balance)  # paid is 0 if absent
        given = given | amount[1]
        field_name = "balance" if "balance" in columns else "amount"
        for index in np.flatnonzero(~given).tolist():
            issues.append(
                Issue(
                    cell_ref(table.sheet, int(rows_of[index]), columns[field_name]),
                    "row skipped: no balance or amount",
                )
            )
    bounded = _bounded_total(
        (balance, given),
        rows_of,
        table.sheet,
        columns.get("balance", columns.get("amount")),
        issues,
    )
    return amount, paid, bounded


def _paid_cents(amount: _Cents, paid: _Cents, balance: _Cents) -> np.ndarray:
    """Paid cents of the kept rows: the paid cell, else amount - balance where both are
    given, else 0. An export with the amount and the open balance but no paid column (an
    aged report) has been paid the difference; 0 would make a letter's table say "paid
    0.00" beside a halved balance and book a part payment as money taken back."""
    if paid[1].all():
        return paid[0]
    both = amount[1] & balance[1]
    return np.where(paid[1], paid[0], np.where(both, amount[0] - balance[0], 0))


def _int64_array(values: np.ndarray, present: np.ndarray | None):
    """Cents as a nullable Int64 array, missing where not ``present`` (None: none is)."""
    missing = np.zeros(len(values), dtype=bool) if present is None else ~present
    return pd.arrays.IntegerArray(values.astype(np.int64), missing)


def _derive_due_dates(
    frame: pd.DataFrame, table: _Table, rules: Rules, issues: list[Issue]
) -> None:
    """Due date: given, else invoice date + terms (flagged, an issue per row or one for
    the sheet when there is no due-date column)."""
    columns, sheet = table.columns, table.sheet
    due = frame["due_date"]
    derived = due.isna()
    terms = pd.to_numeric(frame["terms_days"], errors="coerce").fillna(rules.default_terms_days)
    computed = frame["invoice_date"] + pd.to_timedelta(terms.astype("int64"), unit="D")
    frame["due_date"] = due.where(~derived, computed)
    frame[F.DUE_DERIVED] = derived & frame["invoice_date"].notna()
    if "due_date" not in columns and len(frame):
        terms_source = (
            "terms column" if "terms_days" in columns else f"{rules.default_terms_days} days"
        )
        issues.append(
            Issue(
                cell_ref(sheet, table.location.header_row),
                f"no due-date column: due dates are invoice date + terms ({terms_source})",
                Severity.INFO,
            )
        )
    elif frame[F.DUE_DERIVED].any():
        for row_number in frame.loc[frame[F.DUE_DERIVED], F.ROW]:
            issues.append(
                Issue(
                    cell_ref(sheet, int(row_number), columns["due_date"]),
                    "no due date: invoice date + terms used",
                    Severity.INFO,
                )
            )


def _drop_unusable(
    frame: pd.DataFrame, table: _Table, issues: list[Issue]
) -> tuple[pd.DataFrame, list[SkippedRow]]:
    """The frame without rows lacking a due date or a balance, each reported."""
    no_due = frame["due_date"].isna()
    where = table.columns.get("due_date", table.columns.get("invoice_date"))
    for row_number in frame.loc[no_due, F.ROW]:
        issues.append(
            Issue(
                cell_ref(table.sheet, int(row_number), where),
                "row skipped: no due date and no invoice date",
            )
        )
    unusable = no_due | frame[F.BALANCE].isna()
    skipped = [
        SkippedRow(int(row_number), "unreadable due date or amount")
        for row_number in frame.loc[unusable, F.ROW]
    ]
    if unusable.any():
        frame = frame.loc[~unusable].reset_index(drop=True)
    return frame, skipped


# The row labels of a ledger repeat (customer names on rows without an invoice number,
# which all take the full checks): each is normalised and looked at once.
_row_label = functools.lru_cache(maxsize=65536)(normalise_header)


@functools.lru_cache(maxsize=65536)
def _total_prefix(text: str) -> bool:
    # "Total EUR", "Total general:", "Gesamtsumme 2026": a total word at the start.
    return any(text.startswith(word) and len(word) >= 4 for word in TOTAL_WORDS if word)


def _is_totals_row(
    labels: Sequence[str], has_invoice: bool, has_date: bool, sums_above: bool
) -> bool:
    """Whether a row labelled by ``labels`` (its first texts, normalised) is a totals row.

    Customers are called "Total Energies" or "TOTAL S.A.", so a label alone is not
    enough when the row looks like an item: a label that merely starts with a total word
    needs a row without invoice number and dates; a bare total word needs a row without
    both, unless the row's amounts are the sums of the rows above it.
    """
    exact = any(label in TOTAL_WORDS for label in labels)
    prefix = exact or any(_total_prefix(label) for label in labels)
    if not prefix:
        return False
    if sums_above:
        return True
    if exact:
        return not (has_invoice and has_date)
    return not (has_invoice or has_date)


def _cell(row: Sequence[object], position: int) -> object:
    return row[position] if position < len(row) else None


_EMPTY = ("", None)


def _texts(values: Sequence[object]) -> list[str | None]:
    """Text of each value; plain strings (nearly all) take the fast path."""
    return [(v.strip() or None) if type(v) is str else _text(v) for v in values]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            return value.isoformat(sep=" ")
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    text = str(value).strip()
    return text or None


_YEN_SIGNS = ("¥", "\uffe5")


def _resolve_bare_yen(
    money_cells: Mapping[str, Sequence[object]],
    columns: Mapping[str, int],
    location: TableLocation,
    symbol_currency: list[str | None],
    rules: Rules,
    sheet: str,
) -> list[Issue]:
    """Decide what a bare ``¥`` means in this ledger, filling ``symbol_currency``.

    ``¥`` is the sign of both the yuan and the yen (values.py leaves it undecided). The
    ledger decides: other amounts naming exactly one of CNY (元, RMB) or JPY (円); else
    the headers' script (kana: Japanese; Chinese characters only: Chinese). Undecided, the
    settings' default currency applies and the column is reported.
    """
    bare: list[tuple[int, int]] = []  # (row position, column) of amounts with a bare ¥
    for name in ("amount", "paid", "balance"):
        if name not in columns:
            continue
        cells = money_cells[name]
        if not any(issubclass(kind, str) for kind in set(map(type, cells))):
            continue  # numbers only (the usual column): no sign to look for
        for position, value in enumerate(cells):
            if (
                isinstance(value, str)
                and symbol_currency[position] is None
                and any(sign in value for sign in _YEN_SIGNS)
            ):
                bare.append((position, columns[name]))
    if not bare:
        return []
    named = {code for code in symbol_currency if code in ("CNY", "JPY")}
    headers = "".join(location.headers.values())
    if len(named) == 1:
        code = named.pop()
        reason = f"other amounts of the sheet are marked {code}"
    elif any("\u3040" <= ch <= "\u30ff" for ch in headers):
        code, reason = "JPY", "the headers are Japanese"
    elif any("\u4e00" <= ch <= "\u9fff" for ch in headers):
        code, reason = "CNY", "the headers are Chinese"
    else:
        code = None
    where = cell_ref(sheet, location.header_row, bare[0][1])
    if code is None:
        return [
            Issue(
                where,
                f"'¥' can mean yen or yuan; read as {rules.default_currency} "
                "(add a currency column, or set general.default_currency)",
            )
        ]
    for position, _column in bare:
        symbol_currency[position] = code
    return [Issue(where, f"'¥' read as {code}: {reason}", Severity.INFO)]


# Payment terms beyond ten years are typos (or hostile): they would put due dates
# outside what dates can hold.
MAX_TERMS_DAYS = 3660

# Every |balance| of a ledger together stays below this many cents (int64 holds 9.2e18),
# so that no total (per customer, per currency, of the whole ledger) can overflow.
MAX_TOTAL_CENTS = 2**62


def _bounded_total(
    balances: _Cents, rows_of, sheet: str, column: int | None, issues: list[Issue]
) -> _Cents:
    """``balances``, with the largest left out (an issue at each cell) while their sum of
    absolute values would reach :data:`MAX_TOTAL_CENTS`."""
    values, present = balances
    # The float sum of |cents| is within a relative 1e-9 of the exact one: far below
    # the bound, no exact sum is needed (the usual case).
    if float(np.abs(values[present].astype(np.float64)).sum()) < MAX_TOTAL_CENTS / 2:
        return balances
    out = [v if p else None for v, p in zip(values.tolist(), present.tolist(), strict=True)]
    total = sum(abs(b) for b in out if b is not None)  # Python ints: exact
    if total < MAX_TOTAL_CENTS:
        return balances
    largest = sorted((i for i, b in enumerate(out) if b is not None), key=lambda i: -abs(out[i]))
    for index in largest:
        if total < MAX_TOTAL_CENTS:
            break
        total -= abs(out[index])
        issues.append(
            Issue(
                cell_ref(sheet, int(rows_of[index]), column),
                f"row skipped: a balance of {out[index] / 100:,.2f} takes the "
                f"ledger's total beyond {MAX_TOTAL_CENTS // 100:,}; check the "
                "amount (an account number pasted into it?)",
            )
        )
        out[index] = None
    return (
        np.array([0 if b is None else b for b in out], dtype=np.int64),
        np.array([b is not None for b in out], dtype=bool),
    )


def _parse_money_column(
    values: Sequence[object],
) -> tuple[np.ndarray, np.ndarray, dict[int, str], dict[int, str]]:
    """Parse a money column to cents: (cents, present, errors, currencies).

    ``cents`` is int64 (0 where nothing was read), ``present`` says where an amount was
    read; ``errors`` and ``currencies`` map the data rows of unreadable cells and of
    amounts naming a currency. Numbers take a vectorised exact path.
    """
    size = len(values)
    errors: dict[int, str] = {}
    currencies: dict[int, str] = {}
    numeric_positions, numbers = _numeric_cells(values)
    cents = np.zeros(size, dtype=np.int64)
    present = np.zeros(size, dtype=bool)
    if len(numeric_positions):
        finite = np.isfinite(numbers)
        # A float that holds a 2-decimal amount is within 1e-6 of an integer number of
        # cents; rint gives that integer exactly (|x| < 2**53 / 100).
        # Beyond MAX_CENTS a number is a pasted account number or a typo, and its cents
        # would overflow int64 (9.3e16 became a negative balance): an issue at its cell.
        usable = finite & (np.abs(numbers) < MAX_CENTS / 100)
        rounded = np.rint(np.where(usable, numbers, 0) * 100).astype(np.int64)
        if len(numeric_positions) == size and usable.all():
            return rounded, np.ones(size, dtype=bool), errors, currencies  # all numbers
        where = np.asarray(numeric_positions, dtype=np.intp)
        cents[where] = rounded
        present[where] = usable
        for index in np.flatnonzero(~usable).tolist():
            position = numeric_positions[index]
            problem = "is too large for" if finite[index] else "is not"
            errors[position] = f"'{values[position]}' {problem} an amount"
    if len(numeric_positions) < size:
        _parse_money_texts(values, set(numeric_positions), cents, present, errors, currencies)
    return cents, present, errors, currencies


def _numeric_cells(values: Sequence[object]) -> tuple[Sequence[int], np.ndarray]:
    """The positions of the numbers (not bools) among ``values``, and those numbers as
    float64."""
    if set(map(type, values)) <= {float, int}:  # the usual column (bool is another type)
        return range(len(values)), np.array(values, dtype=np.float64)
    # type() first: nearly every cell is a plain float, and the test is per cell.
    positions = [
        i
        for i, v in enumerate(values)
        if type(v) is float
        or type(v) is int
        or (isinstance(v, int | float) and not isinstance(v, bool))
    ]
    return positions, np.array([values[i] for i in positions], dtype=np.float64)


def _parse_money_texts(
    values: Sequence[object],
    numeric: set[int],
    cents: np.ndarray,
    present: np.ndarray,
    errors: dict[int, str],
    currencies: dict[int, str],
) -> None:
    """Parse the cells of ``values`` that are neither numbers (at ``numeric``) nor empty,
    one by one, into ``cents``, ``present``, ``errors`` and ``currencies`` (updated)."""
    for position, value in enumerate(values):
        if position in numeric or _is_empty(value):
            continue
        result = parse_amount(value)
        if result.cents is not None:
            cents[position], present[position] = result.cents, True
        if result.error:
            errors[position] = result.error
        if result.currency:
            currencies[position] = result.currency
