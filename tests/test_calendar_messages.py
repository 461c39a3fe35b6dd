"""Every Action Calendar task has a message, in the customer's language, that claims an
earlier letter only when the dunning history has one (design.md §5, §11)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from receivables import pipeline
from receivables.core.rules import load_rules

from workbook_dump import dump_sheets

AS_OF = date(2026, 10, 31)
HEADER = ["Customer", "Invoice", "Due Date", "Currency", "Balance", "Address", "Language"]
GREETING = {
    "en": "Dear ",
    "es": "Estimado/a ",
    "hu": "Tisztelt ",
    "zh": "尊敬的",
    "de": "Guten Tag ",
    "fr": "Bonjour ",
}
CITES = {
    "en": "We wrote to you",
    "es": "Le escribimos",
    "hu": "írtunk",
    "zh": "致函",
    "de": "Wir haben Ihnen am",
    "fr": "Nous vous avons écrit",
}
# Days overdue of one item at each ladder stage a plan row can be at.
STAGE_DAYS = {
    "reminder": 3,
    "notice": 20,
    "demand": 45,
    "final": 75,
    "legal": 120,
    "doubtful": 400,
    "dead": 800,
}


def workbook(path: Path, rows: list[list], log: list[list] | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    if log:
        kept = book.create_sheet("Letters Log")
        kept.append(["Reference", "Date", "Customer", "Currency", "Template", "Invoices"])
        for row in log:
            kept.append(row)
    book.save(path)
    return path


def calendar(path: Path) -> dict[str, list]:
    rows = dump_sheets(path, ["Action Calendar"])["Action Calendar"]
    return {row[2]: row for row in rows[1:] if row[4] != "Due soon"}


def every_stage_and_language() -> list[list]:
    rows = []
    for language in GREETING:
        for stage, days in STAGE_DAYS.items():
            rows.append(
                [
                    f"{stage} {language}",
                    f"{stage[:3].upper()}-{language}",
                    AS_OF - timedelta(days=days),
                    "EUR",
                    1500.0,
                    "Street 1",
                    language,
                ]
            )
    return rows


def test_the_shipped_messages_cover_every_stage_a_task_can_be_at_in_every_language():
    rules = load_rules()[0]
    table = rules.section("messages")
    wanted = {stage.key for stage in rules.stages} - {"current"}
    assert wanted <= set(table)
    for language in ("es", "hu", "zh", "de", "fr"):
        assert wanted <= set(table[language]), language


def test_every_task_has_a_message_in_its_language_and_claims_no_letter(tmp_path):
    source = workbook(tmp_path / "AR.xlsx", every_stage_and_language())
    out = tmp_path / "out.xlsx"
    pipeline.run(source, out, AS_OF)
    tasks = calendar(out)
    assert len(tasks) == len(STAGE_DAYS) * len(GREETING)
    for customer, task in tasks.items():
        language = customer.split()[-1]
        message = task[7]
        assert message.startswith(GREETING[language]), (customer, message)
        # No Letters Log: no message mentions an earlier letter.
        assert CITES[language] not in message, (customer, message)


def test_a_message_names_the_last_letter_only_when_the_history_has_it(tmp_path):
    rows = every_stage_and_language()
    sent = AS_OF - timedelta(days=20)
    log = [
        [f"RC-{row[1]}", sent, row[0], "EUR", "reminder", row[1]]
        for row in rows
        if row[0].startswith(("legal", "final"))
    ]
    source = workbook(tmp_path / "AR.xlsx", rows, log)
    out = tmp_path / "out.xlsx"
    pipeline.run(source, out, AS_OF)
    for customer, task in calendar(out).items():
        language = customer.split()[-1]
        written = customer.startswith(("legal", "final"))
        assert (f"RC-{customer[:3].upper()}-{language}" in task[7]) == written, task
        assert (CITES[language] in task[7]) == written, task
    # Letters this run writes are the last letter of the plan's tasks that follow them.
    again = tmp_path / "again.xlsx"
    report = pipeline.run(source, again, AS_OF, letters_dir=tmp_path / "letters", sms=False)
    references = {row["customer"]: row["reference"] for row in report.letters}
    for customer, task in calendar(again).items():
        if customer in references and customer.startswith(("demand", "doubtful")):
            assert references[customer] in task[7], task


LADDER = [
    ("current", "Not due", None, "None", None),
    ("pre_due", "Due soon", -7, "Friendly reminder", None),
    ("reminder", "Reminder", 0, "Call on the due date", None),
    ("call", "Second call", 4, "Call the customer again", None),
    ("notice", "Written notice", 8, "Letter", "reminder"),
    ("demand", "Formal demand", 31, "Letter with a payment date", "formal_demand"),
    ("final", "Final notice", 61, "Letter before legal action", "final_demand"),
    ("legal", "Legal action", 91, "Lawyers", "legal_demand"),
]


def test_a_stage_of_ones_own_uses_the_text_of_the_stage_below_and_blocks_get_none(tmp_path):
    lines = []
    for key, label, from_days, action, letter in LADDER:
        lines += ["[[stages]]", f'key = "{key}"', f'label = "{label}"', f'action = "{action}"']
        lines += [f"from_days = {from_days}"] if from_days is not None else []
        lines += [f'letter = "{letter}"'] if letter else []
    lines += ["[[dunning.blocks]]", 'customer = "Blocked Ltd"', 'reason = "payment plan"']
    rules = tmp_path / "rules.toml"
    rules.write_text("\n".join(lines) + "\n", "utf-8")
    rows = [
        ["Called Co", "C-1", AS_OF - timedelta(days=5), "EUR", 900.0, "Street 1", "es"],
        ["Blocked Ltd", "B-1", AS_OF - timedelta(days=45), "EUR", 900.0, "Street 1", "en"],
    ]
    source = workbook(tmp_path / "AR.xlsx", rows)
    out = tmp_path / "out.xlsx"
    pipeline.run(source, out, AS_OF, rules_file=rules)
    tasks = calendar(out)
    assert tasks["Called Co"][4] == "Second call"
    # No text for "call": the reminder's, the stage below it, in Spanish.
    assert tasks["Called Co"][7].startswith("Estimado/a Called Co: el pago de 900,00")
    assert "venció el 26 de octubre de 2026" in tasks["Called Co"][7]
    # A dunning block: no dunning message at all.
    assert tasks["Blocked Ltd"][5].startswith("Dunning blocked: payment plan")
    assert not tasks["Blocked Ltd"][7]
