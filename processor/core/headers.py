"""Recognise ledger column headers in English, Spanish, Chinese, Hungarian, German, French.

The built-in names live in ``headers.toml`` beside this module; users add names per
field in the ``[headers]`` table of their rules (``rules.headers``), and those win.

Matching rule (documented for users in the README):

1. **Exact**: the header and a known name are equal after :func:`normalise_header`
   (case, accents, spaces and punctuation ignored; ``#``, ``Nº``, ``N°``, ``No.`` all read
   ``no``; CJK characters kept).
2. **Fuzzy, conservative**: otherwise the header is split into words (each CJK character
   is a word) and every known name found in it as a run of whole words is collected;
   names lying inside a longer found name are dropped ("Invoice" inside "Invoice date").
   The header maps to a field only when every remaining name belongs to that one field,
   at least one of them starts or ends the header ("Customer name (legal)",
   "Saldo EUR", "Balance due in USD"), and not all of them are *exact-only* names. Names
   too generic to extend ("Date", "Total", "Due", "Name") are exact-only: they never make
   a fuzzy match, but they still veto one ("Payment date" names nothing; "Days past due"
   is not a due date). A header naming two different fields ("Customer email" aside,
   which is listed) maps to nothing: one header never maps to two fields.
3. **Word stems**: otherwise each word (camelCase split) is matched against the stems of
   ``header_stems.toml`` (``promis``/``comprom``/``iger``/``zusag``/``承诺`` = promise,
   ``due``/``venc``/``esedek``/``hatarid``/``fallig``/``到期`` = due, ...) and the concepts
   found decide the field by :data:`_STEM_RULES` ("Fecha de pago comprometida" is a
   promise date, "Remaining Amt. (LCY)" a balance, "Days past due" nothing). Such a match
   ranks below the two above when two columns claim one field, and
   :meth:`HeaderMatcher.explain` says which stems decided it (shown in *Exceptions*).

:func:`score_header_row` scores a candidate header row so the reader can pick the header
row and the receivables sheet: mapped fields add weight, the required ones (customer,
balance or amount, due date or invoice date) far more.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from .frame import FIELDS

__all__ = [
    "HeaderMatch",
    "HeaderMatcher",
    "header_concepts",
    "known_names",
    "normalise_header",
    "score_header_row",
    "stem_field",
]

# Weight of each field in a header row's score. The required groups dominate so that a
# row with customer + balance + due date beats any row of optional columns.
_WEIGHTS: dict[str, int] = {
    "customer": 10,
    "balance": 8,
    "amount": 6,
    "due_date": 8,
    "invoice_date": 5,
    "invoice": 3,
    "paid": 2,
    "customer_id": 2,
    "terms_days": 2,
    "currency": 2,
}
_COMPLETE_BONUS = 20
# The required groups of design.md §3, as (description, any of these fields). A customer
# number stands in for a missing customer name.
_REQUIRED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("customer", ("customer", "customer_id")),
    ("balance or amount", ("balance", "amount")),
    ("due_date or invoice_date", ("due_date", "invoice_date")),
)


_MAX_HEADER_CHARS = 256


def _is_wide(char: str) -> bool:
    # CJK ideographs, kana and hangul are written without spaces: each character is
    # treated as a word so that "客户名称（全称）" contains the name "客户名称".
    return unicodedata.east_asian_width(char) in ("W", "F")


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    """Words of a header after normalisation (see :func:`normalise_header`)."""
    # No header or totals label is longer than this; a cell of 32,000 characters would
    # otherwise be normalised character by character on every row that is read.
    text = text[:_MAX_HEADER_CHARS]
    # '#', 'Nº', 'N°' and 'No.' are all "number" abbreviations; NFKD already turns the
    # ordinal º into 'o' and '№' into 'No', so only '#' and the degree sign remain.
    text = unicodedata.normalize("NFKD", text).replace("#", " no ").replace("\u00b0", "o")
    # Casefolding can produce decomposable characters (and NFKD casefoldable ones), so
    # repeat until stable: this is what makes normalise_header idempotent.
    while True:
        folded = unicodedata.normalize("NFKD", text.casefold())
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
        if folded == text:
            break
        text = folded
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char.isalnum() and not _is_wide(char):
            current.append(char)
            continue
        if current:
            words.append("".join(current))
            current = []
        if char.isalnum():
            words.append(char)
    if current:
        words.append("".join(current))
    return tuple(words)


def normalise_header(text: object) -> str:
    """Return the matching key of a header: case-, accent-, space- and punctuation-free.

    ``"Nº Factura"``, ``"N° factura"``, ``"no. factura"`` and ``"NO FACTURA"`` all give
    ``"nofactura"``; ``"Inv #"`` gives ``"invno"``; CJK characters are kept
    (``"客户名称（全称）"`` gives ``"客户名称全称"``). ``None`` gives ``""``.
    """
    if text is None:
        return ""
    return "".join(_tokens(str(text)))


@lru_cache(maxsize=1)
def _packaged() -> dict[str, dict[str, list[str]]]:
    text = resources.files(__package__).joinpath("headers.toml").read_text("utf-8")
    return tomllib.loads(text)


def known_names() -> dict[str, list[str]]:
    """Return the built-in header names per canonical field (in FIELDS order, no repeats)."""
    data = _packaged()
    names: dict[str, list[str]] = {}
    for field_name in FIELDS:
        seen: list[str] = []
        for key, values in data.get(field_name, {}).items():
            if key == "exact":
                continue
            seen.extend(value for value in values if value not in seen)
        names[field_name] = seen
    return names


def _exact_only() -> dict[str, str]:
    """Normalised built-in names that match only exactly, with their field."""
    return {
        normalise_header(name): field_name
        for field_name in FIELDS
        for name in _packaged().get(field_name, {}).get("exact", [])
    }


@lru_cache(maxsize=1)
def _stems() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(long latin stems, short latin words, CJK stems), each mapping to its concept."""
    text = resources.files(__package__).joinpath("header_stems.toml").read_text("utf-8")
    long: dict[str, str] = {}
    short: dict[str, str] = {}
    wide: dict[str, str] = {}
    for concept, languages in tomllib.loads(text).items():
        for stems in languages.values():
            for stem in stems:
                key = normalise_header(stem)
                if not key:
                    continue
                if any(_is_wide(ch) for ch in key):
                    wide.setdefault(key, concept)
                elif len(key) < 4:
                    short.setdefault(key, concept)
                else:
                    long.setdefault(key, concept)
    return long, short, wide


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def header_concepts(text: str) -> dict[str, str]:
    """Concept -> the stem that found it, for the words of a header (see header_stems.toml)."""
    long, short, wide = _stems()
    words = _tokens(_CAMEL.sub(" ", text))
    found: dict[str, str] = {}
    for word in words:
        if word in short:
            found.setdefault(short[word], word)
            continue
        for stem, concept in long.items():
            if word.startswith(stem):
                found.setdefault(concept, stem)
                break
    key = "".join(words)
    for stem, concept in wide.items():
        if stem in key:
            found.setdefault(concept, stem)
    return found


# Linking words that carry no meaning of their own in a header.
_LINKING = frozenset(
    (
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "for",
        "to",
        "on",
        "at",
        "by",
        "per",
        "de",
        "del",
        "la",
        "el",
        "los",
        "las",
        "y",
        "en",
        "para",
        "por",
        "und",
        "der",
        "die",
        "das",
        "im",
        "zum",
        "zur",
        "von",
        "et",
        "le",
        "les",
        "des",
        "du",
        "au",
        "az",
        "es",
    )
)


def _plain_enough(text: str) -> bool:
    """Whether a header is short and plain enough to be read by its stems.

    Titles and sentences ("Accounts receivable at 31 October", "Old balance brought
    forward") are not headers: at most two words may be neither a stem nor a linking word.
    """
    long, short, _ = _stems()
    unexplained = 0
    for word in _tokens(_CAMEL.sub(" ", text)):
        if word.isdigit() or _is_wide(word[0]) or word in _LINKING or word in short:
            continue
        if not any(word.startswith(stem) for stem in long):
            unexplained += 1
    return unexplained <= 2


def _has(concepts: Mapping[str, str], *names: str) -> bool:
    return all(name in concepts for name in names)


# (field, test on the concepts found), first match wins. Overdue/age words come first:
# "Days past due", "Past due" and aging buckets name no field of a ledger row.
_STEM_RULES: tuple[tuple[str | None, object], ...] = (
    (None, lambda c: _has(c, "overdue")),
    (None, lambda c: _has(c, "open", "paid")),
    (None, lambda c: _has(c, "promise", "money") and "date" not in c),
    ("promise_date", lambda c: _has(c, "promise")),
    ("dispute_reason", lambda c: _has(c, "dispute", "reason")),
    (None, lambda c: "dispute" in c and ("date" in c or "money" in c)),
    ("disputed", lambda c: _has(c, "dispute")),
    ("balance", lambda c: _has(c, "open") and "date" not in c),
    ("balance", lambda c: _has(c, "due", "money")),
    ("paid", lambda c: _has(c, "paid") and "date" not in c),
    ("due_date", lambda c: _has(c, "due")),
    ("invoice_date", lambda c: _has(c, "invoice", "date")),
    ("customer_id", lambda c: _has(c, "customer", "ident")),
    ("customer", lambda c: _has(c, "customer") and not {"date", "money", "invoice"} & set(c)),
    ("invoice", lambda c: _has(c, "invoice", "ident")),
    ("amount", lambda c: _has(c, "money") and "date" not in c),
    ("currency", lambda c: _has(c, "currency") and "date" not in c),
    ("terms_days", lambda c: _has(c, "terms") and "date" not in c),
)


def stem_field(text: str) -> tuple[str | None, dict[str, str]]:
    """(field, concepts) a header names by its word stems alone (rule 3 of the module)."""
    concepts = header_concepts(text)
    if not concepts or not _plain_enough(text):
        return None, concepts
    for field_name, test in _STEM_RULES:
        if test(concepts):  # type: ignore[operator]
            return field_name, concepts
    return None, concepts


@dataclass(frozen=True)
class HeaderMatch:
    """The fields recognised in one candidate header row.

    ``columns`` maps a 0-based position in the row to its field. ``unmapped`` lists the
    non-empty text cells that name no field, plus ``duplicates``: cells naming a field
    that an earlier cell (or an exact match, see :meth:`HeaderMatcher.score_header_row`)
    already took. ``missing`` names the required groups that are absent.
    """

    columns: Mapping[int, str]
    unmapped: tuple[int, ...]
    duplicates: Mapping[int, str]
    missing: tuple[str, ...]
    score: int
    fields: Mapping[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when customer, balance or amount, and a due or invoice date are all mapped."""
        return not self.missing


class HeaderMatcher:
    """Maps header texts to canonical fields from the built-in names plus user overrides.

    ``overrides`` is ``rules.headers``: field -> extra names. An override name wins over
    a built-in name with the same normalised key. Names for unknown fields are ignored
    and listed in ``unknown_fields`` for the caller to report.
    """

    def __init__(self, overrides: Mapping[str, Sequence[str] | str] | None = None) -> None:
        """Build the lookup tables (cheap: a few hundred names)."""
        names_by_field = known_names()
        exact_only = _exact_only()
        # key -> field; later entries overwrite, so user overrides come last and win.
        self._exact: dict[str, str] = {}
        phrases: list[tuple[tuple[str, ...], str]] = []
        for field_name, names in names_by_field.items():
            for name in names:
                phrases.append((_tokens(name), field_name))
                self._exact[normalise_header(name)] = field_name
        self._exact_only = set(exact_only)
        unknown: list[str] = []
        for field_name, names in (overrides or {}).items():
            if field_name not in FIELDS:
                unknown.append(field_name)
                continue
            for name in [names] if isinstance(names, str) else names:
                key = normalise_header(name)
                if not key:
                    continue
                phrases.append((_tokens(name), field_name))
                self._exact[key] = field_name
                self._exact_only.discard(key)  # the user asked for it: let it extend
        self.unknown_fields: tuple[str, ...] = tuple(unknown)
        # Fuzzy index: first word -> [(words, key)]; the field is looked up through the
        # key so that an override re-targets every spelling of a name.
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for words, _ in phrases:
            if not words:
                continue
            entry = (words, "".join(words))
            bucket = self._by_first.setdefault(words[0], [])
            if entry not in bucket:
                bucket.append(entry)
        self._cache: dict[str, tuple[str | None, int]] = {}

    def match(self, text: object) -> str | None:
        """Return the canonical field a header names, or None (see the module rule)."""
        return self._match(text)[0]

    def explain(self, text: object) -> str | None:
        """How a header matched when word stems decided it (else None): for *Exceptions*.

        ``"word stems: comprom (promise), fecha (date)"``.
        """
        field_name, rank = self._match(text)
        if field_name is None or rank != _STEM:
            return None
        _, concepts = stem_field(str(text))
        return "word stems: " + ", ".join(
            f"{stem} ({concept})" for concept, stem in concepts.items()
        )

    def _match(self, text: object) -> tuple[str | None, int]:
        """(field, rank: 0 exact, 1 whole words, 2 word stems) for a header; cached."""
        if text is None:
            return None, _EXACT
        raw = str(text)
        cached = self._cache.get(raw)
        if cached is not None:
            return cached
        words = _tokens(raw)
        key = "".join(words)
        if not key:
            result: tuple[str | None, int] = (None, _EXACT)
        elif key in self._exact:
            result = (self._exact[key], _EXACT)
        else:
            found = self._fuzzy(words)
            stemmed, concepts = stem_field(raw)
            if found is not None and not (
                _OVERRIDING.intersection(concepts) and found not in _HELD_FIELDS
            ):
                result = (found, _WORDS)
            else:
                # No known name decided it, or one did but the header also speaks of a
                # promise, a dispute or lateness ("Zugesagter Zahlungstermin" is a
                # promise, not a due date; "Balance past due" is no balance column).
                result = (stemmed, _STEM)
        self._cache[raw] = result
        return result

    def _fuzzy(self, words: tuple[str, ...]) -> str | None:
        found: list[tuple[int, int, str]] = []  # (start, end, key) of each name found
        for start, word in enumerate(words):
            for phrase, key in self._by_first.get(word, ()):
                end = start + len(phrase)
                if words[start:end] == phrase:
                    found.append((start, end, key))
        # Keep only maximal names: "invoice date" swallows "invoice" and "date".
        kept = [
            (start, end, key)
            for start, end, key in found
            if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in found)
        ]
        fields = {self._exact[key] for _, _, key in kept}
        if len(fields) != 1:
            return None
        touches_edge = any(start == 0 or end == len(words) for start, end, _ in kept)
        extendable = any(key not in self._exact_only for _, _, key in kept)
        return fields.pop() if touches_edge and extendable else None

    def score_header_row(self, cells: Sequence[object]) -> HeaderMatch:
        """Map one candidate header row and score it.

        Only text cells count. Each field is taken once: exact matches first, then fuzzy
        ones, left to right within each, so an exact "Invoice date" further right beats
        a fuzzy "Date (posted)" to its left; the losers are listed as duplicates.
        """
        ranked: tuple[list[tuple[int, str]], ...] = ([], [], [])
        unmapped: list[int] = []
        for index, cell in enumerate(cells):
            if not isinstance(cell, str) or not cell.strip():
                continue
            field_name, rank = self._match(cell)
            if field_name is None:
                unmapped.append(index)
            else:
                ranked[rank].append((index, field_name))
        fields: dict[str, int] = {}
        duplicates: dict[int, str] = {}
        for index, field_name in ranked[_EXACT] + ranked[_WORDS] + ranked[_STEM]:
            if field_name in fields:
                duplicates[index] = field_name
            else:
                fields[field_name] = index
        columns = dict(sorted((index, name) for name, index in fields.items()))
        missing = tuple(
            label for label, group in _REQUIRED if not any(name in fields for name in group)
        )
        score = sum(_WEIGHTS.get(name, 1) for name in fields)
        if not missing:
            score += _COMPLETE_BONUS
        return HeaderMatch(
            columns=columns,
            unmapped=tuple(sorted(unmapped + list(duplicates))),
            duplicates=dict(sorted(duplicates.items())),
            missing=missing,
            score=score,
            fields=fields,
        )


_EXACT, _WORDS, _STEM = 0, 1, 2
# Concepts that overrule a whole-word match naming another field, and those fields.
_OVERRIDING = frozenset({"promise", "dispute", "overdue"})
_HELD_FIELDS = frozenset({"promise_date", "disputed", "dispute_reason"})


@lru_cache(maxsize=1)
def _default_matcher() -> HeaderMatcher:
    return HeaderMatcher()


def score_header_row(cells: Sequence[object], matcher: HeaderMatcher | None = None) -> HeaderMatch:
    """Score a candidate header row with ``matcher`` (built-in names only by default)."""
    return (matcher or _default_matcher()).score_header_row(cells)
