"""The plan of a run that writes letters follows those letters (design.md §11).

The dunning is decided once per run, before the letters; the Collection Plan's Next
Action and Action Date and the Action Calendar then show what follows the letters just
written ("reminder sent 2026-10-31; formal demand due 2026-11-14"), exactly as a run that
reads that Letters Log back decides, through the command line, batch and the add-in.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from receivables import pipeline
from receivables.batch import BatchOptions, run_batch
from receivables.core import dunning as D
from receivables.core import letters as core_letters
from receivables.core import process as core_process
from receivables.core.rules import load_rules

from workbook_dump import cell_text, dump_sheets

AS_OF = date(2026, 10, 31)
RULES = load_rules()[0]
HEADER = ["Customer", "Invoice", "Due Date", "Currency", "Balance", "Address", "Email", "Owner"]
LOG_HEADER = ["Reference", "Date", "Customer", "Currency", "Template", "Invoices", "Status"]


def ledger(path: Path, log: list[list] | None = None) -> Path:
    """Customers at every letter level, one already sent a reminder and one a formal demand."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(HEADER)
    rows = [
        ("Fresh Ltd", "F-1", 20, 900.0),  # a first reminder
        ("Old Debts SA", "O-1", 200, 5000.0),  # years of debt, still a first reminder
        ("Old Debts SA", "O-2", 45, 700.0),
        ("Reminded Kft", "R-1", 50, 1200.0),  # a reminder went 20 days ago: formal demand
        ("Demanded Inc", "D-1", 75, 3000.0),  # a formal demand 16 days ago: final demand
        ("Recent GmbH", "G-1", 40, 800.0),  # a reminder 5 days ago: waits for the interval
        ("Soon BV", "S-1", 3, 400.0),  # no letter level yet
    ]
    for customer, invoice, days, balance in rows:
        sheet.append(
            [
                customer,
                invoice,
                AS_OF - timedelta(days=days),
                "EUR",
                balance,
                f"{customer} street 1",
                "ap@example.com",
                "Ana",
            ]
        )
    history = log or [
        ["RC-1", AS_OF - timedelta(days=20), "Reminded Kft", "EUR", "reminder", "R-1", "sent"],
        ["RC-2", AS_OF - timedelta(days=40), "Demanded Inc", "EUR", "reminder", "D-1", "sent"],
        ["RC-3", AS_OF - timedelta(days=16), "Demanded Inc", "EUR", "formal_demand", "D-1", ""],
        ["RC-4", AS_OF - timedelta(days=5), "Recent GmbH", "EUR", "reminder", "G-1", "sent"],
    ]
    kept = book.create_sheet("Letters Log")
    kept.append(LOG_HEADER)
    for row in history:
        kept.append(row)
    book.save(path)
    return path


def plan_rows(path: Path) -> dict[tuple[str, str], dict]:
    sheet = dump_sheets(path, ["Collection Plan"])["Collection Plan"]
    return {(row[1], row[2]): dict(zip(sheet[0], row, strict=True)) for row in sheet[1:]}


def sheets_of(path: Path) -> dict[str, list[list]]:
    return dump_sheets(path, ["Collection Plan", "Action Calendar"])


def test_the_plan_says_what_follows_the_letters_of_the_same_run(tmp_path):
    source = ledger(tmp_path / "AR_2026-10.xlsx")
    out = tmp_path / "out.xlsx"
    report = pipeline.run(source, out, AS_OF, letters_dir=tmp_path / "letters", sms=False)
    written = {(row["customer"], row["template"]) for row in report.letters}
    assert written >= {
        ("Fresh Ltd", "reminder"),
        ("Old Debts SA", "reminder"),
        ("Reminded Kft", "formal_demand"),
        ("Demanded Inc", "final_demand"),
    }
    plan = plan_rows(out)
    sent = AS_OF.isoformat()
    interval = (AS_OF + timedelta(days=14)).isoformat()
    assert plan[("Fresh Ltd", "EUR")]["Next Action"] == (
        f"reminder sent {sent}; formal demand due {interval}"
    )
    # Its older invoice reached the formal demand's days long ago: the interval decides.
    assert plan[("Old Debts SA", "EUR")]["Next Action"] == (
        f"reminder sent {sent}; formal demand due {interval}"
    )
    assert plan[("Reminded Kft", "EUR")]["Next Action"] == (
        f"formal demand sent {sent}; final demand due {interval}"
    )
    # Its invoice reaches the legal demand's 91 days after the interval has passed.
    assert plan[("Demanded Inc", "EUR")]["Next Action"] == (
        f"final demand sent {sent}; legal demand due {(AS_OF + timedelta(days=16)).isoformat()}"
    )
    # No letter went to these: the plan says what the history says, as before.
    assert plan[("Recent GmbH", "EUR")]["Next Action"] == (
        f"reminder sent {(AS_OF - timedelta(days=5)).isoformat()}; "
        f"formal demand due {(AS_OF + timedelta(days=9)).isoformat()}"
    )
    # The Action Date of a letter that follows one sent today waits for the interval.
    for key in (("Fresh Ltd", "EUR"), ("Reminded Kft", "EUR"), ("Demanded Inc", "EUR")):
        assert plan[key]["Action Date"] >= interval
    calendar = dump_sheets(out, ["Action Calendar"])["Action Calendar"]
    tasks = {row[2]: row for row in calendar[1:] if row[4] != "Due soon"}
    assert tasks["Reminded Kft"][5] == f"formal demand sent {sent}; final demand due {interval}"
    assert tasks["Reminded Kft"][0] == plan[("Reminded Kft", "EUR")]["Action Date"]


def test_a_run_reading_that_log_back_gives_the_same_plan_and_calendar(tmp_path):
    source = ledger(tmp_path / "AR_2026-10.xlsx")
    first = tmp_path / "first.xlsx"
    pipeline.run(source, first, AS_OF, letters_dir=tmp_path / "letters")
    again = tmp_path / "again.xlsx"
    pipeline.run(first, again, AS_OF)
    assert sheets_of(again) == sheets_of(first)


def test_a_letter_not_written_leaves_the_plan_saying_send(tmp_path):
    # Only the final demands asked for: the reminders due are still to be sent.
    source = ledger(tmp_path / "AR_2026-10.xlsx")
    out = tmp_path / "out.xlsx"
    report = pipeline.run(
        source, out, AS_OF, letters_dir=tmp_path / "letters", letter_stages=["final"]
    )
    assert {row["customer"] for row in report.letters if row["channel"] != "sms"} == {
        "Demanded Inc"
    }
    plan = plan_rows(out)
    assert plan[("Fresh Ltd", "EUR")]["Next Action"] == "Send reminder"
    assert plan[("Demanded Inc", "EUR")]["Next Action"].startswith(
        f"final demand sent {AS_OF.isoformat()}; "
    )


def test_the_dunning_is_decided_once_per_letters_run(tmp_path, monkeypatch):
    calls = []
    real = D.decide

    def counted(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    for module in (core_process, core_letters):
        monkeypatch.setattr(module, "decide", counted)
    source = ledger(tmp_path / "AR_2026-10.xlsx")
    report = pipeline.run(source, tmp_path / "out.xlsx", AS_OF, letters_dir=tmp_path / "l")
    assert report.letters
    assert calls == [AS_OF]


def test_after_letters_cites_the_letter_written_and_ignores_failed_ones():
    from letters_support import classified_frame, item

    frame = classified_frame(
        [item("Acme", 20, 500.0, invoice="A-1", address="Street 1")], RULES, AS_OF
    )
    decisions = D.decide(frame, RULES, AS_OF)
    decision = decisions[("Acme", "EUR")]
    assert decision.sends and decision.then.action == D.WAIT
    letter = D.SentLetter("RC-9", AS_OF, "Acme", "EUR", "notice", (("A-1", "notice"),), "reminder")
    moved = D.after_letters(decisions, [letter])[("Acme", "EUR")]
    assert moved.last is letter and moved.previous is letter
    assert D.next_action(moved, "x") == (
        f"reminder sent {AS_OF.isoformat()}; formal demand due "
        f"{(AS_OF + timedelta(days=14)).isoformat()}"
    )
    failed = D.SentLetter(
        "RC-9", AS_OF, "Acme", "EUR", "notice", (("A-1", "notice"),), "reminder", status="failed"
    )
    assert D.after_letters(decisions, [failed]) == decisions


def test_cli_batch_and_addin_give_the_same_plan_after_letters(tmp_path, monkeypatch):
    import xlwings as xw

    import receivables.addin as addin_package
    from receivables.addin import handlers

    import standin

    cli_out = tmp_path / "cli.xlsx"
    pipeline.run(ledger(tmp_path / "AR_2026-10.xlsx"), cli_out, AS_OF, letters_dir=tmp_path / "cli")
    folder = tmp_path / "in"
    folder.mkdir()
    ledger(folder / "AR_2026-10.xlsx")
    run_batch(BatchOptions(in_dir=folder, out_dir=tmp_path / "batch", letters=True, jobs=1))
    batch_out = tmp_path / "batch" / "AR_2026-10.collections.xlsx"
    assert sheets_of(batch_out) == sheets_of(cli_out)

    previous = xw.engines.active
    app = standin.activate()
    try:
        monkeypatch.setattr(handlers, "today", lambda: AS_OF)
        opened = ledger(tmp_path / "open.xlsx")
        book = app.books.open(str(opened))
        monkeypatch.setattr(
            sys, "argv", ["-c", f"--wb={book.name}", "--from_xl=1", "--app=Excel", "--hwnd=1"]
        )
        # Collection Plan, then Demand Letters: the plan sheets already there follow the
        # letters; Collection Plan again, reading the Letters Log, gives the same.
        found = []
        for button in ("collections_plan", "collections_letters", "collections_plan"):
            addin_package.dispatch(button)
            if button == "collections_plan" and not found:
                continue
            sheets = {}
            for name in ("Collection Plan", "Action Calendar"):
                values = book.sheets[name].used_range.options(ndim=2).value
                sheets[name] = [[cell_text(v) for v in row] for row in values]
            found.append(sheets)
        assert [a["mode"] for a in book.app.impl.alerts] == ["info"] * 3
    finally:
        standin.deactivate(previous)
    expected = sheets_of(cli_out)
    assert len(found) == 2
    for sheets in found:
        for name in ("Collection Plan", "Action Calendar"):
            header = expected[name][0]
            columns = [sheets[name][0].index(column) for column in header]
            rows = [[row[c] for c in columns] for row in sheets[name]]
            assert rows == expected[name], name


def test_a_customer_who_cannot_be_written_to_is_one_line_in_exceptions(tmp_path, run_json):
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(HEADER)
    for invoice, days in (("N-1", 200), ("N-2", 20)):
        sheet.append(["Nowhere Bt.", invoice, AS_OF - timedelta(days=days), "HUF", 90000.0])
    sheet.append(["Somewhere Kft.", "S-1", AS_OF - timedelta(days=20), "HUF", 90000.0, "Út 1"])
    source = tmp_path / "AR.xlsx"
    book.save(source)
    out = tmp_path / "out.xlsx"
    data = run_json(
        "process", str(source), "-o", str(out), "--letters", str(tmp_path / "letters"),
        "--as-of", AS_OF.isoformat(),
    )  # fmt: skip
    about = [i for i in data["issues"] if "Nowhere" in i["message"]]
    assert len(about) == 1, about
    exceptions = dump_sheets(out, ["Exceptions"])["Exceptions"]
    assert len([row for row in exceptions if "Nowhere" in str(row[2])]) == 1
    # The customer who can be written to got its letter.
    assert [row["customer"] for row in data["letters"]] == ["Somewhere Kft."]


def test_new_problems_keeps_one_issue_per_subject():
    from receivables.core.issues import Issue, Location, new_problems

    known = [Issue(Location.cell("L", 5, 1), "first words", subject=("x", "A", "EUR"))]
    found = [
        Issue(Location.cell("L", 9), "other words", subject=("x", "A", "EUR")),
        Issue(Location.cell("L", 9), "about B", subject=("x", "B", "EUR")),
        Issue(Location.cell("L", 10), "about B again", subject=("x", "B", "EUR")),
        Issue(Location.cell("L", 11), "no subject"),
        Issue(Location.cell("L", 11), "no subject"),
    ]
    # The same issue twice (a setting both steps read) is one line too.
    assert [i.message for i in new_problems(found, known)] == ["about B", "no subject"]
    assert new_problems([known[0]], known) == []
