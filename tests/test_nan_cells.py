"""Cells no spreadsheet program writes but a crafted or broken package can hold
(``<v>NaN</v>``, ``<v>inf</v>``): read as blanks or unreadable values, reported, never a
traceback."""

from __future__ import annotations

from datetime import date

import pytest

from receivables.pipeline import run

import hostile

AS_OF = date(2026, 10, 31)


def _ledger(tmp_path, customer, balance):
    """A three-item ledger whose third item has ``customer`` and ``balance`` written as
    raw numeric cell text."""
    rows = hostile.ledger_rows(3, AS_OF)
    rows[3][0] = customer
    rows[3][3] = balance
    return hostile.write_xlsx(tmp_path / "odd.xlsx", [("Ledger", hostile.sheet_xml(rows))])


@pytest.mark.parametrize("text", ["NaN", "nan", "-nan"])
def test_a_nan_customer_cell_is_a_blank_customer(tmp_path, text):
    path = _ledger(tmp_path, _Raw(text), 977.0)
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    classified = report.outcome.classified
    assert sorted(classified["customer"]) == ["Customer 0", "Customer 1"]
    messages = [(str(issue.where), issue.message) for issue in report.outcome.issues]
    assert ("Ledger!A4", "row skipped: no customer") in messages or (
        "Ledger!4:4",
        "row skipped: no customer",
    ) in messages, messages


@pytest.mark.parametrize("text", ["inf", "-inf", "NaN"])
def test_a_non_finite_balance_is_not_a_number_of_the_ledger(tmp_path, text):
    path = _ledger(tmp_path, "Customer 2", _Raw(text))
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    outstanding, _overdue = report.outcome.totals()
    # The two readable items: 100 + 101 EUR in cents, nothing from the odd cell.
    assert sum(outstanding.values()) == 20_100
    assert any(str(issue.where) == "Ledger!D4" for issue in report.outcome.issues)


class _Raw(float):
    """A numeric cell whose text is written as given (``hostile.cell`` writes numbers
    with ``str``)."""

    def __new__(cls, text: str):
        value = super().__new__(cls, 0.0)
        value.text = text
        return value

    def __str__(self) -> str:
        return self.text
