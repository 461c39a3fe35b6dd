"""``receivables batch``: a folder of monthly workbooks, in parallel, with a summary and history.

The shell of design.md §9. It finds the workbooks (skipping Excel lock files ``~$*``, the
tool's own outputs and temporary files), takes each one's as-of date by the one rule
of :mod:`receivables.core.as_of` (``--as-of``, else the ``general.as_of`` setting, else a
date in its name: ``AR_2026-10.xlsx``, ``2026_10``, ``Oct 2026``, ``octubre 2026`` mean
the month's last day, else today), and runs :func:`receivables.pipeline.run` on each in
a pool of worker processes, writing ``OUT_DIR/<name>.collections.xlsx``. Workers return
small picklable results (a
:class:`FileRow` and a :class:`Snapshot`), from which the parent writes
``OUT_DIR/Batch Summary.xlsx`` (sheets ``Files`` and ``History``, see
:mod:`receivables.core.history`).

Safety: inputs are only read; every output is written to a temporary file and renamed;
one failing workbook never stops the others (a worker process that dies is replaced and
its workbook retried alone once); Ctrl-C cancels what has not started, stops the workers,
removes their temporary files and writes no summary.
"""

from __future__ import annotations

import calendar
import os
import re
import signal
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import TEMP_PREFIX, atomic_write
from .core.history import (
    FileRow,
    History,
    Snapshot,
    build_history,
    files_model,
    history_model,
    snapshot_of,
)
from .core.issues import InputError, Severity
from .core.quality import future_dated
from .core.rules import Rules
from .textformats import looks_like_export

if TYPE_CHECKING:
    from .pipeline import Report

SUMMARY_NAME = "Batch Summary.xlsx"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv", ".tsv", ".txt", ".xml")


class BatchInterrupted(Exception):
    """Ctrl-C stopped the batch; ``done`` workbooks were finished before it."""

    def __init__(self, done: int, total: int):
        self.done, self.total = done, total
        super().__init__(
            f"Interrupted: {done} of {total} workbooks were finished (their outputs are "
            "complete); the others were stopped, no half-written file is left and no Batch "
            "Summary was written. Run the batch again to finish."
        )


# ---- as-of dates from file names ----------------------------------------------------------

_MONTH_NAMES = {
    1: "january jan enero ene janvier janv januar jan januar",
    2: "february feb febrero fevrier fevr februar februar",
    3: "march mar marzo mars marz maerz marcius",
    4: "april apr abril abr avril aprilis",
    5: "may mayo mai majus",
    6: "june jun junio juin juni junius",
    7: "july jul julio juillet juil juli julius",
    8: "august aug agosto ago aout augusztus",
    9: "september sep sept septiembre setiembre set septembre szeptember szept",
    10: "october oct octubre octobre oktober okt",
    11: "november nov noviembre novembre",
    12: "december dec diciembre dic decembre dezember dez",
}
_MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_SEP = r"[-_. ]"
_FULL_DATES = (
    (re.compile(rf"(?<!\d)(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})(?!\d)"), "ymd"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), "ymd"),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"), "ymd"),
    (re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}})(?!\d)"), "dmy"),
)
_MONTH_DATES = (
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月"), "ym"),
    (re.compile(rf"(?<!\d)(\d{{4}}){_SEP}(\d{{1,2}})(?!\d)"), "ym"),
    (re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}(\d{{4}})(?!\d)"), "my"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(?!\d)"), "ym"),
    (re.compile(rf"(?<![a-z])({_NAMES})(?![a-z])\.?[-_. ']*(\d{{4}})(?!\d)"), "name-y"),
    (re.compile(rf"(?<!\d)(\d{{4}})\.?[-_. ]*({_NAMES})(?![a-z])"), "y-name"),
)


def _plain(text: str) -> str:
    """Casefolded, without accents (``Október`` -> ``oktober``), full-width digits folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _valid(year: int, month: int, day: int | None = None) -> date | None:
    if not 1990 <= year <= 2100 or not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    if day is None:
        return date(year, month, last)
    return date(year, month, day) if 1 <= day <= last else None


def as_of_from_name(name: str) -> date | None:
    """The as-of date a file name states, or None when it states none.

    A full date (``2026-10-15``, ``20261015``, ``15.10.2026``, ``2026年10月15日``) is taken
    as it is; a month (``2026-10``, ``2026_10``, ``10-2026``, ``202610``, ``Oct 2026``,
    ``octubre 2026``, ``2026. október``, ``2026年10月``) gives its last day. Raises
    ValueError when the name is ambiguous (``03.04.2026``) or states two different dates.
    """
    text = _plain(Path(name).stem if Path(name).suffix.lower() in WORKBOOK_SUFFIXES else name)
    taken: list[tuple[int, int]] = []
    found: set[date] = set()

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in taken)

    # Full dates first: the month patterns must not take a part of one.
    for patterns, read in ((_FULL_DATES, _full_date), (_MONTH_DATES, _month_end)):
        for pattern, order in patterns:
            for match in pattern.finditer(text):
                if not free(match.span()):
                    continue
                when = read(match, order)
                if when:
                    found.add(when)
                    taken.append(match.span())
    if len(found) > 1:
        dates = ", ".join(sorted(d.isoformat() for d in found))
        raise ValueError(f"the name states several dates ({dates})")
    return next(iter(found), None)


def _full_date(match: re.Match, order: str) -> date | None:
    """The date of a full-date match (``ymd``, or day and month in either order: an
    order only both numbers up to 12 leave open is a ValueError)."""
    numbers = [int(g) for g in match.groups()]
    if order == "ymd":
        return _valid(numbers[0], numbers[1], numbers[2])
    first, second, year = numbers
    if first <= 12 and second <= 12 and first != second:
        raise ValueError(f"the date {match.group(0)} in the name could be day-month or month-day")
    day, month = (first, second) if first > 12 or second <= 12 else (second, first)
    return _valid(year, month, day)


def _month_end(match: re.Match, order: str) -> date | None:
    """The last day of the month a month match names (numbers or a month's name)."""
    a, b = match.groups()
    if order == "ym":
        return _valid(int(a), int(b))
    if order == "my":
        return _valid(int(b), int(a))
    if order == "name-y":
        return _valid(int(b), _MONTHS[a])
    return _valid(int(a), _MONTHS[b])


# ---- finding the workbooks ----------------------------------------------------------------


def is_tool_output(name: str) -> bool:
    """True for files this tool writes: ``*.collections.*``, the summary, temporaries."""
    return ".collections." in name.casefold() or name.casefold() == SUMMARY_NAME.casefold()


def discover(in_dir: Path, out_dir: Path | None = None, recursive: bool = False) -> list[Path]:
    """The workbooks of ``in_dir`` in name order (subfolders too with ``recursive``).

    Skipped: Excel's lock files (``~$Book.xlsx``), hidden and temporary files, the tool's
    outputs, and with ``recursive`` hidden folders and ``out_dir`` when it lies inside.
    """
    found = []
    out_resolved = out_dir.resolve() if out_dir is not None else None
    candidates: Iterable[Path] = in_dir.rglob("*") if recursive else in_dir.iterdir()
    for path in candidates:
        relative = path.relative_to(in_dir)
        if any(part.startswith(".") for part in relative.parts[:-1]):
            continue
        if (
            recursive
            and out_resolved is not None
            and out_resolved != in_dir.resolve()
            and out_resolved in path.resolve().parents
        ):
            continue
        name = path.name
        if (
            name.startswith(("~$", "."))
            or is_tool_output(name)
            or path.suffix.lower() not in WORKBOOK_SUFFIXES
            or not path.is_file()
            or not looks_like_export(path)
        ):
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(in_dir).as_posix().casefold())


# ---- one workbook (runs in a worker process) ---------------------------------------------


@dataclass(frozen=True)
class Job:
    """One workbook to process: everything a worker needs, picklable."""

    input: Path
    name: str  # path relative to IN_DIR, as shown to the user
    output: Path
    shown_output: str  # path relative to OUT_DIR, as shown to the user
    as_of: date | None  # --as-of: one date for every workbook
    as_of_problem: str = ""  # why the name gave no date, when it is ambiguous
    name_date: date | None = None  # the date the file name gives
    today: date | None = None  # the shell's clock, read once for the whole batch
    letters_dir: Path | None = None
    pdf: bool = False
    rules_file: Path | None = None
    sheet: str | None = None
    password: str | None = None
    # Earlier months' workbooks whose Letters Log is this one's dunning history.
    history: tuple[Path, ...] = ()


class _Stop(BaseException):
    """Raised in a busy worker by SIGTERM, so the atomic writers remove their temp files."""


_busy = False


def _on_sigterm(_signum, _frame) -> None:
    if _busy:
        raise _Stop
    os._exit(143)


def _init_worker(parent: int | None = None) -> None:
    # Ctrl-C reaches the whole process group; only the parent decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent(parent)


def _die_with_parent(parent: int | None) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies (Linux).

    Without it, a parent killed outright (SIGKILL, a crash) leaves its workers running
    under init. Elsewhere the parent's own SIGTERM handler stops them.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os._exit(143)  # the parent died before prctl took effect


def one_line(text: str) -> str:
    """A message on one line (the pipeline's messages are paragraphs)."""
    return " ".join(str(text).split())


def process_one(job: Job) -> tuple[FileRow, Snapshot | None]:
    """Process one workbook; never raises for bad input (the row carries the error)."""
    global _busy
    started = time.perf_counter()
    # Until the run resolves it, the best known date (shown for a file that fails).
    as_of = job.as_of or job.name_date
    _busy = True
    try:
        report = _run_job(job)
        row = _processed_row(job, report, seconds=round(time.perf_counter() - started, 2))
        return row, snapshot_of(report.outcome.classified, report.as_of)
    except _Stop:
        os._exit(143)  # the writers have removed their temporary files on the way out
    except InputError as exc:
        error = one_line(exc)
    except Exception as exc:  # noqa: BLE001 - a bug in one file must not stop the others
        error = one_line(
            f"internal error ({type(exc).__name__}: {exc}); please report it with the workbook"
        )
    finally:
        _busy = False
    return FileRow(
        file=job.name,
        as_of=as_of,
        status="failed",
        seconds=round(time.perf_counter() - started, 2),
        error=error,
    ), None


def _run_job(job: Job) -> Report:
    """Process the job's workbook as ``receivables process`` does."""
    from .pipeline import run

    # The as-of date by the one rule (core/as_of.py): --as-of, the general.as_of
    # setting, the date in the file name, today.
    return run(
        job.input,
        job.output,
        job.as_of,
        rules_file=job.rules_file,
        sheet=job.sheet,
        password=job.password,
        letters_dir=job.letters_dir,
        pdf=job.pdf,
        history=[p for p in job.history if p.is_file()],
        today=job.today,
        name_date=job.name_date,
        name_problem=job.as_of_problem,
    )


def _processed_row(job: Job, report: Report, seconds: float) -> FileRow:
    """The Files row of a workbook processed: its figures, and the invoices dated after
    its as-of date as notes."""
    outcome = report.outcome
    outstanding, overdue = outcome.totals()
    return FileRow(
        file=job.name,
        output=job.shown_output,
        as_of=report.as_of,
        status="ok",
        rows=len(outcome.classified),
        customers=int(outcome.customers["customer"].nunique()),
        outstanding=outstanding,
        overdue=overdue,
        stages=dict(outcome.stages),
        letters=report.letter_count,
        warnings=sum(1 for i in report.issues if i.severity != Severity.INFO),
        seconds=seconds,
        notes=" ".join(
            issue.message[0].upper() + issue.message[1:] + "."
            for issue in future_dated(outcome.classified, report.as_of, report.sheet, {})
        ),
    )


# ---- the batch ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOptions:
    """What ``receivables batch`` was asked to do."""

    in_dir: Path
    out_dir: Path
    as_of: date | None = None
    jobs: int | None = None  # None: one per core
    letters: bool = False
    pdf: bool = False
    recursive: bool = False
    rules_file: Path | None = None
    sheet: str | None = None
    password: str | None = None


@dataclass
class BatchResult:
    """What a batch did: one row per workbook (sorted by as-of, then name)."""

    options: BatchOptions
    files: list[FileRow]
    summary: Path
    history: History
    seconds: float
    workers: int

    @property
    def failed(self) -> list[FileRow]:
        """The rows of workbooks that failed."""
        return [f for f in self.files if f.status != "ok"]

    @property
    def ok(self) -> bool:
        """True when every workbook was processed."""
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        """One JSON object: the folders, the summary, and each workbook's figures."""
        from .pipeline import _money

        def money(table):
            return {c: _money(v) for c, v in table.items()}

        return {
            "input": str(self.options.in_dir),
            "output": str(self.options.out_dir),
            "summary": str(self.summary),
            "workers": self.workers,
            "seconds": round(self.seconds, 2),
            "processed": len(self.files) - len(self.failed),
            "failed": len(self.failed),
            "months": list(self.history.labels),
            "notes": list(self.history.notes),
            "files": [
                {
                    "input": f.file,
                    "output": f.output or None,
                    "as_of": f.as_of.isoformat() if f.as_of else None,
                    "status": f.status,
                    "error": f.error or None,
                    "rows": f.rows,
                    "customers": f.customers,
                    "stages": dict(f.stages),
                    "outstanding": money(f.outstanding),
                    "overdue": money(f.overdue),
                    "letters": f.letters,
                    "warnings": f.warnings,
                    "seconds": f.seconds,
                }
                for f in self.files
            ],
        }

    def text(self) -> str:
        """The closing summary for the terminal."""
        rows = sum(f.rows for f in self.files)
        rate = rows / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{len(self.files) - len(self.failed)} of {len(self.files)} workbooks processed"
            f"{f', {len(self.failed)} failed' if self.failed else ''}: {rows:,} rows in "
            f"{self.seconds:.1f} s ({rate:,.0f} rows/s, {self.workers} worker(s)).",
        ]
        if self.history.labels:
            lines.append(
                f"History: {len(self.history.labels)} month(s), "
                f"{self.history.labels[0]} to {self.history.labels[-1]}."
            )
        lines += [f"Note: {note}." for note in self.history.notes]
        lines += [f"Failed: {f.file}: {f.error}" for f in self.failed]
        lines.append(f"Written: {self.summary}")
        return "\n".join(lines)


def _holds_vba(path: Path) -> bool:
    """True for a zip workbook with a VBA project whatever its name says: its output must
    be .xlsm, as for `process` (Excel refuses macros in an .xlsx)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.lower().endswith("vbaproject.bin") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False  # not a zip, or damaged: run() reports it


def plan_jobs(paths: list[Path], options: BatchOptions) -> list[Job]:
    """One job per workbook: its output path, letters folder and as-of date."""
    jobs = []
    used: set[str] = set()
    for path in paths:
        relative = path.relative_to(options.in_dir)
        macros = path.suffix.lower() in (".xlsm", ".xltm") or _holds_vba(path)
        suffix = ".xlsm" if macros else ".xlsx"
        target_dir = options.out_dir / relative.parent
        label = path.stem
        if (relative.parent / label).as_posix().casefold() in used:
            # AR.xls and AR.xlsx in one folder: the second keeps its format in the names of
            # its output and its letters folder, so neither writes over the other's.
            label = f"{path.stem}-{path.suffix[1:].lower()}"
        used.add((relative.parent / label).as_posix().casefold())
        name = f"{label}.collections{suffix}"
        name_date, problem = None, ""
        try:
            name_date = as_of_from_name(path.name)
        except ValueError as exc:
            problem = f"{relative.as_posix()}: {exc}"
        letters_dir = None
        if options.letters:
            letters_dir = options.out_dir / "letters" / relative.parent / label
        jobs.append(
            Job(
                input=path,
                name=relative.as_posix(),
                output=target_dir / name,
                shown_output=(relative.parent / name).as_posix(),
                as_of=options.as_of,
                as_of_problem=problem,
                name_date=name_date,
                today=date.today(),
                letters_dir=letters_dir,
                pdf=options.pdf,
                rules_file=options.rules_file,
                sheet=options.sheet,
                password=options.password,
            )
        )
    return jobs


def _stop_on_sigterm():
    """SIGTERM stops the batch as Ctrl-C does: workers terminated, temporary files removed
    (by default SIGTERM would end this process alone and leave the workers running).
    Returns the handler it replaced, or None off the main thread."""

    def stop(_signum, _frame) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        return None


def _remove_stale_temporaries(out_dir: Path) -> None:
    """Remove temporary files that killed runs left in OUT_DIR and its subfolders."""
    from .atomic import remove_stale_temps

    for folder, _dirs, _files in os.walk(out_dir):
        remove_stale_temps(Path(folder))


def chain_history(jobs: list[Job], *, letters: bool) -> list[Job]:
    """Jobs in as-of order, each with the earlier months of its folder as dunning history.

    With letters, the history is the earlier months' *outputs* (their Letters Log holds
    every letter written so far, so the files must run in this order); without, their
    inputs (a Letters Log a clerk keeps in the monthly workbooks). Matching across months
    is by invoice and customer, so ERP exports without a log still connect.
    """

    def day(job: Job) -> date | None:
        # --as-of for every file, else the date in the file's name (the settings' date,
        # known only once the file is opened, leaves the file out of the chain).
        return job.as_of or job.name_date

    ordered = sorted(jobs, key=lambda j: (day(j) is None, day(j) or date.max, j.name.casefold()))
    earlier: dict[Path, list[Job]] = {}
    out = []
    for job in ordered:
        folder = earlier.setdefault(job.input.parent, [])
        before = [
            j for j in folder if day(j) is not None and day(job) is not None and day(j) < day(job)
        ]
        history = tuple(j.output if letters else j.input for j in before)
        out.append(replace(job, history=history))
        folder.append(job)
    return out


def _temporaries(out_dir: Path) -> set[Path]:
    # Temporary files of the atomic writers (atomic.atomic_write, letters._write_atomic).
    found = set(out_dir.rglob(TEMP_PREFIX + "*"))
    letters = out_dir / "letters"
    if letters.is_dir():
        found |= {p for p in letters.rglob(".*.tmp") if p.is_file()}
    return found


class _Display:
    """Rich progress on stderr (a live bar on a terminal) and one line per finished file."""

    def __init__(self, total: int, console=None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TextColumn("{task.fields[rate]}", markup=False),
            TimeElapsedColumn(),
            TextColumn("{task.fields[running]}", markup=False),
            console=self.console,
            disable=not self.console.is_terminal,
            transient=False,
        )
        self.task = self.progress.add_task("batch", total=total, rate="", running="")
        self.started = time.perf_counter()
        self.rows = 0
        self.done = 0

    def start(self) -> None:
        """Show the live bar (after the worker processes exist: fork before threads)."""
        self.progress.start()

    def stop(self) -> None:
        """Remove the live bar's thread (before forking new workers, and at the end)."""
        self.progress.stop()

    def running(self, names: Iterable[str]) -> None:
        """Show the workbooks being processed now."""
        names = list(names)
        text = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
        self.progress.update(self.task, running=text, rate=self._rate())

    def _rate(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return f"{self.rows / elapsed:,.0f} rows/s"

    def finished(self, row: FileRow) -> None:
        """Count a finished workbook and print its line."""
        self.done += 1
        self.rows += row.rows
        self.progress.update(self.task, completed=self.done, rate=self._rate())
        if row.status == "ok":
            line = (
                f"ok     {row.file}: {row.rows:,} rows as of {row.as_of.isoformat()}, "
                f"{row.seconds:.2f} s"
            )
        else:
            line = f"FAILED {row.file}: {row.error}"
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(os.getpid(),)
    )


def _run_pool(
    jobs: list[Job],
    workers: int,
    display: _Display,
    record: Callable[[FileRow, Snapshot | None], None],
) -> None:
    """Run ``jobs`` on ``workers`` processes, at most ``workers`` in flight at a time.

    Keeping only as many in flight as there are workers makes "running" exact for the
    progress line. A worker that dies breaks the pool: the pool is replaced and the
    workbooks it was processing are retried one at a time; one that kills a worker twice
    fails with that reason.
    """
    pool = _Pool(jobs, workers)
    try:
        pool.fill()
        display.start()
        display.running(pool.running())
        while pool.busy:
            pool.collect(record)
            pool.refill(display)
            display.running(pool.running())
    except BaseException:
        pool.abandon()
        raise
    pool.executor.shutdown(wait=True)


class _Pool:
    """The workbooks of a pooled run: waiting (largest first), in flight, and to retry
    alone after a worker died, over a process pool that is replaced when it breaks."""

    def __init__(self, jobs: list[Job], workers: int):
        self.workers = workers
        # Largest first: the last workbooks to finish are small ones, so cores idle least.
        self.queue = deque(sorted(jobs, key=lambda j: -_size(j.input)))
        self.solo: deque[Job] = deque()  # suspected of killing a worker: run alone
        self.suspects: set[Job] = set()
        self.in_flight: dict[Future, Job] = {}
        self.executor = _pool(workers)
        self.broken = False

    @property
    def busy(self) -> bool:
        """True while a workbook waits or is being processed."""
        return bool(self.in_flight or self.queue or self.solo)

    def running(self) -> list[str]:
        """The names of the workbooks in flight."""
        return [j.name for j in self.in_flight.values()]

    def fill(self) -> None:
        """Submit waiting workbooks up to the number of workers (a suspect only alone)."""
        while not self.broken:
            if self.solo:
                if self.in_flight:
                    return
                job = self.solo.popleft()
            elif self.queue and len(self.in_flight) < self.workers:
                job = self.queue.popleft()
            else:
                return
            try:
                self.in_flight[self.executor.submit(process_one, job)] = job
            except BrokenProcessPool:
                self.broken = True
                (self.solo if job in self.suspects else self.queue).appendleft(job)

    def collect(self, record: Callable[[FileRow, Snapshot | None], None]) -> None:
        """Wait up to half a second for workbooks to finish, and ``record`` each one."""
        if self.in_flight:
            done, _pending = wait(list(self.in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
        else:
            done = set()
        for future in done:
            job = self.in_flight.pop(future)
            try:
                row, snapshot = future.result()
            except BrokenProcessPool:
                self.broken = True
                if job in self.suspects:
                    record(_failed_row(job, _KILLED_TWICE), None)
                else:
                    self.suspects.add(job)
                    self.solo.append(job)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot unpickle
                row, snapshot = _failed_row(job, one_line(f"internal error ({exc})")), None
            record(row, snapshot)

    def refill(self, display: _Display) -> None:
        """Submit more workbooks, on a new pool once the broken one has no work left."""
        if self.broken and not self.in_flight:
            self.executor.shutdown(wait=True)
            display.stop()  # no live thread while the new workers fork
            self.executor = _pool(self.workers)
            self.broken = False
            self.fill()
            display.start()
        else:
            self.fill()

    def abandon(self) -> None:
        """Stop at once (Ctrl-C, SIGTERM): cancel what waits, end the workers."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        for future in self.in_flight:
            future.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: the worker's writers clean up, then it exits
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


_KILLED_TWICE = (
    "the worker process died while processing this "
    "workbook (out of memory, or a crash in a "
    "reader); it was tried twice"
)


def _failed_row(job: Job, error: str) -> FileRow:
    """The Files row of a workbook the batch could not process."""
    return FileRow(file=job.name, as_of=job.as_of or job.name_date, status="failed", error=error)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def batch_rules(options: BatchOptions) -> Rules:
    """The rules the summary uses: defaults < IN_DIR/rules.toml < --rules."""
    from .pipeline import rules_for

    rules, _issues = rules_for(options.in_dir / SUMMARY_NAME, options.rules_file)
    return rules


def run_batch(
    options: BatchOptions,
    *,
    console=None,
    on_file: Callable[[FileRow], None] | None = None,
) -> BatchResult:
    """Process every workbook of ``options.in_dir`` and write the Batch Summary.

    Raises InputError for unusable options (no such folder, no workbooks, letters not
    available) and :class:`BatchInterrupted` on Ctrl-C. ``on_file`` is called in the
    parent as each workbook finishes.
    """
    started = time.perf_counter()
    in_dir, out_dir = _check_folders(options)
    rules = batch_rules(options)
    jobs = _jobs_of(options, in_dir, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        job.output.parent.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(options.jobs or os.cpu_count() or 1, len(jobs)))
    if options.letters:
        # Each month's letters follow from the earlier months' (their outputs hold the
        # Letters Log): the files run one after the other, in as-of order.
        workers = 1
    done = _process_all(jobs, workers, out_dir, _Display(len(jobs), console), on_file)
    rows = [row for row, _snapshot in done]
    history = build_history([snap for _row, snap in done if snap is not None], rules)
    summary = out_dir / SUMMARY_NAME
    write_summary(summary, rows, history, rules)
    return BatchResult(
        options=options,
        files=rows,
        summary=summary,
        history=history,
        seconds=time.perf_counter() - started,
        workers=workers,
    )


def _check_folders(options: BatchOptions) -> tuple[Path, Path]:
    """The input and output folders, once they are usable (else InputError saying why)."""
    in_dir, out_dir = Path(options.in_dir), Path(options.out_dir)
    if not in_dir.is_dir():
        raise InputError(
            f"{in_dir} is not a folder: give the folder holding the monthly "
            "workbooks (for one workbook use 'receivables process')."
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"The output {out_dir} is a file; give a folder with -o.")
    if options.pdf:
        from .letters import find_soffice

        if find_soffice() is None:
            raise InputError(
                "PDF letters need LibreOffice, which is not installed (no "
                "'soffice' on the PATH): install it, or leave out --pdf."
            )
    return in_dir, out_dir


def _jobs_of(options: BatchOptions, in_dir: Path, out_dir: Path) -> list[Job]:
    """One job per workbook found, in as-of order with its history (InputError if none)."""
    paths = discover(in_dir, out_dir, options.recursive)
    if not paths:
        kinds = ", ".join(WORKBOOK_SUFFIXES)
        raise InputError(
            f"{in_dir} holds no workbooks ({kinds}) to process"
            f"{'' if options.recursive else ' (--recursive looks in subfolders)'}."
        )
    return chain_history(plan_jobs(paths, options), letters=options.letters)


def _process_all(
    jobs: list[Job],
    workers: int,
    out_dir: Path,
    display: _Display,
    on_file: Callable[[FileRow], None] | None,
) -> list[tuple[FileRow, Snapshot | None]]:
    """Process ``jobs`` (in this process for one worker, else in a pool): each file's
    row and snapshot, in as-of order. Ctrl-C removes the half-written outputs and raises
    :class:`BatchInterrupted`."""
    _remove_stale_temporaries(out_dir)
    before = _temporaries(out_dir)
    done: list[tuple[FileRow, Snapshot | None]] = []

    def record(row: FileRow, snapshot: Snapshot | None) -> None:
        done.append((row, snapshot))
        display.finished(row)
        if on_file is not None:
            on_file(row)

    previous = _stop_on_sigterm()
    try:
        if workers == 1:
            # One worker: no pool, no pickling; Ctrl-C unwinds through the writers.
            display.start()
            for job in jobs:
                display.running([job.name])
                record(*process_one(job))
        else:
            _run_pool(jobs, workers, display, record)
    except KeyboardInterrupt:
        display.stop()
        for path in _temporaries(out_dir) - before:
            path.unlink(missing_ok=True)
        raise BatchInterrupted(len(done), len(jobs)) from None
    finally:
        display.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    # Finishing order varies from run to run; outputs must not.
    return sorted(done, key=lambda pair: _file_order(pair[0]))


def _file_order(row: FileRow) -> tuple:
    """Files by as-of date (undated last), then by name."""
    return (row.as_of is None, row.as_of or date.max, row.file.casefold(), row.file)


def write_summary(path: Path, rows: list[FileRow], history: History, rules: Rules) -> None:
    """Write ``Batch Summary.xlsx`` (Files, History) atomically: temp file, then rename."""
    from .xlsx.splice import write_package

    as_of = max((row.as_of for row in rows if row.as_of), default=None)
    models = [files_model(rows, rules, as_of=as_of), history_model(history, rules, as_of=as_of)]
    with atomic_write(path) as sink:
        write_package(sink, source=None, date1904=False, stage_columns=None, models=models)
