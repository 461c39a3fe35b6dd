"""Whole-column paths of the core give what the plain way gives, value for value.

Each property builds inputs with hypothesis, runs the fast path the core takes on a big
ledger, and compares it with a plain reference written out here (pandas' own
conversion, a loop over the values).
"""

from __future__ import annotations

import itertools
import pickle
from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.core import frame as F
from receivables.core.classify import classify
from receivables.core.currency import currency_digits
from receivables.core.dunning import (
    Decision,
    Level,
    SentLetter,
    _new_decision,
    _new_letter,
    _overdue_items,
    item_key,
    letter_levels,
    normalize,
    reachability,
)
from receivables.core.grid import SheetGrid
from receivables.core.ledger import TableLocation, _Table, build_ledger, locate_table
from receivables.core.outputs import (
    _AgingSums,
    _cell_texts,
    _group_sums,
    _plan_rows,
    _repeated_texts,
    _row_actions,
    _text,
)
from receivables.core.plan import _first_texts, first_present, money_text, present, series_dict
from receivables.core.process import header_matcher
from receivables.core.rules import load_rules

TEXT_DTYPE = F.text_dtype()
RULES = load_rules()[0]

# ---- decisions and letters built in one step -------------------------------------------

LEVELS = st.builds(
    Level,
    st.integers(0, 3),
    st.sampled_from(["notice", "demand"]),
    st.sampled_from(["reminder", "formal_demand"]),
    st.integers(0, 90),
)
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
ITEMS = st.lists(
    st.tuples(st.text(max_size=5), st.sampled_from(["notice", "demand"])), max_size=3
).map(tuple)
LETTERS = st.fixed_dictionaries(
    {
        "reference": st.text(max_size=4),
        "date": DAYS,
        "customer": st.text(max_size=5),
        "currency": st.sampled_from(["EUR", "USD"]),
        "level": st.sampled_from(["notice", "demand"]),
    },
    optional={
        "items": st.one_of(st.none(), ITEMS),
        "template": st.text(max_size=5),
        "status": st.sampled_from(["sent", "draft"]),
        "channel": st.just("email"),
    },
)


@st.composite
def decision_fields(draw):
    """Keyword arguments of a Decision: the required fields and some of the others."""
    values = {
        "customer": draw(st.text(max_size=5)),
        "currency": draw(st.text(max_size=3)),
        "action": draw(st.sampled_from(["send", "wait", "done", "below_minimum"])),
    }
    optional = {
        "level": st.one_of(st.none(), LEVELS),
        "due": st.one_of(st.none(), DAYS),
        "items": ITEMS,
        "gross_cents": st.integers(-(2**70), 2**70),
        "credits_cents": st.integers(0, 10**9),
        "net_cents": st.integers(0, 10**9),
        "previous": st.one_of(st.none(), LETTERS.map(lambda kw: SentLetter(**kw))),
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        values[name] = draw(optional[name])
    if draw(st.booleans()):
        values["then"] = Decision(**{**values, "action": "wait"})
        values["letter"] = values.get("previous")
    return values


def _same_instance(built, constructed):
    assert type(built) is type(constructed)
    assert built == constructed and constructed == built
    assert hash(built) == hash(constructed)
    assert repr(built) == repr(constructed)
    assert vars(built) == vars(constructed)
    assert pickle.loads(pickle.dumps(built)) == constructed
    with pytest.raises(FrozenInstanceError):
        built.customer = "other"


@settings(max_examples=80)
@given(values=decision_fields())
def test_a_decision_built_in_one_step_is_the_constructed_one(values):
    _same_instance(_new_decision(**values), Decision(**values))


@settings(max_examples=50)
@given(values=LETTERS)
def test_a_letter_built_in_one_step_is_the_constructed_one(values):
    _same_instance(_new_letter(**values), SentLetter(**values))


def test_building_without_a_required_field_or_with_an_unknown_one_fails():
    with pytest.raises(TypeError):
        _new_decision(customer="A", currency="EUR")  # no action
    with pytest.raises(TypeError):
        _new_decision(customer="A", currency="EUR", action="send", colour="red")


# ---- the plan's first texts per customer and currency ----------------------------------

NAMES = st.sampled_from(["Acme", "acme", "Borde", "Cielo ", "Ñandú"])
CURRENCIES = st.sampled_from(["EUR", "USD", "HUF"])
VALUES = st.one_of(st.none(), st.sampled_from(["", "  ", "Ana", " Ben ", "ana", "\u3000"]))


@settings(max_examples=80)
@given(
    rows=st.lists(st.tuples(NAMES, CURRENCIES, VALUES, VALUES), max_size=40),
    missing_column=st.booleans(),
)
def test_first_texts_are_the_first_present_value_of_each_pair(rows, missing_column):
    frame = pd.DataFrame(
        {
            "customer": pd.Series([r[0] for r in rows], dtype=TEXT_DTYPE or object),
            "currency": pd.Series([r[1] for r in rows], dtype=TEXT_DTYPE or object),
            "owner": pd.Series([r[2] for r in rows], dtype=TEXT_DTYPE or object),
            # A column the ledger lacks is all None (objects).
            "contact": pd.Series(
                [None if missing_column else r[3] for r in rows],
                dtype=object if missing_column else TEXT_DTYPE or object,
            ),
        }
    )
    found = _first_texts(frame, ("owner", "contact", "phone"))
    assert set(found) == {"owner", "contact"}
    for column in ("owner", "contact"):
        expected = {}
        for customer, currency, value in zip(
            frame["customer"].tolist(),
            frame["currency"].tolist(),
            frame[column].tolist(),
            strict=True,
        ):
            if present(value):
                expected.setdefault((customer, currency), value)
        assert found[column] == expected
        assert list(found[column]) == list(expected)  # in ledger order
        assert found[column] == first_present(frame, column)


# ---- money in the plan's words ---------------------------------------------------------


@settings(max_examples=200)
@given(
    cents=st.one_of(
        st.integers(-(10**6), 10**6),
        st.integers(-(10**30), 10**30),
        st.sampled_from([0, -1, 1, 99, -99, 100, -100, 10**27 - 1, -(10**27) + 1, 10**27]),
    ),
    currency=st.sampled_from(["EUR", "USD", "HUF", "JPY", "KWD", "eur", "XXX", "", "E1"]),
)
def test_money_text_writes_the_decimal_of_the_cents(cents, currency):
    value = Decimal(cents).scaleb(-2)
    assert money_text(cents, currency) == f"{currency} {value:,.{currency_digits(currency)}f}"


# ---- who can be written to -------------------------------------------------------------


@settings(max_examples=80)
@given(
    rows=st.lists(st.tuples(NAMES, VALUES, VALUES), max_size=40),
    lacks=st.sampled_from(["none", "address", "email", "both"]),
)
def test_reachability_names_the_customers_with_an_address_or_an_email(rows, lacks):
    columns = {"customer": pd.Series([r[0] for r in rows], dtype=TEXT_DTYPE or object)}
    for position, column in ((1, "address"), (2, "email")):
        if lacks in (column, "both"):
            # A column the ledger lacks is all None (objects).
            columns[column] = pd.Series([None] * len(rows), dtype=object)
        else:
            columns[column] = pd.Series([r[position] for r in rows], dtype=TEXT_DTYPE or object)
    frame = pd.DataFrame(columns)
    expected = tuple(
        {
            customer
            for customer, value in zip(frame["customer"], frame[column], strict=True)
            if isinstance(value, str) and value.strip()
        }
        for column in ("address", "email")
    )
    assert reachability(frame) == expected
    assert reachability(frame.drop(columns=["address", "email"])) == (set(), set())


# ---- each row's Next Action ------------------------------------------------------------

ACTIONS = st.sampled_from(["Call", "Send reminder", "", None])


@settings(max_examples=80)
@given(
    rows=st.lists(
        st.tuples(NAMES, st.one_of(st.none(), CURRENCIES), st.booleans(), ACTIONS), max_size=40
    ),
    decided=st.dictionaries(
        st.tuples(NAMES, CURRENCIES), st.sampled_from(["Send notice", "Wait", ""]), max_size=6
    ),
)
def test_row_actions_follow_the_decided_action_of_each_overdue_row(rows, decided):
    frame = pd.DataFrame(
        {
            "customer": pd.Series([r[0] for r in rows], dtype=TEXT_DTYPE or object),
            "currency": pd.Series([r[1] for r in rows], dtype=TEXT_DTYPE or object),
            F.COUNTS_OVERDUE: pd.Series([r[2] for r in rows], dtype=bool),
            F.NEXT_ACTION: pd.Series([r[3] for r in rows], dtype=TEXT_DTYPE or object),
        }
    )
    expected = frame[F.NEXT_ACTION].tolist()
    for index, (customer, currency, overdue, _action) in enumerate(rows):
        if overdue:
            key = (customer, RULES.default_currency if currency is None else currency)
            expected[index] = decided.get(key, expected[index])
    assert _row_actions(frame, RULES, decided) == expected


# ---- the overdue items, pair by pair ---------------------------------------------------

INVOICES = st.one_of(
    st.none(), st.sampled_from(["INV-1", "inv-1", " INV-2", "INV 3", "INV  3", "", "  "])
)
DUES = st.one_of(st.none(), st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 1)))


@settings(max_examples=80)
@given(
    rows=st.lists(
        st.tuples(
            NAMES,
            st.one_of(st.none(), CURRENCIES),
            st.booleans(),
            INVOICES,
            DUES,
            st.integers(-5, 400),
            st.integers(-(10**6), 10**6),
        ),
        max_size=40,
    )
)
def test_overdue_items_are_the_overdue_rows_pair_by_pair(rows):
    frame = pd.DataFrame(
        {
            "customer": pd.Series([r[0] for r in rows], dtype=TEXT_DTYPE or object),
            "currency": pd.Series([r[1] for r in rows], dtype=TEXT_DTYPE or object),
            F.COUNTS_OVERDUE: pd.Series([r[2] for r in rows], dtype=bool),
            "invoice": pd.Series([r[3] for r in rows], dtype=TEXT_DTYPE or object),
            "due_date": pd.Series(
                [pd.NaT if r[4] is None else pd.Timestamp(r[4]) for r in rows],
                dtype="datetime64[s]",
            ),
            F.DAYS_OVERDUE: pd.Series([r[5] for r in rows], dtype=np.int64),
            F.BALANCE: pd.Series([r[6] for r in rows], dtype=np.int64),
        }
    )
    levels = letter_levels(RULES)
    found = _overdue_items(frame, RULES, levels)
    # The plain way: overdue rows grouped by (customer, currency) in order of first
    # appearance, each group in ledger order.
    groups: dict[tuple, list] = {}
    for customer, currency, overdue, invoice, due, days, balance in rows:
        if overdue:
            key = (customer, RULES.default_currency if currency is None else currency)
            groups.setdefault(key, []).append((invoice, due, days, balance))
    assert found.pairs == list(groups)
    items = [item for group in groups.values() for item in group]
    keys = [
        invoice
        if isinstance(invoice, str) and invoice.strip() == invoice and invoice
        else item_key(invoice, due)
        for invoice, due, _days, _balance in items
    ]
    assert found.keys == keys
    assert found.names == [normalize(key) for key in keys]
    assert found.days == [days for _i, _d, days, _b in items]
    assert found.balances == [balance for _i, _d, _days, balance in items]
    assert found.reached == [
        max((level.index for level in levels if days >= level.from_days), default=-1)
        for _i, _d, days, _b in items
    ]
    assert found.bounds.tolist() == [0, *itertools.accumulate(map(len, groups.values()))]
    for number, group in enumerate(groups.values()):
        assert [item.due for item in found.items(number)] == [due for _i, due, _d, _b in group]


# ---- the Aging Summary's sums ----------------------------------------------------------


@settings(max_examples=80)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), CURRENCIES, st.text("ABCXYZ", min_size=3, max_size=3)),
            st.one_of(st.none(), st.sampled_from(["0-30", "31-60", "61-90", "90+"])),
            st.sampled_from(["current", "notice", "demand", "legal", "credit"]),
            st.integers(-(10**12), 10**12),
            st.integers(0, 10**12),
        ),
        max_size=60,
    )
)
def test_aging_sums_are_those_of_pandas_groupby(rows):
    open_rows = pd.DataFrame(
        {
            "currency": pd.Series([r[0] for r in rows], dtype=TEXT_DTYPE or object),
            F.BUCKET: pd.Series([r[1] for r in rows], dtype=TEXT_DTYPE or object),
            F.STAGE: pd.Series([r[2] for r in rows], dtype=TEXT_DTYPE or object),
            F.BALANCE: pd.Series([r[3] for r in rows], dtype=np.int64),
            "_expected": pd.Series([r[4] for r in rows], dtype=np.int64),
        }
    )
    sums = _AgingSums(open_rows)
    by_bucket = open_rows.groupby(["currency", F.BUCKET])
    by_currency = open_rows.groupby("currency")
    assert sums.balances == series_dict(
        open_rows.groupby(["currency", F.BUCKET, F.STAGE])[F.BALANCE].sum()
    )
    assert sums.items == series_dict(by_bucket.size())
    assert sums.expected == series_dict(by_bucket["_expected"].sum())
    assert sums.stage_totals == series_dict(
        open_rows.groupby(["currency", F.STAGE])[F.BALANCE].sum()
    )
    assert sums.total_items == series_dict(by_currency.size())
    assert sums.total_expected == series_dict(by_currency["_expected"].sum())


def test_group_sums_of_many_more_groups_than_rows():
    # 300 distinct texts in each of three columns: 27 million possible groups, 300 rows.
    texts = [f"T{number}" for number in range(300)]
    frame = pd.DataFrame({"a": texts, "b": texts[::-1], "c": texts, "v": range(300)})
    keys = [pd.factorize(frame[column]) for column in ("a", "b", "c")]
    assert _group_sums(keys, frame["v"].to_numpy()) == series_dict(
        frame.groupby(["a", "b", "c"])["v"].sum()
    )


# ---- the plan's money cells ------------------------------------------------------------


@settings(max_examples=60)
@given(
    amounts=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from([0, 0, 5, 10**6]), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_plan_money_cells_are_each_amount_as_a_decimal(amounts):
    size = len(amounts)
    overdue = [a for a, _c, _net in amounts]
    credits = [c for _a, c, _net in amounts]
    net = [max(0, a - c) if apply else a for a, c, apply in amounts]
    plan = pd.DataFrame(
        {
            "rank": range(1, size + 1),
            "customer": ["A"] * size,
            "currency": ["EUR"] * size,
            "overdue_cents": overdue,
            "credits_cents": credits,
            "net_overdue_cents": net,
            "oldest_days_overdue": [1] * size,
            "open_items": [1] * size,
            "overdue_items": [1] * size,
            "score": [1.5] * size,
            "why": ["x"] * size,
            "next_action": ["Call"] * size,
            "action_date": [date(2026, 1, 5)] * size,
            "owner": ["Ana"] * size,
            "contact": [None] * size,
            "phone": [None] * size,
            "email": [None] * size,
            "credit_hold": [False] * size,
        }
    )
    rows = _plan_rows(plan, ["Notice"] * size)
    for row, a, c, n in zip(rows, overdue, credits, net, strict=True):
        cells = row[4:7]
        assert cells == (Decimal(a).scaleb(-2), Decimal(c).scaleb(-2), Decimal(n).scaleb(-2))
        assert [str(cell) for cell in cells] == [str(Decimal(v).scaleb(-2)) for v in (a, c, n)]


# ---- the ledger's columns, taken from the rows ------------------------------------------

CELLS = st.one_of(st.none(), st.just(""), st.text(max_size=3), st.floats(allow_nan=False))


@settings(max_examples=80)
@given(
    width=st.integers(1, 6),
    data=st.data(),
    read=st.lists(st.integers(1, 6), unique=True, min_size=1, max_size=6),
    ragged=st.booleans(),
)
def test_table_columns_are_the_cells_of_each_row(width, data, read, ragged):
    rows = data.draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), max_size=20))
    if ragged and rows:
        rows[0] = rows[0][:-1]  # one row shorter: cells beyond it are None
    names = ["customer", "invoice", "balance", "notes", "owner", "region"][: len(read)]
    fields = dict(zip(names, read, strict=True))
    location = TableLocation(1, fields, {c: f"H{c}" for c in range(1, width + 1)}, {}, 1.0)
    table = _Table("Ledger", location, dict(fields), rows, False)
    for column in [*read, *range(1, width + 2), *read]:  # some columns twice
        assert table.column_cells(column) == [
            row[column - 1] if column <= len(row) else None for row in rows
        ]
    for name in fields:
        assert table.raw(name) == [
            row[fields[name] - 1] if fields[name] <= len(row) else None for row in rows
        ]


@settings(max_examples=80)
@given(texts=st.lists(st.one_of(st.none(), st.sampled_from(["a", "", " b", "Ñ"])), max_size=30))
def test_repeated_texts_are_the_column_as_a_list(texts):
    for dtype in {TEXT_DTYPE or object, object}:
        column = pd.Series(texts, dtype=dtype)
        found, plain = _repeated_texts(column), column.tolist()
        assert len(found) == len(plain)
        for value, expected in zip(found, plain, strict=True):
            assert type(value) is type(expected)
            assert value == expected or (value != value and expected != expected)  # NaN


@settings(max_examples=80)
@given(
    texts=st.lists(st.one_of(st.none(), st.sampled_from(["Ana", "", "  ", " Ben "])), max_size=30)
)
def test_cell_texts_are_each_value_as_a_cell_shows_it(texts):
    for dtype in {TEXT_DTYPE or object, object}:
        column = pd.Series(texts, dtype=dtype)
        assert _cell_texts(column) == [_text(value) for value in column.tolist()]


# ---- classify leaves its input as it was -----------------------------------------------


def test_classify_leaves_the_ledger_frame_as_it_was():
    grid = SheetGrid(
        "Ledger",
        [
            ["Customer", "Invoice", "Due Date", "Balance", "Disputed"],
            ["Acme", "I-1", date(2026, 1, 5), 120.5, "no"],
            ["Borde", "I-2", date(2026, 9, 1), -10.0, "yes"],
            ["Cielo", "I-3", date(2026, 12, 1), 0.0, ""],
        ],
    )
    location = locate_table(grid, header_matcher(RULES), RULES)
    ledger = build_ledger(grid, RULES, location, header_matcher(RULES))
    before = ledger.frame.copy()
    classified = classify(ledger.frame, RULES, date(2026, 10, 31)).frame
    pd.testing.assert_frame_equal(ledger.frame, before)
    # Classifying the classified frame again (its columns replaced) changes neither.
    again = classify(classified, RULES, date(2027, 3, 1)).frame
    pd.testing.assert_frame_equal(ledger.frame, before)
    assert classified[F.DAYS_OVERDUE].tolist() != again[F.DAYS_OVERDUE].tolist()
    assert classified[F.DAYS_OVERDUE].tolist() == [299, 60, -31]
