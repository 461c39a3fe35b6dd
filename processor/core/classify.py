"""Stages (design.md §4): the ladder by days overdue, the overriding states, aging buckets.

Pure and vectorised: ``classify`` adds columns to a copy of the ledger frame, and
``customer_summary`` rolls items up per customer and currency.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    # A shallow copy: the columns added here are new ones (the ledger's own columns are
    # never written to), so the ledger frame stays as it was without copying its values.
    out = ledger.copy(deep=False)
    as_of_ts = np.datetime64(as_of, "D")
    due = out["due_date"].to_numpy(dtype="datetime64[D]")
    days = (as_of_ts - due).astype(np.int64)
    out[F.DAYS_OVERDUE] = days

    # Stages are handled as positions in the list of their keys; the text columns are
    # then built from the few keys, labels and actions (see F.texts_at).
    keys = list(dict.fromkeys(s.key for s in rules.all_stages))
    code = {key: index for index, key in enumerate(keys)}
    ladder = np.array([code[s.key] for s in rules.stages], dtype=np.intp)[ladder_index(days, rules)]
    out[F.LADDER_STAGE] = F.texts_at(keys, ladder)
    out[F.BUCKET] = F.texts_at([b.label for b in rules.buckets], bucket_index(days, rules))

    balance = out[F.BALANCE].to_numpy(dtype=np.int64)
    tolerance_cents = rules.paid_tolerance * 100
    is_paid = np.abs(balance) <= float(tolerance_cents)
    is_credit = ~is_paid & (balance < 0)

    override, issues = _overrides(out, rules, sheet)
    has_override = override >= 0
    disputed = (
        out["disputed"].fillna(False).to_numpy(dtype=bool)
        if "disputed" in out
        else np.zeros(len(out), bool)
    )
    promised, broken = _promises(out, as_of_ts, balance, is_paid)

    # Overriding states in the design's order: paid, credit, override, disputed, promised.
    stage = np.select(
        [is_paid, is_credit, has_override, disputed, promised],
        [code["paid"], code["credit"], override, code["disputed"], code["promised"]],
        default=ladder,
    )
    out[F.STAGE] = F.texts_at(keys, stage)
    labels = {s.key: s.label for s in rules.all_stages}
    actions = {s.key: s.action for s in rules.all_stages}
    # (An empty frame's label and action columns stay as pandas makes an empty list.)
    out[F.STAGE_LABEL] = F.texts_at([labels[key] for key in keys], stage) if len(out) else []
    out[F.NEXT_ACTION] = F.texts_at([actions[key] for key in keys], stage) if len(out) else []
    # A broken promise on an item that still follows the ladder is flagged, not held.
    ladder_keys = {s.key for s in rules.stages}
    on_ladder = np.array([key in ladder_keys for key in keys], dtype=bool)[stage]
    out[F.BROKEN_PROMISE] = broken & on_ladder
    out[F.COUNTS_OVERDUE] = on_ladder & (days >= 1) & (balance > 0)
    return Classified(frame=out, issues=tuple(issues))


def _overrides(
    out: pd.DataFrame, rules: Rules, sheet: str | None
) -> tuple[np.ndarray, list[Issue]]:
    """The position in ``rules.all_stages``' keys of the stage each row's stage override
    names (-1 without one), and an issue at each override that names no stage."""
    override = np.full(len(out), -1, dtype=np.intp)
    issues: list[Issue] = []
    if "stage_override" not in out:
        return override, issues
    column = out["stage_override"]
    if column.dtype == object:
        values = column.tolist()
        if values.count(None) == len(values):  # a column the ledger lacks
            return override, issues
        positions: Sequence[int] = range(len(values))
    else:  # texts: only the cells that hold one (a missing text reads as NaN)
        values = column.to_numpy()
        positions = np.flatnonzero(column.notna().to_numpy()).tolist()
    keys = list(dict.fromkeys(s.key for s in rules.all_stages))
    for position in positions:
        text = values[position]
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
            override[position] = keys.index(key)
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
    severity = summary["max_severity"].to_numpy(dtype=np.float64)
    known = ~np.isnan(severity)
    positions = np.where(known, np.nan_to_num(severity), len(stage_keys)).astype(np.intp)
    # An object array as the list of keys and Nones was: pandas infers the same dtype.
    summary["stage"] = np.array([*stage_keys, None], dtype=object)[positions]
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
    # Per distinct stage (a dozen), then per row by position: mapping texts row by row
    # is the slow part on Arrow-backed text.
    codes, distinct = pd.factorize(stage)  # a missing stage is -1: the last entry below
    distinct = list(distinct)
    ladder = np.array([key in severity for key in distinct] + [False], dtype=bool)
    rank = np.array([severity.get(key, np.nan) for key in distinct] + [np.nan])
    open_ = pd.Series(ladder[codes], index=classified.index) & (classified[F.BALANCE] > 0)
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
            "open_severity": pd.Series(rank[codes], index=classified.index).where(open_),
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
