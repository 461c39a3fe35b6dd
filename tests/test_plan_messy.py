"""The plan on messy ledgers in every language (issue: the priority collection plan).

The plan must list exactly the customers with an overdue amount, each with the right
stage and overdue total, ranked 1..N by descending score, a Why on every row, action
dates on working days from as-of, and no owner over capacity on any day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from receivables.core.plan import plan_settings
from receivables.core.rules import load_rules
from receivables.core.workdays import is_working_day
from receivables.pipeline import run

from messy import AS_OF, write_messy

RULES, _ = load_rules()
LADDER = [stage.key for stage in RULES.stages]
LABELS = {stage.key: stage.label for stage in RULES.all_stages}


def expected_plan(items):
    """(customer, currency) -> (stage label, overdue cents), by the design's §4 rules."""
    overdue = defaultdict(int)
    worst: dict[tuple[str, str], int] = {}
    for item in items:
        if item.stage not in LADDER or item.balance_cents <= 0:
            continue
        key = (item.customer, item.currency)
        worst[key] = max(worst.get(key, -1), LADDER.index(item.stage))
        if item.days_overdue >= 1:
            overdue[key] += item.balance_cents
    return {key: (LABELS[LADDER[worst[key]]], cents) for key, cents in overdue.items() if cents}


@pytest.mark.parametrize("language", ["es", "en", "zh", "hu", "de", "fr"])
def test_plan_on_messy_ledger(tmp_path, language):
    ledger = write_messy(tmp_path, language)
    out = tmp_path / "out.xlsx"
    run(ledger.path, out, AS_OF)
    sheet = load_workbook(out)["Collection Plan"]
    header = [cell.value for cell in sheet[1]]
    rows = [
        dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[0] is not None
    ]
    expected = expected_plan(ledger.items)
    assert expected, "the generated ledger must have overdue customers"
    found = {
        (r["Customer"], r["Currency"]): (r["Stage"], round(Decimal(str(r["Overdue"])) * 100))
        for r in rows
    }
    assert found == expected
    assert [r["Rank"] for r in rows] == list(range(1, len(rows) + 1))
    scores = [r["Priority Score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(r["Why"] for r in rows)
    capacity = plan_settings(RULES)[0].capacity_per_day
    for r in rows:
        day = r["Action Date"].date()
        assert day >= AS_OF and is_working_day(day, RULES.country)
    per_day = Counter((r["Owner"], r["Action Date"]) for r in rows)
    assert max(per_day.values()) <= capacity
