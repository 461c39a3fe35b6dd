"""The priority collection plan (design.md §5): who to chase first, why, what and when.

Pure: from the classified ledger and the rules to plan rows (one per customer and
currency with an overdue amount), calendar tasks and the aging table.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from . import frame as F
from .classify import customer_summary, resolve_stage_name
from .currency import currency_digits
from .issues import Issue
from .rules import Rules
from .workdays import next_working_day


@dataclass(frozen=True)
class PlanSettings:
    """The ``[plan]`` rules, typed. Defaults and checks live in the settings schema
    (``default_rules.toml`` and :mod:`.schema`), never here."""

    horizon_days: int
    recovery_curve: tuple[tuple[int, float], ...]
    broken_promise_weight: float
    stage_weights: Mapping[str, float]
    warning_days: int
    warning_weight: float
    distance_km_free: float
    effort_weight: float
    max_effort_penalty: float
    region_weights: Mapping[str, float]
    capacity_per_day: int
    default_owner: str
    base_currency: str
    exchange_rates: Mapping[str, float]

    def rate(self, currency: str) -> float | None:
        """Units of the base currency per unit of ``currency`` (None when unknown)."""
        if currency == self.base_currency:
            return 1.0
        return self.exchange_rates.get(currency)


def plan_settings(rules: Rules) -> tuple[PlanSettings, list[Issue]]:
    """The ``[plan]`` table of ``rules``, typed (the schema checked every value when the
    rules were loaded, so there is nothing left to report here)."""
    raw = rules.section("plan")
    return PlanSettings(
        horizon_days=int(raw["horizon_days"]),
        recovery_curve=tuple((int(d), float(p)) for d, p in raw["recovery_curve"]),
        broken_promise_weight=float(raw["broken_promise_weight"]),
        stage_weights={str(k): float(v) for k, v in raw["stage_weights"].items()},
        warning_days=int(raw["warning_days"]),
        warning_weight=float(raw["warning_weight"]),
        distance_km_free=float(raw["distance_km_free"]),
        effort_weight=float(raw["effort_weight"]),
        max_effort_penalty=float(raw["max_effort_penalty"]),
        region_weights={str(k).casefold(): float(v) for k, v in raw["region_weights"].items()},
        capacity_per_day=int(raw["capacity_per_day"]),
        default_owner=str(raw["default_owner"]),
        base_currency=str(raw["base_currency"]).upper(),
        exchange_rates={str(k).upper(): float(v) for k, v in raw["exchange_rates"].items()},
    ), []


def monthly_drop(days: np.ndarray, settings: PlanSettings) -> np.ndarray:
    """Share of a debt lost by waiting ``horizon_days`` more, at each days-overdue value.

    The design's p(d) - p(d + horizon), taken as its running maximum over age: where the
    curve flattens the raw drop shrinks, and an older debt would rank below a younger one
    of the same amount. With the maximum, priority never falls as a debt ages.
    """
    days = np.maximum(np.asarray(days, dtype=np.int64), 0)
    if days.size == 0:
        return np.zeros(0)
    # Past the curve's last point it is flat and the drop is zero: the running maximum
    # stays as it was, so older debts share that value. The grid stops there (a due date
    # centuries ago would otherwise allocate an array per day of age).
    last = max(int(max((d for d, _p in settings.recovery_curve), default=0)), 0)
    days = np.minimum(days, last + 1)
    grid = np.arange(int(days.max()) + 1)
    drop = recovery(grid, settings) - recovery(grid + settings.horizon_days, settings)
    return np.maximum.accumulate(drop)[days]


def recovery(days: np.ndarray, settings: PlanSettings) -> np.ndarray:
    """Probability of recovery at each days-overdue value (not yet due counts as day 0)."""
    xs = np.array([d for d, _p in settings.recovery_curve], dtype=float)
    ys = np.array([p for _d, p in settings.recovery_curve], dtype=float)
    return np.interp(np.maximum(days, 0), xs, ys)


PLAN_COLUMNS = (
    "rank",
    "customer",
    "currency",
    "stage",
    "overdue_cents",
    "oldest_days_overdue",
    "open_items",
    "overdue_items",
    "score",
    "why",
    "next_action",
    "action_date",
    "owner",
    "contact",
    "phone",
    "email",
    "credit_hold",
    "broken_promises",
    "outstanding_cents",
    "credits_cents",
    "net_overdue_cents",
)


def money_text(cents: int, currency: str) -> str:
    """Plain, language-neutral money for explanations: ``EUR 48,726.00``, ``HUF 2,269,098``
    (in the currency's own decimals)."""
    value = Decimal(cents).scaleb(-2)
    return f"{currency} {value:,.{currency_digits(currency)}f}"


def build_plan(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    settings: PlanSettings,
    summary: pd.DataFrame | None = None,
    decisions: Mapping | None = None,
    on_time_payers: Collection[tuple[str, str]] = (),
) -> tuple[pd.DataFrame, list[Issue]]:
    """One ranked row per customer and currency with an overdue amount, and rate issues.

    Scores are in the base currency so that one ranking covers every currency.
    ``summary`` is :func:`customer_summary` of ``classified`` when the caller has it.
    ``decisions`` (:func:`receivables.core.dunning.decide`) set the Next Action and the
    earliest Action Date of customers at letter stages, and the Credits / Net Overdue.
    ``on_time_payers`` are (customer, currency) pairs known from elsewhere (a batch's
    history) to pay on time; the ledger adds those whose paid items carry payment dates
    on or before their due dates (see :func:`paid_on_time`).
    """
    from .dunning import parse_dunning

    dunning, _issues = parse_dunning(rules)
    if summary is None:
        summary = customer_summary(classified, rules)
    summary = summary[summary["overdue_cents"] > 0].copy()
    if summary.empty:
        return pd.DataFrame(columns=list(PLAN_COLUMNS)), []
    issues = _rate_issues(summary, settings)
    facts = _plan_facts(classified, summary, rules, settings, on_time_payers)
    stages: dict[str, object] = {}  # rules.stage() scans the ladder: once per stage key
    rows = []
    for record in records(summary):
        stage = stages.get(record.stage)
        if stage is None:
            stage = stages[record.stage] = rules.stage(record.stage)
        score, why = _score(record, stage, facts, settings)
        rows.append(
            _plan_row(record, stage, score, why, facts, settings, decisions or {}, dunning, as_of)
        )
    return _ranked(pd.DataFrame(rows), rules, as_of, settings), issues


def _rate_issues(summary: pd.DataFrame, settings: PlanSettings) -> list[Issue]:
    """A currency without an exchange rate to the base currency (its scores count 1:1)."""
    return [
        Issue(
            "rules plan.exchange_rates",
            f"no exchange rate for {currency}: its priority scores count 1 {currency} as "
            f"1 {settings.base_currency}; add {currency} to plan.exchange_rates",
        )
        for currency in sorted(summary["currency"].unique())
        if settings.rate(currency) is None
    ]


@dataclass(frozen=True)
class _PlanFacts:
    """Per (customer, currency) tables the plan rows read, each built once."""

    at_risk: Mapping  # balance at risk of waiting (in its currency)
    first_text: Mapping[str, Mapping]  # owner, contact, phone, email, region
    distance: Mapping | None  # farthest distance_km (None: no such column)
    good_payers: Collection  # pairs known to pay on time
    overrides: Collection  # pairs whose stage a Stage Override set
    broken_dates: Mapping  # latest broken promise date
    on_hold: Collection[str]  # customers on credit hold (any currency)


def _plan_facts(
    classified: pd.DataFrame,
    summary: pd.DataFrame,
    rules: Rules,
    settings: PlanSettings,
    on_time_payers: Collection[tuple[str, str]],
) -> _PlanFacts:
    """The tables the plan rows need, from whole columns of the ledger."""
    # Filters take only the columns used: every column of a filtered frame is copied.
    overdue = classified.loc[
        classified[F.COUNTS_OVERDUE], ["customer", "currency", F.DAYS_OVERDUE, F.BALANCE]
    ]
    days = overdue[F.DAYS_OVERDUE].to_numpy(dtype=np.int64)
    balances = overdue[F.BALANCE].to_numpy(dtype=np.int64)
    at_risk = pd.DataFrame(
        {
            "customer": overdue["customer"],
            "currency": overdue["currency"],
            "at_risk": balances / 100.0 * monthly_drop(days, settings),
        }
    )
    distance = None
    if "distance_km" in classified:
        # Missing distances count as 0 km; filled here once rather than tested per row.
        farthest = classified.groupby(["customer", "currency"], sort=False)["distance_km"].max()
        km = farthest.to_numpy(dtype=np.float64)
        distance = dict(
            zip(index_keys(farthest.index), np.where(np.isnan(km), 0.0, km).tolist(), strict=True)
        )
    # Credit Hold is one decision per customer: on if any of its currencies calls for it.
    hold_keys = {s.key for s in rules.stages if s.credit_hold}
    return _PlanFacts(
        at_risk=series_dict(at_risk.groupby(["customer", "currency"])["at_risk"].sum()),
        first_text={
            column: first_present(classified, column)
            for column in ("owner", "contact", "phone", "email", "region")
            if column in classified
        },
        distance=distance,
        # A customer who pays on time now has late items: only where there is evidence
        # of payment dates (a paid row alone says nothing about when it was paid).
        good_payers=set(on_time_payers) | paid_on_time(classified),
        overrides=overridden(classified, rules),
        broken_dates=series_dict(
            classified.loc[classified[F.BROKEN_PROMISE], ["customer", "currency", "promise_date"]]
            .groupby(["customer", "currency"])["promise_date"]
            .max()
        ),
        on_hold=set(summary.loc[summary["stage"].isin(hold_keys), "customer"].tolist()),
    )


def _score(record, stage, facts: _PlanFacts, settings: PlanSettings) -> tuple[float, str]:
    """The priority score of a plan row, and the words for its largest contributions."""
    key = (record.customer, record.currency)
    base_score = float(facts.at_risk.get(key, 0.0)) * (settings.rate(record.currency) or 1.0)
    contributions: list[tuple[float, str]] = [
        (
            base_score,
            f"{money_text(record.overdue_cents, record.currency)} overdue, "
            f"oldest {record.oldest_days_overdue} days",
        )
    ]
    factor = 1.0
    stage_weight = settings.stage_weights.get(stage.key, 0.0)
    if stage_weight:
        factor += stage_weight
        contributions.append((base_score * stage_weight, f"at {stage.label.lower()} stage"))
    if record.broken_promises:
        promised = facts.broken_dates.get(key)
        when = f" on {pd.Timestamp(promised):%d %b %Y}" if pd.notna(promised) else ""
        factor += settings.broken_promise_weight
        contributions.append((base_score * settings.broken_promise_weight, f"broken promise{when}"))
    if key in facts.good_payers and record.oldest_days_overdue >= settings.warning_days:
        factor += settings.warning_weight
        contributions.append(
            (base_score * settings.warning_weight, "usually pays on time, now late (warning sign)")
        )
    penalty, effort = _effort(key, facts, settings)
    if penalty:
        factor -= penalty
        contributions.append((-base_score * penalty, f"effort: {effort}"))
    contributions.sort(key=lambda item: -abs(item[0]))
    why = "; ".join(text for _value, text in contributions[:3])
    if key in facts.overrides:
        # Not a weight: named so nobody wonders why the stage is not the ladder's.
        why = f"stage set by the Stage Override column ({stage.label}); {why}"
    return round(base_score * factor, 2), why


def _effort(key, facts: _PlanFacts, settings: PlanSettings) -> tuple[float, str]:
    """The effort penalty (distance, region) of a plan row, and its words."""
    penalty = 0.0
    km = facts.distance.get(key, 0.0) if facts.distance is not None else 0.0
    if km > settings.distance_km_free:
        penalty += settings.effort_weight * (km - settings.distance_km_free) / 100.0
    regions = facts.first_text.get("region")
    region = regions.get(key) if regions is not None else None
    if region and str(region).casefold() in settings.region_weights:
        penalty += settings.region_weights[str(region).casefold()]
    penalty = min(penalty, settings.max_effort_penalty)
    what = f"{km:,.0f} km away" if km > settings.distance_km_free else f"region {region}"
    return penalty, what


def _plan_row(record, stage, score, why, facts, settings, decisions, dunning, as_of) -> dict:
    """One plan row: the record's figures, the dunning decision's action and dates."""
    from .dunning import action_date, next_action

    key = (record.customer, record.currency)
    text = facts.first_text
    decision = decisions.get(key)
    credits = -int(record.credit_cents)
    overdue = int(record.overdue_cents)
    return {
        "customer": record.customer,
        "currency": record.currency,
        "stage": stage.key,
        "overdue_cents": overdue,
        "oldest_days_overdue": int(record.oldest_days_overdue),
        "open_items": int(record.open_items),
        "overdue_items": int(record.overdue_items),
        "score": score,
        "why": why,
        "next_action": stage.action if decision is None else next_action(decision, stage.action),
        "owner": _pick(text.get("owner", _NONE), key) or settings.default_owner,
        "contact": _pick(text.get("contact", _NONE), key),
        "phone": _pick(text.get("phone", _NONE), key),
        "email": _pick(text.get("email", _NONE), key),
        "credit_hold": record.customer in facts.on_hold,
        "credits_cents": credits,
        "net_overdue_cents": max(0, overdue - credits) if dunning.net_credits else overdue,
        "_earliest": as_of if decision is None else action_date(decision, as_of),
        "broken_promises": int(record.broken_promises),
        "outstanding_cents": int(record.outstanding_cents),
    }


def _ranked(plan: pd.DataFrame, rules: Rules, as_of: date, settings: PlanSettings):
    """The plan rows ranked by score, with their Action Dates scheduled per owner."""
    # Ties break by larger overdue amount, then name, so the order is stable.
    plan = plan.sort_values(
        ["score", "overdue_cents", "customer", "currency"],
        ascending=[False, False, True, True],
        kind="mergesort",
    )
    plan.insert(0, "rank", np.arange(1, len(plan) + 1))
    plan["action_date"] = schedule(
        plan["owner"].tolist(),
        as_of,
        rules.country,
        settings.capacity_per_day,
        earliest=plan["_earliest"].tolist(),
    )
    return plan[list(PLAN_COLUMNS)].reset_index(drop=True)


PAID_DATE = "paid_date"


def paid_on_time(classified: pd.DataFrame) -> set[tuple[str, str]]:
    """(customer, currency) pairs whose paid items were all paid on or before their due
    dates, judged from a ``paid_date`` column; empty when the ledger has no such dates."""
    if PAID_DATE not in classified or "due_date" not in classified:
        return set()
    paid = classified.loc[
        (classified[F.STAGE] == "paid")
        & classified[PAID_DATE].notna()
        & classified["due_date"].notna(),
        ["customer", "currency", PAID_DATE, "due_date"],
    ]
    if paid.empty:
        return set()
    late = pd.to_datetime(paid[PAID_DATE]) > pd.to_datetime(paid["due_date"])
    any_late = late.groupby([paid["customer"], paid["currency"]]).any()
    return {key for key, was_late in series_dict(any_late).items() if not was_late}


def overridden(classified: pd.DataFrame, rules: Rules) -> set[tuple[str, str]]:
    """(customer, currency) pairs with an open item whose stage a Stage Override set."""
    if "stage_override" not in classified:
        return set()
    rows = classified.loc[
        present_mask(classified["stage_override"]) & (classified[F.STAGE] != "paid"),
        ["customer", "currency", "stage_override", F.STAGE],
    ]
    return {
        (customer, currency)
        for customer, currency, text, stage in rows.itertuples(index=False, name=None)
        if resolve_stage_name(str(text), rules) == stage
    }


def first_present(classified: pd.DataFrame, column: str) -> dict[tuple[str, str], object]:
    """First present value of ``column`` per (customer, currency), in ledger order.

    drop_duplicates instead of groupby().first(): the latter reduces group by group on
    Arrow-backed text, thousands of times slower on ledgers with many customers.
    """
    rows = classified.loc[present_mask(classified[column]), ["customer", "currency", column]]
    rows = rows.drop_duplicates(["customer", "currency"])
    return dict(
        zip(
            zip(rows["customer"].tolist(), rows["currency"].tolist(), strict=True),
            rows[column].tolist(),
            strict=True,
        )
    )


def records(frame: pd.DataFrame) -> Iterator[tuple]:
    """The rows of ``frame`` as named tuples, as ``frame.itertuples(index=False)`` gives.

    Built from whole columns (``.tolist()``): itertuples iterates each column element by
    element, which on Arrow-backed text is ~50x slower. Other extension columns (Int64)
    are iterated as itertuples does, so every value has the same type.
    """
    Row = namedtuple("Row", [str(c) for c in frame.columns], rename=True)  # noqa: PYI024
    columns = [
        series.tolist()
        if isinstance(series.dtype, np.dtype) or pd.api.types.is_string_dtype(series.dtype)
        else list(series)
        for _name, series in frame.items()
    ]
    return map(Row._make, zip(*columns, strict=True))


def index_keys(index: pd.Index) -> list:
    """The labels of ``index`` as a list (tuples for a MultiIndex).

    A MultiIndex boxes its tuples element by element (slow over Arrow-backed text
    levels); they are built here from each level's values and codes instead.
    """
    if not isinstance(index, pd.MultiIndex) or any((codes < 0).any() for codes in index.codes):
        return index.tolist()
    return list(
        zip(
            *(
                level.to_numpy(dtype=object)[codes].tolist()
                for level, codes in zip(index.levels, index.codes, strict=True)
            ),
            strict=True,
        )
    )


def series_dict(series: pd.Series) -> dict:
    """``series.to_dict()``, faster for a MultiIndex (see :func:`index_keys`)."""
    return dict(zip(index_keys(series.index), series.tolist(), strict=True))


_NONE: Mapping = {}


def _pick(table: Mapping, key) -> object:
    """``table[key]`` when it is a present value (see :func:`present`), else None."""
    value = table.get(key)
    return value if value is not None and present(value) else None


def present(value: object) -> bool:
    """True for a real value: not None, NaN, NaT or blank text."""
    if type(value) is str:  # the common case first
        return bool(value.strip())
    if value is None or value is pd.NaT or value is pd.NA:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return not (isinstance(value, str) and not value.strip())


def present_mask(series: pd.Series) -> pd.Series:
    """Vectorised :func:`present` over a column."""
    if series.dtype == object and series.isna().all():
        # A column the ledger lacks (all None): converting it to text first is slow.
        return pd.Series(False, index=series.index, name=series.name)
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype("string")
        return (text.notna() & text.str.strip().ne("")).fillna(False).astype(bool)
    return series.notna()


def schedule(
    owners: Sequence[str],
    as_of: date,
    country: str,
    capacity: int,
    load: dict[tuple[str, date], int] | None = None,
    earliest: Sequence[date] | None = None,
) -> list[date]:
    """Action dates in order: working days from as-of, at most ``capacity`` per owner a day.

    ``load`` (tasks already booked per owner and day) is updated, so several lists can
    share one calendar. ``earliest`` gives a task a first possible day later than as-of
    (the next letter is due only after the dunning interval).
    """
    load = defaultdict(int) if load is None else load
    first_day = next_working_day(as_of, country)
    # Each owner's days fill in order, so the search for a free day resumes where the
    # previous task of that owner stopped (linear, not quadratic, in tasks).
    cursor: dict[str, date] = {}
    # Later tasks of an owner from the same first day resume likewise (after a run that
    # wrote thousands of letters, every next letter waits for the same interval). Loads
    # only grow, so days found full stay full.
    later: dict[tuple[str, date], date] = {}
    dates = []
    for position, owner in enumerate(owners):
        day = cursor.get(owner, first_day)
        if earliest is not None and earliest[position] > as_of:
            # A later task: its own day, not the owner's cursor (which stays put).
            start = next_working_day(earliest[position], country)
            day = later.get((owner, start), start)
            while load[(owner, day)] >= capacity:
                day = next_working_day(day + timedelta(days=1), country)
            load[(owner, day)] += 1
            later[(owner, start)] = day
            dates.append(day)
            continue
        while load[(owner, day)] >= capacity:
            day = next_working_day(day + timedelta(days=1), country)
        load[(owner, day)] += 1
        cursor[owner] = day
        dates.append(day)
    return dates
