"""The priority plan: score properties, action dates, capacity, explanations (design §5)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.core import frame as F
from receivables.core.classify import classify, customer_summary
from receivables.core.plan import build_plan, plan_settings, schedule
from receivables.core.quality import quality_issues
from receivables.core.rules import load_rules
from receivables.core.workdays import is_working_day

AS_OF = date(2026, 10, 30)  # a Friday: the next working day question matters
RULES, _ = load_rules()
SETTINGS, _ = plan_settings(RULES)


def ledger(items):
    """items: (customer, days overdue, balance in units, extra columns dict)."""
    rows = []
    for index, item in enumerate(items):
        customer, days, balance, *extra = item
        row = {
            F.ROW: index + 2,
            "customer": customer,
            "currency": "EUR",
            "due_date": pd.Timestamp(AS_OF - timedelta(days=days)),
            F.BALANCE: int(round(balance * 100)),
            "disputed": False,
            "promise_date": pd.NaT,
            "stage_override": None,
            "owner": None,
            "contact": "Pat",
            "email": "p@example.com",
            "address": "1 Road",
            "distance_km": None,
            "region": None,
            "phone": None,
            "invoice": f"I{index}",
            "invoice_date": pd.Timestamp(AS_OF - timedelta(days=days + 30)),
        }
        if extra:
            row.update(extra[0])
        rows.append(row)
    return pd.DataFrame(rows)


def plan_of(items, rules=RULES, as_of=AS_OF):
    classified = classify(ledger(items), rules, as_of).frame
    plan, _issues = build_plan(classified, rules, as_of, plan_settings(rules)[0])
    return plan.set_index("customer")


@settings(max_examples=40, deadline=None)
@given(young=st.integers(1, 2000), gap=st.integers(1, 1500), amount=st.integers(100, 10**6))
def test_older_beats_younger_at_equal_amount(young, gap, amount):
    plan = plan_of([("Young", young, amount), ("Old", young + gap, amount)])
    assert plan.loc["Old", "score"] >= plan.loc["Young", "score"]


@settings(max_examples=40, deadline=None)
@given(days=st.integers(1, 1000), small=st.integers(100, 10**6), factor=st.integers(2, 50))
def test_larger_beats_smaller_at_equal_age(days, small, factor):
    plan = plan_of([("Small", days, small), ("Large", days, small * factor)])
    assert plan.loc["Large", "score"] >= plan.loc["Small", "score"]
    assert plan.loc["Large", "rank"] < plan.loc["Small", "rank"]


def test_broken_promise_raises_priority():
    broken = {"promise_date": pd.Timestamp(AS_OF - timedelta(days=4))}
    plan = plan_of([("Kept", 60, 5000), ("Broken", 60, 5000, broken)])
    assert plan.loc["Broken", "score"] > plan.loc["Kept", "score"]
    assert "broken promise on 26 Oct 2026" in plan.loc["Broken", "why"]


def test_distance_lowers_priority_and_is_explained():
    far = {"distance_km": 1200.0}
    plan = plan_of([("Near", 60, 5000), ("Far", 60, 5000, far)])
    assert plan.loc["Far", "score"] < plan.loc["Near", "score"]
    assert "1,200 km away" in plan.loc["Far", "why"]


def test_plan_lists_exactly_customers_with_overdue_amounts():
    items = [
        ("A", 40, 100),
        ("A", -3, 100),
        ("B", -10, 500),
        ("C", 0, 50),
        ("D", 5, 70, {"disputed": True}),
        ("E", 200, 10),
    ]
    plan = plan_of(items)
    assert set(plan.index) == {"A", "E"}
    assert plan.loc["A", "overdue_cents"] == 10000
    assert list(plan.sort_values("rank")["score"]) == sorted(plan["score"], reverse=True)
    assert (plan["why"].str.len() > 0).all()


def test_action_dates_are_working_days_and_respect_capacity():
    rules, issues = load_rules({"plan": {"capacity_per_day": 3}, "general": {"country": "ES"}})
    assert not issues
    items = [
        (f"C{i:02d}", 40 + i, 1000 + i, {"owner": "Ana" if i % 2 else "Ben"}) for i in range(20)
    ]
    plan = plan_of(items, rules)
    assert (plan["action_date"] >= AS_OF).all()
    assert all(is_working_day(day, "ES") for day in plan["action_date"])
    per_day = plan.groupby(["owner", "action_date"]).size()
    assert per_day.max() <= 3
    # Higher ranks never get a later date than lower ranks of the same owner.
    for _owner, group in plan.sort_values("rank").groupby("owner"):
        assert list(group["action_date"]) == sorted(group["action_date"])


def test_schedule_skips_holidays():
    # 2026-12-25 (Friday) is a holiday in Spain: tasks go to Monday the 28th.
    days = schedule(["A", "A"], date(2026, 12, 25), "ES", 1)
    assert days == [date(2026, 12, 28), date(2026, 12, 29)]


@settings(max_examples=60, deadline=None)
@given(
    tasks=st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(min_value=-3, max_value=20)),
        max_size=80,
    ),
    capacity=st.integers(min_value=1, max_value=4),
)
def test_schedule_books_each_task_on_the_first_day_its_owner_has_room(tasks, capacity):
    # The scheduler resumes its searches where the last one stopped; the dates must be
    # those of the plain search, task by task, from the task's own first day.
    from receivables.core.workdays import next_working_day

    start = date(2026, 10, 30)
    owners = [owner for owner, _days in tasks]
    earliest = [start + timedelta(days=days) for _owner, days in tasks]
    found = schedule(owners, start, "ES", capacity, earliest=earliest)
    load: dict = {}
    first = next_working_day(start, "ES")
    cursor: dict = {}
    for (owner, _days), first_possible, day in zip(tasks, earliest, found, strict=True):
        if first_possible > start:
            expected = next_working_day(first_possible, "ES")
        else:
            expected = cursor.get(owner, first)
        while load.get((owner, expected), 0) >= capacity:
            expected = next_working_day(expected + timedelta(days=1), "ES")
        if first_possible <= start:
            cursor[owner] = expected
        load[(owner, expected)] = load.get((owner, expected), 0) + 1
        assert day == expected


def test_scores_compare_across_currencies_with_rates():
    items = ledger([("Forint Kft", 60, 1_000_000), ("Euro SL", 60, 10_000)])
    items.loc[0, "currency"] = "HUF"
    classified = classify(items, RULES, AS_OF).frame
    plan, issues = build_plan(classified, RULES, AS_OF, SETTINGS)
    ranked = list(plan.sort_values("rank")["customer"])
    # 1,000,000 HUF is about EUR 2,600: less at risk than EUR 10,000.
    assert ranked == ["Euro SL", "Forint Kft"] and not issues


def test_missing_rate_is_reported():
    items = ledger([("Zloty", 60, 1000)])
    items.loc[0, "currency"] = "PLN"
    classified = classify(items, RULES, AS_OF).frame
    _plan, issues = build_plan(classified, RULES, AS_OF, SETTINGS)
    assert issues and "PLN" in issues[0].message


def test_quality_findings():
    items = ledger(
        [
            ("NoAddress", 45, 100, {"address": None, "email": None}),
            ("Dup", 45, 100, {"invoice": "X1"}),
            ("Dup", 45, 100, {"invoice": "X1"}),
            ("Odd", 10, 100, {"invoice_date": pd.Timestamp(AS_OF + timedelta(days=5))}),
            ("Creditor", 45, 100),
            ("Creditor", 10, -30),
        ]
    )
    classified = classify(items, RULES, AS_OF).frame
    customers = customer_summary(classified, RULES)
    found = quality_issues(
        classified, customers, RULES, "Ledger", {"customer": 1, "invoice": 2, "due_date": 4}
    )
    text = " | ".join(str(i) for i in found)
    assert "NoAddress (EUR): a reminder is due but the customer has no postal address" in text
    assert "invoice X1 appears more than once (rows 3, 4)" in text
    assert "Ledger!D5: due date is before the invoice date" in text
    assert "Creditor has credits of EUR 30.00 that offset EUR 100.00" in text


@pytest.mark.parametrize(
    "bad", [{"capacity_per_day": 0}, {"recovery_curve": [[0, 2.0]]}, {"horizon_days": "x"}]
)
def test_bad_plan_settings_are_reported(bad):
    rules, issues = load_rules({"plan": bad})
    settings_, _ = plan_settings(rules)
    assert issues
    assert settings_ == plan_settings(load_rules()[0])[0], "the packaged values stay"
    assert settings_.capacity_per_day >= 1
    assert np.all(np.array([p for _d, p in settings_.recovery_curve]) <= 1)


def test_dso_from_one_snapshot():
    from receivables.core.outputs import dso

    items = ledger([("A", 10, 600), ("B", 200, 400)])
    items[F.AMOUNT] = [900 * 100, 400 * 100]
    # Invoiced in the last 90 days: only A's invoice (40 days ago), EUR 900.
    # Open balance EUR 1,000 -> 1000 / 900 x 90 = 100.0 days.
    assert str(dso(items, AS_OF)) == "100.0"
    assert dso(items.iloc[1:], AS_OF) is None


# ---- plan truths -------------------------------------------------------------------------


def test_open_items_counts_every_open_item_and_overdue_items_the_late_ones():
    plan = plan_of([("A", 40, 100), ("A", -3, 100), ("A", -20, 100), ("A", 10, 50)])
    assert plan.loc["A", "open_items"] == 4
    assert plan.loc["A", "overdue_items"] == 2


def test_a_paid_row_alone_is_no_evidence_of_paying_on_time():
    # A paid item (balance 0) and a late one: nothing says when the paid one was paid.
    plan = plan_of([("A", 200, 0), ("A", 60, 5000), ("B", 60, 5000)])
    assert "pays on time" not in plan.loc["A", "why"]
    assert plan.loc["A", "score"] == plan.loc["B", "score"]


def test_paid_on_time_from_payment_dates_is_a_warning_sign():
    on_time = {"paid_date": pd.Timestamp(AS_OF - timedelta(days=205))}  # due 200 days ago
    late = {"paid_date": pd.Timestamp(AS_OF - timedelta(days=150))}
    plan = plan_of(
        [
            ("Punctual", 200, 0, on_time),
            ("Punctual", 60, 5000),
            ("Slow", 200, 0, late),
            ("Slow", 60, 5000),
        ]
    )
    assert "usually pays on time, now late" in plan.loc["Punctual", "why"]
    assert "pays on time" not in plan.loc["Slow", "why"]
    assert plan.loc["Punctual", "score"] > plan.loc["Slow", "score"]


def test_a_stage_override_is_named_in_why():
    plan = plan_of([("A", 10, 500, {"stage_override": "Legal action"}), ("B", 10, 500)])
    assert plan.loc["A", "stage"] == "legal"
    assert "Stage Override" in plan.loc["A", "why"] and "Legal action" in plan.loc["A", "why"]
    assert "Stage Override" not in plan.loc["B", "why"]


def test_pre_due_reminders_are_dated_on_or_before_the_due_date():
    from receivables.core.outputs import calendar_tasks

    # One owner, capacity 2 a day, ten overdue customers fill the first five working
    # days; items due in three days must still be reminded before they fall due.
    rules, _ = load_rules({"plan": {"capacity_per_day": 2}})
    settings_, _ = plan_settings(rules)
    items = [(f"Late {i}", 40 + i, 1000, {"owner": "Ana"}) for i in range(10)]
    items += [(f"Soon {i}", -3, 500, {"owner": "Ana"}) for i in range(3)]
    classified = classify(ledger(items), rules, AS_OF).frame
    plan, _ = build_plan(classified, rules, AS_OF, settings_)
    tasks = calendar_tasks(plan, classified, rules, AS_OF, settings_)
    due = AS_OF + timedelta(days=3)
    reminders = [task for task in tasks if task[2].startswith("Soon")]
    assert len(reminders) == 3
    assert all(task[0] <= due for task in reminders)
    assert all(task[0] >= AS_OF for task in reminders)


def test_no_cell_of_the_plan_sheets_says_none():
    from receivables.core.outputs import calendar_model, calendar_tasks, plan_model

    items = [("A", 40, 100, {"contact": None, "email": None}), ("B", -20, 100)]
    classified = classify(ledger(items), RULES, AS_OF).frame
    plan, _ = build_plan(classified, RULES, AS_OF, SETTINGS)
    tasks = calendar_tasks(plan, classified, RULES, AS_OF, SETTINGS)
    for model in (plan_model(plan, RULES, AS_OF), calendar_model(tasks, RULES, AS_OF)):
        for row in model.rows:
            assert not any(
                isinstance(v, str) and v.strip().casefold() in ("none", "nan") for v in row
            ), row
