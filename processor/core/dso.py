"""Days sales outstanding (DSO): one definition for the Aging Summary and the batch History.

``DSO = outstanding x window / invoiced``, to 0.1 day (half up), per currency, where

- **outstanding** is the sum of every item's balance on the as-of date: a credit note or
  an unapplied payment (a negative balance) *reduces* it, as it does in ``--json``'s
  ``outstanding``; a customer in net credit counts, so a portfolio in net credit has a
  DSO of 0.0 (never negative);
- **invoiced** is the gross amount of the invoices dated in the ``window`` days ending on
  the as-of date (``as_of - window < invoice date <= as_of``); credit notes (negative
  amounts) are *not* subtracted from it, so a credit note lowers DSO only once, through
  the outstanding balance;
- the window is 90 days.

DSO is blank (None) when nothing was invoiced in the window. From one ledger the
invoiced amount counts the items the ledger lists; the batch History also counts
invoices an earlier month's ledger listed (an open-items ledger drops paid ones).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from . import frame as F

WINDOW_DAYS = 90


def dso(outstanding_cents: int, invoiced_cents: int, window: int = WINDOW_DAYS) -> Decimal | None:
    """DSO from the outstanding balance and the amount invoiced in the window (cents)."""
    if invoiced_cents <= 0:
        return None
    value = Decimal(max(int(outstanding_cents), 0)) * window / Decimal(int(invoiced_cents))
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def invoiced_in_window(items: pd.DataFrame, as_of: date, window: int = WINDOW_DAYS) -> int:
    """Gross cents of the invoices (positive amounts) dated in the window ending on
    ``as_of``."""
    if "invoice_date" not in items or F.AMOUNT not in items:
        return 0
    dates = items["invoice_date"]
    end = pd.Timestamp(as_of)
    recent = items.loc[(dates > end - pd.Timedelta(days=window)) & (dates <= end), F.AMOUNT]
    return int(recent.fillna(0).clip(lower=0).sum())


def ledger_dso(items: pd.DataFrame, as_of: date, window: int = WINDOW_DAYS) -> Decimal | None:
    """DSO of one ledger's items (one currency) on ``as_of``."""
    return dso(int(items[F.BALANCE].sum()), invoiced_in_window(items, as_of, window), window)
