"""The Hungarian definite article: ``a`` before a consonant sound, ``az`` before a vowel sound.

Written Hungarian chooses the article by how the next word is *read aloud*: ``az Acme``,
``a Kovács``, ``az 1. számla`` (``első``), ``a 2026`` (``kétezer-huszonhat``), ``az 5``
(``öt``), ``az 1000`` (``ezer``), ``a 100`` (``száz``), ``az MNB`` (``em-en-bé``),
``a KSH`` (``ká-es-há``). Letters use it as the ``hu_article`` filter instead of the
clumsy ``a(z)``.
"""

from __future__ import annotations

import re
import unicodedata

VOWELS = frozenset("aáeéiíoóöőuúüű")
# Letters whose Hungarian name starts with a vowel sound (ef, el, em, en, er, es, iksz,
# ipszilon, and the vowels themselves): an acronym starting with one takes "az".
_VOWEL_NAMED_LETTERS = frozenset("AÁEÉIÍOÓÖŐUÚÜŰFLMNRSXY")
_NUMBER = re.compile(r"\d[\d\s.\u00a0\u202f]*")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _number_takes_az(digits: str) -> bool:
    """True when the number ``digits`` is read with an initial vowel (egy, öt, ezer...)."""
    value = int(digits)
    if value == 0:
        return False  # nulla
    lead = value
    while lead >= 1000:
        lead //= 1000
    # 1 = egy (or első), 1000 = ezer, 1,000,000 = egymillió; 5 = öt, 50-59 = ötven...,
    # 500-599 = ötszáz...: vowels. 10-19 (tíz, tizen-), 100-199 (száz), 2-4 and 6-9
    # (kettő, három, négy, hat, hét, nyolc, kilenc): consonants.
    return lead == 1 or lead == 5 or 50 <= lead <= 59 or 500 <= lead <= 599


def takes_az(text: str) -> bool:
    """True when ``text`` is read with a vowel sound first, so it takes ``az``."""
    cleaned = unicodedata.normalize("NFC", str(text)).lstrip(" \t\"'„“”«»(–-")
    if not cleaned:
        return False
    if cleaned[0].isdigit():
        match = _NUMBER.match(cleaned)
        digits = re.sub(r"\D", "", match.group(0).split(".")[0]) if match else "0"
        return _number_takes_az(digits or "0")
    word = _WORD.match(cleaned)
    if word is None:
        return False
    token = word.group(0)
    if 2 <= len(token) <= 4 and token.isupper():
        return token[0] in _VOWEL_NAMED_LETTERS  # an acronym, read letter by letter
    return token[0].lower() in VOWELS


def hu_article(text: object, capital: bool = False) -> str:
    """``az Acme Kft.`` / ``a Kovács Kft.``: ``text`` with its article (``Az``/``A`` if capital)."""
    value = "" if text is None else str(text)
    article = "az" if takes_az(value) else "a"
    if capital:
        article = article.capitalize()
    return f"{article} {value}" if value else article
