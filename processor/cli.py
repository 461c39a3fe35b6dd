"""The ``receivables`` command line: a thin shell that validates early and explains errors.

Bad input (an unreadable file, missing columns, a bad date) ends with one clear paragraph
on stderr and exit code 1, never a traceback; ``--json`` prints one JSON object.
"""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import date
from pathlib import Path

import click

from . import __version__
from .core.currency import currency_digits
from .core.issues import InputError, Severity


def _fail(message: str) -> None:
    # One paragraph on one line: the terminal wraps it, scripts can grep it.
    click.echo(" ".join(message.split()), err=True)
    sys.exit(1)


def today() -> date:
    """Today's date: the only place the command line reads the clock."""
    return date.today()


def parse_as_of(text: str | None) -> date | None:
    """The explicit as-of date from ``--as-of`` (YYYY-MM-DD), None when absent (the one
    rule of :mod:`receivables.core.as_of` then decides: settings, else today)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--as-of '{text}' is not a date: write it as YYYY-MM-DD, e.g. 2026-10-31."
        ) from None


_PRINTED_ISSUES = 10  # issues printed when no workbook (and no Exceptions sheet) is written


# Where the letters' sender-details warnings are filed (core/letters.company_issues).
SENDER_ISSUES = "company settings"


def _summary(report) -> str:
    data = report.to_json()
    stages = ", ".join(f"{k} {v}" for k, v in data["stages"].items() if v)
    lines = [
        f"{Path(data['input']).name}: sheet '{data['sheet']}', header row {data['header_row']}, "
        f"{data['rows']} items, {len(data['skipped'])} rows skipped, as of {data['as_of']} "
        f"({data['as_of_source']}).",
        f"Stages: {stages or 'none'}.",
        "Outstanding: "
        + (
            ", ".join(f"{c} {v:,.{currency_digits(c)}f}" for c, v in data["outstanding"].items())
            or "0"
        )
        + "; overdue: "
        + (", ".join(f"{c} {v:,.{currency_digits(c)}f}" for c, v in data["overdue"].items()) or "0")
        + ".",
    ]
    problems = [i for i in report.issues if i.severity != Severity.INFO]
    if problems and data["output"]:
        lines.append(
            f"{len(problems)} issue(s) need a look (see the Exceptions sheet), e.g. {problems[0]}."
        )
    elif problems:
        # No workbook is written (letters only): the issues have no Exceptions sheet.
        shown = problems[:_PRINTED_ISSUES]
        more = len(problems) - len(shown)
        lines.append(
            f"{len(problems)} issue(s) need a look"
            + (f" (the first {len(shown)}; --json lists all):" if more else ":")
        )
        lines.extend(f"  {issue}" for issue in shown)
    # Letters must not go out with the sample sender: said here, not only in Exceptions.
    lines.extend(
        f"Warning: {issue.message}." for issue in report.issues if str(issue.where) == SENDER_ISSUES
    )
    if data["letters"]:
        emails = sum(1 for row in data["letters"] if row.get("channel") == "email")
        texts = sum(1 for row in data["letters"] if row.get("channel") == "sms")
        lines.append(
            f"{report.letter_count} letter(s) written"
            + (f", {emails} email draft(s)" if emails else "")
            + (f", {texts} SMS text(s)" if texts else "")
            + "."
        )
    if data["output"]:
        lines.append(f"Written: {data['output']}")
    return "\n".join(lines)


def _emit(report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(_summary(report))


def _writes(function):
    """The IN argument and the options of the commands that write an output workbook."""
    function = click.option(
        "--in-place-values-only",
        "in_place_lossy",
        is_flag=True,
        help="Like --in-place, for a workbook named .xlsx/.xlsm whose content is .xls, .xlsb "
        "or .ods: replace it by an .xlsx holding only the values of its sheets.",
    )(function)
    function = click.option(
        "--in-place",
        is_flag=True,
        help="Update the input .xlsx/.xlsm itself (its permissions kept, a symbolic link "
        "followed; read-only files and other formats are refused).",
    )(function)
    function = click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path),
        help="Output workbook (default: IN.collections.xlsx).",
    )(function)
    return click.argument("input_path", metavar="IN", type=click.Path(path_type=Path))(function)


def _history(function):
    """``--history PATH``: earlier output workbooks (or folders of them) whose Letters Log
    is the dunning history of this run (design.md §11)."""
    return click.option(
        "--history",
        "history",
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="PATH",
        help="Earlier output workbook(s), or a folder of them, whose Letters Log holds the "
        "letters already sent (repeatable).",
    )(function)


def _common(function):
    options = [
        click.option(
            "--as-of",
            "as_of",
            metavar="YYYY-MM-DD",
            help="Date to age the ledger at (default: the general.as_of setting, else today).",
        ),
        click.option(
            "--rules",
            "rules_file",
            type=click.Path(path_type=Path),
            help="Rules TOML overriding the defaults.",
        ),
        click.option("--sheet", help="Receivables sheet name (default: the best-matching sheet)."),
        click.option("--password", help="Password of a protected workbook."),
        click.option(
            "--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run(
    mode,
    input_path,
    output,
    as_of,
    rules_file,
    sheet,
    password,
    as_json,
    in_place=False,
    letters_dir=None,
    pdf=False,
    stages=None,
    write=True,
    in_place_lossy=False,
    email=True,
    sms=True,
    history=(),
):
    from .pipeline import run

    try:
        # Without --as-of, pipeline.run decides by the one rule of core/as_of.py.
        when = parse_as_of(as_of) if as_of else None
        if pdf and letters_dir is None:
            raise InputError("--pdf converts letters: give the letters folder with --letters DIR.")
        report = run(
            Path(input_path),
            Path(output) if output else None,
            when,
            rules_file=rules_file,
            sheet=sheet,
            password=password,
            mode=mode,
            in_place=in_place,
            write=write,
            letters_dir=letters_dir,
            letter_stages=stages,
            pdf=pdf,
            in_place_lossy=in_place_lossy,
            email=email,
            sms=sms,
            history=tuple(history),
            today=today(),
        )
    except InputError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(_os_message(exc, input_path))
    _emit(report, as_json)


def _os_message(exc: OSError, fallback) -> str:
    """An OSError nobody explained closer to its cause, as one paragraph."""
    from .writable import explain

    return explain(exc, getattr(exc, "filename", None) or fallback, "use")


def _message_options(function):
    """``--no-email`` and ``--no-sms`` of the commands that write letters."""
    function = click.option(
        "--no-sms", is_flag=True, help="Write no SMS texts (DIR/sms/sms.csv, SMS sheet)."
    )(function)
    return click.option(
        "--no-email",
        is_flag=True,
        help="Write no email drafts (DIR/email/*.eml); letters go by post.",
    )(function)


def _stages(text: str | None) -> list[str] | None:
    """``--stages notice,legal`` -> ["notice", "legal"]."""
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="receivables")
def main() -> None:
    """Receivables Collections: stage every open item, plan collections, write letters."""
    _on_terminate_clean_up()


def _on_terminate_clean_up() -> None:
    """On SIGTERM, remove the temporary files being written, then end (exit 143).

    SIGTERM otherwise ends the process at once and leaves them; Ctrl-C already unwinds
    through the writers. ``batch`` installs its own handler, which also stops workers.
    """
    import os
    import signal

    from .atomic import remove_live_temps

    def terminated(_signum, _frame) -> None:
        remove_live_temps()
        os._exit(143)

    # Not the main thread (an embedding caller): signals are left alone.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, terminated)


@main.command()
@_writes
@click.option(
    "--letters",
    "letters_dir",
    type=click.Path(path_type=Path),
    help="Also write demand letters into DIR.",
)
@click.option(
    "--pdf", is_flag=True, help="With --letters, also convert letters to PDF (LibreOffice)."
)
@_history
@_message_options
@_common
def process(
    input_path,
    output,
    in_place,
    in_place_lossy,
    letters_dir,
    pdf,
    no_email,
    no_sms,
    history,
    as_of,
    rules_file,
    sheet,
    password,
    as_json,
):
    """Stage columns, Collection Plan, Aging Summary, Action Calendar and Exceptions."""
    _run(
        "process",
        input_path,
        output,
        as_of,
        rules_file,
        sheet,
        password,
        as_json,
        in_place or in_place_lossy,
        letters_dir,
        pdf,
        in_place_lossy=in_place_lossy,
        email=not no_email,
        sms=not no_sms,
        history=history,
    )


@main.command()
@click.argument("input_path", metavar="IN", type=click.Path(path_type=Path))
@click.option(
    "-d",
    "--dir",
    "letters_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the letters: DIR/<stage>/<customer>_<reference>.docx.",
)
@click.option(
    "--stages",
    help="Only these stage keys, comma-separated (default: every stage "
    "with a letter: notice, demand, final, legal).",
)
@click.option("--pdf", is_flag=True, help="Also convert the letters to PDF (LibreOffice).")
@_history
@_message_options
@_common
def letters(
    input_path,
    letters_dir,
    stages,
    pdf,
    no_email,
    no_sms,
    history,
    as_of,
    rules_file,
    sheet,
    password,
    as_json,
):
    """Demand letters by mail merge for every customer a letter is due for (input unchanged),
    with email drafts in DIR/email/ and SMS texts in DIR/sms/sms.csv.

    The letters folder keeps its own Letters Log.xlsx: the next run into the same folder
    remembers what was sent.
    """
    _run(
        "process",
        input_path,
        None,
        as_of,
        rules_file,
        sheet,
        password,
        as_json,
        letters_dir=letters_dir,
        pdf=pdf,
        stages=_stages(stages),
        write=False,
        email=not no_email,
        sms=not no_sms,
        history=history,
    )


@main.command()
@_writes
@_common
def classify(
    input_path, output, in_place, in_place_lossy, as_of, rules_file, sheet, password, as_json
):
    """Only the stage columns: Days Overdue, Aging Bucket, Stage, Next Action."""
    _run(
        "classify",
        input_path,
        output,
        as_of,
        rules_file,
        sheet,
        password,
        as_json,
        in_place or in_place_lossy,
        in_place_lossy=in_place_lossy,
    )


@main.command()
@_writes
@_history
@_common
def plan(
    input_path,
    output,
    in_place,
    in_place_lossy,
    history,
    as_of,
    rules_file,
    sheet,
    password,
    as_json,
):
    """Only the plan sheets, leaving the receivables sheet as it is."""
    _run(
        "plan",
        input_path,
        output,
        as_of,
        rules_file,
        sheet,
        password,
        as_json,
        in_place or in_place_lossy,
        in_place_lossy=in_place_lossy,
        history=history,
    )


@main.command()
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the processed sample.",
)
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Default: the sample's own date.")
@click.option("--json", "as_json", is_flag=True)
def demo(output_dir, as_of, as_json):
    """Process the bundled sample ledger (every stage present) into a folder."""
    from .demo import SAMPLE_AS_OF, sample_path
    from .writable import check_folder_writable, os_errors_as_input_errors

    try:
        when = parse_as_of(as_of) if as_of else SAMPLE_AS_OF
        check_folder_writable(output_dir, "demo output folder", create=True)
        with os_errors_as_input_errors(output_dir, "create the demo output folder"):
            output_dir.mkdir(parents=True, exist_ok=True)
        source = sample_path()
        from .pipeline import run

        report = run(
            source,
            output_dir / "sample_ledger.collections.xlsx",
            when,
            letters_dir=output_dir / "letters",
        )
    except InputError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(_os_message(exc, output_dir))
    _emit(report, as_json)


@main.command()
@click.argument("in_dir", metavar="IN_DIR", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output-dir",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the outputs and 'Batch Summary.xlsx' (created if needed).",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD",
    help="One date for every workbook (default: the date in each file name, e.g. "
    "AR_2026-10 -> 2026-10-31, else the general.as_of setting).",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), help="Worker processes (default: one per core)."
)
@click.option(
    "--letters", is_flag=True, help="Also write demand letters into OUT_DIR/letters/<workbook>/."
)
@click.option("--pdf", is_flag=True, help="Letters also as PDF (LibreOffice); implies --letters.")
@click.option("--recursive", is_flag=True, help="Also the workbooks in subfolders.")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(path_type=Path),
    help="Rules TOML overriding the defaults.",
)
@click.option("--sheet", help="Receivables sheet name (default: the best-matching sheet).")
@click.option("--password", help="Password of protected workbooks.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
def batch(
    in_dir, out_dir, as_of, jobs, letters, pdf, recursive, rules_file, sheet, password, as_json
):
    """Every workbook of IN_DIR in parallel, with OUT_DIR/Batch Summary.xlsx (Files, History).

    Exit code 0 when every workbook was processed, 1 when any failed (each failure is
    listed with its reason), 130 when stopped with Ctrl-C.
    """
    from .batch import BatchInterrupted, BatchOptions, run_batch

    try:
        when = parse_as_of(as_of) if as_of else None
        result = run_batch(
            BatchOptions(
                in_dir=in_dir,
                out_dir=out_dir,
                as_of=when,
                jobs=jobs,
                letters=letters or pdf,
                pdf=pdf,
                recursive=recursive,
                rules_file=rules_file,
                sheet=sheet,
                password=password,
            )
        )
    except InputError as exc:
        _fail(str(exc))
    except BatchInterrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(130)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.text())
    sys.exit(0 if result.ok else 1)


@main.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Really send (without it: a dry run that sends nothing).")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Also send the messages whose delivery is unknown (the connection broke "
    "after handing them over): check the mailbox first.",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(path_type=Path),
    help="Rules TOML with the [email] settings (default: rules.toml in DIR or beside it).",
)
@click.option(
    "--mark-sent",
    is_flag=True,
    help="Send nothing: record the drafts as sent (you sent them from Outlook or "
    "Thunderbird; delete the drafts you did not send first). With --yes.",
)
@click.option(
    "--workbook",
    type=click.Path(path_type=Path),
    help="The workbook 'process --letters' wrote: its Letters Log gets each "
    "message's status (sent, failed: reason), and its ledger's Dunning Block and "
    "dispute cells hold the drafts they concern.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def send(folder, yes, resend_unknown, rules_file, mark_sent, workbook, as_json):
    """Send the email drafts of a letters folder (DIR/email/*.eml) over SMTP, never twice.

    Settings: [email] host, port, security, user, sender, rate_per_minute. The password
    comes from RECEIVABLES_SMTP_PASSWORD or the system keyring. A draft whose customer is
    under a dunning block today ([[dunning.blocks]], or the --workbook's Dunning Block
    column), or that covers an item now in dispute, is held: not sent. Exit code 0 when
    every draft is sent, held (or, in a dry run, sendable), 1 otherwise.
    """
    from .send import describe, run_send

    try:
        result, settings, warnings = run_send(
            Path(folder),
            rules_file,
            yes=yes,
            resend_unknown=resend_unknown,
            workbook=workbook,
            mark_sent=mark_sent,
            progress=None if as_json else _progress,
        )
    except InputError as exc:
        _fail(str(exc))
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "folder": str(folder),
                    "dry_run": result.dry_run,
                    "stopped": result.stopped or None,
                    "cancelled": result.cancelled,
                    "messages": [
                        {
                            "file": o.draft.path.name,
                            "message_id": o.draft.message_id,
                            "to": o.draft.to,
                            "subject": o.draft.subject,
                            "status": o.status,
                            "reason": o.reason or None,
                        }
                        for o in result.outcomes
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        click.echo(describe(result, settings))
    sys.exit(0 if result.ok else 1)


def _progress(outcome) -> None:
    reason = f": {outcome.reason}" if outcome.reason else ""
    click.echo(f"  {outcome.status} {outcome.draft.to}{reason}", err=True)


@main.group()
def addin() -> None:
    """The Collections Excel add-in."""


@addin.command("build")
@click.option(
    "-o", "--output-dir", type=click.Path(path_type=Path), default=Path("dist"), show_default=True
)
def addin_build(output_dir: Path) -> None:
    """Build Collections.xlam from the pinned xlwings template and addin/ sources."""
    from .addin.build import build_addin

    output_dir.mkdir(parents=True, exist_ok=True)
    click.echo(f"Written: {build_addin(output_dir)}")


if __name__ == "__main__":  # pragma: no cover
    main()
