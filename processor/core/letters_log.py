"""The Letters Log sheet read back: the rows of earlier runs, merged, as dunning history.

Pure: from sheet grids (the workbook's own ``Letters Log``, earlier output workbooks, the
letters folder's log) to log rows keyed by :data:`letters.LOG_COLUMNS` (money in integer
cents, dates as ``date``), merged without duplicates, and to
:class:`~receivables.core.dunning.SentLetter` history. Earlier rows are written back
as they were read, so a clerk's corrections (a ``cancelled`` status) are kept.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .dunning import SENT, _as_date, normalize, parse_status
from .grid import SheetGrid
from .issues import Issue, Location, Severity
from .letters import LOG_COLUMNS, LOG_MONEY

# When the same letter (reference) is found in several logs, the stronger status wins:
# a clerk's cancellation anywhere beats "sent"; "sent" beats a draft or a failure.
_STATUS_RANK = {"cancelled": 5, "sent": 4, "unknown": 3, "failed": 2, "draft": 1}
_HEADERS = {normalize(name): name for name in LOG_COLUMNS}


def is_letters_log(header: Sequence[object]) -> bool:
    """Whether a sheet's first row is a Letters Log's (of this version or an earlier one):
    it names a reference, a date, a customer and the letter (template or stage)."""
    names = {normalize(cell) for cell in header if isinstance(cell, str)}
    return {"reference", "date", "customer"} <= names and bool(names & {"template", "stage"})


def rows_from_grid(grid: SheetGrid) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The rows of a Letters Log sheet, keyed by :data:`LOG_COLUMNS` (money in cents).

    The header is the first row (within the first five) naming at least a date and a
    customer; columns the log does not know are left out; missing ones are blank.
    """
    rows = grid.rows
    header_at, columns = None, {}
    for number, row in enumerate(rows[:5]):
        found = {
            _HEADERS[normalize(cell)]: position
            for position, cell in enumerate(row)
            if isinstance(cell, str) and normalize(cell) in _HEADERS
        }
        if "Date" in found and "Customer" in found:
            header_at, columns = number, found
            break
    if header_at is None:
        if any(any(cell not in (None, "") for cell in row) for row in rows):
            return [], [
                Issue(
                    grid.name,
                    "the letters log has no header row with Date and "
                    "Customer: it is not read as dunning history",
                )
            ]
        return [], []
    out, issues = [], []
    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        values = {
            name: row[position] if position < len(row) else None
            for name, position in columns.items()
        }
        if all(value in (None, "") for value in values.values()):
            continue
        record: dict[str, Any] = {}
        for name in LOG_COLUMNS:
            value = values.get(name)
            if name in LOG_MONEY:
                cents = _cents(value)
                if cents is None:
                    issues.append(
                        Issue(
                            Location.cell(grid.name, offset),
                            f"{name} {value!r} is not an amount; read as 0",
                        )
                    )
                    cents = 0
                record[name] = cents
            elif name == "Date":
                record[name] = _day(value, grid.date1904)
            else:
                record[name] = "" if value is None else str(value).strip()
        record["Channel"] = record["Channel"] or "letter"
        record["_where"] = Location.cell(grid.name, offset)
        out.append(record)
    return out, issues


def _cents(value: Any) -> int | None:
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return int((amount * 100).to_integral_value()) if amount.is_finite() else None


def _day(value: Any, date1904: bool) -> date | str:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 2958466:
        epoch = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
        return (epoch + timedelta(days=float(value))).date()
    day = _as_date(value)
    return day if day is not None else ("" if value is None else str(value))


def merge_rows(*sources: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of several logs as one, each letter once, in date order (stable).

    A letter is the same when reference, customer, date, channel and Message-ID match
    (file name too when it has no reference); of two copies the stronger status wins.
    """
    merged: dict[tuple, dict[str, Any]] = {}
    for source in sources:
        for row in source:
            key = (
                str(row.get("Reference", "")),
                normalize(row.get("Customer")),
                str(row.get("Date", "")),
                normalize(row.get("Channel")) or "letter",
                str(row.get("Message-ID") or ""),
                "" if row.get("Reference") else str(row.get("File", "")),
            )
            kept = merged.get(key)
            if kept is None or _rank(row) > _rank(kept):
                merged[key] = dict(row)
    rows = list(merged.values())
    rows.sort(key=lambda row: row["Date"] if isinstance(row.get("Date"), date) else date.max)
    return rows


def _rank(row: Mapping[str, Any]) -> int:
    return _STATUS_RANK.get(parse_status(row.get("Status")) or SENT, 4)


def clean(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the Letters Log model takes them (internal keys dropped)."""
    return [{name: row.get(name, "") for name in LOG_COLUMNS} for row in rows]


def deleted_drafts(
    rows: Iterable[Mapping[str, Any]], present: Collection[str], journaled: Collection[str]
) -> set[str]:
    """The Message-IDs of the email drafts among ``rows`` (a letters folder's own Letters
    Log) that a clerk deleted instead of sending: still ``draft``, their ``.eml`` no longer
    among ``present`` and no step of theirs in the send journal (``journaled``: sent, marked
    sent, or handed to the server). Such a draft counts as never sent (design.md §11)."""
    return {
        message_id
        for row in rows
        if (message_id := str(row.get("Message-ID") or "").strip())
        and normalize(row.get("Channel")) == "email"
        and parse_status(row.get("Status")) == "draft"
        and message_id not in present
        and message_id not in journaled
    }


def cancel_deleted_drafts(
    rows: Iterable[Mapping[str, Any]], deleted: Collection[str], folder: str
) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The rows, with each email draft of ``deleted`` (see :func:`deleted_drafts`) that is
    still ``draft`` marked ``cancelled``, and an Info issue for each; ``folder`` is the
    letters folder the drafts were written into."""
    out, issues = [], []
    for row in rows:
        message_id = str(row.get("Message-ID") or "").strip()
        if message_id in deleted and parse_status(row.get("Status")) == "draft":
            row = {**row, "Status": "cancelled"}
            reference = row.get("Reference") or message_id
            issues.append(
                Issue(
                    row.get("_where") or Location(file=folder),
                    f"the email draft to {row.get('Customer')} (ref. {reference}) was deleted "
                    f"from {folder}/email without being sent: its status is now cancelled, "
                    "so it counts as never sent and the letter that is due is written again",
                    Severity.INFO,
                )
            )
        out.append(dict(row))
    return out, issues
