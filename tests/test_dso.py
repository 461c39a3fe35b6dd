"""One DSO: the Aging Summary and the batch History give the same figure, credits included."""

from __future__ import annotations

from decimal import Decimal

from openpyxl import load_workbook

from receivables.core.dso import dso
from receivables.core.history import build_history, snapshot_of
from receivables.pipeline import run

from conftest import AS_OF, ledger_row, write_ledger


def test_aging_summary_and_history_agree_on_a_ledger_with_a_credit_note(tmp_path):
    # Invoices are dated 30 days before their due date (see ledger_row).
    rows = [
        ledger_row("Acme", 10, 1000.0),  # invoiced 40 days ago: in the 90-day window
        ledger_row("Bolt", 100, 500.0),  # invoiced 130 days ago: outside it
        ledger_row("Acme", 5, -200.0, invoice="CN-1"),  # a credit note, 35 days ago
    ]
    source = write_ledger(tmp_path / "ledger.xlsx", rows)
    out = tmp_path / "out.xlsx"
    report = run(source, out, AS_OF)

    # Outstanding 1,000 + 500 - 200 = 1,300 (the credit reduces it); invoiced in the
    # window 1,000 (the credit note is not subtracted again): 1,300 x 90 / 1,000.
    expected = Decimal("117.0")
    assert dso(130_000, 100_000) == expected

    aging = load_workbook(out)["Aging Summary"]
    header = [c.value for c in aging[1]]
    totals = [
        row
        for row in aging.iter_rows(min_row=2, values_only=True)
        if row[0] == "EUR" and row[1] == "Total"
    ]
    assert Decimal(str(totals[0][header.index("DSO (days)")])) == expected

    history = build_history([snapshot_of(report.outcome.classified, AS_OF)], report.rules)
    portfolio = history.table[history.table["customer"].isna()]
    assert list(portfolio["dso"]) == [expected]


def test_dso_is_blank_without_invoices_and_never_negative():
    assert dso(50_000, 0) is None
    assert dso(-30_000, 100_000) == Decimal("0.0")
    assert dso(1, 3) == Decimal("30.0")
