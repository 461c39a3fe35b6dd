"""What each ribbon button does to the workbook Excel has open (design.md §10).

Every handler takes the calling ``xw.Book``, reads the workbook through xlwings, runs the
same pure core as ``receivables process`` and writes through xlwings only
(:mod:`receivables.addin.xlwriter`); never openpyxl on a workbook Excel holds open.
A handler returns the sentence the clerk sees when it is done; problems in the input
raise :class:`InputError`, which the dispatcher shows as they are. Each handler does
everything that can fail on the input before its first change to the workbook, and makes
that first change one that Excel refuses as a whole on a protected sheet or workbook, so
"nothing changed" holds for every message a clerk can get.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import xlwings as xw

from receivables import __version__, orchestrate
from receivables.core.grid import SheetGrid
from receivables.core.headers import HeaderMatcher
from receivables.core.issues import InputError, Issue, Severity
from receivables.core.plan import money_text
from receivables.core.process import Outcome, SheetChoice
from receivables.core.rules import Rules
from receivables.core.settings_sheet import settings_model
from receivables.orchestrate import (
    LettersRun,
    Prepared,
    Request,
    Sheet,
    apply_names,
    name_models,
)

from . import xlwriter
from .buttons import BUTTONS

if TYPE_CHECKING:  # annotations only: messages are imported when a click needs them
    from receivables.core.messages import EmailSettings
    from receivables.core.sheets import SheetModel

TITLE = "Collections"
LOG_NAME = "collections.log"


# ---- reading the open workbook ---------------------------------------------------------------


@dataclass
class OpenWorkbook:
    """The workbook Excel has open, read through xlwings: an
    :class:`orchestrate.WorkbookSource`, so the add-in runs the same orchestration as the
    command line and batch."""

    book: xw.Book
    name: str
    location: Path | None
    date1904: bool = False
    sheets: tuple[Sheet, ...] = field(default=())

    @classmethod
    def of(cls, book: xw.Book) -> OpenWorkbook:
        """Wrap ``book`` (its sheets are listed once, in tab order)."""
        sheets = tuple(Sheet(name=s.name, visible=bool(s.visible)) for s in book.sheets)
        return cls(book=book, name=book.name, location=book_path(book), sheets=sheets)

    def grid(self, sheet: str, nrows: int | None = None) -> SheetGrid:
        """The cells of ``sheet`` from A1 to the end of its used range (or ``nrows`` rows)."""
        handle = self.book.sheets[sheet]
        last = handle.used_range.last_cell
        rows = last.row if nrows is None else min(last.row, nrows)
        values = handle.range((1, 1), (rows, last.column)).options(ndim=2).value
        return SheetGrid(name=handle.name, rows=values, date1904=self.date1904)


def book_path(book: xw.Book) -> Path | None:
    """The workbook's file, or None when it was never saved (or lives only online)."""
    fullname = book.fullname
    if "://" in fullname or not os.path.isabs(fullname):
        return None
    return Path(fullname)


def today() -> date:
    """Today's date: the only place the add-in reads the clock."""
    return date.today()


@dataclass
class Session:
    """One click: the workbook, its effective rules and the as-of date."""

    book: xw.Book
    workbook: OpenWorkbook
    prepared: Prepared

    @property
    def path(self) -> Path | None:
        """The saved workbook file (None when never saved)."""
        return self.workbook.location

    @property
    def rules(self) -> Rules:
        """The effective rules."""
        return self.prepared.rules

    @property
    def rule_issues(self) -> list[Issue]:
        """What the settings layers reported."""
        return list(self.prepared.rule_issues)

    @property
    def as_of(self) -> date:
        """The as-of date (see :mod:`receivables.core.as_of`)."""
        return self.prepared.as_of.date

    @property
    def app(self) -> xw.App:
        """The Excel running the workbook."""
        return self.book.app

    def status(self, text: str) -> None:
        """Show progress on Excel's status bar."""
        show_status(self.app, text)


def show_status(app: xw.App, text: str) -> None:
    """Show progress on Excel's status bar."""
    app.status_bar = f"{TITLE}: {text}"


def open_session(book: xw.Book) -> Session:
    """Read the settings (defaults, rules.toml beside the workbook, its settings sheet) and
    resolve the as-of date, as every shell does (:func:`orchestrate.prepare`)."""
    show_status(book.app, "reading the settings")
    workbook = OpenWorkbook.of(book)
    prepared = orchestrate.prepare(workbook, Request(today=today()))
    return Session(book=book, workbook=workbook, prepared=prepared)


@dataclass(frozen=True)
class Analysis:
    """The receivables sheet chosen and the core's outcome for it."""

    choice: SheetChoice
    grid: SheetGrid
    outcome: Outcome
    matcher: HeaderMatcher
    with_plan: bool

    @property
    def sheet(self) -> str:
        """Name of the receivables sheet."""
        return self.choice.sheet


def analyse_book(session: Session, *, with_plan: bool) -> Analysis:
    """Pick the receivables sheet, read it and run the core (raises InputError as the CLI)."""
    session.status("looking for the receivables sheet")
    choice, matcher = orchestrate.choose(session.prepared, None)
    session.prepared = orchestrate.with_sheet_date(session.prepared, choice)
    session.status(f"reading '{choice.sheet}'")
    grid = session.workbook.grid(choice.sheet)
    return _run_core(session, choice, matcher, grid, with_plan)


def _run_core(
    session: Session, choice: SheetChoice, matcher: HeaderMatcher, grid: SheetGrid, with_plan: bool
) -> Analysis:
    session.status(f"classifying '{choice.sheet}' as of {session.as_of.isoformat()}")
    outcome = orchestrate.analyse(session.prepared, choice, matcher, grid, with_plan=with_plan)
    return Analysis(choice=choice, grid=grid, outcome=outcome, matcher=matcher, with_plan=with_plan)


def settle_date_system(session: Session, analysis: Analysis, date1904: bool) -> Analysis:
    """Re-run the core when the workbook turned out to count dates from 1904.

    Dates in date-formatted cells arrive as dates either way; only serial numbers in
    other cells depend on the date system, which xlwings reports only through a probe.
    """
    if date1904 == analysis.grid.date1904:
        return analysis
    session.workbook.date1904 = date1904
    return _run_core(
        session,
        analysis.choice,
        analysis.matcher,
        replace(analysis.grid, date1904=date1904),
        analysis.with_plan,
    )


@contextmanager
def first_change(what: str) -> Iterator[None]:
    """The first change to the workbook: if Excel refuses it, nothing has changed yet."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:  # COM, AppleScript and the stand-in raise unrelated types
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(
            f"Excel refused to change {what} ({reason}). If the sheet or the workbook "
            "structure is protected, unprotect it (Review > Unprotect Sheet, or Review > "
            "Protect Workbook) and click the button again. Nothing was changed."
        ) from exc


def probe_with_scratch_sheet(book: xw.Book) -> bool:
    """The date system, probed on a sheet added and deleted again (the workbook is as it
    was, its active sheet too)."""
    active = book.sheets.active
    with first_change("the workbook's sheets"):
        scratch = book.sheets.add(after=book.sheets[len(book.sheets) - 1])
    try:
        return xlwriter.probe_date1904(scratch.range((1, 1)))
    finally:
        scratch.delete()
        active.activate()


# ---- the buttons -----------------------------------------------------------------------------


def classify(book: xw.Book) -> str:
    """Classify: the four stage columns right of the receivables table, rows coloured."""
    session = open_session(book)
    analysis = analyse_book(session, with_plan=False)
    columns = analysis.outcome.stage_columns
    sheet = book.sheets[analysis.sheet]
    session.status(f"writing the stage columns of '{analysis.sheet}'")
    probe = sheet.range((columns.header_row, columns.start_column))
    with first_change(f"the sheet '{analysis.sheet}'"):
        date1904 = xlwriter.probe_date1904(probe)
    analysis = settle_date_system(session, analysis, date1904)
    columns = analysis.outcome.stage_columns
    xlwriter.write_stage_header(sheet, columns)
    xlwriter.write_stage_columns(sheet, columns)
    sheet.activate()
    return _classified_summary(session, analysis)


def plan(book: xw.Book) -> str:
    """Collection Plan: the plan, aging summary, action calendar and exceptions sheets."""
    session = open_session(book)
    analysis = analyse_book(session, with_plan=True)
    # Named before the first change: an output never replaces a sheet of the clerk's.
    named = name_models(session.workbook, analysis.outcome.models, analysis.sheet)
    models = apply_names(analysis.outcome.models, named, session.rules, analysis.outcome.issues)
    session.status(f"writing '{models[0].name}'")
    with first_change("the workbook's sheets"):
        first = xlwriter.replace_sheet(book, models[0].name)
    analysis = settle_date_system(session, analysis, xlwriter.probe_date1904(first.range((1, 1))))
    models = apply_names(analysis.outcome.models, named, session.rules, analysis.outcome.issues)
    xlwriter.write_model(book, models[0], sheet=first)
    for model in models[1:]:
        session.status(f"writing '{model.name}'")
        xlwriter.write_model(book, model)
    first.activate()
    return _plan_summary(session, analysis)


def letters_folder(path: Path, as_of: date) -> Path:
    """Where Demand Letters puts the letters of ``path`` on ``as_of``: beside the workbook."""
    return path.parent / f"{path.stem} letters" / as_of.isoformat()


def letters(book: xw.Book) -> str:
    """Demand Letters: one Word letter per customer at a letter stage, with the email
    drafts and SMS texts of ``receivables letters``, and the Letters Log (and SMS) sheets."""
    return _letters_and_messages(book, send=False)


def email(book: xw.Book) -> str:
    """Email: the letters, email drafts and texts of Demand Letters; the drafts are also
    sent over SMTP when the settings say so (``email.send_from_addin``)."""
    return _letters_and_messages(book, send=True)


def _letters_and_messages(book: xw.Book, *, send: bool) -> str:
    from receivables.core.messages import parse_message_settings

    session = open_session(book)
    if session.path is None:
        raise InputError(
            "Save the workbook first: the letters are written into a folder beside it. "
            "Nothing was changed."
        )
    settings, _sms, _problems = parse_message_settings(session.rules)
    sending = send and settings.send_from_addin
    if sending and not settings.host:
        raise InputError(
            "email.send_from_addin is true but email.host is not set: add the "
            "SMTP settings to the settings sheet (host, port, security, user, "
            "sender). Nothing was changed."
        )
    # With the plan: Exceptions then lists what ``process --letters`` lists (the plan's
    # issues and the naming of every output sheet included), though only the sheets of
    # the letters and Exceptions are written here.
    analysis = analyse_book(session, with_plan=True)
    session.status("checking the date system")
    analysis = settle_date_system(session, analysis, probe_with_scratch_sheet(book))
    folder = letters_folder(session.path, session.as_of)
    session.status(f"writing letters and messages into {folder}")
    written = orchestrate.run_letters(session.prepared, analysis.outcome, analysis.choice, folder)
    sent_text = ""
    if sending:
        written, sent_text = _send_drafts(
            session, settings, folder, written, analysis.outcome.classified
        )
    # The plan follows the letters just written, as the next Collection Plan click (which
    # reads this Letters Log) would decide.
    outcome = orchestrate.follow_letters(session.prepared, analysis.outcome, written)
    models = orchestrate.output_models(session.prepared, outcome, written)
    named = name_models(session.workbook, models, analysis.sheet)
    models = apply_names(models, named, session.rules, [*outcome.issues, *written.issues])
    plan_sheets = {m.table_name for m in outcome.models} - {"Exceptions"}
    # A Collection Plan and Action Calendar already in the workbook would say "Send
    # reminder" for the reminder just written: they are brought up to date; plan sheets
    # the workbook does not have are left to the Collection Plan button.
    following = {"CollectionPlan", "ActionCalendar"}
    log_name = _write_sheets(
        book,
        session,
        [m for m in models if m.table_name not in plan_sheets]
        + [
            m
            for m in models
            if m.table_name in following and m.name.casefold() in named.replaceable
        ],
    )
    text = _letters_text(session, settings, written, folder, log_name, send=send)
    text += sent_text
    problems = [i for i in [*written.problems, *named.issues] if i.severity != Severity.INFO]
    if problems:
        text += f" {len(problems)} issue(s), e.g. {problems[0]}."
    return text


def _send_drafts(
    session: Session, settings: EmailSettings, folder: Path, written: LettersRun, ledger
) -> tuple[LettersRun, str]:
    """Send the click's drafts over SMTP: (the letters written, with the statuses of what
    was sent, in this click's rows and in earlier rows of the log; the text to show).
    A draft (of an earlier click) whose customer is now under a dunning block, or that
    covers an item now in dispute, in the workbook's ``ledger``, is held, as by
    ``receivables send``."""
    from receivables.core.dunning import parse_dunning
    from receivables.core.holds import draft_holds, draft_owners
    from receivables.send import log_statuses, record_statuses, send_drafts, smtp_password

    session.status(f"sending the drafts through {settings.host}")
    dunning, _problems = parse_dunning(session.rules)  # reported by the analysis already
    holds = draft_holds(draft_owners(written.rows), dunning, today(), ledger)
    result = send_drafts(folder, settings, yes=True, password=smtp_password(settings), holds=holds)
    records = tuple(record_statuses(list(written.records), result))
    # Drafts of an earlier click sent now: their rows in the log say so too.
    statuses = log_statuses(result)
    earlier = replace(
        written.earlier,
        rows=[
            {**row, "Status": statuses[row.get("Message-ID")]}
            if row.get("Message-ID") in statuses
            else row
            for row in written.earlier.rows
        ],
    )
    text = (
        f" Sent {result.count('sent')} email(s) through {settings.host}"
        + (f"; {result.stopped}" if result.stopped else "")
        + "."
    )
    held = [o for o in result.outcomes if o.status == "held"]
    if held:
        text += f" {len(held)} held, e.g. {held[0].draft.to}: {held[0].reason}."
    problems_sending = [o for o in result.outcomes if o.status in ("failed", "unknown")]
    if problems_sending:
        text += (
            f" {len(problems_sending)} not sent, e.g. {problems_sending[0].draft.to}:"
            f" {problems_sending[0].reason}"
        )
    return replace(written, records=records, earlier=earlier), text


def _write_sheets(book: xw.Book, session: Session, models: list[SheetModel]) -> str:
    """Write ``models`` into the workbook, the first replacing its sheet and shown; return
    the first one's name (the Letters Log)."""
    first = None
    for model in models:
        session.status(f"writing '{model.name}'")
        if first is None:
            with first_change("the workbook's sheets"):
                first = xlwriter.replace_sheet(book, model.name)
            xlwriter.write_model(book, model, sheet=first)
            log_name = model.name
        else:
            xlwriter.write_model(book, model)
    first.activate()
    return log_name


def _letters_text(
    session: Session,
    settings: EmailSettings,
    written: LettersRun,
    folder: Path,
    log_name: str,
    *,
    send: bool,
) -> str:
    """What the click wrote, in words: letters, drafts and texts, or why nothing."""
    records = written.records
    letters_count = sum(1 for r in records if r.file.endswith(".docx"))
    drafts = len(written.sent.drafts)
    text = (
        f"{letters_count} letter(s) as of {session.as_of.isoformat()} written to "
        f"{folder}, listed on the sheet '{log_name}'."
    )
    if drafts or written.sent.sms:
        text += (
            f" {drafts} email draft(s) in the folder 'email' and {len(written.sent.sms)} "
            "SMS text(s) in 'sms'."
        )
    if not records:
        text = (
            f"No letter is due as of {session.as_of.isoformat()} (earlier letters, "
            "dunning intervals, credits and blocks considered), and no customer gets a "
            f"message: nothing written; the sheet '{log_name}' lists "
            f"{len(written.rows)} earlier letter(s)."
        )
    elif send and not settings.send_from_addin:
        text += (
            " Open the drafts in Outlook or Thunderbird to send them (or set "
            "email.send_from_addin to send from here)."
        )
    return text


def settings(book: xw.Book) -> str:
    """Settings: the effective settings, one editable row each, on the settings sheet."""
    session = open_session(book)
    model = settings_model(session.rules)
    named = name_models(session.workbook, [model], None)
    model = named.models[0]
    session.status(f"writing '{model.name}'")
    with first_change("the workbook's sheets"):
        sheet = xlwriter.replace_sheet(book, model.name)
    xlwriter.write_model(book, model, sheet=sheet)
    sheet.activate()
    text = (
        f"The settings in force are on the sheet '{model.name}'. Change a Value (text in "
        "quotes, numbers and true/false as they are) and the next click uses it."
    )
    dropped = [i for i in session.rule_issues if i.where.sheet == model.name]
    if dropped:
        text += (
            f" {len(dropped)} row(s) could not be read and now show the value in force, "
            f"e.g. {dropped[0]}."
        )
    return text


def help_(book: xw.Book) -> str:
    """Help: what each button does, where letters go, versions and the log file."""
    path = book_path(book)
    lines = [f"Receivables Collections {__version__} (xlwings {xw.__version__})", ""]
    lines += [f"{b.label}: {b.supertip}" for b in BUTTONS]
    lines.append("")
    if path is not None:
        lines.append(
            f"Letters go to: {path.parent / (path.stem + ' letters')}{os.sep}<date>{os.sep}<stage>."
        )
    else:
        lines.append("Letters go to a folder beside the workbook once it is saved.")
    lines.append(f"Problems are logged in: {log_path(book)}")
    lines.append(
        "The as-of date is today, unless the settings (this workbook's settings "
        "sheet or a rules.toml beside it) set general.as_of."
    )
    return "\n".join(lines)


# ---- summaries ---------------------------------------------------------------------------------


def _stage_text(session: Session, analysis: Analysis) -> str:
    counts = analysis.outcome.stages
    return ", ".join(f"{session.rules.stage(key).label} {n}" for key, n in counts.items() if n)


def _issue_text(analysis: Analysis, where: str) -> str:
    problems = [i for i in analysis.outcome.issues if i.severity != Severity.INFO]
    if not problems:
        return ""
    return f" {len(problems)} issue(s) need a look ({where}), e.g. {problems[0]}."


def _classified_summary(session: Session, analysis: Analysis) -> str:
    rows = len(analysis.outcome.classified)
    return (
        f"Classified {rows} item(s) on '{analysis.sheet}' as of "
        f"{session.as_of.isoformat()}: {_stage_text(session, analysis)}."
        + _issue_text(analysis, "Collection Plan lists them on the Exceptions sheet")
    )


def _plan_summary(session: Session, analysis: Analysis) -> str:
    outcome = analysis.outcome
    _outstanding, overdue = outcome.totals()
    money = ", ".join(money_text(cents, c) for c, cents in overdue.items()) or "nothing"
    names = ", ".join(f"'{m.name}'" for m in outcome.models)
    return (
        f"Collection plan as of {session.as_of.isoformat()}: {len(outcome.plan)} "
        f"customer line(s) to chase, overdue {money}. Written: {names}."
        + _issue_text(analysis, "see the Exceptions sheet")
    )


# ---- the log ---------------------------------------------------------------------------------


def log_path(book: xw.Book | None) -> Path:
    """``collections.log`` beside the workbook (the home folder for unsaved workbooks)."""
    path = book_path(book) if book is not None else None
    folder = path.parent if path is not None else Path.home()
    return folder / LOG_NAME
