"""Dunning history and escalation (design.md §11): the pure decisions, and the regressions
of issue #11, each on a small inline ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.core import dunning as D
from receivables.core import letters as core
from receivables.core.classify import customer_summary
from receivables.core.plan import build_plan, plan_settings
from receivables.core.rules import load_rules

from letters_support import AS_OF, classified_frame, docx_text, item

RULES = load_rules()[0]


def rules_with(**dunning):
    """The default rules with ``[dunning]`` settings changed."""
    rules, issues = load_rules({"dunning": dunning})
    assert issues == []
    return rules


def sent(customer, level, day, invoices, reference=None, status="sent", currency="EUR"):
    """A history letter taking ``invoices`` to ``level`` (a stage key) on ``day``."""
    template = RULES.stage(level).letter
    return D.SentLetter(
        reference=reference or f"R-{customer[:3]}-{day:%m%d}",
        date=day,
        customer=customer,
        currency=currency,
        level=level,
        items=tuple((invoice, level) for invoice in invoices),
        template=template,
        status=status,
    )


def decide(records, history=(), rules=RULES, as_of=AS_OF):
    frame = classified_frame(records, rules, as_of)
    return D.decide(frame, rules, as_of, history)


def one(records, history=(), rules=RULES, as_of=AS_OF):
    decisions = decide(records, history, rules, as_of)
    assert len(decisions) == 1
    return next(iter(decisions.values()))


def jobs(records, history=(), rules=RULES, as_of=AS_OF):
    frame = classified_frame(records, rules, as_of)
    return core.letter_jobs(frame, rules, as_of, history=history)


# ---- escalation ----------------------------------------------------------------------------


def test_a_first_letter_is_the_first_level_however_old_the_debt():
    # Regression: a customer's first ever letter was the legal demand.
    decision = one([item("Old Co", 200, 900.0)])
    assert decision.action == D.SEND and decision.level.template == "reminder"
    assert decision.previous is None
    [job], _ = jobs([item("Old Co", 200, 900.0)])
    assert job.context["previous_letter"] == "" and job.stage == "notice"


def test_one_level_up_per_letter_after_the_interval():
    invoice = item("Acme", 100, 500.0)
    first = sent("Acme", "notice", AS_OF - timedelta(days=7), [invoice["invoice"]])
    waiting = one([invoice], [first])
    assert waiting.action == D.WAIT and waiting.level.stage == "demand"
    assert waiting.due == first.date + timedelta(days=14)
    assert D.next_action(waiting, "x") == (
        f"reminder sent {first.date.isoformat()}; formal demand due {waiting.due.isoformat()}"
    )
    later = one([invoice], [first], as_of=AS_OF + timedelta(days=7))
    assert later.action == D.SEND and later.level.stage == "demand"
    assert later.previous == first and later.items == ((invoice["invoice"], "demand"),)


def test_the_next_level_waits_for_the_days_overdue():
    invoice = item("Acme", 20, 500.0)  # notice by days
    first = sent("Acme", "notice", AS_OF - timedelta(days=30), [invoice["invoice"]])
    decision = one([invoice], [first])
    assert decision.action == D.WAIT and decision.level.stage == "demand"
    assert decision.due == AS_OF + timedelta(days=31 - 20)  # the day it is 31 days late


def test_the_same_level_is_never_sent_twice_unless_a_repeat_interval_is_set():
    invoice = item("Acme", 200, 500.0)
    last = sent("Acme", "legal", AS_OF - timedelta(days=40), [invoice["invoice"]])
    assert one([invoice], [last]).action == D.DONE
    repeat = rules_with(repeat_interval_days=30)
    again = one([invoice], [last], rules=repeat)
    assert again.action == D.SEND and again.level.stage == "legal"
    soon = rules_with(repeat_interval_days=60)
    assert one([invoice], [last], rules=soon).action == D.WAIT


def test_allow_skip_jumps_to_the_level_by_days():
    decision = one([item("Old Co", 200, 900.0)], rules=rules_with(allow_skip=True))
    assert decision.action == D.SEND and decision.level.stage == "legal"


def test_items_after_the_last_letter_start_at_the_first_level():
    old = item("Acme", 200, 500.0, invoice="A-1")
    new = item("Acme", 20, 80.0, invoice="B-2")
    legal = sent("Acme", "legal", AS_OF - timedelta(days=30), ["A-1"])
    decision = one([old, new], [legal])
    assert decision.action == D.SEND and decision.level.stage == "notice"
    assert decision.items == (("B-2", "notice"),)
    # The letter lists the whole claim and cites the letter still open on A-1.
    [job], _ = jobs([old, new], [legal])
    assert job.overdue_cents == 58000 and job.previous == legal
    assert D.format_items(job.recorded, job.stage) == "B-2"


def test_mixed_levels_in_one_letter_are_recorded_per_item():
    a = item("Acme", 70, 500.0, invoice="A-1")
    b = item("Acme", 40, 80.0, invoice="B-2")
    demand = sent("Acme", "demand", AS_OF - timedelta(days=20), ["A-1"])
    decision = one([a, b], [demand])
    assert decision.level.stage == "final"
    assert dict(decision.items) == {"A-1": "final", "B-2": "notice"}
    assert D.format_items(decision.items, "final") == "A-1, B-2 (notice)"
    parsed = D.parse_items("A-1, B-2 (notice)", decision.level, RULES, D.letter_levels(RULES))
    assert parsed == decision.items


def test_a_dead_account_still_gets_the_letter_due_for_its_young_items():
    # Regression: the customer's stage (Dead account) has no letter, so none was written.
    records = [item("Mixed Co", 800, 100.0), item("Mixed Co", 40, 250.0)]
    assert customer_summary(classified_frame(records, RULES), RULES)["stage"].item() == "dead"
    [job], _ = jobs(records)
    assert job.template == "reminder" and job.overdue_cents == 35000


def test_an_old_log_without_invoices_covers_what_was_overdue_then():
    invoice = item("Acme", 100, 500.0)
    letter = replace(sent("Acme", "notice", AS_OF - timedelta(days=20), []), items=None)
    decision = one([invoice], [letter])
    assert decision.level.stage == "demand" and decision.previous == letter
    fresh = item("Acme", 10, 50.0)  # fell due after that letter: not covered
    assert one([fresh], [letter]).level.stage == "notice"


# ---- history read back ---------------------------------------------------------------------


def test_log_rows_become_history_with_statuses_and_levels():
    rows = [
        {
            "Reference": "R1",
            "Date": date(2026, 3, 1),
            "Customer": "Acme",
            "Currency": "eur",
            "Stage": "Written notice",
            "Template": "reminder",
            "Invoices": "A-1, B-2 (notice)",
            "Status": "",
        },
        {
            "Reference": "R2",
            "Date": "2026-03-15",
            "Customer": "Acme",
            "Currency": "EUR",
            "Stage": "Formal demand",
            "Template": "",
            "Invoices": "A-1",
            "Status": "Cancelled",
        },
        {
            "Reference": "R3",
            "Date": "15.03.2026",
            "Customer": "Beta",
            "Stage": "demand",
            "Status": "posted",
        },
        {"Reference": "R4", "Date": None, "Customer": "Gamma", "Template": "reminder"},
    ]
    letters, issues = D.history_from_rows(rows, RULES)
    assert [(x.reference, x.level, x.status, x.currency) for x in letters] == [
        ("R1", "notice", "sent", "EUR"),
        ("R2", "demand", "cancelled", "EUR"),
        ("R3", "demand", "sent", "EUR"),
    ]
    assert letters[0].items == (("A-1", "notice"), ("B-2", "notice"))
    assert letters[2].items is None and letters[2].date == date(2026, 3, 15)
    assert len(issues) == 2  # the unknown status, the row without a date
    assert "posted" in issues[0].message and issues[1].where.row == 5


def test_a_cancelled_letter_is_as_if_never_sent():
    invoice = item("Acme", 100, 500.0)
    first = sent("Acme", "notice", AS_OF - timedelta(days=30), [invoice["invoice"]])
    second = sent(
        "Acme", "demand", AS_OF - timedelta(days=3), [invoice["invoice"]], status="cancelled"
    )
    assert one([invoice], [first, second]) == one([invoice], [first])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=4),
    letters=st.lists(
        st.tuples(
            st.sampled_from(["notice", "demand", "final", "legal"]),
            st.integers(min_value=1, max_value=120),
            st.sampled_from(["cancelled", "Cancelled", "failed: 550"]),
        ),
        max_size=4,
    ),
    kept=st.lists(
        st.tuples(
            st.sampled_from(["notice", "demand", "final", "legal"]),
            st.integers(min_value=1, max_value=120),
        ),
        max_size=3,
    ),
)
def test_property_cancelled_letters_change_nothing(days, letters, kept):
    records = [item("Acme", d, 100.0 + i, invoice=f"I-{i}") for i, d in enumerate(days)]
    invoices = [r["invoice"] for r in records]
    real = [
        sent("Acme", level, AS_OF - timedelta(days=back), invoices, f"K{n}")
        for n, (level, back) in enumerate(kept)
    ]
    void = [
        sent("Acme", level, AS_OF - timedelta(days=back), invoices, f"V{n}", status)
        for n, (level, back, status) in enumerate(letters)
    ]
    assert decide(records, real + void) == decide(records, real)


# ---- netting, minimum, blocks ----------------------------------------------------------------


def test_a_credit_note_that_covers_the_debt_means_no_letter():
    # Regression: a EUR 500 debt with a -500 credit note got a legal demand for 553.90.
    records = [item("Net Co", 120, 500.0), item("Net Co", 10, -500.0, invoice="CN-1")]
    decision = one(records)
    assert decision.action == D.BELOW_MINIMUM and decision.net_cents == 0
    assert jobs(records)[0] == []
    plan, _ = build_plan(
        classified_frame(records, RULES),
        RULES,
        AS_OF,
        plan_settings(RULES)[0],
        decisions=decide(records),
    )
    row = plan.iloc[0]
    assert (row.overdue_cents, row.credits_cents, row.net_overdue_cents) == (50000, 50000, 0)
    assert row.next_action.startswith("No letter: net claim EUR 0.00 after EUR 500.00 credits")


def test_a_balance_below_the_minimum_gets_no_letter():
    # Regression: a EUR 0.50 balance got a reminder claiming EUR 40.50.
    assert one([item("Tiny Co", 40, 0.50)]).action == D.BELOW_MINIMUM
    assert one([item("Ten Co", 40, 10.00)]).action == D.BELOW_MINIMUM  # at the minimum
    assert one([item("Ten Co", 40, 10.01)]).action == D.SEND
    assert one([item("Tiny Co", 40, 0.50)], rules=rules_with(min_amount={"EUR": "0"})).sends


def test_credits_offset_oldest_items_first_and_interest_runs_on_the_rest():
    records = [
        item("Part Co", 60, 300.0, invoice="OLD"),
        item("Part Co", 40, 200.0, invoice="NEW"),
        item("Part Co", 5, -350.0, invoice="CN"),
    ]
    [job], _ = jobs(records, rules=rules_with(allow_skip=True))
    assert (job.overdue_cents, job.credits_cents, job.net_cents) == (50000, 35000, 15000)
    old, new = job.items
    assert (old.credited_cents, new.credited_cents) == (30000, 5000)
    assert old.interest.cents == 0 and old.compensation_cents == 0
    assert new.interest.cents > 0 and new.compensation_cents == 4000
    assert job.claim_cents == 15000 + new.interest.cents + 4000
    assert job.context["has_credits"] and job.context["total_credits"] == "-€350.00"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    debts=st.lists(
        st.tuples(
            st.integers(min_value=8, max_value=500), st.integers(min_value=1, max_value=10**7)
        ),
        min_size=1,
        max_size=5,
    ),
    credits=st.lists(st.integers(min_value=1, max_value=10**7), max_size=3),
)
def test_property_netting_never_raises_a_claim(debts, credits):
    records = [item("Co", d, cents / 100, invoice=f"D{i}") for i, (d, cents) in enumerate(debts)]
    records += [item("Co", 3, -cents / 100, invoice=f"C{i}") for i, cents in enumerate(credits)]
    gross_rules = rules_with(net_credits=False, allow_skip=True, min_amount={"EUR": "0"})
    net_rules = rules_with(allow_skip=True, min_amount={"EUR": "0"})
    gross, _ = jobs(records, rules=gross_rules)
    net, _ = jobs(records, rules=net_rules)
    assert len(net) <= len(gross) == 1
    for job in net:
        assert job.claim_cents <= gross[0].claim_cents
        assert job.net_cents == max(0, gross[0].overdue_cents - sum(credits))
        assert job.interest_cents <= gross[0].interest_cents


def test_blocks_from_settings_and_from_a_column():
    records = [
        item("Blocked Co", 100, 500.0),
        item("Column Co", 100, 500.0, dunning_block="payment plan until 2026-04-30"),
        item("Expired Co", 100, 500.0, dunning_block="talks until 2026-01-31"),
        item("No Co", 100, 500.0, dunning_block="no"),
    ]
    rules = rules_with(blocks=[{"customer": "blocked co", "reason": "insolvency filed"}])
    decisions = {key[0]: d for key, d in decide(records, rules=rules).items()}
    assert decisions["Blocked Co"].action == D.BLOCKED
    assert decisions["Blocked Co"].block.text() == "insolvency filed"
    assert decisions["Column Co"].block.text() == "payment plan (until 2026-04-30)"
    assert decisions["Expired Co"].sends and decisions["No Co"].sends
    assert D.next_action(decisions["Column Co"], "x") == (
        "Dunning blocked: payment plan (until 2026-04-30)"
    )
    after = {key[0]: d for key, d in decide(records, rules=rules, as_of=date(2026, 5, 1)).items()}
    assert after["Column Co"].sends


def test_bad_dunning_settings_are_reported_and_defaults_kept():
    rules, load_issues = load_rules(
        {
            "dunning": {
                "min_interval_days": -1,
                "allow_skip": "yes",
                "min_amount": {"EUR": "ten"},
                "blocks": [{"reason": "no name"}],
            }
        }
    )
    settings, issues = D.parse_dunning(rules)
    # The settings schema drops the bad values (the packaged defaults stay); the block
    # without a customer is the dunning parser's own finding.
    assert settings.min_interval_days == 14 and settings.allow_skip is False
    assert settings.minimum("EUR") == 1000
    issues = [*load_issues, *issues]
    assert len(issues) == 4 and all(i.where.key.startswith("dunning.") for i in issues)


# ---- who can be written to, business or consumer, credit hold, disputes --------------------


def test_one_rule_for_who_can_be_written_to():
    # Regression: Exceptions said "cannot be sent a letter" and a letter was written anyway.
    records = [
        item("Nowhere", 40, 100.0, address=None, contact="Jane", email=None),
        item("Mail Only", 40, 100.0, address=None, email="a@b.example"),
        item("Mail Final", 70, 100.0, address=None, email="c@d.example"),
    ]
    demand = sent("Mail Final", "demand", AS_OF - timedelta(days=20), [records[2]["invoice"]])
    decisions = {key[0]: d for key, d in decide(records, [demand]).items()}
    assert decisions["Nowhere"].action == D.UNREACHABLE
    assert decisions["Mail Only"].sends  # a reminder may go by email
    assert decisions["Mail Final"].action == D.UNREACHABLE  # a final demand needs an address
    frame = classified_frame(records, RULES)
    from receivables.core.quality import quality_issues

    found = quality_issues(
        frame, customer_summary(frame, RULES), RULES, "L", {}, decisions=decide(records, [demand])
    )
    warned = {i.message.split(" (")[0] for i in found if "no postal address" in i.message}
    written = {job.customer for job in jobs(records, [demand])[0]}
    assert warned == {"Nowhere", "Mail Final"} and written == {"Mail Only"}


def test_consumers_are_charged_no_statutory_interest_or_compensation():
    records = [item("Biz", 100, 500.0), item("Person", 100, 500.0, customer_type="Consumer")]
    found = {job.customer: job for job in jobs(records, rules=rules_with(allow_skip=True))[0]}
    assert found["Biz"].interest_cents > 0 and found["Biz"].compensation_cents == 4000
    person = found["Person"]
    assert (person.interest_cents, person.compensation_cents) == (0, 0)
    assert person.context["has_interest"] is False and person.context["customer_type"] == (
        "consumer"
    )


def test_credit_hold_is_one_decision_per_customer():
    # Regression: Credit Hold "Yes" on the EUR row and "No" on the USD row.
    records = [item("Two Cur", 45, 100.0), item("Two Cur", 10, 100.0, currency="USD")]
    frame = classified_frame(records, RULES)
    plan, _ = build_plan(frame, RULES, AS_OF, plan_settings(RULES)[0])
    assert plan["credit_hold"].tolist() == [True, True]


def test_letters_cite_the_previous_letter_in_every_language():
    invoice = item("Acme", 100, 500.0)
    first = sent("Acme", "notice", date(2026, 3, 2), [invoice["invoice"]], "RC-260302-AAAA")
    for language, words in {
        "en": "2 March 2026",
        "es": "2 de marzo de 2026",
        "hu": "2026. március 2.",
    }.items():
        [job], _ = jobs([{**invoice, "language": language}], [first])
        assert job.context["previous_reference"] == "RC-260302-AAAA"
        assert job.context["previous_date"] == words
        assert job.context["previous_letter_name"] == core.letter_name("reminder", language)


def test_a_dispute_reason_alone_does_not_hold_an_item(tmp_path):
    # Regression: "Disputed = no" with a leftover reason held the item forever.
    from openpyxl import Workbook

    from receivables import pipeline

    book = Workbook()
    sheet = book.active
    sheet.append(
        ["Customer", "Invoice", "Due Date", "Balance", "Address", "Disputed", "Dispute Reason"]
    )
    due = pd.Timestamp(AS_OF - timedelta(days=40)).to_pydatetime()
    sheet.append(["Settled", "S-1", due, 100.0, "Street 1", "no", "resolved 2026-09-30"])
    sheet.append(["Open", "O-1", due, 100.0, "Street 2", "yes", "wrong goods"])
    sheet.append(["Blank", "B-1", due, 100.0, "Street 3", None, None])
    path = tmp_path / "disputes.xlsx"
    book.save(path)
    report = pipeline.run(path, None, AS_OF, write=False)
    stages = dict(
        zip(report.outcome.classified["customer"], report.outcome.classified["stage"], strict=True)
    )
    assert stages == {"Settled": "demand", "Open": "disputed", "Blank": "demand"}


def test_letters_three_weeks_running_into_one_folder_remember_each_other(tmp_path, run_json):
    # Regression: `receivables letters` on 31 Oct, 7 Nov and 14 Nov wrote three formal
    # demands with three references, the second within the first one's deadline.
    from conftest import ledger_row, write_ledger

    source = write_ledger(tmp_path / "in.xlsx", [ledger_row("Acme", 45, 900.0, invoice="A-1")])
    folder = tmp_path / "letters"
    runs = [
        run_json("letters", source, "-d", folder, "--as-of", day, "--no-email", "--no-sms")
        for day in ("2026-10-31", "2026-11-07", "2026-11-14")
    ]
    first, second, third = ([r for r in run["letters"] if r["channel"] == "letter"] for run in runs)
    assert [r["template"] for r in first] == ["reminder"] and second == []
    assert [r["template"] for r in third] == ["formal_demand"]
    assert third[0]["previous"] == first[0]["reference"] and third[0]["invoices"] == "A-1"
    assert Path(third[0]["file"]).parent.name == "demand"
    text = docx_text(Path(third[0]["file"]))
    assert first[0]["reference"] in text and "31 October 2026" in text
