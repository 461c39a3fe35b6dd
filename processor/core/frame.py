"""The canonical ledger frame: column names and types every step of the core relies on.

One row per open item. Money is exact: integer hundredths of the currency unit
(``*_cents`` columns, int64), whatever the currency's own number of decimals. Dates are
``datetime64`` normalised to midnight (NaT when missing). Text columns hold ``str`` or
``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Canonical fields of design.md §3, in the order of the template workbook.
FIELDS: tuple[str, ...] = (
    "customer",
    "customer_id",
    "invoice",
    "invoice_date",
    "due_date",
    "terms_days",
    "currency",
    "amount",
    "paid",
    "balance",
    "owner",
    "region",
    "distance_km",
    "contact",
    "phone",
    "email",
    "address",
    "language",
    "disputed",
    "dispute_reason",
    "promise_date",
    "last_contact",
    "notes",
    "stage_override",
    # the debtor's country (ISO code or name) and contract interest rate, for the letters'
    # interest regime (design.md §8)
    "country",
    "interest_rate",
    "customer_type",  # business or consumer (dunning: statutory interest for businesses)
    "dunning_block",  # a reason to send no letter to the customer (dunning block)
)

DATE_FIELDS = frozenset({"invoice_date", "due_date", "promise_date", "last_contact"})
MONEY_FIELDS = frozenset({"amount", "paid", "balance"})
FLAG_FIELDS = frozenset({"disputed"})
NUMBER_FIELDS = frozenset({"terms_days", "distance_km"})
TEXT_FIELDS = frozenset(FIELDS) - DATE_FIELDS - MONEY_FIELDS - FLAG_FIELDS - NUMBER_FIELDS

# Columns of the ledger frame (besides the text/date fields above, kept under their names):
ROW = "row"  # 1-based sheet row the record came from
AMOUNT = "amount_cents"  # Int64, may be NA when only a balance is given
PAID = "paid_cents"  # Int64, 0 when absent
BALANCE = "balance_cents"  # int64, always present on a kept record
DUE_DERIVED = "due_date_derived"  # bool: due date computed from invoice date + terms

# Columns added by classify():
DAYS_OVERDUE = "days_overdue"  # int64: as_of - due_date in calendar days
BUCKET = "bucket"  # aging bucket label
STAGE = "stage"  # stage or state key (current ... dead, paid, credit, disputed, promised)
STAGE_LABEL = "stage_label"
NEXT_ACTION = "next_action"
LADDER_STAGE = "ladder_stage"  # the ladder stage by days alone, whatever overrides apply
BROKEN_PROMISE = "broken_promise"  # bool: promise date before as_of on an unpaid item
COUNTS_OVERDUE = "counts_overdue"  # bool: open ladder item at least one day past due


@cache
def text_dtype():
    """What pandas makes of a column of texts: its Arrow-backed string dtype, or None
    (objects, as with pandas 2).

    pandas is imported here, not at the top: this module names the fields for the
    settings schema, which the shells import before pandas is needed (the file shell
    imports pandas while calamine parses the ledger, see ``pipeline._warm_up``).
    """
    import pandas as pd

    dtype = pd.Series(["a", None]).dtype
    return dtype if getattr(dtype, "storage", None) == "pyarrow" else None


def texts_at(texts: Sequence[str | None], codes: np.ndarray):
    """The column ``[texts[c] for c in codes]`` with the dtype pandas would infer for it,
    built from the few distinct texts (a stage, a bucket label) instead of one per row."""
    import numpy as np
    import pandas as pd

    dtype = text_dtype()
    if dtype is None or not len(codes):  # pandas keeps an empty column as objects
        return np.array(list(texts), dtype=object)[codes]
    return pd.array(list(texts), dtype=dtype).take(codes)
