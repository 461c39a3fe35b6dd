"""Data-quality findings that matter before anyone contacts a customer (Exceptions sheet).

Pure: from the classified ledger and the customer roll-up to :class:`Issue` values with
the cell to look at.
"""

from __future__ import annotations

import pandas as pd

from . import frame as F
from .issues import Issue, Location, Severity
from .plan import index_keys, money_text, present_mask, records, series_dict
from .rules import Rules


def quality_issues(classified: pd.DataFrame, customers: pd.DataFrame, rules: Rules,
                   sheet: str, columns: dict[str, int]) -> list[Issue]:
    """Findings: missing contacts at letter stages, duplicate invoices, odd dates, credits
    that could offset debts, customers billed in several currencies."""
    issues: list[Issue] = []

    def where(row: int, field: str | None = None) -> Location:
        return Location.cell(sheet, int(row), columns.get(field) if field else None)

    letter_stages = {s.key for s in rules.stages if s.letter}
    first_rows = series_dict(classified.groupby("customer", sort=False)[F.ROW].min())
    reachable = pd.DataFrame({
        "customer": classified["customer"], "currency": classified["currency"],
        **{field: present_mask(classified[field]) if field in classified else False
           for field in ("address", "email", "contact")},
    }).groupby(["customer", "currency"]).any()
    # A dict of plain rows: a .loc lookup per customer costs ~40 us.
    reachable = dict(zip(index_keys(reachable.index), records(reachable), strict=True))
    for record in records(customers):
        if record.stage not in letter_stages:
            continue
        found = reachable[(record.customer, record.currency)]._asdict()
        if not (found["address"] or found["email"]):
            issues.append(Issue(
                where(first_rows[record.customer], "customer"),
                f"{record.customer} is at the {rules.stage(record.stage).label} stage but has "
                "no address or email: a letter cannot be sent", Severity.WARNING))
        elif not found["contact"]:
            issues.append(Issue(
                where(first_rows[record.customer], "customer"),
                f"{record.customer} has no contact person: letters go to the company",
                Severity.INFO))

    if "invoice" in classified:
        invoices = classified.loc[present_mask(classified["invoice"]), ["invoice", F.ROW]]
        duplicated = invoices[invoices.duplicated(["invoice"], keep=False)]
        for invoice, group in duplicated.groupby("invoice", sort=True):
            rows = ", ".join(str(int(r)) for r in group[F.ROW])
            issues.append(Issue(where(group[F.ROW].iat[0], "invoice"),
                                f"invoice {invoice} appears more than once (rows {rows})"))

    if "invoice_date" in classified:
        bad = classified.loc[classified["due_date"] < classified["invoice_date"], [F.ROW]]
        for row in bad[F.ROW]:
            issues.append(Issue(where(row, "due_date"), "due date is before the invoice date"))

    for record in records(customers):
        if record.credit_cents < 0 and record.overdue_cents > 0:
            issues.append(Issue(
                where(first_rows[record.customer], "customer"),
                f"{record.customer} has credits of "
                f"{money_text(-record.credit_cents, record.currency)} that could offset "
                f"{money_text(record.overdue_cents, record.currency)} overdue", Severity.INFO))

    # Distinct (customer, currency) pairs, then customers with several: groupby().unique()
    # on Arrow-backed text is ~10x slower.
    pairs = classified[["customer", "currency"]].drop_duplicates()
    pairs = pairs[pairs["customer"].notna() & pairs.duplicated("customer", keep=False)]
    currencies: dict[str, list[str]] = {}
    for customer, code in zip(pairs["customer"].tolist(), pairs["currency"].tolist(),
                              strict=True):
        currencies.setdefault(customer, []).append(code)
    for customer, codes in sorted(currencies.items()):
        if len(codes) > 1:
            issues.append(Issue(
                where(first_rows[customer], "customer"),
                f"{customer} is billed in several currencies ({', '.join(sorted(codes))}): "
                "one plan row and one letter per currency", Severity.INFO))
    return issues
