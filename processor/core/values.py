"""Pure parsers for the cell values of receivables workbooks: amounts, flags, numbers, dates.

Every parser takes whatever a spreadsheet reader hands over (``None``, ``bool``, ``int``,
``float``, ``Decimal``, ``str``, ``date``/``datetime``/``Timestamp``) and never raises on
user data: a value it cannot read comes back with an error message naming the value
(``"'abc' is not an amount"``) for the caller to turn into an :class:`~.issues.Issue`
with a cell reference. An empty cell, or one holding only a dash, is "nothing" and comes
back as ``None`` *without* an error.

Ambiguity rules (documented here because callers and users rely on them):

Amounts
    * The decimal separator is the last of ``.``/``,`` when both occur (``1.234,56`` and
      ``1,234.56``); a separator occurring more than once is a thousands separator
      (``1.234.567``); spaces, NBSP, narrow NBSP and apostrophes group thousands.
    * A lone separator followed by exactly three digits, after one to three digits that
      are not ``0`` (``1.234``, ``12,000``), is ambiguous. A comma is read as a thousands
      separator (``USD 1,000``, ``RMB 1,234``: money is not written with three decimals
      in comma-decimal locales either). A dot is read as a thousands separator only in a
      decimal-comma context, i.e. the text names forints (``Ft``/``HUF``, which are
      written ``12.000 Ft``) or puts the euro sign/code *after* the number
      (``1.234 €``, the Spanish/German/French/Hungarian habit); otherwise the dot is a
      decimal point (``1.234`` -> 1.23, ``€1.234`` -> 1.23).
    * Negative: a leading or trailing minus (``-1234.5``, ``1234.5-``, the SAP style) or
      parentheses (``(1,234.00)``); two negative markers are an error. ``1.234,-`` and
      ``1.234,--`` mean "no cents" (German/Swiss), not a negative.
    * Currency: from a symbol or ISO code in the text. ``$`` alone is USD. ``¥`` alone
      is **not** decided (Chinese workbooks use it for yuan, Japanese ones for yen):
      the currency is ``None`` and the caller falls back to the currency column or the
      settings default; ``元``/``RMB``/``CNY``/``人民币`` make it CNY, ``円``/``JPY`` JPY.
      Two different currencies in one cell are an error.

Dates
    * Excel serials use the 1900 system (with Lotus's fictitious 1900-02-29) or 1904.
    * Numeric text with the year last (``03/04/2026``, ``03.04.2026``, ``03-04-26``) is
      read day-first or month-first *per column*: a first part above 12 is evidence for
      day-first, a second part above 12 for month-first; the majority of that evidence
      wins and values that fit only the losing order become errors. With no evidence
      (or a tie), day-first is used and the column is reported ``ambiguous``.
      Two-digit years are 2000 + yy. Year-first text (``2026-09-15``,
      ``2026.09.15.``) is always year-month-day.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

__all__ = [
    "AmountResult",
    "DateColumnResult",
    "excel_serial_to_date",
    "parse_amount",
    "parse_date_column",
    "parse_flag",
    "parse_number",
]

# Amounts beyond this many cents (a thousand trillion units) are typos or serial numbers,
# and summing a few of them would overflow the int64 cents columns of the ledger frame.
MAX_CENTS = 10**17

# Texts that mean "nothing here" in every column type (accounting formats show zero as -).
_EMPTY_TEXTS = frozenset({"", "-", "--", "\u2013", "\u2014", "\u2212", "\u2012", "\u2015"})

_DASH_CHARS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"


def _nfkc(text: str) -> str:
    # NFKC turns full-width digits/punctuation (１，２３４), ￥, ＄ and the many Unicode
    # spaces (NBSP, narrow NBSP, thin space) into their plain forms once, up front.
    return unicodedata.normalize("NFKC", text).strip()


def _fold(text: str) -> str:
    """Casefold and strip accents: ``Sí`` -> ``si``, ``Szeptember`` -> ``szeptember``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def _is_missing(value: object) -> bool:
    """True for None, NaN, NaT and pd.NA (all arrive from pandas for empty cells)."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    try:
        missing = value != value  # NaT and NaN compare unequal to themselves
        return bool(missing)
    except (TypeError, ValueError, ArithmeticError):
        # pd.NA refuses bool(); it is the only common value that does.
        return type(value).__name__ == "NAType"


# --------------------------------------------------------------------------- amounts


@dataclass(frozen=True, slots=True)
class AmountResult:
    """A parsed amount: exact integer hundredths, the currency the text named, or an error.

    ``cents`` and ``error`` are both ``None`` for an empty cell or a dash.
    """

    cents: int | None = None
    currency: str | None = None
    error: str | None = None


# Symbols and codes recognised in amount text. "$" and "¥" are generic (see module doc);
# the others name one ISO currency. Matching is case-insensitive.
_CURRENCY_MARKERS: dict[str, str] = {
    "US$": "USD",
    "USD": "USD",
    "$": "$",
    "CA$": "CAD",
    "C$": "CAD",
    "CAD": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "AUD": "AUD",
    "NZ$": "NZD",
    "NZD": "NZD",
    "HK$": "HKD",
    "HKD": "HKD",
    "S$": "SGD",
    "SGD": "SGD",
    "MX$": "MXN",
    "MXN": "MXN",
    "R$": "BRL",
    "BRL": "BRL",
    "NT$": "TWD",
    "TWD": "TWD",
    "€": "EUR",
    "EUR": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "GBP": "GBP",
    "Ft": "HUF",
    "Ft.": "HUF",
    "HUF": "HUF",
    "forint": "HUF",
    "¥": "¥",
    "JPY": "JPY",
    "JP¥": "JPY",
    "円": "JPY",
    "CNY": "CNY",
    "RMB": "CNY",
    "CN¥": "CNY",
    "元": "CNY",
    "人民币": "CNY",
    "人民幣": "CNY",
    "CHF": "CHF",
    "PLN": "PLN",
    "zł": "PLN",
    "CZK": "CZK",
    "Kč": "CZK",
    "RON": "RON",
    "SEK": "SEK",
    "NOK": "NOK",
    "DKK": "DKK",
    "INR": "INR",
    "₹": "INR",
    "KRW": "KRW",
    "₩": "KRW",
    "ZAR": "ZAR",
    "ARS": "ARS",
    "CLP": "CLP",
    "COP": "COP",
    "BGN": "BGN",
}
_DOLLAR_CURRENCIES = frozenset(
    {"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN", "BRL", "TWD", "ARS", "CLP", "COP"}
)
_YEN_YUAN = frozenset({"CNY", "JPY"})


def _marker_pattern(marker: str) -> str:
    # Letter codes must stand alone ("EUR" but not inside "EUROPE"); digits may touch
    # them ("USD1,000").
    left = r"(?<![A-Za-z])" if marker[0].isascii() and marker[0].isalpha() else ""
    right = r"(?![A-Za-z])" if marker[-1].isascii() and marker[-1].isalpha() else ""
    return left + re.escape(marker) + right


_MARKER_LOOKUP = {m.casefold(): code for m, code in _CURRENCY_MARKERS.items()}
_AMOUNT_TOKEN = re.compile(
    "(?P<cur>"
    + "|".join(_marker_pattern(m) for m in sorted(_CURRENCY_MARKERS, key=len, reverse=True))
    + ")"
    # A number starts with a digit (or a separator right before one, ".5"), may hold
    # separators and single spaces between digit groups, and never swallows a trailing
    # space.
    + r"|(?P<num>(?:[0-9]|[.,](?=[0-9]))(?:[0-9.,'\u2019]|\s(?=[0-9]))*)"
    + "|(?P<sign>[+"
    + re.escape(_DASH_CHARS)
    + "]+)"
    + r"|(?P<open>\()|(?P<close>\))|(?P<space>\s+)|(?P<other>.)",
    re.IGNORECASE,
)
_GROUP_SPLIT = re.compile(r"[\s'\u2019]+")
_DIGITS = re.compile(r"[0-9]*")


def _parse_digits(text: str, decimal_comma: bool) -> Decimal | None:
    """Read an unsigned number with grouping/decimal separators; None when malformed."""
    has_group = bool(_GROUP_SPLIT.search(text))
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_sep = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        if has_group or text.count(decimal_sep) != 1:
            return None  # three kinds of separators, or two decimal points
        whole, frac = text.split(decimal_sep)
        groups = whole.split(thousands)
    elif dots or commas:
        sep = "." if dots else ","
        if dots + commas > 1:  # repeated separator: thousands grouping
            if has_group:
                return None
            whole, frac = text, ""
            groups = text.split(sep)
        else:
            whole, frac = text.split(sep)
            lone_thousands = (
                not has_group
                and len(frac) == 3
                and 1 <= len(whole) <= 3
                and whole.strip("0") != ""
                and (sep == "," or decimal_comma)
            )
            if lone_thousands:
                groups, frac = [whole, frac], ""
            else:
                groups = _GROUP_SPLIT.split(whole) if has_group else [whole]
    else:
        whole, frac = text, ""
        groups = _GROUP_SPLIT.split(whole)
    if len(groups) > 1 and (
        not 1 <= len(groups[0]) <= 3 or any(len(group) != 3 for group in groups[1:])
    ):
        return None
    digits = "".join(groups)
    if not _DIGITS.fullmatch(digits) or not _DIGITS.fullmatch(frac) or not (digits or frac):
        return None
    return Decimal(f"{digits or '0'}.{frac or '0'}")


def _to_cents(value: Decimal, shown: object) -> AmountResult:
    if not value.is_finite():
        return AmountResult(error=f"'{shown}' is not an amount")
    cents = (value * 100).to_integral_value(rounding=ROUND_HALF_EVEN)
    if abs(cents) >= MAX_CENTS:
        return AmountResult(error=f"'{shown}' is too large for an amount")
    return AmountResult(cents=int(cents))


def parse_amount(value: object) -> AmountResult:
    """Parse a money value into exact integer hundredths and the currency it names.

    Numbers convert exactly (floats through their shortest repr, so ``0.1 + 0.2`` is 30
    cents), rounding half-even to the cent. Text follows the rules in the module
    docstring. Empty, ``None``, NaN and dashes give ``AmountResult()`` (no error).
    """
    kind = type(value)
    if kind is float:
        # Fast paths (a ledger has tens of thousands of numeric cells): whole amounts,
        # and floats within a millionth of a cent of a whole cent below ten million,
        # where the product's error is far below half a cent, so rounding it equals
        # rounding the exact decimal (the property test checks this against Decimal).
        if value.is_integer() and abs(value) < 1e15:
            return AmountResult(cents=int(value) * 100)
        scaled = value * 100
        nearest = round(scaled) if math.isfinite(scaled) else 0
        if abs(value) < 1e7 and abs(scaled - nearest) < 1e-6:
            return AmountResult(cents=nearest)
    elif kind is int and abs(value) < MAX_CENTS // 100:
        return AmountResult(cents=value * 100)
    if _is_missing(value):
        return AmountResult()
    if isinstance(value, (bool, date)):
        # A flag or a date in an amount column is a misplaced column, not a number.
        return AmountResult(error=f"'{value}' is not an amount")
    if isinstance(value, int):
        return _to_cents(Decimal(value), value)
    if isinstance(value, float):
        if math.isinf(value):
            return AmountResult(error=f"'{value}' is not an amount")
        # float.__repr__ (not repr) because numpy 2 scalars repr as "np.float64(...)".
        return _to_cents(Decimal(float.__repr__(value)), value)
    if isinstance(value, Decimal):
        return _to_cents(value, value)
    if isinstance(value, numbers.Integral):
        return _to_cents(Decimal(int(value)), value)
    if isinstance(value, numbers.Real):
        return parse_amount(float(value))
    if isinstance(value, str):
        return _parse_amount_text(value)
    return AmountResult(error=f"'{value}' is not an amount")


@lru_cache(maxsize=65536)
def _parse_amount_text(raw: str) -> AmountResult:
    # Cached: ledgers repeat the same text amounts (and "-") thousands of times.
    text = _nfkc(raw)
    shown = raw.strip()
    bad = AmountResult(error=f"'{shown}' is not an amount")
    if text in _EMPTY_TEXTS:
        return AmountResult()
    number: str | None = None
    number_end = -1
    codes: list[str] = []
    euro_after = False
    minus_before = minus_after = opens = closes = plus = 0
    for match in _AMOUNT_TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "space":
            continue
        if kind == "other":
            return bad
        if kind == "cur":
            code = _MARKER_LOOKUP[token.casefold()]
            codes.append(code)
            euro_after = euro_after or (code == "EUR" and number is not None)
        elif kind == "num":
            if number is not None:
                return bad  # two numbers in one cell
            number, number_end = token, match.end()
        elif kind == "sign":
            if number is None:
                plus += token.count("+")
                minus_before += len(token) - token.count("+")
                if len(token) > 1 and token != "--":
                    return bad
            elif match.start() == number_end and number[-1] in ".," and set(token) <= {"-"}:
                # "1.234,-" / "1.234,--": no cents. The number keeps its trailing
                # separator, which _parse_digits then reads as the decimal one.
                if len(token) > 2:
                    return bad
            elif "+" in token or len(token) > 1:
                return bad
            else:
                minus_after += 1
        elif kind == "open":
            if number is not None:
                return bad
            opens += 1
        elif kind == "close":
            if number is None:
                return bad
            closes += 1
    currency, currency_error = _resolve_currency(codes)
    if currency_error:
        return AmountResult(error=f"'{shown}' {currency_error}")
    if number is None:
        # Only dashes, signs, brackets or a currency: an accounting-format zero/nothing.
        return AmountResult(currency=currency)
    if opens != closes or opens > 1 or plus > 1 or (plus and minus_before):
        return bad
    negatives = minus_before + minus_after + opens
    if negatives > 1:
        return bad
    decimal_comma = "HUF" in codes or euro_after
    magnitude = _parse_digits(number, decimal_comma)
    if magnitude is None:
        return bad
    result = _to_cents(-magnitude if negatives else magnitude, shown)
    if result.error:
        return result
    return AmountResult(cents=result.cents, currency=currency)


def _resolve_currency(codes: list[str]) -> tuple[str | None, str | None]:
    """Combine the currency markers of one cell: (currency, error)."""
    specific = set(codes) - {"$", "¥"}
    if len(specific) > 1:
        return None, "names more than one currency (" + ", ".join(sorted(specific)) + ")"
    if specific:
        currency = next(iter(specific))
        if "$" in codes and currency not in _DOLLAR_CURRENCIES:
            return None, f"mixes $ with {currency}"
        if "¥" in codes and currency not in _YEN_YUAN:
            return None, f"mixes ¥ with {currency}"
        return currency, None
    if "$" in codes and "¥" in codes:
        return None, "mixes $ with ¥"
    if "$" in codes:
        return "USD", None
    return None, None  # bare ¥ (ambiguous yen/yuan) or no currency at all


# ----------------------------------------------------------------------------- flags

_TRUE_WORDS = frozenset(
    {
        "yes",
        "y",
        "true",
        "t",
        "1",
        "x",
        "\u2713",
        "\u2714",
        "\u2611",
        "\u2705",
        "si",
        "s",
        "verdadero",
        "cierto",
        "是",
        "是的",
        "对",
        "對",
        "有",
        "igen",
        "i",
        "igaz",
        "ja",
        "j",
        "wahr",
        "oui",
        "vrai",
    }
)
_FALSE_WORDS = frozenset(
    {
        "no",
        "n",
        "false",
        "f",
        "0",
        "\u2717",
        "\u2718",
        "\u2610",
        "\u274c",
        "falso",
        "否",
        "不",
        "不是",
        "无",
        "無",
        "没有",
        "沒有",
        "nem",
        "hamis",
        "nein",
        "falsch",
        "non",
        "faux",
    }
)


def parse_flag(value: object) -> tuple[bool | None, str | None]:
    """Parse a yes/no cell (``yes``, ``sí``, ``是``, ``igen``, ``x``, ``✓``, ``1``, TRUE ...).

    Returns ``(flag, error)``: ``(None, None)`` for an empty cell or a dash, and
    ``(None, "'maybe' is not yes or no")`` for anything else unreadable.
    """
    if _is_missing(value):
        return None, None
    if isinstance(value, bool) or (
        type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
    ):  # numpy booleans are not bool subclasses
        return bool(value), None
    if isinstance(value, (numbers.Real, Decimal)):
        if value == 1:
            return True, None
        if value == 0:
            return False, None
        return None, f"'{value}' is not yes or no"
    if not isinstance(value, str):
        return None, f"'{value}' is not yes or no"
    text = _nfkc(value)
    if text in _EMPTY_TEXTS:
        return None, None
    word = _fold(text).rstrip(".!")
    if word in _TRUE_WORDS:
        return True, None
    if word in _FALSE_WORDS:
        return False, None
    return None, f"'{value.strip()}' is not yes or no"


# --------------------------------------------------------------------------- numbers

# "30", "30 days", "30 días", "30 nap", "30天", "Net 30", "N30", "45 km", "1,5 km".
# Matched against accent-stripped, casefolded text.
_NUMBER_TEXT = re.compile(
    r"(?:(?:net|neto|netto|n)\s*)?"
    r"(?P<sign>[-+]?)\s*(?P<num>(?:[0-9]|[.,](?=[0-9]))(?:[0-9.,']|\s(?=[0-9]))*)\s*"
    r"(?P<unit>days?|d|dias?|nap|napos|napig|tage?|jours?|j|天|日|"
    r"km|kms|kilometers?|kilometres?|kilometros?|kilometer|公里|千米)?\.?"
    r"(?:\s*(?:net|neto|netos|netto))?",
)


def parse_number(value: object) -> tuple[float | None, str | None]:
    """Parse a plain quantity such as ``terms_days`` or ``distance_km``.

    Accepts numbers and text with a unit (``30 days``, ``30 días``, ``30 nap``, ``30天``,
    ``Net 30``, ``45 km``); returns ``(number, error)``, ``(None, None)`` when empty.
    A lone ``,`` or ``.`` before three digits follows the amount rule (``1,200 km`` is
    1200, ``1.5 km`` is 1.5).
    """
    if _is_missing(value):
        return None, None
    if isinstance(value, bool):
        return None, f"'{value}' is not a number"
    if isinstance(value, numbers.Real) and not isinstance(value, str):
        number = float(value)
        if math.isinf(number):
            return None, f"'{value}' is not a number"
        return number, None
    if isinstance(value, Decimal):
        return (float(value), None) if value.is_finite() else (None, f"'{value}' is not a number")
    if not isinstance(value, str):
        return None, f"'{value}' is not a number"
    return _parse_number_text(value)


@lru_cache(maxsize=16384)
def _parse_number_text(raw: str) -> tuple[float | None, str | None]:
    text = _nfkc(raw)
    if text in _EMPTY_TEXTS:
        return None, None
    match = _NUMBER_TEXT.fullmatch(_fold(text))
    magnitude = _parse_digits(match["num"], False) if match else None
    if magnitude is None:
        return None, f"'{raw.strip()}' is not a number"
    number = float(magnitude)
    return (-number if match["sign"] == "-" else number), None


# ----------------------------------------------------------------------------- dates

_EPOCH_1900 = date(1899, 12, 30)  # serial 61 and above: Excel's day count after the bug
_EPOCH_1904 = date(1904, 1, 1)
_MAX_SERIAL_1900 = 2958465  # 9999-12-31
_MAX_SERIAL_1904 = _MAX_SERIAL_1900 - 1462


def excel_serial_to_date(serial: float, date1904: bool) -> date:
    """Return the date of an Excel serial day number (any time fraction is dropped).

    1900 system: serial 1 is 1900-01-01; Excel (copying Lotus 1-2-3) counts a fictitious
    1900-02-29 as serial 60, so serials below 61 are shifted by one day and serial 60
    itself comes out as 1900-03-01. 1904 system: serial 0 is 1904-01-01.
    Raises ``ValueError`` for a serial outside the calendar (negative, NaN, past 9999).
    """
    if not math.isfinite(serial) or serial < 0:
        raise ValueError(f"{serial!r} is not an Excel date serial")
    days = math.floor(serial)
    try:
        if date1904:
            return _EPOCH_1904 + timedelta(days=days)
        return _EPOCH_1900 + timedelta(days=days + 1 if days < 61 else days)
    except OverflowError:
        raise ValueError(f"{serial!r} is not an Excel date serial") from None


@lru_cache(maxsize=65536)
def _serial_date(days: int, date1904: bool) -> date | None:
    """Date of an integral serial in the plausible range, else None (cached: columns
    repeat the same few hundred dates)."""
    low, high = (0, _MAX_SERIAL_1904) if date1904 else (1, _MAX_SERIAL_1900)
    if not low <= days <= high:
        return None
    return excel_serial_to_date(days, date1904)


def _number_to_date(number: float, date1904: bool) -> date | None:
    """An Excel serial, or an integer written yyyymmdd (ERP exports: 20260915)."""
    if not math.isfinite(number):
        return None
    found = _serial_date(math.floor(number), date1904)
    if found is None and number == int(number) and 19000101 <= number <= 99991231:
        whole = int(number)
        try:
            return date(whole // 10000, whole // 100 % 100, whole % 100)
        except ValueError:
            return None
    return found


@dataclass(frozen=True)
class DateColumnResult:
    """Dates of one column, with per-value errors and the day/month order that was used.

    ``order`` is ``"dmy"`` or ``"mdy"`` when the column held numeric day/month text,
    else ``None``. ``ambiguous`` is True when such text could be read either way and no
    unambiguous value decided (day-first was then used under ``order="auto"``).
    """

    dates: list[date | None]
    errors: list[str | None]
    order: str | None
    ambiguous: bool


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan enero ene januar janner jan janvier janv",
        "february feb febrero februar febr fevrier fevr",
        "march mar marzo marcius marc marz mrz mars",
        "april apr abril abr aprilis avril avr",
        "may mayo majus maj mai",
        "june jun junio junius juni juin",
        "july jul julio julius juli juil juillet",
        "august aug agosto ago augusztus aout",
        "september sep sept septiembre setiembre set szeptember szept szep septembre",
        "october oct octubre oktober okt octobre",
        "november nov noviembre novembre",
        "december dec diciembre dic dezember dez decembre",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

# Words that may surround a month-name date: weekdays, "de", ordinal suffixes (15th, 1er).
_DATE_FILLER = frozenset(
    word
    for line in (
        "de del of the st nd rd th er o a el le den am en",
        "monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun",
        "lunes martes miercoles jueves viernes sabado domingo",
        "hetfo kedd szerda csutortok pentek szombat vasarnap",
        "montag dienstag mittwoch donnerstag freitag samstag sonntag",
        "lundi mardi mercredi jeudi vendredi samedi dimanche",
    )
    for word in line.split()
)

_TIME_BODY = (
    r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    r"\s*(?:[ap]\.?m\.?)?\s*(?:z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_TIME = r"(?:(?:\s+|T)" + _TIME_BODY + ")?"  # an optional time of day, dropped
_YMD_TEXT = re.compile(
    r"(?P<y>[0-9]{4})\s*(?P<sep>[-/.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})\s*\.?"
    + _TIME,
    re.IGNORECASE,
)
_DMY_TEXT = re.compile(
    r"([0-9]{1,2})\s*([-/.])\s*([0-9]{1,2})\s*\2\s*([0-9]{4}|[0-9]{2})\.?" + _TIME,
    re.IGNORECASE,
)
_CJK_TEXT = re.compile(
    r"(?P<y>[0-9]{4})\s*[年년]\s*(?P<m>[0-9]{1,2})\s*[月월]\s*(?P<d>[0-9]{1,2})\s*[日号號일]?"
    + _TIME,
    re.IGNORECASE,
)
_SERIAL_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_TRAILING_TIME = re.compile(r"\s+" + _TIME_BODY + "$", re.IGNORECASE)
_WORD_OR_NUMBER = re.compile(r"[^\W\d_]+|[0-9]+")


def _make_date(year: int, month: int, day: int) -> date | None:
    if year < 1900:  # 0026 or 1026: a typo, not a receivable
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


# Results of _parse_text_date: ("none",) empty; ("date", d); ("error",);
# ("dm", day_first_date_or_None, month_first_date_or_None) for numeric day/month text.
_NONE = ("none",)
_ERROR = ("error",)


@lru_cache(maxsize=65536)
def _parse_text_date(raw: str, date1904: bool) -> tuple:
    """Parse one text date; cached by value since columns repeat the same dates."""
    text = _nfkc(raw)
    if text in _EMPTY_TEXTS:
        return _NONE
    match = _YMD_TEXT.fullmatch(text) or _CJK_TEXT.fullmatch(text)
    if match:
        found = _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
        return ("date", found) if found else _ERROR
    match = _DMY_TEXT.fullmatch(text)
    if match:
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        if len(match[4]) == 2:
            year += 2000
        day_first, month_first = _make_date(year, second, first), _make_date(year, first, second)
        if day_first is None and month_first is None:
            return _ERROR
        if day_first == month_first:
            return ("date", day_first)
        return ("dm", day_first, month_first)
    if _SERIAL_TEXT.fullmatch(text):
        found = _number_to_date(float(text), date1904)
        return ("date", found) if found else _ERROR
    found = _parse_month_name_date(text)
    return ("date", found) if found else _ERROR


def _parse_month_name_date(text: str) -> date | None:
    """``15 Sep 2026``, ``Sep 15, 2026``, ``15 de septiembre de 2026``, ``2026. szept. 15.``."""
    folded = _TRAILING_TIME.sub("", _fold(text))
    month = None
    numbers_: list[str] = []
    for token in _WORD_OR_NUMBER.findall(folded):
        if token.isdigit():
            numbers_.append(token)
        elif token in _MONTHS and month is None:
            month = _MONTHS[token]
        elif token not in _DATE_FILLER:
            return None
    if month is None or len(numbers_) != 2:
        return None
    long_years = [n for n in numbers_ if len(n) == 4]
    if len(long_years) == 1:
        year_text = long_years[0]
        day_text = numbers_[1] if numbers_[0] == year_text else numbers_[0]
    else:
        day_text, year_text = numbers_  # "15-Sep-26": day then two-digit year
    if len(day_text) > 2 or len(year_text) not in (2, 4):
        return None
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    return _make_date(year, month, int(day_text))


def parse_date_column(
    values: Sequence[object], *, date1904: bool = False, order: str = "auto"
) -> DateColumnResult:
    """Parse one column of dates, deciding day-first vs month-first for the whole column.

    Accepts dates, datetimes and Timestamps (time dropped), Excel serials as numbers or
    numeric text (1..2958465; 0.. in the 1904 system), ``yyyymmdd`` integers, and text in
    the forms listed in the module docstring. ``order`` is ``"auto"`` (decide from the
    column), ``"dmy"`` or ``"mdy"`` (force). Empty cells and dashes give ``None`` without
    an error; unreadable values give ``None`` and ``"'31/02/2026' is not a date"``.
    """
    if order not in ("auto", "dmy", "mdy"):
        raise ValueError(f"order must be 'auto', 'dmy' or 'mdy', not {order!r}")
    scan = _scan_dates(values, date1904)
    if not scan.pending:
        return DateColumnResult(scan.dates, scan.errors, None, False)
    ambiguous = False
    if order == "auto":
        if scan.votes_dmy != scan.votes_mdy:
            order = "dmy" if scan.votes_dmy > scan.votes_mdy else "mdy"
        else:
            order = "dmy"  # no evidence, or a tie: day-first, the habit of most locales
            ambiguous = scan.ambiguous_count > 0
    day_first_order = order == "dmy"
    for index, text, day_first, month_first in scan.pending:
        found = day_first if day_first_order else month_first
        scan.dates[index] = found
        if found is None:
            wanted = "day/month/year" if day_first_order else "month/day/year"
            scan.errors[index] = (
                f"'{text.strip()}' is not a date in {wanted} order like the rest of the column"
            )
    return DateColumnResult(scan.dates, scan.errors, order, ambiguous)


@dataclass
class _DateScan:
    """A column's dates read value by value, with the numeric day/month texts left
    ``pending`` until the column's order is known, and the votes for each order."""

    dates: list[date | None]
    errors: list[str | None]
    pending: list[tuple[int, str, date | None, date | None]] = field(default_factory=list)
    votes_dmy: int = 0
    votes_mdy: int = 0
    ambiguous_count: int = 0


def _scan_dates(values: Sequence[object], date1904: bool) -> _DateScan:
    """Read every value that is a date whatever the column's order (see
    :func:`parse_date_column`)."""
    scan = _DateScan([None] * len(values), [None] * len(values))
    dates, errors = scan.dates, scan.errors
    # The loop tests the common types first (datetime before date: it is a subclass) so
    # that 100k already-typed values take well under a second.
    for index, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, datetime):
            if value != value:  # NaT
                continue
            dates[index] = value.date()
        elif isinstance(value, date):
            dates[index] = value
        elif isinstance(value, str):
            parsed = _parse_text_date(value, date1904)
            kind = parsed[0]
            if kind == "date":
                dates[index] = parsed[1]
            elif kind == "dm":
                _vote(scan, index, value, parsed[1], parsed[2])
            elif kind == "error":
                errors[index] = f"'{value.strip()}' is not a date"
        elif isinstance(value, float):
            if value != value:
                continue
            found = _number_to_date(value, date1904)
            if found is None:
                errors[index] = f"'{value:g}' is not a date"
            dates[index] = found
        elif isinstance(value, int) and not isinstance(value, bool):
            found = _number_to_date(value, date1904)
            if found is None:
                errors[index] = f"'{value}' is not a date"
            dates[index] = found
        else:
            dates[index], errors[index] = _other_to_date(value, date1904)
    return scan


def _vote(
    scan: _DateScan, index: int, text: str, day_first: date | None, month_first: date | None
) -> None:
    """Keep a numeric day/month text for later; its readings vote for the order."""
    scan.pending.append((index, text, day_first, month_first))
    if day_first and month_first:
        scan.ambiguous_count += 1
    elif day_first:
        scan.votes_dmy += 1
    else:
        scan.votes_mdy += 1


def _other_to_date(value: object, date1904: bool) -> tuple[date | None, str | None]:
    """The slow path: numpy/Decimal numbers, numpy datetimes, pd.NA, booleans, others."""
    if _is_missing(value):
        return None, None
    if isinstance(value, bool):
        return None, f"'{value}' is not a date"
    if isinstance(value, (numbers.Real, Decimal)):
        try:
            found = _number_to_date(float(value), date1904)
        except (InvalidOperation, ValueError, OverflowError):
            found = None
        return found, None if found else f"'{value}' is not a date"
    if type(value).__name__ == "datetime64":
        import pandas as pd  # only numpy datetimes need it; keep the module import light

        stamp = pd.Timestamp(value)
        return (None, None) if stamp is pd.NaT else (stamp.date(), None)
    return None, f"'{value}' is not a date"
