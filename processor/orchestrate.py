"""One run on one workbook, the same for every shell: the CLI, batch and the Excel add-in.

Each shell only gets a workbook (a file it opened, or the workbook Excel has open), reads
the clock, and writes what comes back (a file with the splice writer, cells through
xlwings); the steps between are here, in one order:

1. **settings**: the packaged defaults, ``rules.toml`` beside the workbook, the workbook's
   *Collections Settings* sheet, ``--rules FILE``, checked by the schema
   (:mod:`.core.schema`);
2. **as-of date**: one rule (:mod:`.core.as_of`), with where the date came from;
3. **analysis**: the receivables sheet chosen, read and run through the pure core;
4. **letters** (when asked): written under the dunning decisions of the analysis (made
   once), their issues folded into *Exceptions* beside the *Letters Log*, and the plan's
   Next Action and the Action Calendar moved on to what follows those letters, as the
   next run reading that log would decide;
5. **output models**: the sheets to write.

Like beancount's ``scripts/check.py`` over its loader, the shells stay thin. This module
never imports the file reader or writer (calamine, the splice writer): the add-in loads
only what it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .core.as_of import AsOf, resolve_as_of
from .core.grid import SheetGrid
from .core.issues import InputError, Issue, Severity, new_problems
from .core.rules import Rules, decode_rules_text, load_settings, parse_toml
from .core.schema import BESIDE, Layer
from .core.settings_sheet import read_settings_sheet
from .core.xlref import column_letter

if TYPE_CHECKING:
    from .core.process import Outcome, SheetChoice
    from .core.sheets import SheetModel


# ---- the workbook, whoever opened it ---------------------------------------------------------


class SheetEntry(Protocol):
    """A sheet of a workbook, as a source lists it."""

    @property
    def name(self) -> str:
        """The sheet's name."""

    @property
    def visible(self) -> bool:
        """False for hidden sheets."""

    @property
    def is_worksheet(self) -> bool:
        """False for chart sheets and the like."""


class WorkbookSource(Protocol):
    """A workbook to read: a file the reader opened, or the workbook Excel has open."""

    @property
    def name(self) -> str:
        """The workbook's name, as messages show it (``AR_2026-10.xlsx``)."""

    @property
    def location(self) -> Path | None:
        """The saved file (its folder holds ``rules.toml``), None when never saved."""

    @property
    def sheets(self) -> Sequence[SheetEntry]:
        """Every sheet, in tab order."""

    def grid(self, sheet: str, nrows: int | None = None) -> SheetGrid:
        """The cells of ``sheet`` (its first ``nrows`` rows)."""


@dataclass(frozen=True)
class Sheet:
    """A :class:`SheetEntry` for sources that list sheets themselves (the add-in)."""

    name: str
    visible: bool = True
    is_worksheet: bool = True


# ---- 1. settings -------------------------------------------------------------------------------


def read_rules_file(path: Path, name: str) -> tuple[Layer | None, list[Issue]]:
    """A TOML rules file as a settings layer, in whatever encoding Notepad saved it.

    A file that is not TOML is an error issue (its layer is left out); a file read as
    the Windows "ANSI" code page gets a note, since that encoding is a guess.
    """
    text, encoding = decode_rules_text(path.read_bytes())
    values, problems = parse_toml(text, name)
    if problems:
        return None, problems
    notes = []
    if encoding in ("cp1252", "latin-1"):
        notes.append(
            Issue(
                name,
                'read as Windows-1252 (Notepad\'s "ANSI"): it is not '
                "UTF-8; save it as UTF-8 to be sure every character is read as "
                "written",
                Severity.INFO,
            )
        )
    return Layer(name, values), notes


def rules_file_layer(rules_file: Path) -> Layer:
    """The ``--rules FILE`` layer; a file that cannot be used stops the run (InputError)."""
    if not rules_file.is_file():
        raise InputError(f"The rules file {rules_file} does not exist.")
    name = f"--rules {rules_file}"
    try:
        layer, problems = read_rules_file(rules_file, name)
    except OSError as exc:
        raise InputError(
            f"The rules file {rules_file} cannot be read ({exc.strerror or exc})."
        ) from exc
    if layer is None:
        raise InputError(f"The rules file {rules_file} is {problems[0].message}.")
    return layer


def file_layers(
    folder: Path | None, rules_file: Path | None, sheet_layer: Layer | None = None
) -> tuple[list[Layer], list[Issue]]:
    """The layers over the packaged defaults, lowest first: ``rules.toml`` in ``folder``,
    ``sheet_layer`` (the settings sheet), ``--rules FILE``."""
    layers: list[Layer] = []
    issues: list[Issue] = []
    beside = folder / "rules.toml" if folder is not None else None
    if beside is not None and beside.is_file():
        try:
            layer, problems = read_rules_file(beside, BESIDE)
        except OSError as exc:
            layer, problems = (
                None,
                [
                    Issue(
                        BESIDE,
                        f"{beside} cannot be read ({exc.strerror or exc}); it is ignored",
                        Severity.ERROR,
                    )
                ],
            )
        issues += problems
        if layer is not None:
            layers.append(layer)
    if sheet_layer is not None:
        layers.append(sheet_layer)
    if rules_file is not None:
        layers.append(rules_file_layer(Path(rules_file)))
    return layers, issues


def settings_sheet_layer(source: WorkbookSource, rules: Rules) -> tuple[Layer | None, list[Issue]]:
    """The layer written in the workbook's settings sheet, or None when it has none."""
    name = rules.labels["settings_sheet"]
    for sheet in source.sheets:
        if sheet.is_worksheet and sheet.name.casefold() == name.casefold():
            return read_settings_sheet(source.grid(sheet.name).rows, sheet=sheet.name)
    return None, []


def workbook_rules(source: WorkbookSource, rules_file: Path | None) -> tuple[Rules, list[Issue]]:
    """The effective rules of a workbook, its settings sheet included (design.md §6)."""
    folder = source.location.parent if source.location is not None else None
    layers, issues = file_layers(folder, rules_file)
    rules, problems = load_settings(layers)
    # The sheet's name is itself a setting (labels.settings_sheet) of the lower layers.
    sheet_layer, sheet_issues = settings_sheet_layer(source, rules)
    if sheet_layer is None:
        return rules, [*issues, *problems]
    layers, issues = file_layers(folder, rules_file, sheet_layer)
    rules, problems = load_settings(layers)
    return rules, [*issues, *sheet_issues, *problems]


# ---- 2. the run's request and its settings -------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a shell asks for. ``today`` is the shell's clock; ``as_of`` an explicit date;
    ``name_date``/``name_problem`` what the file name says (batch)."""

    today: date
    as_of: date | None = None
    rules_file: Path | None = None
    sheet: str | None = None
    with_plan: bool = True
    name_date: date | None = None
    name_problem: str = ""
    notes: tuple[Issue, ...] = ()  # the shell's own notes for Exceptions ("read as CSV")
    history: tuple[Path, ...] = ()  # earlier Letters Logs to read as dunning history
    skip_history: tuple[Path, ...] = ()  # files never read as history (input, output)


@dataclass(frozen=True)
class Prepared:
    """A workbook with its effective rules and as-of date, ready to analyse."""

    source: WorkbookSource
    rules: Rules
    rule_issues: tuple[Issue, ...]
    as_of: AsOf
    request: Request
    history: Any = None  # dunning_log.DunningHistory: the letters sent before


def prepare(source: WorkbookSource, request: Request, letters_dir: Path | None = None) -> Prepared:
    """Layer the settings, resolve the as-of date and read the dunning history (the
    workbook's own Letters Log, ``request.history``, ``letters_dir``'s log); raises
    InputError on bad input.

    The date may still change to the report date of the sheet chosen (see
    :func:`with_sheet_date`)."""
    from .dunning_log import load_history

    rules, issues = workbook_rules(source, request.rules_file)
    as_of = resolve_as_of(
        request.as_of,
        rules,
        request.today,
        name_date=request.name_date,
        name_problem=request.name_problem,
    )
    history = load_history(source, rules, request.history, letters_dir, skip=request.skip_history)
    return Prepared(
        source, rules, (*issues, *request.notes, *history.issues), as_of, request, history
    )


def with_sheet_date(prepared: Prepared, choice: SheetChoice) -> Prepared:
    """``prepared`` with the as-of date resolved again, now knowing the report date in the
    chosen sheet's title block (``As of October 31, 2026``), said in an issue when used."""
    request = prepared.request
    location = choice.location
    sheet_date = getattr(location, "report_date", None)
    if sheet_date is None:
        return prepared
    where = getattr(location, "report_date_cell", None) or ""
    as_of = resolve_as_of(
        request.as_of,
        prepared.rules,
        request.today,
        name_date=request.name_date,
        name_problem=request.name_problem,
        sheet_date=sheet_date,
        sheet_where=str(where),
    )
    if as_of == prepared.as_of:
        return prepared
    note = Issue(
        where,
        f"no --as-of given: aged as of {as_of.date.isoformat()}, the report "
        "date in the sheet's title",
        Severity.INFO,
    )
    return replace(prepared, as_of=as_of, rule_issues=(*prepared.rule_issues, note))


# ---- 3. analysis -----------------------------------------------------------------------------


def choose(prepared: Prepared, sheet: str | None) -> tuple[SheetChoice, Any]:
    """Pick the receivables sheet (or check ``sheet``), raising InputError when impossible."""
    from .core.ledger import missing_required
    from .core.process import choose_sheet, header_matcher

    source, rules = prepared.source, prepared.rules
    matcher = header_matcher(rules)
    worksheets = [s for s in source.sheets if s.is_worksheet]
    if sheet is not None:
        named = [s for s in worksheets if s.name.casefold() == sheet.casefold()]
        if not named:
            names = ", ".join(f"'{s.name}'" for s in worksheets) or "none"
            raise InputError(
                f"{source.name} has no sheet named '{sheet}'. Its sheets are: {names}."
            )
        worksheets = named
    else:
        # Visible sheets first: a hidden copy of the ledger must not win a tie.
        worksheets = sorted(worksheets, key=lambda s: not s.visible)
    previews = [source.grid(s.name, nrows=30) for s in worksheets[:200]]
    choice = choose_sheet(previews, rules, matcher)
    if choice.location is None:
        raise InputError(
            f"No sheet of {source.name} looks like a receivables ledger: none has a header "
            "row (within its first 30 rows) naming a customer, an amount or balance, and a due "
            "or invoice date. Name the sheet with --sheet, or add your header names to the "
            "[headers] table of a rules file (see README)."
        )
    missing = missing_required(choice.location.columns)
    if missing:
        found = ", ".join(
            f"{column_letter(c)} '{choice.location.headers[c]}' = {f}"
            for f, c in sorted(choice.location.columns.items(), key=lambda x: x[1])
        )
        raise InputError(
            f"The sheet '{choice.sheet}' of {source.name} (header in row "
            f"{choice.location.header_row}) lacks required columns: {', '.join(missing)}. "
            f"Recognised: {found or 'nothing'}. Rename the headers or map them in the [headers] "
            "table of a rules file."
        )
    return choice, matcher


def require_items(outcome: Outcome, sheet: str, header_row: int, workbook: str) -> None:
    """Raise InputError when the receivables table has a header but no readable items."""
    if outcome.classified.empty:
        raise InputError(
            f"The sheet '{sheet}' of {workbook} has a receivables header in row "
            f"{header_row} but no readable items below it "
            f"({len(outcome.ledger.skipped)} rows skipped; see the issues with --json)."
        )


def analyse(
    prepared: Prepared, choice: SheetChoice, matcher: Any, grid: SheetGrid, *, with_plan: bool
) -> Outcome:
    """Run the pure core on the chosen sheet's ``grid`` (InputError when it has no items)."""
    from .core.ledger import build_ledger
    from .core.process import analyse_ledger

    rules = prepared.rules
    ledger = build_ledger(grid, rules, choice.location, matcher)
    # The grid (a 500k-row one is ~0.5 GB) goes before the analysis when the caller
    # passed it on without keeping it (the file shell does).
    del grid
    outcome = analyse_ledger(
        ledger,
        rules,
        prepared.as_of.date,
        with_plan=with_plan,
        rule_issues=(*prepared.rule_issues, *choice.tie_issues()),
        company=_company(rules),
        history=_earlier(prepared).letters,
    )
    require_items(outcome, choice.sheet, choice.location.header_row, prepared.source.name)
    return outcome


# ---- 4. letters and 5. output models ---------------------------------------------------------


def _earlier(prepared: Prepared):
    from .dunning_log import DunningHistory

    return prepared.history if prepared.history is not None else DunningHistory()


@dataclass(frozen=True)
class LettersRun:
    """The letters, email drafts and SMS texts written: this run's Letters Log records,
    the earlier letters (dunning history), the other sheets they need (``SMS``), and
    their issues."""

    folder: Path
    sent: Any  # messages.SentOut
    records: tuple[Any, ...]  # this run's LetterRecord values
    earlier: Any  # dunning_log.DunningHistory
    # Problems of the letters that the analysis reported already (listed once, there).
    repeated: tuple[Issue, ...] = ()

    @property
    def new_rows(self) -> tuple[dict[str, Any], ...]:
        """This run's Letters Log rows (money in cents)."""
        return tuple(record.row() for record in self.records)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The Letters Log to write: the earlier rows as read, then this run's letters."""
        from .dunning_log import combined_rows

        return combined_rows(self.earlier, self.new_rows)

    @property
    def issues(self) -> tuple[Issue, ...]:
        """What writing them reported."""
        return tuple(self.sent.issues)

    @property
    def problems(self) -> tuple[Issue, ...]:
        """What writing them reported, the analysis' reports of the same problems included
        (for a summary of the letters alone, such as the add-in's message)."""
        return (*self.repeated, *self.sent.issues)


def run_letters(
    prepared: Prepared,
    outcome: Outcome,
    choice: SheetChoice,
    folder: Path,
    *,
    stages: Sequence[str] | None = None,
    pdf: bool = False,
    email: bool = True,
    sms: bool = True,
) -> LettersRun:
    """Write the demand letters of ``outcome`` into ``folder``, with their email drafts and
    SMS texts (unless ``email`` / ``sms`` is False); InputError, before any file, when the
    folder cannot take them."""
    from .letters import check_letters_dir
    from .messages import write_letters_and_messages

    check_letters_dir(Path(folder))
    earlier = _earlier(prepared)
    sent = write_letters_and_messages(
        outcome.classified,
        prepared.rules,
        prepared.as_of.date,
        Path(folder),
        stages=stages,
        pdf=pdf,
        email=email,
        sms=sms,
        sheet=choice.sheet,
        columns=choice.location.columns,
        decisions=outcome.decisions,
        log_rows=earlier.rows,
    )
    # A problem the analysis reported already (a customer a letter is due for who cannot
    # be written to) is one line in Exceptions, at the analysis' cell.
    kept = new_problems(sent.issues, outcome.issues)
    subjects = {issue.subject for issue in sent.issues if issue not in kept and issue.subject}
    repeated = tuple(issue for issue in outcome.issues if issue.subject in subjects)
    sent = replace(sent, issues=kept)
    return LettersRun(Path(folder), sent, tuple(sent.records), earlier, repeated)


def follow_letters(prepared: Prepared, outcome: Outcome, letters: LettersRun) -> Outcome:
    """``outcome`` with the plan and Action Calendar following this run's letters, read
    back from their Letters Log rows as the next run would read them (the dunning was
    decided once, before the letters: :func:`receivables.core.process.follow_letters`)."""
    from .core.dunning import history_from_rows
    from .core.process import follow_letters as follow

    rules = prepared.rules
    written, _problems = history_from_rows(letters.new_rows, rules)
    return follow(outcome, written, rules, prepared.as_of.date, _company(rules))


def _company(rules: Rules) -> str:
    return str(rules.section("company").get("name", ""))


def write_folder_log(letters: LettersRun, rules: Rules) -> None:
    """The letters folder's own Letters Log (its dunning history), when there is any."""
    from .dunning_log import write_folder_log as write

    rows = letters.rows
    if rows:
        write(letters.folder, rows, rules)


def output_models(
    prepared: Prepared, outcome: Outcome, letters: LettersRun | None = None
) -> list[SheetModel]:
    """The sheets to write: the outcome's, then (with a plan) the *Letters Log* with the
    earlier letters and this run's, and *SMS*, before an *Exceptions* sheet that lists
    the letters' issues too."""
    from .core.outputs import exceptions_model, letters_log_model

    models = list(outcome.models)
    rules = prepared.rules
    as_of = prepared.as_of.date  # the sheets' printed footers name it
    earlier = _earlier(prepared)
    if letters is None and not (prepared.request.with_plan and earlier.rows):
        return models
    models = [m for m in models if m.table_name != "Exceptions"]
    if letters is None:
        # The history travels with the workbook, letters or not.
        from .dunning_log import combined_rows

        return [
            *models,
            letters_log_model(combined_rows(earlier, []), rules, as_of),
            exceptions_model(outcome.issues, rules, as_of),
        ]
    models += [
        letters_log_model(letters.rows, rules, as_of),
        *letters.sent.models(rules),
        exceptions_model([*outcome.issues, *letters.issues], rules, as_of),
    ]
    return models


# ---- naming the output sheets -----------------------------------------------------------------


def name_models(opened: WorkbookSource, models: Sequence[SheetModel], ledger_sheet: str | None):
    """Name the output sheets so that none replaces a sheet of the user's
    (:func:`receivables.core.sheetnames.name_outputs`).

    ``opened`` is anything with ``sheets`` and ``grid(name, nrows)``: the file reader, or
    the add-in's reader of the workbook open in Excel. Only sheets whose name clashes
    have their first row read.
    """
    from .core.letters import LOG_COLUMNS
    from .core.letters_log import is_letters_log
    from .core.sheetnames import name_outputs

    kinds = {sheet.name: sheet for sheet in opened.sheets}

    def header_of(name: str):
        sheet = kinds.get(name)
        if sheet is None or not sheet.is_worksheet:
            return None
        try:
            rows = opened.grid(name, nrows=1).rows
        except InputError:
            return None
        header = rows[0] if rows and isinstance(rows[0], list | tuple) else None
        if header is not None and is_letters_log(header):
            # An earlier Letters Log, of any version: its rows are read as the dunning
            # history and written back, so the sheet is ours to replace.
            return list(LOG_COLUMNS)
        return header

    return name_outputs(
        models, [sheet.name for sheet in opened.sheets], header_of, ledger=ledger_sheet
    )


def apply_names(
    models: Sequence[SheetModel],
    named,
    rules: Rules,
    issues: Sequence[Issue],
    rebuild: bool = False,
) -> list:
    """``models`` (the ones :func:`name_models` named, or their recomputed twins) under
    the names chosen; the Exceptions sheet gets the naming warnings after ``issues``
    (rebuilt also when ``rebuild``, e.g. for the letters' issues)."""
    from .core.outputs import exceptions_model

    out = []
    for model, chosen in zip(models, named.models, strict=True):
        if model.table_name == "Exceptions" and (named.issues or rebuild):
            model = exceptions_model([*issues, *named.issues], rules, model.page.as_of)
        out.append(model if model.name == chosen.name else replace(model, name=chosen.name))
    return out


# ---- the whole run ---------------------------------------------------------------------------


@dataclass
class Result:
    """Everything a shell writes or reports for one workbook."""

    prepared: Prepared
    choice: SheetChoice
    outcome: Outcome
    models: list[SheetModel]
    letters: LettersRun | None = None
    notes: list[Issue] = field(default_factory=list)

    @property
    def as_of(self) -> AsOf:
        """The as-of date and where it came from."""
        return self.prepared.as_of

    @property
    def rules(self) -> Rules:
        """The effective rules."""
        return self.prepared.rules

    @property
    def sheet(self) -> str:
        """The receivables sheet."""
        return self.choice.sheet

    @property
    def issues(self) -> list[Issue]:
        """Every issue of the run: the analysis', the letters', the shell's notes."""
        letters = list(self.letters.issues) if self.letters is not None else []
        return [*self.outcome.issues, *letters, *self.notes]


def run(
    source: WorkbookSource,
    request: Request,
    *,
    letters_dir: Path | None = None,
    letter_stages: Sequence[str] | None = None,
    pdf: bool = False,
    email: bool = True,
    sms: bool = True,
    on_prepared: Callable[[Prepared], None] | None = None,
) -> Result:
    """Settings, as-of date, analysis, letters and output models for ``source``.

    ``on_prepared`` runs once the settings and date are known, before the ledger is read
    (the file shell warms up pandas then, while the ledger parses in the background).
    """
    prepared = prepare(source, request, letters_dir)
    if on_prepared is not None:
        on_prepared(prepared)
    choice, matcher = choose(prepared, request.sheet)
    prepared = with_sheet_date(prepared, choice)
    outcome = analyse(
        prepared, choice, matcher, source.grid(choice.sheet), with_plan=request.with_plan
    )
    letters = None
    if letters_dir is not None:
        letters = run_letters(
            prepared,
            outcome,
            choice,
            letters_dir,
            stages=letter_stages,
            pdf=pdf,
            email=email,
            sms=sms,
        )
        write_folder_log(letters, prepared.rules)
        outcome = follow_letters(prepared, outcome, letters)
    return Result(prepared, choice, outcome, output_models(prepared, outcome, letters), letters)
