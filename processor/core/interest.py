"""Late-payment interest and fixed compensation per invoice (design.md §8).

The arithmetic shared by every regime (``receivables.core.regimes`` chooses the regime of
each letter and parses its settings and rate tables):

- ``rate_fixing = "period"``: the reference rate of each half-year applies to its days
  (Directive 2011/7/EU as Member States apply it, Ptk. 6:155);
- ``rate_fixing = "start"``: the reference rate when interest starts to run stays fixed
  for the whole debt (the UK Late Payment Act).

Rates are data: ``reference_rates`` map the first day a rate applies to a percent.

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
from decimal import Decimal
from fractions import Fraction

DAY_COUNTS = ("act/365", "act/act")
RATE_FIXINGS = ("period", "start")


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
