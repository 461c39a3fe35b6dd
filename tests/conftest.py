"""Shared fixtures: real ledger workbooks written to disk, the CLI, the shared corpus."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from receivables.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
AS_OF = date(2026, 10, 31)
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"


def macro_workbook() -> Path:
    """A real macro workbook (with a VBA project) that every install has.

    xlwings, pinned in the dependencies, ships ``quickstart.xlsm``; the suite uses it so that
    a clone of the repository alone can test macro workbooks without ``../shared``.
    """
    import xlwings

    return Path(xlwings.__file__).parent / "quickstart.xlsm"


HEADER = [
    "Customer",
    "Invoice",
    "Invoice Date",
    "Due Date",
    "Currency",
    "Amount",
    "Paid",
    "Balance",
    "Owner",
    "Contact",
    "Email",
    "Disputed",
    "Promise Date",
    "Stage Override",
]


def ledger_row(
    customer,
    days_overdue,
    balance,
    *,
    invoice=None,
    currency="EUR",
    paid=0.0,
    disputed=None,
    promise=None,
    override=None,
    owner="Ana",
    as_of=AS_OF,
):
    """One row of the simple test ledger, due ``days_overdue`` days before ``as_of``."""
    due = as_of - timedelta(days=days_overdue)
    return [
        customer,
        invoice or f"INV-{customer[:3]}-{days_overdue}",
        due - timedelta(days=30),
        due,
        currency,
        balance + paid,
        paid,
        balance,
        owner,
        "Pat",
        "pat@example.com",
        disputed,
        promise,
        override,
    ]


def write_ledger(path: Path, rows, header=HEADER, sheet="Ledger", before=(), extra_sheets=()):
    """Write a ledger workbook with openpyxl: optional rows above the header, extra sheets."""
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for line in before:
        ws.append(list(line))
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    for line in ws.iter_rows():
        for cell in line:
            # openpyxl writes any text starting with "=" as a formula; a ledger holds text.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    for name, cells in extra_sheets:
        extra = book.create_sheet(name)
        for line in cells:
            extra.append(list(line))
    book.save(path)
    return path


@pytest.fixture
def cli():
    """Invoke the receivables CLI; returns (exit code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def run_json(cli):
    """Run a command with --json and return the parsed object (asserting exit code 0)."""

    def invoke(*args):
        code, out, err = cli(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    return invoke


def boundary_rows():
    """One item at every ladder boundary and one of each overriding state."""
    days = [-8, -7, -1, 0, 7, 8, 30, 31, 60, 61, 90, 91, 365, 366, 730, 731]
    rows = [ledger_row(f"Boundary {d:+d}", d, 100.0) for d in days]
    rows += [
        ledger_row("Paid Co", 40, 0.0, paid=100.0),
        ledger_row("Credit Co", 40, -50.0),
        ledger_row("Override Co", 3, 100.0, override="Legal action"),
        ledger_row("Disputed Co", 40, 100.0, disputed="yes"),
        ledger_row("Promised Co", 40, 100.0, promise=AS_OF + timedelta(days=5)),
        ledger_row("Broken Co", 40, 100.0, promise=AS_OF - timedelta(days=5)),
    ]
    return days, rows
