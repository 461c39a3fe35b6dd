"""Tests for the pure value parsers: amounts, flags, numbers and dates."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.core.values import (
    AmountResult,
    excel_serial_to_date,
    parse_amount,
    parse_date_column,
    parse_flag,
    parse_number,
)

NBSP, NNBSP = "\u00a0", "\u202f"

# ---------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "cents", "currency"),
    [
        ("1.234,56 €", 123456, "EUR"),
        ("€1,234.56", 123456, "EUR"),
        ("¥12,345.00", 1234500, None),  # bare ¥: yen or yuan, the caller decides
        ("12 345,00 Ft", 1234500, "HUF"),
        ("1 234 567 Ft", 123456700, "HUF"),
        (f"1{NBSP}234{NBSP}567 Ft", 123456700, "HUF"),
        (f"1{NNBSP}234{NNBSP}567{NBSP}Ft", 123456700, "HUF"),
        ("(1,234.00)", -123400, None),
        ("-1234.5", -123450, None),
        ("1234.5-", -123450, None),
        ("\u22121234.5", -123450, None),
        ("USD 1,000", 100000, "USD"),
        ("1,000 USD", 100000, "USD"),
        ("usd 1,000", 100000, "USD"),
        ("£40", 4000, "GBP"),
        ("GBP 40.5", 4050, "GBP"),
        ("$1,234.56", 123456, "USD"),
        ("US$ 1,234.56", 123456, "USD"),
        ("HUF 12 000", 1200000, "HUF"),
        ("12.000 Ft", 1200000, "HUF"),
        ("12.000 Ft.", 1200000, "HUF"),
        ("3,5", 350, None),
        ("人民币 1,234.00", 123400, "CNY"),
        ("1,234.00元", 123400, "CNY"),
        ("RMB 1,234", 123400, "CNY"),
        ("CNY 99.9", 9990, "CNY"),
        ("¥1,234 元", 123400, "CNY"),
        ("JPY 1,234", 123400, "JPY"),
        ("1,234円", 123400, "JPY"),
        ("EUR 1.234,56", 123456, "EUR"),
        ("1.234,56 EUR", 123456, "EUR"),
        ("-€1,234.56", -123456, "EUR"),
        ("€-1,234.56", -123456, "EUR"),
        ("(€1,234.56)", -123456, "EUR"),
        ("+5", 500, None),
        ("1.234.567,89", 123456789, None),
        ("1,234,567.89", 123456789, None),
        ("1'234.50", 123450, None),
        ("1.234,-", 123400, None),
        ("1.234,--", 123400, None),
        ("０.５", 50, None),
        ("１，２３４．５６", 123456, None),
        ("￥100", 10000, None),
        ("0,125", 12, None),  # a leading 0 is never a thousands group; half-even
        ("1234,567", 123457, None),  # four digits before: not a grouping
        (".5", 50, None),
        ("  42  ", 4200, None),
    ],
)
def test_amount_text(text: str, cents: int, currency: str | None) -> None:
    assert parse_amount(text) == AmountResult(cents=cents, currency=currency)


@pytest.mark.parametrize(
    ("text", "cents", "currency"),
    [
        # The documented rule for a lone separator before exactly three digits.
        ("1.234", 123, None),  # no decimal-comma context: a decimal point
        ("€1.234", 123, "EUR"),  # euro written first: English habit, decimal point
        ("1.234 €", 123400, "EUR"),  # euro after the number: decimal-comma locale
        ("1.234 EUR", 123400, "EUR"),
        ("12.000 Ft", 1200000, "HUF"),
        ("HUF 12.000", 1200000, "HUF"),
        ("1,234", 123400, None),  # a comma before three digits groups thousands
        ("1,234 €", 123400, "EUR"),
        ("$1,234", 123400, "USD"),
        ("0.123", 12, None),
        ("1 234.567", 123457, None),  # already grouped by a space: the dot is decimal
    ],
)
def test_amount_lone_separator_rule(text: str, cents: int, currency: str | None) -> None:
    assert parse_amount(text) == AmountResult(cents=cents, currency=currency)


@pytest.mark.parametrize("text", ["", "   ", "-", "—", "–", "--", "€ -", "$ -", "−"])
def test_amount_dash_and_empty_mean_nothing(text: str) -> None:
    result = parse_amount(text)
    assert result.cents is None and result.error is None


@pytest.mark.parametrize("value", [None, float("nan"), pd.NA, pd.NaT, np.nan, Decimal("NaN")])
def test_amount_missing(value: object) -> None:
    assert parse_amount(value) == AmountResult()


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (0.1 + 0.2, 30),
        (1234.56, 123456),
        (-1234.56, -123456),
        (1234.5600000000002, 123456),
        (0.125, 12),  # half-even
        (0.135, 14),
        (2.675, 268),  # Decimal(repr): 2.675, not the binary 2.67499999...
        (12345678.91, 1234567891),
        (-0.0, 0),
        (5, 500),
        (-7, -700),
        (Decimal("2.345"), 234),
        (Decimal("2.355"), 236),
        (np.float64(1234.56), 123456),
        (np.int64(12), 1200),
        (np.float32(0.5), 50),
        (1e14, 10**16),
    ],
)
def test_amount_numbers(value: object, cents: int) -> None:
    assert parse_amount(value) == AmountResult(cents=cents)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "'abc' is not an amount"),
        ("n/a", "'n/a' is not an amount"),
        ("12 34", "'12 34' is not an amount"),
        ("1,23,456", "'1,23,456' is not an amount"),
        ("1.2.3,4.5", "'1.2.3,4.5' is not an amount"),
        ("5 - 3", "'5 - 3' is not an amount"),
        ("--5", "'--5' is not an amount"),
        ("-(5)", "'-(5)' is not an amount"),
        ("(5", "'(5' is not an amount"),
        ("5)", "'5)' is not an amount"),
        ("12万", "'12万' is not an amount"),
        ("$ 5 EUR", "'$ 5 EUR' mixes $ with EUR"),
        ("5 EUR GBP", "'5 EUR GBP' names more than one currency (EUR, GBP)"),
        (True, "'True' is not an amount"),
        (date(2026, 9, 15), "'2026-09-15' is not an amount"),
        (datetime(2026, 9, 15, 1), "'2026-09-15 01:00:00' is not an amount"),
        (float("inf"), "'inf' is not an amount"),
        (1e300, "'1e+300' is too large for an amount"),
        ("1e300", "'1e300' is not an amount"),
        ([1], "'[1]' is not an amount"),
    ],
)
def test_amount_errors(value: object, message: str) -> None:
    assert parse_amount(value) == AmountResult(error=message)


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    return sep.join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


def _format(value: Decimal, style: str) -> tuple[str, str | None]:
    """Format a 2-decimal value the way ledgers in different locales write it."""
    negative = value < 0
    whole, frac = f"{abs(value):.2f}".split(".")
    sign = "-" if negative else ""
    if style == "eu":
        return f"{sign}{_group(whole, '.')},{frac} €", "EUR"
    if style == "us":
        return f"{sign}${_group(whole, ',')}.{frac}", "USD"
    if style == "hu":
        return f"{sign}{_group(whole, NBSP)},{frac} Ft", "HUF"
    if style == "hu_narrow":
        return f"{sign}{_group(whole, NNBSP)},{frac}{NBSP}Ft", "HUF"
    if style == "paren":
        body = f"{_group(whole, ',')}.{frac}"
        return (f"({body})" if negative else body), None
    if style == "trailing":
        return f"{_group(whole, ',')}.{frac}{'-' if negative else ''}", None
    if style == "cny":
        return f"{sign}{_group(whole, ',')}.{frac}元", "CNY"
    if style == "code":
        return f"GBP {sign}{_group(whole, ',')}.{frac}", "GBP"
    if style == "plain":
        return f"{sign}{whole}.{frac}", None
    raise AssertionError(style)


money = st.decimals(
    min_value=Decimal("-9999999999.99"), max_value=Decimal("9999999999.99"), places=2
)
STYLES = ["eu", "us", "hu", "hu_narrow", "paren", "trailing", "cny", "code", "plain"]


@given(value=money, style=st.sampled_from(STYLES))
def test_amount_format_round_trip(value: Decimal, style: str) -> None:
    text, currency = _format(value, style)
    assert parse_amount(text) == AmountResult(cents=int(value * 100), currency=currency), text


@given(
    value=st.integers(min_value=-(10**12), max_value=10**12),
    style=st.sampled_from(["eu", "us", "hu"]),
)
def test_amount_whole_numbers_without_decimals(value: int, style: str) -> None:
    # "1.234 €", "$1,234", "1 234 Ft": grouped whole amounts, as in HUF ledgers.
    sign, whole = ("-" if value < 0 else ""), str(abs(value))
    text, currency = {
        "eu": (f"{sign}{_group(whole, '.')} €", "EUR"),
        "us": (f"{sign}${_group(whole, ',')}", "USD"),
        "hu": (f"{sign}{_group(whole, NBSP)} Ft", "HUF"),
    }[style]
    assert parse_amount(text) == AmountResult(cents=value * 100, currency=currency), text


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_amount_float_fast_path_matches_exact_decimal(value: float) -> None:
    expected = int((Decimal(repr(value)) * 100).to_integral_value(rounding=ROUND_HALF_EVEN))
    assert parse_amount(value).cents == expected


@given(st.decimals(places=2, min_value=-(10**9), max_value=10**9))
def test_amount_float_of_two_place_decimal_is_exact(value: Decimal) -> None:
    assert parse_amount(float(value)).cents == int(value * 100)


@given(st.text(max_size=20))
def test_amount_never_raises_on_text(text: str) -> None:
    result = parse_amount(text)
    assert (result.cents is None) or (result.error is None)


# ------------------------------------------------------------------------------ flags


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        ("yes", True),
        ("Yes", True),
        ("Y", True),
        ("no", False),
        ("N", False),
        ("sí", True),
        ("Sí", True),
        ("si", True),
        ("No", False),
        ("是", True),
        ("否", False),
        ("igen", True),
        ("Igen", True),
        ("nem", False),
        ("ja", True),
        ("Nein", False),
        ("oui", True),
        ("non", False),
        ("x", True),
        ("X", True),
        ("✓", True),
        ("✔", True),
        ("1", True),
        ("0", False),
        ("TRUE", True),
        ("False", False),
        ("true", True),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
        (np.bool_(True), True),
        (Decimal(1), True),
        (" yes ", True),
        ("YES.", True),
    ],
)
def test_flag_values(value: object, flag: bool) -> None:
    assert parse_flag(value) == (flag, None)


@pytest.mark.parametrize("value", [None, "", "  ", "-", "—", float("nan"), pd.NA])
def test_flag_empty(value: object) -> None:
    assert parse_flag(value) == (None, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("maybe", "'maybe' is not yes or no"),
        (2, "'2' is not yes or no"),
        ("2", "'2' is not yes or no"),
        (date(2026, 1, 1), "'2026-01-01' is not yes or no"),
    ],
)
def test_flag_errors(value: object, message: str) -> None:
    assert parse_flag(value) == (None, message)


# ---------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (30, 30.0),
        (30.5, 30.5),
        (Decimal("45"), 45.0),
        (np.int64(60), 60.0),
        ("30", 30.0),
        ("30 days", 30.0),
        ("30 Days", 30.0),
        ("1 day", 1.0),
        ("30 días", 30.0),
        ("30 dias", 30.0),
        ("30 nap", 30.0),
        ("30天", 30.0),
        ("30 日", 30.0),
        ("30 Tage", 30.0),
        ("30 jours", 30.0),
        ("30d", 30.0),
        ("Net 30", 30.0),
        ("N30", 30.0),
        ("net30", 30.0),
        ("60 días netos", 60.0),
        ("45 km", 45.0),
        ("45km", 45.0),
        ("1,5 km", 1.5),
        ("12.5 km", 12.5),
        ("1,200 km", 1200.0),
        ("120 公里", 120.0),
        ("-5", -5.0),
        ("３０", 30.0),
    ],
)
def test_number_values(value: object, number: float) -> None:
    assert parse_number(value) == (number, None)


@pytest.mark.parametrize("value", [None, "", "-", "—", float("nan")])
def test_number_empty(value: object) -> None:
    assert parse_number(value) == (None, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "'abc' is not a number"),
        ("30/60", "'30/60' is not a number"),
        (True, "'True' is not a number"),
        ("30 weeks", "'30 weeks' is not a number"),
        (float("inf"), "'inf' is not a number"),
    ],
)
def test_number_errors(value: object, message: str) -> None:
    assert parse_number(value) == (None, message)


# ------------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    ("serial", "date1904", "expected"),
    [
        (1, False, date(1900, 1, 1)),
        (59, False, date(1900, 2, 28)),
        (60, False, date(1900, 3, 1)),  # Lotus's fictitious 1900-02-29
        (61, False, date(1900, 3, 1)),
        (46280, False, date(2026, 9, 15)),
        (46280.99, False, date(2026, 9, 15)),
        (2958465, False, date(9999, 12, 31)),
        (0, True, date(1904, 1, 1)),
        (44818, True, date(2026, 9, 15)),
    ],
)
def test_excel_serial_to_date(serial: float, date1904: bool, expected: date) -> None:
    assert excel_serial_to_date(serial, date1904) == expected


@pytest.mark.parametrize("serial", [-1, float("nan"), float("inf"), 3e6])
def test_excel_serial_out_of_calendar(serial: float) -> None:
    with pytest.raises(ValueError):
        excel_serial_to_date(serial, False)


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)))
def test_excel_serial_round_trip(day: date) -> None:
    assert excel_serial_to_date((day - date(1899, 12, 30)).days, False) == day
    if day >= date(1904, 1, 1):
        assert excel_serial_to_date((day - date(1904, 1, 1)).days, True) == day


SEP_15 = date(2026, 9, 15)


@pytest.mark.parametrize(
    "value",
    [
        "15/09/2026",
        "09/15/2026",
        "2026-09-15",
        "2026-09-15 00:00:00",
        "2026-09-15T10:00:00",
        "2026-09-15T10:00:00.123+02:00",
        "2026-09-15T10:00:00Z",
        "2026.09.15.",
        "2026. 09. 15.",
        "2026.09.15",
        "2026/09/15",
        "2026/9/15",
        "2026年9月15日",
        "2026年09月15日",
        "2026 年 9 月 15 日",
        "２０２６年９月１５日",
        "15.09.2026",
        "15.09.2026.",
        "15-09-2026",
        "15/09/26",
        "15/9/2026",
        "15 Sep 2026",
        "15 SEP 2026",
        "15-Sep-2026",
        "15-Sep-26",
        "Sep 15, 2026",
        "Sept. 15, 2026",
        "September 15th, 2026",
        "15th September 2026",
        "Tuesday, 15 September 2026",
        "15 septiembre 2026",
        "15 de septiembre de 2026",
        "15 de setiembre de 2026",
        "2026. szeptember 15.",
        "2026. szept. 15.",
        "15. September 2026",
        "15 septembre 2026",
        "le 15 sept. 2026",
        "15/09/2026 10:30",
        "15 Sep 2026 10:30",
        "09/15/2026 10:30 PM",
        "46280",
        "46280.0",
        "20260915",
        46280,
        46280.0,
        46280.75,
        np.int64(46280),
        np.float64(46280),
        Decimal("46280"),
        20260915,
        date(2026, 9, 15),
        datetime(2026, 9, 15, 23, 59),
        pd.Timestamp("2026-09-15 10:00"),
        np.datetime64("2026-09-15T10:00"),
    ],
)
def test_date_forms(value: object) -> None:
    result = parse_date_column([value])
    assert result.dates == [SEP_15] and result.errors == [None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1er septembre 2026", date(2026, 9, 1)),
        ("5 de mayo de 2026", date(2026, 5, 5)),
        ("3 März 2026", date(2026, 3, 3)),
        ("1 août 2026", date(2026, 8, 1)),
        ("2026. március 31.", date(2026, 3, 31)),
        ("Jan 2, 2026", date(2026, 1, 2)),
        ("31 dic 2026", date(2026, 12, 31)),
        ("1 févr. 2026", date(2026, 2, 1)),
        ("7. Okt. 2026", date(2026, 10, 7)),
        ("12 ene 2026", date(2026, 1, 12)),
        ("29/02/2028", date(2028, 2, 29)),
        ("05/05/2026", date(2026, 5, 5)),  # same either way: not ambiguous
    ],
)
def test_date_more_forms(text: str, expected: date) -> None:
    result = parse_date_column([text])
    assert result.dates == [expected] and result.errors == [None]


@pytest.mark.parametrize(
    "value", [None, "", " ", "-", "—", float("nan"), pd.NaT, pd.NA, np.datetime64("NaT")]
)
def test_date_empty(value: object) -> None:
    assert parse_date_column([value]) == parse_date_column([None])
    result = parse_date_column([value])
    assert result.dates == [None] and result.errors == [None] and result.order is None


@pytest.mark.parametrize(
    "value",
    [
        "31/02/2026",
        "29/02/2026",
        "13/13/2026",
        "abc",
        "2026-02-30",
        "2026-13-01",
        "Sep 2026",
        "15 Foo 2026",
        "15/09/0026",
        "32 Sep 2026",
        True,
        0,
        -5,
        3e6,
        float("inf"),
        "2026年2月30日",
        "99999999",
    ],
)
def test_date_errors(value: object) -> None:
    result = parse_date_column([value])
    text = value.strip() if isinstance(value, str) else None
    assert result.dates == [None]
    assert result.errors[0] is not None and result.errors[0].endswith("is not a date")
    if text:
        assert result.errors[0] == f"'{text}' is not a date"


def test_date_column_decides_day_first() -> None:
    result = parse_date_column(["03/04/2026", "15/09/2026", None, "01/02/2026"])
    assert result.dates == [date(2026, 4, 3), SEP_15, None, date(2026, 2, 1)]
    assert (result.order, result.ambiguous) == ("dmy", False)


def test_date_column_decides_month_first() -> None:
    result = parse_date_column(["03/04/2026", "09/15/2026", "2026-01-01"])
    assert result.dates == [date(2026, 3, 4), SEP_15, date(2026, 1, 1)]
    assert (result.order, result.ambiguous) == ("mdy", False)


def test_date_column_all_ambiguous_reads_day_first_and_says_so() -> None:
    result = parse_date_column(["03/04/2026", "05/06/2026"])
    assert result.dates == [date(2026, 4, 3), date(2026, 6, 5)]
    assert (result.order, result.ambiguous) == ("dmy", True)


def test_date_column_majority_wins_and_minority_is_an_error() -> None:
    result = parse_date_column(["13/01/2026", "14/01/2026", "09/15/2026", "03/04/2026"])
    assert result.dates == [date(2026, 1, 13), date(2026, 1, 14), None, date(2026, 4, 3)]
    assert result.errors[2] == (
        "'09/15/2026' is not a date in day/month/year order like the rest of the column"
    )
    assert (result.order, result.ambiguous) == ("dmy", False)


def test_date_column_tie_is_day_first() -> None:
    result = parse_date_column(["13/01/2026", "01/13/2026", "03/04/2026"])
    assert result.dates == [date(2026, 1, 13), None, date(2026, 4, 3)]
    assert (result.order, result.ambiguous) == ("dmy", True)


@pytest.mark.parametrize(
    ("order", "expected"), [("dmy", date(2026, 4, 3)), ("mdy", date(2026, 3, 4))]
)
def test_date_column_forced_order(order: str, expected: date) -> None:
    result = parse_date_column(["03/04/2026", "15/09/2026", "09/15/2026"], order=order)
    assert result.dates[0] == expected
    assert result.order == order and result.ambiguous is False
    assert sum(error is not None for error in result.errors) == 1


def test_date_column_without_numeric_day_month_text_has_no_order() -> None:
    result = parse_date_column(["2026-09-15", 46280, date(2026, 1, 1)])
    assert (result.order, result.ambiguous) == (None, False)


def test_date_column_1904() -> None:
    result = parse_date_column([44818, "44818", 0], date1904=True)
    assert result.dates == [SEP_15, SEP_15, date(1904, 1, 1)]


def test_date_column_rejects_unknown_order() -> None:
    with pytest.raises(ValueError):
        parse_date_column([], order="ymd")


def test_date_column_accepts_series() -> None:
    result = parse_date_column(pd.Series([46280.0, None, "15/09/2026"], dtype=object))
    assert result.dates == [SEP_15, None, SEP_15]


MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS_ES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
MONTHS_HU = [
    "január",
    "február",
    "március",
    "április",
    "május",
    "június",
    "július",
    "augusztus",
    "szeptember",
    "október",
    "november",
    "december",
]
MONTHS_DE = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]

DATE_STYLES = {
    "dmy_slash": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "dmy_dot": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "dmy_dash": lambda d: f"{d.day}-{d.month}-{d.year}",
    "dmy_short": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
    "mdy_slash": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "mdy_short": lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "iso": lambda d: d.isoformat(),
    "iso_time": lambda d: f"{d.isoformat()} 00:00:00",
    "hu": lambda d: f"{d.year}. {d.month:02d}. {d.day:02d}.",
    "hu_compact": lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}.",
    "cjk": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "en": lambda d: f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}",
    "en_us": lambda d: f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year}",
    "es": lambda d: f"{d.day} de {MONTHS_ES[d.month - 1]} de {d.year}",
    "hu_long": lambda d: f"{d.year}. {MONTHS_HU[d.month - 1]} {d.day}.",
    "de": lambda d: f"{d.day}. {MONTHS_DE[d.month - 1]} {d.year}",
    "fr": lambda d: f"{d.day} {MONTHS_FR[d.month - 1]} {d.year}",
}


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    style=st.sampled_from(sorted(DATE_STYLES)),
)
def test_date_format_round_trip(day: date, style: str) -> None:
    text = DATE_STYLES[style](day)
    order = "mdy" if style.startswith("mdy") else "dmy"
    forced = parse_date_column([text], order=order)
    assert forced.dates == [day] and forced.errors == [None], text
    # In "auto" mode one unambiguous value of the same style decides the column.
    decider = DATE_STYLES[style](date(2026, 12, 31))
    auto = parse_date_column([text, decider])
    assert auto.dates == [day, date(2026, 12, 31)], text
    assert not auto.ambiguous


@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.floats(), st.integers()), max_size=8))
def test_date_column_never_raises(values: list[object]) -> None:
    result = parse_date_column(values)
    assert len(result.dates) == len(result.errors) == len(values)
    assert all(d is None or e is None for d, e in zip(result.dates, result.errors, strict=True))


@pytest.mark.parametrize(
    "kind", ["date", "datetime", "timestamp", "float_serial", "int_serial", "text"]
)
def test_date_column_is_fast(kind: str) -> None:
    days = [date(2024, 1, 1) + timedelta(days=i % 700) for i in range(100_000)]
    values: list[object]
    if kind == "date":
        values = days
    elif kind == "datetime":
        values = [datetime(d.year, d.month, d.day, 9) for d in days]
    elif kind == "timestamp":
        values = list(pd.to_datetime(pd.Series(days)))
    elif kind == "float_serial":
        values = [float((d - date(1899, 12, 30)).days) for d in days]
    elif kind == "int_serial":
        values = [(d - date(1899, 12, 30)).days for d in days]
    else:
        values = [d.strftime("%d/%m/%Y") for d in days]
    start = time.perf_counter()
    result = parse_date_column(values)
    elapsed = time.perf_counter() - start
    assert result.dates == days
    assert elapsed < 1.0, f"{kind}: {elapsed:.2f}s"
