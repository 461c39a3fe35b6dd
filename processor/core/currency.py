"""Currency codes from what people write in a currency column: codes, symbols, words."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel.numbers import get_currency_precision

# Symbols and words as they appear in ledgers of the seed languages.
_ALIASES = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dolar": "USD",
    "dólar": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "libra": "GBP",
    "ft": "HUF",
    "huf": "HUF",
    "forint": "HUF",
    "元": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "人民币": "CNY",
    "人民幣": "CNY",
    "cn¥": "CNY",
    "¥": "JPY",
    "jpy": "JPY",
    "円": "JPY",
    "yen": "JPY",
    "chf": "CHF",
    "fr.": "CHF",
    "sfr": "CHF",
    "zł": "PLN",
    "pln": "PLN",
    "kč": "CZK",
    "czk": "CZK",
    "lei": "RON",
    "ron": "RON",
    "mxn": "MXN",
    "mx$": "MXN",
    "ars": "ARS",
    "clp": "CLP",
    "cop": "COP",
    "pen": "PEN",
    "s/": "PEN",
    "r$": "BRL",
    "brl": "BRL",
    "hk$": "HKD",
    "hkd": "HKD",
    "nt$": "TWD",
    "twd": "TWD",
    "₩": "KRW",
    "krw": "KRW",
    "₹": "INR",
    "inr": "INR",
    "a$": "AUD",
    "aud": "AUD",
    "c$": "CAD",
    "cad": "CAD",
    "sek": "SEK",
    "nok": "NOK",
    "dkk": "DKK",
}


def currency_code(text: object) -> str | None:
    """Return the ISO 4217 code for a currency cell (``'€'``, ``'Ft'``, ``'usd'``), or None.

    A three-letter alphabetic text is taken as a code as it stands.
    """
    if text is None:
        return None
    cleaned = unicodedata.normalize("NFKC", str(text)).strip()
    if not cleaned:
        return None
    key = cleaned.casefold()
    if key in _ALIASES:
        return _ALIASES[key]
    if len(cleaned) == 3 and cleaned.isascii() and cleaned.isalpha():
        return cleaned.upper()
    return None


@lru_cache(maxsize=256)
def currency_digits(code: object) -> int:
    """Decimals ``code`` is written with (CLDR, via babel): HUF and JPY 0, KWD 3, else 2."""
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha():
        return 2
    return get_currency_precision(code.upper())
