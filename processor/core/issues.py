"""Problems found in user data, reported as values rather than exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a problem is: errors stop a file, warnings and infos are listed."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Issue:
    """One problem in user data, with a location a clerk can find (``Octubre!D17``)."""

    where: str
    message: str
    severity: Severity = Severity.WARNING

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InputError(Exception):
    """Bad input that stops the whole job (unreadable file, no receivables, bad option).

    The shells turn it into one clear paragraph and exit code 1; it is never a bug.
    """


def cell_ref(sheet: str | None, row: int, column: int | None = None) -> str:
    """Return ``Sheet!D17`` (1-based ``row`` and ``column``), quoting odd sheet names."""
    from .xlref import column_letter

    cell = f"{column_letter(column)}{row}" if column else f"{row}:{row}"
    if not sheet:
        return cell
    needs_quotes = any(ch in sheet for ch in " -'!&()+,;") or not sheet.isascii()
    name = "'" + sheet.replace("'", "''") + "'" if needs_quotes else sheet
    return f"{name}!{cell}"
