"""The ribbon add-in end to end, with an openpyxl stand-in in place of Excel.

The stand-in (``tests/standin.py``; the package does not ship it) is an xlwings engine:
xlwings' own ``Range.value`` pipeline, converters and ``Book.caller()`` run on top of it,
so the handlers are exercised through the same calls they make in Excel. Buttons are pressed
through ``dispatch`` with the argv that RunPython passes (``--wb=<name> --from_xl=1``),
and the result is compared cell by cell with ``receivables process`` on the same file.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import xlwings as xw
from oletools.olevba import VBA_Parser
from openpyxl import load_workbook
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.table import Table, TableStyleInfo

import receivables.addin as addin_package
from receivables import __version__
from receivables.addin import build, handlers, xlwriter
from receivables.addin.buttons import BUTTONS
from receivables.core.rules import load_rules
from receivables.core.settings_sheet import HEADER, parse_settings_rows, settings_rows
from receivables.demo import sample_path
from receivables.letters import LOG_COLUMNS
from receivables.messages import write_letters_and_messages
from receivables.pipeline import run

import standin
from conftest import AS_OF, boundary_rows, ledger_row, write_ledger
from conftest import HEADER as HEADER_ROW
from letters_support import docx_text
from messy import write_messy
from workbook_dump import cell_text, dump_sheets

ADDIN = Path(handlers.__file__).parent
OUTPUT_SHEETS = ("Collection Plan", "Aging Summary", "Action Calendar", "Exceptions")
# Text that Excel would turn into a formula, a date, a number or a boolean if typed.
TRICKY_NAMES = (
    '=HYPERLINK("http://example.com","pay")',
    "+1-555-0100",
    "1-30",
    "00123",
    "TRUE",
    "'Quoted Ltd",
    "2026-10-31",
    "3/4",
    "-",
    "@risk",
)


@pytest.fixture
def excel():
    """A running stand-in Excel (the active xlwings engine for the test)."""
    previous = xw.engines.active
    app = standin.activate()
    yield app
    standin.deactivate(previous)


@pytest.fixture
def on(monkeypatch):
    """Run the add-in as of AS_OF (the clock is the handlers' only edge)."""
    monkeypatch.setattr(handlers, "today", lambda: AS_OF)


@pytest.fixture
def click(monkeypatch, on):
    """Press a ribbon button on ``book`` as Excel does; returns the alerts it showed."""

    def press(book: xw.Book, button_id: str) -> list[dict]:
        # RunPython's command line (see the replay test below); Book.caller() reads it.
        monkeypatch.setattr(
            sys, "argv", ["-c", f"--wb={book.name}", "--from_xl=1", "--app=Excel", "--hwnd=1"]
        )
        app = book.app.impl
        seen = len(app.alerts)
        addin_package.dispatch(button_id)
        assert app.status_bar is False, "the status bar is handed back to Excel"
        return app.alerts[seen:]

    return press


def ok(alerts: list[dict]) -> str:
    """The one info message of a successful click."""
    assert [a["mode"] for a in alerts] == ["info"], alerts
    assert alerts[0]["title"] == "Collections"
    return alerts[0]["prompt"]


def failed(alerts: list[dict]) -> str:
    """The one error message of a failed click."""
    assert [a["mode"] for a in alerts] == ["critical"], alerts
    return alerts[0]["prompt"]


# ---- workbooks -----------------------------------------------------------------------------


def tricky_ledger(path: Path) -> Path:
    """A ledger with formula-like text, the stage boundaries and the overriding states."""
    _days, rows = boundary_rows()
    rows += [
        ledger_row(name, 45 + index, 100.0 + index, invoice=f"T-{index}")
        for index, name in enumerate(TRICKY_NAMES)
    ]
    return write_ledger(path, rows)


def sample_ledger(path: Path) -> Path:
    """The packaged sample: three sheets, a settings sheet among them."""
    shutil.copy(sample_path(), path)
    return path


def messy_ledger(language: str, date1904: bool = False, suffix: str = ".xlsx"):
    """A maker of the messy ledger of ``language`` (tests/messy.py), as .xlsx or .xlsm."""

    def make(path: Path) -> Path:
        written = write_messy(path.parent, language, date1904=date1904).path
        return written if suffix == ".xlsx" else macro_workbook(written)

    return make


def macro_workbook(path: Path) -> Path:
    """``path`` as an .xlsm holding the VBA project of xlwings' quickstart workbook."""
    with zipfile.ZipFile(Path(xw.__file__).parent / "quickstart.xlsm") as quickstart:
        vba = quickstart.read("xl/vbaProject.bin")
    target = path.with_suffix(".xlsm")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":
                text = data.decode("utf-8").replace(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
                data = text.replace(
                    "<Default ",
                    '<Default Extension="bin" ContentType='
                    '"application/vnd.ms-office.vbaProject"/><Default ',
                    1,
                ).encode("utf-8")
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    (
                        b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/'
                        b'2006/relationships/vbaProject" Target="vbaProject.bin"/>'
                        b"</Relationships>"
                    ),
                )
            out.writestr(info.filename, data)
        out.writestr("xl/vbaProject.bin", vba)
    path.unlink()
    return target


WORKBOOKS = {
    "sample": sample_ledger,
    "tricky": tricky_ledger,
    # The reader's tests cover every language; here each shell sees the same grid.
    **{f"messy-{lang}": messy_ledger(lang) for lang in ("es", "en", "zh", "hu")},
    "messy-en-1904": messy_ledger("en", date1904=True),
    "messy-es-xlsm": messy_ledger("es", suffix=".xlsm"),
}


def make(tmp_path: Path, kind: str) -> Path:
    """The workbook ``kind`` written into ``tmp_path``."""
    return WORKBOOKS[kind](tmp_path / "ledger.xlsx")


def in_excel(excel: xw.App, source: Path) -> xw.Book:
    """Open a copy of ``source`` (same folder, so rules.toml beside it applies) in Excel."""
    copy = source.with_name(f"open_{source.name}")
    shutil.copy(source, copy)
    return excel.books.open(str(copy))


def saved(book: xw.Book, path: Path) -> Path:
    """Save the stand-in's workbook (Excel's Save As) and return the file."""
    book.save(str(path))
    return path


# ---- how a workbook looks --------------------------------------------------------------------


def _width(sheet, column: int) -> float | None:
    for dimension in sheet.column_dimensions.values():
        low = dimension.min or 0
        if low <= column <= (dimension.max or 0):
            return dimension.width
    return None


def _fill(cell) -> str | None:
    return cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type == "solid" else None


def snapshot(path: Path, styled: dict[str, int]) -> dict:
    """Everything compared between the two shells' outputs, from one load of ``path``:
    the values of every sheet (in order), and for the sheets in ``styled`` the number
    format, fill and bold of every styled cell from column ``styled[name]`` on, the
    column widths there, the tables and the charts."""
    book = load_workbook(path)
    values = {
        sheet.title: [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        for sheet in book.worksheets
    }
    looks = {}
    for name, first_column in styled.items():
        sheet = book[name]
        cells = {}
        for row in sheet.iter_rows(min_col=first_column):
            for cell in row:
                look = (cell.number_format, _fill(cell), bool(cell.font.b))
                if cell.value is not None or look != ("General", None, False):
                    cells[cell.coordinate] = look
        last = max(first_column, sheet.max_column)
        looks[name] = {
            "cells": cells,
            "widths": {c: _width(sheet, c) for c in range(first_column, last + 1)},
            "tables": sorted((t.displayName, t.ref) for t in sheet.tables.values()),
            "charts": [_chart(chart) for chart in sheet._charts],
        }
    return {"sheets": list(values), "values": values, "looks": looks}


def _chart(chart) -> dict:
    """Type, title, anchor cell, series references and colours of an openpyxl chart."""

    def ref(source) -> str | None:
        if source is None:
            return None
        for kind in ("strRef", "numRef"):
            if getattr(source, kind, None) is not None:
                return getattr(source, kind).f
        return None

    fills = []
    for series in chart.series:
        solid = series.graphicalProperties.solidFill if series.graphicalProperties else None
        fills.append(str(solid.srgbClr) if solid is not None else None)
    return {
        "type": (chart.type, chart.grouping, chart.overlap),
        "title": "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or [])),
        "anchor": (chart.anchor._from.row, chart.anchor._from.col),
        "series": [(s.tx.strRef.f, ref(s.cat), ref(s.val)) for s in chart.series],
        "fills": fills,
    }


def stage_start(path: Path, sheet: str, header_row: int = 1) -> int:
    """Column of the ``Days Overdue`` header."""
    row = next(load_workbook(path)[sheet].iter_rows(min_row=header_row, max_row=header_row))
    return next(c.column for c in row if c.value == "Days Overdue")


# ---- the stand-in itself -------------------------------------------------------------------


def test_engine_is_registered_once_and_found_without_a_licence(excel):
    # Without an xlwings PRO key, a name that is not registered is a LicenseError, not a
    # KeyError: the stand-in looks engines up by iterating.
    with pytest.raises(xw.LicenseError):
        xw.engines["not-registered"]
    standin.install()
    standin.install()
    assert [e.name for e in xw.engines].count(standin.ENGINE_NAME) == 1
    assert standin.find_engine().name == xw.engines.active.name == standin.ENGINE_NAME
    assert standin.find_engine("no such engine") is None


def test_book_caller_finds_the_workbook_from_runpython_arguments(excel, tmp_path, monkeypatch):
    book = in_excel(excel, tricky_ledger(tmp_path / "ledger.xlsx"))
    monkeypatch.setattr(sys, "argv", ["-c", f"--wb={book.name}", "--from_xl=1"])
    caller = xw.Book.caller()
    assert caller.fullname == book.fullname
    assert caller.sheets[0].range("A1").value == "Customer"


def test_unsupported_features_raise_naming_the_feature(excel, tmp_path):
    book = in_excel(excel, tricky_ledger(tmp_path / "ledger.xlsx"))
    sheet = book.sheets[0]
    # Only xlwings' remote engines can freeze panes; Excel's desktop engines cannot.
    with pytest.raises(NotImplementedError, match="Sheet.freeze_panes"):
        sheet.freeze_panes.freeze_at("A2")
    with pytest.raises(NotImplementedError, match="Range.autofit"):
        sheet.range("A1:B2").autofit()
    with pytest.raises(NotImplementedError, match="Range.merge"):
        sheet.range("A1:B1").merge()
    with pytest.raises(NotImplementedError, match="Sheet.pictures"):
        sheet.pictures.add("x.png")
    with pytest.raises(NotImplementedError, match="App.calculation"):
        book.app.calculation = "manual"
    # What Excel would calculate, the stand-in cannot: it says so instead of storing text.
    with pytest.raises(NotImplementedError, match="formula"):
        sheet.range("Z1").value = "=SUM(A1:A3)"
    with pytest.raises(NotImplementedError, match="formula"):
        sheet.range("Z1").value = "+1-555"
    # Windows passes Decimal as Currency, macOS refuses it: the writer must send floats.
    from decimal import Decimal

    with pytest.raises(TypeError, match="Decimal"):
        sheet.range("Z1").value = Decimal("1.50")
    with pytest.raises(NotImplementedError, match="chart type"):
        sheet.charts.add(chart_type="pie")


def test_values_read_and_written_as_excel_does(excel, tmp_path):
    path = tmp_path / "values.xlsx"
    book = load_workbook(sample_path())
    sheet = book.active
    sheet["Y1"] = "=1+1"
    sheet["Y2"] = 7
    sheet["Y3"] = "#N/A"
    book.save(path)
    opened = excel.books.open(str(path))
    ledger = opened.sheets[0]
    first = ledger.range("A2:J2").value
    # The invoice date as openpyxl stored it (the sample's dates follow its as-of date).
    assert isinstance(first[3], datetime) and first[3] == book.active["D2"].value
    assert first[5] == 30.0 and isinstance(first[5], float)  # COM hands numbers as float
    # Formula cells read as their cached value (openpyxl wrote none: empty), errors as None.
    assert ledger.range("Y1").value is None
    assert ledger.range("Y2").value == 7.0
    assert ledger.range("Y3").value is None
    assert ledger.range("Y3").options(err_to_str=True).value == "#N/A"
    # Typed input is parsed like Excel's, unless prefixed with ' or in a Text cell.
    ledger.range("Z1").value = [["12.5", "TRUE", "2026-10-31", "'0123", "50%", "1,234", "x"]]
    assert ledger.range("Z1:AF1").value == [
        12.5,
        True,
        datetime(2026, 10, 31),
        "0123",
        0.5,
        1234.0,
        "x",
    ]
    ledger.range("Z2").number_format = "@"
    ledger.range("Z2").value = "0123"
    assert ledger.range("Z2").value == "0123"
    # A date in a cell formatted General reads as its serial number.
    ledger.range("Z3").value = datetime(2000, 1, 1)
    ledger.range("Z3").number_format = "General"
    assert ledger.range("Z3").value == 36526.0


def test_date_system_probe(excel, tmp_path):
    d1900 = excel.books.open(str(messy_ledger("en")(tmp_path / "a.xlsx")))
    assert xlwriter.probe_date1904(d1900.sheets[0].range("ZZ1")) is False
    other = tmp_path / "b"
    other.mkdir()
    d1904 = excel.books.open(str(messy_ledger("en", date1904=True)(other / "b.xlsx")))
    assert xlwriter.probe_date1904(d1904.sheets[0].range("ZZ1")) is True


def test_handlers_never_import_openpyxl():
    """Excel holds the workbook open: the add-in writes through xlwings only."""
    for name in ("__init__.py", "handlers.py", "xlwriter.py"):
        tree = ast.parse((ADDIN / name).read_text("utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not any(module.startswith("openpyxl") for module in imported), name
    code = (
        "import sys, receivables.addin, receivables.addin.handlers, "
        "receivables.addin.xlwriter; print(sorted(m for m in sys.modules "
        "if m.startswith('openpyxl')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ---- equivalence with the command line ---------------------------------------------------


@pytest.mark.parametrize("kind", list(WORKBOOKS))
def test_classify_then_plan_equals_process(kind, tmp_path, excel, click):
    source = make(tmp_path, kind)
    cli = tmp_path / f"cli{source.suffix}"
    report = run(source, cli, None, today=AS_OF)  # the same as-of rule as a click
    book = in_excel(excel, source)
    assert "Classified" in ok(click(book, "collections_classify"))
    assert "Collection plan" in ok(click(book, "collections_plan"))
    ours = saved(book, tmp_path / f"addin{source.suffix}")

    styled = {name: 1 for name in OUTPUT_SHEETS}
    styled[report.sheet] = stage_start(cli, report.sheet, report.header_row)
    expected, actual = snapshot(cli, styled), snapshot(ours, styled)
    assert actual["sheets"] == expected["sheets"], "same sheets in the same order"
    for name in expected["sheets"]:
        assert actual["values"][name] == expected["values"][name], name
    for name in styled:
        assert actual["looks"][name] == expected["looks"][name], name


def test_aging_summary_has_a_chart_per_currency(tmp_path, excel, click):
    book = in_excel(excel, tricky_ledger(tmp_path / "ledger.xlsx"))
    ok(click(book, "collections_plan"))
    out = saved(book, tmp_path / "out.xlsx")
    charts = snapshot(out, {"Aging Summary": 1})["looks"]["Aging Summary"]["charts"]
    sheet = load_workbook(out)["Aging Summary"]
    currencies = sorted({row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]})
    assert [c["title"] for c in charts] == [f"Aging by bucket and stage ({c})" for c in currencies]
    headers = [cell.value for cell in sheet[1]]
    stage_count = headers.index("Total") - 2
    block = 9  # eight buckets and the currency's Total row
    for index, chart in enumerate(charts):
        assert chart["type"] == ("col", "stacked", 100.0)
        first, last = 2 + index * block, 1 + index * block + 8
        # Every stage (Disputed and Promised too), named by its header, over this
        # currency's rows: the bars add up to the Total column.
        assert len(chart["series"]) == stage_count
        assert chart["series"][0] == (
            "'Aging Summary'!$C$1",
            f"'Aging Summary'!$B${first}:$B${last}",
            f"'Aging Summary'!$C${first}:$C${last}",
        )
        assert chart["fills"][0] == "E2EFDA"


@pytest.mark.parametrize(
    ("button", "mode"), [("collections_classify", "classify"), ("collections_plan", "plan")]
)
def test_each_button_alone_equals_its_command(button, mode, tmp_path, excel, click):
    source = make(tmp_path, "messy-es")
    cli = tmp_path / "cli.xlsx"
    run(source, cli, None, mode=mode, today=AS_OF)
    book = in_excel(excel, source)
    ok(click(book, button))
    assert dump_sheets(saved(book, tmp_path / "addin.xlsx")) == dump_sheets(cli)


def test_text_stays_text(tmp_path, excel, click):
    book = in_excel(excel, tricky_ledger(tmp_path / "ledger.xlsx"))
    ok(click(book, "collections_classify"))
    ok(click(book, "collections_plan"))
    plan = load_workbook(saved(book, tmp_path / "out.xlsx"))["Collection Plan"]
    customers = {row[1].value: row[1].data_type for row in plan.iter_rows(min_row=2)}
    for name in TRICKY_NAMES:
        assert customers[name] == "s", name


def test_clicking_again_replaces_and_never_duplicates(tmp_path, excel, click):
    source = make(tmp_path, "tricky")
    book = in_excel(excel, source)
    ok(click(book, "collections_classify"))
    ok(click(book, "collections_plan"))
    once = dump_sheets(saved(book, tmp_path / "once.xlsx"))
    for button in ("collections_classify", "collections_plan", "collections_classify"):
        ok(click(book, button))
    again = dump_sheets(saved(book, tmp_path / "again.xlsx"))
    assert list(again) == list(once)
    assert again == once
    tables = [t for ws in load_workbook(tmp_path / "again.xlsx") for t in ws.tables]
    assert sorted(tables) == ["ActionCalendar", "AgingSummary", "CollectionPlan", "Exceptions"]


def test_a_table_over_the_ledger_is_widened_like_the_file_writer(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    book = load_workbook(source)
    sheet = book["Ledger"]
    table = Table(displayName="Receivables", ref=f"A1:N{sheet.max_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    sheet.add_table(table)
    sheet.column_dimensions["P"].width = 30  # the clerk's width on a column we fill
    book.save(source)
    cli = tmp_path / "cli.xlsx"
    run(source, cli, None, mode="classify", today=AS_OF)
    opened = in_excel(excel, source)
    ok(click(opened, "collections_classify"))
    ours = snapshot(saved(opened, tmp_path / "addin.xlsx"), {"Ledger": 15})
    assert ours == snapshot(cli, {"Ledger": 15})
    assert ours["looks"]["Ledger"]["tables"] == [("Receivables", "A1:R33")]
    assert ours["looks"]["Ledger"]["widths"][16] == 30


# ---- letters -----------------------------------------------------------------------------------


def test_demand_letters_go_beside_the_workbook_and_into_the_log(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    book = in_excel(excel, source)
    message = ok(click(book, "collections_letters"))
    folder = tmp_path / "open_ledger letters" / AS_OF.isoformat()
    count = len(message.split(" letter(s)")[0]) and int(message.split(" letter(s)")[0])
    assert message.startswith(
        f"{count} letter(s) as of 2026-10-31 written to {folder}, "
        "listed on the sheet 'Letters Log'."
    )
    log = book.sheets["Letters Log"].used_range.options(ndim=2).value
    assert log[0] == list(LOG_COLUMNS)
    # The same letters and messages as the file pipeline's ledger gives.
    report = run(source, None, None, write=False, today=AS_OF)
    expected = write_letters_and_messages(
        report.outcome.classified,
        load_rules()[0],
        AS_OF,
        tmp_path / "cli letters",
        sheet=report.sheet,
        columns=report.outcome.ledger.location.columns,
    )
    letters = [r for r in expected.records if r.file.endswith(".docx")]
    assert len(log) - 1 == len(expected.records) and len(letters) == count > 0
    column = {name: position for position, name in enumerate(LOG_COLUMNS)}
    for row, record in zip(log[1:], expected.records, strict=True):
        assert row[0] == record.reference and row[2] == record.customer
        assert row[1] == datetime(2026, 10, 31)
        assert row[column["Amount"]] == record.amount_cents / 100
        assert row[column["Total"]] * 100 == pytest.approx(record.row()["Total"])
        assert (row[column["File"]] or "") == record.file
        assert (row[column["Status"]] or "") == record.status
        if record.file.endswith(".docx"):
            assert record.customer in docx_text(folder / row[column["File"]])
    # Clicking again the same day: the log is the history, so no letter goes out twice
    # and the earlier rows stay as they were.
    message = ok(click(book, "collections_letters"))
    assert message.startswith("0 letter(s)") or message.startswith("No letter is due")
    assert book.sheets["Letters Log"].used_range.options(ndim=2).value == log
    assert sorted(p.name for p in folder.rglob("*.docx")) == sorted(
        Path(r.file).name for r in letters
    )


def test_email_button_writes_drafts_or_sends_where_the_settings_say(tmp_path, excel, click):
    from messages_support import RULES, Inbox, Server, smtp_rules
    from messages_support import write_ledger as write_messages_ledger

    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    source = write_messages_ledger(tmp_path / "ledger.xlsx")
    book = in_excel(excel, source)
    message = ok(click(book, "collections_email"))
    folder = tmp_path / "open_ledger letters" / AS_OF.isoformat()
    drafts = sorted((folder / "email").glob("*.eml"))
    assert len(drafts) == 4 and "Open the drafts in Outlook" in message
    log = book.sheets["Letters Log"].used_range.options(ndim=2).value
    assert {row[-1] for row in log[1:] if row[-3] == "email"} == {"draft"}
    assert book.sheets["SMS"].used_range.options(ndim=2).value[0][5] == "Number"
    # With SMTP settings and send_from_addin, the same click sends them, once.
    inbox = Inbox()
    server = Server(inbox)
    try:
        (tmp_path / "rules.toml").write_text(
            smtp_rules(server.port, "send_from_addin = true\n"),
            encoding="utf-8",
        )
        message = ok(click(book, "collections_email"))
        assert "Sent 4 email(s) through 127.0.0.1" in message and len(inbox.messages) == 4
        log = book.sheets["Letters Log"].used_range.options(ndim=2).value
        assert {row[-1] for row in log[1:] if row[-3] == "email"} == {"sent"}
        ok(click(book, "collections_email"))
        assert len(inbox.messages) == 4  # never twice
    finally:
        server.stop()


def test_letters_need_a_saved_workbook(excel, click):
    book = excel.books.add()
    _days, rows = boundary_rows()
    book.sheets[0].range("A1").value = [list(HEADER_ROW), *rows[:20]]
    before = book.sheets[0].used_range.options(ndim=2).value
    message = failed(click(book, "collections_letters"))
    assert message.startswith("Save the workbook first")
    assert [s.name for s in book.sheets] == ["Sheet1"]
    assert book.sheets[0].used_range.options(ndim=2).value == before
    # The other buttons work on an unsaved workbook.
    ok(click(book, "collections_classify"))


def test_messy_ledger_without_addresses_writes_an_empty_log(tmp_path, excel, click):
    book = in_excel(excel, make(tmp_path, "messy-es"))
    message = ok(click(book, "collections_letters"))
    assert message.startswith("No letter is due")
    assert "no postal address" in message
    assert book.sheets["Letters Log"].range("A1:C1").value == ["Reference", "Date", "Customer"]


# ---- settings ---------------------------------------------------------------------------------


def test_settings_round_trip_through_excel_and_drive_later_runs(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    (tmp_path / "rules.toml").write_text('[labels]\nbucket = "Tramo"\n', "utf-8")
    book = in_excel(excel, source)
    message = ok(click(book, "collections_settings"))
    assert "Collections Settings" in message
    sheet = book.sheets["Collections Settings"]
    rows = sheet.used_range.options(ndim=2).value
    expected_rules, _ = load_rules({"labels": {"bucket": "Tramo"}})
    assert [(*r[:3], r[4]) for r in rows[1:]] == [
        tuple(v or None for v in row) for row in settings_rows(expected_rules.raw)
    ]
    assert rows[0] == ["Section", "Key", "Value", "Set by", "Description"]
    # Each value shows the layer that set it.
    set_by = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert set_by[("labels", "bucket")] == "rules.toml beside the workbook"
    assert set_by[("labels", "stage")] == "packaged defaults"
    assert sheet.range((2, 3), (len(rows), 3)).number_format == "@"
    layer, issues = parse_settings_rows(rows)
    assert issues == [] and layer == expected_rules.raw

    # The clerk types a new label (no quotes) and the as-of date, then classifies.
    keys = [(r[0], r[1]) for r in rows]
    sheet.range((keys.index(("labels", "stage")) + 1, 3)).value = "Fase"
    sheet.range((keys.index(("general", "as_of")) + 1, 3)).value = "2026-09-30"
    ok(click(book, "collections_classify"))
    header = book.sheets["Ledger"].range("O1:R1").value
    assert header == ["Days Overdue", "Tramo", "Fase", "Next Action"]
    assert book.sheets["Ledger"].range("O2").value == (date(2026, 9, 30) - date(2026, 11, 8)).days

    # The file pipeline reads the same sheet: same cells.
    ours = saved(book, tmp_path / "addin.xlsx")
    again = tmp_path / "cli.xlsx"
    run(ours, again, date(2026, 9, 30), mode="classify")
    assert dump_sheets(again)["Ledger"] == dump_sheets(ours)["Ledger"]

    # Settings again: the sheet is replaced in place, with the edits in TOML form.
    opened = excel.books.open(str(ours))
    names = [s.name for s in opened.sheets]
    ok(click(opened, "collections_settings"))
    assert [s.name for s in opened.sheets] == names
    values = opened.sheets["Collections Settings"].used_range.options(ndim=2).value
    assert ["labels", "stage", '"Fase"'] in [row[:3] for row in values]
    assert ["general", "as_of", "2026-09-30"] in [row[:3] for row in values]
    as_of_row = next(i for i, row in enumerate(values, start=1) if row[:2] == ["general", "as_of"])
    assert [row[3] for row in values if row[:2] == ["general", "as_of"]] == [
        f"'Collections Settings'!C{as_of_row}"
    ], "set by its own cell"


def test_settings_reports_rows_it_could_not_read(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    book = in_excel(excel, source)
    ok(click(book, "collections_settings"))
    sheet = book.sheets["Collections Settings"]
    last = sheet.used_range.last_cell.row
    sheet.range((last + 1, 1)).value = [["plan", "recovery_curve", "[[0, 1], [30", ""]]
    message = ok(click(book, "collections_settings"))
    assert "1 row(s) could not be read" in message
    assert f"'Collections Settings'!C{last + 1}" in message


# ---- what goes wrong ---------------------------------------------------------------------------


def test_no_receivables_sheet_is_a_clear_message_and_changes_nothing(tmp_path, excel, click):
    path = tmp_path / "notes.xlsx"
    write_ledger(
        path,
        [["Call the bank on Monday"], ["File the VAT return"]],
        header=["To do"],
        sheet="Notes",
    )
    book = in_excel(excel, path)
    for button in ("collections_classify", "collections_plan", "collections_letters"):
        message = failed(click(book, button))
        assert "looks like a receivables ledger" in message
    assert [s.name for s in book.sheets] == ["Notes"]
    assert dump_sheets(saved(book, tmp_path / "after.xlsx")) == dump_sheets(path)


def test_protected_ledger_sheet_changes_nothing_but_plan_still_works(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    book = load_workbook(source)
    book["Ledger"].protection.sheet = True
    book.save(source)
    opened = in_excel(excel, source)
    message = failed(click(opened, "collections_classify"))
    assert "Excel refused to change the sheet 'Ledger'" in message
    assert "protected" in message and "Nothing was changed" in message
    assert dump_sheets(saved(opened, tmp_path / "after.xlsx")) == dump_sheets(source)
    # The plan does not touch the ledger sheet.
    ok(click(opened, "collections_plan"))
    assert "Collection Plan" in [s.name for s in opened.sheets]


def test_protected_workbook_structure(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    book = load_workbook(source)
    book.security = WorkbookProtection(lockStructure=True)
    book.save(source)
    opened = in_excel(excel, source)
    for button in ("collections_plan", "collections_settings", "collections_letters"):
        message = failed(click(opened, button))
        assert "Excel refused to change the workbook's sheets" in message
        assert "Nothing was changed" in message
    assert dump_sheets(saved(opened, tmp_path / "after.xlsx")) == dump_sheets(source)
    # Classify changes cells only, which structure protection allows.
    ok(click(opened, "collections_classify"))


def test_no_workbook_open(excel, monkeypatch, on):
    monkeypatch.setattr(sys, "argv", ["-c"])  # RunPython with no active workbook
    addin_package.dispatch("collections_classify")
    assert [a["prompt"] for a in excel.impl.alerts] == [
        "Open the receivables workbook first, then click the button again."
    ]


def test_unexpected_errors_point_to_the_log_beside_the_workbook(
    tmp_path, excel, click, monkeypatch
):
    book = in_excel(excel, tricky_ledger(tmp_path / "ledger.xlsx"))

    def broken(*_args):
        raise RuntimeError("the writer broke")

    monkeypatch.setattr(xlwriter, "write_stage_columns", broken)
    message = failed(click(book, "collections_classify"))
    log = tmp_path / "collections.log"
    assert message == f"Something went wrong; details in {log}"
    text = log.read_text("utf-8")
    assert "collections_classify" in text and "Traceback" in text
    assert "RuntimeError: the writer broke" in text


def test_a_bad_as_of_setting_is_explained(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    book = load_workbook(source)
    sheet = book.create_sheet("Collections Settings")
    sheet.append(list(HEADER))
    sheet.append(["general", "as_of", "end of month", ""])
    book.save(source)
    opened = in_excel(excel, source)
    message = ok(click(opened, "collections_classify"))
    # A bad value is a warning naming its cell, like any setting; today stays in force.
    assert f"as of {AS_OF.isoformat()}" in message
    assert (
        "'Collections Settings'!C2: setting general.as_of must be a date written as YYYY-MM-DD"
    ) in message


def test_progress_goes_to_the_status_bar(tmp_path, excel, click):
    book = in_excel(excel, tricky_ledger(tmp_path / "ledger.xlsx"))
    ok(click(book, "collections_plan"))
    history = excel.impl.status_history
    assert "Collections: reading 'Ledger'" in history
    assert "Collections: writing 'Aging Summary'" in history
    assert history[-1] is False


def test_help_names_every_button_the_version_and_the_log(tmp_path, excel, click):
    source = tricky_ledger(tmp_path / "ledger.xlsx")
    book = in_excel(excel, source)
    text = ok(click(book, "collections_help"))
    for item in BUTTONS:
        assert f"{item.label}: {item.supertip}" in text
    assert f"Receivables Collections {__version__} (xlwings {xw.__version__})" in text
    assert str(tmp_path / "collections.log") in text
    assert str(tmp_path / "open_ledger letters") in text
    assert [s.name for s in book.sheets] == ["Ledger"]


# ---- the exact RunPython command of the built add-in -------------------------------------------

_VBA_TOKEN = re.compile(
    r'\s*(?:"(?P<text>(?:[^"]|"")*)"|Chr\((?P<code>\d+)\)'
    r'|GetConfig\("(?P<key>[^"]*)"(?:\s*,\s*"(?P<default>(?:[^"]|"")*)")?\)'
    r"|(?P<name>[A-Za-z_][\w.]*)|(?P<amp>&))"
)


def vba_string(expression: str, names: dict[str, str], config: dict[str, str]) -> str:
    """Evaluate a VBA string expression: literals, ``Chr(n)``, ``GetConfig``, names, ``&``."""
    out: list[str] = []
    position, expect_value = 0, True
    expression = expression.strip()
    while position < len(expression):
        match = _VBA_TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot evaluate VBA: {expression[position:]!r}")
        if match["amp"]:
            assert not expect_value, expression
            expect_value = True
        else:
            assert expect_value, expression
            if match["text"] is not None:
                out.append(match["text"].replace('""', '"'))
            elif match["code"]:
                out.append(chr(int(match["code"])))
            elif match["key"] is not None:
                out.append(config.get(match["key"].upper(), match["default"] or ""))
            else:
                out.append(names[match["name"]])
            expect_value = False
        position = match.end()
    return "".join(out)


def windows_argv(command: str) -> list[str]:
    """Split a command line the way the Windows C runtime does (CommandLineToArgvW)."""
    args: list[str] = []
    current: list[str] = []
    quoted = started = False
    index = 0
    while index < len(command):
        char = command[index]
        if char == "\\":
            end = index
            while end < len(command) and command[end] == "\\":
                end += 1
            count = end - index
            if end < len(command) and command[end] == '"':
                current.append("\\" * (count // 2))
                if count % 2:
                    current.append('"')
                    end += 1
            else:
                current.append("\\" * count)
            index, started = end, True
            continue
        if char == '"':
            if quoted and command[index + 1 : index + 2] == '"':
                current.append('"')
                index += 2
                continue
            quoted, started = not quoted, True
        elif char in " \t" and not quoted:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
        index += 1
    if started:
        args.append("".join(current))
    return args


def _procedure(code: str, header: str) -> str:
    start = code.index(header)
    return code[start : code.index("End Function", start)]


def runpython_command(
    xlam: Path, button_id: str, names: dict[str, str], config: dict[str, str]
) -> str:
    """The command line Excel runs for ``button_id``, evaluated from the built VBA."""
    parser = VBA_Parser(str(xlam))
    try:
        modules = {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()
    joined = {name: re.sub(r" _\r?\n\s*", " ", code) for name, code in modules.items()}
    names = dict(names)
    call = re.search(r"^\s*RunPython (.+)$", joined["CollectionsRibbon"], re.M).group(1)
    names["PythonCommand"] = vba_string(call, {"control.Id": button_id}, config)

    run_python = _procedure(joined["xlwings"], "Public Function RunPython(")
    add_dir = re.search(r"^\s*AddExcelDir = (GetConfig.+)$", run_python, re.M).group(1)
    names["AddExcelDir"] = vba_string(add_dir, names, config)
    windows_path = [
        line
        for line in re.findall(r"^\s*PYTHONPATH = (AddExcelDir & .+)$", run_python, re.M)
        if "_WIN" in line
    ]
    assert len(windows_path) == 1
    names["PYTHONPATH"] = vba_string(windows_path[0], names, config)

    execute = _procedure(joined["xlwings"], "Function ExecuteWindows(")
    for old, new in re.findall(
        r'PYTHONPATH = Replace\(PYTHONPATH, "((?:[^"]|"")*)", '
        r'"((?:[^"]|"")*)"\)',
        execute,
    ):
        names["PYTHONPATH"] = names["PYTHONPATH"].replace(
            old.replace('""', '"'), new.replace('""', '"')
        )
    interpreter = re.search(
        r"^\s*PythonInterpreter = (Chr\(34\) & PYTHON_WIN.+)$", execute, re.M
    ).group(1)
    names["PythonInterpreter"] = vba_string(interpreter, names, config)
    command = re.search(
        r"^\s*RunCommand = (CondaCmd & PythonInterpreter .+)$", execute, re.M
    ).group(1)
    names["RunCommand"] = vba_string(command, names, config)
    shell = re.search(r"WScript\.Run\((.+), WindowStyle, WaitOnReturn\)", execute).group(1)
    return vba_string(shell, names, config)


def test_replayed_runpython_command_runs_the_button_in_a_subprocess(tmp_path):
    """The exact command the built add-in runs, with the stand-in playing Excel.

    Excel's RunPython (Windows) runs ``cmd.exe /C <python> -B -c "<code>" --wb=...
    2> <log>``: cmd changes drive and folder and redirects stderr, the rest is the
    process's command line. A sitecustomize plays Excel: it opens the workbook in the
    stand-in before the command runs and saves it when Python exits. A stray
    ``receivables.py`` beside the workbook must not be imported: the add-in's
    ADD_WORKBOOK_TO_PYTHONPATH is off.
    """
    xlam = build.build_addin(tmp_path / "addin")
    folder = tmp_path / "ledgers"
    folder.mkdir()
    source = tricky_ledger(folder / "AR October.xlsx")
    (folder / "receivables.py").write_text(
        'raise ImportError("the receivables.py beside the workbook was imported")\n', "utf-8"
    )
    book = load_workbook(source)
    settings = book.create_sheet("Collections Settings")
    settings.append(list(HEADER))
    settings.append(["general", "as_of", AS_OF.isoformat(), "the run's as-of date"])
    book.save(source)

    log = tmp_path / "xlwings-run.log"
    config = {key.upper(): str(value) for key, value in build.CONF_SETTINGS.items()}
    config["INTERPRETER_WIN"] = sys.executable
    names = {
        "ActiveWorkbook.Name": source.name,
        "ActiveFullName": str(source),
        "ThisFullName": str(xlam),
        "PYTHON_WIN": sys.executable,
        "CondaCmd": "",
        "DriveCommand": "",
        "Application.Path": r"C:\Program Files\Microsoft Office",
        "Application.Name": "EXCEL.EXE",
        "Application.Hwnd": "4242",
        "LOG_FILE": str(log),
    }
    shell = runpython_command(xlam, "collections_classify", names, config)
    assert shell.startswith("cmd.exe /C ")
    assert "receivables.addin.dispatch('collections_classify')" in shell
    redirect = re.search(r'\s2> "([^"]*)"\s*$', shell)
    assert redirect.group(1) == str(log)
    argv = windows_argv(shell[len("cmd.exe /C ") : redirect.start()])
    assert argv[0] == sys.executable and argv[1:3] == ["-B", "-c"]
    assert argv[3] == (
        'import xlwings.utils;xlwings.utils.prepare_sys_path("False;'
        f'{source};{xlam};;;;"); import receivables.addin; '
        "receivables.addin.dispatch('collections_classify')"
    )
    assert argv[4:6] == [f"--wb={source.name}", "--from_xl=1"]

    excel_dir = tmp_path / "excel"
    excel_dir.mkdir()
    (excel_dir / "sitecustomize.py").write_text(SITECUSTOMIZE, "utf-8")
    report = tmp_path / "report.json"
    output = tmp_path / "after.xlsx"
    env = {
        **os.environ,
        "PYTHONPATH": str(excel_dir),
        "STANDIN_MODULE": standin.__file__,
        "STANDIN_BOOK": str(source),
        "STANDIN_SAVE_AS": str(output),
        "STANDIN_REPORT": str(report),
    }
    cwd = tmp_path / "excel-working-folder"  # Excel's own folder, not the workbook's
    cwd.mkdir()
    with log.open("w") as stderr:
        done = subprocess.run(argv, cwd=cwd, env=env, stderr=stderr, timeout=120)
    assert done.returncode == 0, log.read_text()
    result = json.loads(report.read_text("utf-8"))
    assert [a["mode"] for a in result["alerts"]] == ["info"], result["alerts"]
    assert result["alerts"][0]["prompt"].startswith("Classified 32 item(s) on 'Ledger'")
    assert not result["receivables"].startswith(str(folder))

    cli = tmp_path / "cli.xlsx"
    run(source, cli, None, mode="classify", today=AS_OF)
    assert dump_sheets(output) == dump_sheets(cli)


SITECUSTOMIZE = '''\
"""Plays Excel for a replayed RunPython command: the stand-in holds the workbook."""
import atexit
import importlib.util
import json
import os
import sys

# Loaded by path: importing the receivables package here would hide a shadowing module.
_spec = importlib.util.spec_from_file_location("excel_standin", os.environ["STANDIN_MODULE"])
standin = importlib.util.module_from_spec(_spec)
sys.modules["excel_standin"] = standin
_spec.loader.exec_module(standin)
book = standin.open_book(os.environ["STANDIN_BOOK"])


@atexit.register
def _close():
    app = book.app.impl
    package = sys.modules.get("receivables")
    with open(os.environ["STANDIN_REPORT"], "w", encoding="utf-8") as stream:
        json.dump({"alerts": app.alerts, "status": app.status_history,
                   "receivables": getattr(package, "__file__", "")}, stream)
    book.save(os.environ["STANDIN_SAVE_AS"])
'''


def test_replay_helpers_follow_windows_rules():
    assert windows_argv(r'"C:\Py 3\python.exe" -c "a \"b\" c" x\\y "d\\" e') == [
        r"C:\Py 3\python.exe",
        "-c",
        'a "b" c',
        r"x\\y",
        "d\\",
        "e",
    ]
    assert vba_string('"a""b" & Chr(34) & x & GetConfig("K", "dflt")', {"x": "X"}, {}) == (
        'a"b"Xdflt'
    )


def test_letters_log_equals_process_with_letters(tmp_path, excel, click):
    """The Demand Letters button and `process --letters` log the same letters alike."""
    from openpyxl import load_workbook

    source = tricky_ledger(tmp_path / "ledger.xlsx")
    cli_out = tmp_path / "cli.xlsx"
    run(source, cli_out, None, letters_dir=tmp_path / "cli letters", today=AS_OF)
    expected = [
        list(row) for row in load_workbook(cli_out)["Letters Log"].iter_rows(values_only=True)
    ]
    book = in_excel(excel, source)
    ok(click(book, "collections_letters"))
    actual = book.sheets["Letters Log"].used_range.options(ndim=2).value
    assert len(actual) == len(expected) > 1
    for ours, theirs in zip(actual, expected, strict=True):
        assert [None if v == "" else v for v in ours] == theirs


def test_plan_and_letters_never_replace_a_sheet_of_the_clerks(tmp_path, excel, click):
    team = [
        ("collection plan", [["Our own plan", "Owner"], ["call Acme", "Ana"]]),
        ("LETTERS LOG", [["Sent", "To"], ["2026-09-01", "Acme"]]),
    ]
    _days, rows = boundary_rows()
    source = write_ledger(tmp_path / "ledger.xlsx", rows, extra_sheets=team)
    book = in_excel(excel, source)
    for _ in range(2):  # the second click replaces its own sheets, not the clerk's
        message = ok(click(book, "collections_plan"))
        assert message
        ok(click(book, "collections_letters"))
    names = [s.name for s in book.sheets]
    assert names.count("collection plan") == 1 and "Collection Plan (2)" in names
    assert "LETTERS LOG" in names and "Letters Log (2)" in names
    assert len(names) == len(set(n.casefold() for n in names))
    after = load_workbook(saved(book, tmp_path / "after.xlsx"))
    assert after["collection plan"]["A2"].value == "call Acme"
    assert after["LETTERS LOG"]["B2"].value == "Acme"
    assert after["Collection Plan (2)"]["A1"].value == "Rank"
    exceptions = [[c.value for c in row] for row in after["Exceptions"].iter_rows()]
    assert any("collection plan" in str(row) and "instead" in str(row) for row in exceptions)


def _print_setup(sheet) -> dict:
    """What decides how a sheet prints, and how its header and wrapped rows look."""
    setup = sheet.page_setup
    footer = sheet.oddFooter
    return {
        "orientation": setup.orientation,
        "fit": (
            bool(
                sheet.sheet_properties.pageSetUpPr and sheet.sheet_properties.pageSetUpPr.fitToPage
            ),
            setup.fitToWidth,
            setup.fitToHeight,
        ),
        "titles": (sheet.print_title_rows, sheet.print_title_cols),
        "area": sheet.print_area,
        "breaks": [brk.id for brk in sheet.row_breaks.brk],
        "footer": (footer.left.text, footer.center.text, footer.right.text),
        "heights": {row: dim.height for row, dim in sheet.row_dimensions.items() if dim.height},
        "wrapped": sorted(
            cell.coordinate
            for line in sheet.iter_rows()
            for cell in line
            if cell.alignment.wrap_text
        ),
        "top": sorted(
            cell.coordinate
            for line in sheet.iter_rows()
            for cell in line
            if cell.alignment.vertical == "top"
        ),
    }


def test_print_setup_and_wrapping_equal_the_file_writer(tmp_path, excel, click):
    source = make(tmp_path, "sample")
    cli = tmp_path / "cli.xlsx"
    run(source, cli, AS_OF)
    book = in_excel(excel, source)
    ok(click(book, "collections_plan"))
    ours = load_workbook(saved(book, tmp_path / "addin.xlsx"))
    theirs = load_workbook(cli)
    for name in OUTPUT_SHEETS:
        expected = _print_setup(theirs[name])
        assert expected["orientation"] == "landscape"
        assert expected["titles"][0] == "$1:$1"
        assert expected["footer"][1] == f"as of {AS_OF.isoformat()}"
        assert _print_setup(ours[name]) == expected, name


# ---- one orchestration: the command line, batch and the add-in agree -------------------------


def test_cli_batch_and_addin_give_the_same_date_exceptions_and_sheets(
    tmp_path, excel, click, monkeypatch, cli
):
    """Same workbook, same settings (a settings-sheet as-of, a rules.toml with a typo),
    a letters run: the same as-of date, Exceptions and sheets from every shell."""
    from receivables.batch import BatchOptions, run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    _days, rows = boundary_rows()
    settings = [
        HEADER,
        ("general", "as_of", AS_OF.isoformat(), ""),
        ("labels", "stage", "Fase", ""),
        ("plan", "capacity_per_dya", 3, ""),
    ]
    source = write_ledger(
        folder / "ledger.xlsx", rows, extra_sheets=[("Collections Settings", settings)]
    )
    (folder / "rules.toml").write_text('[general]\ncountri = "HU"\n', "utf-8")
    # Today is far from the setting: every shell must take the date from the sheet.
    monkeypatch.setattr(handlers, "today", lambda: date(2031, 1, 15))

    code, out, err = cli(
        "process",
        source,
        "-o",
        tmp_path / "cli.xlsx",
        "--letters",
        tmp_path / "cli letters",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["as_of"] == AS_OF.isoformat()
    assert report["as_of_source"] == "general.as_of in 'Collections Settings'!C2"

    result = run_batch(
        BatchOptions(in_dir=folder, out_dir=tmp_path / "batch", letters=True, jobs=1)
    )
    assert [(f.status, f.as_of) for f in result.files] == [("ok", AS_OF)]

    book = in_excel(excel, source)
    assert f"as of {AS_OF.isoformat()}" in ok(click(book, "collections_plan"))
    assert f"as of {AS_OF.isoformat()}" in ok(click(book, "collections_letters"))
    addin = saved(book, tmp_path / "addin.xlsx")

    names = ["Collection Plan", "Aging Summary", "Action Calendar", "Exceptions", "Letters Log"]
    expected = dump_sheets(tmp_path / "cli.xlsx", names)
    assert len(expected["Letters Log"]) > 1 and len(expected["Collection Plan"]) > 1
    assert str(expected["Letters Log"][1][1])[:10] == AS_OF.isoformat()
    exceptions = [row[:3] for row in expected["Exceptions"]]
    assert any("general.countri" in str(row) for row in exceptions)
    assert any(
        "plan.capacity_per_dya" in str(row) and "Collections Settings" in str(row)
        for row in exceptions
    )
    for other in (tmp_path / "batch" / "ledger.collections.xlsx", addin):
        found = dump_sheets(other, names)
        for name in names:
            assert found[name] == expected[name], (other.name, name)


def test_email_button_holds_an_earlier_draft_of_a_customer_now_blocked(tmp_path, excel, click):
    from messages_support import RULES, Inbox, Server, smtp_rules
    from messages_support import write_ledger as write_messages_ledger

    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    book = in_excel(excel, write_messages_ledger(tmp_path / "ledger.xlsx"))
    ok(click(book, "collections_email"))  # four drafts, not sent
    inbox = Inbox()
    server = Server(inbox)
    try:
        # The controller puts García on hold, then sends from the add-in.
        (tmp_path / "rules.toml").write_text(
            smtp_rules(server.port, "send_from_addin = true\n\n")
            + '[[dunning.blocks]]\ncustomer = "García Hermanos S.L."\nreason = "legal review"\n',
            encoding="utf-8",
        )
        message = ok(click(book, "collections_email"))
        assert "Sent 3 email(s) through 127.0.0.1" in message
        assert "1 held" in message and "dunning block 'legal review'" in message
        received = {a for recipients, _m in inbox.parsed() for a in recipients}
        assert len(inbox.messages) == 3 and "jose.garcia@garcia.example.es" not in received
        log = book.sheets["Letters Log"].used_range.options(ndim=2).value
        statuses = {row[2]: row[-1] for row in log[1:] if row[-3] == "email"}
        assert statuses["García Hermanos S.L."] == "draft"
        assert sorted(statuses.values()) == ["draft", "sent", "sent", "sent"]
    finally:
        server.stop()
