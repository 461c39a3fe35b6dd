"""``receivables send`` holds the drafts a dunning block or a dispute now concerns
(design.md §11): real drafts written by a letters run, a real SMTP server on localhost."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from receivables.send import JOURNAL, Journal, run_send

from messages_support import (
    AS_OF,
    Inbox,
    Server,
    drafts_by_address,
    smtp_rules,
    write_ledger,
)
from workbook_dump import dump_sheets

SEND_DAY = date(2026, 11, 4)  # the drafts were written on AS_OF, sent days later
GARCIA = "jose.garcia@garcia.example.es"
SMITH = "accounts@smith.example.co.uk"


@pytest.fixture
def server():
    inbox = Inbox()
    started = Server(inbox)
    started.inbox = inbox
    yield started
    started.stop()


@pytest.fixture
def written(tmp_path, server, run_json):
    """A ledger, ``process --letters`` run on it (the output workbook and the letters
    folder with four email drafts), and the SMTP settings in rules.toml beside them."""
    rules = tmp_path / "rules.toml"
    rules.write_text(
        smtp_rules(server.port),
        encoding="utf-8",
    )
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    out, folder = tmp_path / "out.xlsx", tmp_path / "letters"
    run_json("process", ledger, "-o", out, "--letters", folder, "--as-of", AS_OF.isoformat())
    assert len(drafts_by_address(folder)) == 4
    return rules, out, folder


def _block(rules: Path, customer: str, reason: str, until: str | None = None, **more) -> str:
    """Append a ``[[dunning.blocks]]`` entry to ``rules``; returns the file's text before."""
    before = rules.read_text("utf-8")
    lines = [
        "",
        "[[dunning.blocks]]",
        f"customer = {json.dumps(customer, ensure_ascii=False)}",
        f"reason = {json.dumps(reason)}",
    ]
    if until:
        lines.append(f"until = {until}")
    lines += [f"{key} = {json.dumps(value)}" for key, value in more.items()]
    rules.write_text(before + "\n".join(lines) + "\n", encoding="utf-8")
    return before


def _by_address(result) -> dict[str, tuple[str, str]]:
    return {
        o.draft.to.rsplit("<", 1)[-1].rstrip(">"): (o.status, o.reason) for o in result.outcomes
    }


def _email_statuses(book: Path) -> dict[str, str]:
    log = dump_sheets(book, ["Letters Log"])["Letters Log"]
    head = log[0]
    return {
        row[head.index("Customer")]: row[head.index("Status")]
        for row in log[1:]
        if row[head.index("Channel")] == "email"
    }


def test_a_block_added_after_the_letters_holds_that_draft_until_it_is_removed(written, server):
    rules, _out, folder = written
    garcia_id = str(drafts_by_address(folder)[GARCIA][1]["Message-ID"])
    before = _block(rules, "GARCÍA HERMANOS  S.L.", "disputed delivery", "2026-12-31")

    result, _settings, warnings = run_send(folder, yes=True, today=SEND_DAY)
    outcomes = _by_address(result)
    assert outcomes[GARCIA] == (
        "held",
        "dunning block 'disputed delivery' until 2026-12-31 — García Hermanos S.L. (EUR)",
    )
    assert result.ok and result.count("sent") == 3 and result.count("held") == 1
    assert server.inbox.per_address() == {a: 1 for a in drafts_by_address(folder) if a != GARCIA}
    # Not journaled, not cancelled: the folder's Letters Log still says draft.
    assert Journal(folder / "email" / JOURNAL).state(garcia_id) is None
    assert _email_statuses(folder / "Letters Log.xlsx")["García Hermanos S.L."] == "draft"
    assert not any("cannot check" in w for w in warnings)

    # The block is lifted: the next run sends the held draft, once.
    rules.write_text(before, encoding="utf-8")
    again, _settings, _warnings = run_send(folder, yes=True, today=SEND_DAY)
    assert _by_address(again)[GARCIA] == ("sent", "")
    assert again.count("skipped") == 3
    run_send(folder, yes=True, today=SEND_DAY)
    assert server.inbox.per_address() == {a: 1 for a in drafts_by_address(folder)}
    assert set(_email_statuses(folder / "Letters Log.xlsx").values()) == {"sent"}


def test_an_ended_block_or_another_currency_holds_nothing(written, server):
    rules, _out, folder = written
    _block(rules, "García Hermanos S.L.", "payment plan", "2026-11-03")
    _block(rules, "Smith & Sons <UK>", "payment plan", currency="EUR")  # their draft is GBP
    # On its last day the block still holds García's draft (a dry run) ...
    result, _settings, _warnings = run_send(folder, today=date(2026, 11, 3))
    assert [o.draft.to for o in result.outcomes if o.status == "held"] == [
        str(drafts_by_address(folder)[GARCIA][1]["To"])
    ]
    # ... the day after it holds nothing, nor does the block of another currency.
    result, _settings, _warnings = run_send(folder, yes=True, today=SEND_DAY)
    assert result.count("sent") == 4 and not result.count("held")
    assert server.inbox.per_address() == {a: 1 for a in drafts_by_address(folder)}


def test_the_dry_run_lists_the_held_drafts_with_the_reason(written, server, cli):
    rules, _out, folder = written
    _block(rules, "Smith & Sons <UK>", "legal review")  # no end date
    code, out, _err = cli("send", folder)
    assert code == 0 and server.inbox.transactions == 0
    held = [line for line in out.splitlines() if line.strip().startswith("held")]
    assert len(held) == 1 and SMITH in held[0]
    assert "dunning block 'legal review' — Smith & Sons <UK> (GBP)" in held[0]
    assert "3 would-send, 1 held" in out
    code, out, _err = cli("send", folder, "--json")
    messages = {m["to"].rsplit("<", 1)[-1].rstrip(">"): m for m in json.loads(out)["messages"]}
    assert messages[SMITH]["status"] == "held" and "legal review" in messages[SMITH]["reason"]


def _edit_ledger(out: Path, header: str, values: dict[str, str], extra: dict | None = None):
    """Add a column to the output workbook's ledger sheet, as the clerk would in Excel."""
    book = load_workbook(out)
    sheet = book["Ledger"]
    column = sheet.max_column + 1
    columns = {header: values, **(extra or {})}
    for offset, (name, cells) in enumerate(columns.items()):
        sheet.cell(1, column + offset, name)
        for row in range(2, sheet.max_row + 1):
            customer = sheet.cell(row, 1).value
            if customer in cells:
                sheet.cell(row, column + offset, cells[customer])
    book.save(out)


def test_a_dunning_block_cell_in_the_workbook_holds(written, server, cli):
    _rules, out, folder = written
    _edit_ledger(out, "Dunning Block", {"Smith & Sons <UK>": "payment plan until 2099-12-31"})
    code, output, err = cli("send", folder, "--yes", "--workbook", out, "--json")
    assert code == 0, err
    messages = {m["to"].rsplit("<", 1)[-1].rstrip(">"): m for m in json.loads(output)["messages"]}
    assert messages[SMITH]["status"] == "held"
    assert messages[SMITH]["reason"] == (
        "dunning block 'payment plan' until 2099-12-31 — Smith & Sons <UK> (GBP)"
    )
    assert sorted(m["status"] for m in messages.values()) == ["held", "sent", "sent", "sent"]
    assert SMITH not in server.inbox.per_address() and len(server.inbox.messages) == 3
    statuses = _email_statuses(out)
    assert statuses["Smith & Sons <UK>"] == "draft"
    assert sorted(statuses.values()) == ["draft", "sent", "sent", "sent"]


def test_a_disputed_item_holds_the_draft_that_covers_it(written, server):
    _rules, out, folder = written
    _edit_ledger(
        out,
        "Disputed",
        {"García Hermanos S.L.": "yes"},
        {"Dispute Reason": {"García Hermanos S.L.": "goods damaged"}},
    )
    result, _settings, _warnings = run_send(folder, yes=True, workbook=out, today=SEND_DAY)
    assert _by_address(result)[GARCIA] == (
        "held",
        "item F-2026-0042 is in dispute (goods damaged) — García Hermanos S.L. (EUR)",
    )
    assert result.count("sent") == 3 and GARCIA not in server.inbox.per_address()


def test_without_the_folders_log_the_drafts_go_with_a_warning(written, server):
    rules, _out, folder = written
    _block(rules, "García Hermanos S.L.", "disputed delivery")
    (folder / "Letters Log.xlsx").unlink()
    result, _settings, warnings = run_send(folder, today=SEND_DAY)
    assert result.count("would-send") == 4
    assert (
        "cannot check 4 draft(s) against dunning blocks: no Letters Log in the folder "
        "(it says whose each draft is); they are sent as they are"
    ) in warnings
