"""Where the dunning history is kept and read from (design.md §11): the shell half.

The history is the ``Letters Log``. It is read, every run, from
1. the workbook's own ``Letters Log`` sheet (an earlier output processed again, or the
   clerk's workbook in Excel),
2. ``--history PATH``: earlier output workbooks, or folders of them (a new month's ERP
   export has no log; its letters connect to earlier ones by invoice and customer),
3. the letters folder's own log, ``DIR/Letters Log.xlsx``, which ``receivables letters``
   keeps beside the letters it writes (that command leaves the input unchanged).
The pure merging and parsing is :mod:`receivables.core.letters_log`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .core.dunning import SentLetter, history_from_rows
from .core.issues import InputError, Issue, Location, Severity
from .core.letters_log import (
    cancel_deleted_drafts,
    clean,
    deleted_drafts,
    merge_rows,
    rows_from_grid,
)
from .core.outputs import letters_log_model
from .core.rules import Rules

FOLDER_LOG = "Letters Log.xlsx"
_WORKBOOKS = (".xlsx", ".xlsm")


@dataclass
class DunningHistory:
    """The earlier Letters Log rows (merged), as history, and what was wrong with them."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    letters: list[SentLetter] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def sheet_name(rules: Rules) -> str:
    """The Letters Log sheet's name (``labels.letters_sheet``)."""
    return rules.labels.get("letters_sheet", "Letters Log")


def log_rows(opened, rules: Rules) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The Letters Log rows of an opened workbook (the file reader, or the add-in's)."""
    wanted = sheet_name(rules).casefold()
    for sheet in opened.sheets:
        if sheet.is_worksheet and sheet.name.casefold() == wanted:
            return rows_from_grid(opened.grid(sheet.name))
    return [], []


def history_files(path: Path) -> list[Path]:
    """The workbooks ``--history PATH`` names: the file, or the folder's .xlsx/.xlsm."""
    path = Path(path)
    if path.is_dir():
        return sorted(
            (
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in _WORKBOOKS and not p.name.startswith("~$")
            ),
            key=lambda p: p.name.casefold(),
        )
    if path.is_file():
        return [path]
    raise InputError(
        f"The history {path} does not exist: give an earlier output workbook, "
        "its Letters Log, or a folder of them with --history."
    )


def load_history(
    opened,
    rules: Rules,
    paths: Sequence[Path] = (),
    letters_dir: Path | None = None,
    skip: Iterable[Path] = (),
) -> DunningHistory:
    """Every earlier letter known for this workbook (see the module docstring).

    ``opened`` is the workbook being processed (None for none); ``skip`` lists files
    never read as history (the input and output themselves).
    """
    sources: list[list[dict[str, Any]]] = []
    issues: list[Issue] = []
    drafted: set[str] = set()  # the email drafts written into letters_dir
    if opened is not None:
        rows, problems = log_rows(opened, rules)
        sources.append(rows)
        issues += problems
    skipped = {Path(p).resolve() for p in skip}
    files = [file for path in paths for file in history_files(path)]
    if letters_dir is not None and (Path(letters_dir) / FOLDER_LOG).is_file():
        files.append(Path(letters_dir) / FOLDER_LOG)
    if files:
        # Only history files need the file reader: the add-in, reading the open workbook's
        # own log, never loads it.
        from .reader import open_workbook
    # Later files first: of two copies of a letter, the newer log's is kept.
    for file in reversed(files):
        if file.resolve() in skipped:
            continue
        try:
            rows, problems = log_rows(open_workbook(file), rules)
        except InputError as exc:
            issues.append(
                Issue(
                    Location(file=file.name),
                    f"not read as dunning history: {exc}",
                    Severity.WARNING,
                )
            )
            continue
        sources.append(rows)
        issues += problems
        if letters_dir is not None and file == Path(letters_dir) / FOLDER_LOG:
            drafted = drafts_of(rows)
    merged = merge_rows(*sources)
    if letters_dir is not None and drafted:
        present, journaled = folder_drafts(Path(letters_dir))
        if present is not None:
            # Only the folder's own drafts: the workbook's log may list other folders'.
            deleted = deleted_drafts(merged, present, journaled) & drafted
            merged, notes = cancel_deleted_drafts(merged, deleted, Path(letters_dir).name)
            issues += notes
    letters, problems = history_from_rows(merged, rules)
    issues += problems
    return DunningHistory(rows=merged, letters=letters, issues=issues)


def read_folder_log(letters_dir: Path, rules: Rules) -> list[dict[str, Any]]:
    """The rows of ``letters_dir``'s own Letters Log (none when it has none, or it cannot
    be read)."""
    path = Path(letters_dir) / FOLDER_LOG
    if not path.is_file():
        return []
    from .reader import open_workbook

    try:
        return log_rows(open_workbook(path), rules)[0]
    except InputError:
        return []


def drafts_of(rows: Iterable[dict[str, Any]]) -> set[str]:
    """The Message-IDs of a letters folder's own log rows: its email drafts."""
    return {
        str(row.get("Message-ID") or "").strip()
        for row in rows
        if str(row.get("Channel") or "").strip().casefold() == "email" and row.get("Message-ID")
    }


def folder_drafts(letters_dir: Path) -> tuple[set[str] | None, set[str]]:
    """The Message-IDs of the drafts still in ``letters_dir``'s ``email`` folder (None
    when one cannot be read), and of those its send journal has a step for (sent, marked
    sent, handed over)."""
    from email import policy
    from email.parser import BytesParser

    from .send import EMAIL_DIR, journaled

    folder = Path(letters_dir) / EMAIL_DIR
    present: set[str] = set()
    parser = BytesParser(policy=policy.default)
    for path in folder.glob("*.eml") if folder.is_dir() else ():
        try:
            with path.open("rb") as stream:
                message_id = str(parser.parse(stream, headersonly=True).get("Message-ID", ""))
        except OSError:
            # A draft that cannot be read may be any of them: none is taken as deleted.
            return None, set()
        present.add(message_id.strip())
    return present, journaled(folder)


def combined_rows(history: DunningHistory, new_rows: Iterable[dict[str, Any]]):
    """The Letters Log to write: the earlier rows as read, then this run's letters."""
    return clean(merge_rows(history.rows, list(new_rows)))


def write_folder_log(letters_dir: Path, rows: list[dict[str, Any]], rules: Rules) -> Path:
    """Write ``DIR/Letters Log.xlsx`` (the letters folder's history) atomically."""
    from .xlsx.splice import write_package

    path = Path(letters_dir) / FOLDER_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as sink:
        write_package(
            sink,
            source=None,
            date1904=False,
            stage_columns=None,
            models=[letters_log_model(rows, rules)],
        )
    return path
