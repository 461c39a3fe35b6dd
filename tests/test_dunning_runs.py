"""Dunning over time (design.md §11): a year of weekly runs carrying the workbook forward,
twelve monthly exports through batch, and the same decision through the CLI, batch and
the add-in.

The ledger is simulated: customers who pay, pay in part, dispute and go silent. After
every run the Letters Log must show what a credit controller expects: one level up per
letter for each invoice, never the same level twice, never two letters to a customer
within the interval, every later letter citing the previous one, and letters whose
figures are the plan's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from receivables import pipeline
from receivables.batch import BatchOptions, run_batch
from receivables.core.dunning import letter_levels, parse_items, resolve_level
from receivables.core.rules import load_rules

from letters_support import docx_text
from workbook_dump import dump_sheets

RULES = load_rules()[0]
LEVELS = letter_levels(RULES)
INDEX = {level.stage: level.index for level in LEVELS}
HEADER = [
    "Customer",
    "Invoice",
    "Invoice Date",
    "Due Date",
    "Currency",
    "Amount",
    "Paid",
    "Balance",
    "Address",
    "Email",
    "Disputed",
    "Dispute Reason",
    "Language",
]


# ---- the simulated ledger ----------------------------------------------------------------------


@dataclass
class Invoice:
    """One invoice and what its customer does about it (days after the due date)."""

    customer: str
    number: str
    issued: date
    amount: float
    currency: str = "EUR"
    payments: tuple[tuple[int, float], ...] = ()  # (days after due, share of the amount)
    dispute: tuple[int, int] | None = None  # disputed from .. to (days after due)
    terms: int = 30
    extra: dict = field(default_factory=dict)

    @property
    def due(self) -> date:
        return self.issued + timedelta(days=self.terms)

    def paid(self, as_of: date) -> float:
        return round(
            sum(
                self.amount * share
                for days, share in self.payments
                if self.due + timedelta(days=days) <= as_of
            ),
            2,
        )

    def row(self, as_of: date) -> list | None:
        """The ledger row on ``as_of``; None before it is issued or once it is settled."""
        if self.issued > as_of:
            return None
        paid = self.paid(as_of)
        balance = round(self.amount - paid, 2)
        if abs(balance) < 0.005:
            return None
        disputed, reason = None, None
        if self.dispute is not None:
            start, end = (self.due + timedelta(days=d) for d in self.dispute)
            if start <= as_of:
                # While in dispute the flag says yes; afterwards "no", the reason left over.
                disputed = "yes" if as_of < end else "no"
                reason = "wrong goods delivered"
        address = f"{self.customer} street 1\n28001 Madrid"
        return [
            self.customer,
            self.number,
            self.issued,
            self.due,
            self.currency,
            self.amount,
            paid,
            balance,
            address,
            "ap@example.com",
            disputed,
            reason,
            "en",
        ]


def year_ledger() -> list[Invoice]:
    """Six customers, an invoice each month of 2026."""
    invoices = []
    for month in range(1, 13):
        issued = date(2026, month, 5)
        tag = f"{month:02d}"
        invoices += [
            Invoice("Prompt Pay Ltd", f"PP-{tag}", issued, 1000.0, payments=((5, 1.0),)),
            Invoice("Partial Co", f"PC-{tag}", issued, 800.0, payments=((45, 0.5), (110, 0.5))),
            Invoice(
                "Dispute SA",
                f"DS-{tag}",
                issued,
                1200.0,
                payments=((150, 1.0),) if month == 3 else ((30, 1.0),),
                dispute=(35, 90) if month == 3 else None,
            ),
            Invoice("Credit Kft", f"CK-{tag}", issued, 500.0, payments=((70, 1.0),)),
            Invoice("Two Cur Inc", f"TE-{tag}", issued, 300.0, payments=((10, 1.0),)),
            Invoice("Two Cur Inc", f"TU-{tag}", issued, 250.0, currency="USD"),
        ]
        if month <= 4:
            invoices.append(Invoice("Silent GmbH", f"SG-{tag}", issued, 2000.0))
    # A credit note, open from May to September, offsets part of Credit Kft's debts.
    invoices.append(
        Invoice("Credit Kft", "CN-1", date(2026, 5, 20), -300.0, payments=((100, 1.0),), terms=0)
    )
    return invoices


def write_week(path: Path, invoices: list[Invoice], as_of: date, log: list[list] | None):
    """The clerk's workbook on ``as_of``: the ledger, and last week's Letters Log."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(HEADER)
    for invoice in invoices:
        row = invoice.row(as_of)
        if row is not None:
            sheet.append(row)
    if log:
        kept = book.create_sheet("Letters Log")
        for row in log:
            kept.append(row)
    book.save(path)
    return path


# ---- reading and checking the Letters Log ------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    reference: str
    day: date
    customer: str
    currency: str
    level: int
    items: tuple[tuple[str, int], ...]
    previous: str
    amount: float
    credits: float
    file: str


def letters_of(log: list[list]) -> list[Letter]:
    """The letters (not messages) of a dumped Letters Log sheet."""
    header = log[0]
    at = {name: header.index(name) for name in header}
    out = []
    for row in log[1:]:
        if (row[at["Channel"]] or "letter") not in ("letter", "email"):
            continue
        if not str(row[at["File"]] or "").endswith(".docx"):
            continue
        level = resolve_level(row[at["Template"]], RULES, LEVELS)
        items = parse_items(row[at["Invoices"]], level, RULES, LEVELS) or ()
        out.append(
            Letter(
                reference=row[at["Reference"]],
                day=date.fromisoformat(str(row[at["Date"]])[:10]),
                customer=row[at["Customer"]],
                currency=row[at["Currency"]],
                level=level.index,
                items=tuple((key, INDEX[stage]) for key, stage in items),
                previous=row[at["Previous"]] or "",
                amount=float(row[at["Amount"]] or 0),
                credits=float(row[at["Credits"]] or 0),
                file=row[at["File"]],
            )
        )
    return out


def check_history(letters: list[Letter], interval: int = 14) -> None:
    """The invariants of the issue, over every letter ever written."""
    assert len({letter.reference for letter in letters}) == len(letters)
    by_customer: dict[tuple[str, str], list[Letter]] = {}
    for letter in sorted(letters, key=lambda x: x.day):
        by_customer.setdefault((letter.customer, letter.currency), []).append(letter)
    by_reference = {letter.reference: letter for letter in letters}
    for sent in by_customer.values():
        for before, after in zip(sent, sent[1:], strict=False):
            # Never two letters to the same customer and currency within the interval.
            assert (after.day - before.day).days >= interval, (before, after)
        levels: dict[str, list[int]] = {}
        covered: dict[str, Letter] = {}
        for letter in sent:
            assert letter.items, letter  # every letter takes some item a level up
            latest = max(
                (covered[key] for key, _level in letter.items if key in covered),
                key=lambda x: x.day,
                default=None,
            )
            if latest is not None:
                # Every letter about items written about before cites the previous letter.
                assert letter.previous, letter
                cited = by_reference[letter.previous]
                assert cited.day >= latest.day and cited.day < letter.day
            for key, level in letter.items:
                levels.setdefault(key, []).append(level)
                covered[key] = letter
        for key, sequence in levels.items():
            # One level up per letter from the first, never the same level twice.
            assert sequence == list(range(len(sequence))), (key, sequence)
    for letter in letters:
        assert max(level for _key, level in letter.items) == letter.level


def check_totals(out: Path, day: date) -> None:
    """This run's letters carry the plan's Overdue, Credits and Net Overdue."""
    sheets = dump_sheets(out, ["Collection Plan", "Letters Log"])
    plan = sheets["Collection Plan"]
    at = {name: plan[0].index(name) for name in plan[0]}
    rows = {(r[at["Customer"]], r[at["Currency"]]): r for r in plan[1:]}
    for letter in letters_of(sheets.get("Letters Log", [[]])) if "Letters Log" in sheets else []:
        if letter.day != day:
            continue
        row = rows[(letter.customer, letter.currency)]
        assert letter.amount == pytest.approx(float(row[at["Overdue"]]))
        assert letter.credits == pytest.approx(float(row[at["Credits"]]))
        assert letter.amount - letter.credits == pytest.approx(float(row[at["Net Overdue"]]))
        assert LEVELS[letter.level].from_days <= int(row[at["Oldest Days Overdue"]])
        # The plan of the run that wrote the letter says it went (one decision per run).
        assert str(row[at["Next Action"]]).startswith(
            f"{LEVELS[letter.level].name} sent {day.isoformat()}"
        ), row


def check_letter_texts(letters: list[Letter], folders: dict[str, Path]) -> None:
    """A letter cites its previous letter's reference, and claims none when it has none."""
    for letter in letters:
        text = docx_text(folders[letter.reference] / letter.file)
        if letter.previous:
            assert letter.previous in text, letter
        else:
            for claim in (
                "Despite our",
                "We wrote to you",
                "We refer to",
                "despite our",
                "written to you before",
                "previous reminders",
            ):
                assert claim not in text, (letter, claim)


# ---- a year of weekly runs ---------------------------------------------------------------------


def test_a_year_of_weekly_runs_carrying_the_workbook_forward(tmp_path):
    invoices = year_ledger()
    log: list[list] | None = None
    folders: dict[str, Path] = {}
    day = date(2026, 1, 9)  # Fridays, from the week of the first invoice
    weeks = 0
    while day <= date(2026, 12, 31):
        source = write_week(tmp_path / f"week{weeks:02d}.xlsx", invoices, day, log)
        out = tmp_path / f"week{weeks:02d}.out.xlsx"
        folder = tmp_path / "letters" / day.isoformat()
        report = pipeline.run(source, out, day, letters_dir=folder, email=False, sms=False)
        for letter in report.letters:
            folders[letter["reference"]] = folder
        check_totals(out, day)
        log = dump_sheets(out, ["Letters Log"]).get("Letters Log")
        day += timedelta(days=7)
        weeks += 1
    letters = letters_of(log)
    check_history(letters)
    check_letter_texts(letters, folders)
    # The ledger exercised the ladder: someone reached the legal demand one step at a time,
    # the prompt payer never got a letter, the credit note kept Credit Kft's claims net.
    assert any(letter.level == INDEX["legal"] for letter in letters)
    assert not [letter for letter in letters if letter.customer == "Prompt Pay Ltd"]
    assert any(letter.credits > 0 for letter in letters if letter.customer == "Credit Kft")
    # The disputed invoice was held while disputed, then chased (Disputed = no + reason).
    dispute = [level for letter in letters for key, level in letter.items if key == "DS-03"]
    assert dispute and dispute == list(range(len(dispute)))


# ---- twelve monthly exports through batch ----------------------------------------------


def test_batch_of_twelve_monthly_exports_without_a_letters_log(tmp_path):
    invoices = year_ledger()
    months = tmp_path / "exports"
    months.mkdir()
    for month in range(1, 13):
        end = (date(2026, month % 12 + 1, 1) if month < 12 else date(2027, 1, 1)) - timedelta(1)
        write_week(months / f"AR_2026-{month:02d}.xlsx", invoices, end, None)
    out = tmp_path / "close"
    result = run_batch(BatchOptions(in_dir=months, out_dir=out, letters=True, jobs=2))
    assert all(row.status == "ok" for row in result.files), result.files
    last = out / "AR_2026-12.collections.xlsx"
    letters = letters_of(dump_sheets(last, ["Letters Log"])["Letters Log"])
    check_history(letters, interval=14)
    folders = {}
    for month in range(1, 13):
        output = out / f"AR_2026-{month:02d}.collections.xlsx"
        end = date.fromisoformat(
            str(dump_sheets(output, ["Letters Log"])["Letters Log"][-1][1])[:10]
        )
        check_totals(output, end)
        for letter in letters:
            if letter.day.month == month:
                folders[letter.reference] = out / "letters" / f"AR_2026-{month:02d}"
    check_letter_texts(letters, folders)
    assert any(letter.level == INDEX["legal"] for letter in letters)
    # Month after month the silent customer's first invoice climbs one level per letter.
    first = [level for letter in letters for key, level in letter.items if key == "SG-01"]
    assert first == list(range(len(LEVELS)))


def test_batch_over_three_months_never_repeats_the_letter_before_claim(tmp_path):
    # Regression: `batch --letters` over Aug, Sep and Oct wrote a "letter before claim ...
    # without further notice" every month, to a customer never written to before.
    invoices = [
        Invoice("Silent GmbH", "SG-1", date(2026, 1, 5), 2000.0),
        Invoice("Silent GmbH", "SG-2", date(2026, 6, 5), 900.0),
    ]
    months = tmp_path / "exports"
    months.mkdir()
    for month, end in ((8, date(2026, 8, 31)), (9, date(2026, 9, 30)), (10, date(2026, 10, 31))):
        write_week(months / f"AR_2026-{month:02d}.xlsx", invoices, end, None)
    out = tmp_path / "close"
    result = run_batch(BatchOptions(in_dir=months, out_dir=out, letters=True, jobs=1))
    assert all(row.status == "ok" for row in result.files), result.files
    log = dump_sheets(out / "AR_2026-10.collections.xlsx", ["Letters Log"])["Letters Log"]
    letters = sorted(letters_of(log), key=lambda letter: letter.day)
    # One level a month from the first, though SG-1 was at the legal stage by days in August.
    assert [LEVELS[letter.level].template for letter in letters] == [
        "reminder",
        "formal_demand",
        "final_demand",
    ]
    check_history(letters)
    check_letter_texts(
        letters,
        {
            letter.reference: out / "letters" / f"AR_2026-{letter.day.month:02d}"
            for letter in letters
        },
    )
    for letter in letters:
        check_totals(out / f"AR_2026-{letter.day.month:02d}.collections.xlsx", letter.day)


# ---- the same decision through the CLI, batch and the add-in ---------------------------


AS_OF = date(2026, 10, 31)


@st.composite
def ledgers(draw):
    """A few customers' items, and maybe an earlier letter about some of them."""
    rows, log = [], [None]
    for number in range(draw(st.integers(min_value=1, max_value=6))):
        customer = draw(st.sampled_from(["Alpha", "Beta", "Gamma", "Delta"]))
        days = draw(st.integers(min_value=-10, max_value=400))
        balance = draw(st.sampled_from([0.4, 25.0, 900.0, -300.0]))
        due = AS_OF - timedelta(days=days)
        rows.append(
            [
                customer,
                f"I-{number}",
                due - timedelta(days=30),
                due,
                "EUR",
                balance,
                0,
                balance,
                "Street 1",
                None,
                None,
                None,
                "en",
            ]
        )
    for row in rows:
        if draw(st.booleans()) and row[7] > 0:
            back = draw(st.integers(min_value=1, max_value=60))
            level = draw(st.sampled_from(LEVELS))
            status = draw(st.sampled_from(["", "sent", "cancelled"]))
            log.append(
                [
                    f"R-{len(log)}",
                    AS_OF - timedelta(days=back),
                    row[0],
                    "EUR",
                    RULES.stage(level.stage).label,
                    level.template,
                    "en",
                    row[1],
                    status,
                ]
            )
    return rows, log


def write_case(path: Path, rows, log) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    if len(log) > 1:
        kept = book.create_sheet("Letters Log")
        kept.append(
            [
                "Reference",
                "Date",
                "Customer",
                "Currency",
                "Stage",
                "Template",
                "Language",
                "Invoices",
                "Status",
            ]
        )
        for row in log[1:]:
            kept.append(row)
    book.save(path)
    return path


def new_letters(log: list[list]) -> list[tuple]:
    """What decides a letter, for each letter (.docx) of a dumped log; the earlier rows of
    the input's log have no file."""
    header = log[0]
    keep = (
        "Customer",
        "Currency",
        "Stage",
        "Template",
        "Invoices",
        "Amount",
        "Credits",
        "Previous",
    )
    rows = [row for row in log[1:] if str(row[header.index("File")] or "").endswith(".docx")]
    return sorted(tuple(str(row[header.index(name)] or "") for name in keep) for row in rows)


def row_actions(rows: list[list]) -> list[tuple]:
    """(customer, invoice, Next Action) of each row of a dumped receivables sheet."""
    header = rows[0]
    action = header.index("Next Action")
    return [(row[0], row[1], row[action]) for row in rows[1:] if row[0]]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=ledgers())
def test_property_the_decision_is_the_same_through_cli_batch_and_addin(
    case, tmp_path_factory, monkeypatch
):
    import sys

    import xlwings as xw

    import receivables.addin as addin_package
    from receivables.addin import handlers

    import standin

    rows, log = case
    base = tmp_path_factory.mktemp("same")
    # The command line.
    source = write_case(base / "AR_2026-10.xlsx", rows, log)
    cli_out = base / "cli.xlsx"
    pipeline.run(source, cli_out, AS_OF, letters_dir=base / "cli letters", email=False, sms=False)
    by_cli = new_letters(dump_sheets(cli_out, ["Letters Log"])["Letters Log"])
    cli_plan = dump_sheets(cli_out, ["Collection Plan"])["Collection Plan"]
    # Batch (the month in the file name gives the same as-of date).
    folder = base / "in"
    folder.mkdir()
    write_case(folder / "AR_2026-10.xlsx", rows, log)
    run_batch(BatchOptions(in_dir=folder, out_dir=base / "batch", letters=True, jobs=1))
    batch_log = dump_sheets(base / "batch" / "AR_2026-10.collections.xlsx", ["Letters Log"])
    by_batch = new_letters(batch_log["Letters Log"])
    batch_plan = dump_sheets(base / "batch" / "AR_2026-10.collections.xlsx", ["Collection Plan"])[
        "Collection Plan"
    ]
    # The add-in, on the workbook open in (the stand-in for) Excel.
    previous = xw.engines.active
    app = standin.activate()
    try:
        monkeypatch.setattr(handlers, "today", lambda: AS_OF)
        opened = base / "open.xlsx"
        write_case(opened, rows, log)
        book = app.books.open(str(opened))
        monkeypatch.setattr(
            sys, "argv", ["-c", f"--wb={book.name}", "--from_xl=1", "--app=Excel", "--hwnd=1"]
        )
        addin_package.dispatch("collections_letters")
        alerts = book.app.impl.alerts
        assert [a["mode"] for a in alerts] == ["info"], alerts
        values = book.sheets["Letters Log"].used_range.options(ndim=2).value
        from workbook_dump import cell_text

        addin_log = [[cell_text(v) for v in row] for row in values]
        by_addin = new_letters(addin_log)
        # Collection Plan after Demand Letters reads the log the letters were added to.
        addin_package.dispatch("collections_plan")
        values = book.sheets["Collection Plan"].used_range.options(ndim=2).value
        found = [[cell_text(v) for v in row] for row in values]
        columns = [found[0].index(name) for name in cli_plan[0]]
        addin_plan = [[row[c] for c in columns] for row in found]
        # Classify writes the rows' Next Action, which follows the same decisions.
        addin_package.dispatch("collections_classify")
        values = book.sheets["Ledger"].used_range.options(ndim=2).value
        addin_rows = row_actions([[cell_text(v) for v in row] for row in values])
    finally:
        standin.deactivate(previous)
    assert by_cli == by_batch == by_addin
    # And the plans, whose Next Action follows those letters, are the same too.
    assert cli_plan == batch_plan == addin_plan
    # The receivables rows' Next Action too, in the plan's words where a letter decides it.
    cli_rows = row_actions(dump_sheets(cli_out, ["Ledger"])["Ledger"])
    batch_book = base / "batch" / "AR_2026-10.collections.xlsx"
    batch_rows = row_actions(dump_sheets(batch_book, ["Ledger"])["Ledger"])
    assert cli_rows == batch_rows == addin_rows
    who, what = cli_plan[0].index("Customer"), cli_plan[0].index("Next Action")
    plan_action = {row[who]: row[what] for row in cli_plan[1:]}
    for customer, _invoice, action in cli_rows:
        text = str(action or "")
        if text.startswith("Send ") or " sent 20" in text:
            assert text == plan_action[customer]
    # Earlier letters in the input's log are the history all three read.
    assert all(entry[0] for entry in by_cli)
