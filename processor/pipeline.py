"""The headless processor: one workbook file in, one processed workbook out.

The file shell around :mod:`receivables.orchestrate`: opens the workbook with the file
reader, hands it to the one orchestration the add-in and batch use too, writes the
output atomically with the splice writer, and reports.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import orchestrate
from .atomic import atomic_write, remove_stale_temps
from .core.issues import InputError, Issue, Location, Severity
from .core.rules import Rules, load_settings
from .core.schema import effective_rows
from .orchestrate import (  # noqa: F401 - their old home: importers keep working
    Prepared,
    Request,
    apply_names,
    name_models,
    require_items,
)
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
    as_of_source: str = "--as-of"
    rules: Rules | None = None

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
            "as_of_source": self.as_of_source,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "rows": len(self.outcome.classified),
            "skipped": [{"row": s.row, "reason": s.reason} for s in ledger.skipped],
            "issues": [
                {
                    "where": str(i.where),
                    "message": i.message,
                    "severity": i.severity.value,
                    "location": i.where.as_dict(),
                }
                for i in self.issues
            ],
            "stages": self.outcome.stages,
            "customers": int(self.outcome.customers["customer"].nunique()),
            "outstanding": {c: _money(v) for c, v in outstanding.items()},
            "overdue": {c: _money(v) for c, v in overdue.items()},
            "letters": self.letters,
            "settings": self.settings_json(),
        }

    def settings_json(self) -> dict[str, Any]:
        """Every effective setting: ``{"plan.capacity_per_day": {"value": 20, "from":
        "packaged defaults"}}``, dates as ISO text."""
        if self.rules is None or self.rules.settings is None:
            return {}
        return {
            key: {"value": _json_value(value), "from": origin}
            for key, value, origin in effective_rows(self.rules.settings)
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def _money(cents: int) -> float:
    # A 2-decimal float prints exactly as its decimal text in JSON.
    return round(cents / 100, 2)


@dataclass(frozen=True)
class FileSource:
    """A workbook file the reader opened, as an :class:`orchestrate.WorkbookSource`."""

    opened: OpenedWorkbook

    @property
    def name(self) -> str:
        """The file's name."""
        return self.opened.path.name

    @property
    def location(self) -> Path:
        """The file."""
        return self.opened.path

    @property
    def sheets(self):
        """Every sheet, in tab order."""
        return self.opened.sheets

    def grid(self, sheet: str, nrows: int | None = None):
        """The cells of ``sheet``."""
        return self.opened.grid(sheet, nrows=nrows)


def rules_for(input_path: Path | None, rules_file: Path | None) -> tuple[Rules, list[Issue]]:
    """Effective rules without a workbook: defaults < rules.toml beside ``input_path`` <
    --rules."""
    folder = input_path.parent if input_path is not None else None
    layers, issues = orchestrate.file_layers(folder, rules_file)
    rules, problems = load_settings(layers)
    return rules, issues + problems


def workbook_rules(
    opened: OpenedWorkbook, input_path: Path | None, rules_file: Path | None
) -> tuple[Rules, list[Issue]]:
    """Effective rules of a workbook file, its settings sheet included (design.md §6)."""
    return orchestrate.workbook_rules(FileSource(opened), rules_file)


def default_output(input_path: Path, opened: OpenedWorkbook | None = None) -> Path:
    """``ledger.xlsx`` -> ``ledger.collections.xlsx`` (``.xlsm`` kept for macro workbooks)."""
    suffix = ".xlsm" if input_path.suffix.lower() in (".xlsm", ".xltm") else ".xlsx"
    if opened is not None and opened.has_macros:
        suffix = ".xlsm"
    return input_path.with_name(f"{input_path.stem}.collections{suffix}")


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
    today: date | None = None,
    name_date: date | None = None,
    name_problem: str = "",
) -> Report:
    """Process one workbook file; raise :class:`InputError` for input that cannot be used.

    ``as_of`` is the explicit date (``--as-of``); None resolves it by the one rule of
    :mod:`.core.as_of` (the ``general.as_of`` setting, the report date in the sheet's
    title, ``name_date`` from the file name, ``today``: the clock when not given).

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
    output = (
        _checked_output(input_path, output_path, opened, in_place, in_place_lossy)
        if write
        else None
    )
    parsing_big_sheet = _prefetch_ledger(opened, sheet)
    request = Request(
        today=today or date.today(),
        as_of=as_of,
        rules_file=rules_file,
        sheet=sheet,
        with_plan=mode != "classify",
        name_date=name_date,
        name_problem=name_problem,
        notes=_reading_notes(opened, input_path),
        history=tuple(history),
        skip_history=(input_path, *([output_path] if output_path else [])),
    )

    def warm_up(prepared: Prepared) -> None:
        if parsing_big_sheet:
            _warm_up(prepared.rules, prepared.as_of.date)

    # The grid (the largest thing in memory on a big ledger) lives only inside this call.
    result = orchestrate.run(
        FileSource(opened),
        request,
        letters_dir=letters_dir,
        letter_stages=letter_stages,
        pdf=pdf,
        email=email,
        sms=sms,
        on_prepared=warm_up,
    )
    name_issues = _write_output(output, opened, mode, result) if output is not None else []
    return _report(input_path, output, opened, result, name_issues)


def _reading_notes(opened: OpenedWorkbook, input_path: Path) -> tuple[Issue, ...]:
    """How the file was read, when it was not read as a workbook (``read as ...``)."""
    description = getattr(opened, "description", "")
    if not description:
        return ()
    return (Issue(Location(file=input_path.name), f"read as {description}", Severity.INFO),)


def _letter_issues(result: orchestrate.Result) -> list[Issue]:
    """The issues of the letters run (none without letters)."""
    return list(result.letters.issues) if result.letters is not None else []


def _write_output(
    output: Path, opened: OpenedWorkbook, mode: str, result: orchestrate.Result
) -> list[Issue]:
    """Write the output workbook for ``mode``; the issues of naming its sheets."""
    outcome = result.outcome
    stage_cols = None if mode == "plan" else outcome.stage_columns
    models = [] if mode == "classify" else result.models
    named = name_models(FileSource(opened), models, result.sheet)
    models = apply_names(models, named, result.rules, [*outcome.issues, *_letter_issues(result)])
    write_atomically(output, opened, stage_cols, models, named.replaceable)
    return list(named.issues)


def _report(
    input_path: Path,
    output: Path | None,
    opened: OpenedWorkbook,
    result: orchestrate.Result,
    name_issues: list[Issue],
) -> Report:
    """The report of the run: the outcome, the letters written and every issue."""
    letters = result.letters
    extra = _conversion_notes(opened, Location(file=input_path.name))
    return Report(
        input=input_path,
        output=output,
        as_of=result.as_of.date,
        sheet=result.sheet,
        header_row=result.choice.location.header_row,
        outcome=result.outcome,
        letters=[_letter_json(row, letters.folder) for row in letters.new_rows]
        if letters is not None
        else [],
        extra_issues=[*_letter_issues(result), *name_issues, *extra],
        as_of_source=result.as_of.source,
        rules=result.rules,
    )


def _checked_output(
    input_path: Path,
    output_path: Path | None,
    opened: OpenedWorkbook,
    in_place: bool,
    in_place_lossy: bool,
) -> Path:
    """The output file, checked before any file is written (letters included)."""
    # In place, a symbolic link is followed: its target is updated, the link stays.
    output = (
        input_path.resolve()
        if in_place
        else Path(output_path or default_output(input_path, opened))
    )
    check_output(input_path, output, opened, in_place, allow_lossy=in_place_lossy)
    remove_stale_temps(output.parent)
    return output


def _conversion_notes(opened: OpenedWorkbook, where: Location) -> list[Issue]:
    """What the output does not carry over from the input: a password, a non-OOXML format."""
    notes = []
    if opened.decrypted:
        notes.append(
            Issue(
                where,
                "the workbook was password-protected; the output is written without a password",
                Severity.INFO,
            )
        )
    if not opened.is_ooxml:
        notes.append(
            Issue(
                where,
                f"{opened.kind} input: the output holds the values "
                "of every sheet; formatting, formulas and macros are not carried over",
                Severity.INFO,
            )
        )
    return notes


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
    (
        "Customer",
        "Invoice",
        "Invoice Date",
        "Due Date",
        "Currency",
        "Amount",
        "Paid",
        "Balance",
        "Owner",
        "Contact",
        "Email",
        "Region",
    ),
    (
        "Acme",
        "I-1",
        datetime(2026, 1, 5),
        datetime(2026, 2, 4),
        "EUR",
        120.5,
        0.0,
        120.5,
        "Ana",
        "Pat",
        "pat@example.com",
        "North",
    ),
    (
        "Borde",
        "I-2",
        datetime(2026, 9, 1),
        datetime(2026, 12, 1),
        "USD",
        80.0,
        10.0,
        70.0,
        "Ben",
        None,
        None,
        "South",
    ),
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


def check_output(
    input_path: Path,
    output: Path,
    opened: OpenedWorkbook,
    in_place: bool,
    allow_lossy: bool = False,
) -> None:
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


def write_atomically(
    output: Path,
    opened: OpenedWorkbook,
    stage_cols,
    models,
    replaceable: frozenset[str] | None = None,
) -> None:
    """Write the output workbook to a temporary file beside it, then rename it into place.

    An existing file keeps its permissions (a private 0600 ledger stays private); an
    OSError (a full disk, say) becomes an InputError naming the file.
    """
    with (
        os_errors_as_input_errors(output, "write the output workbook"),
        atomic_write(output, keep_mode=True) as sink,
    ):
        if opened.is_ooxml:
            write_package(
                sink,
                source=opened.data,
                date1904=opened.date1904,
                stage_columns=stage_cols,
                models=models,
                replaceable=replaceable,
            )
        else:
            worksheets = [s for s in opened.sheets if s.is_worksheet]
            grids = [opened.grid(s.name) for s in worksheets]
            write_package(
                sink,
                source=None,
                date1904=opened.date1904,
                stage_columns=stage_cols,
                models=models,
                grids=grids,
                replaceable=replaceable,
                hidden=frozenset(s.name for s in worksheets if not s.visible),
            )
