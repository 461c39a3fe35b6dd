"""Messy ledgers in six languages, checked item by item (design.md §3).

Every ledger (see ``tests/messy.py``) has a merged title, the header a few rows down, a
notes sheet, text dates and text amounts in its language's habits, balances as formulas
with cached values, blank rows, a repeated header, a subtotal row (labelled or only the
sums of the rows above), a total row, a note under the table and one impossible date.
A correct reader finds every item, every total to the cent and every stage, skips and
reports every other row, and reports nothing else.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from receivables.core.headers import HeaderMatcher, known_names
from receivables.core.issues import InputError, Severity
from receivables.core.ledger import build_ledger, locate_table
from receivables.core.process import header_matcher
from receivables.core.rules import load_rules
from receivables.pipeline import run
from receivables.reader import open_workbook

from messy import AS_OF, LANGUAGE_SPECS, MessyLedger, ledger_grid, write_messy

CASES = [
    ("es", False),
    ("en", False),
    ("en", True),
    ("zh", False),
    ("hu", False),
    ("de", False),
    ("fr", False),
]
IDS = [f"{language}{'-1904' if date1904 else ''}" for language, date1904 in CASES]


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """Each case written and processed once: (ledger, report, output path)."""
    cache = {}

    def get(language: str, date1904: bool):
        key = (language, date1904)
        if key not in cache:
            folder = tmp_path_factory.mktemp(f"messy_{language}{int(date1904)}")
            ledger = write_messy(folder, language, date1904=date1904)
            output = folder / "out.xlsx"
            cache[key] = (ledger, run(ledger.path, output, AS_OF), output)
        return cache[key]

    return get


@pytest.mark.parametrize(("language", "date1904"), CASES, ids=IDS)
def test_sheet_and_header_row_are_found(processed, language, date1904):
    ledger, report, _ = processed(language, date1904)
    assert report.sheet == ledger.sheet  # not the notes or summary sheet
    assert report.header_row == ledger.header_row
    assert open_workbook(ledger.path).date1904 is date1904


@pytest.mark.parametrize(("language", "date1904"), CASES, ids=IDS)
def test_every_item_is_found_with_its_values_and_stage(processed, language, date1904):
    ledger, report, _ = processed(language, date1904)
    found = {int(record.row): record for record in report.outcome.classified.itertuples()}
    assert sorted(found) == [item.row for item in ledger.items]
    for item in ledger.items:
        record = found[item.row]
        got = (
            record.customer,
            record.invoice,
            record.invoice_date.date(),
            record.due_date.date(),
            record.balance_cents,
            record.currency,
            record.stage,
            bool(record.due_date_derived),
            record.days_overdue,
        )
        want = (
            item.customer,
            item.invoice,
            item.invoice_date,
            item.due,
            item.balance_cents,
            item.currency,
            item.stage,
            item.due_derived,
            item.days_overdue,
        )
        assert got == want, f"row {item.row}"


@pytest.mark.parametrize(("language", "date1904"), CASES, ids=IDS)
def test_totals_and_stage_counts_are_exact(processed, language, date1904):
    ledger, report, _ = processed(language, date1904)
    data = report.to_json()
    assert data["rows"] == len(ledger.items)
    assert data["outstanding"] == {c: v / 100 for c, v in ledger.outstanding().items()}
    assert data["overdue"] == {c: v / 100 for c, v in ledger.overdue().items()}
    expected = Counter(item.stage for item in ledger.items)
    assert {k: v for k, v in data["stages"].items() if v} == dict(expected)
    # Every stage of the ladder and every overriding state but 'promised' is present.
    assert set(expected) == {
        "current",
        "pre_due",
        "reminder",
        "notice",
        "demand",
        "final",
        "legal",
        "doubtful",
        "dead",
        "paid",
        "credit",
        "disputed",
    }


@pytest.mark.parametrize(("language", "date1904"), CASES, ids=IDS)
def test_every_other_row_is_skipped_and_reported(processed, language, date1904):
    ledger, report, _ = processed(language, date1904)
    skipped = {s.row: s.reason for s in report.outcome.ledger.skipped}
    assert sorted(skipped) == sorted(ledger.skipped)
    for row, word in ledger.skipped.items():
        assert word in skipped[row], (row, skipped[row])
    # Each skipped row is in the Exceptions sheet: at the row ('Octubre!11:11') or a cell.
    reported = {issue.where.row for issue in report.issues if issue.where.sheet == ledger.sheet}
    assert set(ledger.skipped) <= reported


@pytest.mark.parametrize(("language", "date1904"), CASES, ids=IDS)
def test_the_unreadable_date_is_the_only_warning(processed, language, date1904):
    ledger, report, _ = processed(language, date1904)
    warnings = [
        (i.where, i.message) for i in report.outcome.ledger.issues if i.severity != Severity.INFO
    ]
    assert warnings == ledger.warnings
    # The item is kept, its due date derived from the invoice date and flagged.
    where = ledger.warnings[0][0]
    assert any(
        i.where == where and "invoice date + terms" in i.message
        for i in report.outcome.ledger.issues
    )


@pytest.mark.parametrize(("language", "date1904"), CASES, ids=IDS)
def test_unmapped_column_is_reported_and_kept(processed, language, date1904):
    from python_calamine import CalamineWorkbook

    ledger, report, output = processed(language, date1904)
    ((where, header),) = ledger.unmapped
    assert [(i.where, i.message) for i in report.issues if i.where == where] == [
        (where, f"column '{header}' is not a known field; kept as it is")
    ]
    sheet = CalamineWorkbook.from_path(str(output)).get_sheet_by_name(ledger.sheet)
    rows = sheet.to_python(skip_empty_area=False)
    header_cells = rows[ledger.header_row - 1]
    assert header_cells[8] == header
    assert header_cells[9:13] == ["Days Overdue", "Aging Bucket", "Stage", "Next Action"]
    for item in ledger.items:
        line = rows[item.row - 1]
        assert line[0] == item.customer and str(line[8]).startswith("R7")
        assert line[9] == item.days_overdue


def test_cli_json_for_the_spanish_ledger(tmp_path, cli):
    ledger = write_messy(tmp_path, "es")
    code, out, err = cli(
        "process", ledger.path, "-o", tmp_path / "out.xlsx", "--as-of", AS_OF.isoformat(), "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["sheet"], data["header_row"], data["rows"]) == ("Octubre", 4, 13)
    assert data["outstanding"] == {"EUR": sum(i.balance_cents for i in ledger.items) / 100}
    assert {
        "where": "Octubre!D17",
        "message": "'31/02/2026' is not a date",
        "severity": "warning",
        "location": {"sheet": "Octubre", "row": 17, "column": 4},
    } in data["issues"]
    assert {"row": 11, "reason": "totals row (its amounts are the sums of the rows above)"} in data[
        "skipped"
    ]


# ---------------------------------------------------------------- the pure core, directly


def _grid_ledger(rows, rules=None, sheet="Ledger"):
    from receivables.core.grid import SheetGrid

    rules = rules or load_rules()[0]
    matcher = header_matcher(rules)
    grid = SheetGrid(name=sheet, rows=rows)
    location = locate_table(grid, matcher, rules)
    assert location is not None
    return build_ledger(grid, rules, location, matcher)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


HEADER_STYLES = {
    "upper": str.upper,
    "lower": str.lower,
    "no accents": _strip_accents,
    "spaced": lambda text: "  " + text.replace(" ", "   ") + " ",
    "punctuated": lambda text: text.replace(" ", "_") + ":",
}


@pytest.mark.parametrize("language", list(LANGUAGE_SPECS))
@pytest.mark.parametrize("style", list(HEADER_STYLES))
def test_headers_are_matched_whatever_their_case_accents_spacing(language, style):
    rows, expected = ledger_grid(language)
    change = HEADER_STYLES[style]
    header_index = expected.header_row - 1
    original = list(rows[header_index])
    # The header and its repetition further down change alike.
    for index, line in enumerate(rows):
        if line == original:
            rows[index] = [change(text) for text in original]
    ledger = _grid_ledger(rows, sheet=expected.sheet)
    assert ledger.header_row == expected.header_row
    assert set(ledger.location.columns) >= {
        "customer",
        "invoice",
        "invoice_date",
        "due_date",
        "amount",
        "paid",
        "balance",
        "disputed",
    }
    assert list(ledger.frame["row"]) == [item.row for item in expected.items]
    assert list(ledger.frame["balance_cents"]) == [i.balance_cents for i in expected.items]


def test_a_two_row_header_under_merged_group_headings(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Octubre"
    sheet.append(["Cartera de clientes"])
    sheet.append([])
    sheet.append(["Cliente", "Factura", None, "Vencimiento", "Importes", None, None])
    sheet.append([None, "Nº factura", "Fecha factura", None, "Total", "Cobrado", "Pendiente"])
    sheet.append(["Uno", "F-1", "01/08/2026", "15/09/2026", "1.000,00 €", "-", "1.000,00 €"])
    sheet.append(["Dos", "F-2", "02/08/2026", "16/09/2026", "500,00 €", "100,00 €", "400,00 €"])
    sheet.append(["TOTAL", None, None, None, "1.500,00 €", "100,00 €", "1.400,00 €"])
    for cells in ("A1:G1", "A3:A4", "B3:C3", "D3:D4", "E3:G3"):
        sheet.merge_cells(cells)
    path = tmp_path / "dos_filas.xlsx"
    book.save(path)
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    assert report.header_row == 4
    assert dict(report.outcome.ledger.location.columns) == {
        "customer": 1,
        "invoice": 2,
        "invoice_date": 3,
        "due_date": 4,
        "amount": 5,
        "paid": 6,
        "balance": 7,
    }
    frame = report.outcome.classified
    assert list(frame["customer"]) == ["Uno", "Dos"]
    assert list(frame["balance_cents"]) == [100000, 40000]
    assert [d.date() for d in frame["due_date"]] == [date(2026, 9, 15), date(2026, 9, 16)]
    assert [(s.row, s.reason) for s in report.outcome.ledger.skipped] == [(7, "totals row")]
    assert sheet_row_values(tmp_path / "out.xlsx", "Octubre", 4)[7:11] == [
        "Days Overdue",
        "Aging Bucket",
        "Stage",
        "Next Action",
    ]


def sheet_row_values(path, sheet, row):
    """The values of one row of an output sheet."""
    from python_calamine import CalamineWorkbook

    rows = (
        CalamineWorkbook.from_path(str(path))
        .get_sheet_by_name(sheet)
        .to_python(skip_empty_area=False)
    )
    return rows[row - 1]


def test_a_complete_single_header_is_not_merged_with_the_title_above():
    rows = [
        ["Saldos a 31/10/2026", None, None, "Moneda: EUR"],
        ["Cliente", "Vencimiento", "Saldo"],
        ["Uno", "15/09/2026", 10.0],
    ]
    ledger = _grid_ledger(rows)
    assert ledger.header_row == 2
    assert dict(ledger.location.headers) == {1: "Cliente", 2: "Vencimiento", 3: "Saldo"}


def test_ambiguous_date_column_is_reported_and_read_day_first():
    rows = [
        ["Customer", "Due date", "Balance"],
        ["A", "03/04/2026", 10],
        ["B", "05/06/2026", 20],
        ["C", "11/12/2026", 30],
    ]
    ledger = _grid_ledger(rows)
    assert [d.date() for d in ledger.frame["due_date"]] == [
        date(2026, 4, 3),
        date(2026, 6, 5),
        date(2026, 12, 11),
    ]
    (issue,) = [i for i in ledger.issues if "day-first or month-first" in i.message]
    assert str(issue.where) == "Ledger!B1" and "date_order" in issue.message


def test_one_unambiguous_value_decides_the_column_and_odd_ones_out_are_reported():
    rows = [
        ["Customer", "Due date", "Balance"],
        ["A", "03/04/2026", 10],
        ["B", "12/25/2026", 20],
        ["C", "25/12/2026", 30],
        ["D", "09/30/2026", 40],
    ]
    ledger = _grid_ledger(rows)
    assert [d.date() for d in ledger.frame["due_date"]][:2] == [
        date(2026, 3, 4),
        date(2026, 12, 25),
    ]
    messages = [i.message for i in ledger.issues if str(i.where) == "Ledger!B4"]
    assert messages == [
        "'25/12/2026' is not a date in month/day/year order like the rest of the column",
        "row skipped: no due date and no invoice date",
    ]
    assert list(ledger.frame["customer"]) == ["A", "B", "D"]


def test_unreadable_amount_and_flag_are_issues_at_their_cells_and_the_row_is_reported():
    rows = [
        ["Cliente", "Vencimiento", "Importe", "En disputa"],
        ["Bueno", "15/09/2026", "1.234,56 €", "no"],
        ["Malo", "16/09/2026", "mil euros", "no"],
        ["Raro", "17/09/2026", "10,00 €", "quizás"],
    ]
    ledger = _grid_ledger(rows, sheet="Octubre")
    messages = {(str(i.where), i.message) for i in ledger.issues}
    assert ("Octubre!C3", "'mil euros' is not an amount") in messages
    assert ("Octubre!D4", "'quizás' is not yes or no") in messages
    assert list(ledger.frame["customer"]) == ["Bueno", "Raro"]
    assert [(s.row, s.reason) for s in ledger.skipped] == [(3, "unreadable due date or amount")]


def test_customers_named_total_are_items_but_total_rows_are_not():
    rows = [
        ["Customer", "Invoice", "Due date", "Balance"],
        ["Total Energies", "I-1", "2026-09-15", 100.0],
        ["TOTAL S.A.", "I-2", "2026-09-16", 50.0],
        ["Total EUR", None, None, 150.0],
        ["Totalmente Nuevo", None, "2026-09-17", 5.0],
        [None, None, None, 155.0],
    ]
    ledger = _grid_ledger(rows)
    assert list(ledger.frame["customer"]) == ["Total Energies", "TOTAL S.A.", "Totalmente Nuevo"]
    assert {s.row: s.reason for s in ledger.skipped} == {
        4: "totals row",
        6: "totals row (its amounts are the sums of the rows above)",
    }


def test_grand_total_after_subtotals_is_recognised_without_a_label():
    rows = [
        ["Customer", "Due date", "Balance"],
        ["A", "2026-09-01", 10.0],
        ["B", "2026-09-02", 20.0],
        [None, None, 30.0],
        ["C", "2026-09-03", 5.0],
        [None, None, 5.0],
        [None, None, 35.0],
    ]
    ledger = _grid_ledger(rows)
    assert list(ledger.frame["customer"]) == ["A", "B", "C"]
    assert [s.row for s in ledger.skipped] == [4, 6, 7]


def test_bare_yen_follows_the_ledger_and_is_reported_when_undecided():
    yuan = _grid_ledger(
        [
            ["Customer", "Due date", "Balance"],
            ["A", "2026-09-01", "¥1,000.00"],
            ["B", "2026-09-02", "500元"],
        ]
    )
    assert list(yuan.frame["currency"]) == ["CNY", "CNY"]
    yen = _grid_ledger([["客户", "到期日", "余额", "メモ"], ["A", "2026-09-01", "¥1,000", "x"]])
    assert list(yen.frame["currency"]) == ["JPY"]
    unknown = _grid_ledger([["Customer", "Due date", "Balance"], ["A", "2026-09-01", "¥1,000"]])
    assert list(unknown.frame["currency"]) == ["EUR"]
    assert any(
        "yen or yuan" in i.message and i.severity == Severity.WARNING for i in unknown.issues
    )
    column = _grid_ledger(
        [["Customer", "Due date", "Balance", "Currency"], ["A", "2026-09-01", "¥1,000", "JPY"]]
    )
    assert list(column.frame["currency"]) == ["JPY"]


# ------------------------------------------------------------ choices and user overrides


def _two_month_book(path):
    book = Workbook()
    book.remove(book.active)
    for name, balance in (("Septiembre", 111.0), ("Octubre", 222.0)):
        sheet = book.create_sheet(name)
        sheet.append(["Cliente", "Vencimiento", "Saldo"])
        sheet.append([f"Cliente {name}", "15/09/2026", balance])
    book.save(path)
    return path


def test_sheet_option_picks_the_named_sheet(tmp_path):
    path = _two_month_book(tmp_path / "meses.xlsx")
    assert run(path, None, AS_OF, write=False).sheet == "Septiembre"
    report = run(path, None, AS_OF, sheet="octubre", write=False)
    assert report.sheet == "Octubre"
    assert list(report.outcome.classified["balance_cents"]) == [22200]
    with pytest.raises(InputError, match="no sheet named 'Noviembre'.*'Septiembre', 'Octubre'"):
        run(path, None, AS_OF, sheet="Noviembre", write=False)


def test_visible_sheet_beats_an_equally_good_hidden_copy(tmp_path):
    book_path = tmp_path / "tie.xlsx"
    book = Workbook()
    hidden = book.active
    hidden.title = "Copia"
    hidden.append(["Cliente", "Vencimiento", "Saldo"])
    hidden.append(["Oculto", "15/09/2026", 1.0])
    hidden.sheet_state = "hidden"
    visible = book.create_sheet("Octubre")
    visible.append(["Cliente", "Vencimiento", "Saldo"])
    visible.append(["Visible", "15/09/2026", 2.0])
    book.save(book_path)
    assert run(book_path, None, AS_OF, write=False).sheet == "Octubre"


def test_header_names_from_the_rules_file(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Deudas"
    sheet.append(["Razón del deudor", "Día tope", "Lo que falta"])
    sheet.append(["Cliente Uno", "15/09/2026", "100,50 €"])
    path = tmp_path / "deudas.xlsx"
    book.save(path)
    with pytest.raises(InputError, match=r"\[headers\]"):
        run(path, None, AS_OF, write=False)
    rules = tmp_path / "mis_reglas.toml"
    rules.write_text(
        '[headers]\ncustomer = ["Razón del deudor"]\ndue_date = ["Dia tope"]\n'
        'balance = ["LO QUE FALTA"]\n',
        "utf-8",
    )
    report = run(path, None, AS_OF, rules_file=rules, write=False)
    assert list(report.outcome.classified["balance_cents"]) == [10050]
    assert list(report.outcome.classified["stage"]) == ["demand"]
    # The same names in a rules.toml beside the workbook apply without --rules.
    (tmp_path / "rules.toml").write_text(rules.read_text("utf-8"), "utf-8")
    assert run(path, None, AS_OF, write=False).outcome.classified["customer"].tolist() == [
        "Cliente Uno"
    ]


def test_header_names_from_the_settings_sheet(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Deudas"
    sheet.append(["Razón del deudor", "Día tope", "Lo que falta"])
    sheet.append(["Cliente Uno", "15/09/2026", "100,50 €"])
    settings = book.create_sheet("Collections Settings")
    settings.append(["Section", "Key", "Value", "Description"])
    settings.append(["headers", "customer", '["Razón del deudor"]', ""])
    settings.append(["headers", "due_date", '["Día tope"]', ""])
    settings.append(["headers", "balance", '["Lo que falta"]', ""])
    path = tmp_path / "deudas.xlsx"
    book.save(path)
    report = run(path, None, AS_OF, write=False)
    assert report.sheet == "Deudas"
    assert list(report.outcome.classified["balance_cents"]) == [10050]


def test_user_names_win_over_built_in_ones():
    matcher = HeaderMatcher({"notes": ["Saldo"]})
    assert matcher.match("Saldo") == "notes"
    assert HeaderMatcher().match("Saldo") == "balance"


def test_messy_ledger_expectations_are_self_consistent():
    """The generator's own arithmetic: totals rows hold the sums of their items."""
    for language in LANGUAGE_SPECS:
        rows, ledger = ledger_grid(language)
        assert isinstance(ledger, MessyLedger)
        total_row = max(r for r, why in ledger.skipped.items() if why == "totals")
        assert round(rows[total_row - 1][6] * 100) == sum(i.balance_cents for i in ledger.items)


def test_the_headers_page_is_current():
    """docs/headers.md lists exactly the names the matcher knows (regenerate it if not)."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "gen_headers_doc.py"
    spec = importlib.util.spec_from_file_location("gen_headers_doc", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "run scripts/gen_headers_doc.py"
    page = module.DOC.read_text("utf-8")
    for names in known_names().values():
        for name in names:
            assert name in page


def test_a_zero_item_whose_name_starts_like_a_total_word_is_an_item(tmp_path):
    """Found by hypothesis: '=SUM(A1)' normalises to 'suma1' (Spanish 'suma' = total) and
    its zero amounts equalled the empty running sums; it is an item, not a totals row."""
    from conftest import ledger_row, write_ledger

    source = write_ledger(tmp_path / "zero.xlsx", [ledger_row("=SUM(A1)", 0, 0.0)])
    report = run(source, None, AS_OF, write=False)
    assert report.outcome.classified["customer"].tolist() == ["=SUM(A1)"]
