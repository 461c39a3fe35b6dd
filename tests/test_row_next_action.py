"""The receivables sheet's Next Action column follows the run's dunning decision, in the
plan's words, for the overdue items that decision covers; other rows keep the ladder's
action, and the Stage column stays the stage by days (issue 11)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from receivables import pipeline
from receivables.core.rules import load_rules

from workbook_dump import dump_sheets

AS_OF = date(2026, 10, 31)
HEADER = ["Customer", "Invoice", "Due Date", "Currency", "Balance", "Address", "Disputed"]
RULES = load_rules()[0]


def stage_by_days(days: int):
    """The ladder stage an item ``days`` overdue is at (the last one it has reached)."""
    reached = [s for s in RULES.stages if s.from_days is not None and days >= s.from_days]
    return reached[-1]


def workbook(path: Path, rows: list[list], rules_text: str = "") -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    if rules_text:
        (path.parent / "rules.toml").write_text(rules_text, "utf-8")
    return path


def row(customer, invoice, days, balance=900.0, disputed=None) -> list:
    return [customer, invoice, AS_OF - timedelta(days=days), "EUR", balance, "Street 1", disputed]


def ledger_columns(path: Path) -> dict[str, tuple[str, str]]:
    """Invoice -> (Stage, Next Action) of the receivables sheet."""
    rows = dump_sheets(path, ["Ledger"])["Ledger"]
    header = rows[0]
    stage, action = header.index("Stage"), header.index("Next Action")
    return {r[1]: (r[stage], r[action]) for r in rows[1:]}


def plan_actions(path: Path) -> dict[str, str]:
    rows = dump_sheets(path, ["Collection Plan"])["Collection Plan"]
    header = rows[0]
    return {r[header.index("Customer")]: r[header.index("Next Action")] for r in rows[1:]}


def test_an_old_and_a_young_invoice_without_history_both_rows_say_reminder(tmp_path):
    rows = [row("Old Young Ltd", "OLD-1", 800), row("Old Young Ltd", "NEW-1", 40)]
    source = workbook(tmp_path / "AR.xlsx", rows)
    out = tmp_path / "out.xlsx"
    pipeline.run(source, out, AS_OF)
    columns = ledger_columns(out)
    plan = plan_actions(out)
    assert plan["Old Young Ltd"] == "Send reminder"
    assert columns["OLD-1"][1] == columns["NEW-1"][1] == "Send reminder"
    # The Stage column is still each item's stage by days.
    assert columns["OLD-1"][0] == stage_by_days(800).label
    assert columns["NEW-1"][0] == stage_by_days(40).label
    assert columns["OLD-1"][0] != columns["NEW-1"][0]

    # Once the reminder is written, the rows say what the plan says: sent, and what is next.
    written = tmp_path / "written.xlsx"
    pipeline.run(source, written, AS_OF, letters_dir=tmp_path / "letters", email=False, sms=False)
    after = plan_actions(written)["Old Young Ltd"]
    assert after.startswith(f"reminder sent {AS_OF.isoformat()}; formal demand due ")
    columns = ledger_columns(written)
    assert columns["OLD-1"][1] == columns["NEW-1"][1] == after

    # classify (no plan sheet) decides the same and writes the same rows.
    classified = tmp_path / "classified.xlsx"
    pipeline.run(source, classified, AS_OF, mode="classify")
    assert ledger_columns(classified)["OLD-1"][1] == "Send reminder"
    assert ledger_columns(classified)["NEW-1"][1] == "Send reminder"


def test_rows_outside_any_decision_keep_the_ladder_action(tmp_path):
    rules = '[[dunning.blocks]]\ncustomer = "Held Co"\nreason = "payment plan"\n'
    rows = [
        row("Mixed Co", "M-OLD", 800),
        row("Mixed Co", "M-DISPUTED", 100, disputed="yes"),
        row("Mixed Co", "M-CURRENT", -20),
        row("Mixed Co", "M-CREDIT", 30, balance=-50.0),
        row("Held Co", "H-1", 100),
        row("Tiny Co", "T-1", 100, balance=0.40),
    ]
    source = workbook(tmp_path / "AR.xlsx", rows, rules)
    out = tmp_path / "out.xlsx"
    pipeline.run(source, out, AS_OF, rules_file=tmp_path / "rules.toml")
    columns = ledger_columns(out)
    plan = plan_actions(out)
    assert columns["M-OLD"][1] == plan["Mixed Co"] == "Send reminder"
    # A blocked customer and one below the minimum have no letter to follow.
    assert plan["Held Co"].startswith("Dunning blocked")
    assert columns["H-1"][1] == stage_by_days(100).action
    assert plan["Tiny Co"].startswith("No letter")
    assert columns["T-1"][1] == stage_by_days(100).action
    # The disputed, the not yet due and the credit rows are outside the decision.
    assert columns["M-DISPUTED"][1] != plan["Mixed Co"]
    assert columns["M-CURRENT"][1] != plan["Mixed Co"]
    assert columns["M-CREDIT"][1] != plan["Mixed Co"]
