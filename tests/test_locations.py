"""Issue locations are values: parsed from and displayed as A1 text, compared by their parts."""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from receivables.core.grid import SheetGrid
from receivables.core.issues import Issue, Location, Severity
from receivables.core.ledger import locate_table
from receivables.core.process import analyse, header_matcher
from receivables.core.rules import load_rules

from conftest import AS_OF, write_ledger


def test_an_issue_built_from_text_holds_the_parsed_location():
    issue = Issue("'Collections Settings'!C12", "bad value")
    assert issue.where == Location(sheet="Collections Settings", row=12, column=3)
    assert str(issue) == "'Collections Settings'!C12: bad value"
    assert Issue("Octubre!3:3", "x").where == Location(sheet="Octubre", row=3)
    assert Issue("10:10", "x").where == Location(row=10)
    # Text that is no A1 reference stays readable, as a label.
    assert Issue("letters", "x").where == Location(label="letters")
    assert Issue("", "x").where == Location() and not Issue("", "x").where
    assert str(Issue("", "no place")) == "no place"


def test_display_of_each_kind_of_location():
    assert str(Location.cell("Octubre", 17, 4)) == "Octubre!D17"
    assert str(Location.cell("Octubre", 3)) == "Octubre!3:3"
    assert str(Location.cell("Mes de octubre", 2, 28)) == "'Mes de octubre'!AB2"
    assert str(Location.cell("Pénzügy", 5, 1)) == "'Pénzügy'!A5"
    assert str(Location(sheet="Collections Settings")) == "Collections Settings"
    assert str(Location(file="AR_2026-10.xlsx")) == "AR_2026-10.xlsx"
    assert str(Location.cell("Ledger", 4, 2, file="AR.xlsx")) == "[AR.xlsx]Ledger!B4"
    assert str(Location.setting("plan.capacity_per_day", "rules.toml")) == (
        "rules.toml plan.capacity_per_day"
    )
    # A settings-sheet row shows its cell; the key stays a field for filtering.
    row = Location(sheet="Collections Settings", row=12, column=3, key="general.as_of")
    assert str(row) == "'Collections Settings'!C12" and row.key == "general.as_of"


def test_whole_row_ignores_the_column():
    assert Location.cell("Ledger", 3, 1).whole_row() == Location.parse("Ledger!3:3")
    assert Location.cell("Ledger", 3, 1).whole_row() != Location.parse("Other!3:3")
    assert Location(label="letters").whole_row() == Location(label="letters")


SHEETS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@given(
    sheet=SHEETS, row=st.integers(1, 1_048_576), column=st.one_of(st.none(), st.integers(1, 16_384))
)
def test_the_display_parses_back_to_the_same_location(sheet, row, column):
    location = Location.cell(sheet, row, column)
    assert Location.parse(str(location)) == location


def test_a_row_without_a_customer_is_reported_once():
    """Regression: the skipped row was reported at its customer cell and again as a row."""
    rules = load_rules()[0]
    matcher = header_matcher(rules)
    grid = SheetGrid(
        name="Ledger",
        rows=[
            ["Customer", "Invoice", "Due date", "Balance"],
            ["Acme", "F-1", "2026-09-15", 100],
            [None, "F-2", "2026-09-16", 200],
            ["Bolt", "F-3", "2026-09-17", 300],
        ],
    )
    location = locate_table(grid, matcher, rules)
    assert location is not None
    outcome = analyse(grid, location, rules, AS_OF, matcher)
    per_row = Counter(i.where.whole_row() for i in outcome.issues if i.where.row == 3)
    assert per_row == {Location.cell("Ledger", 3): 1}
    (issue,) = [i for i in outcome.issues if i.where.row == 3]
    assert issue.where == Location.cell("Ledger", 3, 1)
    assert issue.message == "row skipped: no customer"
    assert issue.severity == Severity.WARNING
    assert [s.row for s in outcome.ledger.skipped] == [3]


def test_json_issues_give_the_display_text_and_the_parts(tmp_path, cli):
    source = write_ledger(
        tmp_path / "ar.xlsx",
        [
            ["Acme", "F-1", "2026-08-01", "2026-09-01", "EUR", 100, 0, 100],
            [None, "F-2", "2026-08-01", "2026-09-01", "EUR", 250, 0, 250],
        ],
        header=[
            "Customer",
            "Invoice",
            "Invoice Date",
            "Due Date",
            "Currency",
            "Amount",
            "Paid",
            "Balance",
        ],
    )
    code, out, err = cli(
        "process", source, "-o", tmp_path / "out.xlsx", "--as-of", AS_OF.isoformat(), "--json"
    )
    assert code == 0, err
    issues = [i for i in json.loads(out)["issues"] if i["where"].startswith("Ledger!")]
    assert {
        "where": "Ledger!A3",
        "message": "row skipped: no customer",
        "severity": "warning",
        "location": {"sheet": "Ledger", "row": 3, "column": 1},
    } in issues
    assert len([i for i in issues if i["location"].get("row") == 3]) == 1
