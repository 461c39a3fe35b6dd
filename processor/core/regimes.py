"""Interest regimes: which law (or contract) governs each letter's interest and compensation.

A *regime* is data (``[interest.regimes.<name>]`` in the rules) plus a rate table
(``[interest.rates.<name>]``): ``eu_directive`` (Directive 2011/7/EU, ECB rate + 8, EUR 40),
``uk_late_payment`` (Late Payment of Commercial Debts (Interest) Act 1998, Bank of England
base rate + 8, GBP 40/70/100), ``hu_ptk`` (Ptk. 6:155, MNB base rate + 8, the HUF equivalent
of EUR 40), ``contract`` (an agreed rate from the settings or the customer's
``interest_rate`` column) and ``none``. Each letter gets the regime of its customer's
country when ``[interest.by_country]`` names it, else that of its currency
(``[interest.by_currency]``); ``[interest] rule`` forces one regime on every letter.

Rate tables hold one row per half-year, keyed by its first day, each with its source. A
half-year without a row is reported with the period and the exact settings lines to add;
its days use the last earlier rate so that the letter still shows a figure.

Statutory regimes charge business debtors only (``customer_type``: a business or a sole
trader; an empty type counts as a business); consumers get no statutory interest and no
compensation. Reply-by days may depend on the regime and the customer type (a UK letter
before claim gives individuals and sole traders 30 days, businesses 14).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .interest import DAY_COUNTS, RATE_FIXINGS, InterestRule
from .issues import Issue, Severity
from .workdays import is_working_day

REGIMES = ("eu_directive", "uk_late_payment", "hu_ptk", "contract", "none")
# Older settings named the rule by a short word.
LEGACY_RULES = {"eu": "eu_directive", "uk": "uk_late_payment", "hu": "hu_ptk"}
# The table of MNB official EUR/HUF rates used for the Hungarian compensation.
FX_TABLE = "mnb_eur_huf"
FX_DAYS = ("half_year", "delay_start")
CUSTOMER_TYPES = ("business", "sole_trader", "consumer")

# What a clerk may type in a customer_type column, casefolded and without accents.
_TYPE_WORDS = {
    "business": (
        "business", "company", "b2b", "corporate", "ltd", "limited", "plc", "gmbh", "sl",
        "sa", "empresa", "sociedad", "juridica", "persona juridica", "ceg", "vallalkozas",
        "gazdalkodo szervezet", "kft", "zrt", "bt", "企业", "公司", "entreprise", "societe",
        "unternehmen", "firma",
    ),
    "sole_trader": (
        "sole trader", "sole_trader", "sole proprietor", "self-employed", "self employed",
        "freelancer", "autonomo", "trabajador autonomo", "egyeni vallalkozo", "ev",
        "个体工商户", "个体户", "einzelunternehmer", "auto-entrepreneur", "entrepreneur individuel",
    ),
    "consumer": (
        "consumer", "individual", "private", "private person", "b2c", "person", "natural person",
        "particular", "consumidor", "persona fisica", "maganszemely", "fogyaszto", "个人",
        "消费者", "verbraucher", "privatperson", "privatkunde", "particulier", "consommateur",
    ),
}  # fmt: skip


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace(".", "")


_TYPE_OF = {_fold(word): kind for kind, words in _TYPE_WORDS.items() for word in words}


def customer_type(text: Any) -> str | None:
    """``business``, ``sole_trader`` or ``consumer`` from a cell; ``business`` when empty.

    None when the text is not recognised (the caller reports it and treats the customer
    as a business, the ledger's usual case).
    """
    if text is None or (isinstance(text, float) and text != text):
        return "business"
    folded = _fold(str(text))
    if not folded:
        return "business"
    return _TYPE_OF.get(folded)


@dataclass(frozen=True)
class RateRow:
    """One half-year's reference rate (percent) and where it was published."""

    start: date
    rate: Decimal
    source: str = ""


@dataclass(frozen=True)
class Regime:
    """One interest regime, ready to accrue: rule, rate rows and compensation."""

    key: str
    rule: InterestRule
    rows: tuple[RateRow, ...] = ()
    business_only: bool = True
    # Hungarian compensation: EUR cents converted at the MNB rate of ``fx_day``.
    compensation_eur_cents: int = 0
    fx_day: str = "half_year"
    # Reply days by customer type for some templates (calendar days), else None.
    reply_templates: tuple[str, ...] = ()
    reply_days: Mapping[str, int] = field(default_factory=dict)

    @property
    def statutory(self) -> bool:
        """True for a regime whose rates come from a published table."""
        return self.key in ("eu_directive", "uk_late_payment", "hu_ptk")

    def reply_days_for(self, template: str, kind: str) -> int | None:
        """Calendar days to reply for ``template`` and customer ``kind``; None: the default."""
        if template in self.reply_templates and kind in self.reply_days:
            return self.reply_days[kind]
        return None


NONE = Regime("none", InterestRule("none"), business_only=False)


@dataclass(frozen=True)
class RegimeSettings:
    """The parsed ``[interest]`` section: regimes, how to choose them, the FX table."""

    regimes: Mapping[str, Regime]
    by_currency: Mapping[str, str]
    default: str = "none"
    by_country: Mapping[str, str] = field(default_factory=dict)
    forced: str = ""
    fx: tuple[RateRow, ...] = ()

    def regime_key(self, currency: str, country: str = "") -> str:
        """The regime name of a debt in ``currency`` owed by a customer in ``country``."""
        if self.forced:
            return self.forced
        country = (country or "").strip().upper()
        if country and country in self.by_country:
            return self.by_country[country]
        return self.by_currency.get((currency or "").strip().upper(), self.default)

    def regime(self, currency: str, country: str = "") -> Regime:
        """The :class:`Regime` of a debt (``none`` when the name has no definition)."""
        return self.regimes.get(self.regime_key(currency, country), NONE)


# ---- parsing ------------------------------------------------------------------------------


def parse_regimes(
    section: Mapping[str, Any], where: str = "interest"
) -> tuple[RegimeSettings, list[Issue]]:
    """Parse ``[interest]``; bad values become Issues and fall back to safe defaults."""
    issues: list[Issue] = []

    def warn(message: str) -> None:
        issues.append(Issue(where, message, Severity.ERROR))

    day_count = str(section.get("day_count", "act/365")).strip().lower()
    if day_count not in DAY_COUNTS:
        warn(f"interest.day_count {day_count!r} is not act/365 or act/act; act/365 used")
        day_count = "act/365"
    rates = section.get("rates", {})
    rates = rates if isinstance(rates, Mapping) else {}
    # In this order, so the warnings read as the sections are written.
    regimes = _parse_all_regimes(section, rates, day_count, warn)
    forced, by_currency, default, by_country = _parse_choice(section, warn)
    fx = _rows(rates.get(FX_TABLE, {}), f"interest.rates.{FX_TABLE}", warn, half_years=False)
    settings = RegimeSettings(
        regimes=regimes,
        by_currency=by_currency,
        default=default,
        by_country=by_country,
        forced=forced,
        fx=fx,
    )
    return settings, issues


def _parse_all_regimes(
    section: Mapping[str, Any], rates: Mapping[str, Any], day_count: str, warn
) -> dict[str, Regime]:
    """``[interest.regimes.*]`` with their rate tables; an unknown regime is warned about."""
    specs = section.get("regimes", {})
    if not isinstance(specs, Mapping):
        warn("interest.regimes must be a table of regimes")
        specs = {}
    regimes: dict[str, Regime] = {"none": NONE}
    for key in REGIMES[:-1]:
        spec = specs.get(key, {})
        if not isinstance(spec, Mapping):
            warn(f"interest.regimes.{key} must be a table")
            spec = {}
        regimes[key] = _parse_regime(key, spec, rates.get(key, {}), day_count, warn)
    for key in specs:
        if key not in REGIMES:
            warn(f"interest.regimes.{key} is not a known regime ({', '.join(REGIMES)})")
    return regimes


def _parse_choice(
    section: Mapping[str, Any], warn
) -> tuple[str, dict[str, str], str, dict[str, str]]:
    """How a letter's regime is chosen: the forced ``rule``, by currency (with its
    ``default``) and by country; a name that is not a regime is warned about and left out."""

    def regime_name(value: Any, name: str) -> str | None:
        text = str(value).strip().lower()
        text = LEGACY_RULES.get(text, text)
        if text in REGIMES:
            return text
        warn(f"{name} {value!r} is not one of {', '.join(REGIMES)}")
        return None

    forced = ""
    raw_rule = str(section.get("rule", "") or "").strip()
    if raw_rule:
        forced = regime_name(raw_rule, "interest.rule") or "none"
    by_currency: dict[str, str] = {}
    default = "none"
    raw_currency = section.get("by_currency", {})
    for currency, value in raw_currency.items() if isinstance(raw_currency, Mapping) else ():
        name = regime_name(value, f"interest.by_currency.{currency}")
        if name is None:
            continue
        if str(currency).lower() == "default":
            default = name
        else:
            by_currency[str(currency).upper()] = name
    by_country: dict[str, str] = {}
    raw_country = section.get("by_country", {})
    for country, value in raw_country.items() if isinstance(raw_country, Mapping) else ():
        name = regime_name(value, f"interest.by_country.{country}")
        if name is not None:
            by_country[str(country).upper()] = name
    return forced, by_currency, default, by_country


def _parse_regime(key: str, spec: Mapping[str, Any], table: Any, day_count: str, warn) -> Regime:
    prefix = f"interest.regimes.{key}"
    margin = _decimal(spec.get("margin", "0"), f"{prefix}.margin", warn) or Decimal(0)
    fixing = str(spec.get("rate_fixing", "period")).strip().lower()
    if fixing not in RATE_FIXINGS:
        warn(f"{prefix}.rate_fixing must be 'period' or 'start'")
        fixing = "period"
    business_only = spec.get("business_only", key != "contract")
    if not isinstance(business_only, bool):
        warn(f"{prefix}.business_only must be true or false")
        business_only = key != "contract"
    if key == "contract":
        rate = _decimal(spec.get("rate", "0"), f"{prefix}.rate", warn) or Decimal(0)
        rows: tuple[RateRow, ...] = (RateRow(date.min, rate, "contract"),)
        margin = Decimal(0)
    else:
        rows = _rows(table, f"interest.rates.{key}", warn, half_years=True)
        if not rows:
            warn(f"interest.rates.{key} is empty: no {key} interest can be computed")
    compensation = _compensation(spec.get("compensation", {}), f"{prefix}.compensation", warn)
    eur = _decimal(spec.get("compensation_eur", "0"), f"{prefix}.compensation_eur", warn)
    fx_day = str(spec.get("fx_day", "half_year")).strip().lower()
    if fx_day not in FX_DAYS:
        warn(f"{prefix}.fx_day must be one of {', '.join(FX_DAYS)}")
        fx_day = "half_year"
    reply_templates: tuple[str, ...] = ()
    reply_days: dict[str, int] = {}
    raw_reply = spec.get("reply_days", {})
    if isinstance(raw_reply, Mapping):
        templates = raw_reply.get("templates", [])
        if isinstance(templates, list):
            reply_templates = tuple(str(t) for t in templates)
        else:
            warn(f"{prefix}.reply_days.templates must be a list of letter names")
        for kind in CUSTOMER_TYPES:
            days = raw_reply.get(kind)
            if days is None:
                continue
            if isinstance(days, int) and not isinstance(days, bool) and days >= 0:
                reply_days[kind] = days
            else:
                warn(f"{prefix}.reply_days.{kind} must be a whole number of days")
    rule = InterestRule(
        kind=key,
        margin=margin,
        reference_rates=tuple((row.start, row.rate) for row in rows),
        rate_fixing=fixing,
        day_count=day_count,
        compensation=compensation,
    )
    return Regime(
        key=key,
        rule=rule,
        rows=rows,
        business_only=business_only,
        compensation_eur_cents=_cents(eur) if eur is not None else 0,
        fx_day=fx_day,
        reply_templates=reply_templates,
        reply_days=reply_days,
    )


def _decimal(value: Any, name: str, warn) -> Decimal | None:
    if isinstance(value, bool):
        warn(f"{name} must be a number")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        warn(f"{name} {value!r} is not a number")
        return None
    if not number.is_finite() or number < 0:
        warn(f"{name} {value!r} must be a number at least 0")
        return None
    return number


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _rows(table: Any, name: str, warn, *, half_years: bool) -> tuple[RateRow, ...]:
    # "2026-01-01" = { rate = "2.15", source = "..." }  or  "2026-01-01" = "2.15"
    if not isinstance(table, Mapping):
        warn(f'{name} must be a table of "YYYY-MM-DD" = {{ rate = "...", source = "..." }}')
        return ()
    rows = []
    for key, value in table.items():
        start = _date(key)
        if start is None:
            warn(f"{name}: {key!r} is not a date like 2026-01-01")
            continue
        if half_years and (start.day, start.month) not in ((1, 1), (1, 7)):
            warn(f"{name}: {key} is not the first day of a half-year (1 January or 1 July)")
            continue
        spec = value if isinstance(value, Mapping) else {"rate": value}
        rate = _decimal(spec.get("rate"), f"{name}.{key}.rate", warn)
        if rate is not None:
            rows.append(RateRow(start, rate, str(spec.get("source", "") or "")))
    return tuple(sorted(rows, key=lambda row: row.start))


def _cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def _compensation(table: Any, name: str, warn) -> dict[str, tuple[tuple[int, int], ...]]:
    # currency = "40.00" (any debt) or currency = { "0" = "40.00", "1000" = "70.00", ... }
    if not isinstance(table, Mapping):
        warn(f"{name} must be a table of currency = amount")
        return {}
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    for currency, spec in table.items():
        tiers_spec = spec if isinstance(spec, Mapping) else {"0": spec}
        tiers = []
        for debt_from, amount in tiers_spec.items():
            lower = _decimal(debt_from, f"{name}.{currency} debt from", warn)
            value = _decimal(amount, f"{name}.{currency}.{debt_from}", warn)
            if lower is not None and value is not None:
                tiers.append((_cents(lower), _cents(value)))
        if tiers:
            out[str(currency).upper()] = tuple(sorted(tiers))
    return out


# ---- half-years and rate coverage ----------------------------------------------------------


def half_year_start(day: date) -> date:
    """1 January or 1 July of the half-year holding ``day``."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def half_year_end(start: date) -> date:
    """The last day of the half-year starting on ``start``."""
    return date(start.year, 6, 30) if start.month == 1 else date(start.year, 12, 31)


def half_years(first: date, last: date) -> list[date]:
    """First days of every half-year from the one holding ``first`` to ``last``'s."""
    out = []
    start = half_year_start(first)
    while start <= last:
        out.append(start)
        start = half_year_end(start) + timedelta(days=1)
    return out


_REFERENCE = {
    "eu_directive": "the ECB main refinancing rate in force on {day}",
    "uk_late_payment": "the Bank of England base rate in force on {day}",
    "hu_ptk": "the MNB central bank base rate on {day}",
}


def _reference_day(key: str, start: date) -> str:
    if key == "uk_late_payment":
        return (start - timedelta(days=1)).isoformat()
    return start.isoformat()


def missing_rate_issues(
    regime: Regime, periods: Iterable[date], where: str = "letters"
) -> list[Issue]:
    """One Issue per half-year in ``periods`` that the regime's table has no row for.

    The message names the period, the rate used instead and the settings lines to add.
    """
    if not regime.statutory:
        return []
    have = {row.start for row in regime.rows}
    issues = []
    for start in sorted(set(periods) - have):
        earlier = [row for row in regime.rows if row.start < start]
        table = f"interest.rates.{regime.key}"
        what = _REFERENCE[regime.key].format(day=_reference_day(regime.key, start))
        if earlier:
            used = (
                f"the rate of {earlier[-1].start.isoformat()} ({earlier[-1].rate} %) was "
                "used instead"
            )
        else:
            used = "no interest is claimed for those days"
        issues.append(
            Issue(
                where,
                f"{table} has no rate for {start.isoformat()} – "
                f"{half_year_end(start).isoformat()} ({what}); {used}. Add to the settings: "
                f'[{table}] "{start.isoformat()}" = {{ rate = "…", source = "…" }}',
            )
        )
    return issues


def fx_rate(settings: RegimeSettings, day: date) -> RateRow | None:
    """The MNB EUR/HUF rate valid on ``day``: the fixing of the last Hungarian working day.

    MNB rates are fixed on working days and stay valid until the next fixing, so a
    Saturday uses Friday's rate. None when the table lacks that fixing.
    """
    fixing_day = day
    for _ in range(10):
        if is_working_day(fixing_day, "HU"):
            break
        fixing_day -= timedelta(days=1)
    return next((row for row in settings.fx if row.start == fixing_day), None)


def fx_day_for(regime: Regime, delay_start: date) -> date:
    """The day whose EUR/HUF rate converts the compensation of a delay starting then."""
    return half_year_start(delay_start) if regime.fx_day == "half_year" else delay_start


def compensation_cents(
    settings: RegimeSettings, regime: Regime, debt_cents: int, currency: str, delay_start: date
) -> tuple[int, date | None]:
    """Fixed compensation of one invoice, and the FX day whose rate is missing (else None)."""
    if regime.compensation_eur_cents and currency.upper() == "HUF":
        day = fx_day_for(regime, delay_start)
        row = fx_rate(settings, day)
        if row is None:
            return 0, day
        huf = Decimal(regime.compensation_eur_cents) * row.rate
        return int(huf.to_integral_value()), None
    return regime.rule.compensation_cents(debt_cents, currency), None


def fx_issue(days: Iterable[date], where: str = "letters") -> list[Issue]:
    """The Issue for Hungarian compensations whose MNB EUR/HUF rate is not in the table."""
    days = sorted(set(days))
    if not days:
        return []
    table = f"interest.rates.{FX_TABLE}"
    lines = " ".join(f'"{day.isoformat()}" = {{ rate = "…", source = "MNB" }}' for day in days)
    return [
        Issue(
            where,
            f"{table} has no MNB official EUR/HUF rate valid on "
            f"{', '.join(day.isoformat() for day in days)}: the EUR 40 compensation of those "
            f"invoices is not claimed. Add to the settings: [{table}] {lines}",
        )
    ]


def accrual_periods(regime: Regime, delay_start: date, as_of: date) -> list[date]:
    """Half-years whose rate a debt in delay from ``delay_start`` to ``as_of`` needs."""
    if as_of < delay_start:
        return []
    if regime.rule.rate_fixing == "start":
        return [half_year_start(delay_start)]
    return half_years(delay_start, as_of)


def contract_regime(regime: Regime, rate: Decimal) -> Regime:
    """``regime`` (the contract one) at a customer's own agreed ``rate``."""
    rows = (RateRow(date.min, rate, "customer interest_rate column"),)
    rule = replace(regime.rule, reference_rates=((date.min, rate),))
    return replace(regime, rule=rule, rows=rows)


_PERCENT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*%?\s*$")


def parse_rate_cell(value: Any) -> Decimal | None:
    """A per-customer contract rate from a cell: ``9.5``, ``"9,5 %"``; None if not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        if value != value:  # NaN
            return None
        number = Decimal(str(value))
        # A percent-formatted Excel cell holds 0.095 for 9.5 %.
        return number * 100 if 0 < number < 1 else number
    match = _PERCENT.match(str(value))
    return Decimal(match.group(1).replace(",", ".")) if match else None
