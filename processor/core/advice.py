"""What a clerk should do about each issue, and where: the Exceptions sheet's last columns.

An issue says what is wrong (``Issue.message``) and where it was found (its
:class:`~.issues.Location`: a cell such as ``Octubre!D17``, a setting such as
``plan.exchange_rates`` in a settings layer, the letters run, a file). Here each issue
gets an *area* (settings problems apart from problems in the ledger's data) and a
sentence saying what to change and where: the cell to correct, or the Section/Key row
of the *Collections Settings* sheet (or ``rules.toml``) to add or correct.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .issues import Issue

SETTINGS = "Settings"
LEDGER = "Ledger data"
LETTERS = "Letters"
FILE = "File"
AREA_ORDER = (SETTINGS, LEDGER, LETTERS, FILE)

# Top-level tables of the rules: a dotted name starting with one names a setting.
_SECTIONS = (
    "general",
    "labels",
    "headers",
    "stages",
    "buckets",
    "plan",
    "messages",
    "letters",
    "interest",
    "company",
    "dunning",
    "quality",
    "batch",
    "send",
)
_SETTING = re.compile(r"\b((?:" + "|".join(_SECTIONS) + r")(?:\.[A-Za-z0-9_-]+)+)\b")
_CURRENCY = re.compile(r"\b(?:for|in) ([A-Z]{3})\b")
# A message quoting the TOML to add: ``[company] address``, ``[interest.rates.x] "2026-07-01"
# = { rate = ... }`` (an inline table: one settings row per field, in its own section).
_TOML = re.compile(
    r"\[(?P<section>(?:" + "|".join(_SECTIONS) + r")(?:\.[A-Za-z0-9_-]+)*)\]"
    r"\s+(?P<key>\"[^\"]+\"|[A-Za-z0-9_-]+)(?P<table>\s*=\s*\{)?"
)


def settings_row(issue: Issue) -> tuple[str, str] | None:
    """(Section, Key) of the settings row a message quotes as TOML, else None."""
    match = _TOML.search(issue.message)
    if match is None:
        return None
    key = match["key"].strip('"')
    if match["table"]:  # an inline table: its fields are rows of the section "<s>.<key>"
        fields = re.findall(r"([A-Za-z0-9_-]+)\s*=", issue.message[match.end() :])
        return f"{match['section']}.{key}", " and ".join(fields) or "value"
    return match["section"], key


def settings_path(issue: Issue) -> list[str] | None:
    """The dotted setting an issue is about: its location's key, else one its message
    names (``interest.eu.compensation has no amount for GBP``)."""
    where = issue.where
    row = settings_row(issue)
    if row is not None:
        return [*row[0].split("."), row[1]]
    key = where.key
    if not key and where.label and where.label.startswith("rules "):
        key = where.label[len("rules ") :]
    if key:
        return key.split(".")
    match = _SETTING.search(issue.message)
    return match.group(1).split(".") if match else None


def area(issue: Issue, settings_sheet: str = "Collections Settings") -> str:
    """The group an issue is listed in: settings, ledger data, letters or the file."""
    where = issue.where
    if (
        where.layer
        or where.key
        or (where.sheet or "").casefold() == settings_sheet.casefold()
        or "settings" in (where.label or "")
        or settings_path(issue) is not None
    ):
        return SETTINGS
    if where.row is not None:
        return LEDGER
    if (where.label or "").startswith("letters"):
        return LETTERS
    return FILE


def what_to_do(
    issue: Issue, settings_sheet: str = "Collections Settings", kind: str | None = None
) -> str:
    """One sentence: what to change and where. ``kind`` is the issue's :func:`area`,
    when the caller has it already."""
    if kind is None:
        kind = area(issue, settings_sheet)
    where = issue.where
    if kind == SETTINGS:
        if where.row is not None and (where.sheet or "").casefold() == settings_sheet.casefold():
            return f"Correct cell {where} of the {settings_sheet} sheet."
        path = settings_path(issue)
        if path is None:
            return f"Check the settings (the {settings_sheet} sheet, or rules.toml)."
        layer = f" ({where.layer})" if where.layer else ""
        row = settings_row(issue)
        if row is not None:
            keys = "Keys" if " and " in row[1] else "Key"
            return (
                f"Add or correct the row Section {row[0]}, {keys} {row[1]} on the "
                f"{settings_sheet} sheet (the value as the message says), or the same "
                f"in rules.toml{layer}."
            )
        currency = _CURRENCY.search(issue.message)
        if currency and path[-1] in ("compensation", "exchange_rates"):
            code = currency.group(1)
            what = (
                f"the fixed compensation in {code}"
                if path[-1] == "compensation"
                else f"how many units of the base currency 1 {code} is worth"
            )
            return (
                f"Add a row to the {settings_sheet} sheet: Section {'.'.join(path)}, "
                f"Key {code}, Value {what} (or the same in rules.toml)."
            )
        section, key = ".".join(path[:-1]) or path[0], path[-1]
        return (
            f"Correct or add the row Section {section}, Key {key} on the "
            f"{settings_sheet} sheet, or in rules.toml{layer}."
        )
    if kind == LEDGER:
        return f"Correct the ledger at {where} (the row, or the cell named), then run again."
    if kind == LETTERS:
        return (
            "Check the letter templates and the customer's details, then write the letters again."
        )
    return "Check the file named, then run again."


_LEADING_KEY = re.compile(r"^(?:setting )?(" + _SETTING.pattern[2:-2] + r")\b")


@lru_cache(maxsize=1)
def _setting_words() -> dict[str, str]:
    """What each packaged setting is, in words: the first sentence of its comment in
    default_rules.toml, by dotted key (a table by its own comment)."""
    from .rules import default_layer
    from .settings_sheet import _descriptions, settings_rows

    # The comment above each key or table itself; the settings sheet's descriptions put a
    # section's comment in front of its first key's, which is not what that key is.
    words = {
        ".".join(path): text.split(". ")[0].rstrip(".")
        for path, text in _descriptions().items()
        if text
    }
    for section, key, _value, description in settings_rows(default_layer()):
        dotted = f"{section}.{key}" if section else key
        if description and dotted not in words and section.split(".")[0] in ("stages", "states"):
            words[dotted] = description.split(". ")[0].rstrip(".")  # a list item's field
    return words


def in_words(message: str) -> str:
    """``message`` with a leading settings key said in words, the key kept in brackets:
    ``interest.regimes.eu_directive.compensation has no amount for GBP`` -> ``Fixed
    compensation per invoice, by currency (setting interest.regimes...) has no amount``."""
    match = _LEADING_KEY.match(message)
    if match is None:
        return message
    key = match.group(1)
    words = _setting_words()
    # Only the key's own words: a section's (or a neighbour's) words would say what an
    # unknown or misspelt key is not ("Currency assumed ... (setting general.lanugage)").
    sentence = words.get(key)
    if sentence:
        return f"{sentence} (setting {key}){message[match.end() :]}"
    return message
