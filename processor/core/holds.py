"""Which email drafts a dunning block or a dispute holds at sending time (design.md §11).

A draft is written on one day and sent on another: in between the controller may put
the customer on hold (``[[dunning.blocks]]`` in the rules, a ``Dunning Block`` cell in
the ledger) or the customer may dispute an item the draft demands. ``receivables send``
asks :func:`draft_holds` before sending; a held draft is neither sent nor cancelled, so
that once the block ends (or the dispute is settled) the next run decides again.

Pure: the send date, the Letters Log rows (which say whose draft a Message-ID is and
which items it covers) and the classified ledger are parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from .dunning import Block, DunningSettings, customer_blocks, item_key, normalize


@dataclass(frozen=True)
class DraftOwner:
    """Whose a draft is, per its Letters Log row: customer, currency, item keys."""

    customer: str
    currency: str
    items: tuple[str, ...]

    def who(self) -> str:
        """``Acme (EUR)``."""
        return f"{self.customer} ({self.currency})" if self.currency else self.customer


def draft_owners(rows: Iterable[Mapping[str, Any]]) -> dict[str, DraftOwner]:
    """Message-ID -> owner, from Letters Log rows (rows without a Message-ID or a customer
    say nothing). The ``Invoices`` cell lists the items; a level in brackets
    (``INV-9 (notice)``) is not part of the item's name."""
    owners = {}
    for row in rows:
        message_id = str(row.get("Message-ID") or "").strip()
        customer = str(row.get("Customer") or "").strip()
        if not message_id or not customer:
            continue
        items = []
        for part in str(row.get("Invoices") or "").split(","):
            part = part.strip()
            if part.endswith(")") and " (" in part:
                part = part[: part.rindex(" (")].strip()
            if part:
                items.append(part)
        currency = str(row.get("Currency") or "").strip().upper()
        owners[message_id] = DraftOwner(customer, currency, tuple(items))
    return owners


def _block_reason(block: Block, owner: DraftOwner) -> str:
    until = f" until {block.until.isoformat()}" if block.until else ""
    return f"dunning block '{block.reason or 'blocked'}'{until} — {owner.who()}"


def draft_holds(
    owners: Mapping[str, DraftOwner],
    settings: DunningSettings,
    as_of: date,
    ledger: pd.DataFrame | None = None,
) -> dict[str, str]:
    """Message-ID -> why the draft is held on ``as_of``: an active block of the rules
    (``settings.blocks``), or, with the classified ``ledger``, an active ``Dunning Block``
    cell of the customer and currency or an item the draft covers now in dispute (any
    item of the customer's, for a draft whose row lists none). Drafts not held are
    absent."""
    holds: dict[str, str] = {}
    active = [block for block in settings.blocks if block.active(as_of)]
    cells: dict[tuple[str, str], Block] = {}
    disputed: dict[tuple[str, str, str], tuple[str, str]] = {}
    if ledger is not None and not ledger.empty:
        # Only the cells: the rules' blocks are matched against the log's names below.
        found = customer_blocks(ledger, DunningSettings(), as_of)
        cells = {(normalize(name), str(code).upper()): b for (name, code), b in found.items()}
        disputed = _disputed_items(ledger)
    for message_id, owner in owners.items():
        name = normalize(owner.customer)
        block = next(
            (
                b
                for b in active
                if normalize(b.customer) == name
                and (b.currency is None or b.currency == owner.currency)
            ),
            None,
        ) or cells.get((name, owner.currency))
        if block is not None:
            holds[message_id] = _block_reason(block, owner)
            continue
        for item in owner.items:
            found = disputed.get((name, owner.currency, normalize(item)))
            if found is not None:
                reason = found[1]
                because = f" ({reason})" if reason else ""
                holds[message_id] = f"item {item} is in dispute{because} — {owner.who()}"
                break
        else:
            if not owner.items:
                # A ladder email's row lists no items: it may demand any of the
                # customer's, so a dispute of any holds it (never demand a disputed item).
                item = next(
                    (
                        key
                        for (who, code, _k), (key, _r) in disputed.items()
                        if (who, code) == (name, owner.currency)
                    ),
                    None,
                )
                if item is not None:
                    holds[message_id] = (
                        f"the customer's item {item} is in dispute and the draft does not "
                        f"say which items it covers — {owner.who()}"
                    )
    return holds


def _disputed_items(ledger: pd.DataFrame) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(customer, currency, item key), normalised -> (item key, dispute reason), of the
    items the ledger's dispute column marks."""
    if "disputed" not in ledger:
        return {}
    flagged = ledger.loc[ledger["disputed"].fillna(False).astype(bool).to_numpy()]
    reasons = (
        flagged["dispute_reason"].tolist() if "dispute_reason" in flagged else [None] * len(flagged)
    )
    found = {}
    for customer, currency, invoice, due, reason in zip(
        flagged["customer"].tolist(),
        flagged["currency"].fillna("").tolist(),
        flagged["invoice"].tolist() if "invoice" in flagged else [None] * len(flagged),
        flagged["due_date"].tolist() if "due_date" in flagged else [None] * len(flagged),
        reasons,
        strict=True,
    ):
        day = due.date() if isinstance(due, pd.Timestamp) and not pd.isna(due) else None
        item = item_key(invoice, day)
        key = (normalize(customer), str(currency).upper(), normalize(item))
        found[key] = (item, reason.strip() if isinstance(reason, str) else "")
    return found
