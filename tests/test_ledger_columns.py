"""The ledger reads whole columns at once: the results are those of the per-cell rules.

Columns of one type (all texts, all dates, all numbers) take a fast path; these tests
build ledgers whose columns mix the usual cells with odd ones and check every value
against the rule it follows, written out here (texts stripped by Python, dates parsed
with the column's day/month order, totals rows found by the sums above them).
"""

from __future__ import annotations

import sys
from datetime import date, datetime

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.core.grid import SheetGrid
from receivables.core.ledger import PYTHON_SPACES, build_ledger, locate_table
from receivables.core.process import header_matcher
from receivables.core.rules import load_rules
from receivables.core.values import parse_date_column

RULES = load_rules()[0]
MATCHER = header_matcher(RULES)
HEADER = ["Customer", "Invoice", "Invoice Date", "Due Date", "Balance", "Notes"]


def ledger_of(rows, header=HEADER):
    """The ledger built from a sheet of ``header`` over ``rows``."""
    grid = SheetGrid("Ledger", [list(header), *rows])
    location = locate_table(grid, MATCHER, RULES)
    assert location is not None
    return build_ledger(grid, RULES, location, MATCHER)


def test_python_spaces_are_what_str_strip_removes():
    spaces = {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}
    assert set(PYTHON_SPACES) == spaces


# Texts with spaces of every kind at either end, empty texts and texts of spaces only.
SPACES = st.sampled_from(list(PYTHON_SPACES) + ["\u200b", "x"])  # \u200b is no space
TEXTS = st.one_of(
    st.text(SPACES, max_size=3),
    st.builds(
        lambda a, b, c: a + b + c,
        st.text(SPACES, max_size=2),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
        st.text(SPACES, max_size=2),
    ),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(notes=st.lists(TEXTS, min_size=1, max_size=30), odd=st.booleans())
def test_texts_are_stripped_as_python_strips_them(notes, odd):
    cells = list(notes)
    if odd:  # a number, a flag and a date among the texts: the per-cell reading
        cells[0] = 12.0
        cells[-1] = True
        cells[len(cells) // 2] = date(2026, 1, 2)
    rows = [[f"C{i}", f"F-{i}", "", date(2026, 9, 1), 10.0, note] for i, note in enumerate(cells)]
    notes_read = ledger_of(rows).frame["notes"].tolist()
    expected = [
        {12.0: "12", True: "TRUE"}.get(v, v.isoformat() if isinstance(v, date) else None)
        if not isinstance(v, str)
        else v.strip() or None
        for v in cells
    ]
    if all(v is None for v in expected):
        assert notes_read == expected
    else:
        assert [None if pd.isna(v) else v for v in notes_read] == expected


DATE_CELLS = st.one_of(
    st.dates(date(1990, 1, 1), date(2040, 12, 31)),
    st.datetimes(datetime(1990, 1, 1), datetime(2040, 12, 31)),
    st.builds(
        lambda d, m, y: f"{d:02d}/{m:02d}/{y}",
        st.integers(1, 28),
        st.integers(1, 12),
        st.integers(2020, 2030),
    ),
    st.sampled_from(["", "abc", "2026-09-15", 46280.0, 20260915]),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(DATE_CELLS, min_size=1, max_size=30))
def test_dates_are_those_of_the_whole_column_parsed(cells):
    rows = [[f"C{i}", f"F-{i}", value, "", 10.0, ""] for i, value in enumerate(cells)]
    ledger = ledger_of(rows)
    parsed = parse_date_column(cells, order=RULES.date_order)
    kept = [i for i, d in enumerate(parsed.dates) if d is not None]
    assert ledger.frame["row"].tolist() == [i + 2 for i in kept]
    assert [d.date() for d in ledger.frame["invoice_date"]] == [parsed.dates[i] for i in kept]
    errors = [(i.where.row, i.message) for i in ledger.issues if i.where.column == 3]
    expected = [(i + 2, e) for i, e in enumerate(parsed.errors) if e]
    assert [e for e in errors if "ambiguous" not in e[1]][: len(expected)] == expected


def reference_rows(rows):
    """The rows the design keeps and the totals rows it skips, read one by one: an
    unlabelled row, or one labelled with a total word, whose balance equals the sum of
    the items since the last totals row or since the top is a totals row; so is a row
    labelled with a bare total word and without invoice number."""
    running = grand = 0
    kept, totals = [], []
    for number, (customer, invoice, balance) in enumerate(rows, start=2):
        equal = balance != 0 and balance in (running, grand)
        bare_total = customer == "TOTAL" and not invoice
        if bare_total or ((customer == "" or customer.lower().startswith("total")) and equal):
            totals.append(number)
            running = 0
        elif customer == "":
            continue  # no customer: skipped
        else:
            kept.append(number)
            running += balance
            grand += balance
    return kept, totals


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["Acme", "Bolt", "Total Energies", "TOTAL", ""]),
        st.sampled_from(["F-1", ""]),
        st.sampled_from([1, 2, 3, 4, 6, -1, 0]),
    ),
    max_size=120,
)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS)
def test_totals_rows_are_found_by_the_sums_above_them(rows):
    grid_rows = [
        [customer, invoice, "", date(2026, 9, 1) if customer else "", float(balance), ""]
        for customer, invoice, balance in rows
    ]
    ledger = ledger_of(grid_rows)
    kept, totals = reference_rows([(c, i, b * 100) for c, i, b in rows])
    assert ledger.frame["row"].tolist() == kept
    assert [s.row for s in ledger.skipped if s.reason.startswith("totals row")] == totals


def test_sums_beyond_64_bits_are_compared_exactly():
    """Sums of amounts close to the largest readable one overflow int64: a row equal to
    such a sum modulo 2**64 is no totals row."""
    largest = 10**17 - 1  # cents
    rows = [["Acme", f"F-{i}", "", date(2026, 9, 1), "999999999999999.99", ""] for i in range(184)]
    rest = 2**64 - 184 * largest + 5  # the sum is now 2**64 + 5 cents
    rows.append(["Acme", "F-x", "", date(2026, 9, 1), f"{rest // 100}.{rest % 100:02d}", ""])
    rows.append(["", "", "", "", "0.05", ""])
    ledger = ledger_of(rows)
    (last,) = [s for s in ledger.skipped if s.row == 187]
    assert last.reason == "no customer"
