"""Late-payment interest and compensation against cases computed by hand, per regime.

Every expected figure is worked out in the comment above it (cents, rates in percent a
year), from the packaged rate tables: ECB main refinancing rate 4.00 (2023-H2), 4.50
(2024-H1), 4.25 (2024-H2), 3.15 (2025-H1), 2.15 (2025-H2, 2026-H1), 2.40 (2026-H2); Bank
of England base rate 5.25 (2024-H1 and H2), 4.75 (2025-H1), 3.75 (2026-H1); MNB base rate
6.50 (2025-H1 to 2026-H1); MNB EUR/HUF 385.40 (fixing of 31 December 2025).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.core import letters as core
from receivables.core.interest import accrue
from receivables.core.regimes import (
    compensation_cents,
    customer_type,
    missing_rate_issues,
    parse_regimes,
)
from receivables.core.rules import load_rules

from letters_support import classified_frame, item


def settings(**interest):
    """The packaged regimes with ``interest`` overriding ``[interest]`` keys."""
    rules, issues = load_rules({"interest": interest} if interest else {})
    assert issues == []
    parsed, problems = parse_regimes(rules.section("interest"))
    assert problems == []
    return parsed


SETTINGS = settings()
EU = SETTINGS.regimes["eu_directive"].rule
UK = SETTINGS.regimes["uk_late_payment"].rule
HU = SETTINGS.regimes["hu_ptk"].rule


def rule(kind: str, **interest):
    return settings(**interest).regimes[kind].rule


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
    assert accrue(rule("eu_directive", day_count="act/act"), 1_000_000, due, as_of).cents == 12091


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
    period = rule("uk_late_payment", regimes={"uk_late_payment": {"rate_fixing": "period"}})
    assert accrue(period, 80_000, due, as_of).cents == 2259


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
    accrual = accrue(
        EU, 60_000, date(2025, 3, 31), date(2025, 6, 30), payments=[(date(2025, 5, 15), 40_000)]
    )
    assert [(s.days, s.principal_cents) for s in accrual.segments] == [(45, 100_000), (46, 60_000)]
    assert accrual.cents == 2218


def test_partial_payment_without_a_date_accrues_on_the_open_balance():
    # What letters do (the ledger has no payment dates): 600.00 open for 91 days.
    # 60000 * 0.1115 * 91 / 365 = 1667.92 -> 1668.
    assert accrue(EU, 60_000, date(2025, 3, 31), date(2025, 6, 30)).cents == 1668
    # Payments before the due date were not late; they change nothing.
    early = accrue(
        EU, 60_000, date(2025, 3, 31), date(2025, 6, 30), payments=[(date(2025, 3, 1), 40_000)]
    )
    assert early.cents == 1668


def test_rounding_is_half_up_once_per_invoice():
    # Contract 10 %: 18.25 for one day is 1825 * 0.10 / 365 = 0.5 cent exactly -> 1 cent.
    contract = rule("contract", regimes={"contract": {"rate": "10"}})
    assert accrue(contract, 1825, date(2025, 1, 1), date(2025, 1, 2)).cents == 1
    assert accrue(contract, 1824, date(2025, 1, 1), date(2025, 1, 2)).cents == 0


def test_no_interest_before_or_on_the_due_date_and_rule_none():
    assert accrue(EU, 100_000, date(2025, 9, 12), date(2025, 9, 12)).cents == 0
    assert accrue(EU, 100_000, date(2025, 9, 13), date(2025, 9, 12)).cents == 0
    none = SETTINGS.regime("USD")
    assert none.key == "none"
    assert accrue(none.rule, 100_000, date(2025, 1, 1), date(2025, 9, 12)).cents == 0
    assert none.rule.compensation_cents(100_000, "EUR") == 0


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


@pytest.mark.parametrize("kind", ["eu_directive", "uk_late_payment", "hu_ptk", "contract"])
def test_interest_grows_with_time(kind):
    parsed = rule(kind, regimes={"contract": {"rate": "9.5"}})
    due = date(2025, 1, 31)
    values = [accrue(parsed, 123_456, due, date(2025, month, 1)).cents for month in range(2, 13)]
    assert values == sorted(values) and values[0] > 0


# ---- regimes: chosen per currency and country, hand-computed per law --------------------


def test_regime_by_currency_country_and_forced_rule():
    assert SETTINGS.regime_key("EUR") == "eu_directive"
    assert SETTINGS.regime_key("gbp") == "uk_late_payment"
    assert SETTINGS.regime_key("HUF") == "hu_ptk"
    assert SETTINGS.regime_key("USD") == "none"
    by_country = settings(by_country={"HU": "hu_ptk"})
    assert by_country.regime_key("EUR", "hu") == "hu_ptk"
    assert by_country.regime_key("EUR", "ES") == "eu_directive"
    assert settings(rule="uk").regime_key("EUR") == "uk_late_payment"


def test_huf_debt_across_a_half_year_boundary():
    # HUF 1,000,000.00 due 2025-12-20, as of 2026-01-15: 21-31 December 2025 (11 days) at
    # MNB 6.50 + 8 = 14.50 % (2025-H2), 1-15 January 2026 (15 days) at 6.50 + 8 = 14.50 %
    # (2026-H1). 100000000 * 0.145 * 26 / 365 = 1032876.71... -> 1032877 fillér.
    accrual = accrue(HU, 100_000_000, date(2025, 12, 20), date(2026, 1, 15))
    assert [(s.start, s.days, s.rate) for s in accrual.segments] == [
        (date(2025, 12, 21), 11, Decimal("14.50")),
        (date(2026, 1, 1), 15, Decimal("14.50")),
    ]
    assert accrual.cents == 1032877
    # Where the base rate changed between half-years (a row added in the settings), each
    # half-year takes its own: due 2026-06-20, as of 2026-07-10: 21-30 June (10 days) at
    # 14.50 %, 1-10 July (10 days) at 6.00 + 8 = 14.00 %.
    # 100000000 * (0.145 * 10 + 0.14 * 10) / 365 = 285000000 / 365 = 780821.92 -> 780822.
    later = settings(rates={"hu_ptk": {"2026-07-01": {"rate": "6.00", "source": "test"}}})
    accrual = accrue(
        later.regimes["hu_ptk"].rule, 100_000_000, date(2026, 6, 20), date(2026, 7, 10)
    )
    assert accrual.cents == 780822


def test_huf_compensation_is_40_euro_at_the_mnb_rate():
    regime = SETTINGS.regimes["hu_ptk"]
    # A delay starting 2026-01-05 (2026-H1): the rate valid on 1 January 2026, a holiday,
    # is the fixing of 31 December 2025, 385.40: 40 * 385.40 = HUF 15,416.00.
    assert compensation_cents(SETTINGS, regime, 5_000_00, "HUF", date(2026, 1, 5)) == (
        1_541_600,
        None,
    )
    # A delay starting in 2025-H2 needs the fixing valid on 1 July 2025, not in the table:
    # nothing is claimed and the day is named.
    assert compensation_cents(SETTINGS, regime, 5_000_00, "HUF", date(2025, 9, 1)) == (
        0,
        date(2025, 7, 1),
    )
    # fx_day = "delay_start" (the wording of Ptk. 6:155 (2)): the rate of the first day of
    # the delay, here Saturday 2026-01-03 -> the last fixing before it, 31 December 2025.
    start = settings(regimes={"hu_ptk": {"fx_day": "delay_start"}})
    assert compensation_cents(start, start.regimes["hu_ptk"], 1, "HUF", date(2026, 1, 1)) == (
        1_541_600,
        None,
    )


@pytest.mark.parametrize(
    ("debt", "expected"),
    [
        (99_999, 4000),
        (100_000, 7000),
        (999_999, 7000),
        (1_000_000, 10000),
        (5_000_000, 10000),
    ],
)
def test_gbp_compensation_at_each_tier(debt, expected):
    regime = SETTINGS.regimes["uk_late_payment"]
    assert compensation_cents(SETTINGS, regime, debt, "GBP", date(2026, 1, 5)) == (expected, None)


def test_gbp_interest_fixed_at_the_base_rate_before_the_half_year():
    # GBP 2,000.00 due 2026-01-31: interest starts 2026-02-01 (2026-H1), whose reference
    # rate is the base rate in force on 31 December 2025, 3.75: 11.75 % for 30 days to
    # 2026-03-02. 200000 * 0.1175 * 30 / 365 = 1931.51 -> 1932.
    assert accrue(UK, 200_000, date(2026, 1, 31), date(2026, 3, 2)).cents == 1932


def test_eur_debt_across_a_leap_year_end():
    # EUR 3,650.00 due 2023-12-31, as of 2024-03-01: 1 Jan - 1 Mar 2024 = 61 days (29 Feb
    # included) at 4.50 + 8 = 12.50 %. act/365: 365000 * 0.125 * 61 / 365 = 7625.00;
    # act/act: 365000 * 0.125 * 61 / 366 = 7604.17 -> 7604.
    assert accrue(EU, 365_000, date(2023, 12, 31), date(2024, 3, 1)).cents == 7625
    act = rule("eu_directive", day_count="act/act")
    assert accrue(act, 365_000, date(2023, 12, 31), date(2024, 3, 1)).cents == 7604


def test_customer_types():
    assert customer_type(None) == "business" and customer_type("") == "business"
    assert customer_type("Consumer") == "consumer" and customer_type("magánszemély") == "consumer"
    assert customer_type("Sole trader") == "sole_trader"
    assert customer_type("Autónomo") == "sole_trader"
    assert customer_type("Kft.") == "business"
    assert customer_type("alien") is None


def _jobs(records, as_of, **interest):
    # Letters at the level the days have reached (dunning.allow_skip): these tests are
    # about each template's law, not about escalation (tests/test_dunning.py).
    layer = {"dunning": {"allow_skip": True}, **({"interest": interest} if interest else {})}
    rules, issues = load_rules(layer)
    assert issues == []
    frame = classified_frame(records, rules, as_of)
    return core.letter_jobs(frame, rules, as_of)


def test_consumer_debtor_gets_no_statutory_interest():
    as_of = date(2026, 3, 31)
    records = [
        item("Private Person", 45, 1000.00, customer_type="consumer"),
        item("Trading Ltd", 45, 1000.00, customer_type="business"),
    ]
    jobs, _ = _jobs(records, as_of)
    by_customer = {job.customer: job for job in jobs}
    consumer, business = by_customer["Private Person"], by_customer["Trading Ltd"]
    assert (consumer.interest_cents, consumer.compensation_cents) == (0, 0)
    assert consumer.context["interest_rule"] == "none"
    assert not consumer.context["has_interest"]
    # The business: 45 days at 2.15 + 8 = 10.15 %: 100000 * 0.1015 * 45 / 365 = 1251.37.
    assert (business.interest_cents, business.compensation_cents) == (1251, 4000)


def test_mixed_ledger_each_letter_under_its_own_law():
    as_of = date(2026, 3, 31)
    records = [
        item("Euro SA", 45, 1000.00, currency="EUR"),
        item("Pound Ltd", 45, 1000.00, currency="GBP"),
        item("Forint Kft.", 45, 100000.00, currency="HUF", language="hu"),
    ]
    jobs, issues = _jobs(records, as_of)
    law = {
        job.currency: (job.context["interest_rule"], job.interest_cents, job.compensation_cents)
        for job in jobs
    }
    # Due 2026-02-14, 45 days to 2026-03-31.
    # EUR: 10.15 %: 1251 (above); EUR 40.
    # GBP: 3.75 + 8 = 11.75 %: 100000 * 0.1175 * 45 / 365 = 1448.63 -> 1449; GBP 70.
    # HUF: 6.50 + 8 = 14.50 %: 10000000 * 0.145 * 45 / 365 = 178767.12 -> 178767;
    #      40 EUR at 385.40 = HUF 15,416.00.
    assert law == {
        "EUR": ("eu_directive", 1251, 4000),
        "GBP": ("uk_late_payment", 1449, 7000),
        "HUF": ("hu_ptk", 178767, 1541600),
    }
    assert not [i for i in issues if "interest.rates" in i.message]


def test_uk_letter_before_claim_reply_days_by_customer_type():
    as_of = date(2026, 3, 31)
    records = [
        item("Big Ltd", 75, 500.00, currency="GBP", customer_type="business"),
        item("Jo Bloggs", 75, 500.00, currency="GBP", customer_type="sole trader"),
        item("Euro SA", 75, 500.00),
    ]
    jobs = {job.customer: job for job in _jobs(records, as_of)[0]}
    # Final demands. 14 days for a business: 2026-04-14 (a Tuesday); 30 days for a sole
    # trader: 2026-04-30 (a Thursday); EUR: 7 working days in Spain (Good Friday 3 April).
    assert (jobs["Big Ltd"].reply_by, jobs["Big Ltd"].reply_days) == (date(2026, 4, 14), 14)
    assert jobs["Jo Bloggs"].reply_by == date(2026, 4, 30)
    assert jobs["Jo Bloggs"].context["reply_days_calendar"] is True
    assert jobs["Euro SA"].reply_by == date(2026, 4, 10)


def test_missing_half_year_names_the_period_and_the_lines_to_add():
    regime = SETTINGS.regimes["eu_directive"]
    issues = missing_rate_issues(regime, [date(2026, 7, 1), date(2027, 1, 1)])
    assert len(issues) == 1
    message = issues[0].message
    assert "2027-01-01 – 2027-06-30" in message
    assert '[interest.rates.eu_directive] "2027-01-01" = { rate = ' in message
    # Until the row is added, the last rate applies (2026-H2: 2.40 + 8).
    accrual = accrue(EU, 100_000, date(2026, 12, 31), date(2027, 1, 10))
    assert accrual.rates == (Decimal("10.40"),)


def test_a_letter_warns_about_a_missing_half_year():
    as_of = date(2027, 1, 31)
    _jobs_, issues = _jobs([item("Euro SA", 45, 1000.00)], as_of)
    stale = [i.message for i in issues if "interest.rates.eu_directive" in i.message]
    assert len(stale) == 1 and "2027-01-01" in stale[0]
    _jobs_, issues = _jobs(
        [item("Euro SA", 45, 1000.00)],
        as_of,
        rates={"eu_directive": {"2027-01-01": {"rate": "2.40", "source": "test"}}},
    )
    assert not [i for i in issues if "interest.rates" in i.message]


def test_bad_settings_become_issues_and_defaults_stay():
    rules, _ = load_rules({})
    section = dict(rules.section("interest"))
    section.update(rule="usury", day_count="30/360")
    parsed, issues = parse_regimes(section)
    assert parsed.forced == "none" and len(issues) == 2
    section = dict(rules.section("interest"))
    section["rates"] = {"eu_directive": {"soon": "1", "2026-03-01": "2"}}
    parsed, issues = parse_regimes(section)
    assert parsed.regimes["eu_directive"].rows == ()
    messages = " ".join(issue.message for issue in issues)
    assert "'soon'" in messages and "2026-03-01" in messages


def test_every_packaged_rate_row_has_a_source():
    for regime in SETTINGS.regimes.values():
        if regime.statutory:
            assert regime.rows and all(row.source for row in regime.rows)
    assert SETTINGS.fx and all(row.source for row in SETTINGS.fx)


def _demo(tmp_path, *args: str) -> dict:
    import json

    from click.testing import CliRunner

    from receivables.cli import main

    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


def test_the_demo_is_written_under_published_rates_only(tmp_path):
    from openpyxl import load_workbook

    from receivables.demo import SAMPLE_AS_OF

    report = _demo(tmp_path / "demo")
    assert report["as_of"] == SAMPLE_AS_OF.isoformat()
    assert not [i for i in report["issues"] if "interest.rates" in i["message"]]
    # Its letters go out in EUR, GBP and HUF, each under the law of its currency.
    book = load_workbook(tmp_path / "demo" / "sample_ledger.collections.xlsx", read_only=True)
    rows = list(book["Letters Log"].iter_rows(values_only=True))
    currency = rows[0].index("Currency")
    assert {"EUR", "GBP", "HUF"} <= {row[currency] for row in rows[1:]}


def test_a_date_past_the_tables_still_warns_with_the_lines_to_add(tmp_path):
    # The packaged MNB tables stop at 2026-H1: the same sample aged at 2026-10-31 needs the
    # base rate and the EUR/HUF fixing of 1 July 2026, and says which lines to add.
    report = _demo(tmp_path / "late", "--as-of", "2026-10-31")
    said = " ".join(i["message"] for i in report["issues"] if "interest.rates" in i["message"])
    assert '[interest.rates.hu_ptk] "2026-07-01" = { rate = ' in said
    assert '[interest.rates.mnb_eur_huf] "2026-07-01"' in said
    assert "interest.rates.eu_directive" not in said


def test_eur_debt_into_the_second_half_of_2026():
    # EUR 1,000.00 due 2026-06-20, as of 2026-07-10: 21-30 June (10 days) at 2.15 + 8 =
    # 10.15 %, 1-10 July (10 days) at 2.40 + 8 = 10.40 % (ECB hike of 11 June 2026).
    # 100000 * (0.1015 * 10 + 0.1040 * 10) / 365 = 205500 / 365 = 563.01 -> 563.
    accrual = accrue(EU, 100_000, date(2026, 6, 20), date(2026, 7, 10))
    assert accrual.rates == (Decimal("10.15"), Decimal("10.40"))
    assert accrual.cents == 563


def test_contract_rate_from_the_settings_or_the_customers_column():
    as_of = date(2026, 3, 31)
    records = [
        item("Agreed Inc", 45, 1000.00, currency="USD", interest_rate="12 %"),
        item("Plain Inc", 45, 1000.00, currency="USD"),
        item("Typo Inc", 45, 1000.00, currency="USD", interest_rate="twelve"),
        item("Home Owner", 45, 1000.00, currency="USD", customer_type="consumer"),
    ]
    jobs, issues = _jobs(
        records,
        as_of,
        by_currency={"USD": "contract"},
        regimes={"contract": {"rate": "5.00"}},
    )
    law = {
        job.customer: (job.context["interest_rule"], job.interest_cents, job.compensation_cents)
        for job in jobs
    }
    # 45 days on USD 1,000.00, no compensation under a contract:
    # the column's 12 %: 100000 * 0.12 * 45 / 365 = 1479.45 -> 1479;
    # the settings' 5 %: 100000 * 0.05 * 45 / 365 = 616.44 -> 616 (also for a cell that is
    # not a percent, which is reported); a contract binds a consumer too (business_only =
    # false): 616.
    assert law == {
        "Agreed Inc": ("contract", 1479, 0),
        "Plain Inc": ("contract", 616, 0),
        "Typo Inc": ("contract", 616, 0),
        "Home Owner": ("contract", 616, 0),
    }
    assert any("'twelve'" in i.message and "not a percent" in i.message for i in issues)
