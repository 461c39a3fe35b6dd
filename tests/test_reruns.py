"""Runs on their own output change nothing more; text comes back as written; a ledger
table keeps unique column names; ties between ledger sheets are named; batch inputs of
one name in two formats keep their letters apart."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import python_calamine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.table import Table

from receivables.pipeline import run

import hostile
from conftest import AS_OF, HEADER, ledger_row, write_ledger
from hostile import write_ods


def _styles(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/styles.xml")


def _counts(styles: bytes) -> dict[str, int]:
    return {
        tag: int(re.search(rb"<%s count=\"(\d+)\"" % tag.encode(), styles).group(1))
        for tag in ("cellXfs", "fills", "fonts")
    }


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(days=st.lists(st.integers(-20, 900), min_size=1, max_size=12), disputed=st.booleans())
def test_second_and_third_runs_leave_styles_the_same_size(tmp_path_factory, days, disputed):
    folder = tmp_path_factory.mktemp("styles")
    rows = [
        ledger_row(f"C{i % 4}", d, 100.0 + i, disputed="yes" if disputed and i == 0 else None)
        for i, d in enumerate(days)
    ]
    paths = [write_ledger(folder / "run0.xlsx", rows)]
    for number in (1, 2, 3):
        paths.append(folder / f"run{number}.xlsx")
        run(paths[-2], paths[-1], AS_OF)
    second, third = _styles(paths[2]), _styles(paths[3])
    assert len(second) == len(third) == len(_styles(paths[1]))
    assert _counts(second) == _counts(third)


def test_text_that_looks_like_an_escape_comes_back_literally(tmp_path):
    # The file stores "_x005F_x0041_ Ltd": Excel shows the text "_x0041_ Ltd".
    rows = hostile.ledger_rows(2)
    rows[1][0] = "_x005F_x0041_ Ltd"
    source = hostile.write_xlsx(tmp_path / "in.xlsx", [("AR", hostile.sheet_xml(rows))])
    out = tmp_path / "out.xlsx"
    run(source, out, AS_OF)
    book = python_calamine.CalamineWorkbook.from_path(str(out))
    plan = book.get_sheet_by_name("Collection Plan").to_python()
    assert "_x0041_ Ltd" in [row[1] for row in plan[1:]]
    assert "A Ltd" not in [row[1] for row in plan[1:]]


def test_a_ledger_table_with_its_own_next_action_gets_no_second_one(tmp_path):
    header = [*HEADER, "Next Action"]
    book = Workbook()
    ws = book.active
    ws.title = "Ledger"
    ws.append(header)
    for row in (ledger_row("Acme", 45, 100.0), ledger_row("Borde", 5, 50.0)):
        ws.append([*row, "call"])
    ws.add_table(Table(displayName="AR", ref=f"A1:{chr(64 + len(header))}3"))
    source = tmp_path / "in.xlsx"
    book.save(source)
    out = tmp_path / "out.xlsx"
    run(source, out, AS_OF)
    table = load_workbook(out)["Ledger"].tables["AR"]
    names = [column.name.casefold() for column in table.tableColumns]
    assert len(names) == len(set(names))
    assert table.ref == f"A1:{chr(64 + len(header))}3"


def test_a_tie_between_two_ledger_sheets_is_named(tmp_path, cli):
    rows = [ledger_row("Acme", 45, 100.0)]
    source = write_ledger(
        tmp_path / "in.xlsx",
        rows,
        sheet="October",
        extra_sheets=[("October copy", [HEADER, *rows])],
    )
    code, out, err = cli(
        "process", source, "-o", tmp_path / "out.xlsx", "--as-of", AS_OF.isoformat(), "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    said = [i["message"] for i in report["issues"] if "look equally like" in i["message"]]
    assert said and "'October' (the first) was used" in said[0]
    assert "'October copy' ignored" in said[0]


def test_one_month_in_two_formats_keeps_its_letters_apart(tmp_path, cli):
    source = tmp_path / "in"
    source.mkdir()
    rows = [ledger_row("Acme", 45, 100.0), ledger_row("Borde", 75, 80.0)]
    write_ledger(source / "AR_2026-10.xlsx", rows)
    due = [AS_OF - timedelta(days=d) for d in (45, 75)]
    write_ods(
        source / "AR_2026-10.ods",
        [
            (
                "AR",
                [
                    ["Customer", "Due Date", "Balance", "Email"],
                    ["Cielo", due[0], 70.0, "c@example.com"],
                    ["Duna", due[1], 90.0, "d@example.com"],
                ],
            )
        ],
    )
    out = tmp_path / "out"
    code, stdout, err = cli("batch", source, "-o", out, "--letters", "--jobs", 1, "--json")
    assert code == 0, err
    folders = sorted(p.name for p in (out / "letters").iterdir())
    assert len(folders) == 2, folders
    for folder in folders:
        output = next(out.glob(f"{folder}.collections.xlsx"))
        log = list(load_workbook(output)["Letters Log"].iter_rows(values_only=True))
        column = log[0].index("File")
        claimed = {
            Path(str(row[column])).name
            for row in log[1:]
            if row[column] and str(row[column]).endswith(".docx")
        }
        written = {p.name for p in (out / "letters" / folder).rglob("*.docx")}
        assert claimed and claimed <= written, (folder, claimed, written)
