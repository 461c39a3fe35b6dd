"""The headless processor: one workbook file in, one processed workbook out.

The imperative shell around :mod:`receivables.core`: finds rules files, opens the
workbook, picks the sheet, runs the pure pipeline, writes atomically, and reports.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import atomic_write, remove_stale_temps
from .core.issues import InputError, Issue, Location, Severity
from .core.rules import Rules, load_rules, parse_toml
from .core.settings_sheet import DEFAULT_SHEET, parse_settings_rows
from .core.xlref import column_letter
from .reader import OpenedWorkbook, open_workbook
from .writable import check_output_file, marked_read_only, os_errors_as_input_errors
from .xlsx.splice import write_package

# The analysis modules import pandas (~0.5 s): they are imported inside the functions, so
# that run() can start calamine parsing the ledger first and import them meanwhile.
if TYPE_CHECKING:
    from .core.process import Outcome

MODES = ("process", "classify", "plan")


@dataclass
class Report:
    """What one run did, as the ``--json`` object of design.md §7."""

    input: Path
    output: Path | None
    as_of: date
    sheet: str
    header_row: int
    outcome: Outcome
    letters: list[dict[str, Any]] = field(default_factory=list)
    extra_issues: list[Issue] = field(default_factory=list)

    @property
    def letter_count(self) -> int:
        """The letters written (the Letters Log also lists email and SMS messages)."""
        return sum(1 for row in self.letters if str(row.get("file") or "").endswith(".docx"))

    @property
    def issues(self) -> list[Issue]:
        """Every issue of the run."""
        return [*self.outcome.issues, *self.extra_issues]

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the output contract."""
        outstanding, overdue = self.outcome.totals()
        ledger = self.outcome.ledger
        return {
            "input": str(self.input),
            "output": str(self.output) if self.output else None,
            "as_of": self.as_of.isoformat(),
            "sheet": self.sheet,
            "header_row": self.header_row,
            "rows": len(self.outcome.classified),
            "skipped": [{"row": s.row, "reason": s.reason} for s in ledger.skipped],
            "issues": [
                {"where": str(i.where), "message": i.message, "severity": i.severity.value,
                 "location": i.where.as_dict()}
                for i in self.issues
            ],
            "stages": self.outcome.stages,
            "customers": int(self.outcome.customers["customer"].nunique()),
            "outstanding": {c: _money(v) for c, v in outstanding.items()},
            "overdue": {c: _money(v) for c, v in overdue.items()},
            "letters": self.letters,
        }


def _money(cents: int) -> float:
    # A 2-decimal float prints exactly as its decimal text in JSON.
    return round(cents / 100, 2)


def rules_for(input_path: Path | None, rules_file: Path | None,
              settings_layer: dict | None = None) -> tuple[Rules, list[Issue]]:
    """Effective rules: defaults < rules.toml beside the workbook < settings sheet < --rules."""
    layers: list[dict] = []
    sources: list[str] = []
    issues: list[Issue] = []
    beside = input_path.parent / "rules.toml" if input_path else None
    if beside is not None and beside.is_file():
        layer, problems = parse_toml(beside.read_text("utf-8"), str(beside))
        layers.append(layer)
        sources.append(str(beside))
        issues += problems
    if settings_layer:
        layers.append(settings_layer)
        sources.append("settings sheet")
    if rules_file is not None:
        if not rules_file.is_file():
            raise InputError(f"The rules file {rules_file} does not exist.")
        try:
            text = rules_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"The rules file {rules_file} cannot be read ({exc}).") from exc
        layer, problems = parse_toml(text, str(rules_file))
        if problems:
            raise InputError(f"The rules file {problems[0].where} is {problems[0].message}.")
        layers.append(layer)
        sources.append(str(rules_file))
    rules, problems = load_rules(*layers, sources=sources)
    return rules, issues + problems


def settings_layer(opened, rules: Rules) -> tuple[dict | None, list[Issue]]:
    """The layer written in the workbook's settings sheet, or None when it has none.

    ``opened`` is anything with ``sheets`` (:class:`SheetInfo`) and ``grid(name)``: the
    file reader here, the add-in's reader of the open workbook in Excel.
    """
    name = rules.labels.get("settings_sheet", DEFAULT_SHEET)
    for sheet in opened.sheets:
        if sheet.is_worksheet and sheet.name.casefold() == name.casefold():
            return parse_settings_rows(opened.grid(sheet.name).rows, sheet=sheet.name)
    return None, []


def workbook_rules(opened, input_path: Path | None,
                   rules_file: Path | None) -> tuple[Rules, list[Issue]]:
    """Effective rules of a workbook, its settings sheet included (design.md §6)."""
    rules, issues = rules_for(input_path, rules_file)
    # The sheet's name is itself a setting (labels.settings_sheet) of the lower layers.
    layer, problems = settings_layer(opened, rules)
    if layer is not None:
        rules, issues = rules_for(input_path, rules_file, settings_layer=layer)
    return rules, issues + problems


def require_items(outcome: Outcome, sheet: str, header_row: int, workbook: str) -> None:
    """Raise InputError when the receivables table has a header but no readable items."""
    if outcome.classified.empty:
        raise InputError(
            f"The sheet '{sheet}' of {workbook} has a receivables header in row "
            f"{header_row} but no readable items below it "
            f"({len(outcome.ledger.skipped)} rows skipped; see the issues with --json)."
        )


def default_output(input_path: Path, opened: OpenedWorkbook | None = None) -> Path:
    """``ledger.xlsx`` -> ``ledger.collections.xlsx`` (``.xlsm`` kept for macro workbooks)."""
    suffix = ".xlsm" if input_path.suffix.lower() in (".xlsm", ".xltm") else ".xlsx"
    if opened is not None and opened.has_macros:
        suffix = ".xlsm"
    return input_path.with_name(f"{input_path.stem}.collections{suffix}")


def preview_and_choose(opened: OpenedWorkbook, rules: Rules, sheet: str | None):
    """Pick the receivables sheet (or check ``sheet``), raising InputError when impossible."""
    from .core.ledger import missing_required
    from .core.process import choose_sheet, header_matcher

    matcher = header_matcher(rules)
    worksheets = [s for s in opened.sheets if s.is_worksheet]
    if sheet is not None:
        named = [s for s in worksheets if s.name.casefold() == sheet.casefold()]
        if not named:
            names = ", ".join(f"'{s.name}'" for s in worksheets) or "none"
            raise InputError(
                f"{opened.path.name} has no sheet named '{sheet}'. Its sheets are: {names}."
            )
        worksheets = named
    else:
        # Visible sheets first: a hidden copy of the ledger must not win a tie.
        worksheets = sorted(worksheets, key=lambda s: not s.visible)
    previews = [opened.grid(s.name, nrows=30) for s in worksheets[:200]]
    choice = choose_sheet(previews, rules, matcher)
    if choice.location is None:
        raise InputError(
            f"No sheet of {opened.path.name} looks like a receivables ledger: none has a header "
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
            f"The sheet '{choice.sheet}' of {opened.path.name} (header in row "
            f"{choice.location.header_row}) lacks required columns: {', '.join(missing)}. "
            f"Recognised: {found or 'nothing'}. Rename the headers or map them in the [headers] "
            "table of a rules file."
        )
    return choice, matcher


def _collector_paused(function):
    """Run ``function`` with Python's cyclic garbage collector paused, then resume it.

    A run allocates a grid (a list per row), frames and plan rows that live until it
    ends; the collector's full passes over them free nothing yet cost ~0.25 s per 100,000
    rows. Reference counting frees memory as usual meanwhile; the few cycles a run leaves
    are collected once the collector resumes.
    """

    @functools.wraps(function)
    def paused(*args, **kwargs):
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused


@_collector_paused
def run(
    input_path: Path,
    output_path: Path | None,
    as_of: date | None,
    *,
    rules_file: Path | None = None,
    sheet: str | None = None,
    password: str | None = None,
    mode: str = "process",
    in_place: bool = False,
    write: bool = True,
    letters_dir: Path | None = None,
    letter_stages: Sequence[str] | None = None,
    pdf: bool = False,
    in_place_lossy: bool = False,
    email: bool = True,
    sms: bool = True,
    history: Sequence[Path] = (),
) -> Report:
    """Process one workbook file; raise :class:`InputError` for input that cannot be used.

    ``as_of`` None: the report date of the sheet's title block ("As of October 31, 2026"),
    said in an issue, else today.

    With ``letters_dir``, the demand letters are written there first, with email drafts
    and SMS texts (unless ``email`` / ``sms`` is False), and the output workbook gets a
    ``Letters Log`` sheet, an ``SMS`` sheet and their issues in ``Exceptions``.
    The dunning history (:mod:`receivables.dunning_log`) is the workbook's own Letters
    Log, the workbooks or folders in ``history``, and the letters folder's log; the
    Letters Log written keeps all of it, followed by this run's letters.
    """
    if mode not in MODES:
        raise ValueError(mode)
    input_path = Path(input_path)
    opened = open_workbook(input_path, password=password)
    parsing_big_sheet = _prefetch_ledger(opened, sheet)
    from .core.outputs import letters_log_model
    from .core.process import analyse

    rules, rule_issues = workbook_rules(opened, input_path, rules_file)
    if parsing_big_sheet:
        _warm_up(rules, as_of or date.today())
    choice, matcher = preview_and_choose(opened, rules, sheet)
    as_of, as_of_issues = resolve_report_as_of(as_of, choice.location)
    rule_issues = [*rule_issues, *as_of_issues]
    description = getattr(opened, "description", "")
    if description:
        rule_issues.append(Issue(input_path.name, f"read as {description}", Severity.INFO))
    grid = opened.grid(choice.sheet)
    company = str(rules.section("company").get("name", ""))
    from .dunning_log import combined_rows, load_history, write_folder_log

    skip = [input_path] + ([output_path] if output_path else [])
    dunning = load_history(opened, rules, history, letters_dir, skip=skip)
    outcome = analyse(grid, choice.location, rules, as_of, matcher,
                      with_plan=mode != "classify", rule_issues=[*rule_issues, *dunning.issues],
                      company=company, history=dunning.letters)
    # The grid holds a Python object per cell (the largest thing in memory on a big
    # ledger); from here on only the outcome is needed.
    del grid
    require_items(outcome, choice.sheet, choice.location.header_row, input_path.name)
    letter_rows: list[dict[str, Any]] = []
    letter_issues: list[Issue] = []
    message_models: list = []
    models = list(outcome.models)
    output = None
    if write:
        # Every output is checked before any file is written (letters included).
        # In place, a symbolic link is followed: its target is updated, the link stays.
        output = (input_path.resolve() if in_place
                  else Path(output_path or default_output(input_path, opened)))
        check_output(input_path, output, opened, in_place, allow_lossy=in_place_lossy)
        remove_stale_temps(output.parent)
    if letters_dir is not None:
        from .letters import check_letters_dir
        from .messages import write_letters_and_messages

        check_letters_dir(Path(letters_dir))
        sent = write_letters_and_messages(
            outcome.classified, rules, as_of, Path(letters_dir), stages=letter_stages, pdf=pdf,
            email=email, sms=sms, sheet=choice.sheet, columns=choice.location.columns,
            history=dunning.letters)
        letter_rows = [record.row() for record in sent.records]
        letter_issues = list(sent.issues)
        message_models = list(sent.models(rules))
    log = combined_rows(dunning, letter_rows)
    if letters_dir is not None and (letter_rows or dunning.rows):
        write_folder_log(Path(letters_dir), log, rules)
    if mode != "classify" and (letters_dir is not None or log):
        # The history travels with the workbook: earlier rows as read, then new letters.
        # The Letters Log (and the SMS sheet) go before Exceptions, which stays the last.
        at = next((i for i, m in enumerate(models) if m.table_name == "Exceptions"), len(models))
        models[at:at] = [letters_log_model(log, rules), *message_models]
    name_issues: list[Issue] = []
    if write:
        stage_cols = None if mode == "plan" else outcome.stage_columns
        if mode == "classify":
            models = []
        named = name_models(opened, models, choice.sheet)
        name_issues = list(named.issues)
        models = apply_names(models, named, rules, [*outcome.issues, *letter_issues],
                             rebuild=bool(letter_issues))
        write_atomically(output, opened, stage_cols, models, named.replaceable)
    extra = []
    where = Location(file=input_path.name)
    if opened.decrypted:
        extra.append(Issue(where, "the workbook was password-protected; the output "
                           "is written without a password", Severity.INFO))
    if not opened.is_ooxml:
        extra.append(Issue(where, f"{opened.kind} input: the output holds the values "
                           "of every sheet; formatting, formulas and macros are not carried over",
                           Severity.INFO))
    return Report(input=input_path, output=output, as_of=as_of, sheet=choice.sheet,
                  header_row=choice.location.header_row, outcome=outcome,
                  letters=[_letter_json(row, Path(letters_dir)) for row in letter_rows],
                  extra_issues=[*letter_issues, *name_issues, *extra])


def resolve_report_as_of(as_of: date | None, location) -> tuple[date, list[Issue]]:
    """``as_of`` when given; else the report date found in the sheet's title, said in an
    issue; else today."""
    if as_of is not None:
        return as_of, []
    found = getattr(location, "report_date", None)
    if found is None:
        return date.today(), []
    return found, [Issue(location.report_date_cell or "", f"no --as-of given: aged as of "
                         f"{found.isoformat()}, the report date in the sheet's title",
                         Severity.INFO)]


def _prefetch_ledger(opened: OpenedWorkbook, sheet: str | None) -> bool:
    """Start parsing the sheet most likely to be the ledger: ``sheet``, else the first
    visible worksheet (the first one :func:`preview_and_choose` reads).

    True when that sheet has at least :data:`_WARM_UP_ROWS` rows: its parse then takes
    long enough to hide :func:`_warm_up`.
    """
    worksheets = [s for s in opened.sheets if s.is_worksheet]
    if sheet is not None:
        worksheets = [s for s in worksheets if s.name.casefold() == sheet.casefold()]
    worksheets.sort(key=lambda s: not s.visible)
    if not worksheets:
        return False
    extent = opened.extent(worksheets[0].name)
    if extent is None or extent[0] * extent[1] > _PREFETCH_MAX_CELLS:
        # On very large sheets the background parse costs more memory (measured +145 MB
        # at 500k x 15) than the time it saves is worth: parse them in turn.
        return False
    opened.prefetch(worksheets[0].name)
    return extent[0] >= _WARM_UP_ROWS


_WARM_UP_ROWS = 20_000
_PREFETCH_MAX_CELLS = 3_000_000
_WARM_UP_LEDGER = (
    ("Customer", "Invoice", "Invoice Date", "Due Date", "Currency", "Amount", "Paid", "Balance",
     "Owner", "Contact", "Email", "Region"),
    ("Acme", "I-1", datetime(2026, 1, 5), datetime(2026, 2, 4), "EUR", 120.5, 0.0, 120.5,
     "Ana", "Pat", "pat@example.com", "North"),
    ("Borde", "I-2", datetime(2026, 9, 1), datetime(2026, 12, 1), "USD", 80.0, 10.0, 70.0,
     "Ben", None, None, "South"),
)
_warmed_up = False


def _warm_up(rules: Rules, as_of: date) -> None:
    """Analyse a two-item ledger once per process, while calamine parses a big sheet.

    pandas and pyarrow set up much of their machinery on first use (kernels, groupby and
    datetime code: ~0.15 s); done here it overlaps the parse, which runs without the GIL,
    instead of delaying the real analysis. Best effort: nothing of it is kept, and a
    failure is left for the real analysis to meet and report.
    """
    global _warmed_up
    if _warmed_up:
        return
    _warmed_up = True
    from .core.grid import SheetGrid
    from .core.process import analyse, choose_sheet, header_matcher

    grid = SheetGrid(name="Ledger", rows=[list(row) for row in _WARM_UP_LEDGER], date1904=False)
    with contextlib.suppress(Exception):  # best effort, see above
        matcher = header_matcher(rules)
        location = choose_sheet([grid], rules, matcher).location
        if location is not None:
            analyse(grid, location, rules, as_of, matcher)


def _letter_json(row: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A Letters Log row for --json: money as numbers, dates as ISO text, full file paths."""
    from .core.letters import LOG_COLUMNS, LOG_MONEY

    out: dict[str, Any] = {}
    for name in LOG_COLUMNS:
        value = row[name]
        key = name.lower().replace("-", "_")
        if name in LOG_MONEY:
            value = _money(int(value))
        elif isinstance(value, date):
            value = value.isoformat()
        elif name in ("File", "PDF"):
            value = str(folder / value) if value else None
        out[key] = value
    return out


LOSSLESS_KINDS = ("ooxml",)


def check_output(input_path: Path, output: Path, opened: OpenedWorkbook, in_place: bool,
                 allow_lossy: bool = False) -> None:
    """Refuse outputs that would damage the input or produce a file Excel refuses.

    Runs before anything is written (letters included). With ``in_place`` the input
    itself is the output: it must be writable, and a workbook whose content is not an
    xlsx/xlsm package (.xls, .xlsb, .ods, even when named .xlsx) cannot be written back
    without losing its formulas and formatting, so it is refused unless ``allow_lossy``
    (``--in-place-values-only``) says so.
    """
    if in_place:
        _check_in_place(input_path, opened, allow_lossy)
    elif output.suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputError(f"The output {output.name} must be an .xlsx or .xlsm file.")
    if not in_place and output.exists() and output.resolve() == input_path.resolve():
        raise InputError(
            f"The output would overwrite the input {input_path.name}; choose another name with "
            "-o, or pass --in-place to update the input on purpose."
        )
    if opened.has_macros and output.suffix.lower() != ".xlsm":
        raise InputError(
            f"{input_path.name} contains macros; name the output .xlsm (Excel refuses macros in "
            ".xlsx files)."
        )
    if not output.parent.exists():
        raise InputError(f"The output folder {output.parent} does not exist.")
    check_output_file(output)


def _check_in_place(input_path: Path, opened: OpenedWorkbook, allow_lossy: bool) -> None:
    suffix = input_path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm"):
        raise InputError(
            f"--in-place cannot write {input_path.name} back: the tool writes .xlsx/.xlsm "
            f"only, and a {suffix} file holding xlsx content would not open as {suffix}. "
            f"Write a new workbook with -o {input_path.stem}.xlsx instead."
        )
    if opened.kind not in LOSSLESS_KINDS and not allow_lossy:
        raise InputError(
            f"{input_path.name} is named {suffix} but holds a {opened.kind} workbook; "
            "--in-place would replace it with the values of its sheets only (formulas, "
            "formatting, comments, validations, merges and charts lost). Nothing was "
            "written. Write a new workbook with -o, or pass --in-place-values-only to "
            "replace it on purpose."
        )
    if marked_read_only(input_path.resolve()):
        raise InputError(
            f"{input_path.name} is read-only; --in-place does not write over it. Make it "
            "writable, or write a new workbook with -o."
        )


def name_models(opened, models: Sequence, ledger_sheet: str | None):
    """Name the output sheets so that none replaces a sheet of the user's
    (:func:`receivables.core.sheetnames.name_outputs`).

    ``opened`` is anything with ``sheets`` and ``grid(name, nrows)``: the file reader, or
    the add-in's reader of the workbook open in Excel. Only sheets whose name clashes
    have their first row read.
    """
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
        return rows[0] if rows and isinstance(rows[0], list | tuple) else None

    return name_outputs(models, [sheet.name for sheet in opened.sheets], header_of,
                        ledger=ledger_sheet)


def apply_names(models: Sequence, named, rules: Rules, issues: Sequence[Issue],
                rebuild: bool = False) -> list:
    """``models`` (the ones :func:`name_models` named, or their recomputed twins) under
    the names chosen; the Exceptions sheet gets the naming warnings after ``issues``
    (rebuilt also when ``rebuild``, e.g. for the letters' issues)."""
    from .core.outputs import exceptions_model

    out = []
    for model, chosen in zip(models, named.models, strict=True):
        if model.table_name == "Exceptions" and (named.issues or rebuild):
            model = exceptions_model([*issues, *named.issues], rules)
        out.append(model if model.name == chosen.name else replace(model, name=chosen.name))
    return out


def write_atomically(output: Path, opened: OpenedWorkbook, stage_cols, models,
                     replaceable: frozenset[str] | None = None) -> None:
    """Write the output workbook to a temporary file beside it, then rename it into place.

    An existing file keeps its permissions (a private 0600 ledger stays private); an
    OSError (a full disk, say) becomes an InputError naming the file.
    """
    with os_errors_as_input_errors(output, "write the output workbook"), \
            atomic_write(output, keep_mode=True) as sink:
        if opened.is_ooxml:
            write_package(sink, source=opened.data, date1904=opened.date1904,
                          stage_columns=stage_cols, models=models, replaceable=replaceable)
        else:
            worksheets = [s for s in opened.sheets if s.is_worksheet]
            grids = [opened.grid(s.name) for s in worksheets]
            write_package(sink, source=None, date1904=opened.date1904,
                          stage_columns=stage_cols, models=models, grids=grids,
                          replaceable=replaceable,
                          hidden=frozenset(s.name for s in worksheets if not s.visible))
