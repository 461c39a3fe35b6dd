"""SMS arithmetic: phone numbers in E.164 and the segments a text costs. Pure.

A text goes in GSM-7 when every character is in the GSM 03.38 alphabet (the characters
of the extension table, ``€ [ ] { } \\ ^ ~ |``, take two septets each), else in UCS-2.
One segment holds 160 GSM-7 septets or 70 UCS-2 units; a longer text is split into parts
of 153 septets or 67 units (the rest is the concatenation header), and an escape pair or
a surrogate pair is never split across parts.

Numbers are read with ``phonenumbers`` (Google's libphonenumber metadata) in the
customer's country: from the ``region`` cell when it names a country, else the country
named on the last line of the address, else ``general.country``. A number written with
``+`` or ``00`` keeps its own country.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from babel import Locale

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "GSM-7"
UCS2 = "UCS-2"


def encoding_of(text: str) -> str:
    """``GSM-7`` when the GSM alphabet (with its extension table) holds the text, else UCS-2."""
    return GSM7 if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text) else UCS2


def _units(text: str, encoding: str) -> list[int]:
    # Septets (GSM-7) or UTF-16 code units (UCS-2) of each character.
    if encoding == GSM7:
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segments(text: str) -> tuple[str, int]:
    """``(encoding, parts)``: how the text goes and how many SMS segments it costs."""
    encoding = encoding_of(text)
    units = _units(text, encoding)
    single, part = (160, 153) if encoding == GSM7 else (70, 67)
    if sum(units) <= single:
        return encoding, 1 if text else 0
    count, used = 1, 0
    for size in units:  # an escape or surrogate pair is never split across parts
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return encoding, count


def length(text: str) -> int:
    """Characters as the gateway counts them: septets (GSM-7) or UTF-16 units (UCS-2)."""
    return sum(_units(text, encoding_of(text)))


# ---- countries ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    # Country names in the seed languages (and de/fr), casefolded without accents -> code.
    names: dict[str, str] = {}
    for language in ("en", "es", "hu", "zh", "de", "fr"):
        for code, name in Locale(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(_fold(name), code)
    names.update(
        {
            _fold(k): v
            for k, v in {
                "UK": "GB",
                "England": "GB",
                "Scotland": "GB",
                "Wales": "GB",
                "Great Britain": "GB",
                "Britain": "GB",
                "USA": "US",
                "U.S.A.": "US",
                "PRC": "CN",
                "Magyarország": "HU",
                "España": "ES",
                "中国": "CN",
                "中华人民共和国": "CN",
                "Deutschland": "DE",
            }.items()
        }
    )
    return names


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return re.sub(
        r"[\s.'’-]+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))
    ).strip()


def country_code(text: str | None) -> str | None:
    """``ES`` from ``ES``, ``es``, ``Spain``, ``España``, ``Spanyolország`` or ``西班牙``."""
    if not text or not text.strip():
        return None
    cleaned = text.strip()
    if re.fullmatch(r"[A-Za-z]{2}", cleaned):
        code = cleaned.upper()
        code = "GB" if code == "UK" else code
        return code if code in phonenumbers.SUPPORTED_REGIONS else None
    return _country_names().get(_fold(cleaned))


def customer_country(region: str | None, address: str | None, default: str) -> str:
    """The customer's country: the region cell, the address's last line, else ``default``."""
    found = country_code(region)
    if found:
        return found
    lines = [line for line in re.split(r"[\n,]", address or "") if line.strip()]
    if lines:
        found = country_code(lines[-1])
        if found:
            return found
    return default.upper()


def e164(number: str | None, country: str) -> str | None:
    """``+34612345678`` from ``612 34 56 78`` in ES (None when it is not a valid number).

    ``00`` is read as the international prefix, so ``0044 7700 900123`` works anywhere.
    Fixed lines are numbers too; :func:`is_mobile` tells whether a text can reach it.
    """
    text = (number or "").strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, country.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(number_e164: str) -> bool | None:
    """True for a mobile number, False for a fixed line, None when the plan cannot tell."""
    kind = phonenumbers.number_type(phonenumbers.parse(number_e164, None))
    if kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.PAGER):
        return True
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return False
    return None
