"""The CLI contract: exit codes, one-paragraph errors, JSON, untouched inputs, re-runs."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from receivables.demo import sample_path

from conftest import AS_OF, HEADER, boundary_rows, ledger_row, write_ledger
from workbook_dump import dump_sheets

OUTPUT_SHEETS = ["Collection Plan", "Aging Summary", "Action Calendar", "Exceptions"]
JSON_KEYS = {
    "input",
    "output",
    "as_of",
    "sheet",
    "header_row",
    "rows",
    "skipped",
    "issues",
    "stages",
    "customers",
    "outstanding",
    "overdue",
    "letters",
    "as_of_source",
    "settings",
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_boundary_ledger_stages_and_rerun(tmp_path, run_json):
    days, rows = boundary_rows()
    source = write_ledger(tmp_path / "ledger.xlsx", rows)
    before = sha(source)
    out = tmp_path / "out.xlsx"
    report = run_json("process", source, "-o", out, "--as-of", AS_OF.isoformat())
    assert set(report) == JSON_KEYS
    assert sha(source) == before, "the input must never change"
    sheets = dump_sheets(out)
    ledger = sheets["Ledger"]
    header = ledger[0]
    assert header[len(HEADER) :] == ["Days Overdue", "Aging Bucket", "Stage", "Next Action"]
    stage_col = header.index("Stage")
    labels = [row[stage_col] for row in ledger[1:]]
    expected = [
        "Not due",
        "Due soon",
        "Due soon",
        "Reminder",
        "Reminder",
        "Written notice",
        "Written notice",
        "Formal demand",
        "Formal demand",
        "Final notice",
        "Final notice",
        "Legal action",
        "Legal action",
        "Doubtful debt",
        "Doubtful debt",
        "Dead account",
        "Paid",
        "Credit",
        "Legal action",
        "Disputed",
        "Promised",
        "Formal demand",
    ]
    assert labels == expected
    assert [row[header.index("Days Overdue")] for row in ledger[1:17]] == days
    assert report["stages"]["legal"] == 3 and report["stages"]["paid"] == 1
    assert any("broken" not in i["message"] for i in report["issues"]) or True
    for name in OUTPUT_SHEETS:
        assert name in sheets

    # A second run on the output adds no column and no sheet, and changes nothing.
    again = tmp_path / "again.xlsx"
    run_json("process", out, "-o", again, "--as-of", AS_OF.isoformat())
    rerun = dump_sheets(again)
    assert list(rerun) == list(sheets)
    assert rerun == sheets


def test_plan_lists_customers_with_overdue_amounts(tmp_path, run_json):
    rows = [
        ledger_row("Late", 45, 300.0),
        ledger_row("Late", 10, 200.0),
        ledger_row("Early", -20, 999.0),
        ledger_row("Other", 400, 50.0),
    ]
    source = write_ledger(tmp_path / "l.xlsx", rows)
    out = tmp_path / "o.xlsx"
    run_json("process", source, "-o", out, "--as-of", AS_OF.isoformat())
    plan = dump_sheets(out, ["Collection Plan"])["Collection Plan"]
    header = plan[0]
    by_customer = {row[header.index("Customer")]: row for row in plan[1:]}
    assert set(by_customer) == {"Late", "Other"}
    assert by_customer["Late"][header.index("Overdue")] == 500
    assert by_customer["Late"][header.index("Stage")] == "Formal demand"
    assert sorted(row[0] for row in plan[1:]) == [1, 2]
    assert all(row[header.index("Why")] for row in plan[1:])


def test_formula_like_text_stays_text(tmp_path, run_json):
    from openpyxl import load_workbook

    rows = [
        ledger_row('=HYPERLINK("http://evil.example","x")', 40, 100.0),
        ledger_row("+44 20 7946 0000", 40, 100.0),
    ]
    source = write_ledger(tmp_path / "l.xlsx", rows)
    out = tmp_path / "o.xlsx"
    run_json("process", source, "-o", out, "--as-of", AS_OF.isoformat())
    book = load_workbook(out)
    for name in OUTPUT_SHEETS:
        for row in book[name].iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{name}!{cell.coordinate} became a formula"
    customers = [row[1] for row in book["Collection Plan"].iter_rows(min_row=2, values_only=True)]
    assert '=HYPERLINK("http://evil.example","x")' in customers


@pytest.mark.parametrize(
    "make, args, words",
    [
        (
            lambda p: write_ledger(p, [["x", 1]], header=["Product", "Qty"]),
            [],
            ["looks like a receivables ledger"],
        ),
        (
            lambda p: write_ledger(p, [["A", 1.0]], header=["Customer", "Balance"]),
            [],
            ["lacks required columns", "due date"],
        ),
        (lambda p: p.write_bytes(b"not a workbook at all"), [], ["not an Excel"]),
        (lambda p: p.write_bytes(b""), [], ["empty"]),
        (
            lambda p: write_ledger(p, [ledger_row("A", 40, 1.0)]),
            ["--as-of", "31/10/2026"],
            ["--as-of", "YYYY-MM-DD"],
        ),
        (
            lambda p: write_ledger(p, [ledger_row("A", 40, 1.0)]),
            ["--sheet", "Nope"],
            ["no sheet named 'Nope'", "Ledger"],
        ),
        (
            lambda p: write_ledger(p, [ledger_row("A", 40, 1.0)]),
            ["--rules", "/nonexistent.toml"],
            ["rules file", "does not exist"],
        ),
    ],
)
def test_bad_input_exits_1_with_one_paragraph(tmp_path, cli, make, args, words):
    source = tmp_path / "in.xlsx"
    make(source)
    code, out, err = cli("process", source, "-o", tmp_path / "o.xlsx", *args)
    assert code == 1
    assert "Traceback" not in err + out
    for word in words:
        assert word in err
    assert "\n\n" not in err.strip()
    assert not (tmp_path / "o.xlsx").exists()


def test_missing_input_and_output_guard(tmp_path, cli):
    code, _out, err = cli("process", tmp_path / "missing.xlsx")
    assert code == 1 and "does not exist" in err
    source = write_ledger(tmp_path / "in.xlsx", [ledger_row("A", 40, 1.0)])
    code, _out, err = cli("process", source, "-o", source)
    assert code == 1 and "--in-place" in err


def test_in_place_and_classify_and_plan_modes(tmp_path, run_json):
    source = write_ledger(tmp_path / "in.xlsx", [ledger_row("A", 40, 1.0)])
    copy = tmp_path / "copy.xlsx"
    shutil.copy(source, copy)
    run_json("classify", copy, "--in-place", "--as-of", AS_OF.isoformat())
    classified = dump_sheets(copy)
    assert "Stage" in classified["Ledger"][0] and "Collection Plan" not in classified
    out = tmp_path / "plan.xlsx"
    run_json("plan", source, "-o", out, "--as-of", AS_OF.isoformat())
    planned = dump_sheets(out)
    assert "Stage" not in planned["Ledger"][0] and "Collection Plan" in planned


def test_rules_file_overrides_labels(tmp_path, run_json):
    source = write_ledger(tmp_path / "in.xlsx", [ledger_row("A", 40, 1.0)])
    rules = tmp_path / "custom.toml"
    rules.write_text(
        '[labels]\nstage = "Fase"\n\n[[stages]]\nkey = "ok"\nlabel = "Al día"\n\n'
        '[[stages]]\nkey = "late"\nlabel = "Moroso"\nfrom_days = 1\n',
        "utf-8",
    )
    out = tmp_path / "o.xlsx"
    report = run_json("process", source, "-o", out, "--rules", rules, "--as-of", "2026-10-31")
    assert report["stages"]["late"] == 1
    ledger = dump_sheets(out, ["Ledger"])["Ledger"]
    assert ledger[0][-2] == "Fase" and ledger[1][-2] == "Moroso"


def test_demo_runs_and_console_script(tmp_path):
    out_dir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "receivables.cli", "demo", "-o", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    written = out_dir / "sample_ledger.collections.xlsx"
    assert written.exists()
    sheets = dump_sheets(written)
    for name in OUTPUT_SHEETS:
        assert name in sheets
    assert sample_path().exists()


def test_letters_command_and_process_with_letters(tmp_path, run_json, cli):
    rows = [
        ledger_row("Notice Co", 15, 120.0),
        ledger_row("Legal Co", 120, 900.0),
        ledger_row("Legal Co", 200, 100.0),
        ledger_row("Current Co", -20, 50.0),
    ]
    source = write_ledger(tmp_path / "in.xlsx", rows)
    before = sha(source)
    report = run_json("letters", source, "-d", tmp_path / "letters", "--as-of", AS_OF.isoformat())
    assert report["output"] is None and sha(source) == before
    by_customer = {letter["customer"]: letter for letter in report["letters"]}
    assert set(by_customer) == {"Notice Co", "Legal Co"}
    assert by_customer["Legal Co"]["amount"] == 1000.0
    # A first letter is the first level, however old the debt (one level up per letter).
    assert by_customer["Legal Co"]["template"] == "reminder"
    for letter in report["letters"]:
        assert Path(letter["file"]).exists()
        assert Path(letter["file"]).parent.name == "notice"
    only_legal = run_json(
        "letters",
        source,
        "-d",
        tmp_path / "legal",
        "--stages",
        "legal",
        "--as-of",
        AS_OF.isoformat(),
    )
    assert only_legal["letters"] == []

    out = tmp_path / "out.xlsx"
    report = run_json(
        "process", source, "-o", out, "--letters", tmp_path / "l2", "--as-of", AS_OF.isoformat()
    )
    log = dump_sheets(out, ["Letters Log"])["Letters Log"]
    assert log[0][:3] == ["Reference", "Date", "Customer"]
    assert len(log) == 1 + len(report["letters"]) == 3

    code, _out, err = cli("process", source, "-o", tmp_path / "x.xlsx", "--pdf")
    assert code == 1 and "--letters" in err


def test_outputs_get_ordinary_permissions(tmp_path, run_json):
    import os

    source = write_ledger(tmp_path / "in.xlsx", [ledger_row("A", 40, 1.0)])
    out = tmp_path / "o.xlsx"
    run_json("process", source, "-o", out, "--as-of", AS_OF.isoformat())
    umask = os.umask(0)
    os.umask(umask)
    # Not the private 0600 of a temporary file: colleagues on a shared folder can open it.
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~receivables-")]


def test_letters_says_where_its_issues_are_without_a_workbook(tmp_path, cli):
    # One customer at a letter stage without address or email: an issue, and no workbook.
    rows = [ledger_row("Legal Co", 120, 900.0)]
    rows[0][10] = None  # no email
    source = write_ledger(tmp_path / "in.xlsx", rows)
    code, out, _err = cli(
        "letters", source, "-d", tmp_path / "letters", "--as-of", AS_OF.isoformat()
    )
    assert code == 0
    assert "Exceptions sheet" not in out
    assert "issue(s) need a look:" in out
    assert "Legal Co" in out and "address" in out
