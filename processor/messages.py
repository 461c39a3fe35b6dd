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
    email_settings, sms_settings, issues = core.parse_message_settings(rules)
    letter_settings, _ = core_letters.parse_letter_settings(rules)
    out = Path(out_dir)
    templates = MessageTemplates(_message_folder(rules, templates_dir))
    result = MessagesResult(issues=list(issues))
    email_column = (columns or {}).get("email")
    phone_column = (columns or {}).get("phone")
    wanted = set(stages) if stages is not None else None
    email_stages = [s for s in email_settings.stages if wanted is None or s in wanted]
    sms_stages = [s for s in sms_settings.stages if wanted is None or s in wanted]
    with_letter = {stage.key for stage in rules.stages if stage.letter}
    if targets is None:
        target_stages = {s for s in email_stages if s not in with_letter} | set(sms_stages)
        targets = core.message_targets(classified, rules, target_stages)
    channels = {stage: {"email"} for stage in email_stages if stage not in with_letter}
    for stage in sms_stages:
        channels.setdefault(stage, set()).add("sms")
    targets, held, dunning_issues = core.follow_dunning(
        targets, classified, rules, as_of, history, channels, sheet
    )
    result.issues.extend(dunning_issues)

    sender = core.sender_address(email_settings, letter_settings)
    domain = sender.domain if sender is not None else ""

    drafts: list[_Draft] = []
    records = list(letters.records)
    if email:
        jobs = _letter_jobs_by_reference(classified, rules, as_of, letters)
        for index, record in enumerate(records):
            job = jobs.get(record.reference)
            if job is None or job.stage not in email_stages:
                continue
            target = _target_of_letter(job)
            problem = core.address_issue(target, sheet, email_column, "the letter goes by post")
            if problem is not None:
                result.issues.append(problem)
            if not core.parse_addresses(target.email)[0]:
                continue
            attachment = out / (record.pdf or record.file)
            language = job.language
            name = email_settings.template_for(job.stage, True)
            if not templates.exists("email", name, language):
                language = core.FALLBACK
            context = core.message_context(
                target,
                rules,
                letter_settings,
                as_of,
                language=language,
                reference=record.reference,
                letter=job.context,
                attachment=attachment.name,
            )
            mid = core.message_id(record.reference, "email", domain)
            drafts.append(
                _Draft(name, language, context, target, mid, record.reference, attachment)
            )
            records[index] = replace(record, channel="email", message_id=mid, status="draft")
    for target in targets:
        language = core.message_language(target, letter_settings.default_language)
        reference = core.target_reference(target, letter_settings.reference_prefix, as_of)
        stage_label = rules.stage(target.stage).label
        if (
            email
            and target.stage in email_stages
            and target.stage not in with_letter
            and (target.customer, target.currency, "email") not in held
        ):
            problem = core.address_issue(target, sheet, email_column, "no email is written")
            if problem is not None:
                result.issues.append(problem)
            if core.parse_addresses(target.email)[0]:
                name = email_settings.template_for(target.stage, False)
                lang = language if templates.exists("email", name, language) else core.FALLBACK
                if not templates.exists("email", name, lang):
                    result.issues.append(
                        Issue(
                            "email",
                            f"no email template {name!r} for the "
                            f"stage {target.stage!r} "
                            f"({templates.file_name('email', name, 'en')})",
                            Severity.ERROR,
                        )
                    )
                else:
                    context = core.message_context(
                        target, rules, letter_settings, as_of, language=lang, reference=reference
                    )
                    mid = core.message_id(reference, "email", domain)
                    drafts.append(_Draft(name, lang, context, target, mid, reference, None))
                    records.append(
                        _message_record(
                            target,
                            reference,
                            stage_label,
                            lang,
                            f"email_{name}",
                            "email",
                            mid,
                            as_of,
                        )
                    )
        if (
            sms
            and target.stage in sms_stages
            and (target.customer, target.currency, "sms") not in held
        ):
            row, problem = _sms_row(
                target,
                rules,
                letter_settings,
                sms_settings,
                templates,
                as_of,
                language,
                reference,
                sheet,
                phone_column,
            )
            if problem is not None:
                result.issues.append(problem)
            if row is not None:
                result.sms.append(row)
                records.append(
                    _message_record(
                        target,
                        reference,
                        stage_label,
                        row.language,
                        f"sms_{sms_settings.template_for(target.stage)}",
                        "sms",
                        core.message_id(reference, "sms", domain),
                        as_of,
                        file=f"{SMS_DIR}/{SMS_CSV}",
                    )
                )

    if drafts and sender is None:
        result.issues.append(
            Issue(
                "email settings",
                "the drafts have no From address (Outlook "
                "and Thunderbird fill in the account you send with); set "
                "email.sender or company.email to send them with "
                "'receivables send'",
                Severity.INFO,
            )
        )
    files = _write_drafts(drafts, templates, sender, email_settings, out)
    result.drafts = files
    by_reference = {d.reference: path for d, path in zip(drafts, files, strict=True)}
    result.records = [
        replace(r, file=f"{EMAIL_DIR}/{by_reference[r.reference].name}")
        if r.channel == "email" and r.template.startswith("email_")
        else r
        for r in records
    ]
    if result.sms:
        _write_sms_csv(result.sms, out / SMS_DIR / SMS_CSV)
    return result


def _message_folder(rules: Rules, templates_dir: Path | str | None) -> Path | None:
    if templates_dir:
        return Path(templates_dir)
    configured = str(rules.section("letters").get("templates_dir", "") or "").strip()
    return Path(configured) if configured else None


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
    target: core.MessageTarget,
    reference: str,
    stage_label: str,
    language: str,
    template: str,
    channel: str,
    mid: str,
    as_of: date,
    file: str = "",
) -> LetterRecord:
    return LetterRecord(
        reference=reference,
        date=as_of,
        customer=target.customer,
        currency=target.currency,
        stage=stage_label,
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
    target,
    rules,
    letter_settings,
    settings: core.SmsSettings,
    templates: MessageTemplates,
    as_of,
    language,
    reference,
    sheet,
    phone_column,
) -> tuple[SmsRow | None, Issue | None]:
    from .core.issues import cell_ref

    where = cell_ref(sheet, target.first_row, phone_column)
    country = sms_core.customer_country(target.region, target.address, rules.country)
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
    name = settings.template_for(target.stage)
    lang = language if templates.exists("sms", name, language) else core.FALLBACK
    if not templates.exists("sms", name, lang):
        return None, Issue(
            "sms",
            f"no SMS template {name!r} for the stage {target.stage!r} "
            f"({templates.file_name('sms', name, 'en')})",
            Severity.ERROR,
        )
    context = core.message_context(
        target, rules, letter_settings, as_of, language=lang, reference=reference
    )
    try:
        text = templates.render_sms(name, lang, context)
    except TemplateError as exc:
        raise MessageTemplateError([f"{templates.file_name('sms', name, lang)}: {exc}"]) from exc
    encoding, parts = sms_core.segments(text)
    problem = None
    if parts > settings.max_segments:
        problem = Issue(
            where,
            f"the SMS to {target.customer} takes {parts} segments "
            f"({encoding}, {sms_core.length(text)} characters), more than "
            f"sms.max_segments = {settings.max_segments}: shorten "
            f"{templates.file_name('sms', name, lang)}",
        )
    row = SmsRow(
        date=as_of,
        customer=target.customer,
        currency=target.currency,
        stage=rules.stage(target.stage).label,
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
    log_rows: Sequence[Mapping[str, Any]] = (),
) -> SentOut:
    """Letters (``receivables.letters``), then email drafts and SMS texts (design.md §12).

    ``email`` also follows ``email.drafts``: False there writes no drafts by default.
    ``history`` is the dunning history the letters follow (``receivables.dunning_log``),
    ``log_rows`` the earlier Letters Log rows it came from (their messages space the
    messages of this run).
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
