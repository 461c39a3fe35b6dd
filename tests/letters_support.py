"""Helpers for the letter tests: a classified ledger in a few lines, and a letter's text."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from docx import Document

from receivables.core import frame as F
from receivables.core.classify import classify
from receivables.core.rules import Rules

AS_OF = date(2026, 3, 31)


def item(customer: str, days_overdue: int, balance: float, **fields) -> dict:
    """One ledger record, due ``days_overdue`` days before AS_OF; money in units."""
    due = AS_OF - timedelta(days=days_overdue)
    paid = round(fields.pop("paid", 0.0) * 100)
    balance_cents = round(balance * 100)
    record = {
        "customer": customer,
        "invoice": f"{customer[:3].upper()}-{days_overdue:03d}",
        "invoice_date": due - timedelta(days=30),
        "due_date": due,
        "currency": "EUR",
        F.AMOUNT: balance_cents + paid,
        F.PAID: paid,
        F.BALANCE: balance_cents,
        "contact": "Pat Doe",
        "address": "1 Long Road\nSpringfield",
        "language": None,
        "disputed": False,
        "promise_date": None,
    }
    record.update(fields)
    return record


def classified_frame(records: list[dict], rules: Rules, as_of: date = AS_OF) -> pd.DataFrame:
    """The classified frame of ``records`` (rows numbered from 2, as under a header)."""
    frame = pd.DataFrame(records)
    frame.insert(0, F.ROW, range(2, len(frame) + 2))
    for column in ("invoice_date", "due_date", "promise_date"):
        frame[column] = pd.to_datetime(frame[column])
    for column in (F.AMOUNT, F.PAID):
        frame[column] = frame[column].astype("Int64")
    frame[F.BALANCE] = frame[F.BALANCE].astype("int64")
    frame["disputed"] = frame["disputed"].astype(bool)
    return classify(frame, rules, as_of).frame


def docx_text(path: Path) -> str:
    """A letter's text in reading order: header, body (tables row by row), footer."""
    document = Document(str(path))
    lines: list[str] = []
    section = document.sections[0]
    lines += [p.text for p in section.header.paragraphs]
    lines.append("---")
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            for row in block.rows:
                lines.append(" | ".join(cell.text for cell in row.cells))
        else:
            lines.append(block.text)
    lines.append("---")
    lines += [p.text for p in section.footer.paragraphs]
    return "\n".join(lines)
