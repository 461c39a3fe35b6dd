"""Email drafts and SMS texts for the customers to message (design.md §12).

The shell half of :mod:`receivables.core.messages`: it loads the editable templates of
``letter_templates/`` (``email_<name>.<language>.j2`` laid out by ``email_layout.txt.j2``
and ``email_layout.html.j2``; ``sms_<name>.<language>.j2``), renders them in a Jinja
sandbox (HTML autoescaped), and writes

- one ``.eml`` draft per message into ``DIR/email/`` (RFC 5322 through the standard
  ``email`` package, UTF-8 headers encoded, ``X-Unsent: 1`` so that Outlook opens it as
  a draft to send, a Message-ID that ``receivables send`` keeps), with the letter
  attached (PDF when converted, else the .docx) for stages that have a letter;
- ``DIR/sms/sms.csv`` for an SMS gateway, and rows for the ``SMS`` sheet;
- a Letters Log row per message (channel, Message-ID, status ``draft``).

A customer without a usable email address is listed in Exceptions with the cell, and
its letter goes by post.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
)
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from .atomic import atomic_write
from .core import letters as core_letters
from .core import messages as core
from .core import sms as sms_core
from .core.issues import InputError, Issue, Severity
from .core.rules import Rules
from .letters import FILTERS, LetterRecord, LettersResult, packaged_templates_dir, safe_name

EMAIL_DIR = "email"
SMS_DIR = "sms"
SMS_CSV = "sms.csv"
LAYOUTS = {"text": "email_layout.txt.j2", "html": "email_layout.html.j2"}
# Spaces babel puts in money and dates that no SMS alphabet needs: a plain space keeps a
# text in GSM-7 (one no-break space would make the whole text UCS-2, at 70 characters).
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " "})


class MessageTemplateError(InputError):
    """Message templates that cannot be rendered; ``problems`` names each file."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("message templates need fixing: " + "; ".join(problems))


def _paragraphs(value: Any) -> Markup:
    # Blank lines separate paragraphs; a single line break stays a line break.
    text = str(escape(value))
    parts = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    return Markup("".join(f"<p>{part.replace(chr(10), '<br>')}</p>\n" for part in parts))


def _finalize(value: Any) -> Any:
    # Windows line ends from Excel cells become plain ones.
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


class MessageTemplates:
    """The message templates of a folder (falling back to the packaged ones), sandboxed."""

    def __init__(self, folder: Path | None = None):
        folders = [str(packaged_templates_dir())]
        if folder is not None and Path(folder).resolve() != packaged_templates_dir().resolve():
            folders.insert(0, str(folder))
        loader = ChoiceLoader([FileSystemLoader(f) for f in folders])
        self.folders = [Path(f) for f in folders]
        self.envs = {}
        for kind, autoescape in (("text", False), ("html", True)):
            env = SandboxedEnvironment(
                loader=loader,
                autoescape=autoescape,
                undefined=StrictUndefined,
                finalize=_finalize,
                keep_trailing_newline=False,
            )
            env.filters.update(FILTERS)
            env.filters["paragraphs"] = _paragraphs
            self.envs[kind] = env

    @staticmethod
    def file_name(channel: str, name: str, language: str) -> str:
        """``email_pre_due.es.j2``."""
        return f"{channel}_{name}.{language}.j2"

    def exists(self, channel: str, name: str, language: str) -> bool:
        """True when the folder (or the packaged set) has that template."""
        file = self.file_name(channel, name, language)
        return any((folder / file).is_file() for folder in self.folders)

    def render_email(
        self, name: str, language: str, context: Mapping[str, Any]
    ) -> tuple[str, str, str]:
        """``(subject, text, html)`` of the email template ``name`` in ``language``."""
        file = self.file_name("email", name, language)
        out = {}
        subject = ""
        for kind, env in self.envs.items():
            template = env.get_template(file)
            values = {**context, "layout": LAYOUTS[kind]}
            out[kind] = template.render(values)
            if kind == "text":
                block = template.blocks.get("subject")
                if block is None:
                    raise TemplateError(f"{file} has no {{% block subject %}}")
                subject = "".join(block(template.new_context(values)))
        subject = " ".join(subject.split())
        text = re.sub(r"\n{3,}", "\n\n", out["text"]).strip() + "\n"
        return subject, text, out["html"]

    def render_sms(self, name: str, language: str, context: Mapping[str, Any]) -> str:
        """The SMS text of template ``name`` in ``language``, on one line."""
        template = self.envs["text"].get_template(self.file_name("sms", name, language))
        return " ".join(template.render(context).translate(_SPACES).split())


# ---- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsRow:
    """One SMS to send through a gateway (a row of the SMS sheet and the CSV)."""

    date: date
    customer: str
    currency: str
    stage: str  # the stage label
    phone: str
    number: str  # E.164, empty when the phone cannot be read
    country: str
    language: str
    text: str
    encoding: str
    segments: int
    reference: str

    def values(self) -> tuple:
        """The row of the SMS sheet, in :data:`SMS_COLUMNS` order."""
        return (
            self.date,
            self.customer,
            self.currency,
            self.stage,
            self.phone,
            self.number,
            self.country,
            self.language,
            self.text,
            sms_core.length(self.text),
            self.encoding,
            self.segments,
            self.reference,
        )


SMS_COLUMNS = (
    "Date",
    "Customer",
    "Currency",
    "Stage",
    "Phone",
    "Number",
    "Country",
    "Language",
    "Text",
    "Characters",
    "Encoding",
    "Segments",
    "Reference",
)


@dataclass
class MessagesResult:
    """What :func:`write_messages` did: Letters Log records (the letters' ones updated to
    their channel), SMS rows, drafts written, and the issues found."""

    records: list[LetterRecord] = field(default_factory=list)
    sms: list[SmsRow] = field(default_factory=list)
    drafts: list[Path] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


# ---- writing ---------------------------------------------------------------------------------


def split_stages(
    stages: Collection[str] | None, rules: Rules
) -> tuple[list[str] | None, set[str] | None, list[Issue]]:
    """``--stages`` into (stages for letters, stage keys for messages, problems).

    A stage named that has neither a letter nor a message is a problem; a message-only
    stage (``pre_due``) is not one for the letters.
    """
    if stages is None:
        return None, None, []
    email, sms, _ = core.parse_message_settings(rules)
    with_letter = {stage.key for stage in rules.stages if stage.letter}
    messaged = set(email.stages) | set(sms.stages)
    letters, keys, issues = [], set(), []
    from .core.classify import resolve_stage_name

    for name in stages:
        key = resolve_stage_name(str(name), rules)
        if key in with_letter:
            letters.append(name)
        if key is not None and (key in with_letter or key in messaged):
            keys.add(key)
        else:
            issues.append(
                Issue(
                    "letters", f"{name!r} is not a stage with a letter or a message", Severity.ERROR
                )
            )
    return letters, keys, issues


def write_messages(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    out_dir: Path | str,
    letters: LettersResult,
    *,
    stages: Collection[str] | None = None,
    email: bool = True,
    sms: bool = True,
    sheet: str | None = None,
    columns: Mapping[str, int] | None = None,
    templates_dir: Path | str | None = None,
    targets: Sequence[core.MessageTarget] | None = None,
    history: Sequence[core.SentMessage] = (),
) -> MessagesResult:
    """Email drafts and SMS texts for the letters written and the message stages.

    ``letters`` is what :func:`receivables.letters.write_letters` wrote into ``out_dir``:
    each letter whose customer has an email address goes as an attachment of a cover
    message, the others by post. ``stages`` (keys) limits the message stages. ``targets``
    are the customers to message at stages without a letter (default: chosen from
    ``classified`` by :func:`core.message_targets`), under the dunning decisions
    (:func:`core.follow_dunning`: blocks, credits, minimum amount, and ``history``, the
    messages of the Letters Log, for the interval). ``columns`` maps canonical fields to
    sheet columns, for issue locations (``Ledger!O12``).
    """
    run, issues = _message_run(rules, as_of, stages, sheet, columns, templates_dir)
    if targets is None:
        targets = core.message_targets(classified, rules, run.stages.target_stages())
    targets, held, dunning_issues = core.follow_dunning(
        targets, classified, rules, as_of, history, run.stages.channels(), sheet
    )
    outgoing = _Outgoing(issues=[*issues, *dunning_issues])
    if email:
        jobs = _letter_jobs_by_reference(classified, rules, as_of, letters)
        outgoing.add(_letter_covers(run, jobs, letters.records, Path(out_dir)))
    else:
        outgoing.records.extend(letters.records)
    for target in targets:
        language = core.message_language(target, run.letter.default_language)
        reference = core.target_reference(target, run.letter.reference_prefix, as_of)
        if email and run.stages.emails_alone(target) and not _held(target, "email", held):
            outgoing.add(_stage_email(run, target, language, reference))
        if sms and target.stage in run.stages.sms and not _held(target, "sms", held):
            outgoing.add(_stage_sms(run, target, language, reference))
    return _write_outgoing(run, outgoing, Path(out_dir))


def _message_run(
    rules: Rules,
    as_of: date,
    stages: Collection[str] | None,
    sheet: str | None,
    columns: Mapping[str, int] | None,
    templates_dir: Path | str | None,
) -> tuple[_MessageRun, list[Issue]]:
    """The settings, templates and issue cells of a run, and the settings' problems."""
    email, sms, issues = core.parse_message_settings(rules)
    letter, _ = core_letters.parse_letter_settings(rules)
    run = _MessageRun(
        rules=rules,
        as_of=as_of,
        templates=MessageTemplates(_message_folder(rules, templates_dir)),
        email=email,
        sms=sms,
        letter=letter,
        stages=_stages_messaged(rules, email, sms, stages),
        sender=core.sender_address(email, letter),
        sheet=sheet,
        email_column=(columns or {}).get("email"),
        phone_column=(columns or {}).get("phone"),
    )
    return run, list(issues)


def _write_outgoing(run: _MessageRun, outgoing: _Outgoing, out: Path) -> MessagesResult:
    """Write the drafts (every template checked first) and the gateway CSV into ``out``."""
    issues = list(outgoing.issues)
    if outgoing.drafts and run.sender is None:
        issues.append(_NO_SENDER)
    files = _write_drafts(outgoing.drafts, run.templates, run.sender, run.email, out)
    if outgoing.sms:
        _write_sms_csv(outgoing.sms, out / SMS_DIR / SMS_CSV)
    return MessagesResult(
        records=_records_with_draft_files(outgoing.records, outgoing.drafts, files),
        sms=outgoing.sms,
        drafts=files,
        issues=issues,
    )


def _message_folder(rules: Rules, templates_dir: Path | str | None) -> Path | None:
    if templates_dir:
        return Path(templates_dir)
    configured = str(rules.section("letters").get("templates_dir", "") or "").strip()
    return Path(configured) if configured else None


@dataclass(frozen=True)
class _StagesMessaged:
    """The stages this run messages: by email, by SMS, and those that have a letter."""

    email: tuple[str, ...]
    sms: tuple[str, ...]
    with_letter: frozenset[str]

    def target_stages(self) -> set[str]:
        """The stages whose customers are messaged without a letter (email or SMS)."""
        return {s for s in self.email if s not in self.with_letter} | set(self.sms)

    def channels(self) -> dict[str, set[str]]:
        """Stage key -> the channels its messages go by, for the dunning interval."""
        channels = {stage: {"email"} for stage in self.email if stage not in self.with_letter}
        for stage in self.sms:
            channels.setdefault(stage, set()).add("sms")
        return channels

    def emails_alone(self, target: core.MessageTarget) -> bool:
        """True when the target's stage sends an email of its own (no letter to cover)."""
        return target.stage in self.email and target.stage not in self.with_letter


def _stages_messaged(
    rules: Rules,
    email: core.EmailSettings,
    sms: core.SmsSettings,
    wanted: Collection[str] | None,
) -> _StagesMessaged:
    """The message stages of the settings, limited to ``wanted`` (stage keys) when given."""
    wanted = set(wanted) if wanted is not None else None
    return _StagesMessaged(
        email=tuple(s for s in email.stages if wanted is None or s in wanted),
        sms=tuple(s for s in sms.stages if wanted is None or s in wanted),
        with_letter=frozenset(stage.key for stage in rules.stages if stage.letter),
    )


@dataclass(frozen=True)
class _MessageRun:
    """What every message of one run shares: settings, templates, the date, issue cells."""

    rules: Rules
    as_of: date
    templates: MessageTemplates
    email: core.EmailSettings
    sms: core.SmsSettings
    letter: core_letters.LetterSettings
    stages: _StagesMessaged
    sender: Address | None
    sheet: str | None
    email_column: int | None
    phone_column: int | None

    def context(
        self, target: core.MessageTarget, language: str, reference: str, **letter: Any
    ) -> dict[str, Any]:
        """The render context of a message to ``target`` (``letter``: a cover's extras)."""
        return core.message_context(
            target,
            self.rules,
            self.letter,
            self.as_of,
            language=language,
            reference=reference,
            **letter,
        )

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs (empty without a sender)."""
        return self.sender.domain if self.sender is not None else ""

    def language_of(self, channel: str, name: str, language: str) -> str:
        """``language`` when template ``name`` exists in it, else the fallback language."""
        return language if self.templates.exists(channel, name, language) else core.FALLBACK


@dataclass
class _Outgoing:
    """Messages decided and not yet written: drafts, Letters Log records, SMS rows, issues."""

    drafts: list[_Draft] = field(default_factory=list)
    records: list[LetterRecord] = field(default_factory=list)
    sms: list[SmsRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def add(self, other: _Outgoing) -> None:
        """Append ``other``'s messages and issues after these."""
        self.drafts.extend(other.drafts)
        self.records.extend(other.records)
        self.sms.extend(other.sms)
        self.issues.extend(other.issues)


_NO_SENDER = Issue(
    "email settings",
    "the drafts have no From address (Outlook "
    "and Thunderbird fill in the account you send with); set "
    "email.sender or company.email to send them with "
    "'receivables send'",
    Severity.INFO,
)


def _held(target: core.MessageTarget, channel: str, held: Collection[tuple]) -> bool:
    """True when the dunning decisions hold the target's messages of ``channel``."""
    return (target.customer, target.currency, channel) in held


def _letter_covers(
    run: _MessageRun,
    jobs: Mapping[str, core_letters.LetterJob],
    letter_records: Sequence[LetterRecord],
    out: Path,
) -> _Outgoing:
    """A cover email for each letter of an email stage whose customer has an address.

    Returns every letter's Letters Log record, the emailed ones as ``email`` drafts
    with their Message-ID. A customer without a usable address is an issue, and the
    letter goes by post.
    """
    records = list(letter_records)
    drafts: list[_Draft] = []
    issues: list[Issue] = []
    for index, record in enumerate(records):
        job = jobs.get(record.reference)
        if job is None or job.stage not in run.stages.email:
            continue
        target = _target_of_letter(job)
        problem = core.address_issue(target, run.sheet, run.email_column, "the letter goes by post")
        if problem is not None:
            issues.append(problem)
        if not core.parse_addresses(target.email)[0]:
            continue
        attachment = out / (record.pdf or record.file)
        name = run.email.template_for(job.stage, True)
        language = run.language_of("email", name, job.language)
        context = run.context(
            target,
            language,
            record.reference,
            letter=job.context,
            attachment=attachment.name,
        )
        mid = core.message_id(record.reference, "email", run.domain)
        drafts.append(_Draft(name, language, context, target, mid, record.reference, attachment))
        records[index] = replace(record, channel="email", message_id=mid, status="draft")
    return _Outgoing(drafts=drafts, records=records, issues=issues)


def _stage_email(
    run: _MessageRun, target: core.MessageTarget, language: str, reference: str
) -> _Outgoing:
    """The email draft of a stage without a letter, or why there is none."""
    found = _Outgoing()
    problem = core.address_issue(target, run.sheet, run.email_column, "no email is written")
    if problem is not None:
        found.issues.append(problem)
    if not core.parse_addresses(target.email)[0]:
        return found
    name = run.email.template_for(target.stage, False)
    lang = run.language_of("email", name, language)
    if not run.templates.exists("email", name, lang):
        found.issues.append(_missing_template(run.templates, "email", name, target.stage))
        return found
    context = run.context(target, lang, reference)
    mid = core.message_id(reference, "email", run.domain)
    found.drafts.append(_Draft(name, lang, context, target, mid, reference, None))
    found.records.append(
        _message_record(run, target, reference, lang, f"email_{name}", "email", mid)
    )
    return found


def _stage_sms(
    run: _MessageRun, target: core.MessageTarget, language: str, reference: str
) -> _Outgoing:
    """The SMS of a stage, with its Letters Log record, or why there is none."""
    found = _Outgoing()
    row, problem = _sms_row(run, target, language, reference)
    if problem is not None:
        found.issues.append(problem)
    if row is not None:
        found.sms.append(row)
        template = f"sms_{run.sms.template_for(target.stage)}"
        mid = core.message_id(reference, "sms", run.domain)
        found.records.append(
            _message_record(
                run, target, reference, row.language, template, "sms", mid, f"{SMS_DIR}/{SMS_CSV}"
            )
        )
    return found


def _missing_template(templates: MessageTemplates, channel: str, name: str, stage: str) -> Issue:
    """The error for a stage whose ``channel`` template is in no language at all."""
    kind = "SMS" if channel == "sms" else channel
    return Issue(
        channel,
        f"no {kind} template {name!r} for the stage {stage!r} "
        f"({templates.file_name(channel, name, 'en')})",
        Severity.ERROR,
    )


def _records_with_draft_files(
    records: Sequence[LetterRecord], drafts: Sequence[_Draft], files: Sequence[Path]
) -> list[LetterRecord]:
    """The Letters Log records, each email of its own pointing at its draft's file."""
    by_reference = {d.reference: path for d, path in zip(drafts, files, strict=True)}
    return [
        replace(r, file=f"{EMAIL_DIR}/{by_reference[r.reference].name}")
        if r.channel == "email" and r.template.startswith("email_")
        else r
        for r in records
    ]


@dataclass(frozen=True)
class _Draft:
    template: str
    language: str
    context: Mapping[str, Any]
    target: core.MessageTarget
    message_id: str
    reference: str
    attachment: Path | None


def _letter_jobs_by_reference(classified, rules, as_of, letters: LettersResult):
    # The letters' jobs again (pure and fast): their items and render contexts.
    if not letters.records:
        return {}
    if letters.jobs:
        return {job.reference: job for job in letters.jobs}
    from .letters import resolve_templates_dir, template_files

    stages = sorted({record.stage for record in letters.records})
    available = template_files(resolve_templates_dir(rules)).keys()
    jobs, _ = core_letters.letter_jobs(classified, rules, as_of, stages, available=available)
    return {job.reference: job for job in jobs}


def _target_of_letter(job: core_letters.LetterJob) -> core.MessageTarget:
    items = tuple(
        core.MessageItem(
            row=i.row,
            invoice=i.invoice,
            invoice_date=i.invoice_date,
            due_date=i.due_date,
            days_overdue=i.days_overdue,
            balance_cents=i.balance_cents,
        )
        for i in job.items
    )
    return core.MessageTarget(
        customer=job.customer,
        currency=job.currency,
        stage=job.stage,
        items=items,
        customer_id=job.customer_id,
        contact=job.contact,
        email=job.email,
        phone=job.phone,
        language=job.language,
        address=job.address,
        credits_cents=job.credits_cents,
    )


def _message_record(
    run: _MessageRun,
    target: core.MessageTarget,
    reference: str,
    language: str,
    template: str,
    channel: str,
    mid: str,
    file: str = "",
) -> LetterRecord:
    """The Letters Log record of a message of its own (a draft, nothing sent yet)."""
    return LetterRecord(
        reference=reference,
        date=run.as_of,
        customer=target.customer,
        currency=target.currency,
        stage=run.rules.stage(target.stage).label,
        template=template,
        language=language,
        amount_cents=target.total_cents,
        interest_cents=0,
        compensation_cents=0,
        file=file,
        channel=channel,
        message_id=mid,
        status="draft",
    )


def _render_all(drafts: Sequence[_Draft], templates: MessageTemplates) -> list[tuple]:
    rendered, problems = [], []
    checked: dict[tuple[str, str], str | None] = {}
    for draft in drafts:
        key = (draft.template, draft.language)
        if checked.get(key):
            continue
        try:
            rendered.append(templates.render_email(draft.template, draft.language, draft.context))
            checked[key] = None
        except TemplateNotFound as exc:
            checked[key] = f"{templates.file_name('email', *key)}: needs {exc.name}, not found"
        except TemplateError as exc:
            where = getattr(exc, "name", None) or templates.file_name("email", *key)
            line = getattr(exc, "lineno", None)
            checked[key] = f"{where}{f' line {line}' if line else ''}: {exc.message or exc}"
        except Exception as exc:  # any runtime error of a template is the template's problem
            checked[key] = f"{templates.file_name('email', *key)}: {type(exc).__name__}: {exc}"
        if checked[key]:
            problems.append(checked[key])
    if problems:
        raise MessageTemplateError(problems)
    return rendered


def _write_drafts(
    drafts: Sequence[_Draft],
    templates: MessageTemplates,
    sender: Address | None,
    settings: core.EmailSettings,
    out: Path,
) -> list[Path]:
    if not drafts:
        return []
    rendered = _render_all(drafts, templates)  # every template checked before any file
    folder = out / EMAIL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths, used = [], set()
    for draft, (subject, text, html) in zip(drafts, rendered, strict=True):
        message = build_email(draft, subject, text, html, sender, settings)
        stem = f"{safe_name(draft.target.customer)}_{draft.reference}"
        while stem.casefold() in used:
            stem += "_"
        used.add(stem.casefold())
        path = folder / f"{stem}.eml"
        with atomic_write(path) as sink:
            sink.write(email_bytes(message))
        paths.append(path)
    return paths


def email_bytes(message: EmailMessage) -> bytes:
    """The message as RFC 5322 bytes: CRLF line ends, UTF-8 headers as encoded words.

    Headers are written unfolded (up to the 998 octets a line may have): the standard
    library's folding of encoded words loses the spaces between words of a mixed-script
    subject (``– García 张伟`` reads back as ``–García张伟``) or doubles them. Every mail
    program reads an unfolded header; a header too long for one line is folded after all.
    """
    data = message.as_bytes(policy=_UNFOLDED)
    head = data.split(b"\r\n\r\n", 1)[0]
    if max(len(line) for line in head.split(b"\r\n")) > 998:
        data = message.as_bytes(policy=policy.SMTP)
    return data


_UNFOLDED = policy.SMTP.clone(max_line_length=998)


def build_email(
    draft: _Draft,
    subject: str,
    text: str,
    html: str,
    sender: Address | None,
    settings: core.EmailSettings,
) -> EmailMessage:
    """The draft message: headers, text and HTML bodies, the letter attached."""
    message = EmailMessage(policy=policy.SMTP)
    if sender is not None:
        message["From"] = sender
    addresses, _ = core.parse_addresses(draft.target.email)
    name = draft.target.contact or draft.target.customer
    message["To"] = [Address(display_name=name, addr_spec=address) for address in addresses]
    if settings.reply_to:
        message["Reply-To"] = core.parse_addresses(settings.reply_to)[0]
    if settings.bcc:
        message["Bcc"] = core.parse_addresses(settings.bcc)[0]
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)  # when the draft was written
    message["Message-ID"] = draft.message_id
    # Outlook opens a message with this header as a draft to send, not as received mail.
    message["X-Unsent"] = "1"
    message["X-Receivables-Reference"] = draft.reference
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if draft.attachment is not None:
        data = draft.attachment.read_bytes()
        if draft.attachment.suffix.lower() == ".pdf":
            maintype, subtype = "application", "pdf"
        else:
            maintype, subtype = (
                "application",
                "vnd.openxmlformats-officedocument.wordprocessingml.document",
            )
        message.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=draft.attachment.name
        )
    return message


# ---- SMS ----------------------------------------------------------------------------------------


def _sms_row(
    run: _MessageRun, target: core.MessageTarget, language: str, reference: str
) -> tuple[SmsRow | None, Issue | None]:
    """The SMS to ``target`` and a problem with it (too many segments), or why there is none.

    No phone, a number that cannot be read or a fixed line is a reason, not an error; a
    stage without an SMS template in any language is an error; a template that does not
    render stops the run (:class:`MessageTemplateError`).
    """
    from .core.issues import cell_ref

    where = cell_ref(run.sheet, target.first_row, run.phone_column)
    country = sms_core.customer_country(target.region, target.address, run.rules.country)
    number, reason = _mobile_number(target, country, where)
    if number is None:
        return None, reason
    name = run.sms.template_for(target.stage)
    lang = run.language_of("sms", name, language)
    if not run.templates.exists("sms", name, lang):
        return None, _missing_template(run.templates, "sms", name, target.stage)
    text = _render_sms(run.templates, name, lang, run.context(target, lang, reference))
    encoding, parts = sms_core.segments(text)
    problem = None
    if parts > run.sms.max_segments:
        problem = Issue(
            where,
            f"the SMS to {target.customer} takes {parts} segments "
            f"({encoding}, {sms_core.length(text)} characters), more than "
            f"sms.max_segments = {run.sms.max_segments}: shorten "
            f"{run.templates.file_name('sms', name, lang)}",
        )
    row = SmsRow(
        date=run.as_of,
        customer=target.customer,
        currency=target.currency,
        stage=run.rules.stage(target.stage).label,
        phone=target.phone,
        number=number,
        country=country,
        language=lang,
        text=text,
        encoding=encoding,
        segments=parts,
        reference=reference,
    )
    return row, problem


def _mobile_number(
    target: core.MessageTarget, country: str, where: Any
) -> tuple[str | None, Issue | None]:
    """The E.164 number to text ``target`` at, or None and the reason why not."""
    if not target.phone.strip():
        # An email usually goes instead: worth knowing, not a problem to fix.
        return None, Issue(
            where,
            f"no SMS to {target.customer} ({target.currency}): the customer has no phone number",
            Severity.INFO,
        )
    number = sms_core.e164(target.phone, country)
    if number is None:
        import phonenumbers

        # The example is the customer's own country code (a GB number was told "+34").
        code = phonenumbers.country_code_for_region(country.upper()) if country else 0
        return None, Issue(
            where,
            f"no SMS to {target.customer}: {target.phone!r} is not a "
            f"phone number in {country}; write it with the country code "
            f"(+{code or 34} ...)",
        )
    if sms_core.is_mobile(number) is False:
        return None, Issue(
            where, f"no SMS to {target.customer}: {target.phone!r} is a fixed line", Severity.INFO
        )
    return number, None


def _render_sms(
    templates: MessageTemplates, name: str, language: str, context: Mapping[str, Any]
) -> str:
    """The text of SMS template ``name``; a template that fails stops the run."""
    try:
        return templates.render_sms(name, language, context)
    except TemplateError as exc:
        file = templates.file_name("sms", name, language)
        raise MessageTemplateError([f"{file}: {exc}"]) from exc


def _write_sms_csv(rows: Iterable[SmsRow], path: Path) -> None:
    """The gateway file: number, message, reference, customer, segments, encoding (UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["number", "message", "reference", "customer", "segments", "encoding"])
    for row in rows:
        writer.writerow(
            [row.number, row.text, row.reference, row.customer, row.segments, row.encoding]
        )
    with atomic_write(path) as sink:
        sink.write(buffer.getvalue().encode("utf-8"))


# ---- letters and messages together -----------------------------------------------------------


@dataclass
class SentOut:
    """Letters, drafts and texts of one run: the Letters Log records, the SMS rows, issues."""

    records: list[LetterRecord]
    sms: list[SmsRow]
    drafts: list[Path]
    issues: list[Issue]

    def models(self, rules: Rules) -> list:
        """The ``SMS`` sheet when there are texts (no sheet otherwise)."""
        return [sms_model(self.sms, rules)] if self.sms else []


def write_letters_and_messages(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    out_dir: Path,
    *,
    stages: Collection[str] | None = None,
    pdf: bool = False,
    email: bool = True,
    sms: bool = True,
    sheet: str | None = None,
    columns: Mapping[str, int] | None = None,
    history: Collection = (),
    decisions: Mapping | None = None,
    log_rows: Sequence[Mapping[str, Any]] = (),
) -> SentOut:
    """Letters (``receivables.letters``), then email drafts and SMS texts (design.md §12).

    ``email`` also follows ``email.drafts``: False there writes no drafts by default.
    ``history`` is the dunning history the letters follow (``receivables.dunning_log``),
    ``decisions`` the run's dunning decisions made from it (then ``history`` is not
    decided again), ``log_rows`` the earlier Letters Log rows it came from (their messages
    space the messages of this run).
    """
    from .letters import write_letters

    letter_stages, message_stages, stage_issues = split_stages(stages, rules)
    letters = write_letters(
        classified,
        rules,
        as_of,
        out_dir,
        stages=letter_stages,
        pdf=pdf,
        sheet=sheet,
        history=history,
        decisions=decisions,
    )
    settings, _, _ = core.parse_message_settings(rules)
    messages = write_messages(
        classified,
        rules,
        as_of,
        out_dir,
        letters,
        stages=message_stages,
        email=email and settings.drafts,
        sms=sms,
        sheet=sheet,
        columns=columns,
        history=core.message_history(log_rows, rules),
    )
    return SentOut(
        records=messages.records,
        sms=messages.sms,
        drafts=messages.drafts,
        issues=[*stage_issues, *letters.issues, *messages.issues],
    )


def sms_model(rows: Sequence[SmsRow], rules: Rules):
    """The ``SMS`` sheet: one row per text, with its E.164 number and segment count."""
    from .core.sheets import DATE_FORMAT, INT_FORMAT, Column, SheetModel

    widths = {
        "Date": 12,
        "Customer": 30,
        "Currency": 9,
        "Stage": 15,
        "Phone": 18,
        "Number": 16,
        "Country": 8,
        "Language": 9,
        "Text": 80,
        "Characters": 10,
        "Encoding": 9,
        "Segments": 9,
        "Reference": 22,
    }
    formats = {"Date": DATE_FORMAT, "Characters": INT_FORMAT, "Segments": INT_FORMAT}
    columns = tuple(Column(name, formats.get(name), widths[name]) for name in SMS_COLUMNS)
    colors = {stage.label: stage.color for stage in rules.all_stages}
    return SheetModel(
        name=rules.labels.get("sms_sheet", "SMS"),
        columns=columns,
        rows=[row.values() for row in rows],
        row_fills=[colors.get(r.stage) for r in rows],
        fill_columns=(SMS_COLUMNS.index("Stage"),),
        table_name="SMS",
    )
