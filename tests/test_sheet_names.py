"""Our output sheets never replace a sheet of the user's (design.md §7), in any letter case,
from any input format, under any label from settings; labels Excel refuses fall back."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.worksheet.table import Table

from receivables.core.sheetnames import (
    DEFAULT_NAMES,
    candidates,
    checked_label,
    name_outputs,
    same_header,
    sheet_name_problem,
)
from receivables.core.sheets import Column, SheetModel
from receivables.pipeline import run

from conftest import AS_OF, HEADER, ledger_row, write_ledger
from hostile import write_ods

OUTPUTS = ("Collection Plan", "Aging Summary", "Action Calendar", "Exceptions")


def _rows():
    return [
        ledger_row("Acme", 45, 120.0),
        ledger_row("Borde", 95, 80.0),
        ledger_row("Cielo", -3, 50.0),
    ]


def _values(ws):
    return [[c.value for c in row] for row in ws.iter_rows()]


# ---- the rules for names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Plan: Oct/Nov [draft]?", "x" * 51, "", "   ", "'quoted'", "History", "a*b", "back\\slash"],
)
def test_names_excel_refuses_are_named(name):
    assert sheet_name_problem(name) is not None
    chosen, issues = checked_label(name, "Collection Plan", "settings: labels.plan_sheet")
    assert chosen == "Collection Plan"
    assert len(issues) == 1 and "instead" in issues[0].message


@pytest.mark.parametrize(
    "name", ["Collection Plan", "Plan de cobro", "收款计划", "x" * 31, "Plan (Oct)", "Historia"]
)
def test_valid_names_pass(name):
    assert sheet_name_problem(name) is None


def test_candidates_stay_within_31_characters():
    names = [next(n for i, n in enumerate(candidates("y" * 31)) if i == k) for k in range(12)]
    assert len(set(names)) == 12
    assert all(len(n) <= 31 for n in names)


def test_same_header_needs_the_first_header_and_most_of_the_rest():
    wanted = ["Rank", "Customer", "Currency", "Stage", "Overdue"]
    assert same_header(["Rank", "Customer", "Currency", "Stage", "Overdue"], wanted)
    assert same_header(["Rank", "Customer", "Currency", "Stage"], wanted)  # an older version
    assert not same_header(["Customer", "Invoice", "Due Date", "Balance"], wanted)
    assert not same_header(["Rank", "Foo", "Bar", "Baz", "Qux"], wanted)
    assert not same_header(None, wanted)


def test_name_outputs_never_takes_a_foreign_name_and_reuses_its_own():
    model = SheetModel(
        "Exceptions",
        (Column("Severity"), Column("Where"), Column("Message")),
        rows=[],
        table_name="Exceptions",
    )
    first_rows = {
        "EXCEPTIONS": ["Customer", "Balance"],
        "Exceptions (2)": ["Severity", "Where", "Message"],
    }
    named = name_outputs([model], list(first_rows), first_rows.get)
    assert named.models[0].name == "Exceptions (2)"
    assert named.replaceable == frozenset({"exceptions (2)"})
    assert "EXCEPTIONS" in named.issues[0].message and "Exceptions (2)" in named.issues[0].message


def test_two_outputs_with_one_label_get_two_names():
    a = SheetModel("Plan", (Column("Rank"),), rows=[], table_name="CollectionPlan")
    b = SheetModel("plan", (Column("Severity"),), rows=[], table_name="Exceptions")
    named = name_outputs([a, b], [], lambda _n: None)
    assert [m.name for m in named.models] == ["Plan", "plan (2)"]


# ---- whole runs --------------------------------------------------------------------------------


def _rich_ledger(path: Path, sheet: str) -> Path:
    """A ledger sheet with a comment, a hyperlink and a table."""
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(HEADER)
    for row in _rows():
        ws.append(row)
    ws["A2"].comment = Comment("call first", "Ana")
    ws["K2"].hyperlink = "mailto:pat@example.com"
    ws.add_table(Table(displayName="Ledger", ref=f"A1:N{len(_rows()) + 1}"))
    book.save(path)
    return path


@pytest.mark.parametrize("sheet", ["Collection Plan", "Exceptions", "aging SUMMARY"])
def test_a_ledger_named_like_an_output_survives_whole(tmp_path, sheet):
    source = _rich_ledger(tmp_path / "in.xlsx", sheet)
    out = tmp_path / "out.xlsx"
    report = run(source, out, AS_OF)
    book = load_workbook(out)
    assert sheet in book.sheetnames
    ws = book[sheet]
    assert ws["A2"].comment.text == "call first"
    assert ws["K2"].hyperlink.target == "mailto:pat@example.com"
    assert "Ledger" in ws.tables
    assert ws["A1"].value == "Customer" and ws["O1"].value == "Days Overdue"
    for name in OUTPUTS:
        written = [
            n for n in book.sheetnames if n.casefold().startswith(name.casefold()) and n != sheet
        ]
        assert written, name
    warnings = [i for i in report.issues if sheet in i.message and "instead" in i.message]
    assert warnings


def test_team_sheets_in_any_case_are_kept_and_a_second_run_replaces_only_ours(tmp_path):
    team = [
        ("exceptions", [["Note", "Owner"], ["check Acme", "Ana"]]),
        ("AGING SUMMARY", [["Bucket", "Total"], ["0-30", 5]]),
    ]
    source = write_ledger(tmp_path / "in.xlsx", _rows(), extra_sheets=team)
    first = tmp_path / "first.xlsx"
    run(source, first, AS_OF)
    second = tmp_path / "second.xlsx"
    run(first, second, AS_OF)
    third = tmp_path / "third.xlsx"
    run(second, third, AS_OF)
    names = [load_workbook(p).sheetnames for p in (first, second, third)]
    assert names[0] == names[1] == names[2]
    book = load_workbook(third)
    assert _values(book["exceptions"]) == [["Note", "Owner"], ["check Acme", "Ana"]]
    assert _values(book["AGING SUMMARY"]) == [["Bucket", "Total"], ["0-30", 5]]
    assert "Exceptions (2)" in book.sheetnames and "Aging Summary (2)" in book.sheetnames
    assert book["Exceptions (2)"]["A1"].value == "Severity"


def test_exceptions_label_naming_the_ledger_never_replaces_it(tmp_path):
    source = _rich_ledger(tmp_path / "in.xlsx", "Receivables")
    (tmp_path / "rules.toml").write_text('[labels]\nexceptions_sheet = "Receivables"\n')
    out = tmp_path / "out.xlsx"
    report = run(source, out, AS_OF)
    book = load_workbook(out)
    assert "Ledger" in book["Receivables"].tables
    assert book["Receivables"]["A1"].value == "Customer"
    assert book["Receivables (2)"]["A1"].value == "Severity"
    assert any("receivables sheet" in i.message for i in report.issues)


def test_labels_excel_refuses_fall_back_to_the_defaults(tmp_path):
    source = write_ledger(tmp_path / "in.xlsx", _rows())
    (tmp_path / "rules.toml").write_text(
        '[labels]\nplan_sheet = "Plan: Oct/Nov [draft]?"\naging_sheet = "' + "A" * 51 + '"\n'
    )
    out = tmp_path / "out.xlsx"
    report = run(source, out, AS_OF)
    names = load_workbook(out).sheetnames
    assert "Collection Plan" in names and "Aging Summary" in names
    assert all(sheet_name_problem(n) is None for n in names)
    said = " ".join(i.message for i in report.issues)
    assert "labels.plan_sheet" in said and "labels.aging_sheet" in said


def test_an_ods_ledger_named_exceptions_is_not_dropped(tmp_path, cli):
    due = [AS_OF - timedelta(days=d) for d in (40, 100)]
    rows = [["Customer", "Due Date", "Balance"], ["Acme", due[0], 120.0], ["Borde", due[1], 80.0]]
    source = write_ods(tmp_path / "in.ods", [("Exceptions", rows), ("notes", [["keep me"]])])
    out = tmp_path / "out.xlsx"
    code, _out, err = cli("process", source, "-o", out, "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    book = load_workbook(out)
    assert book["Exceptions"]["A2"].value == "Acme"
    assert book["notes"]["A1"].value == "keep me"
    assert book["Exceptions (2)"]["A1"].value == "Severity"
    assert json.loads(_out)["sheet"] == "Exceptions"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("suffix", ["xls", "ods"])
def test_a_converted_ledger_keeps_its_hidden_sheets_hidden(tmp_path, suffix):
    book = Workbook()
    book.active.title = "Collection Plan"
    book.active.append(HEADER)
    for row in _rows():
        book.active.append(row)
    secret = book.create_sheet("secret")
    secret.append(["do not show"])
    secret.sheet_state = "hidden"
    book.save(tmp_path / "src.xlsx")
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            suffix,
            "--outdir",
            str(tmp_path),
            str(tmp_path / "src.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = tmp_path / "out.xlsx"
    run(tmp_path / f"src.{suffix}", out, AS_OF)
    result = load_workbook(out)
    assert result["secret"].sheet_state == "hidden"
    assert result["Collection Plan"]["A2"].value == "Acme"
    assert result["Collection Plan (2)"]["A1"].value == "Rank"


# ---- property: whatever the user's sheets are called, none is lost ----------------------------

_case = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])
_our_name = st.builds(
    lambda name, change: change(name),
    st.sampled_from(DEFAULT_NAMES + ("Collection Plan (2)",)),
    _case,
)
_cells = st.lists(
    st.lists(
        st.one_of(st.integers(-1000, 1000), st.text(alphabet="abcxyz ", min_size=1, max_size=6)),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ledger_name=st.one_of(_our_name, st.just("Ledger")),
    others=st.lists(st.tuples(_our_name, _cells), max_size=4),
)
def test_every_input_sheet_survives_and_every_output_is_written(
    tmp_path_factory, ledger_name, others
):
    folder = tmp_path_factory.mktemp("names")
    seen = {ledger_name.casefold()}
    extra = []
    for name, cells in others:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            extra.append((name, cells))
    source = write_ledger(folder / "in.xlsx", _rows(), sheet=ledger_name, extra_sheets=extra)
    before = load_workbook(source)
    out = folder / "out.xlsx"
    run(source, out, AS_OF)
    after = load_workbook(out)
    for name in before.sheetnames:
        assert name in after.sheetnames
        old, new = _values(before[name]), _values(after[name])
        if name == ledger_name:
            new = [row[: len(HEADER)] for row in new]
        assert old == new, name
    added = [n for n in after.sheetnames if n not in before.sheetnames]
    assert len(added) == len(OUTPUTS)
    headers = {after[n]["A1"].value for n in added}
    assert headers == {"Rank", "Severity", after[added[1]]["A1"].value, after[added[2]]["A1"].value}
    for name, default in zip(added, OUTPUTS, strict=True):
        assert name.casefold().startswith(default.casefold())
