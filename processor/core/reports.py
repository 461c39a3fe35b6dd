"""Aged-receivables *reports*, as accounting packages export them, read as ledgers.

A report differs from a table in three ways, each handled here (pure functions over the
grid; :mod:`ledger` calls them):

* **Group headings**: QuickBooks' A/R Aging Detail, Xero's Aged Receivables Detail and
  Sage's aged debtors name the customer once, in a row of its own above its invoices,
  and close the group with ``Total <customer>`` / ``Total for <customer>``. Such a sheet
  has no customer column: :func:`find_group_headings` recognises the layout from the rows
  below the header, and :func:`assign_groups` gives every row the customer of the
  heading above it (with the heading's cell, so each record says where its customer came
  from). Aging-period headings (``1 - 30 days past due``, ``Current``, ``> 90``) group
  rows too, but by age, never by customer: they are recognised and skipped.
* **Bucket columns**: balances spread over ``Current | 1-30 | 31-60 | ... | Older``
  columns, with or without a ``Total`` column. Without a total, a row's balance is the
  sum of its bucket cells (:func:`bucket_columns`).
* **Title blocks** with the report date (``As of October 31, 2026``, ``Stand: 31.10.2026``,
  ``截至2026年10月31日``): :func:`report_date` finds it, and the shell offers it as the
  as-of date when none is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from .headers import normalise_header
from .values import parse_date_column

__all__ = [
    "GroupAssignment",
    "assign_groups",
    "bucket_columns",
    "find_group_headings",
    "is_bucket_label",
    "report_date",
]

# Aging-period labels: "Current", "Not due", "1 - 30 days past due", "31-60", "> 90",
# "91 and over", "Over 90 days", "< 1 Month", "1 Month", "2 Months", "Older", "Future",
# "Period 1", "0-30 días", "1-30 nap", "30天以内", "Über 90 Tage".
_BUCKET = re.compile(
    r"^(?:"
    r"current|not\s+(?:yet\s+)?due|future|older|corriente|no\s+vencido|sin\s+vencer|"
    r"nem\s+esedekes|nicht\s+fallig|non\s+echu|未到期|"
    r"period\s*\d+|"
    r"[<>≤≥]?\s*\d+\s*(?:months?|mes(?:es)?|honap|monate?|mois)|"
    r"(?:over|more\s+than|above|mas\s+de|uber|plus\s+de|tobb\s+mint|>|≥|<|≤)?\s*"
    r"\d+\s*(?:(?:-|–|to|a|bis)\s*\d+|\+)?\s*(?:(?:and|or|y|o)\s+(?:over|more|older|mas))?\s*"
    r"(?:days?|dias|nap|tage|jours|天)?\s*(?:(?:and|or|y|o)\s+(?:over|more|older|mas))?\s*"
    r"(?:past\s+due|overdue|old|vencidos?|lejart|uberfallig|en\s+retard)?"
    r")$"
)


def is_bucket_label(text: object) -> bool:
    """Whether ``text`` names an aging period (a bucket column or a bucket heading row)."""
    if not isinstance(text, str):
        return False
    folded = " ".join(normalise_text(text).split())
    # A bare number ("2026", "30") is a year or a code, not a period.
    return bool(folded) and not folded.isdigit() and bool(_BUCKET.match(folded))


def normalise_text(text: str) -> str:
    """Lower case without accents, keeping digits, spaces and the signs < > - +."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^\w<>≤≥+\-–\s]", " ", kept).replace("_", " ")


def bucket_columns(headers: Mapping[int, str], taken: Sequence[int]) -> tuple[int, ...]:
    """Columns (1-based) whose headers are aging periods, when there are at least two."""
    found = tuple(
        sorted(c for c, text in headers.items() if c not in taken and is_bucket_label(text))
    )
    return found if len(found) >= 2 else ()


# ----------------------------------------------------------------------------- groups


def _nonempty(row: Sequence[object]) -> list[tuple[int, object]]:
    return [
        (i, v)
        for i, v in enumerate(row)
        if v is not None and not (isinstance(v, str) and not v.strip())
    ]


def heading_text(row: Sequence[object]) -> tuple[int, str] | None:
    """(0-based column, text) when the row holds exactly one cell, a text: a heading."""
    # list.count runs in C: nearly every row (an item) is ruled out without a scan.
    if len(row) - row.count("") - row.count(None) != 1:
        return None
    cells = _nonempty(row)
    if len(cells) != 1 or not isinstance(cells[0][1], str):
        return None
    return cells[0][0], cells[0][1].strip()


def _is_total_label(text: str, total_words: frozenset[str]) -> bool:
    key = normalise_header(text)
    return key in total_words or any(
        key.startswith(word) and len(word) >= 4 for word in total_words
    )


def find_group_headings(rows: Sequence[Sequence[object]], total_words: frozenset[str]) -> int:
    """How many customer group headings the rows below a header hold.

    A customer heading is a row with one text cell, not a total, not an aging period,
    followed by a row with more than one value (its first item).
    """
    count = 0
    for index, row in enumerate(rows[:-1]):
        heading = heading_text(row)
        if (
            heading is None
            or is_bucket_label(heading[1])
            or _is_total_label(heading[1], total_words)
        ):
            continue
        if len(_nonempty(rows[index + 1])) > 1:
            count += 1
    return count


@dataclass(frozen=True)
class GroupAssignment:
    """The customer of every data row of a grouped report, and the headings it came from.

    ``customers[p]`` is the heading text over data row ``p`` (None outside any group);
    ``heading_of[p]`` the 0-based position of that heading row; ``headings`` maps each
    heading's position to (0-based column, text); ``buckets`` lists the positions of
    aging-period heading rows.
    """

    customers: list[str | None]
    heading_of: list[int | None]
    headings: dict[int, tuple[int, str]] = field(default_factory=dict)
    buckets: tuple[int, ...] = ()


def assign_groups(
    rows: Sequence[Sequence[object]], total_words: frozenset[str], customers_grouped: bool
) -> GroupAssignment:
    """Walk the data rows: headings open a group, ``Total …`` rows close it.

    With ``customers_grouped`` False (the sheet has a customer column), only aging-period
    headings are recognised (they are skipped as such).
    """
    customers: list[str | None] = [None] * len(rows)
    heading_of: list[int | None] = [None] * len(rows)
    headings: dict[int, tuple[int, str]] = {}
    buckets: list[int] = []
    current: tuple[int, str] | None = None
    at: int | None = None
    for position, row in enumerate(rows):
        heading = heading_text(row)
        if heading is not None:
            column, text = heading
            if is_bucket_label(text):
                buckets.append(position)
                continue
            if _is_total_label(text, total_words):
                current = at = None
                continue
            if customers_grouped:
                current, at = (column, text), position
                headings[position] = current
                continue
        elif customers_grouped and current is not None:
            first = next((v for _, v in _nonempty(row) if isinstance(v, str)), None)
            if (
                first is not None
                and _is_total_label(first, total_words)
                and normalise_header(current[1]) in normalise_header(first)
            ):
                # "Total Acme Corp": the group ends with this row (which is still its own).
                customers[position], heading_of[position] = current[1], at
                current = at = None
                continue
        if current is not None:
            customers[position], heading_of[position] = current[1], at
    return GroupAssignment(customers, heading_of, headings, tuple(buckets))


# ----------------------------------------------------------------------------- as-of

_AS_OF = re.compile(
    r"(?:\bas\s+(?:of|at|on)\b|\bat\b|\bal\b|\ba\s+fecha\s+(?:de\s+)?|\bfecha\s+de\s+corte\b|"
    r"\bcorte\b|\bstand\b|\bstichtag\b|\bper\b|\bau\b|\ba\s+la\s+date\s+du\b|"
    r"\bfordulonap\b|\ballapot\b|截至|截止|\bending\b)\s*:?\s*",
    re.IGNORECASE,
)


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _first_date(text: str) -> date | None:
    """The date at the start of ``text`` (the longest run of words that reads as one)."""
    words = text.strip().rstrip(".,;)").split()
    for size in range(min(len(words), 6), 0, -1):
        candidate = " ".join(words[:size]).rstrip(",;)")
        result = parse_date_column([candidate])
        if result.dates[0] is not None:
            return result.dates[0]
    return None


def report_date(rows: Sequence[Sequence[object]]) -> tuple[date, int, int] | None:
    """The report date of a title block: (date, 1-based row, 1-based column), or None.

    Looks for "as of"-like words followed by a date in a text cell ("As of October 31,
    2026"), or a label cell ("Stand:") followed by a date cell.
    """
    for row_index, row in enumerate(rows):
        for column, value in enumerate(row):
            if not isinstance(value, str) or not value.strip():
                continue
            text = _fold(value)
            for match in _AS_OF.finditer(text):
                rest = text[match.end() :]
                if rest.strip():
                    found = _first_date(rest)
                    if found is not None:
                        return found, row_index + 1, column + 1
                else:
                    following = next((v for v in row[column + 1 :] if v not in (None, "")), None)
                    if isinstance(following, datetime):
                        return following.date(), row_index + 1, column + 2
                    if isinstance(following, date):
                        return following, row_index + 1, column + 2
                    if isinstance(following, str):
                        found = _first_date(following)
                        if found is not None:
                            return found, row_index + 1, column + 2
    return None
