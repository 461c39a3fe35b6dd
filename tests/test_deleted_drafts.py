"""An email draft a clerk deleted instead of sending counts as never sent (design.md §11).

The letters folder's own Letters Log lists the drafts written into it. A row still
``draft`` whose ``.eml`` is gone from ``DIR/email`` and that the send journal never saw
was deleted unsent: the next letters run and ``receivables send --yes`` (``--mark-sent``
too) mark it ``cancelled``, with an Info issue, so the letter that is due goes out again.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from letters_support import docx_text
from messages_support import AS_OF, CUSTOMERS, RULES, write_ledger
from workbook_dump import dump_sheets

GARCIA = CUSTOMERS["garcia"][0]
SMITH = CUSTOMERS["smith"][0]
LATER = AS_OF + timedelta(days=15)


def log_of(path: Path) -> list[dict]:
    rows = dump_sheets(path, ["Letters Log"])["Letters Log"]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def letter_row(rows: list[dict], customer: str, day) -> dict:
    (found,) = [
        row
        for row in rows
        if row["Customer"] == customer
        and str(row["File"]).endswith(".docx")
        and str(row["Date"])[:10] == day.isoformat()
    ]
    return found


def draft_of(folder: Path, reference: str) -> Path:
    (found,) = (folder / "email").glob(f"*_{reference}.eml")
    return found


def test_a_deleted_draft_is_cancelled_and_its_letter_written_again(tmp_path, run_json):
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    folder = tmp_path / "letters"
    first = run_json("letters", ledger, "-d", folder, "--as-of", AS_OF.isoformat())
    references = {row["customer"]: row["reference"] for row in first["letters"]}
    deleted = draft_of(folder, references[GARCIA])
    kept = draft_of(folder, references[SMITH])
    deleted.unlink()  # the clerk did not send García's letter

    second = run_json("letters", ledger, "-d", folder, "--as-of", LATER.isoformat())
    notes = [i for i in second["issues"] if references[GARCIA] in i["message"]]
    assert len(notes) == 1 and notes[0]["severity"] == "info", notes
    assert "deleted" in notes[0]["message"] and "cancelled" in notes[0]["message"]
    log = log_of(folder / "Letters Log.xlsx")
    assert letter_row(log, GARCIA, AS_OF)["Status"] == "cancelled"
    assert letter_row(log, SMITH, AS_OF)["Status"] == "draft"  # its draft is still there
    assert kept.is_file()
    # García's reminder counts as never sent: the reminder again, citing nothing; Smith's
    # reminder counts: the formal demand, citing it.
    again = letter_row(log, GARCIA, LATER)
    assert again["Template"] == "reminder" and not again["Previous"]
    text = docx_text(folder / again["File"])
    assert references[GARCIA] not in text
    demand = letter_row(log, SMITH, LATER)
    assert demand["Template"] == "formal_demand"
    assert demand["Previous"] == references[SMITH]


def test_process_letters_carrying_the_workbook_cancels_the_deleted_draft(tmp_path, run_json):
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    folder = tmp_path / "letters"
    first_out = tmp_path / "week1.xlsx"
    first = run_json(
        "process", ledger, "-o", first_out, "--letters", folder, "--as-of", AS_OF.isoformat()
    )
    reference = {row["customer"]: row["reference"] for row in first["letters"]}[GARCIA]
    draft_of(folder, reference).unlink()
    second_out = tmp_path / "week2.xlsx"
    run_json(
        "process", first_out, "-o", second_out, "--letters", folder, "--as-of", LATER.isoformat()
    )
    log = log_of(second_out)
    assert letter_row(log, GARCIA, AS_OF)["Status"] == "cancelled"
    assert letter_row(log, GARCIA, LATER)["Template"] == "reminder"
    exceptions = dump_sheets(second_out, ["Exceptions"])["Exceptions"]
    assert [row[0] for row in exceptions if reference in str(row[2])] == ["Info"]


def test_mark_sent_cancels_the_deleted_drafts_and_marks_the_others_sent(tmp_path, cli, run_json):
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")  # no SMTP server at all
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    out, folder = tmp_path / "out.xlsx", tmp_path / "letters"
    first = run_json(
        "process", ledger, "-o", out, "--letters", folder, "--as-of", AS_OF.isoformat()
    )
    reference = {row["customer"]: row["reference"] for row in first["letters"]}[GARCIA]
    draft_of(folder, reference).unlink()
    code, output, _err = cli("send", folder, "--yes", "--mark-sent", "--workbook", out)
    assert code == 0, output
    assert "deleted without being sent" in output and reference in output
    for log in (log_of(out), log_of(folder / "Letters Log.xlsx")):
        emails = {row["Reference"]: row["Status"] for row in log if row["Channel"] == "email"}
        assert emails.pop(reference) == "cancelled"
        assert set(emails.values()) == {"sent"}
    # The drafts marked sent may be deleted now: the journal knows they went.
    for draft in (folder / "email").glob("*.eml"):
        draft.unlink()
    later = run_json("letters", ledger, "-d", folder, "--as-of", LATER.isoformat())
    assert not [i for i in later["issues"] if "deleted" in i["message"]]
    statuses = [row["Status"] for row in log_of(folder / "Letters Log.xlsx")]
    assert statuses.count("cancelled") == 1


def test_a_dry_run_changes_nothing(tmp_path, cli, run_json):
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    out, folder = tmp_path / "out.xlsx", tmp_path / "letters"
    first = run_json(
        "process", ledger, "-o", out, "--letters", folder, "--as-of", AS_OF.isoformat()
    )
    reference = {row["customer"]: row["reference"] for row in first["letters"]}[GARCIA]
    draft_of(folder, reference).unlink()
    before = log_of(out)
    code, output, _err = cli("send", folder, "--workbook", out)
    assert "deleted" not in output
    assert log_of(out) == before
