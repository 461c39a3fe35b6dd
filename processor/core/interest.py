"""Late-payment interest and fixed compensation per invoice (design.md §8).

Four rules, chosen by ``[interest] rule`` in the settings:

- ``none``: no interest, no compensation.
- ``contract``: a fixed annual rate agreed in the contract (``[interest.contract] rate``).
- ``eu``: Directive 2011/7/EU, reference rate + ``margin`` (8 points). The reference rate
  of each half-year is the ECB main refinancing rate in force on 1 January / 1 July, and
  it *changes along the delay* (``rate_fixing = "period"``), as Member States apply it.
- ``uk``: Late Payment of Commercial Debts (Interest) Act 1998, Bank of England base rate
  + 8%. The reference rate is the one in force on 30 June / 31 December before interest
  starts to run and stays *fixed for the whole debt* (``rate_fixing = "start"``).

Rates are data: ``reference_rates`` tables map the first day a rate applies to a percent.

Interest is simple, on the outstanding balance, for every day after the due date up to and
including the as-of date (so the day count equals the ledger's days overdue). Payments with
a date reduce the balance from the day after they were made. Sums are exact (fractions of a
cent are kept) and rounded once per invoice, half up, to the cent.

Day count (``[interest] day_count``): ``act/365`` (default) divides every day's interest by
365, leap years included, as the UK statute does (daily interest = annual rate / 365) and
as Spanish practice under Ley 3/2004 does; ``act/act`` divides the days of a leap year by
366, for contracts that say so.

Fixed compensation is per invoice and per currency: each currency maps "debt from" amounts
to a sum (EU: EUR 40 for any debt; UK: GBP 40 below 1,000, 70 below 10,000, 100 above).
"""

from __future__ import annotations

import bisect
import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from .issues import Issue, Severity
from .rules import default_layer

RULES = ("none", "contract", "eu", "uk")
DAY_COUNTS = ("act/365", "act/act")
RATE_FIXINGS = ("period", "start")

# A rate table entry older than this many days at the as-of date means the table has not
# been updated for the current half-year.
STALE_AFTER_DAYS = 184


@dataclass(frozen=True)
class InterestRule:
    """The effective interest rule; percents are ``Decimal`` (8 means 8% a year)."""

    kind: str = "none"
    margin: Decimal = Decimal(0)
    # (first day the reference rate applies, percent), sorted by day.
    reference_rates: tuple[tuple[date, Decimal], ...] = ()
    rate_fixing: str = "period"
    day_count: str = "act/365"
    # currency -> ((debt from, in cents, compensation in cents), ...) sorted by debt from.
    compensation: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    @property
    def charges_interest(self) -> bool:
        """True when the rule accrues interest at all."""
        return self.kind != "none"

    def annual_rate(self, day: date) -> Decimal | None:
        """Annual percent (reference + margin) for ``day``; None before the rate table."""
        if not self.charges_interest:
            return Decimal(0)
        starts = [start for start, _ in self.reference_rates]
        index = bisect.bisect_right(starts, day) - 1
        if index < 0:
            return None
        return self.reference_rates[index][1] + self.margin

    def compensation_cents(self, debt_cents: int, currency: str) -> int:
        """Fixed compensation for one invoice of ``debt_cents`` (0 when none configured)."""
        if not self.charges_interest:
            return 0
        amount = 0
        for debt_from, sum_cents in self.compensation.get(currency.upper(), ()):
            if debt_cents >= debt_from:
                amount = sum_cents
        return amount


@dataclass(frozen=True)
class Segment:
    """A run of days accruing at one rate on one principal."""

    start: date
    end: date  # inclusive
    days: int
    principal_cents: int
    rate: Decimal  # annual percent
    amount: Fraction  # exact interest in cents


@dataclass(frozen=True)
class Accrual:
    """Interest on one invoice: rounded cents, the exact amount and how it was built."""

    cents: int
    exact: Fraction
    segments: tuple[Segment, ...]
    # Days that accrued nothing because the rate table starts later than they do.
    uncovered_days: int = 0

    @property
    def rates(self) -> tuple[Decimal, ...]:
        """Distinct annual rates used, in order of use."""
        seen: list[Decimal] = []
        for segment in self.segments:
            if segment.rate not in seen:
                seen.append(segment.rate)
        return tuple(seen)


def _round_half_up(value: Fraction) -> int:
    # Interest is never negative here; floor(x + 1/2) is half-up for x >= 0.
    return int((value + Fraction(1, 2)) // 1)


def _year_basis(day: date, day_count: str) -> int:
    if day_count == "act/act" and calendar.isleap(day.year):
        return 366
    return 365


def accrue(
    rule: InterestRule,
    principal_cents: int,
    due: date,
    as_of: date,
    payments: Iterable[tuple[date, int]] = (),
) -> Accrual:
    """Simple interest on ``principal_cents`` for the days after ``due`` up to ``as_of``.

    ``principal_cents`` is the balance still open at ``as_of``; ``payments`` (date, cents)
    made after the due date were owed until their date, so they are added back before it.
    The ledger has no payment dates, so letters pass none: a partly paid invoice accrues on
    its open balance only, never more than can be shown.
    """
    first = due + timedelta(days=1)
    if not rule.charges_interest or as_of < first:
        return Accrual(0, Fraction(0), ())
    # A payment on day p was owed up to and including p (like the as-of date itself).
    late_payments = sorted((day, cents) for day, cents in payments if first <= day <= as_of)
    # Cut points: where principal, rate or (act/act) the year basis can change.
    cuts = {first, as_of + timedelta(days=1)}
    cuts.update(day + timedelta(days=1) for day, _ in late_payments)
    if rule.rate_fixing == "period":
        cuts.update(start for start, _ in rule.reference_rates if first < start <= as_of)
    if rule.day_count == "act/act":
        cuts.update(date(year, 1, 1) for year in range(first.year + 1, as_of.year + 1))
    bounds = sorted(cuts)
    fixed_rate = rule.annual_rate(first) if rule.rate_fixing == "start" else None
    segments: list[Segment] = []
    uncovered = 0
    total = Fraction(0)
    for start, stop in zip(bounds, bounds[1:], strict=False):
        end = stop - timedelta(days=1)
        principal = principal_cents + sum(cents for day, cents in late_payments if day >= start)
        rate = fixed_rate if rule.rate_fixing == "start" else rule.annual_rate(start)
        days = (stop - start).days
        if rate is None:
            uncovered += days
            continue
        basis = _year_basis(start, rule.day_count)
        amount = Fraction(principal) * Fraction(rate) / 100 * days / basis
        total += amount
        segments.append(Segment(start, end, days, principal, rate, amount))
    return Accrual(_round_half_up(total), total, tuple(segments), uncovered)


def parse_interest(
    section: Mapping[str, Any], where: str = "interest"
) -> tuple[InterestRule, list[Issue]]:
    """Parse the ``[interest]`` settings table; bad values become Issues, defaults stay."""
    issues: list[Issue] = []

    def warn(message: str) -> None:
        issues.append(Issue(where, message, Severity.ERROR))

    kind = str(section.get("rule", "none")).strip().lower()
    if kind not in RULES:
        warn(f"interest.rule {kind!r} is not one of {', '.join(RULES)}; no interest is claimed")
        kind = "none"
    day_count = str(section.get("day_count", "act/365")).strip().lower()
    if day_count not in DAY_COUNTS:
        warn(f"interest.day_count {day_count!r} is not act/365 or act/act; act/365 used")
        day_count = "act/365"
    if kind == "none":
        return InterestRule(day_count=day_count), issues
    spec = section.get(kind, {})
    if not isinstance(spec, Mapping):
        warn(f"interest.{kind} must be a table")
        spec = {}
    prefix = f"interest.{kind}"
    if kind == "contract":
        rate = _decimal(spec.get("rate", "0"), f"{prefix}.rate", warn) or Decimal(0)
        rates: tuple[tuple[date, Decimal], ...] = ((date.min, rate),)
        margin = Decimal(0)
        fixing = "period"
    else:
        # An invalid value falls back to the packaged one (rates live only in settings).
        packaged = default_layer()["interest"][kind]
        margin = _decimal(spec.get("margin", packaged["margin"]), f"{prefix}.margin", warn)
        margin = Decimal(packaged["margin"]) if margin is None else margin
        rates = _rate_table(spec.get("reference_rates", {}), f"{prefix}.reference_rates", warn)
        if not rates:
            warn(f"{prefix}.reference_rates is empty: no interest can be computed")
        fixing = str(spec.get("rate_fixing", packaged["rate_fixing"])).lower()
        if fixing not in RATE_FIXINGS:
            warn(f"{prefix}.rate_fixing must be 'period' or 'start'")
            fixing = packaged["rate_fixing"]
    compensation = _compensation(spec.get("compensation", {}), f"{prefix}.compensation", warn)
    rule = InterestRule(
        kind=kind,
        margin=margin,
        reference_rates=rates,
        rate_fixing=fixing,
        day_count=day_count,
        compensation=compensation,
    )
    return rule, issues


def coverage_issues(
    rule: InterestRule, earliest: date, as_of: date, where: str = "interest"
) -> list[Issue]:
    """Warn when the rate table starts after ``earliest`` or is stale at ``as_of``."""
    if not rule.charges_interest or rule.kind == "contract" or not rule.reference_rates:
        return []
    issues = []
    first_start, _ = rule.reference_rates[0]
    last_start, _ = rule.reference_rates[-1]
    table = f"interest.{rule.kind}.reference_rates"
    if earliest < first_start:
        issues.append(
            Issue(
                where,
                f"{table} starts on {first_start.isoformat()}: interest for earlier days "
                f"(from {earliest.isoformat()}) is not claimed; add the older rates",
            )
        )
    if (as_of - last_start).days >= STALE_AFTER_DAYS:
        issues.append(
            Issue(
                where,
                f"{table} ends with the rate from {last_start.isoformat()}; it is still "
                f"applied at {as_of.isoformat()}: add the current half-year's rate",
            )
        )
    return issues


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


def _rate_table(table: Any, name: str, warn) -> tuple[tuple[date, Decimal], ...]:
    if not isinstance(table, Mapping):
        warn(f"{name} must be a table of \"YYYY-MM-DD\" = \"percent\"")
        return ()
    rates = []
    for key, value in table.items():
        start = _date(key)
        if start is None:
            warn(f"{name}: {key!r} is not a date like 2026-01-01")
            continue
        rate = _decimal(value, f"{name}.{key}", warn)
        if rate is not None:
            rates.append((start, rate))
    return tuple(sorted(rates))


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
