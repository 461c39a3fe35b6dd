"""Money that cannot overflow and terms that cannot explode: an issue at the cell instead."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pytest
from openpyxl import Workbook

from receivables.core.ledger import MAX_TERMS_DAYS, MAX_TOTAL_CENTS
from receivables.core.plan import monthly_drop, plan_settings
from receivables.core.rules import load_rules
from receivables.core.values import MAX_CENTS

from conftest import AS_OF

HEADER = ["Customer", "Invoice", "Invoice Date", "Terms", "Balance", "Address", "Email"]


def _book(path, rows):
    book = Workbook()
    ws = book.active
    ws.title = "AR"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def _item(customer, balance, terms=30, invoiced=datetime(2026, 7, 1)):
    return [customer, f"I-{customer}", invoiced, terms, balance, "1 Road", "a@example.com"]


def _run(cli, path, *extra):
    code, out, err = cli(
        "process",
        path,
        "-o",
        path.with_name("out.xlsx"),
        "--as-of",
        AS_OF.isoformat(),
        "--json",
        *extra,
    )
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out)


@pytest.mark.parametrize("huge", [9.3e16, -9.3e16, 1e300, "93000000000000000"])
def test_an_amount_beyond_the_bound_is_an_issue_at_its_cell(tmp_path, cli, huge):
    path = _book(
        tmp_path / "in.xlsx", [_item("Acme", huge), _item("Acme", 100.0), _item("Borde", 50.0)]
    )
    report = _run(cli, path)
    located = [i for i in report["issues"] if "too large for an amount" in i["message"]]
    assert located and located[0]["where"].endswith("E2")
    assert report["stages"]["paid"] == 0 and report["stages"]["credit"] == 0
    assert report["outstanding"] == {"EUR": 150.0}
    assert report["overdue"] == {"EUR": 150.0}


def test_the_bound_itself_is_exact(tmp_path, cli):
    below = (MAX_CENTS - 100) // 100
    path = _book(tmp_path / "in.xlsx", [_item("Acme", below), _item("Borde", MAX_CENTS // 100)])
    report = _run(cli, path)
    assert report["outstanding"] == {"EUR": float(below)}


def test_many_large_balances_never_overflow_the_totals(tmp_path, cli):
    each = MAX_CENTS // 100 - 1
    count = MAX_TOTAL_CENTS // (each * 100) + 5
    path = _book(tmp_path / "in.xlsx", [_item(f"C{i}", each) for i in range(count)])
    report = _run(cli, path)
    skipped = [i for i in report["issues"] if "beyond" in i["message"]]
    assert skipped
    total = report["outstanding"]["EUR"]
    assert 0 < total * 100 < MAX_TOTAL_CENTS
    assert report["rows"] == count - len(skipped)


@pytest.mark.parametrize("terms", [-99_999_999, -999_999_999, 10**12, MAX_TERMS_DAYS + 1])
def test_absurd_terms_are_an_issue_not_an_allocation(tmp_path, cli, terms):
    path = _book(tmp_path / "in.xlsx", [_item("Acme", 100.0, terms=terms), _item("Borde", 50.0)])
    report = _run(cli, path, "--letters", tmp_path / "letters")
    located = [i for i in report["issues"] if "payment terms" in i["message"]]
    assert located and located[0]["where"].endswith("D2")
    assert report["rows"] == 2


def test_an_ancient_due_date_does_not_allocate_per_day_of_age():
    settings, _issues = plan_settings(load_rules()[0])
    settings = replace(settings, horizon_days=30, recovery_curve=((0, 1.0), (365, 0.5), (730, 0.2)))
    drop = monthly_drop([10**12, 800, 10], settings)
    assert drop.shape == (3,)
    assert drop[0] == drop[1]  # past the curve's end the drop is constant
