"""Messages to customers: who gets an email or an SMS, listing what, in which language.

Pure (design.md §12): from the customers and items to message (:class:`MessageTarget`,
chosen by :func:`message_targets` from a classified ledger, or handed in by the dunning
decision) it builds the render context of each message, the addresses it goes to, a
stable reference and Message-ID, and the problems found as :class:`Issue` values
(no email address, an unreadable one). Rendering the templates, writing ``.eml`` drafts,
the SMS sheet and CSV, and sending are the shell's job (``receivables.messages``,
``receivables.send``).

Settings live in ``[email]`` and ``[sms]``; the SMTP password is never one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from email.headerregistry import Address
from email.utils import getaddresses
from typing import Any

import pandas as pd

from . import frame as F
from .classify import customer_summary, resolve_stage_name
from .issues import Issue, Severity, cell_ref
from .letters import (
    ADDRESSEE_FIELDS,
    FALLBACK_LANGUAGE,
    LetterSettings,
    amount,
    long_date,
    money,
    normalize_language,
    reference_for,
)
from .rules import Rules

SECURITY = ("none", "starttls", "ssl")
# Template of a stage with a letter: a short cover message, the letter attached.
COVER = "cover"
# Keys of a message's render context (letter_templates/README.md documents them).
CONTEXT_KEYS: tuple[str, ...] = (
    "customer", "customer_id", "contact", "greeting", "email", "phone", "currency", "stage",
    "stage_label", "language", "locale", "date", "date_iso", "items", "item_count", "total",
    "total_cents", "first_due_date", "oldest_days_overdue", "reference", "company_name",
    "company_email", "company_phone", "company_website", "bank_name", "iban", "bic",
    "signatory", "signatory_title", "has_attachment", "attachment", "letter",
    "credits", "credits_cents", "net", "net_cents", "has_credits",
    "charges", "charges_cents", "has_charges", "to_pay", "to_pay_cents",
)  # fmt: skip
ITEM_KEYS: tuple[str, ...] = (
    "invoice", "invoice_date", "due_date", "due_date_iso", "days_overdue", "balance",
    "balance_cents",
)  # fmt: skip


@dataclass(frozen=True)
class EmailSettings:
    """Typed ``[email]`` settings (the SMTP password is not among them, on purpose)."""

    stages: tuple[str, ...] = ("pre_due", "reminder", "notice", "demand", "final", "legal")
    drafts: bool = True
    sender: str = ""
    sender_name: str = ""
    reply_to: str = ""
    bcc: str = ""
    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    rate_per_minute: int = 30
    timeout: int = 30
    send_from_addin: bool = False
    templates: Mapping[str, str] = field(default_factory=dict)
    cover_template: str = COVER

    def template_for(self, stage: str, has_letter: bool) -> str:
        """The template name of a message at ``stage`` (the cover when a letter goes with)."""
        if has_letter:
            return self.cover_template
        return self.templates.get(stage, stage)


@dataclass(frozen=True)
class SmsSettings:
    """Typed ``[sms]`` settings."""

    stages: tuple[str, ...] = ("pre_due", "reminder")
    max_segments: int = 2
    templates: Mapping[str, str] = field(default_factory=dict)

    def template_for(self, stage: str) -> str:
        """The SMS template name of ``stage``."""
        return self.templates.get(stage, stage)


def parse_message_settings(rules: Rules) -> tuple[EmailSettings, SmsSettings, list[Issue]]:
    """Parse ``[email]`` and ``[sms]``; bad values become Issues and the defaults stay."""
    issues: list[Issue] = []

    def warn(message: str, severity: Severity = Severity.ERROR) -> None:
        issues.append(Issue("email settings", message, severity))

    for section, known in (
        ("email", EmailSettings.__dataclass_fields__),
        ("sms", SmsSettings.__dataclass_fields__),
    ):
        for key in rules.section(section):
            if key not in known and key != "password":
                warn(f"{section}.{key} is not a setting ({', '.join(known)})", Severity.WARNING)
    email = _email_settings(rules, warn)
    raw_sms = rules.section("sms")
    sms_values: dict[str, Any] = {
        "stages": _stage_list(raw_sms, "sms", SmsSettings().stages, rules, warn),
        "templates": _template_map(raw_sms, "sms", warn),
    }
    if "max_segments" in raw_sms:
        value = raw_sms["max_segments"]
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10:
            sms_values["max_segments"] = value
        else:
            warn("sms.max_segments must be a whole number from 1 to 10")
    return email, SmsSettings(**sms_values), issues


def _email_settings(rules: Rules, warn: Callable[..., None]) -> EmailSettings:
    """The ``[email]`` settings; each bad value is warned of and keeps its default."""
    raw = rules.section("email")
    if "password" in raw:
        # A password in a workbook or a rules file would travel with every copy of it.
        warn(
            "email.password is ignored: the SMTP password is read only from the "
            "RECEIVABLES_SMTP_PASSWORD environment variable or the system keyring",
            Severity.WARNING,
        )
    values = {**_email_texts(raw, warn), **_email_connection(raw, warn)}
    values["stages"] = _stage_list(raw, "email", EmailSettings().stages, rules, warn)
    values["templates"] = _template_map(raw, "email", warn)
    if values.get("cover_template") == "":
        del values["cover_template"]
    return EmailSettings(**values)


def _email_texts(raw: Mapping[str, Any], warn: Callable[..., None]) -> dict[str, Any]:
    """The text settings of ``[email]``, stripped; an address that is none is dropped."""
    values = {}
    for key in ("sender", "sender_name", "reply_to", "bcc", "host", "user", "cover_template"):
        if key in raw:
            values[key] = str(raw[key] or "").strip()
    for key in ("sender", "reply_to", "bcc"):
        if values.get(key) and not parse_addresses(values[key])[0]:
            warn(f"email.{key}: {values[key]!r} is not an email address")
            values[key] = ""
    return values


def _email_connection(raw: Mapping[str, Any], warn: Callable[..., None]) -> dict[str, Any]:
    """The switches and numbers of ``[email]`` (drafts, port, rate, security...) that
    are valid."""
    values: dict[str, Any] = {}
    for key in ("drafts", "send_from_addin"):
        if key in raw:
            if isinstance(raw[key], bool):
                values[key] = raw[key]
            else:
                warn(f"email.{key} must be true or false")
    for key, low, high in (
        ("port", 1, 65535),
        ("rate_per_minute", 0, 100_000),
        ("timeout", 1, 3600),
    ):
        if key in raw:
            value = raw[key]
            if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
                values[key] = value
            else:
                warn(f"email.{key} must be a whole number from {low} to {high}")
    if "security" in raw:
        security = str(raw["security"]).strip().lower()
        if security in SECURITY:
            values["security"] = security
        else:
            warn(f"email.security must be one of {', '.join(SECURITY)}")
    return values


def _stage_list(
    raw: Mapping[str, Any], section: str, default: tuple[str, ...], rules: Rules, warn
) -> tuple[str, ...]:
    if "stages" not in raw:
        return tuple(key for key in default if _is_ladder_stage(key, rules))
    value = raw["stages"]
    if not isinstance(value, list):
        warn(f'{section}.stages must be a list of stage keys like ["pre_due", "reminder"]')
        return tuple(key for key in default if _is_ladder_stage(key, rules))
    stages = []
    for name in value:
        key = resolve_stage_name(str(name), rules)
        if key is None or not _is_ladder_stage(key, rules):
            warn(f"{section}.stages: {name!r} is not a stage of the ladder")
        elif key not in stages:
            stages.append(key)
    return tuple(stages)


def _is_ladder_stage(key: str, rules: Rules) -> bool:
    return any(stage.key == key for stage in rules.stages)


def _template_map(raw: Mapping[str, Any], section: str, warn) -> dict[str, str]:
    value = raw.get("templates", {})
    if not isinstance(value, Mapping):
        warn(f'{section}.templates must be a table of stage = "template name"')
        return {}
    out = {}
    for stage, name in value.items():
        text = str(name).strip()
        if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", text):
            out[str(stage)] = text
        else:
            warn(
                f"{section}.templates.{stage}: {name!r} is not a template name "
                "(letters, digits, _ and -)"
            )
    return out


# ---- addresses -----------------------------------------------------------------------------


_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def parse_addresses(text: str) -> tuple[list[str], list[str]]:
    """The email addresses in a cell (``a@x.es; b@x.es``), and the parts that are not one."""
    good, bad = [], []
    cleaned = (text or "").replace(";", ",").replace("\n", ",")
    for _name, address in getaddresses([cleaned]):
        address = address.strip()
        if not address:
            continue
        if _ADDRESS.match(address) and ".." not in address:
            if address.casefold() not in {a.casefold() for a in good}:
                good.append(address)
        else:
            bad.append(address)
    if not good and not bad and cleaned.strip(" ,"):
        bad.append(cleaned.strip(" ,"))
    return good, bad


def sender_address(email: EmailSettings, letter_settings: LetterSettings) -> Address | None:
    """The From address: ``email.sender``, else the company's email; None when neither."""
    addresses = (
        parse_addresses(email.sender)[0] or parse_addresses(letter_settings.company.email)[0]
    )
    if not addresses:
        return None
    name = email.sender_name or letter_settings.company.name
    username, domain = addresses[0].rsplit("@", 1)
    return Address(display_name=name, username=username, domain=domain)


def message_id(reference: str, channel: str, domain: str) -> str:
    """``<RC-261015-7KQ2M9XA.email@example.com>``: stable for the same message.

    The same customer, currency, stage and as-of date give the same reference, so drafts
    written again carry the same id and the send journal recognises a message that was
    already sent.
    """
    domain = re.sub(r"[^A-Za-z0-9.-]", "", domain) or "receivables.invalid"
    return f"<{reference}.{channel}@{domain}>"


# ---- who gets a message ---------------------------------------------------------------------


@dataclass(frozen=True)
class MessageItem:
    """One item listed in a message."""

    row: int
    invoice: str
    invoice_date: date | None
    due_date: date
    days_overdue: int
    balance_cents: int


@dataclass(frozen=True)
class MessageTarget:
    """A customer and currency to message at ``stage``, with the items to list.

    The input of the message builders: :func:`message_targets` makes them from a
    classified ledger; the dunning decision may make them instead.
    """

    customer: str
    currency: str
    stage: str
    items: tuple[MessageItem, ...]
    customer_id: str = ""
    contact: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    address: str = ""
    region: str = ""
    credits_cents: int = 0  # the customer's credits in the currency (netted, dunning)

    @property
    def total_cents(self) -> int:
        """The sum of the items listed."""
        return sum(item.balance_cents for item in self.items)

    @property
    def net_cents(self) -> int:
        """What the message asks for: the items less the credits that offset them."""
        return max(0, self.total_cents - self.credits_cents)

    @property
    def first_row(self) -> int:
        """The sheet row of the first item (for issue locations)."""
        return min(item.row for item in self.items)


def message_targets(
    classified: pd.DataFrame, rules: Rules, stages: Collection[str]
) -> list[MessageTarget]:
    """One target per customer and currency whose stage is in ``stages``.

    The items listed are the customer's open ladder items (not disputed, promised, paid or
    credit) from the start of its stage's window: items due within the window for a stage
    before the due date (``pre_due``), else items due today or earlier. Customers without
    such items get none.
    """
    wanted = set(stages)
    if classified.empty or not wanted:
        return []
    frame = classified.assign(currency=classified["currency"].fillna(rules.default_currency))
    summary = customer_summary(frame, rules)
    summary = summary[summary["stage"].isin(wanted)]
    if summary.empty:
        return []
    credits = _credits(frame)
    details = _first_texts(frame, (*ADDRESSEE_FIELDS, "region"))
    by_key = _open_items(frame, rules)
    targets = []
    for record in summary.itertuples(index=False):
        start = rules.stage(record.stage).from_days
        start = min(0, start) if start is not None else 0
        items = tuple(
            item
            for item in by_key.get((record.customer, record.currency), [])
            if item.days_overdue >= start
        )
        if not items:
            continue
        info = {name: details[name].get(record.customer, "") for name in details}
        targets.append(
            MessageTarget(
                customer=str(record.customer),
                currency=str(record.currency),
                stage=record.stage,
                items=items,
                customer_id=info["customer_id"],
                contact=info["contact"],
                email=info["email"],
                phone=info["phone"],
                language=info["language"],
                address=info["address"],
                region=info["region"],
                credits_cents=credits.get((record.customer, record.currency), 0),
            )
        )
    return targets


def _credits(frame: pd.DataFrame) -> dict[tuple[Any, Any], int]:
    """(customer, currency) -> the cents its credit notes hold (a positive number)."""
    is_credit = (frame[F.STAGE] == "credit").to_numpy(dtype=bool)
    credits: dict[tuple[Any, Any], int] = {}
    for key, balance in zip(
        zip(
            frame.loc[is_credit, "customer"].tolist(),
            frame.loc[is_credit, "currency"].tolist(),
            strict=True,
        ),
        frame.loc[is_credit, F.BALANCE].tolist(),
        strict=True,
    ):
        credits[key] = credits.get(key, 0) - int(balance)
    return credits


def _open_items(frame: pd.DataFrame, rules: Rules) -> dict[tuple[Any, Any], list[MessageItem]]:
    """(customer, currency) -> its open ladder items with a balance, by due date and row."""
    ladder = {stage.key for stage in rules.stages}
    is_open = frame[F.STAGE].isin(ladder) & (frame[F.BALANCE] > 0)
    open_rows = frame[is_open].sort_values(["due_date", F.ROW], kind="stable")
    by_key: dict[tuple[Any, Any], list[MessageItem]] = {}
    for customer, currency, row, invoice, issued, due, days, balance in zip(
        open_rows["customer"].tolist(),
        open_rows["currency"].tolist(),
        open_rows[F.ROW].tolist(),
        _texts(open_rows, "invoice"),
        _dates(open_rows, "invoice_date"),
        _dates(open_rows, "due_date"),
        open_rows[F.DAYS_OVERDUE].tolist(),
        open_rows[F.BALANCE].tolist(),
        strict=True,
    ):
        by_key.setdefault((customer, currency), []).append(
            MessageItem(
                row=int(row),
                invoice=invoice,
                invoice_date=issued,
                due_date=due,
                days_overdue=int(days),
                balance_cents=int(balance),
            )
        )
    return by_key


def _first_texts(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, dict[Any, str]]:
    """Per field, each customer's first non-empty value (on any of its rows)."""
    out: dict[str, dict[Any, str]] = {}
    for name in names:
        if name not in frame:
            out[name] = {}
            continue
        values = frame[name].map(lambda v: v.strip() if isinstance(v, str) else "")
        filled = values != ""
        out[name] = (
            values[filled].groupby(frame.loc[filled, "customer"], sort=False).first().to_dict()
        )
    return out


def _texts(frame: pd.DataFrame, name: str) -> list[str]:
    if name not in frame:
        return [""] * len(frame)
    return [v.strip() if isinstance(v, str) else "" for v in frame[name].tolist()]


def _dates(frame: pd.DataFrame, name: str) -> list[date | None]:
    if name not in frame:
        return [None] * len(frame)
    return [None if pd.isna(v) else v.date() for v in frame[name]]


# ---- render contexts --------------------------------------------------------------------------


def target_reference(target: MessageTarget, prefix: str, as_of: date) -> str:
    """The reference of a message without a letter (stable like a letter's)."""
    return reference_for(prefix, target.customer, target.currency, target.stage, as_of)


def message_language(target: MessageTarget, default: str) -> str:
    """The customer's language code, else ``default``."""
    return normalize_language(target.language) or default


def message_context(
    target: MessageTarget,
    rules: Rules,
    letter_settings: LetterSettings,
    as_of: date,
    *,
    language: str,
    reference: str,
    letter: Mapping[str, Any] | None = None,
    attachment: str = "",
) -> dict[str, Any]:
    """The render context of one message: every key of :data:`CONTEXT_KEYS`.

    ``letter`` is the render context of the letter that goes with the message (a cover
    message), available to templates as ``letter.reply_by``, ``letter.total_claim`` ...
    """
    locale = letter_settings.locale_for(language)
    currency = target.currency
    company = letter_settings.company
    # A cover message asks for what its letter claims: the net principal plus the
    # letter's interest and compensation (the charges), never the principal alone.
    to_pay_cents = int((letter or {}).get("claim_cents") or target.net_cents)
    charges_cents = max(0, to_pay_cents - target.net_cents)
    items = [
        {
            "invoice": item.invoice or "—",
            "invoice_date": long_date(item.invoice_date, locale, "numeric"),
            "due_date": long_date(item.due_date, locale, "numeric"),
            "due_date_iso": item.due_date.isoformat(),
            "days_overdue": item.days_overdue,
            "balance": amount(item.balance_cents, currency, locale),
            "balance_cents": item.balance_cents,
        }
        for item in target.items
    ]
    first_due = min(item.due_date for item in target.items)
    return {
        "customer": target.customer,
        "customer_id": target.customer_id,
        "contact": target.contact,
        "greeting": target.contact or target.customer,
        "email": target.email,
        "phone": target.phone,
        "currency": currency,
        "stage": target.stage,
        "stage_label": rules.stage(target.stage).label,
        "language": language,
        "locale": locale,
        "date": long_date(as_of, locale),
        "date_iso": as_of.isoformat(),
        "items": items,
        "item_count": len(items),
        "total": money(target.total_cents, currency, locale),
        "total_cents": target.total_cents,
        "first_due_date": long_date(first_due, locale),
        "oldest_days_overdue": max(item.days_overdue for item in target.items),
        "reference": reference,
        "company_name": company.name,
        "company_email": company.email,
        "company_phone": company.phone,
        "company_website": company.website,
        "bank_name": company.bank_name,
        "iban": company.iban,
        "bic": company.bic,
        "signatory": company.signatory,
        "signatory_title": company.signatory_title,
        "has_attachment": bool(attachment),
        "attachment": attachment,
        "letter": letter_in_locale(letter or {}, currency, locale),
        "credits": money(target.credits_cents, currency, locale),
        "credits_cents": target.credits_cents,
        "net": money(target.net_cents, currency, locale),
        "net_cents": target.net_cents,
        "has_credits": target.credits_cents > 0,
        "charges": money(charges_cents, currency, locale),
        "charges_cents": charges_cents,
        "has_charges": charges_cents > 0,
        "to_pay": money(to_pay_cents, currency, locale),
        "to_pay_cents": to_pay_cents,
    }


# The letter's money and dates a cover message may quote: each text key, and the exact
# value (cents, ISO date) it is written from.
_LETTER_MONEY = {
    "total_claim": "claim_cents",
    "total_overdue": "overdue_cents",
    "total_interest": "interest_cents",
    "total_compensation": "compensation_cents",
    "total_net": "net_cents",
}
_LETTER_DATES = {
    "letter_date": "letter_date_iso",
    "reply_by": "reply_by_iso",
    "previous_date": "previous_date_iso",
}


def letter_in_locale(letter: Mapping[str, Any], currency: str, locale: str) -> dict[str, Any]:
    """The letter's context with its money and dates written as the message writes them.

    A cover message in a language without its own email templates falls back to English;
    quoting the letter's German "394,64 €" or "11. November 2026" in an English sentence
    would mix two languages, so the figures are written again in the message's locale.
    """
    out = dict(letter)
    if not out or out.get("locale") == locale:
        return out
    for key, cents in _LETTER_MONEY.items():
        if isinstance(out.get(cents), int):
            out[key] = money(out[cents], currency, locale)
    if isinstance(out.get("credits_cents"), int):
        out["total_credits"] = money(-out["credits_cents"], currency, locale)
    for key, iso in _LETTER_DATES.items():
        if out.get(iso):
            out[key] = long_date(date.fromisoformat(str(out[iso])[:10]), locale)
    return out


@dataclass(frozen=True)
class SentMessage:
    """A message of the dunning history: a Letters Log row of channel email or sms."""

    date: date
    customer: str
    currency: str
    stage: str  # stage key
    channel: str
    status: str


def message_history(rows: Sequence[Mapping[str, Any]], rules: Rules) -> list[SentMessage]:
    """The email and SMS rows of the Letters Log that count (sent, draft, unknown)."""
    from .dunning import COUNTING, _as_date, normalize, parse_status

    out = []
    for row in rows:
        cells = {normalize(key): value for key, value in row.items() if isinstance(key, str)}
        channel = normalize(cells.get("channel"))
        if channel not in ("email", "sms"):
            continue
        day = _as_date(cells.get("date"))
        stage = resolve_stage_name(str(cells.get("stage") or ""), rules)
        status = parse_status(cells.get("status")) or "sent"
        customer = str(cells.get("customer") or "").strip()
        if day is None or stage is None or not customer or status not in COUNTING:
            continue
        currency = str(cells.get("currency") or "").strip().upper() or rules.default_currency
        out.append(SentMessage(day, customer, currency, stage, channel, status))
    return out


def follow_dunning(
    targets: Sequence[MessageTarget],
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    history: Sequence[SentMessage] = (),
    channels: Mapping[str, Collection[str]] | None = None,
    sheet: str | None = None,
) -> tuple[list[MessageTarget], dict[tuple[str, str, str], str], list[Issue]]:
    """The dunning decisions for messages, as for letters (design.md §11, §12).

    A customer under a dunning block gets no message; credits offset the items (the
    target's ``credits_cents``) and a net claim at or below ``[dunning] min_amount`` gets
    none; a message of the same stage and channel to the same customer and currency within
    ``min_interval_days`` (sent, or still a draft) is not written again. Returns the targets
    kept, the (customer, currency, channel) pairs held back with the reason, and issues.
    ``channels`` maps each stage to the channels it messages (default: both).
    """
    from .dunning import customer_blocks, normalize, parse_dunning

    settings, _issues = parse_dunning(rules)
    frame = classified.assign(currency=classified["currency"].fillna(rules.default_currency))
    blocks = customer_blocks(frame, settings, as_of) if not frame.empty else {}
    recent: dict[tuple[str, str, str, str], date] = {}
    for message in history:
        key = (
            normalize(message.customer),
            message.currency.upper(),
            message.stage,
            message.channel,
        )
        if message.date <= as_of and message.date > recent.get(key, date.min):
            recent[key] = message.date
    kept, held, issues = [], {}, []
    for target in targets:
        block = blocks.get((target.customer, target.currency))
        reason = None
        if block is not None:
            reason = f"dunning block: {block.text()}"
        if not settings.net_credits:
            target = replace(target, credits_cents=0)
        net = target.net_cents
        if reason is None and net <= settings.minimum(target.currency):
            reason = f"net claim {money(net, target.currency, 'en')} at or below the minimum amount"
        if reason is not None:
            for channel in ("email", "sms"):
                held[(target.customer, target.currency, channel)] = reason
            issues.append(
                Issue(
                    cell_ref(sheet, target.first_row),
                    f"no message to {target.customer} ({target.currency}): {reason}",
                    Severity.INFO,
                )
            )
            continue
        for channel in ("email", "sms"):
            if channels is not None and channel not in channels.get(target.stage, ()):
                continue
            last = recent.get(
                (normalize(target.customer), target.currency.upper(), target.stage, channel)
            )
            if last is not None and (as_of - last).days < settings.min_interval_days:
                held[(target.customer, target.currency, channel)] = (
                    f"the same {channel} went on {last.isoformat()}, within "
                    f"{settings.min_interval_days} days"
                )
        kept.append(target)
    return kept, held, issues


def address_issue(
    target: MessageTarget, sheet: str | None, email_column: int | None, channel_text: str
) -> Issue | None:
    """An Issue when the target has no usable email address (None when it has one)."""
    where = cell_ref(sheet, target.first_row, email_column)
    good, bad = parse_addresses(target.email)
    if good:
        if bad:
            return Issue(
                where,
                f"{target.customer}: {', '.join(map(repr, bad))} is not an "
                "email address; the message goes to the others",
                Severity.WARNING,
            )
        return None
    if bad:
        return Issue(
            where,
            f"no email to {target.customer} ({target.currency}): "
            f"{target.email!r} is not an email address; {channel_text}",
        )
    return Issue(
        where,
        f"no email to {target.customer} ({target.currency}): the customer "
        f"has no email address; {channel_text}",
    )


FALLBACK = FALLBACK_LANGUAGE
