"""The priority collection plan (design.md §5): who to chase first, why, what and when.

Pure: from the classified ledger and the rules to plan rows (one per customer and
currency with an overdue amount), calendar tasks and the aging table.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from . import frame as F
from .classify import customer_summary, resolve_stage_name
from .currency import currency_digits
from .issues import Issue
from .rules import Rules, Stage
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
    digits = currency_digits(currency)
    if digits == 2 and -_EXACT_CENTS < cents < _EXACT_CENTS:
        # Two decimals (nearly every currency): the cents' own digits, as the Decimal
        # below writes them, without building one (the plan and the calendar write one
        # per customer and currency).
        whole, rest = divmod(-cents if cents < 0 else cents, 100)
        return f"{currency} {'-' if cents < 0 else ''}{whole:,}.{rest:02d}"
    value = Decimal(cents).scaleb(-2)
    return f"{currency} {value:,.{digits}f}"


# Below this many cents, Decimal(cents).scaleb(-2) is exact (28 digits of precision).
_EXACT_CENTS = 10**27


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
    summary = summary[summary["overdue_cents"] > 0]
    if summary.empty:
        return pd.DataFrame(columns=list(PLAN_COLUMNS)), []
    issues = _rate_issues(summary, settings)
    facts = _plan_facts(classified, summary, rules, settings, on_time_payers)
    plan = _ranked(_plan_frame(summary, rules, facts, settings, dunning.net_credits))
    return follow_decisions(plan, rules, as_of, settings, decisions), issues


def follow_decisions(
    plan: pd.DataFrame,
    rules: Rules,
    as_of: date,
    settings: PlanSettings,
    decisions: Mapping | None,
) -> pd.DataFrame:
    """``plan`` (ranked) with the Next Action and Action Date that ``decisions`` give.

    Nothing else of a plan row depends on the dunning decisions, so a run whose letters
    moved them on (:func:`receivables.core.process.follow_letters`) reschedules its plan
    here rather than building it again: the same rows as :func:`build_plan` would give.
    """
    from .dunning import action_date, next_action

    if plan.empty:
        return plan
    decisions = decisions or {}
    # rules.stage() scans the ladder: once per stage key.
    actions = {key: rules.stage(key).action for key in dict.fromkeys(plan["stage"].tolist())}
    next_actions, earliest = [], []
    for customer, currency, stage in zip(
        plan["customer"].tolist(), plan["currency"].tolist(), plan["stage"].tolist(), strict=True
    ):
        decision = decisions.get((customer, currency))
        if decision is None:
            next_actions.append(actions[stage])
            earliest.append(as_of)
        else:
            next_actions.append(next_action(decision, actions[stage]))
            earliest.append(action_date(decision, as_of))
    plan = plan.assign(
        next_action=next_actions,
        action_date=schedule(
            plan["owner"].tolist(),
            as_of,
            rules.country,
            settings.capacity_per_day,
            earliest=earliest,
        ),
    )
    return plan[list(PLAN_COLUMNS)]


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
    if "distance_km" in classified and classified["distance_km"].notna().any():
        # (Without any distance every row counts 0 km, as without the column.)
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
        first_text=_first_texts(classified, ("owner", "contact", "phone", "email", "region")),
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


def _plan_frame(
    summary: pd.DataFrame,
    rules: Rules,
    facts: _PlanFacts,
    settings: PlanSettings,
    net_credits: bool,
) -> pd.DataFrame:
    """The plan's rows in the summary's order, built column by column: every column but
    the rank, the Next Action and the Action Date."""
    customers = summary["customer"].tolist()
    keys = list(zip(customers, summary["currency"].tolist(), strict=True))
    # rules.stage() scans the ladder: once per stage key.
    stage_of = {key: rules.stage(key) for key in dict.fromkeys(summary["stage"].tolist())}
    stages = [stage_of[key] for key in summary["stage"].tolist()]
    overdue = summary["overdue_cents"].to_numpy(dtype=np.int64)
    credits = -summary["credit_cents"].to_numpy(dtype=np.int64)
    scores, whys = _scores(summary, keys, stages, facts, settings)
    texts = {
        column: _picked(facts.first_text.get(column, _NONE), keys)
        for column in ("owner", "contact", "phone", "email")
    }
    return pd.DataFrame(
        {
            "customer": customers,
            "currency": [currency for _customer, currency in keys],
            "stage": [stage.key for stage in stages],
            "overdue_cents": overdue,
            "oldest_days_overdue": summary["oldest_days_overdue"].to_numpy(dtype=np.int64),
            "open_items": summary["open_items"].to_numpy(dtype=np.int64),
            "overdue_items": summary["overdue_items"].to_numpy(dtype=np.int64),
            "score": scores,
            "why": whys,
            "owner": [owner or settings.default_owner for owner in texts["owner"]],
            "contact": texts["contact"],
            "phone": texts["phone"],
            "email": texts["email"],
            "credit_hold": [customer in facts.on_hold for customer in customers],
            "broken_promises": summary["broken_promises"].to_numpy(dtype=np.int64),
            "outstanding_cents": summary["outstanding_cents"].to_numpy(dtype=np.int64),
            "credits_cents": credits,
            "net_overdue_cents": np.maximum(0, overdue - credits) if net_credits else overdue,
        }
    )


# The summary columns a score is made of, in the order _scores takes them.
_SCORED_COLUMNS = ("overdue_cents", "oldest_days_overdue", "broken_promises")
_WARNING_SIGN = "usually pays on time, now late (warning sign)"


def _scores(
    summary: pd.DataFrame,
    keys: Sequence[tuple[str, str]],
    stages: Sequence[Stage],
    facts: _PlanFacts,
    settings: PlanSettings,
) -> tuple[list[float], list[str]]:
    """The priority score of every plan row, and the words for its largest contributions."""
    scores, whys = [], []
    rates = {currency: settings.rate(currency) or 1.0 for _customer, currency in set(keys)}
    # Per stage (a handful): its weight and words.
    weights = {
        stage.key: (settings.stage_weights.get(stage.key, 0.0), f"at {stage.label.lower()} stage")
        for stage in stages
    }
    broken_weight, warning_weight = settings.broken_promise_weight, settings.warning_weight
    # Without distances and region weights, every row's effort penalty is the same.
    fixed_penalty = (
        min(0.0, settings.max_effort_penalty)
        if facts.distance is None and not settings.region_weights
        else None
    )
    columns = [summary[name].tolist() for name in _SCORED_COLUMNS]
    for key, stage, overdue, oldest, broken in zip(keys, stages, *columns, strict=True):
        currency = key[1]
        base_score = float(facts.at_risk.get(key, 0.0)) * rates[currency]
        contributions: list[tuple[float, str]] = [
            (base_score, f"{money_text(overdue, currency)} overdue, oldest {oldest} days")
        ]
        factor = 1.0
        stage_weight, stage_words = weights[stage.key]
        if stage_weight:
            factor += stage_weight
            contributions.append((base_score * stage_weight, stage_words))
        if broken:
            promised = facts.broken_dates.get(key)
            when = f" on {pd.Timestamp(promised):%d %b %Y}" if pd.notna(promised) else ""
            factor += broken_weight
            contributions.append((base_score * broken_weight, f"broken promise{when}"))
        if key in facts.good_payers and oldest >= settings.warning_days:
            factor += warning_weight
            contributions.append((base_score * warning_weight, _WARNING_SIGN))
        penalty = _effort(key, facts, settings) if fixed_penalty is None else fixed_penalty
        if penalty:
            factor -= penalty
            contributions.append(
                (-base_score * penalty, f"effort: {_effort_words(key, facts, settings)}")
            )
        if len(contributions) > 1:
            contributions.sort(key=lambda item: -abs(item[0]))
            why = "; ".join([text for _value, text in contributions[:3]])
        else:
            why = contributions[0][1]
        if key in facts.overrides:
            # Not a weight: named so nobody wonders why the stage is not the ladder's.
            why = f"stage set by the Stage Override column ({stage.label}); {why}"
        scores.append(round(base_score * factor, 2))
        whys.append(why)
    return scores, whys


def _effort(key, facts: _PlanFacts, settings: PlanSettings) -> float:
    """The effort penalty (distance, region) of a plan row."""
    penalty = 0.0
    km = facts.distance.get(key, 0.0) if facts.distance is not None else 0.0
    if km > settings.distance_km_free:
        penalty += settings.effort_weight * (km - settings.distance_km_free) / 100.0
    if settings.region_weights:  # (without any, no region changes the penalty)
        regions = facts.first_text.get("region")
        region = regions.get(key) if regions is not None else None
        if region and str(region).casefold() in settings.region_weights:
            penalty += settings.region_weights[str(region).casefold()]
    return min(penalty, settings.max_effort_penalty)


def _effort_words(key, facts: _PlanFacts, settings: PlanSettings) -> str:
    """The words for the effort penalty of a plan row (only made for rows that have one)."""
    km = facts.distance.get(key, 0.0) if facts.distance is not None else 0.0
    if km > settings.distance_km_free:
        return f"{km:,.0f} km away"
    regions = facts.first_text.get("region")
    return f"region {regions.get(key) if regions is not None else None}"


def _ranked(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan rows ranked by score."""
    # Ties break by larger overdue amount, then name, so the order is stable.
    plan = plan.sort_values(
        ["score", "overdue_cents", "customer", "currency"],
        ascending=[False, False, True, True],
        kind="mergesort",
    ).reset_index(drop=True)
    plan.insert(0, "rank", np.arange(1, len(plan) + 1))
    return plan


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


def _first_texts(classified: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict]:
    """:func:`first_present` of each of ``columns`` the ledger has, its (customer,
    currency) pairs numbered once for all of them."""
    columns = [column for column in columns if column in classified]
    if not columns:
        return {}
    # Numbers equal where drop_duplicates() sees equal pairs (a missing value included),
    # then numbered 0, 1, ... in order of first appearance.
    customers, _names = pd.factorize(classified["customer"], use_na_sentinel=False)
    currencies, codes = pd.factorize(classified["currency"], use_na_sentinel=False)
    pairs, _pairs = pd.factorize(customers.astype(np.int64) * max(len(codes), 1) + currencies)
    # Each pair's (customer, currency) key, read once from its first row for all the
    # columns (not once per column: reading Arrow-backed texts is the slow part).
    first_rows = np.flatnonzero(~pd.Series(pairs).duplicated().to_numpy(dtype=bool))
    keys = list(
        zip(
            classified["customer"].iloc[first_rows].tolist(),
            classified["currency"].iloc[first_rows].tolist(),
            strict=True,
        )
    )
    found = {}
    for column in columns:
        rows = np.flatnonzero(present_mask(classified[column]).to_numpy(dtype=bool))
        first = rows[~pd.Series(pairs[rows]).duplicated().to_numpy(dtype=bool)]
        found[column] = dict(
            zip(
                [keys[pair] for pair in pairs[first].tolist()],
                classified[column].iloc[first].tolist(),
                strict=True,
            )
        )
    return found


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


def _picked(table: Mapping, keys: Iterable) -> list:
    """``table[key]`` of every key when it is a present value (see :func:`present`),
    else None (texts, the common values, tested inline)."""
    return [
        value
        if (value.strip() if type(value) is str else value is not None and present(value))
        else None
        for value in map(table.get, keys)
    ]


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
