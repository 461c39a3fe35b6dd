"""Hypothesis: a second run on the output changes nothing (design.md §7), and plan totals
equal ledger totals, on random ledgers processed end to end."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.pipeline import run

from conftest import AS_OF, ledger_row, write_ledger
from workbook_dump import dump_sheets

items = st.lists(
    st.tuples(
        st.sampled_from(["Acme", "Borde S.L.", "Csoda Kft.", "=SUM(A1)", "Dup & Co <x>"]),
        st.integers(min_value=-40, max_value=900),
        st.decimals(min_value=-500, max_value=20000, places=2, allow_nan=False),
        st.sampled_from(["EUR", "USD", "HUF"]),
        st.sampled_from([None, "yes"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=items)
def test_second_run_changes_nothing_and_totals_match(rows):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ledger = [
            ledger_row(
                customer,
                days,
                float(balance),
                invoice=f"I{index}",
                currency=currency,
                disputed=disputed,
            )
            for index, (customer, days, balance, currency, disputed) in enumerate(rows)
        ]
        source = write_ledger(folder / "in.xlsx", ledger)
        first = run(source, folder / "once.xlsx", AS_OF)
        run(folder / "once.xlsx", folder / "twice.xlsx", AS_OF)
        once, twice = dump_sheets(folder / "once.xlsx"), dump_sheets(folder / "twice.xlsx")
        assert once == twice
        # Plan totals equal ledger totals: overdue per currency, to the cent.
        plan = once["Collection Plan"]
        header = plan[0]
        totals: dict[str, Decimal] = {}
        for row in plan[1:]:
            if row[0] is None:
                continue
            currency = row[header.index("Currency")]
            overdue = Decimal(str(row[header.index("Overdue")]))
            totals[currency] = totals.get(currency, Decimal(0)) + overdue
        expected = {c: Decimal(str(v)) for c, v in first.to_json()["overdue"].items() if v}
        assert {c: v for c, v in totals.items() if v} == expected
