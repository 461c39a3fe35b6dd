"""Late-payment interest and compensation against cases computed by hand.

Every expected figure is worked out in the comment above it (cents, rates in percent a
year), from the packaged rate tables: ECB main refinancing rate 4.00 (2023-H2), 4.50
(2024-H1), 4.25 (2024-H2), 3.15 (2025-H1), 2.15 (2025-H2); Bank of England base rate
5.25 (2024-H1 and H2), 4.75 (2025-H1).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.core.interest import InterestRule, accrue, coverage_issues, parse_interest
from receivables.core.rules import load_rules


def rule(kind: str, **settings) -> InterestRule:
    """The packaged rule of ``kind`` with ``settings`` overriding ``[interest]`` keys."""
    rules, issues = load_rules({"interest": {"rule": kind, **settings}})
    assert issues == []
    parsed, problems = parse_interest(rules.section("interest"))
    assert problems == []
    return parsed


EU = rule("eu")
UK = rule("uk")


def test_eu_one_half_year():
    # 1,000.00 due 2025-07-15, as of 2025-09-12: 59 days at 2.15 + 8 = 10.15 %.
    # 100000 * 0.1015 * 59 / 365 = 1640.68... -> 1641 cents.
    accrual = accrue(EU, 100_000, date(2025, 7, 15), date(2025, 9, 12))
    assert accrual.cents == 1641
    assert accrual.exact == Fraction(100_000) * Fraction("0.1015") * 59 / 365
    assert [s.days for s in accrual.segments] == [59]
    assert accrual.rates == (Decimal("10.15"),)
    assert EU.compensation_cents(100_000, "EUR") == 4000


def test_eu_rate_changes_with_the_half_year():
    # 5,000.00 due 2024-05-31, as of 2024-08-15: June (30 days) at 4.50 + 8 = 12.50 %,
    # 1 July - 15 August (46 days) at 4.25 + 8 = 12.25 %.
    # 500000 * (0.125 * 30 + 0.1225 * 46) / 365 = 4692500 / 365 = 12856.16 -> 12856.
    accrual = accrue(EU, 500_000, date(2024, 5, 31), date(2024, 8, 15))
    assert accrual.cents == 12856
    assert [(s.start, s.days, s.rate) for s in accrual.segments] == [
        (date(2024, 6, 1), 30, Decimal("12.50")),
        (date(2024, 7, 1), 46, Decimal("12.25")),
    ]


def test_leap_year_act_365_and_act_act():
    # 10,000.00 due 2023-12-15, as of 2024-01-20: 16 days of 2023 at 4.00 + 8 = 12 %,
    # 20 days of 2024 (a leap year) at 4.50 + 8 = 12.5 %.
    # act/365: 1000000 * (0.12 * 16 + 0.125 * 20) / 365 = 4420000 / 365 = 12109.59 -> 12110
    # act/act: 1920000 / 365 + 2500000 / 366 = 5260.27 + 6830.60 = 12090.88 -> 12091
    due, as_of = date(2023, 12, 15), date(2024, 1, 20)
    assert accrue(EU, 1_000_000, due, as_of).cents == 12110
    assert accrue(rule("eu", day_count="act/act"), 1_000_000, due, as_of).cents == 12091


def test_leap_day_is_a_day_of_interest():
    # 2,500.00 due 2024-02-15, as of 2024-03-15: 16 Feb - 29 Feb (14 days) + 15 March
    # = 29 days, 29 February included. UK: the rate fixed when interest starts (16 Feb
    # 2024: base 5.25 + 8 = 13.25 %). 250000 * 0.1325 * 29 / 365 = 2631.85 -> 2632.
    accrual = accrue(UK, 250_000, date(2024, 2, 15), date(2024, 3, 15))
    assert sum(s.days for s in accrual.segments) == 29
    assert accrual.cents == 2632
    # Debt 2,500 is from 1,000 and below 10,000: GBP 70.
    assert UK.compensation_cents(250_000, "GBP") == 7000


def test_uk_rate_fixed_for_the_whole_debt():
    # 800.00 due 2024-12-10; interest starts 2024-12-11 (base 5.25 -> 13.25 %) and keeps
    # that rate after the base rate fell to 4.75 in 2025: 21 + 31 + 28 = 80 days.
    # 80000 * 0.1325 * 80 / 365 = 2323.29 -> 2323.
    due, as_of = date(2024, 12, 10), date(2025, 2, 28)
    assert accrue(UK, 80_000, due, as_of).cents == 2323
    # With the EU convention the 59 days of 2025 take 4.75 + 8 = 12.75 %:
    # 80000 * (0.1325 * 21 + 0.1275 * 59) / 365 = 824400 / 365 = 2258.63 -> 2259.
    assert accrue(rule("uk", uk={"rate_fixing": "period"}), 80_000, due, as_of).cents == 2259


def test_uk_compensation_by_debt_size():
    assert UK.compensation_cents(99_999, "GBP") == 4000
    assert UK.compensation_cents(100_000, "GBP") == 7000
    assert UK.compensation_cents(999_999, "GBP") == 7000
    assert UK.compensation_cents(1_000_000, "GBP") == 10000
    # No sum configured for another currency.
    assert UK.compensation_cents(100_000, "EUR") == 0


def test_partial_payment_with_a_date():
    # 1,000.00 due 2025-03-31, 400.00 paid on 2025-05-15, as of 2025-06-30, 3.15 + 8 =
    # 11.15 %: 1 April - 15 May (45 days) on 1,000.00, 16 May - 30 June (46 days) on
    # 600.00. 0.1115 * (100000 * 45 + 60000 * 46) / 365 = 809490 / 365 = 2217.78 -> 2218.
    accrual = accrue(EU, 60_000, date(2025, 3, 31), date(2025, 6, 30),
                     payments=[(date(2025, 5, 15), 40_000)])
    assert [(s.days, s.principal_cents) for s in accrual.segments] == [(45, 100_000),
                                                                       (46, 60_000)]
    assert accrual.cents == 2218


def test_partial_payment_without_a_date_accrues_on_the_open_balance():
    # What letters do (the ledger has no payment dates): 600.00 open for 91 days.
    # 60000 * 0.1115 * 91 / 365 = 1667.92 -> 1668.
    assert accrue(EU, 60_000, date(2025, 3, 31), date(2025, 6, 30)).cents == 1668
    # Payments before the due date were not late; they change nothing.
    early = accrue(EU, 60_000, date(2025, 3, 31), date(2025, 6, 30),
                   payments=[(date(2025, 3, 1), 40_000)])
    assert early.cents == 1668


def test_rounding_is_half_up_once_per_invoice():
    # Contract 10 %: 18.25 for one day is 1825 * 0.10 / 365 = 0.5 cent exactly -> 1 cent.
    contract = rule("contract", contract={"rate": "10"})
    assert accrue(contract, 1825, date(2025, 1, 1), date(2025, 1, 2)).cents == 1
    assert accrue(contract, 1824, date(2025, 1, 1), date(2025, 1, 2)).cents == 0


def test_no_interest_before_or_on_the_due_date_and_rule_none():
    assert accrue(EU, 100_000, date(2025, 9, 12), date(2025, 9, 12)).cents == 0
    assert accrue(EU, 100_000, date(2025, 9, 13), date(2025, 9, 12)).cents == 0
    none = rule("none")
    assert accrue(none, 100_000, date(2025, 1, 1), date(2025, 9, 12)).cents == 0
    assert none.compensation_cents(100_000, "EUR") == 0


def test_days_before_the_rate_table_are_not_claimed_and_reported():
    # The EU table starts on 2016-07-01: the 30 June days before it accrue nothing.
    accrual = accrue(EU, 100_000, date(2016, 5, 31), date(2016, 7, 10))
    assert accrual.uncovered_days == 30
    assert sum(s.days for s in accrual.segments) == 10
    issues = coverage_issues(EU, date(2016, 6, 1), date(2016, 7, 10))
    assert any("2016-07-01" in issue.message for issue in issues)


def test_stale_rate_table_is_reported():
    issues = coverage_issues(UK, date(2026, 9, 1), date(2026, 10, 31))
    assert len(issues) == 1 and "2025-07-01" in issues[0].message


def test_bad_settings_become_issues_and_defaults_stay():
    parsed, issues = parse_interest({"rule": "usury", "day_count": "30/360"})
    assert parsed.kind == "none"
    assert len(issues) == 2
    assert "usury" in issues[0].message and "30/360" in issues[1].message
    parsed, issues = parse_interest(
        {"rule": "eu", "eu": {"margin": "eight", "reference_rates": {"soon": "1"}}}
    )
    assert parsed.margin == Decimal(8) and parsed.reference_rates == ()
    messages = " ".join(issue.message for issue in issues)
    assert "margin" in messages and "'soon'" in messages


@given(
    principal=st.integers(min_value=1, max_value=10**9),
    start=st.dates(min_value=date(2017, 1, 1), max_value=date(2026, 6, 30)),
    days=st.integers(min_value=2, max_value=800),
    cut=st.integers(min_value=0, max_value=10**6),
)
def test_interest_is_additive_over_time(principal, start, days, cut):
    # Exact interest over a span equals the sum over any cut of it (simple interest).
    end = start + timedelta(days=days)
    middle = start + timedelta(days=1 + cut % (days - 1))
    whole = accrue(EU, principal, start, end).exact
    first = accrue(EU, principal, start, middle).exact
    second = accrue(EU, principal, middle, end).exact
    assert whole == first + second


@pytest.mark.parametrize("kind", ["eu", "uk", "contract"])
def test_interest_grows_with_time(kind):
    parsed = rule(kind, contract={"rate": "9.5"})
    due = date(2025, 1, 31)
    values = [accrue(parsed, 123_456, due, date(2025, month, 1)).cents for month in range(2, 13)]
    assert values == sorted(values) and values[0] > 0
