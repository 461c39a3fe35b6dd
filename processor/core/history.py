"""Month-over-month history of a batch of ledgers, and the Batch Summary sheets (design §9).

Pure: the batch shell hands in one :class:`Snapshot` per processed workbook (what history
needs of its classified items, exact cents) and gets back tables and sheet models. Dates
come from the snapshots' as-of dates, never from the clock.

Definitions. A *month* is one as-of date (workbooks of the same as-of date are parts of one
ledger and are merged). Amounts are per currency, in cents. An *item* is followed from
month to month by its key: customer, currency and invoice number (an item without an
invoice number is keyed by its invoice date, due date and amount; a repeated key gets
``#2``, ``#3`` by order of appearance). An item is *open* when its balance is positive
and it is not paid; it is *past due* when it is open and at least one day overdue, held
(disputed or promised) or not.

Per customer and currency, and for all customers together, each month gets:

- **Outstanding**: the sum of balances (credits included), as in a file's ``--json``.
- **Overdue**: the design's overdue amount (§4): open ladder items at least a day overdue,
  held items left out.
- **Buckets**: open balances by aging bucket (days overdue in the batch's buckets).
- **Stage**: the customer's stage (§4); a customer whose open items are all held shows
  ``Disputed`` or ``Promised``, one with no open item ``Paid`` or ``Credit``.
- **Payments**: money received since the previous month: for each item in this month,
  its paid amount minus its paid amount last month (0 when new), plus the last balance of
  each item that left the ledger (an open-items ledger drops settled items). Blank in
  the first month.
- **Written off**: the last balance of items that left the ledger from a write-off stage
  (doubtful or dead by default); not counted as payments.
- **Invoiced**: gross amounts of the distinct invoices listed in this or an earlier
  month's ledger with an invoice date in the ``dso_days`` days ending on the as-of date.
- **DSO**: :func:`receivables.core.dso.dso`, the definition the Aging Summary uses too
  (``Outstanding x dso_days / Invoiced``, credits reducing the outstanding balance only,
  to 0.1 day; blank when nothing was invoiced in the window). Items paid and dropped from
  the ledger within a month are unseen, so keep paid items in the ledger for an exact DSO.
- **Roll rate of bucket b**: of the open balance in bucket b last month, the share still
  open this month in a later bucket: ``sum over items in b last month that are in a later
  bucket now of min(balance last month, balance now) / sum of their balances in b last
  month``. With monthly ledgers and 30-day buckets "later" is the next bucket; an item that
  leaves, is paid down or stays in a wide bucket (91-180) does not roll. Blank when
  bucket b held nothing last month.
- **Move** (customers, from the previous month): ``new`` (no open item last month, some
  now); ``written off`` (past due last month at a write-off stage, doubtful or dead by
  default, nothing past due now); ``cured`` (past due last month, nothing past due now);
  ``held`` (all open items now disputed or promised); ``escalated`` / ``improved`` (a more
  / less severe ladder stage; held counts as below the ladder).
- **Warning signs** (from the seeds: "a customer who always paid on time and in full
  keeps asking for extensions or pays in part: something is wrong"):
  ``turned late``: at least ``good_months`` earlier month-ends with nothing past due,
  never this late before, and now an item at least ``warning_days`` overdue (the plan's
  setting); ``repeated broken promises``: a promise (item and promise date) broken this
  month, and at least two broken in all; ``growing balance, falling payments``:
  outstanding rose two months running while payments fell below last month's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from . import frame as F
from .classify import bucket_index, customer_summary
from .dso import WINDOW_DAYS, dso
from .outputs import cents_to_decimal, stage_colors
from .plan import money_text, plan_settings
from .rules import Rules
from .sheets import (
    DATE_FORMAT,
    INT_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    Chart,
    Column,
    PageSetup,
    Series,
    SheetModel,
    money_format,
)

DSO_DAYS = WINDOW_DAYS
GOOD_MONTHS = 2
WRITE_OFF_STAGES = ("doubtful", "dead")
ALL_CUSTOMERS = "All customers"
HELD = ("disputed", "promised")
MOVES = ("new", "escalated", "held", "improved", "cured", "written off")
# Series colours of the aging-mix chart, youngest bucket first (explicit: a workbook
# written from scratch has no theme to take colours from); cycled for longer ladders.
BUCKET_COLORS = ("A9D18E", "FFE699", "FFC000", "F4B084", "FF7C80", "C00000", "7F7F7F", "404040")
DSO_COLOR = "4472C4"
_KEY = ["customer", "currency", "invoice"]
_CC = ["customer", "currency"]


# ---- snapshots ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What history needs of one classified ledger: one array entry per item.

    Small and picklable (plain numpy arrays, no DataFrame), so batch workers can return
    it. Money is int64 cents; dates are ``datetime64[D]`` (NaT when missing).
    """

    as_of: date
    customer: np.ndarray
    currency: np.ndarray
    invoice: np.ndarray  # the item key (see the module docstring)
    invoice_date: np.ndarray
    amount_cents: np.ndarray  # gross amount; balance + paid when the ledger has none
    paid_cents: np.ndarray
    balance_cents: np.ndarray
    days_overdue: np.ndarray
    stage: np.ndarray
    counts_overdue: np.ndarray
    broken_promise: np.ndarray
    promise_date: np.ndarray

    def frame(self) -> pd.DataFrame:
        """The items as a DataFrame with the canonical column names."""
        # Text as plain objects: pandas' Arrow strings are slow to group and iterate.
        return pd.DataFrame({
            "customer": pd.Series(self.customer, dtype=object),
            "currency": pd.Series(self.currency, dtype=object),
            "invoice": pd.Series(self.invoice, dtype=object),
            "invoice_date": self.invoice_date, F.AMOUNT: self.amount_cents,
            F.PAID: self.paid_cents, F.BALANCE: self.balance_cents,
            F.DAYS_OVERDUE: self.days_overdue, F.STAGE: pd.Series(self.stage, dtype=object),
            F.COUNTS_OVERDUE: self.counts_overdue, F.BROKEN_PROMISE: self.broken_promise,
            "promise_date": self.promise_date,
        })  # fmt: skip


def _texts(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), "", dtype=object)
    return np.array(
        ["" if value is None or value != value else str(value).strip() for value in frame[column]],
        dtype=object,
    )


def _days(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[D]")
    return frame[column].to_numpy(dtype="datetime64[D]")


def snapshot_of(classified: pd.DataFrame, as_of: date) -> Snapshot:
    """The snapshot of a classified ledger frame (:mod:`frame` columns) at ``as_of``."""
    customer = _texts(classified, "customer")
    currency = _texts(classified, "currency")
    invoice = _texts(classified, "invoice")
    invoice_date = _days(classified, "invoice_date")
    due = _days(classified, "due_date")
    balance = classified[F.BALANCE].to_numpy(dtype=np.int64)
    paid = classified[F.PAID].fillna(0).to_numpy(dtype=np.int64)
    amount = classified[F.AMOUNT].fillna(pd.Series(balance + paid, index=classified.index))
    amount = amount.to_numpy(dtype=np.int64)
    missing = invoice == ""
    if missing.any():
        # Without a number, the item is recognised next month by what else identifies it.
        invoice = invoice.copy()
        invoice[missing] = [
            f"{d}/{u}/{a}"
            for d, u, a in zip(invoice_date[missing], due[missing], amount[missing], strict=True)
        ]
    repeat = (
        pd.DataFrame({"c": customer, "k": currency, "i": invoice})
        .groupby(["c", "k", "i"], sort=False)
        .cumcount()
        .to_numpy()
    )
    if (repeat > 0).any():
        invoice = np.array(
            [key if n == 0 else f"{key}#{n + 1}" for key, n in zip(invoice, repeat, strict=True)],
            dtype=object,
        )
    return Snapshot(
        as_of=as_of,
        customer=customer,
        currency=currency,
        invoice=invoice,
        invoice_date=invoice_date,
        amount_cents=amount,
        paid_cents=paid,
        balance_cents=balance,
        days_overdue=classified[F.DAYS_OVERDUE].to_numpy(dtype=np.int64),
        stage=_texts(classified, F.STAGE),
        counts_overdue=classified[F.COUNTS_OVERDUE].to_numpy(dtype=bool),
        broken_promise=classified[F.BROKEN_PROMISE].to_numpy(dtype=bool),
        promise_date=_days(classified, "promise_date"),
    )


# ---- the history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """The month-by-month figures: ``table`` has one row per entity and month.

    An entity is a customer and currency, or all customers of a currency (``customer`` is
    None). Money columns are int cents; ``bucket_<i>`` holds the open balance in bucket i,
    ``rolled_<i>`` / ``base_<i>`` the roll rate's numerator and denominator (NaN when
    bucket i held nothing last month).
    """

    periods: tuple[date, ...]
    labels: tuple[str, ...]
    buckets: tuple[str, ...]
    table: pd.DataFrame
    dso_days: int = DSO_DAYS
    notes: tuple[str, ...] = field(default=())


def period_labels(periods: Sequence[date]) -> tuple[str, ...]:
    """``2026-10`` per month, or the full date when two as-of dates share a month."""
    months = [(d.year, d.month) for d in periods]
    if len(set(months)) == len(months):
        return tuple(f"{d.year:04d}-{d.month:02d}" for d in periods)
    return tuple(d.isoformat() for d in periods)


def build_history(
    snapshots: Sequence[Snapshot],
    rules: Rules,
    *,
    dso_days: int = DSO_DAYS,
    good_months: int = GOOD_MONTHS,
    write_off_stages: Sequence[str] = WRITE_OFF_STAGES,
) -> History:
    """Follow every customer across the snapshots' months (definitions: module docstring)."""
    buckets = tuple(b.label for b in rules.buckets)
    periods = tuple(sorted({s.as_of for s in snapshots}))
    labels = period_labels(periods)
    extra = [
        *(bucket_column(i) for i in range(len(buckets))),
        *(name for i in range(len(buckets)) for name in roll_columns(i)),
    ]
    if not periods:
        empty = pd.DataFrame(columns=[*_TABLE_COLUMNS, *extra, "month", "as_of"])
        return History((), (), buckets, empty, dso_days)
    items, names = _stacked_items(snapshots, periods, rules)
    customers = _customer_table(
        items, periods, rules, dso_days, good_months, tuple(write_off_stages), list(names.currency)
    )
    portfolio = _portfolio_table(items, customers, periods, dso_days)
    for frame in (portfolio, customers):
        for column in extra:
            if column not in frame:
                frame[column] = np.nan
    table = pd.concat(
        [portfolio[_TABLE_COLUMNS + extra], customers[_TABLE_COLUMNS + extra]], ignore_index=True
    )
    for column in (bucket_column(i) for i in range(len(buckets))):
        table[column] = table[column].fillna(0).astype(np.int64)
    table = _named(table, names, periods, labels)
    return History(periods, labels, buckets, table, dso_days, _same_date_notes(snapshots, periods))


def _same_date_notes(snapshots: Sequence[Snapshot], periods: Sequence[date]) -> tuple[str, ...]:
    """A note for each as-of date that several workbooks share (taken as one ledger)."""
    notes = []
    for when in periods:
        count = sum(1 for s in snapshots if s.as_of == when)
        if count > 1:
            notes.append(f"{count} workbooks as of {when.isoformat()} are taken as one ledger")
    return tuple(notes)


@dataclass(frozen=True)
class _Names:
    """The customer and currency names behind the integer codes of the stacked items."""

    customer: pd.Index
    currency: pd.Index


def _stacked_items(
    snapshots: Sequence[Snapshot], periods: Sequence[date], rules: Rules
) -> tuple[pd.DataFrame, _Names]:
    """Every snapshot's items in one frame, with their month (``period``), bucket, open
    and past-due flags and invoice ``key``; customers and currencies as integer codes."""
    index_of = {when: position for position, when in enumerate(periods)}
    parts = []
    for snapshot in snapshots:
        part = snapshot.frame()
        part["period"] = index_of[snapshot.as_of]
        parts.append(part)
    items = pd.concat(parts, ignore_index=True)
    items = items.sort_values("period", kind="stable").reset_index(drop=True)
    # Customers and currencies become integer codes (in name order): grouping on them is
    # many times faster than on text; the names come back in the finished table.
    customer_codes, customer_names = pd.factorize(items["customer"], sort=True)
    currency_codes, currency_names = pd.factorize(items["currency"], sort=True)
    items["customer"], items["currency"] = customer_codes, currency_codes
    items["bucket"] = bucket_index(items[F.DAYS_OVERDUE].to_numpy(dtype=np.int64), rules)
    items["open"] = (items[F.BALANCE] > 0) & (items[F.STAGE] != "paid")
    items["past_due"] = items["open"] & (items[F.DAYS_OVERDUE] >= 1)
    items["key"] = items.groupby(_KEY, sort=False).ngroup()
    return items, _Names(customer_names, currency_names)


def _named(
    table: pd.DataFrame, names: _Names, periods: Sequence[date], labels: Sequence[str]
) -> pd.DataFrame:
    """The table with names for its codes, and each row's month label and as-of date."""
    table["customer"] = [
        None if code is None or pd.isna(code) else names.customer[int(code)]
        for code in table["customer"]
    ]
    table["currency"] = [names.currency[int(code)] for code in table["currency"]]
    table["month"] = [labels[p] for p in table["period"]]
    table["as_of"] = [periods[p] for p in table["period"]]
    return table


_TABLE_COLUMNS = [
    "period",
    "customer",
    "currency",
    "stage",
    "move",
    "overdue",
    "outstanding",
    "payments",
    "written_off",
    "invoiced",
    "dso",
    "broken_promises",
    "signs",
]


def _per_period(items: pd.DataFrame, periods) -> list[pd.DataFrame]:
    return [items[items["period"] == p] for p in range(len(periods))]


def _customer_table(
    items: pd.DataFrame,
    periods: Sequence[date],
    rules: Rules,
    dso_days: int,
    good_months: int,
    write_off_stages: tuple[str, ...],
    currency_names: Sequence[str],
) -> pd.DataFrame:
    """One row per customer, currency and month in which it has items or a move."""
    table = _customer_months(items, periods, rules)
    table = _with_holdings(table, items)
    table = _with_flows(table, items, periods, dso_days, write_off_stages)
    ladder = {s.key: i for i, s in enumerate(rules.stages)}
    table = table.sort_values(["customer", "currency", "period"], kind="stable")
    table = table.reset_index(drop=True)
    table["move"] = _moves(table, ladder, write_off_stages)
    settings, _issues = plan_settings(rules)
    table["signs"] = _signs(
        table,
        items,
        good_months=good_months,
        warning_days=settings.warning_days,
        currency_names=currency_names,
    )
    table["outstanding"] = table["outstanding_cents"]
    table["overdue"] = table["overdue_cents"]
    table["dso"] = [
        dso(o, i, dso_days) for o, i in zip(table["outstanding"], table["invoiced"], strict=True)
    ]
    # Also the month a customer left the ledger (paid up or written off).
    keep = (
        table["present"]
        | table["move"].ne("")
        | table["written_off"].ne(0)
        | table["payments"].fillna(0).ne(0)
    )
    return table[keep].reset_index(drop=True)


def _customer_months(items: pd.DataFrame, periods, rules: Rules) -> pd.DataFrame:
    """Every customer and currency in every month, with the month's customer summary
    (stage, overdue, outstanding...) where it was in the ledger (``present``)."""
    rows = []
    for p, frame in enumerate(_per_period(items, periods)):
        if frame.empty:
            continue
        summary = customer_summary(frame, rules).set_index(_CC)
        summary["period"] = p
        rows.append(summary)
    summary = pd.concat(rows).reset_index()
    pairs = items[_CC].drop_duplicates().sort_values(_CC)
    count = len(periods)
    grid = pd.DataFrame(
        {
            "customer": np.repeat(pairs["customer"].to_numpy(), count),
            "currency": np.repeat(pairs["currency"].to_numpy(), count),
            "period": np.tile(np.arange(count), len(pairs)),
        }
    )
    table = grid.merge(summary, on=["customer", "currency", "period"], how="left")
    table["present"] = table["open_items"].notna()  # in the ledger that month (any item)
    return table


def _with_holdings(table: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The table with what each customer held each month (open and past-due cents,
    disputed or promised items, credits) and the stage the history shows for it."""
    keys = [items["customer"], items["currency"], items["period"]]
    balance = items[F.BALANCE]
    extra = pd.DataFrame(
        {
            "open_cents": balance.where(items["open"], 0).groupby(keys).sum(),
            "past_due_cents": balance.where(items["past_due"], 0).groupby(keys).sum(),
            "held_disputed": (items["open"] & (items[F.STAGE] == "disputed")).groupby(keys).any(),
            "held_promised": (items["open"] & (items[F.STAGE] == "promised")).groupby(keys).any(),
            "has_credit": (items[F.STAGE] == "credit").groupby(keys).any(),
        }
    ).reset_index()
    table = table.merge(extra, on=["customer", "currency", "period"], how="left")
    for column in (
        "open_cents",
        "past_due_cents",
        "overdue_cents",
        "outstanding_cents",
        "broken_promises",
        "oldest_days_overdue",
    ):
        table[column] = table[column].fillna(0).astype(np.int64)
    for column in ("held_disputed", "held_promised", "has_credit"):
        table[column] = table[column].astype("boolean").fillna(False).astype(bool)
    table["has_open"] = table["open_cents"] > 0
    table["stage"] = [
        _history_stage(*values)
        for values in zip(
            table["present"],
            table["stage"],
            table["has_open"],
            table["held_disputed"],
            table["held_promised"],
            table["has_credit"],
            strict=True,
        )
    ]
    return table


def _with_flows(
    table: pd.DataFrame, items: pd.DataFrame, periods, dso_days: int, write_off_stages
) -> pd.DataFrame:
    """The table with each month's money flows: payments and write-offs, the amount
    invoiced in the DSO window, the balance per bucket and the roll rates."""
    on = ["customer", "currency", "period"]
    table = table.merge(_payments(items, periods, write_off_stages), on=on, how="left")
    table["written_off"] = table["written_off"].fillna(0).astype(np.int64)
    table = table.merge(_invoiced(items, periods, dso_days, _CC), on=on, how="left")
    table["invoiced"] = table["invoiced"].fillna(0).astype(np.int64)
    table = table.merge(_bucket_sums(items, _CC), on=on, how="left")
    return table.merge(_rolls(items, periods, _CC), on=on, how="left")


def _history_stage(present, ladder_stage, has_open, disputed, promised, credit) -> str | None:
    if not present:
        return None
    if isinstance(ladder_stage, str):
        return ladder_stage
    if disputed:
        return "disputed"
    if promised:
        return "promised"
    if has_open:
        return None
    return "credit" if credit else "paid"


def _payments(items: pd.DataFrame, periods, write_off_stages) -> pd.DataFrame:
    """Money received, and balances written off, per customer, currency and month.

    From the second month on. An item that leaves the ledger counts as paid, unless it
    left from a write-off stage: then its last balance counts as written off.
    """
    out = []
    for p in range(1, len(periods)):
        before = items.loc[
            items["period"] == p - 1, ["key", "customer", "currency", F.PAID, F.BALANCE, F.STAGE]
        ]
        now = items.loc[items["period"] == p, ["key", "customer", "currency", F.PAID]]
        both = now.merge(before[["key", F.PAID]], on="key", how="left", suffixes=("", "_before"))
        received = both[F.PAID] - both[F.PAID + "_before"].fillna(0).astype(np.int64)
        gone = before[~before["key"].isin(now["key"])]
        left = gone[F.BALANCE].clip(lower=0)
        dropped = gone[F.STAGE].isin(write_off_stages)
        frame = pd.concat(
            [
                pd.DataFrame(
                    {
                        "customer": both["customer"],
                        "currency": both["currency"],
                        "payments": received,
                        "written_off": 0,
                    }
                ),
                pd.DataFrame(
                    {
                        "customer": gone["customer"],
                        "currency": gone["currency"],
                        "payments": left.where(~dropped, 0),
                        "written_off": left.where(dropped, 0),
                    }
                ),
            ]
        )
        # Customers of either month get a figure, zero included.
        sums = frame.groupby(_CC)[["payments", "written_off"]].sum().reset_index()
        sums["period"] = p
        out.append(sums)
    if not out:
        return pd.DataFrame(columns=["customer", "currency", "period", "payments", "written_off"])
    return pd.concat(out, ignore_index=True)


def _invoiced(items: pd.DataFrame, periods, dso_days: int, by: list[str]) -> pd.DataFrame:
    """Gross amounts invoiced in the ``dso_days`` days ending on each month's as-of date."""
    out = []
    for p, when in enumerate(periods):
        # Each invoice once, as the latest ledger up to this month lists it.
        seen = items[items["period"] <= p].drop_duplicates("key", keep="last")
        start = np.datetime64(when - timedelta(days=dso_days), "D")
        end = np.datetime64(when, "D")
        dates = seen["invoice_date"].to_numpy(dtype="datetime64[D]")
        window = seen[(dates > start) & (dates <= end) & (seen[F.AMOUNT] > 0)]
        sums = window.groupby(by)[F.AMOUNT].sum().rename("invoiced").reset_index()
        sums["period"] = p
        out.append(sums)
    return pd.concat(out, ignore_index=True)


def bucket_column(index: int) -> str:
    """Name of the column holding the open balance in bucket ``index``."""
    return f"bucket_{index}"


def roll_columns(index: int) -> tuple[str, str]:
    """Names of the columns (rolled, base) of the roll rate of bucket ``index``."""
    return f"rolled_{index}", f"base_{index}"


def _bucket_sums(items: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Open balances per bucket: one column per bucket index (``bucket_<i>``)."""
    open_items = items[items["open"]]
    sums = open_items.groupby([*by, "period", "bucket"])[F.BALANCE].sum().unstack(fill_value=0)
    sums.columns = [bucket_column(int(i)) for i in sums.columns]
    return sums.reset_index()


def _rolls(items: pd.DataFrame, periods, by: list[str]) -> pd.DataFrame:
    """Roll rates from the previous month: ``rolled_<i>`` and ``base_<i>`` cents per bucket.

    ``base_<i>``: open balance in bucket i last month; ``rolled_<i>``: of those items, the
    balance (at most last month's) now open in a later bucket. No rows for the first month.
    """
    parts = []
    for p in range(1, len(periods)):
        before = items.loc[
            (items["period"] == p - 1) & items["open"], [*by, "key", "bucket", F.BALANCE]
        ]
        now = items.loc[(items["period"] == p) & items["open"], ["key", "bucket", F.BALANCE]]
        both = before.merge(now, on="key", how="left", suffixes=("", "_now"))
        later = both["bucket_now"].notna() & (both["bucket_now"] > both["bucket"])
        kept = np.minimum(both[F.BALANCE], both[F.BALANCE + "_now"].fillna(0)).astype(np.int64)
        both["rolled"] = np.where(later, kept, 0)
        both["period"] = p
        parts.append(both[[*by, "period", "bucket", F.BALANCE, "rolled"]])
    if not parts:
        return pd.DataFrame(columns=[*by, "period"])
    sums = pd.concat(parts).groupby([*by, "period", "bucket"])[[F.BALANCE, "rolled"]].sum()
    wide = sums.unstack()  # absent buckets stay NaN: no base, no rate
    wide.columns = [roll_columns(int(i))[0 if what == "rolled" else 1] for what, i in wide.columns]
    return wide.reset_index()


def _moves(
    table: pd.DataFrame, ladder: Mapping[str, int], write_off_stages: tuple[str, ...]
) -> list[str]:
    """The stage move of each row from the same customer's previous month."""
    moves = []
    previous = None
    for row in table[
        ["customer", "currency", "period", "has_open", "past_due_cents", "stage"]
    ].itertuples(index=False):
        same = previous is not None and previous[:2] == row[:2]
        if not same or row.period == 0:
            moves.append("")
            previous = row
            continue
        moves.append(_move(previous, row, ladder, write_off_stages))
        previous = row
    return moves


def _severity(stage, ladder) -> int | None:
    if stage in ladder:
        return ladder[stage]
    return -1 if stage in HELD else None


def _move(before, now, ladder, write_off_stages) -> str:
    if not before.has_open and now.has_open:
        return "new"
    if before.past_due_cents > 0 and now.past_due_cents == 0:
        return "written off" if before.stage in write_off_stages else "cured"
    if not (before.has_open and now.has_open):
        return ""
    if now.stage in HELD and before.stage not in HELD:
        return "held"
    old, new = _severity(before.stage, ladder), _severity(now.stage, ladder)
    if old is None or new is None or old == new:
        return ""
    return "escalated" if new > old else "improved"


def _signs(
    table: pd.DataFrame,
    items: pd.DataFrame,
    *,
    good_months: int,
    warning_days: int,
    currency_names: Sequence[str],
) -> list[str]:
    """The warning signs raised in each row's month (``; ``-joined text)."""
    broken = items[items[F.BROKEN_PROMISE]]
    pairs = broken.drop_duplicates(["key", "promise_date"], keep="first")
    new_broken = pairs.groupby(["customer", "currency", "period"]).size().to_dict()
    latest = broken.groupby(["customer", "currency", "period"])["promise_date"].max().to_dict()
    signs = []
    watches: dict[tuple, _Watch] = {}
    for row in table[
        [
            "customer",
            "currency",
            "period",
            "present",
            "past_due_cents",
            "oldest_days_overdue",
            "outstanding_cents",
            "payments",
        ]
    ].itertuples(index=False):
        key = (row.customer, row.currency)
        watch = watches.setdefault(key, _Watch())
        month = (*key, row.period)
        found = (
            watch.turned_late(row, warning_days, good_months),
            watch.broke_promises(new_broken.get(month, 0), latest.get(month)),
            watch.growing_balance(row, currency_names[row.currency]),
        )
        signs.append("; ".join(sign for sign in found if sign))
    return signs


@dataclass
class _Watch:
    """What the warning signs remember of one customer and currency, month after month."""

    clean: int = 0  # month-ends in the ledger with nothing past due
    late: bool = False  # late once already (the sign is raised once)
    broken: int = 0  # broken promises so far
    outstanding: dict[int, int] = field(default_factory=dict)  # period -> cents
    payments: dict[int, int] = field(default_factory=dict)  # period -> cents

    def turned_late(self, row, warning_days: int, good_months: int) -> str | None:
        """The sign "turned late": on time at ``good_months`` month-ends, now late."""
        late = row.present and row.oldest_days_overdue >= warning_days
        sign = None
        if late and not self.late and self.clean >= good_months:
            sign = (
                f"turned late: paid on time at {self.clean} month-ends, now "
                f"{row.oldest_days_overdue} days overdue"
            )
        self.late = self.late or late
        if row.present and row.past_due_cents == 0:
            self.clean += 1
        return sign

    def broke_promises(self, fresh: int, latest: Any) -> str | None:
        """The sign "repeated broken promises": one broken this month, two or more so far."""
        self.broken += fresh
        if not (fresh and self.broken >= 2):
            return None
        when = pd.Timestamp(latest).date().isoformat()
        return f"repeated broken promises: {self.broken} broken, latest promised for {when}"

    def growing_balance(self, row, currency: str) -> str | None:
        """The sign "growing balance, falling payments": outstanding up two months running
        while this month's payments are below last month's."""
        self.outstanding[row.period] = int(row.outstanding_cents)
        if not pd.isna(row.payments):
            self.payments[row.period] = int(row.payments)
        p = row.period
        o = [self.outstanding.get(p - k, 0) for k in (2, 1, 0)]
        pay_now, pay_before = self.payments.get(p), self.payments.get(p - 1)
        if not (
            p >= 2
            and o[0] < o[1] < o[2]
            and pay_now is not None
            and pay_before is not None
            and pay_now < pay_before
        ):
            return None
        return (
            "growing balance, falling payments: outstanding "
            f"{money_text(o[0], currency)} > {money_text(o[1], currency)} > "
            f"{money_text(o[2], currency)}, payments {money_text(pay_before, currency)} "
            f"> {money_text(pay_now, currency)}"
        )


def _portfolio_table(items, customers, periods, dso_days) -> pd.DataFrame:
    """One row per currency and month for all customers together."""
    by = ["currency"]
    on = ["currency", "period"]
    # Every month a customer row of the currency has: in the ledger, or just left it.
    table = customers[on].drop_duplicates().reset_index(drop=True)
    sums = customers.groupby(on)[
        ["outstanding_cents", "overdue_cents", "broken_promises", "written_off"]
    ].sum()
    table = table.merge(sums.reset_index(), on=on, how="left")
    payments = customers.dropna(subset=["payments"]).groupby(on)["payments"].sum()
    table = table.merge(payments.reset_index(), on=on, how="left")
    table = table.merge(_invoiced(items, periods, dso_days, by), on=on, how="left")
    table["invoiced"] = table["invoiced"].fillna(0).astype(np.int64)
    table = table.merge(_bucket_sums(items, by), on=on, how="left")
    table = table.merge(_rolls(items, periods, by), on=on, how="left")
    table = table.merge(_move_counts(customers).reset_index(), on=on, how="left")
    warned = customers[customers["signs"] != ""].groupby(on).size()
    table = table.merge(warned.rename("warned").reset_index(), on=on, how="left")
    table["signs"] = [f"{int(n)} customer(s)" if n == n and n else "" for n in table["warned"]]
    table["move"] = table["move"].fillna("")
    table["customer"] = None
    table["stage"] = None
    table["outstanding"] = table["outstanding_cents"].fillna(0).astype(np.int64)
    table["overdue"] = table["overdue_cents"].fillna(0).astype(np.int64)
    table["broken_promises"] = table["broken_promises"].fillna(0).astype(np.int64)
    table["written_off"] = table["written_off"].fillna(0).astype(np.int64)
    table["dso"] = [
        dso(o, i, dso_days) for o, i in zip(table["outstanding"], table["invoiced"], strict=True)
    ]
    return table.sort_values(on, kind="stable")


def _move_counts(customers: pd.DataFrame) -> pd.Series:
    """Per currency and month, the customers' moves counted (``new 2; escalated 1``)."""

    def counted(values) -> str:
        counts = pd.Series(values).value_counts().items()
        ordered = sorted(counts, key=lambda item: MOVES.index(item[0]))
        return "; ".join(f"{move} {count}" for move, count in ordered)

    moved = customers[customers["move"] != ""]
    return moved.groupby(["currency", "period"])["move"].apply(counted)


# ---- sheet models -------------------------------------------------------------------------


def history_model(
    history: History, rules: Rules, name: str = "History", as_of: date | None = None
) -> SheetModel:
    """The ``History`` sheet: all customers then each customer, month by month, with charts.

    Rows of "All customers" come first (per currency), so the charts (aging mix per month,
    DSO trend) sit on a contiguous block of rows.
    """
    columns = _history_columns(history)
    rows, fills, bold = _history_rows(history, rules)
    charts = _history_charts(history, len(columns), rules)
    # The charts sit right of the table on screen; on paper the table alone, one page
    # wide (the charts would shrink it to a fraction).
    return SheetModel(
        name=name,
        columns=columns,
        rows=rows,
        row_fills=fills,
        fill_columns=(4,),
        bold_rows=frozenset(bold),
        table_name="History",
        charts=charts,
        currency_column=3,
        page=PageSetup(
            as_of=as_of or (history.periods[-1] if history.periods else None),
            title_columns=4,
            print_charts=False,
        ),
    )


def _history_columns(history: History) -> tuple[Column, ...]:
    """The History sheet's columns: the month's figures, a column per bucket, a roll
    rate per bucket but the last, broken promises and warning signs."""
    buckets = history.buckets
    return (
        Column("Month", None, 10),
        Column("As Of", DATE_FORMAT, 11),
        Column("Customer", None, 28),
        Column("Currency", None, 9),
        Column("Stage", None, 15),
        Column("Move", None, 14),
        Column("Overdue", MONEY_FORMAT, 14),
        Column("Outstanding", MONEY_FORMAT, 14),
        Column("Payments", MONEY_FORMAT, 14),
        Column("Written Off", MONEY_FORMAT, 12),
        Column(f"Invoiced {history.dso_days} d", MONEY_FORMAT, 14),
        Column("DSO", "0.0", 8),
        *(Column(label, MONEY_FORMAT, 12) for label in buckets),
        *(Column(f"Roll {label}", PERCENT_FORMAT, 10) for label in buckets[:-1]),
        Column("Broken Promises", INT_FORMAT, 9),
        Column("Warning Signs", None, 40),
    )


def _history_rows(history: History, rules: Rules) -> tuple[list[tuple], list, set[int]]:
    """The History sheet's rows, each row's stage fill, and the bold (all customers) rows."""
    labels = {s.key: s.label for s in rules.all_stages}
    colors = stage_colors(rules)
    count = len(history.buckets)
    rows, fills, bold = [], [], set()
    table = history.table
    bucket_cents = table[[bucket_column(i) for i in range(count)]].to_numpy()
    rolled = table[[roll_columns(i)[0] for i in range(count - 1)]].to_numpy(dtype=float)
    base = table[[roll_columns(i)[1] for i in range(count - 1)]].to_numpy(dtype=float)
    for index, record in enumerate(
        table[_TABLE_COLUMNS + ["month", "as_of"]].itertuples(index=False)
    ):
        stage = record.stage if isinstance(record.stage, str) else None
        rows.append(
            (
                record.month,
                record.as_of,
                ALL_CUSTOMERS if pd.isna(record.customer) else record.customer,
                record.currency,
                labels.get(stage, stage) if stage else None,
                record.move or None,
                cents_to_decimal(record.overdue),
                cents_to_decimal(record.outstanding),
                None if pd.isna(record.payments) else cents_to_decimal(int(record.payments)),
                cents_to_decimal(int(record.written_off)),
                cents_to_decimal(record.invoiced),
                record.dso,
                *(cents_to_decimal(int(cents)) for cents in bucket_cents[index]),
                *(_share(r, b) for r, b in zip(rolled[index], base[index], strict=True)),
                int(record.broken_promises),
                record.signs or None,
            )
        )
        fills.append(colors.get(stage) if stage else None)
        if pd.isna(record.customer):
            bold.add(index)
    return rows, fills, bold


def _share(rolled: float, base: float) -> float | None:
    if not base > 0:  # NaN (no item in the bucket last month) or zero
        return None
    return float(rolled / base)  # a numpy float would print as np.float64(...)


def chart_order(portfolio: pd.DataFrame, rules: Rules) -> list[str]:
    """Every currency of the portfolio rows, largest first by its latest outstanding
    converted to the base currency (``plan.exchange_rates``); a currency without a rate
    counts one for one, as the plan's scores do."""
    settings, _issues = plan_settings(rules)
    latest = portfolio.sort_values("as_of").groupby("currency")["outstanding"].last()
    converted = {
        currency: float(cents) * (settings.rate(currency) or 1.0)
        for currency, cents in latest.items()
    }
    return sorted(converted, key=lambda currency: (-converted[currency], currency))


def _history_charts(history: History, column_count: int, rules: Rules) -> tuple[Chart, ...]:
    """Per currency (largest first), right of the table: the aging mix per month and,
    below it, the DSO trend, over that currency's all-customers rows."""
    table = history.table
    portfolio = table[table["customer"].isna()].reset_index(drop=True)
    if portfolio.empty:
        return ()
    bucket_count = len(history.buckets)
    anchor = column_count + 2
    charts = []
    for rank, currency in enumerate(chart_order(portfolio, rules)):
        positions = portfolio.index[portfolio["currency"] == currency]
        first, last = int(positions.min()) + 2, int(positions.max()) + 2
        top = 2 + rank * 42
        charts.append(_aging_mix_chart(currency, first, last, top, anchor, bucket_count))
        charts.append(
            Chart(
                title=f"DSO trend ({currency}, days)",
                kind="column",
                categories_column=1,
                first_row=first,
                last_row=last,
                anchor_row=top + 21,
                anchor_column=anchor,
                width_columns=12,
                height_rows=18,
                y_title="days",
                series=(Series(1, _DSO_COLUMN, first, last, _DSO_COLUMN),),
                colors=(DSO_COLOR,),
            )
        )
    return tuple(charts)


_FIRST_BUCKET_COLUMN = 13  # 1-based columns of the History sheet
_DSO_COLUMN = 12


def _aging_mix_chart(
    currency: str, first: int, last: int, top: int, anchor: int, bucket_count: int
) -> Chart:
    """Stacked columns of the balance per bucket, month by month (rows first..last)."""
    column = _FIRST_BUCKET_COLUMN
    return Chart(
        title=f"Aging mix per month ({currency})",
        kind="column",
        categories_column=1,
        first_row=first,
        last_row=last,
        stacked=True,
        anchor_row=top,
        anchor_column=anchor,
        width_columns=12,
        height_rows=20,
        series=tuple(Series(1, column + i, first, last, column + i) for i in range(bucket_count)),
        colors=tuple(BUCKET_COLORS[i % len(BUCKET_COLORS)] for i in range(bucket_count)),
    )


@dataclass(frozen=True)
class FileRow:
    """One workbook of a batch, as the ``Files`` sheet lists it (money in cents)."""

    file: str
    output: str = ""
    as_of: date | None = None
    status: str = "failed"  # "ok" or "failed"
    rows: int = 0
    customers: int = 0
    outstanding: Mapping[str, int] = field(default_factory=dict)
    overdue: Mapping[str, int] = field(default_factory=dict)
    stages: Mapping[str, int] = field(default_factory=dict)
    letters: int = 0
    warnings: int = 0
    seconds: float = 0.0
    error: str = ""
    notes: str = ""  # what a clerk should know of a processed file (invoices after as-of)


def files_model(
    files: Sequence[FileRow], rules: Rules, name: str = "Files", as_of: date | None = None
) -> SheetModel:
    """The ``Files`` sheet: each workbook with its status, figures per currency and stage."""
    currencies = sorted({c for f in files for c in (*f.outstanding, *f.overdue)})
    stage_keys = [s.key for s in rules.all_stages]
    stage_keys += sorted({k for f in files for k in f.stages} - set(stage_keys))
    labels = {s.key: s.label for s in rules.all_stages}
    columns = (
        Column("File", None, 30),
        Column("Output", None, 34),
        Column("As Of", DATE_FORMAT, 11),
        Column("Status", None, 8),
        Column("Rows", INT_FORMAT, 8),
        Column("Customers", INT_FORMAT, 10),
        *(
            Column(f"{kind} {c}", money_format(c), 15)
            for c in currencies
            for kind in ("Outstanding", "Overdue")
        ),
        *(Column(labels.get(key, key), INT_FORMAT, 10) for key in stage_keys),
        Column("Letters", INT_FORMAT, 8),
        Column("Warnings", INT_FORMAT, 9),
        Column("Seconds", "0.00", 8),
        Column("Error", None, 50),
        Column("Notes", None, 50),
    )
    return SheetModel(
        name=name,
        columns=columns,
        rows=[_file_row(f, currencies, stage_keys) for f in files],
        row_fills=[None if f.status == "ok" else "FF7C80" for f in files],
        fill_columns=(3,),
        table_name="BatchFiles",
        page=PageSetup(as_of=as_of, title_columns=1),
    )


def _file_row(f: FileRow, currencies: Sequence[str], stage_keys: Sequence[str]) -> tuple:
    """One workbook's row of the Files sheet; a failed one shows no figures."""
    ok = f.status == "ok"

    def money(table: Mapping[str, int], currency: str) -> Decimal | None:
        if not ok or (currency not in f.outstanding and currency not in f.overdue):
            return None
        return cents_to_decimal(table.get(currency, 0))

    return (
        f.file,
        f.output or None,
        f.as_of,
        f.status,
        f.rows if ok else None,
        f.customers if ok else None,
        *(money(table, c) for c in currencies for table in (f.outstanding, f.overdue)),
        *((f.stages.get(key, 0) if ok else None) for key in stage_keys),
        f.letters if ok else None,
        f.warnings if ok else None,
        f.seconds,
        f.error or None,
        f.notes or None,
    )
