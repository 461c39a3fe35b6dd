"""Letter jobs: who gets which letter, with what figures, in which language (design.md §8).

Pure: from a classified frame, the rules and ``as_of`` it decides one job per customer and
currency whose customer stage has a letter, with the overdue items, interest, fixed
compensation, a stable reference, a reply-by date in working days and the render context
(plain strings and numbers, money and dates already formatted by babel in the letter's
language). Rendering the .docx is the shell's job (``receivables.letters``).

The context keys are the contract with the templates; ``letter_templates/README.md``
documents each of them. ``CONTEXT_KEYS`` and ``ITEM_KEYS`` list them so that templates can
be checked before rendering.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pandas as pd
from babel import Locale, UnknownLocaleError, dates, numbers

from . import frame as F
from .classify import resolve_stage_name
from .dunning import SEND, UNREACHABLE, Decision, SentLetter, decide, parse_dunning, unreachable
from .interest import Accrual, accrue
from .issues import Issue, Severity, cell_ref
from .regimes import (
    NONE,
    Regime,
    RegimeSettings,
    accrual_periods,
    compensation_cents,
    contract_regime,
    customer_type,
    fx_issue,
    missing_rate_issues,
    parse_rate_cell,
    parse_regimes,
)
from .rules import Rules
from .workdays import add_working_days, next_working_day

# Columns of the Letters Log sheet (design.md §8, §11), in order. The log is the dunning
# history: "Invoices" lists the items a letter covered (an item taken to another level
# than the letter's carries it in brackets), "Previous" the letter it follows, "Status"
# says whether it counts (core/dunning.py: cancelled and failed letters do not).
LOG_COLUMNS = (
    "Reference", "Date", "Customer", "Currency", "Stage", "Template", "Language",
    "Invoices", "Amount", "Credits", "Interest", "Compensation", "Total", "Previous",
    "File", "PDF",
    # How it went out (letter = by post, email, sms), the message's id and its status
    # (draft, sent, failed: reason), so that a message is never sent twice (design.md §11).
    "Channel", "Message-ID", "Status",
)  # fmt: skip
# The Letters Log columns holding money (integer cents in a log row). "Amount" is the
# gross overdue principal; "Total" = Amount - Credits + Interest + Compensation.
LOG_MONEY = frozenset({"Amount", "Credits", "Interest", "Compensation", "Total"})

FALLBACK_LANGUAGE = "en"

# Keys of the render context (see letter_templates/README.md).
CONTEXT_KEYS: tuple[str, ...] = (
    # the letter
    "reference", "letter_date", "letter_date_iso", "reply_by", "reply_by_iso", "reply_days",
    "template", "language", "locale", "stage", "stage_label",
    # the sender
    "company_name", "company_address", "company_city", "company_tax_id", "company_phone",
    "company_email", "company_website", "bank_name", "iban", "bic", "signatory",
    "signatory_title",
    # the addressee
    "customer", "customer_id", "contact", "address", "email", "phone",
    # the claim
    "currency", "items", "item_count", "oldest_days_overdue",
    "total_amount", "total_paid", "total_overdue", "total_interest", "total_compensation",
    "total_claim", "subtotal_amount", "subtotal_paid", "subtotal_balance", "subtotal_interest",
    "subtotal_compensation", "overdue_cents", "interest_cents", "compensation_cents", "claim_cents",
    "interest_rule", "has_interest", "has_compensation", "interest_rate", "interest_margin",
    # the law of the letter (core/regimes.py)
    "company_country", "customer_type", "reply_days_calendar", "compensation_eur",
    # netting (credits offset the overdue principal; core/dunning.py)
    "total_credits", "total_net", "credits_cents", "net_cents", "has_credits",
    # the previous letter about these items (dunning history); empty when there was none
    "previous_letter", "previous_reference", "previous_date", "previous_date_iso",
    "previous_level", "previous_letter_name",
)  # fmt: skip

# Keys of each entry of ``items``.
ITEM_KEYS: tuple[str, ...] = (
    "invoice", "invoice_date", "due_date", "due_date_iso", "days_overdue", "amount", "paid",
    "balance", "balance_cents", "interest", "interest_cents", "rate", "compensation",
    "compensation_cents", "claim", "credited", "credited_cents",
)  # fmt: skip

# A letter's name in each letter language, for "our formal demand of 31 October 2026".
LETTER_NAMES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "reminder": "reminder",
        "formal_demand": "formal demand",
        "final_demand": "final demand",
        "legal_demand": "letter before claim",
    },
    "es": {
        "reminder": "recordatorio",
        "formal_demand": "requerimiento formal",
        "final_demand": "último aviso",
        "legal_demand": "requerimiento previo a la reclamación judicial",
    },
    "hu": {
        "reminder": "fizetési emlékeztető",
        "formal_demand": "fizetési felszólítás",
        "final_demand": "utolsó felszólítás",
        "legal_demand": "bírósági eljárás előtti felszólítás",
    },
    "zh": {
        "reminder": "付款提醒",
        "formal_demand": "正式付款催告",
        "final_demand": "最后催告",
        "legal_demand": "诉前付款催告",
    },
    "de": {
        "reminder": "Zahlungserinnerung",
        "formal_demand": "Mahnung",
        "final_demand": "letzte Mahnung",
        "legal_demand": "Zahlungsaufforderung vor Klageerhebung",
    },
    "fr": {
        "reminder": "relance",
        "formal_demand": "mise en demeure",
        "final_demand": "dernière mise en demeure",
        "legal_demand": "mise en demeure avant action en justice",
    },
}


def letter_name(template: str, language: str) -> str:
    """The name of a ``template`` letter in ``language`` (English when not translated)."""
    for table in (LETTER_NAMES.get(language, {}), LETTER_NAMES["en"]):
        if template in table:
            return table[template]
    return template.replace("_", " ")


@dataclass(frozen=True)
class Company:
    """The sender: letterhead, payment instructions and signature (``[company]``)."""

    name: str = ""
    address: str = ""
    city: str = ""
    tax_id: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    bank_name: str = ""
    iban: str = ""
    bic: str = ""
    signatory: str = ""
    signatory_title: str = ""
    country: str = ""


@dataclass(frozen=True)
class LetterSettings:
    """Typed ``[company]``, ``[interest]`` and ``[letters]`` settings."""

    company: Company = field(default_factory=Company)
    regimes: RegimeSettings = field(default_factory=lambda: RegimeSettings({}, {}))
    languages: tuple[str, ...] = (FALLBACK_LANGUAGE,)
    locales: Mapping[str, str] = field(default_factory=dict)
    reference_prefix: str = "RC"
    reply_days: Mapping[str, int] = field(default_factory=dict)
    reply_days_default: int = 10
    templates_dir: str = ""
    default_language: str = FALLBACK_LANGUAGE
    country: str = "ES"

    def reply_days_for(self, template: str) -> int:
        """Working days the customer has to pay for letters of ``template``."""
        return self.reply_days.get(template, self.reply_days_default)

    def locale_for(self, language: str) -> str:
        """Babel locale for money and dates in ``language`` (the language itself if unset)."""
        return self.locales.get(language, language)


def parse_letter_settings(rules: Rules) -> tuple[LetterSettings, list[Issue]]:
    """Parse the letter sections of ``rules``; bad values become Issues, defaults stay."""
    issues: list[Issue] = []

    def warn(message: str) -> None:
        issues.append(Issue("letters settings", message, Severity.ERROR))

    company = _parse_company(rules.section("company"), warn)
    regimes, interest_issues = parse_regimes(rules.section("interest"))
    issues.extend(interest_issues)
    raw = rules.section("letters")
    reply_default, reply_days = _parse_reply_days(raw, warn)
    settings = LetterSettings(
        company=company,
        regimes=regimes,
        languages=_parse_languages(raw, warn),
        locales=_parse_locales(raw, warn),
        reference_prefix=_parse_prefix(raw, warn),
        reply_days=reply_days,
        reply_days_default=reply_default,
        templates_dir=_text(raw.get("templates_dir", "")),
        default_language=normalize_language(rules.language) or FALLBACK_LANGUAGE,
        country=rules.country,
    )
    return settings, issues


def _parse_company(raw: Mapping[str, Any], warn) -> Company:
    """``[company]``: the known keys as text; an unknown key is warned about."""
    fields = Company.__dataclass_fields__
    for key in raw:
        if key not in fields:
            warn(f"company.{key} is not a known setting ({', '.join(fields)})")
    return Company(**{key: _text(raw.get(key, "")) for key in fields if key in raw})


def _parse_languages(raw: Mapping[str, Any], warn) -> tuple[str, ...]:
    """``letters.languages`` as codes, without repeats, English always among them."""
    languages: list[str] = []
    values = raw.get("languages", [FALLBACK_LANGUAGE])
    if not isinstance(values, list):
        warn('letters.languages must be a list like ["en", "es"]')
        values = [FALLBACK_LANGUAGE]
    for value in values:
        code = normalize_language(str(value))
        if code is None:
            warn(f"letters.languages: {value!r} is not a language code")
        elif code not in languages:
            languages.append(code)
    if FALLBACK_LANGUAGE not in languages:
        languages.append(FALLBACK_LANGUAGE)
    return tuple(languages)


def _parse_locales(raw: Mapping[str, Any], warn) -> dict[str, str]:
    """``letters.locales``: language -> a locale babel knows; unknown ones are left out."""
    locales: dict[str, str] = {}
    values = raw.get("locales", {})
    for language, name in values.items() if isinstance(values, Mapping) else ():
        try:
            Locale.parse(str(name))
        except (UnknownLocaleError, ValueError):
            warn(f"letters.locales.{language}: {name!r} is not a known locale")
            continue
        locales[str(language).lower()] = str(name)
    return locales


def _parse_reply_days(raw: Mapping[str, Any], warn) -> tuple[int, dict[str, int]]:
    """``letters.reply_days_default`` and ``letters.reply_days`` (template -> days)."""
    default = raw.get("reply_days_default", 10)
    if not _whole(default):
        warn("letters.reply_days_default must be a whole number of working days")
        default = 10
    reply_days: dict[str, int] = {}
    values = raw.get("reply_days", {})
    for template, days in values.items() if isinstance(values, Mapping) else ():
        if _whole(days):
            reply_days[str(template)] = days
        else:
            warn(f"letters.reply_days.{template} must be a whole number of working days")
    return default, reply_days


def _parse_prefix(raw: Mapping[str, Any], warn) -> str:
    """``letters.reference_prefix``: up to 10 letters or digits, else ``RC``."""
    prefix = _text(raw.get("reference_prefix", "RC"))
    if not re.fullmatch(r"[A-Za-z0-9]{0,10}", prefix):
        warn("letters.reference_prefix must be up to 10 letters or digits")
        prefix = "RC"
    return prefix


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    # English and native names of every language babel knows, casefolded -> code.
    names: dict[str, str] = {}
    for code, name in Locale("en").languages.items():
        if "_" not in code:
            names.setdefault(name.casefold(), code)
    for code in ("es", "hu", "zh", "de", "fr", "it", "pt", "nl", "ca", "pl"):
        names[Locale(code).get_display_name(code).casefold()] = code
    names.update({"castellano": "es", "espanol": "es", "中文": "zh", "汉语": "zh"})
    return names


def normalize_language(text: str) -> str | None:
    """Language code from ``es``, ``ES``, ``es-ES``, ``Spanish`` or ``Español``; None if none."""
    cleaned = text.strip().replace("-", "_")
    if not cleaned:
        return None
    try:
        return Locale.parse(cleaned.lower() if len(cleaned) <= 3 else cleaned).language
    except (UnknownLocaleError, ValueError):
        return _language_names().get(cleaned.casefold())


# ---- formatting (babel), shared with the template filters of the shell ----------------


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    # Babel parses a locale name on every call otherwise; letters format dozens of values.
    return Locale.parse(name)


def money(cents: int, currency: str, locale: str) -> str:
    """``1.234,56 €``: an amount in cents with its currency symbol, in ``locale``."""
    value = Decimal(int(cents)).scaleb(-2)
    return numbers.format_currency(value, currency, locale=_locale(locale))


def amount(cents: int, currency: str, locale: str) -> str:
    """``1.234,56``: an amount in cents without symbol, with the currency's decimals."""
    digits = numbers.get_currency_precision(currency)
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return numbers.format_decimal(Decimal(int(cents)).scaleb(-2), pattern, locale=_locale(locale))


def long_date(day: date | None, locale: str, style: str = "long") -> str:
    """``15 de octubre de 2026``; ``style`` is long, medium, short, numeric or a CLDR pattern.

    ``numeric`` is the locale's short date with a four-digit year (``31/12/2025``,
    ``2025. 12. 31.``): short enough for a table column, never ambiguous about the century.
    """
    if day is None:
        return ""
    if style == "numeric":
        style = _numeric_pattern(locale)
    return dates.format_date(day, style, locale=_locale(locale))


@lru_cache(maxsize=32)
def _numeric_pattern(locale: str) -> str:
    pattern = _locale(locale).date_formats["short"].pattern
    return re.sub(r"y+", "y", pattern)


def percent(rate: Decimal, locale: str) -> str:
    """``10,15 %``: an annual percent (10.15 means 10.15 %) with two decimals."""
    pattern = _locale(locale).percent_formats[None].pattern.replace("#,##0", "#,##0.00", 1)
    return numbers.format_percent(rate / 100, pattern, locale=_locale(locale))


# ---- jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterItem:
    """One overdue item listed in a letter."""

    row: int
    invoice: str
    invoice_date: date | None
    due_date: date
    days_overdue: int
    amount_cents: int
    paid_cents: int
    balance_cents: int
    interest: Accrual
    compensation_cents: int
    credited_cents: int = 0  # offset by the customer's credits (oldest items first)


@dataclass(frozen=True)
class LetterJob:
    """One letter to write: a customer and currency at a letter stage, ready to render."""

    customer: str
    currency: str
    stage: str
    template: str
    language: str
    reference: str
    letter_date: date
    reply_by: date
    reply_days: int
    items: tuple[LetterItem, ...]
    overdue_cents: int
    interest_cents: int
    compensation_cents: int
    oldest_days_overdue: int
    customer_id: str = ""
    contact: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    context: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # The law of this letter: the regime applied (``none`` for a consumer under a
    # business-only regime), the customer type, and whether reply days are calendar days.
    regime: Regime = field(default=NONE, repr=False, compare=False)
    customer_type: str = "business"
    reply_days_calendar: bool = False
    # Dunning (core/dunning.py): credits netted, what the history records, the letter
    # this one follows.
    credits_cents: int = 0
    recorded: tuple[tuple[str, str], ...] = ()
    previous: SentLetter | None = None

    @property
    def net_cents(self) -> int:
        """The overdue principal less the credits that offset it."""
        return self.overdue_cents - self.credits_cents

    @property
    def claim_cents(self) -> int:
        """Net principal + interest + compensation."""
        return self.net_cents + self.interest_cents + self.compensation_cents


def reference_for(
    prefix: str, customer: str, currency: str, stage: str, as_of: date, length: int = 8
) -> str:
    """``RC-261015-7KQ2M9XA``: the same customer, currency, stage and as-of give the same."""
    key = "\x1f".join((customer, currency, stage, as_of.isoformat())).encode("utf-8")
    code = base64.b32encode(hashlib.sha256(key).digest()).decode("ascii")[:length]
    return "-".join(part for part in (prefix, as_of.strftime("%y%m%d"), code) if part)


ADDRESSEE_FIELDS = ("address", "contact", "customer_id", "email", "phone", "language")
# Fields that choose the law of a customer's letters (core/regimes.py); may be absent.
LAW_FIELDS = ("country", "customer_type", "interest_rate")


def _first_texts(
    frame: pd.DataFrame, names: tuple[str, ...] = ADDRESSEE_FIELDS
) -> dict[str, dict[Any, str]]:
    """Per addressee field, each customer's first non-empty value (on any of its rows)."""
    out: dict[str, dict[Any, str]] = {}
    for name in names:
        if name not in frame:
            out[name] = {}
            continue
        values = frame[name].map(lambda v: v.strip() if isinstance(v, str) else "")
        filled = values != ""
        customers = frame.loc[filled, "customer"]
        out[name] = values[filled].groupby(customers, sort=False).first().to_dict()
    return out


def _dates(series: pd.Series) -> list[date | None]:
    return [None if pd.isna(value) else value.date() for value in series]


def _item_rows(overdue: pd.DataFrame) -> dict[tuple[Any, Any], list[tuple]]:
    """The overdue rows as plain tuples, grouped by (customer, currency), oldest due first."""
    overdue = overdue.sort_values(["due_date", F.ROW], kind="stable")
    count = len(overdue)

    def column(name: str, default: Any) -> list[Any]:
        return overdue[name].tolist() if name in overdue else [default] * count

    invoice_dates = _dates(overdue["invoice_date"]) if "invoice_date" in overdue else [None] * count
    amounts = [None if pd.isna(v) else int(v) for v in column(F.AMOUNT, None)]
    paid = [0 if pd.isna(v) else int(v) for v in column(F.PAID, 0)]
    records = zip(
        overdue[F.ROW].tolist(),
        [v.strip() if isinstance(v, str) else "" for v in column("invoice", None)],
        invoice_dates,
        _dates(overdue["due_date"]),
        overdue[F.DAYS_OVERDUE].tolist(),
        amounts,
        paid,
        overdue[F.BALANCE].tolist(),
        strict=True,
    )
    groups: dict[tuple[Any, Any], list[tuple]] = {}
    keys = zip(overdue["customer"].tolist(), overdue["currency"].tolist(), strict=True)
    for key, record in zip(keys, records, strict=True):
        groups.setdefault(key, []).append(record)
    return groups


def letter_jobs(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    stages: Collection[str] | None = None,
    *,
    available: Collection[tuple[str, str]] | None = None,
    sheet: str | None = None,
    history: Collection[SentLetter] = (),
    decisions: Mapping[tuple[Any, Any], Decision] | None = None,
) -> tuple[list[LetterJob], list[Issue]]:
    """One job per customer and currency whose dunning decision sends a letter now.

    The decision (``receivables.core.dunning``) comes from ``history`` (the Letters Log)
    unless ``decisions`` are given: the next level for the items, the minimum interval,
    credits, the minimum amount, blocks, and whether the customer can be written to.
    ``stages`` limits the letters to those stage keys (or labels). ``available`` is the set
    of (template, language) pairs that exist; None means every template exists in every
    language of ``[letters] languages``. ``sheet`` names the sheet in issue locations.
    """
    settings, issues = parse_letter_settings(rules)
    dunning, dunning_issues = parse_dunning(rules)
    issues.extend(dunning_issues)
    letter_of = {stage.key: stage.letter for stage in rules.stages if stage.letter}
    if available is None:
        available = {(t, lang) for t in letter_of.values() for lang in settings.languages}
    wanted = _wanted_stages(stages, rules, letter_of, issues)
    # One currency per row, so that decisions and item groups match one to one.
    frame = classified.assign(currency=classified["currency"].fillna(rules.default_currency))
    if decisions is None:
        decisions = decide(frame, rules, as_of, history, dunning)
    due = _due(decisions, wanted)
    if not due:
        return [], issues
    run = _JobsRun(
        rules=rules,
        settings=settings,
        as_of=as_of,
        sheet=sheet,
        available=set(available),
        issues=issues,
        groups=_item_rows(frame[frame[F.COUNTS_OVERDUE].to_numpy(dtype=bool)]),
        # Addressee details may sit on any row of the customer, overdue or not.
        addressee=_first_texts(frame, ADDRESSEE_FIELDS + LAW_FIELDS),
    )
    jobs: list[LetterJob] = []
    for key, decision in due.items():
        if decision.action == UNREACHABLE:
            issues.append(_unreachable_issue(key, decision, run.groups[key], dunning, sheet))
            continue
        job = _job(run, key, decision)
        if job is not None:
            jobs.append(replace(job, context=build_context(job, settings, rules)))
    issues.extend(_jobs_issues(run, jobs))
    return jobs, issues


def _jobs_issues(run: _JobsRun, jobs: list[LetterJob]) -> list[Issue]:
    """What the letters as a whole need said: languages without the template, interest
    rates the tables lack, exchange rates, and the sender's details."""
    issues = [
        Issue(
            "letters",
            f"no {template!r} template in {language!r}; those letters are in English",
            Severity.INFO,
        )
        for template, language in sorted(run.fallbacks)
    ]
    issues += _interest_issues(jobs, run.as_of)
    issues += fx_issue(run.missing_fx)
    issues += company_issues(run.settings.company, jobs, run.rules)
    return issues


def _due(decisions: Mapping, wanted: Collection[str]) -> dict:
    """The decisions that write a letter of a wanted stage now (or would, but for the
    address), in customer order."""
    return {
        key: decision
        for key, decision in sorted(decisions.items(), key=lambda pair: pair[0])
        if decision.action in (SEND, UNREACHABLE) and decision.level.stage in wanted
    }


def _wanted_stages(
    stages: Collection[str] | None, rules: Rules, letter_of: Mapping[str, str], issues: list
) -> set[str]:
    """The stage keys whose letters are asked for (``--stages``; every letter stage)."""
    if stages is None:
        return set(letter_of)
    wanted = set()
    for name in stages:
        key = resolve_stage_name(str(name), rules)
        if key in letter_of:
            wanted.add(key)
        else:
            issues.append(
                Issue("letters", f"{name!r} is not a stage with a letter", Severity.ERROR)
            )
    return wanted


@dataclass
class _JobsRun:
    """What every letter job of one run shares, and what the jobs collect."""

    rules: Rules
    settings: LetterSettings
    as_of: date
    sheet: str | None
    available: set[tuple[str, str]]
    issues: list[Issue]
    groups: Mapping[tuple[Any, Any], list[tuple]]  # the overdue item rows per customer
    addressee: Mapping[str, Mapping[Any, str]]  # field -> customer -> first text
    missing_fx: set[date] = field(default_factory=set)
    used_references: dict[str, tuple[str, str]] = field(default_factory=dict)
    fallbacks: set[tuple[str, str]] = field(default_factory=set)


def _unreachable_issue(key, decision: Decision, rows, dunning, sheet) -> Issue:
    """A letter is due but the customer cannot be written to: the same rule as the
    quality checks (:func:`receivables.core.dunning.can_write`), the same subject."""
    by_email = decision.level.template in dunning.email_templates
    return Issue(
        cell_ref(sheet, int(rows[0][0])),
        f"no {decision.level.name} for {key[0]} ({key[1]}): the customer has "
        f"no postal address{' or email' if by_email else ''}; add "
        f"{'one' if by_email else 'an address'} to write the letter",
        subject=unreachable(key[0], key[1]),
    )


def _job(run: _JobsRun, key, decision: Decision) -> LetterJob | None:
    """The letter of one customer and currency (None when its template is missing)."""
    customer, currency = str(key[0]), str(key[1])
    rows = run.groups[key]
    settings, as_of = run.settings, run.as_of
    template = decision.level.template
    details = {name: run.addressee[name].get(key[0], "") for name in ADDRESSEE_FIELDS + LAW_FIELDS}
    language = normalize_language(details["language"]) or settings.default_language
    if (template, language) not in run.available:
        if (template, FALLBACK_LANGUAGE) not in run.available:
            run.issues.append(Issue("letters", f"no {template!r} template", Severity.ERROR))
            return None
        run.fallbacks.add((template, language))
        language = FALLBACK_LANGUAGE
    regime, kind = _law_of(
        customer, currency, details, settings.regimes, run.issues, run.sheet, rows
    )
    items = _items(
        rows, regime, settings.regimes, currency, as_of, run.missing_fx, decision.credits_cents
    )
    reply_days, reply_by, calendar_days = _reply(
        settings, template, regime, kind, currency, details, as_of
    )
    stage = decision.level.stage
    return LetterJob(
        customer=customer,
        currency=currency,
        stage=stage,
        template=template,
        language=language,
        reference=_unique_reference(
            settings.reference_prefix, customer, currency, stage, as_of, run.used_references
        ),
        letter_date=as_of,
        reply_by=reply_by,
        reply_days=reply_days,
        items=items,
        overdue_cents=decision.gross_cents,
        interest_cents=sum(item.interest.cents for item in items),
        compensation_cents=sum(item.compensation_cents for item in items),
        oldest_days_overdue=max(item.days_overdue for item in items),
        customer_id=details["customer_id"],
        contact=details["contact"],
        address=details["address"],
        email=details["email"],
        phone=details["phone"],
        regime=regime,
        customer_type=kind,
        reply_days_calendar=calendar_days is not None,
        credits_cents=min(decision.credits_cents, decision.gross_cents),
        recorded=decision.items,
        previous=decision.previous,
    )


def _reply(settings, template, regime, kind, currency, details, as_of):
    """(reply days, reply-by date, calendar days or None): working days by default,
    calendar days where the law of the letter says so."""
    reply_days = settings.reply_days_for(template)
    reply_by = add_working_days(as_of, reply_days, settings.country)
    calendar_days = regime.reply_days_for(template, kind) if regime.key != "none" else None
    if calendar_days is None:
        # A consumer's letter under a business-only regime still gets its reply days.
        calendar_days = settings.regimes.regime(currency, details["country"]).reply_days_for(
            template, kind
        )
    if calendar_days is not None:
        reply_days = calendar_days
        reply_by = next_working_day(as_of + timedelta(days=calendar_days), settings.country)
    return reply_days, reply_by, calendar_days


def _law_of(
    customer: str,
    currency: str,
    details: Mapping[str, str],
    regimes: RegimeSettings,
    issues: list[Issue],
    sheet: str | None,
    rows: list[tuple],
) -> tuple[Regime, str]:
    """The regime of one letter and the customer type (consumers owe no statutory interest)."""
    kind = customer_type(details.get("customer_type"))
    if kind is None:
        issues.append(
            Issue(
                cell_ref(sheet, int(rows[0][0])),
                f"customer type {details.get('customer_type')!r} of {customer} is not business, "
                "sole trader or consumer; the customer is treated as a business",
            )
        )
        kind = "business"
    regime = regimes.regime(currency, _country_code(details.get("country", "")))
    if regime.key == "contract" and details.get("interest_rate"):
        rate = parse_rate_cell(details["interest_rate"])
        if rate is None:
            issues.append(
                Issue(
                    cell_ref(sheet, int(rows[0][0])),
                    f"interest rate {details['interest_rate']!r} of {customer} is not a "
                    "percent; the contract rate of the settings is used",
                )
            )
        else:
            regime = contract_regime(regime, rate)
    if regime.business_only and kind == "consumer":
        return NONE, kind
    return regime, kind


@lru_cache(maxsize=256)
def _country_code(text: str) -> str:
    # "HU", "hu", "Hungary", "Magyarország" -> "HU"; unknown text is kept upper-cased.
    cleaned = text.strip()
    if len(cleaned) == 2:
        return cleaned.upper()
    folded = cleaned.casefold()
    for language in ("en", "es", "hu", "de", "fr", "zh"):
        for code, name in _locale(language).territories.items():
            if name.casefold() == folded and code.isalpha():
                return code
    return cleaned.upper()


def _interest_issues(jobs: list[LetterJob], as_of: date) -> list[Issue]:
    """Missing half-year rates and currencies without compensation, per regime used."""
    issues = []
    periods: dict[str, set[date]] = {}
    regimes: dict[str, Regime] = {}
    no_compensation: dict[str, set[str]] = {}
    for job in jobs:
        regime = job.regime
        if not regime.statutory:
            continue
        regimes[regime.key] = regime
        needed = periods.setdefault(regime.key, set())
        for item in job.items:
            needed.update(accrual_periods(regime, item.due_date + timedelta(days=1), as_of))
        if not regime.compensation_eur_cents and job.currency not in regime.rule.compensation:
            no_compensation.setdefault(regime.key, set()).add(job.currency)
    for key, regime in regimes.items():
        issues.extend(missing_rate_issues(regime, periods[key]))
    for key, currencies in sorted(no_compensation.items()):
        for currency in sorted(currencies):
            issues.append(
                Issue(
                    "letters",
                    f"interest.regimes.{key}.compensation has no amount for {currency}: "
                    f"no fixed compensation is claimed in {currency}",
                )
            )
    return issues


# Values of the packaged [company] settings: letters that still carry them are samples.
SAMPLE_COMPANY = {"name": "Your Company S.L.", "address": "Calle Mayor 1\n28013 Madrid"}
# The packaged city and country printed with the sample address ("Madrid, 15 October
# 2026", "Spain" under the address).
SAMPLE_PLACE = {"city": "Madrid", "country": "ES"}
# Letters whose payment instructions must name the account to pay into.
ACCOUNT_LETTERS = frozenset({"final_demand", "legal_demand"})


def company_issues(company: Company, jobs: list[LetterJob], rules: Rules) -> list[Issue]:
    """Warnings for sender details a signed letter cannot go out without.

    A missing or still-sample company name or address, and a missing bank account (IBAN)
    — which final and legal demands must name — are reported once per run.
    """
    if not jobs:
        return []
    where = "company settings"
    issues = []
    for key, label in (("name", "company name"), ("address", "company address")):
        value = getattr(company, key)
        if not value:
            issues.append(
                Issue(
                    where, f"the {label} is empty: set [company] {key} before sending the letters"
                )
            )
        elif value.strip().splitlines()[0] == SAMPLE_COMPANY[key].splitlines()[0]:
            issues.append(
                Issue(
                    where,
                    f"the {label} is still the sample "
                    f"'{value.strip().splitlines()[0]}…': set "
                    f"[company] {key} before sending the letters",
                )
            )
    issues.extend(_sample_place_issues(company, where))
    if not company.iban:
        demands = sorted({job.template for job in jobs} & ACCOUNT_LETTERS)
        tail = f"; {' and '.join(demands)} letters must name it" if demands else ""
        issues.append(
            Issue(
                where, f"no bank account to pay into: set [company] iban (and bank_name, bic){tail}"
            )
        )
    return issues


def _sample_place_issues(company: Company, where: str) -> list[Issue]:
    """A warning when the sender's own address is set but the letters would still be
    dated from the sample city and show the sample country under it ("1 Quay St, Dublin"
    then "Spain", "Madrid, 28 October 2026")."""
    address = (company.address or "").strip()
    if not address or address.splitlines()[0] == SAMPLE_COMPANY["address"].splitlines()[0]:
        return []  # no address, or the sample one: already warned about
    stale = [
        key
        for key, sample in SAMPLE_PLACE.items()
        if (getattr(company, key) or "").strip().casefold() == sample.casefold()
    ]
    if "city" not in stale or SAMPLE_PLACE["city"].casefold() in address.casefold():
        return []
    settings = " and ".join(f"[company] {key}" for key in stale)
    shown = " and the country ".join(f"'{getattr(company, key)}'" for key in stale)
    return [
        Issue(
            where,
            f"the letters are still dated from the sample city {shown}, which the company "
            f"address does not name: set {settings} before sending the letters",
        )
    ]


def _unique_reference(prefix, customer, currency, stage, as_of, used) -> str:
    # 40 bits make a clash unlikely; on a clash within the run, lengthen the code.
    for length in (8, 12, 16, 52):
        reference = reference_for(prefix, customer, currency, stage, as_of, length)
        if used.setdefault(reference, (customer, currency)) == (customer, currency):
            return reference
    raise AssertionError("sha256 collision")  # pragma: no cover


def _items(
    rows: list[tuple],
    regime: Regime,
    regimes: RegimeSettings,
    currency: str,
    as_of: date,
    missing_fx: set[date],
    credits_cents: int = 0,
) -> tuple[LetterItem, ...]:
    """The letter's items; ``credits_cents`` offset them oldest first, and interest and
    compensation run only on what the credits leave (netting never raises a claim)."""
    items = []
    charged: set[str] = set()
    rule = regime.rule
    left = max(0, int(credits_cents))
    for row, invoice, invoice_date, due, days, amount_cents, paid, balance in rows:
        credited = min(left, int(balance))
        left -= credited
        net = int(balance) - credited
        # Compensation is per invoice: instalment rows of one invoice share one sum.
        compensation = 0
        if invoice not in charged and rule.charges_interest and net > 0:
            compensation, fx_missing = compensation_cents(
                regimes, regime, net, currency, due + timedelta(days=1)
            )
            if fx_missing is not None:
                missing_fx.add(fx_missing)
        if invoice:
            charged.add(invoice)
        items.append(
            LetterItem(
                row=int(row),
                invoice=invoice,
                invoice_date=invoice_date,
                due_date=due,
                days_overdue=int(days),
                amount_cents=balance + paid if amount_cents is None else amount_cents,
                paid_cents=paid,
                balance_cents=int(balance),
                interest=accrue(rule, net, due, as_of),
                compensation_cents=compensation,
                credited_cents=credited,
            )
        )
    return tuple(items)


def build_context(job: LetterJob, settings: LetterSettings, rules: Rules) -> dict[str, Any]:
    """The render context of ``job``: every key of ``CONTEXT_KEYS``, formatted by babel."""
    locale = settings.locale_for(job.language)
    parts = {
        **_letter_context(job, locale, rules),
        **_sender_context(settings.company, locale),
        **_addressee_context(job),
        **_claim_context(job, locale),
        **_law_context(job, locale),
        **previous_context(job.previous, job.language, locale),
    }
    # In the documented order, so a template author reads the keys as README lists them.
    return {key: parts[key] for key in CONTEXT_KEYS}


def _letter_context(job: LetterJob, locale: str, rules: Rules) -> dict[str, Any]:
    """The letter itself: reference, dates, reply-by, template, language and stage."""
    return {
        "reference": job.reference,
        "letter_date": long_date(job.letter_date, locale),
        "letter_date_iso": job.letter_date.isoformat(),
        "reply_by": long_date(job.reply_by, locale),
        "reply_by_iso": job.reply_by.isoformat(),
        "reply_days": job.reply_days,
        "reply_days_calendar": job.reply_days_calendar,
        "template": job.template,
        "language": job.language,
        "locale": locale,
        "stage": job.stage,
        "stage_label": rules.stage(job.stage).label,
    }


def _sender_context(company: Company, locale: str) -> dict[str, Any]:
    """The sender (``[company]``), its country named in the letter's language."""
    return {
        "company_name": company.name,
        "company_address": company.address,
        "company_country": country_name(company.country, locale),
        "company_city": company.city,
        "company_tax_id": company.tax_id,
        "company_phone": company.phone,
        "company_email": company.email,
        "company_website": company.website,
        "bank_name": company.bank_name,
        "iban": company.iban,
        "bic": company.bic,
        "signatory": company.signatory,
        "signatory_title": company.signatory_title,
    }


def _addressee_context(job: LetterJob) -> dict[str, Any]:
    """The customer written to."""
    return {
        "customer": job.customer,
        "customer_id": job.customer_id,
        "contact": job.contact,
        "address": job.address,
        "email": job.email,
        "phone": job.phone,
        "customer_type": job.customer_type,
    }


def _item_context(item: LetterItem, cur: str, locale: str) -> dict[str, Any]:
    """One row of the invoice table, amounts without symbol, dates numeric."""
    claim = item.balance_cents - item.credited_cents + item.interest.cents + item.compensation_cents
    return {
        "invoice": item.invoice or "—",
        "invoice_date": long_date(item.invoice_date, locale, "numeric"),
        "due_date": long_date(item.due_date, locale, "numeric"),
        "due_date_iso": item.due_date.isoformat(),
        "days_overdue": item.days_overdue,
        "amount": amount(item.amount_cents, cur, locale),
        "paid": amount(item.paid_cents, cur, locale),
        "balance": amount(item.balance_cents, cur, locale),
        "balance_cents": item.balance_cents,
        "interest": amount(item.interest.cents, cur, locale),
        "interest_cents": item.interest.cents,
        "rate": " / ".join(percent(rate, locale) for rate in item.interest.rates),
        "compensation": amount(item.compensation_cents, cur, locale),
        "compensation_cents": item.compensation_cents,
        "claim": amount(claim, cur, locale),
        "credited": amount(item.credited_cents, cur, locale),
        "credited_cents": item.credited_cents,
    }


def _claim_context(job: LetterJob, locale: str) -> dict[str, Any]:
    """The items and the totals: with symbol (``total_*``), without (``subtotal_*``), cents."""
    cur = job.currency
    amounts = sum(i.amount_cents for i in job.items)
    paid = sum(i.paid_cents for i in job.items)
    return {
        "currency": cur,
        "items": [_item_context(item, cur, locale) for item in job.items],
        "item_count": len(job.items),
        "oldest_days_overdue": job.oldest_days_overdue,
        "total_amount": money(amounts, cur, locale),
        "total_paid": money(paid, cur, locale),
        "total_overdue": money(job.overdue_cents, cur, locale),
        "total_interest": money(job.interest_cents, cur, locale),
        "total_compensation": money(job.compensation_cents, cur, locale),
        "total_claim": money(job.claim_cents, cur, locale),
        "total_credits": money(-job.credits_cents, cur, locale),
        "total_net": money(job.net_cents, cur, locale),
        "subtotal_amount": amount(amounts, cur, locale),
        "subtotal_paid": amount(paid, cur, locale),
        "subtotal_balance": amount(job.overdue_cents, cur, locale),
        "subtotal_interest": amount(job.interest_cents, cur, locale),
        "subtotal_compensation": amount(job.compensation_cents, cur, locale),
        "overdue_cents": job.overdue_cents,
        "interest_cents": job.interest_cents,
        "compensation_cents": job.compensation_cents,
        "claim_cents": job.claim_cents,
        "credits_cents": job.credits_cents,
        "net_cents": job.net_cents,
        "has_credits": job.credits_cents > 0,
    }


def _law_context(job: LetterJob, locale: str) -> dict[str, Any]:
    """The regime of the letter: its name, the rate in force, the compensation wording."""
    rule = job.regime.rule
    current_rate = rule.annual_rate(job.letter_date) if rule.charges_interest else None
    eur = job.regime.compensation_eur_cents
    return {
        "interest_rule": rule.kind,
        "has_interest": rule.charges_interest,
        "has_compensation": job.compensation_cents > 0,
        "interest_rate": percent(current_rate, locale) if current_rate is not None else "",
        "interest_margin": percent(rule.margin, locale),
        "compensation_eur": money(eur, "EUR", locale) if eur else "",
    }


def previous_context(previous: SentLetter | None, language: str, locale: str) -> dict[str, Any]:
    """The ``previous_*`` keys: the letter this one follows, or empty values when none.

    Templates write ``{% if previous_letter %}our {{ previous_letter_name }} of
    {{ previous_date }} (ref. {{ previous_reference }}){% endif %}``: a letter never
    claims reminders that were not sent.
    """
    if previous is None:
        return {
            "previous_letter": "",
            "previous_reference": "",
            "previous_date": "",
            "previous_date_iso": "",
            "previous_level": "",
            "previous_letter_name": "",
        }
    template = previous.template or previous.level
    return {
        "previous_letter": previous.reference or previous.date.isoformat(),
        "previous_reference": previous.reference,
        "previous_date": long_date(previous.date, locale),
        "previous_date_iso": previous.date.isoformat(),
        "previous_level": previous.level,
        "previous_letter_name": letter_name(template, language),
    }


def country_name(code: str, locale: str) -> str:
    """``Spanyolország``: the country ``code`` (ISO 3166) named in ``locale``; else as given."""
    code = code.strip()
    if not code:
        return ""
    return _locale(locale).territories.get(code.upper(), code)
