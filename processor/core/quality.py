"""Data-quality findings that matter before anyone contacts a customer (Exceptions sheet).

Pure: from the classified ledger and the customer roll-up to :class:`Issue` values with
the cell to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from . import frame as F
from .dunning import parse_dunning
from .issues import Issue, Location, Severity
from .plan import money_text, present_mask, records
from .rules import Rules


def quality_issues(
    classified: pd.DataFrame,
    customers: pd.DataFrame,
    rules: Rules,
    sheet: str,
    columns: dict[str, int],
    decisions: Mapping | None = None,
) -> list[Issue]:
    """Findings: customers a letter is due for who cannot be written to, dunning blocks,
    missing contacts, duplicate invoices, odd dates, credits offsetting debts, customers
    billed in several currencies.

    ``decisions`` are the dunning decisions (:func:`receivables.core.dunning.decide`):
    the letters and this sheet apply the same rule (:func:`~receivables.core.dunning.can_write`).
    """
    from .dunning import decide

    if decisions is None:
        decisions = decide(classified, rules, as_of_of(classified))

    def where(row: int, field: str | None = None) -> Location:
        return Location.cell(sheet, int(row), columns.get(field) if field else None)

    # Customers as integer codes (Arrow-backed text is factorised once for every check).
    codes, names = pd.factorize(classified["customer"])
    names = names.tolist()
    first_rows = np.full(len(names), np.iinfo(np.int64).max, dtype=np.int64)
    named = codes >= 0
    np.minimum.at(first_rows, codes[named], classified[F.ROW].to_numpy(dtype=np.int64)[named])
    position = {name: index for index, name in enumerate(names)}
    cells: dict[object, Location] = {}  # a customer's issues share its cell

    def customer_cell(customer: object) -> Location:
        found = cells.get(customer)
        if found is None:
            found = cells[customer] = where(first_rows[position[customer]], "customer")
        return found

    return [
        *_decision_issues(classified, decisions, (codes, names), customer_cell),
        *_duplicate_invoices(classified, where),
        *_due_before_invoice(classified, where),
        *_credit_offsets(customers, parse_dunning(rules)[0].net_credits, customer_cell),
        *_several_currencies(classified, (codes, names), customer_cell),
    ]


def _duplicate_invoices(classified: pd.DataFrame, where: Callable[..., Location]) -> list[Issue]:
    """An invoice number on more than one row, at its first row."""
    if "invoice" not in classified:
        return []
    # A present invoice number never equals a missing or blank one: the repeats among the
    # present ones are the present repeats among all (no copy of the present rows first).
    codes, distinct = pd.factorize(classified["invoice"])  # missing: -1
    if not len(distinct):
        return []
    counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
    repeated = (codes >= 0) & (counts[codes] > 1)  # (counts[-1] at a missing one: unused)
    if not repeated.any():
        return []
    repeated &= present_mask(classified["invoice"]).to_numpy(dtype=bool)
    duplicated = classified.loc[repeated, ["invoice", F.ROW]]
    issues = []
    for invoice, group in duplicated.groupby("invoice", sort=True):
        rows = ", ".join(str(int(r)) for r in group[F.ROW])
        issues.append(
            Issue(
                where(group[F.ROW].iat[0], "invoice"),
                f"invoice {invoice} appears more than once (rows {rows})",
            )
        )
    return issues


def _due_before_invoice(classified: pd.DataFrame, where: Callable[..., Location]) -> list[Issue]:
    """Rows whose due date is before their invoice date, at the due date's cell."""
    if "invoice_date" not in classified:
        return []
    bad = classified.loc[classified["due_date"] < classified["invoice_date"], [F.ROW]]
    return [
        Issue(where(row, "due_date"), "due date is before the invoice date") for row in bad[F.ROW]
    ]


def _credit_offsets(
    customers: pd.DataFrame, offsetting: bool, customer_cell: Callable[[object], Location]
) -> list[Issue]:
    """Customers whose credits offset (``dunning.net_credits``), or could offset, debts."""
    issues = []
    # Only customers with credits and overdue items are looked at one by one.
    both = customers[(customers["credit_cents"] < 0) & (customers["overdue_cents"] > 0)]
    for record in records(both):
        if record.credit_cents < 0 and record.overdue_cents > 0:
            verb = "offset" if offsetting else "could offset"
            issues.append(
                Issue(
                    customer_cell(record.customer),
                    f"{record.customer} has credits of "
                    f"{money_text(-record.credit_cents, record.currency)} that {verb} "
                    f"{money_text(record.overdue_cents, record.currency)} overdue",
                    Severity.INFO,
                )
            )
    return issues


def _decision_issues(
    classified: pd.DataFrame,
    decisions: Mapping,
    customers: tuple[np.ndarray, list],
    customer_cell: Callable[[object], Location],
) -> list[Issue]:
    """Customers a letter is due for who cannot be written to, blocked customers, and
    customers written to without a contact person (``customers``: the customer column
    factorised, codes and names)."""
    from .dunning import BLOCKED, SEND, UNREACHABLE

    with_contact = _with_contact(classified, customers)
    # Only the decisions reported are sorted (a ledger has one per customer and currency).
    reported = [
        (key, decision)
        for key, decision in decisions.items()
        if decision.action in (UNREACHABLE, BLOCKED)
        or (decision.action == SEND and key[0] not in with_contact)
    ]
    return [
        _decision_issue(customer, currency, decision, customer_cell)
        for (customer, currency), decision in sorted(reported, key=lambda pair: pair[0])
    ]


def _with_contact(classified: pd.DataFrame, customers: tuple[np.ndarray, list]) -> set:
    """The customers with a contact person on some row (``customers``: the customer
    column factorised, codes and names)."""
    if "contact" not in classified:
        return set()
    codes, names = customers
    reached = codes[present_mask(classified["contact"]).to_numpy(dtype=bool) & (codes >= 0)]
    return {names[code] for code in np.unique(reached).tolist()}


def _decision_issue(
    customer: object, currency: str, decision, customer_cell: Callable[[object], Location]
) -> Issue:
    """The issue of one reported decision: unreachable, blocked, or sent without a
    contact person (what :func:`_decision_issues` reports)."""
    from .dunning import BLOCKED, UNREACHABLE, unreachable

    if decision.action == UNREACHABLE:
        return Issue(
            customer_cell(customer),
            f"{customer} ({currency}): a {decision.level.name} is due but the customer "
            "has no postal address (nor an email, where this letter may go by email): "
            "no letter is written until one is added",
            Severity.WARNING,
            subject=unreachable(customer, currency),
        )
    if decision.action == BLOCKED:
        return Issue(
            customer_cell(customer)
            if decision.block.where == "Dunning Block"
            else decision.block.where,
            f"{customer} ({currency}): dunning blocked, {decision.block.text()}; no "
            "letter is written",
            Severity.INFO,
        )
    return Issue(
        customer_cell(customer),
        f"{customer} has no contact person: letters go to the company",
        Severity.INFO,
    )


def _several_currencies(
    classified: pd.DataFrame,
    customers: tuple[np.ndarray, list],
    customer_cell: Callable[[object], Location],
) -> list[Issue]:
    """Customers billed in more than one currency (``customers``: the customer column
    factorised, codes and names)."""
    # Distinct (customer, currency) pairs as integer codes, then customers with several:
    # groupby().unique() or drop_duplicates() on Arrow-backed text is several times slower.
    customer_codes, names_of = customers
    currency_codes, codes = pd.factorize(classified["currency"], use_na_sentinel=False)
    named = customer_codes >= 0
    pairs = np.unique(customer_codes[named] * len(codes) + currency_codes[named])
    owner, currency = np.divmod(pairs, max(len(codes), 1))
    several = np.flatnonzero(np.bincount(owner, minlength=len(names_of)) > 1)
    if not len(several):
        return []
    codes_of = codes.tolist()  # element access on Arrow-backed text is slow
    currencies: dict[str, list[str]] = {names_of[c]: [] for c in several.tolist()}
    picked = np.isin(owner, several)
    for customer, code in zip(owner[picked].tolist(), currency[picked].tolist(), strict=True):
        currencies[names_of[customer]].append(codes_of[code])
    return [
        Issue(
            customer_cell(customer),
            f"{customer} is billed in several currencies ({', '.join(sorted(names))}): "
            "one plan row and one letter per currency",
            Severity.INFO,
        )
        for customer, names in sorted(currencies.items())
    ]


def as_of_of(classified: pd.DataFrame):
    """The as-of date a classified frame was staged on (due date + days overdue)."""
    if classified.empty:
        return pd.Timestamp(0).date()
    first = classified.iloc[0]
    return (first["due_date"] + pd.Timedelta(days=int(first[F.DAYS_OVERDUE]))).date()


def future_dated(
    classified: pd.DataFrame, as_of, sheet: str, columns: dict[str, int]
) -> list[Issue]:
    """One warning when invoices are dated after the as-of date: a run for August over a
    ledger holding September's invoices counts them as not due, which is seldom meant
    (the as-of date from a file name or setting may be wrong, or the dates)."""
    if "invoice_date" not in classified or classified.empty:
        return []
    dates = pd.to_datetime(classified["invoice_date"], errors="coerce")
    later = classified.loc[dates > pd.Timestamp(as_of), [F.ROW]]
    if later.empty:
        return []
    latest = dates[later.index].max().date()
    first_row = int(later[F.ROW].min())
    count = len(later)
    return [
        Issue(
            Location.cell(sheet, first_row, columns.get("invoice_date")),
            f"{count} invoice{'s are' if count > 1 else ' is'} dated after the as-of date "
            f"{as_of.isoformat()} (the latest {latest.isoformat()}) and counted as not due: "
            "check the as-of date (the file name, --as-of or general.as_of) or the invoice "
            "dates",
            Severity.WARNING,
        )
    ]
