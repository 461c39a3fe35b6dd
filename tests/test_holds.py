"""Which drafts a block or a dispute holds (receivables.core.holds), on small inline tables."""

from __future__ import annotations

from datetime import date

import pandas as pd

from receivables.core.dunning import Block, DunningSettings
from receivables.core.holds import draft_holds, draft_owners

SEND_DAY = date(2026, 11, 4)


def _row(message_id, customer, currency, invoices=""):
    return {
        "Message-ID": message_id,
        "Customer": customer,
        "Currency": currency,
        "Invoices": invoices,
        "Channel": "email",
    }


def _ledger(*rows):
    frame = pd.DataFrame(
        rows,
        columns=["customer", "currency", "invoice", "due_date", "disputed", "dispute_reason",
                 "dunning_block"],
    )  # fmt: skip
    frame["due_date"] = pd.to_datetime(frame["due_date"])
    return frame


def test_owners_read_the_items_without_their_levels():
    owners = draft_owners(
        [
            _row("<a>", "Acme", "eur", "INV-1, INV-2 (notice), due 2026-09-15"),
            _row("", "No Id", "EUR"),
            _row("<b>", "", "EUR"),
        ]
    )
    assert list(owners) == ["<a>"]
    assert owners["<a>"].currency == "EUR"
    assert owners["<a>"].items == ("INV-1", "INV-2", "due 2026-09-15")


def test_rule_blocks_match_name_currency_and_dates():
    owners = draft_owners(
        [
            _row("<a>", "Acme  S.A.", "EUR"),
            _row("<b>", "Acme S.A.", "USD"),
            _row("<c>", "Beta", "EUR"),
        ]
    )
    settings = DunningSettings(
        blocks=(
            Block("acme s.a.", "payment plan", date(2026, 11, 4), currency="EUR"),
            Block("Beta", "old", date(2026, 11, 3)),
        )
    )
    assert draft_holds(owners, settings, SEND_DAY) == {
        "<a>": "dunning block 'payment plan' until 2026-11-04 — Acme  S.A. (EUR)"
    }
    assert draft_holds(owners, settings, date(2026, 11, 5)) == {}


def test_ledger_cells_and_disputes_hold():
    owners = draft_owners(
        [
            _row("<a>", "Acme", "EUR", "INV-1"),
            _row("<b>", "Beta", "EUR", "B-1, B-2 (demand)"),
            _row("<c>", "Beta", "USD", "B-9"),
            _row("<d>", "Gamma", "EUR"),  # a ladder email: its items are not listed
            _row("<e>", "Delta", "EUR", "D-1"),
        ]
    )
    ledger = _ledger(
        ("Acme", "EUR", "INV-1", "2026-09-01", False, None, "legal review until 2099-01-31"),
        ("Beta", "EUR", "B-1", "2026-09-01", False, None, None),
        ("Beta", "EUR", "B-2", "2026-09-01", True, "wrong price", None),
        ("Beta", "USD", "B-9", "2026-09-01", False, None, None),
        ("Gamma", "EUR", None, "2026-08-15", True, None, None),
        ("Delta", "EUR", "D-1", "2026-09-01", False, None, "plan until 2026-11-01"),
    )
    assert draft_holds(owners, DunningSettings(), SEND_DAY, ledger) == {
        "<a>": "dunning block 'legal review' until 2099-01-31 — Acme (EUR)",
        "<b>": "item B-2 is in dispute (wrong price) — Beta (EUR)",
        "<d>": "the customer's item due 2026-08-15 is in dispute and the draft does not "
        "say which items it covers — Gamma (EUR)",
    }
