"""``receivables send DIR``: send the email drafts of a letters folder over SMTP, never twice.

The drafts are the ``.eml`` files in ``DIR/email/`` (written by ``receivables letters``).
Without ``yes`` nothing is sent: the run lists what would go to whom. With it, each draft
goes through the ``[email]`` server, at most ``rate_per_minute`` a minute, with its own
Message-ID; the ``X-Unsent`` draft marker and our own ``X-Receivables-*`` headers are
removed and the Date is the moment of sending.

Never twice. Every message's progress is journaled in ``DIR/email/send-journal.jsonl``,
each line flushed and fsynced before the next step:

1. ``sending`` before the transaction starts (MAIL FROM);
2. ``data`` just before the end-of-data mark (the final ``.``) goes to the server: from
   here on the server may have accepted the message;
3. ``sent`` when the server answered 250, or ``failed`` with the server's reason when it
   refused the message, or the connection broke before step 2.

On a later run a message whose last entry is ``sent`` is skipped; ``failed`` or
``sending`` (the run died before the end-of-data mark, so the server discarded the
message: RFC 5321 §4.1.1.4) is sent again; ``data`` (the run died or the connection
broke between the end-of-data mark and the server's answer) is *unknown*: it is not sent
again, but listed, because the server may have delivered it. After checking the mailbox
(or the server's log), ``--resend-unknown`` sends those too. Never-twice is preferred to
at-least-once: a customer must not get the same demand twice.

Held. A draft whose customer (and currency) is under an active dunning block on the send
date, or that covers an item now in dispute, is ``held`` (design.md §11): not sent, not
journaled, its Letters Log status unchanged, so that once the block ends the next run
decides again. The folder's own Letters Log says whose a draft is; the blocks come from
the rules of the send and, with ``--workbook``, from that workbook's ledger
(:mod:`receivables.core.holds`).

The password comes only from the ``RECEIVABLES_SMTP_PASSWORD`` environment variable or
the system keyring (service ``receivables-smtp``, the ``email.user`` as the user name),
never from a workbook or rules file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, getaddresses
from pathlib import Path
from typing import Any

from .core.issues import InputError
from .core.messages import EmailSettings
from .messages import EMAIL_DIR, email_bytes

JOURNAL = "send-journal.jsonl"
PASSWORD_ENV = "RECEIVABLES_SMTP_PASSWORD"
KEYRING_SERVICE = "receivables-smtp"
# Headers that are for us or for the draft, not for the customer.
_PRIVATE_HEADERS = ("X-Unsent", "X-Receivables-Reference", "Bcc")

SENT, FAILED, SENDING, DATA = "sent", "failed", "sending", "data"
CANCELLED = "cancelled"
HELD = "held"  # a dunning block or a dispute holds the draft on the send date
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Draft:
    """One ``.eml`` draft to send."""

    path: Path
    message: EmailMessage
    message_id: str
    recipients: tuple[str, ...]

    @property
    def to(self) -> str:
        """The To header as a person reads it."""
        return str(self.message.get("To", ""))

    @property
    def subject(self) -> str:
        """The subject, decoded."""
        return str(self.message.get("Subject", ""))

    @property
    def attachments(self) -> list[str]:
        """File names of the attachments."""
        return [part.get_filename() or "" for part in self.message.iter_attachments()]


def drafts_folder(folder: Path) -> Path:
    """``DIR/email`` when it exists, else ``DIR`` itself (a folder of drafts)."""
    folder = Path(folder)
    return folder / EMAIL_DIR if (folder / EMAIL_DIR).is_dir() else folder


def load_drafts(folder: Path) -> list[Draft]:
    """The drafts of ``folder`` in name order; a draft without Message-ID or recipient
    raises InputError (it would be unsafe to send: it could not be journaled)."""
    where = drafts_folder(folder)
    if not where.is_dir():
        raise InputError(f"{folder} is not a folder of email drafts (no {EMAIL_DIR} folder).")
    drafts = []
    parser = BytesParser(policy=policy.SMTP)
    for path in sorted(where.glob("*.eml")):
        message = parser.parsebytes(path.read_bytes())
        message_id = str(message.get("Message-ID", "")).strip()
        if not message_id:
            raise InputError(
                f"The draft {path.name} has no Message-ID: it cannot be sent "
                "safely. Write the drafts again with 'receivables letters'."
            )
        headers = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
        recipients = tuple(address for _n, address in getaddresses(headers) if "@" in address)
        if not recipients:
            raise InputError(f"The draft {path.name} has no recipient (To).")
        drafts.append(Draft(path, message, message_id, recipients))
    seen: dict[str, Path] = {}
    for draft in drafts:
        if draft.message_id in seen:
            raise InputError(
                f"The drafts {seen[draft.message_id].name} and {draft.path.name} "
                f"have the same Message-ID {draft.message_id}; remove one."
            )
        seen[draft.message_id] = draft.path
    return drafts


class Journal:
    """The append-only send journal: one JSON line per step, fsynced (see module doc)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.states: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text("utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: the step it describes did not finish
                if isinstance(entry, dict) and "message_id" in entry:
                    self.states[entry["message_id"]] = entry

    def state(self, message_id: str) -> str | None:
        """The last step of ``message_id`` (``data`` reads as unknown), or None."""
        entry = self.states.get(message_id)
        return None if entry is None else entry.get("status")

    def record(self, message_id: str, status: str, **extra: Any) -> None:
        """Append one step and force it to disk before going on."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "message_id": message_id,
            "status": status,
            **extra,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(entry, ensure_ascii=False) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        self.states[message_id] = entry


@dataclass
class Outcome:
    """What happened to one draft in this run."""

    draft: Draft
    status: str  # sent, failed, unknown, skipped (already sent), held, would-send, pending
    reason: str = ""


@dataclass
class SendResult:
    """The run: one outcome per draft, and whether the connection broke."""

    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = True
    stopped: str = ""
    # Drafts of the folder's Letters Log a clerk deleted without sending: their rows
    # become "cancelled" (Message-IDs).
    cancelled: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many drafts ended in ``status``."""
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def ok(self) -> bool:
        """True when nothing failed, nothing is unknown and the run was not cut short."""
        return not self.stopped and not any(
            o.status in (FAILED, UNKNOWN, "pending") for o in self.outcomes
        )

    def statuses(self) -> dict[str, tuple[str, str]]:
        """Message-ID -> (status, reason): what the Letters Log records."""
        return {o.draft.message_id: (o.status, o.reason) for o in self.outcomes}


class _Refused(Exception):
    def __init__(self, code: int, text: bytes | str):
        reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        super().__init__(f"{code} {' '.join(reply.split())}")


class _Broken(Exception):
    """The connection broke; ``after_data`` says whether the end-of-data mark was sent."""

    def __init__(self, reason: str, after_data: bool):
        super().__init__(reason)
        self.after_data = after_data


def smtp_password(settings: EmailSettings, env: Mapping[str, str] | None = None) -> str | None:
    """The password: ``RECEIVABLES_SMTP_PASSWORD``, else the system keyring, else None."""
    env = os.environ if env is None else env
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    if not settings.user:
        return None
    try:  # optional: only where the keyring package is installed
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, settings.user)
    except Exception:  # no keyring backend on this machine: as if no password were stored
        return None


def connect(settings: EmailSettings, password: str | None) -> smtplib.SMTP:
    """An SMTP connection per ``[email]``: TLS as set, logged in when a user is set."""
    if not settings.host:
        raise InputError(
            "Set email.host (and port, security, user, sender) in the settings "
            "to send; without them, open the drafts in Outlook or Thunderbird."
        )
    context = ssl.create_default_context()
    try:
        if settings.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise InputError(
                    f"The server {settings.host}:{settings.port} does not offer "
                    'STARTTLS: set email.security = "ssl" (port 465) or, only on '
                    'a trusted network, "none".'
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user:
            if not password:
                smtp.close()
                raise InputError(
                    f"No SMTP password for {settings.user}: set the environment "
                    f"variable {PASSWORD_ENV}, or store it in the system keyring "
                    f"(service '{KEYRING_SERVICE}', user '{settings.user}')."
                )
            smtp.login(settings.user, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise InputError(
            f"The server refused the login of {settings.user}: "
            f"{_Refused(exc.smtp_code, exc.smtp_error)}"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise InputError(
            f"Cannot connect to {settings.host}:{settings.port} ({settings.security}): {exc}"
        ) from None
    return smtp


def _wire_bytes(message: EmailMessage) -> bytes:
    data = re.sub(rb"\r\n|\n|\r", b"\r\n", email_bytes(message))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", data)  # dot-stuffing (RFC 5321 §4.5.2)


def _transmit(
    smtp: smtplib.SMTP, sender: str, draft: Draft, payload: bytes, before_end: Callable[[], None]
) -> None:
    """One SMTP transaction, step by step so that the journal knows where it broke."""
    after_data = False
    try:
        code, reply = smtp.mail(sender)
        if code != 250:
            raise _Refused(code, reply)
        accepted = []
        refusals = []
        for recipient in draft.recipients:
            code, reply = smtp.rcpt(recipient)
            if code in (250, 251):
                accepted.append(recipient)
            else:
                refusals.append(f"{recipient}: {_Refused(code, reply)}")
        if not accepted:
            raise _Refused(0, "; ".join(refusals))
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != 354:
            raise _Refused(code, reply)
        smtp.send(payload)
        before_end()
        after_data = True
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
        if code != 250:
            raise _Refused(code, reply)
    except _Refused:
        _reset(smtp)
        raise
    except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as exc:
        raise _Broken(f"{type(exc).__name__}: {exc}".rstrip(": "), after_data) from None


def _reset(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):  # the next transaction tells
        smtp.rset()


def _prepare(draft: Draft, sender_header: str | None) -> EmailMessage:
    message = draft.message
    for name in _PRIVATE_HEADERS:
        del message[name]
    if sender_header and "From" not in message:
        message["From"] = sender_header
    del message["Date"]
    message["Date"] = formatdate(localtime=True)
    return message


def send_drafts(
    folder: Path,
    settings: EmailSettings,
    *,
    yes: bool = False,
    resend_unknown: bool = False,
    mark_sent: bool = False,
    password: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[Outcome], None] | None = None,
    logged: Mapping[str, str] | None = None,
    holds: Mapping[str, str] | None = None,
) -> SendResult:
    """Send the drafts of ``folder`` (a dry run unless ``yes``); see the module doc.

    ``logged`` maps Message-IDs to their status in a Letters Log: a message the log says
    was sent (or may have been) is not sent again even when the journal was lost.

    ``mark_sent`` records the drafts as sent without sending them (the clerk sent them
    from Outlook or Thunderbird), so that the Letters Log and a later run know.

    ``holds`` maps Message-IDs to why a dunning block or a dispute holds them
    (:func:`receivables.core.holds.draft_holds`): those are ``held``, not sent. Not with
    ``mark_sent``: a draft sent by hand is recorded whatever holds it now, lest it go
    out again when the block ends.
    """
    drafts = load_drafts(folder)
    journal = Journal(drafts_folder(folder) / JOURNAL)
    result = SendResult(dry_run=not yes)
    done, todo = _triage(
        drafts, journal, logged or {}, resend_unknown, {} if mark_sent else holds or {}
    )
    result.outcomes += done
    if not yes or not todo:
        result.outcomes += [Outcome(d, "would-send" if not yes else "pending") for d in todo]
        return result
    if mark_sent:
        # The clerk sent these from a mail program: record them, send nothing.
        for draft in todo:
            journal.record(draft.message_id, SENT, file=draft.path.name, by="hand")
            result.outcomes.append(Outcome(draft, SENT, "marked sent"))
        return result

    smtp = connect(settings, password)
    try:
        pace = _Pace(settings.rate_per_minute, sleep, clock)
        _send_all(smtp, todo, settings, journal, pace, progress, result)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return result


def _triage(
    drafts: Sequence[Draft],
    journal: Journal,
    logged: Mapping[str, str],
    resend_unknown: bool,
    holds: Mapping[str, str] | None = None,
) -> tuple[list[Outcome], list[Draft]]:
    """The drafts not to send (sent before, or perhaps delivered) and those to send.

    The journal says what happened to a draft; where it knows nothing, the Letters Log
    (``logged``) does. A message handed over before the connection broke may have arrived:
    it is sent again only with ``resend_unknown``. A draft in ``holds`` is held.
    """
    holds = holds or {}
    done, todo = [], []
    for draft in drafts:
        state = journal.state(draft.message_id)
        in_log = logged.get(draft.message_id, "")
        if state is None and in_log == SENT:
            state = SENT
        elif state is None and in_log == UNKNOWN:
            state = DATA
        if state == SENT:
            done.append(Outcome(draft, "skipped", "sent before"))
        elif in_log == CANCELLED:
            # The clerk cancelled the letter in the Letters Log: it counts as never sent,
            # and the next run writes the letter due instead; sending it now would not.
            done.append(Outcome(draft, CANCELLED, "cancelled in the Letters Log"))
        elif state == DATA and not resend_unknown:
            entry = journal.states[draft.message_id]
            done.append(
                Outcome(
                    draft,
                    UNKNOWN,
                    "the connection broke after the "
                    f"message was handed over ({entry['time']}); check "
                    "the mailbox, then --resend-unknown if it is missing",
                )
            )
        elif draft.message_id in holds:
            done.append(Outcome(draft, HELD, holds[draft.message_id]))
        else:
            todo.append(draft)
    return done, todo


@dataclass
class _Pace:
    """Spaces the starts of the messages to ``rate_per_minute`` (no limit when 0)."""

    rate_per_minute: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    last_start: float | None = None

    def wait(self) -> None:
        """Sleep until the next message may start, and note that it starts."""
        interval = 60.0 / self.rate_per_minute if self.rate_per_minute else 0.0
        if self.last_start is not None and interval:
            wait = self.last_start + interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self.last_start = self.clock()


def _send_all(
    smtp: smtplib.SMTP,
    todo: Sequence[Draft],
    settings: EmailSettings,
    journal: Journal,
    pace: _Pace,
    progress: Callable[[Outcome], None] | None,
    result: SendResult,
) -> None:
    """Send ``todo`` in order over ``smtp``, adding each outcome to ``result``; a broken
    connection stops the run and leaves the rest pending."""
    sender = settings.sender or ""
    header = str(Address(settings.sender_name, addr_spec=sender)) if sender else None
    for index, draft in enumerate(todo):
        pace.wait()
        message = _prepare(draft, header)
        envelope = sender or _from_address(message)
        if not envelope:
            result.outcomes.append(Outcome(draft, FAILED, "no sender: set email.sender"))
            journal.record(draft.message_id, FAILED, reason="no sender", file=draft.path.name)
            continue
        outcome, broken = _send_one(smtp, envelope, draft, message, journal)
        result.outcomes.append(outcome)
        if progress:
            progress(outcome)
        if broken is not None:
            result.outcomes += [
                Outcome(d, "pending", "not sent: the connection broke") for d in todo[index + 1 :]
            ]
            result.stopped = (
                f"the connection to {settings.host} broke ({broken}); run the "
                "same command again to send the rest"
            )
            return


def _send_one(
    smtp: smtplib.SMTP, envelope: str, draft: Draft, message: EmailMessage, journal: Journal
) -> tuple[Outcome, _Broken | None]:
    """Send one message, journaling each step: its outcome, and the break if the
    connection broke (a message handed over before the break is ``unknown``)."""
    journal.record(draft.message_id, SENDING, to=list(draft.recipients), file=draft.path.name)
    try:
        _transmit(
            smtp,
            envelope,
            draft,
            _wire_bytes(message),
            lambda: journal.record(draft.message_id, DATA),
        )
    except _Refused as exc:
        journal.record(draft.message_id, FAILED, reason=str(exc))
        return Outcome(draft, FAILED, str(exc)), None
    except _Broken as exc:
        if not exc.after_data:
            journal.record(draft.message_id, FAILED, reason=str(exc))
        return Outcome(draft, UNKNOWN if exc.after_data else FAILED, str(exc)), exc
    journal.record(draft.message_id, SENT)
    return Outcome(draft, SENT), None


def _from_address(message: EmailMessage) -> str:
    found = getaddresses([str(message.get("From", ""))])
    return found[0][1] if found and "@" in found[0][1] else ""


def describe(result: SendResult, settings: EmailSettings) -> str:
    """The run in words, one line per draft."""
    lines = []
    if result.dry_run:
        lines.append(
            f"Dry run: nothing is sent. With --yes these go from "
            f"{settings.sender or '(the From of each draft)'} through "
            f"{settings.host or '(email.host not set)'}:{settings.port} "
            f"({settings.security}), at most {settings.rate_per_minute or 'any number of'}"
            " a minute:"
        )
    for outcome in result.outcomes:
        draft = outcome.draft
        attached = f" [{', '.join(draft.attachments)}]" if draft.attachments else ""
        reason = f": {outcome.reason}" if outcome.reason else ""
        lines.append(f"  {outcome.status:<10} {draft.to} | {draft.subject}{attached}{reason}")
    counts = ", ".join(
        f"{n} {s}"
        for s in ("would-send", SENT, "skipped", HELD, CANCELLED, FAILED, UNKNOWN, "pending")
        if (n := result.count(s))
    )
    lines.append(f"{len(result.outcomes)} draft(s): {counts or 'none'}.")
    if result.stopped:
        lines.append(f"Stopped: {result.stopped}.")
    for message_id in result.cancelled:
        lines.append(
            f"Info: the draft {message_id} was deleted without being sent: its Letters Log "
            "status is now cancelled, so it counts as never sent."
        )
    return "\n".join(lines)


def send_rules(folder: Path, rules_file: Path | None):
    """The rules of a send: defaults < ``rules.toml`` in DIR (else beside DIR) < --rules."""
    from .pipeline import rules_for

    folder = Path(folder)
    beside = next(
        (
            candidate
            for candidate in (folder / "rules.toml", folder.parent / "rules.toml")
            if candidate.is_file()
        ),
        None,
    )
    anchor = beside.parent / "_" if beside is not None else None
    return rules_for(anchor, Path(rules_file) if rules_file else None)


def run_send(
    folder: Path,
    rules_file: Path | None = None,
    *,
    yes: bool = False,
    resend_unknown: bool = False,
    workbook: Path | None = None,
    mark_sent: bool = False,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[Outcome], None] | None = None,
    today: date | None = None,
) -> tuple[SendResult, EmailSettings, list[str]]:
    """``receivables send``: settings from the rules, password from env/keyring, the
    drafts a dunning block or dispute holds on ``today`` (the send date, default the
    clock's) set aside, send, and the statuses written into the Letters Log of
    ``workbook`` when one is given."""
    from .core.messages import parse_message_settings

    rules, issues = send_rules(folder, rules_file)
    settings, _sms, problems = parse_message_settings(rules)
    warnings = [str(issue) for issue in [*issues, *problems]]
    if not Path(folder).is_dir():
        raise InputError(f"The folder {folder} does not exist.")
    if workbook is not None and not Path(workbook).is_file():
        raise InputError(f"The workbook {workbook} does not exist.")
    password = smtp_password(settings, env) if yes and not mark_sent else None
    owners, holds, notes = send_holds(
        Path(folder), rules, workbook, rules_file, today or date.today()
    )
    warnings += notes
    result = send_drafts(
        folder,
        settings,
        yes=yes,
        resend_unknown=resend_unknown,
        mark_sent=mark_sent,
        password=password,
        sleep=sleep,
        progress=progress,
        logged=_logged_statuses(folder, rules, workbook),
        holds=holds,
    )
    if owners is not None:
        unchecked = sum(
            1
            for o in result.outcomes
            if o.draft.message_id not in owners and o.status not in ("skipped", CANCELLED)
        )
        if unchecked and not mark_sent:
            from .dunning_log import FOLDER_LOG

            why = (
                "not in the folder's Letters Log"
                if (Path(folder) / FOLDER_LOG).is_file()
                else "no Letters Log in the folder"
            )
            warnings.append(
                f"cannot check {unchecked} draft(s) against dunning blocks: {why} "
                "(it says whose each draft is); they are sent as they are"
            )
    if yes:
        # The letters folder's own log (receivables letters keeps it), and the workbook.
        from .dunning_log import FOLDER_LOG

        folder_log = Path(folder) / FOLDER_LOG
        result.cancelled = deleted_drafts(Path(folder), rules, result)
        for book in ([folder_log] if folder_log.is_file() else []) + (
            [Path(workbook)] if workbook is not None else []
        ):
            update_letters_log(book, result, rules)
    return result, settings, warnings


def send_holds(
    folder: Path, rules, workbook: Path | None, rules_file: Path | None, as_of: date
) -> tuple[dict | None, dict[str, str], list[str]]:
    """What holds the drafts of ``folder`` on ``as_of`` (design.md §11): (Message-ID ->
    owner per the folder's Letters Log, or None when nothing could hold a draft;
    Message-ID -> reason held; warnings). The blocks of the send's ``rules`` always;
    with ``workbook`` (the output of ``process --letters``) also its ledger's Dunning Block
    and dispute cells, read through the one orchestration."""
    from .core.dunning import parse_dunning
    from .core.holds import draft_holds, draft_owners
    from .dunning_log import read_folder_log

    settings, problems = parse_dunning(rules)
    warnings = [str(issue) for issue in problems]
    ledger = _workbook_ledger(Path(workbook), rules_file, as_of) if workbook else None
    if not settings.blocks and ledger is None:
        return None, {}, warnings
    owners = draft_owners(read_folder_log(folder, rules))
    return owners, draft_holds(owners, settings, as_of, ledger), warnings


def _workbook_ledger(workbook: Path, rules_file: Path | None, as_of: date):
    """The classified receivables sheet of ``workbook`` as of ``as_of`` (its rules layered
    as ``process`` layers them), through :mod:`receivables.orchestrate`."""
    from . import orchestrate
    from .pipeline import FileSource
    from .reader import open_workbook

    opened = FileSource(open_workbook(workbook))
    request = orchestrate.Request(today=as_of, as_of=as_of, rules_file=rules_file, with_plan=False)
    prepared = orchestrate.prepare(opened, request)
    choice, matcher = orchestrate.choose(prepared, None)
    outcome = orchestrate.analyse(
        prepared, choice, matcher, opened.grid(choice.sheet), with_plan=False
    )
    return outcome.classified


def deleted_drafts(folder: Path, rules, result: SendResult) -> list[str]:
    """Message-IDs of the drafts the folder's own Letters Log lists as ``draft`` that are
    no longer in its ``email`` folder and were never sent (the journal has no step for
    them): the clerk deleted them instead of sending them (design.md §11). Only the
    folder's own log says which drafts are the folder's; without it, none."""
    from .core.letters_log import deleted_drafts as deleted_of
    from .dunning_log import read_folder_log

    present = {outcome.draft.message_id for outcome in result.outcomes}
    rows = read_folder_log(folder, rules)
    return sorted(deleted_of(rows, present, journaled(drafts_folder(folder))))


def journaled(drafts: Path) -> set[str]:
    """The Message-IDs the send journal of the folder ``drafts`` has a step for (sent,
    marked sent, or handed to the server)."""
    return set(Journal(Path(drafts) / JOURNAL).states)


def log_status(outcome: Outcome) -> str:
    """The Letters Log status of a draft after a run: ``sent``, ``failed: reason``,
    ``unknown: reason`` (maybe delivered), or ``draft`` (not sent yet)."""
    if outcome.status in (SENT, "skipped"):
        return SENT
    if outcome.status == CANCELLED:
        return CANCELLED
    if outcome.status in (FAILED, UNKNOWN):
        return f"{outcome.status}: {outcome.reason}"
    return "draft"


def log_statuses(result: SendResult) -> dict[str, str]:
    """Message-ID -> the Letters Log status after ``result``; a held draft is absent: its
    status stays as it was (it is neither sent nor cancelled)."""
    return {o.draft.message_id: log_status(o) for o in result.outcomes if o.status != HELD}


def record_statuses(records: list, result: SendResult) -> list:
    """``records`` (Letters Log records) with the status of each message sent in ``result``."""
    from dataclasses import replace

    statuses = log_statuses(result)
    return [
        replace(r, status=statuses[r.message_id]) if r.message_id in statuses else r
        for r in records
    ]


def update_letters_log(workbook: Path, result: SendResult, rules) -> int:
    """Write each message's status into the ``Letters Log`` sheet of ``workbook`` (the
    output of ``process --letters``), rewriting the file atomically; returns how many rows
    changed. Rows are matched by Message-ID; a draft the clerk deleted unsent
    (``result.cancelled``) becomes ``cancelled``; the other rows and sheets stay as they
    are."""
    from datetime import date as day_type
    from decimal import Decimal

    from .core.dunning import parse_status
    from .core.letters import LOG_COLUMNS, LOG_MONEY
    from .core.outputs import letters_log_model
    from .pipeline import write_atomically
    from .reader import open_workbook

    statuses = log_statuses(result)
    deleted = set(result.cancelled)
    opened = open_workbook(Path(workbook))
    wanted = rules.labels.get("letters_sheet", "Letters Log")
    sheets = [s.name for s in opened.sheets if s.is_worksheet]
    candidates = [name for name in sheets if name.casefold() == wanted.casefold()]
    candidates += [name for name in sheets if name not in candidates]
    for name in candidates:
        rows = opened.grid(name).rows
        header = [str(v) if v is not None else "" for v in (rows[0] if rows else [])]
        if "Message-ID" in header and "Status" in header and "Reference" in header:
            break
    else:
        raise InputError(
            f"{Path(workbook).name} has no Letters Log with a Message-ID column: "
            "give the workbook that 'process --letters' wrote."
        )
    records, changed = [], 0
    for values in rows[1:]:
        record = {
            column: values[header.index(column)]
            if column in header and header.index(column) < len(values)
            else None
            for column in LOG_COLUMNS
        }
        for column in LOG_COLUMNS:
            value = record[column]
            if column in LOG_MONEY:
                record[column] = int((Decimal(str(value or 0)) * 100).to_integral_value())
            elif column == "Date" and hasattr(value, "date"):
                record[column] = value.date()
            elif not isinstance(value, day_type):
                record[column] = "" if value is None else str(value)
        status = statuses.get(record["Message-ID"])
        if record["Message-ID"] in deleted and parse_status(record["Status"]) == "draft":
            status = "cancelled"  # deleted unsent; a status the clerk typed stays
        if status is not None and status != record["Status"]:
            record["Status"] = status
            changed += 1
        records.append(record)
    if changed:
        from dataclasses import replace

        model = replace(letters_log_model(records, rules), name=name)
        write_atomically(Path(workbook), opened, None, [model], frozenset({name.casefold()}))
    return changed


def _logged_statuses(folder: Path, rules, workbook: Path | None = None) -> dict[str, str]:
    """Message-ID -> status (sent, unknown, ...) in the letters folder's own Letters Log;
    a letter cancelled in the Letters Log of ``workbook`` (the one the clerk keeps) is
    cancelled too."""
    from .dunning_log import FOLDER_LOG

    statuses = _statuses_in(Path(folder) / FOLDER_LOG, rules)
    if workbook is not None:
        statuses.update(
            (message_id, status)
            for message_id, status in _statuses_in(Path(workbook), rules).items()
            if status == CANCELLED
        )
    return statuses


def _statuses_in(path: Path, rules) -> dict[str, str]:
    """Message-ID -> status in the Letters Log sheet of the workbook at ``path``."""
    from .core.dunning import parse_status
    from .dunning_log import log_rows
    from .reader import open_workbook

    if not path.is_file():
        return {}
    try:
        rows = log_rows(open_workbook(path), rules)[0]
    except InputError:
        return {}  # the journal alone decides, as before the log existed
    return {
        str(row.get("Message-ID") or ""): parse_status(row.get("Status")) or ""
        for row in rows
        if row.get("Message-ID")
    }
