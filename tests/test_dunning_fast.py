"""The shortcuts a big ledger takes give exactly what the long way gives: the decisions
of the customers without history, worked out for all of them at once, are those of the
one-by-one rule; a plan rescheduled after a run's letters is the plan built again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.core import dunning as D
from receivables.core.plan import build_plan, follow_decisions, plan_settings
from receivables.core.rules import load_rules

from letters_support import AS_OF, classified_frame, item

CUSTOMERS = ("Acme", "Bolt", "Crane")
# Invoice numbers that collide once case and spaces are ignored, and missing ones (an
# item is then named by its due date, which two items may share).
INVOICES = ("I-1", "I-2", "i-1", "I-1 ", "I  2", None)

records = st.lists(
    st.tuples(
        st.sampled_from(CUSTOMERS),
        st.sampled_from(("EUR", "USD")),
        st.integers(min_value=-20, max_value=900),  # days overdue (negative: not yet due)
        st.sampled_from((-300.0, -20.0, 5.0, 80.0, 1200.0)),  # credits are negative
        st.sampled_from(INVOICES),
        st.booleans(),  # a postal address on the row
    ),
    min_size=1,
    max_size=12,
)

dunning_settings = st.fixed_dictionaries(
    {
        "allow_skip": st.booleans(),
        "net_credits": st.booleans(),
        "min_interval_days": st.sampled_from((0, 14)),
        "repeat_interval_days": st.sampled_from((0, 30)),
        "min_amount": st.sampled_from(({}, {"EUR": "100"})),
        "blocks": st.sampled_from(([], [{"customer": "bolt", "reason": "disputed"}])),
    }
)


def ledger(rows):
    return [
        item(
            customer,
            days,
            balance,
            currency=currency,
            invoice=invoice,
            address="1 Long Road" if addressed else None,
        )
        for customer, currency, days, balance, invoice, addressed in rows
    ]


def _notice_sent(rules, reference, days_ago, customer, currency, items):
    """A notice sent ``days_ago`` before AS_OF, as the dunning history records it."""
    return D.SentLetter(
        reference=reference,
        date=AS_OF - timedelta(days=days_ago),
        customer=customer,
        currency=currency,
        level="notice",
        items=items,
        template=rules.stage("notice").letter,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, dunning=dunning_settings, with_history=st.booleans())
def test_property_all_at_once_equals_one_by_one(rows, dunning, with_history):
    rules, issues = load_rules({"dunning": dunning})
    assert issues == []
    frame = classified_frame(ledger(rows), rules, AS_OF)
    history = []
    if with_history:
        history = [_notice_sent(rules, "R-1", 20, "Acme", "EUR", (("I-1", "notice"),))]
    settings_, _issues = D.parse_dunning(rules)
    together = D._decisions(frame, rules, AS_OF, history, settings_)
    one_by_one = D._decisions(frame, rules, AS_OF, history, settings_, fast=False)
    assert list(together) == list(one_by_one)
    assert together == one_by_one


def test_a_big_ledger_without_history_is_decided_all_at_once_like_one_by_one():
    rules = load_rules()[0]
    rows = [
        item(
            f"Customer {n % 40}",
            (n * 37) % 700 - 30,
            50.0 + n,
            currency=("EUR", "USD")[n % 2],
            invoice=f"INV-{n}",
        )
        for n in range(400)
    ]
    frame = classified_frame(rows, rules, AS_OF)
    settings_, _issues = D.parse_dunning(rules)
    together = D._decisions(frame, rules, AS_OF, (), settings_)
    assert {decision.action for decision in together.values()} >= {D.SEND}
    assert together == D._decisions(frame, rules, AS_OF, (), settings_, fast=False)


def test_a_plan_rescheduled_after_letters_is_the_plan_built_again():
    # Two tasks a day per owner: the letters' follow-ups and the other tasks share days.
    rules, issues = load_rules({"plan": {"capacity_per_day": 2}})
    assert issues == []
    rows = [
        item(
            f"Customer {n % 9}",
            (n * 53) % 400 - 10,
            100.0 + 7 * n,
            currency=("EUR", "USD")[n % 2],
            invoice=f"INV-{n}",
            owner=("Ana", "Ben")[n % 3 == 0],
            address=None if n % 9 == 4 else "1 Long Road",
        )
        for n in range(60)
    ]
    frame = classified_frame(rows, rules, AS_OF)
    history = [_notice_sent(rules, "R-0", 30, "Customer 1", "USD", None)]
    settings_ = plan_settings(rules)[0]
    decisions = D.decide(frame, rules, AS_OF, history)
    plan, _issues = build_plan(frame, rules, AS_OF, settings_, decisions=decisions)
    written = [
        replace(decision.letter, reference=f"L-{n}")
        for n, decision in enumerate(decisions.values())
        if decision.letter is not None
    ]
    assert written
    after = D.after_letters(decisions, written)
    rebuilt, _issues = build_plan(frame, rules, AS_OF, settings_, decisions=after)
    rescheduled = follow_decisions(plan, rules, AS_OF, settings_, after)
    assert list(rescheduled.dtypes) == list(rebuilt.dtypes)
    assert rescheduled.to_dict("records") == rebuilt.to_dict("records")
    # The letters moved Next Actions and Action Dates on: the test is not vacuous.
    assert rescheduled["next_action"].tolist() != plan["next_action"].tolist()
    assert rescheduled["action_date"].tolist() != plan["action_date"].tolist()
