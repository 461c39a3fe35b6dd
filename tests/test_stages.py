"""The stage ladder, the overriding states and the customer roll-up (design.md §4)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.core import frame as F
from receivables.core.classify import classify, customer_summary
from receivables.core.rules import load_rules

AS_OF = date(2026, 10, 31)
RULES, _ = load_rules()
LADDER_KEYS = [s.key for s in RULES.stages]


def frame(days, balances=None, **columns):
    """A minimal canonical ledger frame with items due ``days`` days before AS_OF."""
    count = len(days)
    data = {
        F.ROW: np.arange(2, 2 + count),
        "customer": columns.pop("customer", [f"C{i % 3}" for i in range(count)]),
        "currency": columns.pop("currency", ["EUR"] * count),
        "due_date": pd.to_datetime([AS_OF - timedelta(days=int(d)) for d in days]),
        F.BALANCE: np.array(balances if balances is not None else [10000] * count, dtype=np.int64),
        "disputed": columns.pop("disputed", [False] * count),
        "promise_date": columns.pop("promise_date", pd.Series([pd.NaT] * count)),
        "stage_override": columns.pop("stage_override", [None] * count),
    }
    data.update(columns)
    return pd.DataFrame(data)


@pytest.mark.parametrize(
    "days, label",
    [
        (-8, "Not due"),
        (-7, "Due soon"),
        (-1, "Due soon"),
        (0, "Reminder"),
        (7, "Reminder"),
        (8, "Written notice"),
        (30, "Written notice"),
        (31, "Formal demand"),
        (60, "Formal demand"),
        (61, "Final notice"),
        (90, "Final notice"),
        (91, "Legal action"),
        (365, "Legal action"),
        (366, "Doubtful debt"),
        (730, "Doubtful debt"),
        (731, "Dead account"),
    ],
)
def test_ladder_boundaries(days, label):
    result = classify(frame([days]), RULES, AS_OF).frame
    assert result[F.STAGE_LABEL].iat[0] == label
    assert result[F.DAYS_OVERDUE].iat[0] == days


@pytest.mark.parametrize(
    "days, bucket",
    [
        (-3, "Not due"),
        (0, "Not due"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (61, "61-90"),
        (91, "91-180"),
        (181, "181-365"),
        (366, "366-730"),
        (731, ">730"),
    ],
)
def test_aging_buckets(days, bucket):
    assert classify(frame([days]), RULES, AS_OF).frame[F.BUCKET].iat[0] == bucket


def test_override_order():
    """paid > credit > override > disputed > promised, on items 100 days overdue."""
    promise_future = pd.Timestamp(AS_OF + timedelta(days=3))
    ledger = frame(
        [100] * 6,
        balances=[0, -500, 100, 100, 100, 100],
        disputed=[True, True, True, True, False, False],
        promise_date=pd.Series([promise_future] * 6),
        stage_override=["legal", "legal", "Written notice", None, None, "nonsense"],
    )
    result = classify(ledger, RULES, AS_OF)
    assert list(result.frame[F.STAGE]) == [
        "paid",
        "credit",
        "notice",
        "disputed",
        "promised",
        "promised",
    ]
    assert len(result.issues) == 1 and "nonsense" in result.issues[0].message


def test_paid_tolerance_and_broken_promise():
    past = pd.Timestamp(AS_OF - timedelta(days=1))
    ledger = frame([40, 40, 40], balances=[0, 1, 500], promise_date=pd.Series([past, pd.NaT, past]))
    result = classify(ledger, RULES, AS_OF).frame
    assert list(result[F.STAGE]) == ["paid", "demand", "demand"]
    assert list(result[F.BROKEN_PROMISE]) == [False, False, True]


def test_customer_stage_ignores_disputed_and_promised():
    ledger = frame([400, 40, 10], customer=["A", "A", "A"], disputed=[True, False, False])
    summary = customer_summary(classify(ledger, RULES, AS_OF).frame, RULES)
    assert summary["stage"].iat[0] == "demand"
    assert summary["overdue_cents"].iat[0] == 20000


def test_rules_change_the_ladder():
    rules, issues = load_rules(
        {"stages": [{"key": "ok", "label": "OK"}, {"key": "late", "label": "Late", "from_days": 1}]}
    )
    assert not issues
    result = classify(frame([0, 1]), rules, AS_OF).frame
    assert list(result[F.STAGE_LABEL]) == ["OK", "Late"]


def test_bad_ladder_is_reported_and_defaults_kept():
    rules, issues = load_rules({"stages": [{"key": "a"}, {"key": "b", "from_days": "x"}]})
    assert issues and [s.key for s in rules.stages] == LADDER_KEYS


days_lists = st.lists(st.integers(min_value=-2000, max_value=5000), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(days=days_lists, data=st.data())
def test_every_row_gets_exactly_one_stage(days, data):
    balances = data.draw(
        st.lists(st.integers(-(10**7), 10**9), min_size=len(days), max_size=len(days))
    )
    result = classify(frame(days, balances), RULES, AS_OF).frame
    known = {s.key for s in RULES.all_stages}
    assert result[F.STAGE].isin(known).all()
    assert len(result) == len(days)


@settings(max_examples=60, deadline=None)
@given(first=st.integers(-2000, 5000), extra=st.integers(0, 3000))
def test_severity_never_falls_as_days_grow(first, extra):
    result = classify(frame([first, first + extra]), RULES, AS_OF).frame
    severity = [LADDER_KEYS.index(k) for k in result[F.STAGE]]
    assert severity[0] <= severity[1]


@settings(max_examples=60, deadline=None)
@given(days=days_lists, data=st.data())
def test_customer_overdue_sums_equal_item_sums(days, data):
    balances = data.draw(
        st.lists(st.integers(-(10**6), 10**8), min_size=len(days), max_size=len(days))
    )
    customers = data.draw(
        st.lists(st.sampled_from(["A", "B", "C"]), min_size=len(days), max_size=len(days))
    )
    result = classify(frame(days, balances, customer=customers), RULES, AS_OF).frame
    summary = customer_summary(result, RULES)
    assert summary["overdue_cents"].sum() == result.loc[result[F.COUNTS_OVERDUE], F.BALANCE].sum()
    assert summary["outstanding_cents"].sum() == result[F.BALANCE].sum()
    for record in summary.itertuples():
        items = result[(result["customer"] == record.customer) & result[F.COUNTS_OVERDUE]]
        assert record.overdue_cents == items[F.BALANCE].sum()


def test_unknown_country_is_reported():
    rules, issues = load_rules({"general": {"country": "XX"}})
    assert rules.country == "XX"
    assert any("general.country 'XX'" in issue.message for issue in issues)
    assert not load_rules({"general": {"country": "hu"}})[1]
