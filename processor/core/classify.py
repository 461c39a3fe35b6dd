"""Stages (design.md §4): the ladder by days overdue, the overriding states, aging buckets.

Pure and vectorised: ``classify`` adds columns to a copy of the ledger frame, and
``customer_summary`` rolls items up per customer and currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from . import frame as F
from .issues import Issue, Location, Severity
from .rules import Rules


@dataclass(frozen=True)
class Classified:
    """The ledger frame with stage columns, plus the issues found while classifying."""

    frame: pd.DataFrame
    issues: tuple[Issue, ...]


def _thresholds(items) -> np.ndarray:
    # First item has no lower bound; searchsorted over the rest gives the index.
    return np.array([item.from_days for item in items[1:]], dtype=np.int64)


def ladder_index(days_overdue: np.ndarray, rules: Rules) -> np.ndarray:
    """Index into ``rules.stages`` of the ladder stage for each days-overdue value."""
    return np.searchsorted(_thresholds(rules.stages), days_overdue, side="right")


def bucket_index(days_overdue: np.ndarray, rules: Rules) -> np.ndarray:
    """Index into ``rules.buckets`` of the aging bucket for each days-overdue value."""
    return np.searchsorted(_thresholds(rules.buckets), days_overdue, side="right")


def resolve_stage_name(text: str, rules: Rules) -> str | None:
    """Map a stage override (key or label, any case) to a stage or state key."""
    wanted = text.strip().casefold()
    for stage in rules.all_stages:
        if wanted in (stage.key.casefold(), stage.label.casefold()):
            return stage.key
    return None


def classify(
    ledger: pd.DataFrame, rules: Rules, as_of: date, sheet: str | None = None
) -> Classified:
    """Add days overdue, bucket, stage, next action and flags to every ledger row.

    ``ledger`` follows :mod:`frame`; ``sheet`` names the source sheet for issue locations.
    """
    out = ledger.copy()
    as_of_ts = np.datetime64(as_of, "D")
    due = out["due_date"].to_numpy(dtype="datetime64[D]")
    days = (as_of_ts - due).astype(np.int64)
    out[F.DAYS_OVERDUE] = days

    stage_keys = np.array([s.key for s in rules.stages], dtype=object)
    ladder = stage_keys[ladder_index(days, rules)]
    out[F.LADDER_STAGE] = ladder
    bucket_labels = np.array([b.label for b in rules.buckets], dtype=object)
    out[F.BUCKET] = bucket_labels[bucket_index(days, rules)]

    balance = out[F.BALANCE].to_numpy(dtype=np.int64)
    tolerance_cents = rules.paid_tolerance * 100
    is_paid = np.abs(balance) <= float(tolerance_cents)
    is_credit = ~is_paid & (balance < 0)

    override, issues = _overrides(out, rules, sheet)
    has_override = pd.notna(override)
    disputed = (
        out["disputed"].fillna(False).to_numpy(dtype=bool)
        if "disputed" in out
        else np.zeros(len(out), bool)
    )
    promised, broken = _promises(out, as_of_ts, balance, is_paid)

    # Overriding states in the design's order: paid, credit, override, disputed, promised.
    stage = np.select(
        [is_paid, is_credit, has_override, disputed, promised],
        ["paid", "credit", override, "disputed", "promised"],
        default=ladder,
    ).astype(object)
    out[F.STAGE] = stage
    labels = {s.key: s.label for s in rules.all_stages}
    actions = {s.key: s.action for s in rules.all_stages}
    out[F.STAGE_LABEL] = [labels[key] for key in stage]
    out[F.NEXT_ACTION] = [actions[key] for key in stage]
    # A broken promise on an item that still follows the ladder is flagged, not held.
    out[F.BROKEN_PROMISE] = broken & np.isin(stage, stage_keys)
    on_ladder = np.isin(stage, stage_keys)
    out[F.COUNTS_OVERDUE] = on_ladder & (days >= 1) & (balance > 0)
    return Classified(frame=out, issues=tuple(issues))


def _overrides(
    out: pd.DataFrame, rules: Rules, sheet: str | None
) -> tuple[np.ndarray, list[Issue]]:
    """The stage key each row's stage override names (None without one), and an issue at
    each override that names no stage."""
    override = np.full(len(out), None, dtype=object)
    issues: list[Issue] = []
    if "stage_override" not in out:
        return override, issues
    for position, text in enumerate(out["stage_override"].to_numpy()):
        if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
            continue
        key = resolve_stage_name(str(text), rules)
        if key is None:
            issues.append(
                Issue(
                    Location.cell(sheet, int(out[F.ROW].iat[position])),
                    f"stage override {str(text)!r} is not a stage; the ladder applies",
                )
            )
        else:
            override[position] = key
    return override, issues


def _promises(
    out: pd.DataFrame, as_of_ts: np.datetime64, balance: np.ndarray, is_paid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(promised: a promise date on or after as_of, broken: a past promise still unpaid)."""
    if "promise_date" not in out:
        none = np.zeros(len(out), dtype=bool)
        return none, none
    promise = out["promise_date"].to_numpy(dtype="datetime64[D]")
    has_promise = ~np.isnat(promise)
    promised = has_promise & (promise >= as_of_ts)
    broken = has_promise & (promise < as_of_ts) & (balance > 0) & ~is_paid
    return promised, broken


CUSTOMER_COLUMNS = (
    "customer",
    "currency",
    "stage",
    "overdue_cents",
    "outstanding_cents",
    "oldest_days_overdue",
    "open_items",
    "overdue_items",
    "broken_promises",
    "disputed_items",
    "promised_items",
    "credit_cents",
)


def customer_summary(classified: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """One row per customer and currency: stage, overdue and outstanding amounts, counts.

    The customer's stage is the most severe ladder stage among its open items that are
    not disputed or promised (design.md §4); customers with none get ``None``.
    """
    if classified.empty:
        return pd.DataFrame(columns=list(CUSTOMER_COLUMNS))
    stage_keys = [s.key for s in rules.stages]
    facts = _item_facts(classified, stage_keys)
    grouped = facts.groupby(["customer", "currency"], sort=True, dropna=False)
    summary = pd.DataFrame(
        {
            "overdue_cents": grouped["overdue_balance"].sum(),
            "outstanding_cents": grouped["balance"].sum(),
            "oldest_days_overdue": grouped["overdue_days"].max(),
            "open_items": grouped["open"].sum(),
            "overdue_items": grouped["overdue"].sum(),
            "broken_promises": grouped["broken"].sum(),
            "disputed_items": grouped["disputed"].sum(),
            "promised_items": grouped["promised"].sum(),
            "credit_cents": grouped["credit_balance"].sum(),
            "max_severity": grouped["open_severity"].max(),
        }
    ).reset_index()
    summary["stage"] = [
        stage_keys[int(value)] if pd.notna(value) else None for value in summary["max_severity"]
    ]
    summary.loc[summary["overdue_items"] == 0, "oldest_days_overdue"] = 0
    for column in (
        "overdue_cents",
        "outstanding_cents",
        "credit_cents",
        "oldest_days_overdue",
        "open_items",
        "overdue_items",
        "broken_promises",
        "disputed_items",
        "promised_items",
    ):
        summary[column] = summary[column].astype(np.int64)
    return summary[list(CUSTOMER_COLUMNS)]


def _item_facts(classified: pd.DataFrame, stage_keys: list[str]) -> pd.DataFrame:
    """Per item, what the customer roll-up sums or takes the maximum of."""
    severity = {key: index for index, key in enumerate(stage_keys)}
    stage = classified[F.STAGE]
    overdue = classified[F.COUNTS_OVERDUE]
    balance = classified[F.BALANCE].astype(np.int64)
    open_ = stage.isin(stage_keys) & (classified[F.BALANCE] > 0)
    return pd.DataFrame(
        {
            "customer": classified["customer"],
            "currency": classified["currency"],
            "balance": balance,
            "overdue": overdue,
            "open": open_,
            "broken": classified[F.BROKEN_PROMISE],
            "disputed": stage == "disputed",
            "promised": stage == "promised",
            "overdue_balance": np.where(overdue, balance, 0),
            "overdue_days": np.where(overdue, classified[F.DAYS_OVERDUE], np.iinfo(np.int64).min),
            "open_severity": stage.map(severity).where(open_),
            "credit_balance": np.where(stage == "credit", balance, 0),
        }
    )


def stage_counts(classified: pd.DataFrame, rules: Rules) -> dict[str, int]:
    """Count of rows per stage key, in ladder-then-state order, zero counts included."""
    counts = classified[F.STAGE].value_counts()
    return {stage.key: int(counts.get(stage.key, 0)) for stage in rules.all_stages}


def totals_by_currency(classified: pd.DataFrame, mask=None) -> dict[str, int]:
    """Sum of balances in cents per currency (optionally over the rows in ``mask``)."""
    data = classified if mask is None else classified[mask]
    sums = data.groupby("currency", sort=True)[F.BALANCE].sum()
    return {str(currency): int(total) for currency, total in sums.items()}


__all__ = [
    "Classified",
    "classify",
    "customer_summary",
    "stage_counts",
    "totals_by_currency",
    "resolve_stage_name",
    "Severity",
]
