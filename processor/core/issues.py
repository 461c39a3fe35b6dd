"""Problems found in user data, reported as values rather than exceptions.

An issue's location is a :class:`Location` value (file, sheet, row, column, or a settings
layer and key), so that code compares and filters locations by their parts; the A1 text a
clerk reads (``Octubre!D17``) is only its display.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import lru_cache
from typing import Any

from .xlref import column_letter, column_number


class Severity(StrEnum):
    """How bad a problem is: errors stop a file, warnings and infos are listed."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# Sheet names that must be quoted in an A1 reference (as Excel quotes them).
_QUOTE_CHARS = frozenset(" -'!&()+,;")
# ``Sheet!D17``, ``'Odd sheet'!$D$17``, ``Sheet!3:3``, ``D17`` or ``3:3`` (one whole row).
_REFERENCE = re.compile(
    r"^(?:(?:'(?P<quoted>(?:[^']|'')+)'|(?P<bare>[^'!]+))!)?"
    r"(?:\$?(?P<letters>[A-Za-z]{1,3})\$?(?P<row>[0-9]+)|(?P<first>[0-9]+):(?P<last>[0-9]+))$"
)


@lru_cache(maxsize=1024)  # a workbook has a few sheets; an Exceptions sheet, thousands of cells
def _sheet_text(sheet: str) -> str:
    if any(ch in _QUOTE_CHARS for ch in sheet) or not sheet.isascii():
        return "'" + sheet.replace("'", "''") + "'"
    return sheet


@dataclass(frozen=True)
class Location:
    """Where a problem is: a cell, row or sheet of a workbook, a settings key, or a label.

    Every part is optional. ``row`` and ``column`` are 1-based sheet coordinates (a row
    without a column is the whole row). ``layer`` names the settings layer a value came
    from (``rules.toml`` beside the workbook, the settings sheet, ``--rules FILE``) and
    ``key`` the dotted setting (``plan.capacity_per_day``). ``label`` is free text for a
    place that is none of these (``letters``) and for old-style location strings that are
    not A1 references.
    """

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: int | None = None
    layer: str | None = None
    key: str | None = None
    label: str | None = None

    @classmethod
    def cell(
        cls, sheet: str | None, row: int, column: int | None = None, file: str | None = None
    ) -> Location:
        """The cell ``row``/``column`` of ``sheet`` (the whole row when ``column`` is None)."""
        return cls(
            file=file, sheet=sheet or None, row=int(row), column=int(column) if column else None
        )

    @classmethod
    def setting(cls, key: str, layer: str | None = None) -> Location:
        """The setting ``key`` (``plan.capacity_per_day``) in ``layer``."""
        return cls(layer=layer, key=key)

    @classmethod
    def parse(cls, text: str) -> Location:
        """The location an old-style string names: an A1 reference, else a label.

        ``Sheet!D17`` and ``'Odd sheet'!D17`` give sheet, row and column; ``Sheet!3:3`` a
        whole row; anything else (a file name, ``letters``) is kept as a label.
        """
        if not text:
            return cls()
        match = _REFERENCE.match(text)
        if match is None or (match["first"] and match["first"] != match["last"]):
            return cls(label=text)
        sheet = match["bare"] or (match["quoted"] or "").replace("''", "'") or None
        if match["letters"]:
            return cls.cell(sheet, int(match["row"]), column_number(match["letters"]))
        return cls.cell(sheet, int(match["first"]))

    def whole_row(self) -> Location:
        """The whole row this location is in (itself when it is not in a row)."""
        if self.row is None:
            return self
        return Location(file=self.file, sheet=self.sheet, row=self.row)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def __str__(self) -> str:
        """The text a clerk reads: ``Octubre!D17``, ``Octubre!3:3``, ``rules.toml plan.x``."""
        if self.row is not None:
            cell = (
                f"{column_letter(self.column)}{self.row}"
                if self.column
                else f"{self.row}:{self.row}"
            )
            place = f"{_sheet_text(self.sheet)}!{cell}" if self.sheet else cell
        elif self.sheet:
            place = self.sheet
        else:
            place = " ".join(p for p in (self.layer, self.key) if p)
        if self.file:
            # Excel's own form for a cell of another workbook: [Book.xlsx]Sheet!A1.
            place = f"[{self.file}]{place}" if place else self.file
        if self.label:
            place = f"{place} ({self.label})" if place else self.label
        return place

    def as_dict(self) -> dict[str, Any]:
        """The parts that are set, for JSON."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


@dataclass(frozen=True, init=False)
class Issue:
    """One problem in user data, with a location a clerk can find (``Octubre!D17``).

    ``where`` may be given as text (``"Ledger!D5"``, ``"letters"``): it is parsed into a
    :class:`Location`, so ``issue.where`` is always a value.
    """

    where: Location
    message: str
    severity: Severity
    # What the problem is about, as a value (``("cannot write", customer, currency)``),
    # when two steps of a run can find the same one: Exceptions lists it once
    # (:func:`new_problems`). Not part of equality.
    subject: tuple | None = field(default=None, compare=False)

    def __init__(
        self,
        where: Location | str | None,
        message: str,
        severity: Severity = Severity.WARNING,
        subject: tuple | None = None,
    ) -> None:
        if not isinstance(where, Location):
            where = Location.parse(where or "")
        # Frozen: the fields are set once, here, as dataclasses' own __init__ does.
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "subject", subject)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def new_problems(issues: Iterable[Issue], known: Iterable[Issue]) -> list[Issue]:
    """``issues`` without those ``known`` already has, nor repeats among themselves: the
    same :attr:`Issue.subject` (one customer, one problem, one line), or the same issue
    (location, message and severity: a setting two steps of a run both read)."""
    known = list(known)
    seen = {issue.subject for issue in known if issue.subject is not None}
    same = set(known)
    out = []
    for issue in issues:
        if issue in same or (issue.subject is not None and issue.subject in seen):
            continue
        if issue.subject is not None:
            seen.add(issue.subject)
        same.add(issue)
        out.append(issue)
    return out


class InputError(Exception):
    """Bad input that stops the whole job (unreadable file, no receivables, bad option).

    The shells turn it into one clear paragraph and exit code 1; it is never a bug.
    """


def cell_ref(sheet: str | None, row: int, column: int | None = None) -> Location:
    """The location of cell ``row``/``column`` of ``sheet`` (1-based; a whole row without
    ``column``); ``str()`` of it is ``Sheet!D17`` with odd sheet names quoted."""
    return Location.cell(sheet, row, column)
