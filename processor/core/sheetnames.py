"""The names of our output sheets: valid for Excel, and never a sheet of the user's.

design.md §7: "Our sheet names never replace a sheet of the user's: a clash is renamed
or refused with a warning naming both." Every writer (the file splice writer, the xlwings
writer of the add-in) asks :func:`name_outputs` which name each output sheet gets and
which existing sheets it may replace; nothing else decides.

An existing sheet is *ours* (an earlier run's output, replaced in place) only when its
first row holds the header the new sheet will have: same first header, and most of the
headers alike (a later version may add a column). Anything else with the wanted name, in
any letter case (Excel's sheet names are case-insensitive), is the user's: a ledger that
happens to be called "Collection Plan", a team's own "exceptions" sheet, a chart sheet.
Our sheet then takes the first free name of ``Name (2)``, ``Name (3)``, ... that is
free or ours, with a warning naming both sheets; a later run finds its own ``(2)`` sheet
again by the same test, so runs stay idempotent.

Sheet labels come from settings (``labels.plan_sheet`` ...), which travel with the
workbook: a label Excel would refuse (more than 31 characters, ``: \\ / ? * [ ]``, blank,
an apostrophe at either end, the reserved name ``History``) is reported and the default
name used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from .issues import Issue, Location, Severity
from .sheets import SheetModel

MAX_SHEET_NAME = 31
FORBIDDEN_CHARACTERS = frozenset(":\\/?*[]")
RESERVED_NAMES = frozenset({"history"})

# The settings key of each output sheet's label, and its default, by the model's table
# name (the one thing of a model that settings never translate).
OUTPUT_LABELS: dict[str, tuple[str, str]] = {
    "CollectionPlan": ("plan_sheet", "Collection Plan"),
    "AgingSummary": ("aging_sheet", "Aging Summary"),
    "ActionCalendar": ("calendar_sheet", "Action Calendar"),
    "Exceptions": ("exceptions_sheet", "Exceptions"),
    "LettersLog": ("letters_sheet", "Letters Log"),
    "CollectionsSettings": ("settings_sheet", "Collections Settings"),
    "SMS": ("sms_sheet", "SMS"),
}
DEFAULT_NAMES = tuple(default for _key, default in OUTPUT_LABELS.values())
# Share of the headers two header rows must have in common to be the same sheet's.
_SAME_HEADER_SHARE = 0.6


def sheet_name_problem(name: object, reserved: bool = True) -> str | None:
    """Why Excel would refuse ``name`` as a sheet name, or None when it is valid.

    ``reserved``: also refuse ``History``, which Excel keeps for its change tracking
    (it opens a file with such a sheet, but a clerk cannot create one).
    """
    if not isinstance(name, str):
        return "is not text"
    if not name.strip():
        return "is blank"
    if len(name) > MAX_SHEET_NAME:
        return f"has {len(name)} characters (Excel allows {MAX_SHEET_NAME})"
    bad = sorted({ch for ch in name if ch in FORBIDDEN_CHARACTERS})
    if bad:
        return "contains " + " ".join(bad) + " (Excel forbids : \\ / ? * [ ] in sheet names)"
    if any(ord(ch) < 32 for ch in name):
        return "contains a control character"
    if name.startswith("'") or name.endswith("'"):
        return "begins or ends with an apostrophe"
    if reserved and name.casefold() in RESERVED_NAMES:
        return f"is '{name}', a name Excel reserves"
    return None


def checked_label(label: object, default: str, where: str) -> tuple[str, list[Issue]]:
    """``label`` when Excel accepts it as a sheet name, else ``default`` and an Issue."""
    problem = sheet_name_problem(label)
    if problem is None:
        return str(label), []
    shown = str(label)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return default, [
        Issue(
            where,
            f"the sheet name '{shown}' {problem}; '{default}' is used instead",
            Severity.WARNING,
        )
    ]


@dataclass(frozen=True)
class NamedOutputs:
    """The outputs renamed where needed, what they may replace, and what was said."""

    models: tuple[SheetModel, ...]
    # Casefolded names of existing sheets that are earlier outputs of ours, replaced.
    replaceable: frozenset[str]
    issues: tuple[Issue, ...]


def same_header(existing: Sequence[object] | None, wanted: Sequence[str]) -> bool:
    """Whether a sheet whose first row is ``existing`` is an earlier run's ``wanted`` sheet."""
    if not existing or not wanted:
        return False
    texts = [str(v).strip().casefold() for v in existing if v is not None and str(v).strip()]
    ours = [h.strip().casefold() for h in wanted]
    if not texts or texts[0] != ours[0]:
        return False
    common = len(set(texts) & set(ours))
    return common >= _SAME_HEADER_SHARE * max(len(set(texts)), len(set(ours)))


def candidates(name: str) -> Iterable[str]:
    """``name``, then ``name (2)``, ``name (3)``, ... each within Excel's 31 characters."""
    yield name
    number = 2
    while True:
        suffix = f" ({number})"
        yield name[: MAX_SHEET_NAME - len(suffix)].rstrip() + suffix
        number += 1


def name_outputs(
    models: Iterable[SheetModel],
    existing: Sequence[str],
    header_of: Callable[[str], Sequence[object] | None],
    *,
    ledger: str | None = None,
    where: str = "settings",
) -> NamedOutputs:
    """Name each output sheet so that it replaces only an earlier output of ours.

    ``existing`` are the workbook's sheet names (every kind of sheet), ``header_of(name)``
    the texts of an existing worksheet's first row (None for a chart sheet or one that
    cannot be read); it is asked only about sheets whose name clashes. ``ledger`` is the
    receivables sheet, never ours whatever it holds. A model whose name Excel would refuse
    (a label from settings) gets its default name, with an Issue.
    """
    sheets = _ExistingSheets(existing, header_of, ledger)
    taken: set[str] = set()  # names given to earlier models of this run
    replaceable: set[str] = set()
    issues: list[Issue] = []
    out: list[SheetModel] = []
    for model in models:
        wanted, said = _acceptable_name(model, where)
        issues += said
        chosen = next(  # candidates() never ends
            candidate
            for candidate in candidates(wanted)
            if candidate.casefold() not in taken and sheets.free_for(candidate, model)
        )
        if chosen.casefold() in sheets.by_fold:
            replaceable.add(chosen.casefold())
        if chosen != wanted:
            issues.append(sheets.clash(wanted, chosen, model))
        taken.add(chosen.casefold())
        out.append(model if chosen == model.name else replace(model, name=chosen))
    return NamedOutputs(tuple(out), frozenset(replaceable), tuple(issues))


def _acceptable_name(model: SheetModel, where: str) -> tuple[str, list[Issue]]:
    """The model's name, or its default when Excel would refuse it (with the Issue)."""
    label_key, default = OUTPUT_LABELS.get(model.table_name, (None, None))
    # Labels from settings follow every rule; our own fixed names (the Batch Summary's
    # "History", design.md §9) only the hard ones.
    if sheet_name_problem(model.name, reserved=label_key is not None) is None:
        return model.name, []
    fallback = default or (
        model.table_name if sheet_name_problem(model.table_name) is None else "Output"
    )
    source = f"{where}: labels.{label_key}" if label_key else where
    return checked_label(model.name, fallback, source)


class _ExistingSheets:
    """The workbook's sheets as output naming sees them: which are earlier outputs of
    ours (same header), asked once per sheet and header."""

    def __init__(
        self,
        existing: Sequence[str],
        header_of: Callable[[str], Sequence[object] | None],
        ledger: str | None,
    ):
        self.by_fold = {name.casefold(): name for name in existing}
        self.ledger_fold = ledger.casefold() if ledger else None
        self.header_of = header_of
        self.headers: dict[tuple[str, tuple[str, ...]], bool] = {}

    def ours(self, existing_name: str, model: SheetModel) -> bool:
        """True when ``existing_name`` is an earlier output like ``model`` (never the ledger)."""
        if existing_name.casefold() == self.ledger_fold:
            return False
        key = (existing_name.casefold(), tuple(model.headers))
        if key not in self.headers:
            self.headers[key] = same_header(self.header_of(existing_name), model.headers)
        return self.headers[key]

    def free_for(self, candidate: str, model: SheetModel) -> bool:
        """True when ``model`` may take the name ``candidate``: no such sheet, or ours."""
        fold = candidate.casefold()
        return fold not in self.by_fold or self.ours(self.by_fold[fold], model)

    def clash(self, wanted: str, chosen: str, model: SheetModel) -> Issue:
        """The warning that ``wanted`` was taken and the output is written as ``chosen``."""
        label_key, _default = OUTPUT_LABELS.get(model.table_name, (None, None))
        clash = self.by_fold.get(wanted.casefold()) or wanted
        kind = "the receivables sheet" if clash.casefold() == self.ledger_fold else "a sheet"
        owner = (
            "another output sheet of this run"
            if clash.casefold() not in self.by_fold
            else f"{kind} of the workbook that this tool did not write"
        )
        return Issue(
            Location(sheet=clash) if clash.casefold() in self.by_fold else "",
            f"'{clash}' is {owner}; it is kept unchanged and the output sheet "
            f"'{wanted}' is written as '{chosen}' instead (rename or remove '{clash}', "
            f"or set labels.{label_key or 'the sheet label'} to another name)",
            Severity.WARNING,
        )


def labels_fit_table(names: Sequence[object], labels: Sequence[str]) -> bool:
    """Whether ``labels`` can join a table whose columns are ``names``: no name twice,
    letter case ignored (Excel's rule for table columns)."""
    taken = {str(name).strip().casefold() for name in names if name is not None}
    wanted = [label.strip().casefold() for label in labels]
    return not taken & set(wanted) and len(set(wanted)) == len(wanted)
