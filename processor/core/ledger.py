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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter

import numpy as np
import pandas as pd

from . import frame as F
from .currency import currency_code
from .grid import SheetGrid
from .headers import HeaderMatcher, normalise_header
from .issues import Issue, Severity, cell_ref
from .rules import Rules
from .values import parse_amount, parse_date_column, parse_flag, parse_number

HEADER_SEARCH_ROWS = 30
# Labels of totals rows in the seed languages (normalised: lower case, no accents/spaces).
TOTAL_WORDS = frozenset(
    normalise_header(word)
    for word in (
        "total", "totals", "grand total", "subtotal", "sub-total", "sum", "total general",
        "totales", "suma", "suma total", "合计", "總計", "总计", "小计", "合計", "összesen",
        "mindösszesen", "végösszeg", "gesamt", "summe", "gesamtsumme", "somme", "total général",
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

    @property
    def header_row(self) -> int:
        """1-based sheet row of the header."""
        return self.location.header_row


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def output_labels(rules: Rules) -> tuple[str, str, str, str]:
    """Headers of the four columns this tool appends, in order."""
    labels = rules.labels
    return (
        labels.get("days_overdue", "Days Overdue"),
        labels.get("bucket", "Aging Bucket"),
        labels.get("stage", "Stage"),
        labels.get("next_action", "Next Action"),
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
            if not _is_empty(value) and isinstance(value, str | int | float)
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
    return best


def _find_output_columns(texts: Mapping[int, str], ours: Sequence[str]) -> dict[str, int]:
    """Our four appended headers, when they stand side by side in order in this row."""
    normalised = {column: normalise_header(text) for column, text in texts.items()}
    for column, text in normalised.items():
        if text == ours[0] and all(
            normalised.get(column + offset) == ours[offset] for offset in range(1, 4)
        ):
            return {key: column + offset for offset, key in enumerate(
                ("days_overdue", "bucket", "stage", "next_action"))}
    return {}


def missing_required(columns: Mapping[str, int]) -> list[str]:
    """Names of the required fields (design.md §3) that the mapping lacks."""
    missing = []
    if "customer" not in columns:
        missing.append("customer")
    if not {"balance", "amount"} & set(columns):
        missing.append("balance (or amount)")
    if not {"due_date", "invoice_date"} & set(columns):
        missing.append("due date (or invoice date)")
    return missing


def build_ledger(
    grid: SheetGrid, rules: Rules, location: TableLocation, matcher: HeaderMatcher
) -> Ledger:
    """Turn the table at ``location`` into canonical records, reporting every bad cell."""
    sheet = grid.name
    issues: list[Issue] = []
    skipped: list[SkippedRow] = []
    columns = dict(location.columns)
    first_data = location.header_row  # 0-based index of the first row below the header
    data = grid.rows[first_data:]
    header_texts = [location.headers.get(c, "") for c in range(1, max(location.headers) + 1)]
    header_keys = {normalise_header(t) for t in header_texts if t}
    header_casefold = {t.strip().casefold() for t in header_texts if t}

    width = min(map(len, data), default=0)
    raw_columns: dict[str, list[object]] = {}

    def raw(field_name: str) -> list[object]:
        """The cells of a field's column, one per data row (read-only: it is shared)."""
        column = raw_columns.get(field_name)
        if column is None:
            position = columns[field_name] - 1
            if position < width:
                # Every row reaches the column (calamine's rows are all as wide): C speed.
                column = list(map(itemgetter(position), data))
            else:
                column = [row[position] if position < len(row) else None for row in data]
            raw_columns[field_name] = column
        return column

    money = {}
    money_errors: dict[str, list[str | None]] = {}
    symbol_currency: list[str | None] = [None] * len(data)
    for name in ("amount", "paid", "balance"):
        if name in columns:
            cents, errors, currencies = _parse_money_column(raw(name))
            money[name] = cents
            money_errors[name] = errors
            for position, code in enumerate(currencies):
                if code and not symbol_currency[position]:
                    symbol_currency[position] = code
    issues.extend(_resolve_bare_yen(
        {name: raw(name) for name in ("amount", "paid", "balance") if name in columns},
        columns, location, symbol_currency, rules, sheet))
    customer_raw = raw("customer")
    # Columns whose content makes a row an item rather than a note or a heading.
    substance = [columns[name] - 1 for name in ("invoice", *sorted(F.DATE_FIELDS), "amount",
                                                 "paid", "balance") if name in columns]
    invoice_position = columns["invoice"] - 1 if "invoice" in columns else None
    date_positions = [columns[name] - 1 for name in sorted(F.DATE_FIELDS) if name in columns]

    keep: list[int] = []
    trailing_blank: list[int] = []
    # Sums of the kept rows since the last totals row, and since the top of the table:
    # an unlabelled row equal to either is a subtotal or a grand total.
    running = {name: 0 for name in money}
    grand = {name: 0 for name in money}
    customer_position = columns["customer"] - 1
    money_columns = list(money.items())
    # Per row, whether it has an invoice number and a date: whole columns at a time.
    invoiced = ([v not in _EMPTY for v in raw("invoice")] if invoice_position is not None
                else [False] * len(data))
    dated = [False] * len(data)
    for name in sorted(F.DATE_FIELDS):
        if name in columns:
            dated = [d or v not in _EMPTY for d, v in zip(dated, raw(name), strict=True)]
    for position, row in enumerate(data):
        # Fast path, nearly every row: a customer, an invoice number and a date. It is an
        # item unless its amounts equal the sums above (then the full checks below run).
        customer = customer_raw[position]
        if (
            type(customer) is str
            and invoiced[position]
            and dated[position]
            and customer.strip()
            and customer.strip().casefold() not in header_casefold
        ):
            amounts = [(name, cents[position]) for name, cents in money_columns
                       if cents[position] is not None]
            # The first amount differing from both sums settles it (the usual case)
            # without building the two generators.
            # All-zero amounts equal any empty running sum: they prove nothing.
            if not amounts or not any(v for _n, v in amounts) or (
                amounts[0][1] != running[amounts[0][0]] and amounts[0][1] != grand[amounts[0][0]]
            ) or not (
                all(v == running[n] for n, v in amounts) or all(v == grand[n] for n, v in amounts)
            ):
                if trailing_blank:
                    skipped.extend(SkippedRow(r, "blank row") for r in trailing_blank)
                    trailing_blank = []
                for name, value in amounts:
                    running[name] += value
                    grand[name] += value
                keep.append(position)
                continue
        sheet_row = first_data + position + 1
        # list.count runs in C: most rows are told apart without a Python-level scan.
        if row.count("") + row.count(None) == len(row) or (
            all(v is None or isinstance(v, str) for v in row)
            and all(_is_empty(v) for v in row)
        ):
            trailing_blank.append(sheet_row)
            continue
        skipped.extend(SkippedRow(r, "blank row") for r in trailing_blank)
        trailing_blank = []
        strings = None
        # A repeated header (a page header printed again) repeats the customer heading;
        # only such rows are normalised, the slow part of this loop.
        first_text = _cell(row, customer_position)
        if isinstance(first_text, str) and first_text.strip().casefold() in header_casefold:
            strings = [v for v in row if isinstance(v, str) and v.strip()]
            texts = [normalise_header(v) for v in strings]
            if sum(t in header_keys for t in texts) >= max(2, len(header_keys) // 2):
                skipped.append(SkippedRow(sheet_row, "repeated header row"))
                continue
        values = {n: money[n][position] for n in money if money[n][position] is not None}
        # A row of zeros "equals" an empty running sum: only non-zero amounts can show a
        # subtotal.
        sums_above = any(values.values()) and (
            all(v == running[n] for n, v in values.items())
            or all(v == grand[n] for n, v in values.items())
        )
        has_invoice = invoice_position is not None and not _is_empty(
            _cell(row, invoice_position))
        has_date = any(not _is_empty(_cell(row, p)) for p in date_positions)
        # A row with an invoice number and a date is an item whatever its label says,
        # unless its amounts are the sums above: only other rows need their labels read.
        could_be_total = sums_above or not (has_invoice and has_date)
        if could_be_total and strings is None:
            strings = [v for v in row if isinstance(v, str) and v.strip()]
        labels = [normalise_header(v) for v in strings[:3]] if could_be_total else []
        if labels and _is_totals_row(labels, has_invoice, has_date, sums_above):
            skipped.append(SkippedRow(sheet_row, "totals row"))
            running = {name: 0 for name in money}
            continue
        customer = customer_raw[position]
        if _is_empty(customer):
            if sums_above:
                skipped.append(
                    SkippedRow(sheet_row, "totals row (its amounts are the sums of the rows above)")
                )
                running = {name: 0 for name in money}
                continue
            reason = "no customer" if values else "no customer and no amount"
            skipped.append(SkippedRow(sheet_row, reason))
            issues.append(
                Issue(cell_ref(sheet, sheet_row, columns["customer"]),
                      f"row skipped: {reason}", Severity.WARNING if values else Severity.INFO)
            )
            continue
        if all(_is_empty(_cell(row, p)) for p in substance):
            # Text in the customer column and nothing else the ledger reads: a note under
            # the table ("Prepared by ...") or a section heading ("EXPORT CUSTOMERS").
            skipped.append(SkippedRow(sheet_row, "no amount and no date (a note or a heading)"))
            continue
        for name in money:
            value = money[name][position]
            if value is not None:
                running[name] += value
                grand[name] += value
        keep.append(position)

    def kept(values: Sequence[object]) -> list[object]:
        if len(keep) == len(values):  # every row kept (keep is ascending, no repeats)
            return list(values)
        return [values[p] for p in keep]

    records: dict[str, object] = {
        F.ROW: np.array([first_data + p + 1 for p in keep], dtype=np.int64)
    }
    rows_of = records[F.ROW]
    records["customer"] = _texts(kept(customer_raw))
    for name in F.TEXT_FIELDS - {"customer"}:
        if name in columns:
            records[name] = _texts(kept(raw(name)))
        else:
            records[name] = [None] * len(keep)

    # Money: report unreadable cells at their location.
    for name in money:
        for position in keep:
            error = money_errors[name][position]
            if error:
                issues.append(
                    Issue(cell_ref(sheet, first_data + position + 1, columns[name]), error))

    # Dates, deciding day/month order per column from its unambiguous values.
    for name in sorted(F.DATE_FIELDS):
        if name not in columns:
            records[name] = pd.Series(pd.NaT, index=range(len(keep)), dtype="datetime64[s]")
            continue
        result = parse_date_column(kept(raw(name)), date1904=grid.date1904, order=rules.date_order)
        for position, error in enumerate(result.errors):
            if error:
                issues.append(Issue(cell_ref(sheet, int(rows_of[position]), columns[name]), error))
        if result.ambiguous:
            issues.append(
                Issue(
                    cell_ref(sheet, location.header_row, columns[name]),
                    f"dates in '{location.headers.get(columns[name])}' could be day-first or "
                    f"month-first; read as {'day' if result.order != 'mdy' else 'month'}-first "
                    "(set general.date_order in the rules to decide)",
                )
            )
        records[name] = pd.Series(
            pd.to_datetime([d if d is not None else pd.NaT for d in result.dates]),
            dtype="datetime64[s]",
        ) if keep else pd.Series([], dtype="datetime64[s]")

    for name in ("terms_days", "distance_km"):
        values: list[float | None] = []
        if name in columns:
            parsed: dict[object, tuple[float | None, str | None]] = {}
            for position, value in zip(keep, kept(raw(name)), strict=True):
                # Terms repeat (30, 45, "30 días"): parse each distinct value once.
                key = (type(value), value)
                if key not in parsed:
                    parsed[key] = parse_number(value)
                number, error = parsed[key]
                if error:
                    issues.append(
                        Issue(cell_ref(sheet, first_data + position + 1, columns[name]), error))
                values.append(number)
        else:
            values = [None] * len(keep)
        # float64 with NaN for missing: group reductions then run vectorised.
        records[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    disputed: list[bool] = []
    if "disputed" in columns:
        for position, value in zip(keep, kept(raw("disputed")), strict=True):
            flag, error = parse_flag(value)
            if error:
                issues.append(Issue(
                    cell_ref(sheet, first_data + position + 1, columns["disputed"]), error))
            disputed.append(bool(flag))
    else:
        disputed = [False] * len(keep)
    records["disputed"] = disputed

    table = pd.DataFrame(records)
    if "dispute_reason" in columns:
        # A dispute reason without a flag still means the item is in dispute.
        table["disputed"] = table["disputed"] | table["dispute_reason"].notna()

    # Currency: column, else the amount's symbol, else settings.
    currency = []
    codes: dict[str, str | None] = {}  # a currency column holds a handful of values
    for position, value in zip(keep, records["currency"], strict=True):
        code = None
        if value:
            if value not in codes:
                codes[value] = currency_code(value) or str(value).strip().upper()
            code = codes[value]
        currency.append(code or symbol_currency[position] or rules.default_currency)
    table["currency"] = currency

    absent = [None] * len(keep)
    amount, paid, balance = (kept(money[name]) if name in money else absent
                             for name in ("amount", "paid", "balance"))
    balances: list[int | None] = []
    if None not in balance:  # every balance given (the usual case): nothing to derive
        balances, amount_balance_pairs = balance, ()
    else:
        amount_balance_pairs = zip(amount, paid, balance, strict=True)
    for index, (a, p, b) in enumerate(amount_balance_pairs):
        if b is None and a is not None:
            b = a - (p or 0)
        balances.append(b)
        if b is None:
            row_number = int(rows_of[index])
            field_name = "balance" if "balance" in columns else "amount"
            issues.append(Issue(cell_ref(sheet, row_number, columns[field_name]),
                                "row skipped: no balance or amount"))
    table[F.AMOUNT] = pd.array(amount, dtype="Int64")
    table[F.PAID] = pd.array([p or 0 for p in paid], dtype="Int64")
    table[F.BALANCE] = pd.array(balances, dtype="Int64")

    # Due date: given, else invoice date + terms (flagged).
    due = table["due_date"]
    derived = due.isna()
    terms = pd.to_numeric(table["terms_days"], errors="coerce").fillna(rules.default_terms_days)
    computed = table["invoice_date"] + pd.to_timedelta(terms.astype("int64"), unit="D")
    table["due_date"] = due.where(~derived, computed)
    table[F.DUE_DERIVED] = derived & table["invoice_date"].notna()
    if "due_date" not in columns and len(table):
        terms_source = ("terms column" if "terms_days" in columns
                        else f"{rules.default_terms_days} days")
        issues.append(Issue(
            cell_ref(sheet, location.header_row),
            f"no due-date column: due dates are invoice date + terms ({terms_source})",
            Severity.INFO))
    elif table[F.DUE_DERIVED].any():
        for row_number in table.loc[table[F.DUE_DERIVED], F.ROW]:
            issues.append(Issue(cell_ref(sheet, int(row_number), columns["due_date"]),
                                "no due date: invoice date + terms used", Severity.INFO))

    no_due = table["due_date"].isna()
    for row_number in table.loc[no_due, F.ROW]:
        where = columns.get("due_date", columns.get("invoice_date"))
        issues.append(Issue(cell_ref(sheet, int(row_number), where),
                            "row skipped: no due date and no invoice date"))
    unusable = no_due | table[F.BALANCE].isna()
    for row_number in table.loc[unusable, F.ROW]:
        skipped.append(SkippedRow(int(row_number), "unreadable due date or amount"))
    if unusable.any():
        table = table.loc[~unusable].reset_index(drop=True)
    table[F.BALANCE] = table[F.BALANCE].astype(np.int64)
    table = table[[F.ROW, *[f for f in F.FIELDS if f not in F.MONEY_FIELDS],
                   F.AMOUNT, F.PAID, F.BALANCE, F.DUE_DERIVED]]

    taken = set(columns.values()) | set(location.output_columns.values())
    unmapped = tuple(
        (column, text) for column, text in sorted(location.headers.items()) if column not in taken
    )
    skipped.sort(key=lambda s: s.row)
    return Ledger(
        frame=table, sheet=sheet, location=location, skipped=tuple(skipped),
        issues=tuple(issues), unmapped=unmapped,
    )


def _total_prefix(text: str) -> bool:
    # "Total EUR", "Total general:", "Gesamtsumme 2026": a total word at the start.
    return any(text.startswith(word) and len(word) >= 4 for word in TOTAL_WORDS if word)


def _is_totals_row(labels: Sequence[str], has_invoice: bool, has_date: bool,
                   sums_above: bool) -> bool:
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


def _resolve_bare_yen(money_cells: Mapping[str, Sequence[object]], columns: Mapping[str, int],
                      location: TableLocation, symbol_currency: list[str | None],
                      rules: Rules, sheet: str) -> list[Issue]:
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
        for position, value in enumerate(money_cells[name]):
            if (isinstance(value, str) and symbol_currency[position] is None
                    and any(sign in value for sign in _YEN_SIGNS)):
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
        return [Issue(where, f"'¥' can mean yen or yuan; read as {rules.default_currency} "
                      "(add a currency column, or set general.default_currency)")]
    for position, _column in bare:
        symbol_currency[position] = code
    return [Issue(where, f"'¥' read as {code}: {reason}", Severity.INFO)]


def _parse_money_column(values: Sequence[object]):
    """Parse a money column to cents. Numbers take a vectorised exact path."""
    cents: list[int | None] = [None] * len(values)
    errors: list[str | None] = [None] * len(values)
    currencies: list[str | None] = [None] * len(values)
    # type() first: nearly every cell is a plain float, and the test is per cell.
    numeric_positions = [
        i for i, v in enumerate(values)
        if type(v) is float or type(v) is int
        or (isinstance(v, int | float) and not isinstance(v, bool))
    ]
    if numeric_positions:
        numbers = np.array([values[i] for i in numeric_positions], dtype=np.float64)
        finite = np.isfinite(numbers)
        # A float that holds a 2-decimal amount is within 1e-6 of an integer number of
        # cents; rint gives that integer exactly (|x| < 2**53 / 100).
        rounded = np.rint(np.where(finite, numbers, 0) * 100).astype(np.int64)
        if len(numeric_positions) == len(values) and finite.all():
            return rounded.tolist(), errors, currencies  # all numbers: nothing else to do
        for position, is_finite, value in zip(numeric_positions, finite.tolist(),
                                              rounded.tolist(), strict=True):
            if is_finite:
                cents[position] = value
            else:
                errors[position] = f"'{values[position]}' is not an amount"
    numeric = set(numeric_positions)
    for position, value in enumerate(values):
        if position in numeric or _is_empty(value):
            continue
        result = parse_amount(value)
        cents[position] = result.cents
        errors[position] = result.error
        currencies[position] = result.currency
    return cents, errors, currencies
