"""``receivables batch``: a year of monthly ledgers, the summary, the history, safety.

The main test batches 12 monthly ledgers of the same five customers, each written to
show one thing the History must catch, and checks the figures against values worked
out by hand in the comments:

- Acme (EUR) pays each month's 1,000.00 invoice (dated the 1st, due 45 days later) the
  next month, until June's invoice: from July it pays nothing -> a good payer turning
  late (August: ACME-6 is 46 days overdue after six clean month-ends).
- Bolt (EUR) owes 5,000.00 due 2025-12-31; promises 2026-03-15 (held in February, broken
  in March) and 2026-04-20 (broken in April): repeated broken promises in April.
- Cora (EUR) starts in September (new) with 2,000.00 invoices due after 30 days, paying
  less each month: growing balance with falling payments in November and December.
- Dune (EUR) has a 800.00 debt due 2024-07-01 (doubtful) that leaves the ledger in June:
  written off.
- Eve (USD) owes 1,234.56 due 2026-02-09, escalates monthly and pays in June: cured.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

import receivables.batch as batch
from receivables.batch import (
    BatchInterrupted,
    BatchOptions,
    as_of_from_name,
    discover,
    plan_jobs,
    run_batch,
)
from receivables.core.history import Snapshot, build_history
from receivables.core.rules import load_rules

from conftest import macro_workbook, write_ledger
from workbook_dump import dump_sheets

NAMES = {
    1: "AR_2026-01.xlsx",
    2: "AR_2026_02.xlsx",
    3: "Ledger Mar 2026.xlsx",
    4: "AR abril 2026.xlsx",
    5: "AR 2026.05.xlsx",
    6: "AR_06-2026.xlsx",
    7: "AR julio 2026.xlsx",
    8: "AR August 2026.xlsx",
    9: "AR_202609.xlsx",
    10: "AR octubre 2026.xlsx",
    11: "AR 2026年11月.xlsx",
    12: "AR_2026-12.xlsx",
}
BROKEN = "AR_2026-07 copy.xlsx"
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
# Cora's paid amount per (ledger month, invoice month).
CORA_PAID = {
    (9, 9): 0,
    (10, 9): 1500,
    (10, 10): 0,
    (11, 9): 1800,
    (11, 10): 500,
    (11, 11): 0,
    (12, 10): 500,
    (12, 11): 0,
    (12, 12): 0,
}
BOLT_PROMISE = {
    2: date(2026, 3, 15),
    3: date(2026, 3, 15),
    4: date(2026, 4, 20),
    5: date(2026, 4, 20),
}


def month_end(month: int) -> date:
    return (date(2026, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def item(customer, invoice, invoiced, due, amount, paid=0.0, currency="EUR", promise=None):
    return [
        customer,
        invoice,
        invoiced,
        due,
        currency,
        amount,
        paid,
        round(amount - paid, 2),
        "Ana",
        "Pat",
        "pat@example.com",
        None,
        promise,
        None,
    ]


def month_rows(month: int) -> list[list]:
    """The ledger at the end of ``month`` of 2026 (see the module docstring)."""
    rows = []
    for k in [month] if month <= 6 else range(6, month + 1):
        start = date(2026, k, 1)
        rows.append(item("Acme", f"ACME-{k}", start, start + timedelta(days=45), 1000.0))
    rows.append(
        item(
            "Bolt",
            "BOLT-1",
            date(2025, 12, 1),
            date(2025, 12, 31),
            5000.0,
            promise=BOLT_PROMISE.get(month),
        )
    )
    for (ledger_month, k), paid in sorted(CORA_PAID.items()):
        if ledger_month == month:
            start = date(2026, k, 1)
            rows.append(item("Cora", f"CORA-{k}", start, start + timedelta(days=30), 2000.0, paid))
    if month <= 5:
        rows.append(item("Dune", "DUNE-1", date(2024, 6, 1), date(2024, 7, 1), 800.0))
        rows.append(
            item("Eve", "EVE-1", date(2026, 1, 10), date(2026, 2, 9), 1234.56, currency="USD")
        )
    return rows


def build_year(folder: Path) -> Path:
    """12 monthly ledgers, a broken workbook, an Excel lock file and an old output."""
    folder.mkdir(parents=True)
    for month, name in NAMES.items():
        write_ledger(folder / name, month_rows(month))
    (folder / BROKEN).write_bytes(b"this is not a workbook")
    (folder / "~$AR_2026-01.xlsx").write_bytes(b"\x00lock")
    (folder / "old.collections.xlsx").write_bytes(b"an output of an earlier run")
    return folder


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def records(rows: list[list]) -> list[dict]:
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def summary_without_seconds(path: Path) -> dict:
    sheets = dump_sheets(path)
    seconds = sheets["Files"][0].index("Seconds")
    sheets["Files"] = [row[:seconds] + row[seconds + 1 :] for row in sheets["Files"]]
    return sheets


def test_a_year_of_monthly_ledgers(tmp_path, cli):
    source = build_year(tmp_path / "in")
    inputs = {p.name: sha(p) for p in source.iterdir()}
    out = tmp_path / "out"
    code, stdout, stderr = cli("batch", source, "-o", out, "--jobs", 2, "--json")

    assert code == 1, "one workbook failed"
    report = json.loads(stdout)
    assert (report["processed"], report["failed"], report["workers"]) == (12, 1, 2)
    assert report["months"] == MONTHS
    failed = [f for f in report["files"] if f["status"] == "failed"]
    assert [f["input"] for f in failed] == [BROKEN]
    assert "is not an Excel or OpenDocument workbook" in failed[0]["error"]
    assert "\n" not in failed[0]["error"]
    assert f"FAILED {BROKEN}: " in stderr
    assert {p.name: sha(p) for p in source.iterdir()} == inputs, "inputs must not change"

    # One output per good ledger, the summary, nothing else (no temp, lock or broken file).
    outputs = {name.replace(".xlsx", ".collections.xlsx") for name in NAMES.values()}
    assert {p.name for p in out.iterdir()} == outputs | {"Batch Summary.xlsx"}
    for month, name in NAMES.items():
        sheets = dump_sheets(out / name.replace(".xlsx", ".collections.xlsx"))
        ledger = records(sheets["Ledger"])
        assert len(ledger) == len(month_rows(month))
        # As-of from the name: the month's last day (Acme's first item, due on the 16th
        # or 15th of the next month at the latest, is aged at it).
        first = ledger[0]
        assert first["Invoice"] == f"ACME-{min(month, 6)}"
        due = date.fromisoformat(first["Due Date"])
        assert first["Days Overdue"] == (month_end(month) - due).days
        assert {"Collection Plan", "Aging Summary", "Action Calendar", "Exceptions"} <= set(sheets)

    summary = dump_sheets(out / "Batch Summary.xlsx")
    files = records(summary["Files"])
    assert [f["File"] for f in files] == [NAMES[m] for m in range(1, 8)] + [BROKEN] + [
        NAMES[m] for m in range(8, 13)
    ]
    january, december, broken = files[0], files[-1], files[7]
    # January: Acme 1,000 not due, Bolt 5,000 at 31 days, Dune 800 doubtful, Eve USD -9 days.
    assert january == {
        "File": "AR_2026-01.xlsx",
        "Output": "AR_2026-01.collections.xlsx",
        "As Of": "2026-01-31",
        "Status": "ok",
        "Rows": 4,
        "Customers": 4,
        "Outstanding EUR": 6800,
        "Overdue EUR": 5800,
        "Outstanding USD": 1234.56,
        "Overdue USD": 0,
        "Not due": 2,
        "Due soon": 0,
        "Reminder": 0,
        "Written notice": 0,
        "Formal demand": 1,
        "Final notice": 0,
        "Legal action": 0,
        "Doubtful debt": 1,
        "Dead account": 0,
        "Paid": 0,
        "Credit": 0,
        "Disputed": 0,
        "Promised": 0,
        "Letters": 0,
        "Warnings": 0,
        "Seconds": january["Seconds"],
        "Error": None,
        "Notes": None,
    }
    # December: ACME-6..12 (168, 138, 107, 76, 46, 15, -15 days), Bolt 365 days,
    # CORA-10 1,500 at 61 days, CORA-11 2,000 at 30, CORA-12 2,000 at 0.
    assert (december["Rows"], december["Customers"]) == (11, 3)
    assert (december["Outstanding EUR"], december["Overdue EUR"]) == (17500, 14500)
    assert december["Outstanding USD"] is None
    assert [
        december[s]
        for s in (
            "Not due",
            "Reminder",
            "Written notice",
            "Formal demand",
            "Final notice",
            "Legal action",
        )
    ] == [1, 1, 2, 1, 2, 4]
    assert broken["Status"] == "failed" and broken["As Of"] == "2026-07-31"
    assert broken["Rows"] is None and "not an Excel" in broken["Error"]

    history = records(summary["History"])
    eur = [r for r in history if r["Customer"] == "All customers" and r["Currency"] == "EUR"]
    assert [r["Month"] for r in eur] == MONTHS
    # Overdue: Bolt 5,000 (held in Feb) + Dune 800 (to May) + Acme's late items + Cora's.
    assert [r["Overdue"] for r in eur] == [
        5800,
        800,
        5800,
        5800,
        5800,
        5000,
        6000,
        7000,
        8000,
        9500,
        11700,
        14500,
    ]
    assert [r["Outstanding"] for r in eur] == [6800] * 5 + [
        6000,
        7000,
        8000,
        11000,
        12500,
        14700,
        17500,
    ]
    # Payments: Acme's previous invoice (Feb-Jun), Cora's part payments (Oct 1,500; Nov
    # 300 + 500; Dec the last 200 of CORA-9); Dune's 800 is written off, not paid.
    assert [r["Payments"] for r in eur] == [
        None,
        1000,
        1000,
        1000,
        1000,
        1000,
        0,
        0,
        0,
        1500,
        800,
        200,
    ]
    assert [r["Written Off"] for r in eur] == [0] * 5 + [800] + [0] * 6
    # DSO = outstanding x 90 / invoiced in the 90 days to the as-of date, e.g. January:
    # 6,800 x 90 / (ACME-1 1,000 + BOLT-1 5,000) = 102; February adds ACME-2 and still
    # holds BOLT-1 (1 Dec > 30 Nov): 6,800 x 90 / 7,000 = 87.4; December: 17,500 x 90 /
    # (ACME-11, ACME-12, CORA-11, CORA-12 = 6,000; the 1 Oct invoices are 91 days old).
    assert [r["DSO"] for r in eur] == [
        102,
        87.4,
        204,
        204,
        306,
        270,
        315,
        360,
        247.5,
        187.5,
        220.5,
        262.5,
    ]
    assert [r["Move"] for r in eur] == [
        None,
        "held 1",
        "escalated 1",
        "escalated 1",
        None,
        "written off 1",
        "escalated 1",
        "escalated 1",
        "new 1; escalated 1",
        "escalated 2",
        "escalated 1",
        "escalated 1",
    ]
    # Roll rates November -> December: Not due ACME-11 + CORA-11 all roll; 1-30 ACME-10 +
    # CORA-10 roll; 31-60 ACME-9 1,000 rolls, CORA-9 200 is paid: 1,000 / 1,200; 61-90
    # ACME-8 rolls; 91-180 ACME-6/7 stay; 181-365 BOLT-1 stays; nothing older.
    dec = eur[-1]
    rolls = [
        dec[f"Roll {b}"]
        for b in ("Not due", "1-30", "31-60", "61-90", "91-180", "181-365", "366-730")
    ]
    assert rolls[:2] == [1, 1] and rolls[2] == pytest.approx(1000 / 1200)
    assert rolls[3:] == [1, 0, 0, None]
    assert [dec[b] for b in ("Not due", "1-30", "31-60", "61-90", "91-180", "181-365")] == [
        3000,
        3000,
        1000,
        2500,
        3000,
        5000,
    ]
    usd = [r for r in history if r["Customer"] == "All customers" and r["Currency"] == "USD"]
    assert [(r["Month"], r["Move"], r["Payments"]) for r in usd] == [
        ("2026-01", None, None),
        ("2026-02", "escalated 1", 0),
        ("2026-03", "escalated 1", 0),
        ("2026-04", "escalated 1", 0),
        ("2026-05", "escalated 1", 0),
        ("2026-06", "cured 1", 1234.56),
    ]

    def customer(name):
        return {r["Month"]: r for r in history if r["Customer"] == name}

    acme, bolt, cora, dune = (customer(n) for n in ("Acme", "Bolt", "Cora", "Dune"))
    assert [acme[m]["Stage"] for m in MONTHS] == ["Not due"] * 6 + [
        "Written notice",
        "Formal demand",
        "Final notice",
    ] + ["Legal action"] * 3
    assert [bolt[m]["Stage"] for m in MONTHS[:4]] == [
        "Formal demand",
        "Promised",
        "Final notice",
        "Legal action",
    ]
    assert [bolt[m]["Move"] for m in MONTHS[:5]] == [None, "held", "escalated", "escalated", None]
    assert [bolt[m]["Broken Promises"] for m in MONTHS[:6]] == [0, 0, 1, 1, 1, 0]
    assert list(cora) == MONTHS[8:] and cora["2026-09"]["Move"] == "new"
    assert [cora[m]["Payments"] for m in MONTHS[8:]] == [0, 1500, 800, 200]
    # Cora October -> November: Not due CORA-10 2,000 -> 1,500 at 30 days (75%);
    # 1-30 CORA-9 500 -> 200 at 60 days (40%).
    assert cora["2026-11"]["Roll Not due"] == 0.75 and cora["2026-11"]["Roll 1-30"] == 0.4
    assert cora["2026-12"]["DSO"] == 123.8  # 5,500 x 90 / 4,000 = 123.75
    assert (dune["2026-06"]["Move"], dune["2026-06"]["Written Off"]) == ("written off", 800)
    assert customer("Eve")["2026-06"]["Move"] == "cured"

    signs = {
        (r["Customer"], r["Month"]): r["Warning Signs"]
        for r in history
        if r["Warning Signs"] and r["Customer"] != "All customers"
    }
    assert set(signs) == {
        ("Acme", "2026-08"),
        ("Bolt", "2026-04"),
        ("Cora", "2026-11"),
        ("Cora", "2026-12"),
    }
    assert signs[("Acme", "2026-08")].startswith(
        "turned late: paid on time at 6 month-ends, now 46 days overdue"
    )
    assert signs[("Bolt", "2026-04")].startswith("repeated broken promises: 2 broken")
    assert "EUR 2,000.00 > EUR 2,500.00 > EUR 3,700.00" in signs[("Cora", "2026-11")]
    assert "payments EUR 1,500.00 > EUR 800.00" in signs[("Cora", "2026-11")]

    # The same input again: outputs replaced with identical content.
    outputs_before = {p.name: sha(p) for p in out.glob("*.collections.xlsx")}
    summary_before = summary_without_seconds(out / "Batch Summary.xlsx")
    code, stdout, _stderr = cli("batch", source, "-o", out, "--jobs", 2, "--json")
    assert code == 1 and json.loads(stdout)["processed"] == 12
    assert {p.name: sha(p) for p in out.glob("*.collections.xlsx")} == outputs_before
    assert summary_without_seconds(out / "Batch Summary.xlsx") == summary_before
    assert {p.name for p in out.iterdir()} == outputs | {"Batch Summary.xlsx"}


def test_summary_has_native_charts(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for month in (1, 2, 3):
        write_ledger(source / NAMES[month], month_rows(month))
    result = run_batch(BatchOptions(source, tmp_path / "out", jobs=1))
    import zipfile

    with zipfile.ZipFile(result.summary) as package:
        charts = sorted(n for n in package.namelist() if n.startswith("xl/charts/"))
        texts = [package.read(n).decode() for n in charts]
    titles = [t for t in texts if "Aging mix per month (EUR)" in t or "DSO trend (EUR" in t]
    assert len(titles) == 2
    aging = next(t for t in texts if "Aging mix per month (EUR)" in t)
    # Categories are the EUR months (rows 2-4), one stacked series per bucket.
    assert "'History'!$A$2:$A$4" in aging and aging.count("<c:ser>") == 8
    assert '<c:grouping val="stacked"/>' in aging


def _ledger(path: Path, as_of: date, items) -> None:
    """A ledger of (customer, currency, balance, invoice date) items due 30 days later."""
    rows = [
        [
            customer,
            f"INV-{index}",
            issued,
            issued + timedelta(days=30),
            currency,
            balance,
            0,
            balance,
        ]
        for index, (customer, currency, balance, issued) in enumerate(items, start=1)
    ]
    write_ledger(
        path,
        rows,
        header=[
            "Customer",
            "Invoice",
            "Invoice Date",
            "Due Date",
            "Currency",
            "Amount",
            "Paid",
            "Balance",
        ],
    )


def test_invoices_dated_after_the_as_of_date_are_reported(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    # An August ledger file that already holds September and October invoices.
    _ledger(
        source / "AR_2026-08.xlsx",
        date(2026, 8, 31),
        [
            ("Acme", "EUR", 100, date(2026, 7, 1)),
            ("Bolt", "EUR", 200, date(2026, 9, 10)),
            ("Cora", "EUR", 300, date(2026, 10, 5)),
        ],
    )
    result = run_batch(BatchOptions(source, tmp_path / "out", jobs=1))
    files = records(dump_sheets(result.summary)["Files"])
    assert "2 invoices are dated after the as-of date 2026-08-31" in files[0]["Notes"]
    assert "2026-10-05" in files[0]["Notes"]
    exceptions = dump_sheets(tmp_path / "out" / "AR_2026-08.collections.xlsx")["Exceptions"]
    assert any("dated after the as-of date" in str(row) for row in exceptions)


def test_history_charts_every_currency_largest_converted_first(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "rules.toml").write_text(
        '[plan]\nbase_currency = "EUR"\n'
        "[plan.exchange_rates]\nHUF = 0.0025\nUSD = 0.9\nGBP = 1.15\nJPY = 0.006\n",
        "utf-8",
    )
    # HUF 18.9M is EUR 47k; USD 130k is EUR 117k; four currencies, all charted.
    for month in (9, 10):
        _ledger(
            source / f"AR_2026-{month:02d}.xlsx",
            date(2026, month, 28),
            [
                ("Duna", "HUF", 18_900_000, date(2026, 8, 1)),
                ("Acme", "USD", 130_000, date(2026, 8, 1)),
                ("Bolt", "GBP", 20_000, date(2026, 8, 1)),
                ("Kobe", "JPY", 1_000_000, date(2026, 8, 1)),
            ],
        )
    result = run_batch(
        BatchOptions(source, tmp_path / "out", jobs=1, rules_file=source / "rules.toml")
    )
    import zipfile

    with zipfile.ZipFile(result.summary) as package:
        names = sorted(
            (n for n in package.namelist() if n.startswith("xl/charts/chart")),
            key=lambda n: int(n.rsplit("chart", 1)[1].split(".")[0]),
        )
        titles = [package.read(n).decode() for n in names]
    aging = [t.split("Aging mix per month (")[1][:3] for t in titles if "Aging mix" in t]
    assert aging == ["USD", "HUF", "GBP", "JPY"]


def test_history_columns_fit_forint_amounts(tmp_path):
    from openpyxl import load_workbook

    from receivables.core.sheets import display_text, text_width

    source = tmp_path / "in"
    source.mkdir()
    _ledger(
        source / "AR_2026-10.xlsx",
        date(2026, 10, 31),
        [
            ("Budapesti Kereskedelmi Kft.", "HUF", 18_986_177, date(2026, 6, 1)),
            ("Acme", "EUR", 1.5, date(2026, 6, 1)),
        ],
    )
    result = run_batch(BatchOptions(source, tmp_path / "out", jobs=1))
    sheet = load_workbook(result.summary)["History"]
    for column in sheet.iter_cols(min_row=2):
        width = sheet.column_dimensions[column[0].column_letter].width
        for cell in column:
            if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                shown = display_text(cell.value, cell.number_format)
                assert text_width(shown) < width, (cell.coordinate, shown, width)
    huf = next(row for row in sheet.iter_rows(min_row=2) if row[3].value == "HUF")
    assert huf[7].number_format == "#,##0"  # forint amounts without decimals


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AR_2026-10.xlsx", date(2026, 10, 31)),
        ("AR_2026_02.xlsx", date(2026, 2, 28)),
        ("AR 2024.02.xlsx", date(2024, 2, 29)),
        ("Oct 2026.xlsx", date(2026, 10, 31)),
        ("ledger-October-2026.xlsx", date(2026, 10, 31)),
        ("Cartera octubre 2026.xlsx", date(2026, 10, 31)),
        ("Kintlévőségek 2026. október.xlsx", date(2026, 10, 31)),
        ("Forderungen März 2026.xlsx", date(2026, 3, 31)),
        ("应收账款 2026年9月.xlsx", date(2026, 9, 30)),
        ("AR_10-2026.xlsx", date(2026, 10, 31)),
        ("AR_202611.xlsx", date(2026, 11, 30)),
        ("AR_2026-10-15.xlsx", date(2026, 10, 15)),
        ("AR 20261015.xlsx", date(2026, 10, 15)),
        ("AR 15.10.2026.xlsx", date(2026, 10, 15)),
        ("AR 2026年10月15日.xlsx", date(2026, 10, 15)),
        ("Ledger.xlsx", None),
        ("Ledger v2 final 12345.xlsx", None),
        ("AR_2026-13.xlsx", None),
    ],
)
def test_as_of_from_name(name, expected):
    assert as_of_from_name(name) == expected


@pytest.mark.parametrize("name", ["AR 03.04.2026.xlsx", "AR 2026-10 vs 2026-09.xlsx"])
def test_as_of_from_name_refuses_to_guess(name):
    with pytest.raises(ValueError):
        as_of_from_name(name)


def test_as_of_by_the_one_rule(tmp_path, cli):
    """--as-of > general.as_of (any layer) > the date in the file name > today."""
    source = tmp_path / "in"
    source.mkdir()
    rows = month_rows(10)
    write_ledger(source / "Ledger.xlsx", rows)
    write_ledger(source / "AR 03.04.2026.xlsx", rows)
    write_ledger(source / "AR_2026-10.xlsx", rows)
    write_ledger(
        source / "Own settings.xlsx",
        rows,
        extra_sheets=[
            (
                "Collections Settings",
                [
                    ("Section", "Key", "Value", "Description"),
                    ("general", "as_of", "2026-08-31", ""),
                ],
            )
        ],
    )

    def as_of(out, *options):
        code, stdout, _ = cli(
            "batch", source, "-o", tmp_path / out, "--jobs", 1, "--json", *options
        )
        files = {f["input"]: f for f in json.loads(stdout)["files"]}
        return code, {name: (f["as_of"], f["error"]) for name, f in files.items()}

    code, found = as_of("a")
    assert code == 1
    assert found["AR_2026-10.xlsx"] == ("2026-10-31", None)
    assert found["Own settings.xlsx"] == ("2026-08-31", None)
    assert found["Ledger.xlsx"] == (date.today().isoformat(), None), "no date anywhere: today"
    assert "could be day-month or month-day" in found["AR 03.04.2026.xlsx"][1]

    (source / "rules.toml").write_text("[general]\nas_of = 2026-09-30\n", "utf-8")
    code, found = as_of("b")
    assert code == 0
    assert found["Ledger.xlsx"] == found["AR 03.04.2026.xlsx"] == ("2026-09-30", None)
    assert found["AR_2026-10.xlsx"] == ("2026-09-30", None), "settings come before the name"
    assert found["Own settings.xlsx"] == ("2026-08-31", None), "the sheet beats rules.toml"

    code, found = as_of("c", "--as-of", "2026-01-15")
    assert code == 0 and {v for v in found.values()} == {("2026-01-15", None)}


def test_discovery_skips_locks_outputs_and_the_output_folder(tmp_path):
    source = tmp_path / "in"
    (source / "2025" / ".hidden").mkdir(parents=True)
    for name in (
        "AR_2026-01.xlsx",
        "b.XLSM",
        "c.xls",
        "d.xlsb",
        "e.ods",
        "~$AR_2026-01.xlsx",
        "AR_2026-01.collections.xlsx",
        "Batch Summary.xlsx",
        ".~receivables-x.xlsx",
        "notes.txt",
        "2025/AR_2025-12.xlsx",
        "2025/~$AR_2025-12.xlsx",
        "2025/.hidden/x.xlsx",
    ):
        (source / name).write_bytes(b"x")
    out = source / "out"
    (out / "2025").mkdir(parents=True)
    (out / "2025" / "AR_2025-11.xlsx").write_bytes(b"x")
    names = [p.relative_to(source).as_posix() for p in discover(source, out)]
    assert names == ["AR_2026-01.xlsx", "b.XLSM", "c.xls", "d.xlsb", "e.ods"]
    names = [p.relative_to(source).as_posix() for p in discover(source, out, recursive=True)]
    assert names == [
        "2025/AR_2025-12.xlsx",
        "AR_2026-01.xlsx",
        "b.XLSM",
        "c.xls",
        "d.xlsb",
        "e.ods",
    ]
    jobs = plan_jobs(
        [
            source / "AR.xlsx",
            source / "AR.xls",
            source / "m.xlsm",
            source / "2025" / "AR_2025-12.xlsx",
        ],
        BatchOptions(source, tmp_path / "o", letters=True),
    )
    assert [j.output.relative_to(tmp_path / "o").as_posix() for j in jobs] == [
        "AR.collections.xlsx",
        "AR-xls.collections.xlsx",
        "m.collections.xlsm",
        "2025/AR_2025-12.collections.xlsx",
    ]
    assert jobs[3].letters_dir == tmp_path / "o" / "letters" / "2025" / "AR_2025-12"
    assert jobs[3].as_of is None and jobs[3].name_date == date(2025, 12, 31)


def test_recursive_batch_mirrors_subfolders(tmp_path, cli):
    source = tmp_path / "in"
    (source / "2025").mkdir(parents=True)
    write_ledger(source / "2025" / "AR_2025-12.xlsx", month_rows(1))
    write_ledger(source / "AR_2026-01.xlsx", month_rows(1))
    out = source / "out"  # inside the input folder: never read back as input
    for _ in range(2):
        code, stdout, _ = cli("batch", source, "-o", out, "--recursive", "--jobs", 1, "--json")
        assert code == 0
        assert [f["output"] for f in json.loads(stdout)["files"]] == [
            "2025/AR_2025-12.collections.xlsx",
            "AR_2026-01.collections.xlsx",
        ]
    assert (out / "2025" / "AR_2025-12.collections.xlsx").is_file()


def test_all_failed_still_writes_the_summary(tmp_path, cli):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "AR_2026-01.xlsx").write_bytes(b"junk")
    code, stdout, _ = cli("batch", tmp_path / "in", "-o", tmp_path / "out", "--json")
    assert code == 1 and json.loads(stdout)["months"] == []
    sheets = dump_sheets(tmp_path / "out" / "Batch Summary.xlsx")
    assert [row[3] for row in sheets["Files"][1:]] == ["failed"]
    assert len(sheets["History"]) == 1  # the header only


def test_empty_folder_and_missing_folder(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    code, _, stderr = cli("batch", tmp_path / "empty", "-o", tmp_path / "out")
    assert code == 1 and "holds no workbooks" in stderr and "Traceback" not in stderr
    code, _, stderr = cli("batch", tmp_path / "nowhere", "-o", tmp_path / "out")
    assert code == 1 and "is not a folder" in stderr


def test_letters_per_workbook(tmp_path, cli):
    source = tmp_path / "in"
    source.mkdir()
    write_ledger(source / "AR_2026-12.xlsx", month_rows(12))
    out = tmp_path / "out"
    code, stdout, stderr = cli("batch", source, "-o", out, "--letters", "--jobs", 1, "--json")
    assert code == 0, stderr
    files = json.loads(stdout)["files"]
    letters = list((out / "letters" / "AR_2026-12").rglob("*.docx"))
    assert files[0]["letters"] == len(letters) > 0
    log = dump_sheets(out / "AR_2026-12.collections.xlsx", ["Letters Log"])["Letters Log"]
    assert len(log) == len(letters) + 1


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_stops_cleanly(tmp_path, jobs):
    source = tmp_path / "in"
    source.mkdir()
    for month in range(1, 7):
        write_ledger(source / NAMES[month], month_rows(month))
    out = tmp_path / "out"

    def interrupt(_row):
        raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted) as stopped:
        run_batch(BatchOptions(source, out, jobs=jobs), on_file=interrupt)
    assert (stopped.value.done, stopped.value.total) == (1, 6)
    assert not (out / "Batch Summary.xlsx").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    written = list(out.glob("*.collections.xlsx"))
    assert 1 <= len(written) <= 1 + jobs
    for path in written:  # every output there is whole
        assert "Collection Plan" in dump_sheets(path, names={"Collection Plan"})


def test_ctrl_c_exit_code(tmp_path, cli, monkeypatch):
    def stopped(_options, **_kwargs):
        raise BatchInterrupted(3, 12)

    monkeypatch.setattr(batch, "run_batch", stopped)
    (tmp_path / "in").mkdir()
    code, _, stderr = cli("batch", tmp_path / "in", "-o", tmp_path / "out")
    assert code == 130 and "Interrupted: 3 of 12 workbooks were finished" in stderr


_REAL_PROCESS_ONE = batch.process_one


def _dies_on_crash_files(job):
    # Module level so the pool can pickle it; the forked workers see the patched module.
    if job.name.startswith("crash"):
        os._exit(3)
    return _REAL_PROCESS_ONE(job)


def test_a_dying_worker_fails_only_its_workbook(tmp_path, monkeypatch):
    if batch.ProcessPoolExecutor()._mp_context.get_start_method() != "fork":
        pytest.skip("the patched worker reaches the pool only through fork")
    monkeypatch.setattr(batch, "process_one", _dies_on_crash_files)
    source = tmp_path / "in"
    source.mkdir()
    for month in (1, 2, 3):
        write_ledger(source / NAMES[month], month_rows(month))
    write_ledger(source / "crash_2026-04.xlsx", month_rows(4))
    result = run_batch(BatchOptions(source, tmp_path / "out", jobs=2))
    status = {f.file: (f.status, f.error) for f in result.files}
    assert status["crash_2026-04.xlsx"][0] == "failed"
    assert "worker process died" in status["crash_2026-04.xlsx"][1]
    assert [status[NAMES[m]][0] for m in (1, 2, 3)] == ["ok"] * 3
    assert result.history.labels == ("2026-01", "2026-02", "2026-03")


def _snapshot(as_of, items):
    """A snapshot from (customer, invoice, balance, days overdue, stage) tuples, EUR."""
    n = len(items)
    column = list(zip(*items, strict=True))
    return Snapshot(
        as_of=as_of,
        customer=np.array(column[0], dtype=object),
        currency=np.array(["EUR"] * n, dtype=object),
        invoice=np.array(column[1], dtype=object),
        invoice_date=np.full(n, np.datetime64(as_of, "D") - 10),
        amount_cents=np.array(column[2], dtype=np.int64),
        paid_cents=np.zeros(n, np.int64),
        balance_cents=np.array(column[2], dtype=np.int64),
        days_overdue=np.array(column[3], dtype=np.int64),
        stage=np.array(column[4], dtype=object),
        counts_overdue=np.array([d >= 1 for d in column[3]]),
        broken_promise=np.zeros(n, bool),
        promise_date=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
    )


def test_history_merges_workbooks_of_one_date():
    rules = load_rules()[0]
    north = _snapshot(date(2026, 1, 31), [("A", "1", 10000, 20, "notice")])
    south = _snapshot(date(2026, 1, 31), [("B", "2", 30000, 40, "demand")])
    feb = _snapshot(
        date(2026, 2, 28), [("A", "1", 10000, 48, "demand"), ("B", "2", 30000, 68, "final")]
    )
    history = build_history([feb, south, north], rules)
    assert history.labels == ("2026-01", "2026-02")
    assert history.notes == ("2 workbooks as of 2026-01-31 are taken as one ledger",)
    portfolio = history.table[history.table["customer"].isna()]
    assert list(portfolio["outstanding"]) == [40000, 40000]
    # 1-30 (A) rolled to 31-60, 31-60 (B) rolled to 61-90: both 100%.
    february = portfolio.iloc[1]
    assert (february["rolled_1"], february["base_1"]) == (10000, 10000)
    assert (february["rolled_2"], february["base_2"]) == (30000, 30000)
    assert np.isnan(february["base_0"])  # nothing was not yet due in January
    assert [february[f"bucket_{i}"] for i in range(4)] == [0, 0, 10000, 30000]
    # DSO: 40,000 outstanding x 90 / 40,000 invoiced in the window = 90.
    assert str(portfolio["dso"].iloc[1]) == "90.0"


def test_a_macro_workbook_named_xlsx_gets_an_xlsm_output(tmp_path, cli):
    """Found in review: batch named outputs by the input's suffix alone."""
    import shutil

    from openpyxl import load_workbook

    source = tmp_path / "in"
    source.mkdir()
    ledger = write_ledger(tmp_path / "plain.xlsx", month_rows(12))
    book = load_workbook(macro_workbook(), keep_vba=True)
    plain = load_workbook(ledger)
    target = book.create_sheet("Ledger", 0)
    for row in plain.active.iter_rows(values_only=True):
        target.append(list(row))
    book.save(tmp_path / "macro.xlsm")
    shutil.copy(tmp_path / "macro.xlsm", source / "AR_2026-12.xlsx")  # macros, .xlsx name
    code, _out, stderr = cli("batch", source, "-o", tmp_path / "out", "--jobs", 1)
    assert code == 0, stderr
    assert (tmp_path / "out" / "AR_2026-12.collections.xlsm").exists()
