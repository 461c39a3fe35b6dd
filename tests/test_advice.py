"""The Exceptions sheet tells a clerk what to do and where, settings apart from data."""

from __future__ import annotations

from receivables.core.advice import LEDGER, SETTINGS, area, what_to_do
from receivables.core.issues import Issue, Location, Severity
from receivables.core.outputs import exceptions_model
from receivables.core.rules import load_rules


def test_a_setting_named_in_a_message_becomes_the_settings_row_to_add():
    issue = Issue(
        "letters",
        "interest.eu.compensation has no amount for GBP: no fixed compensation is claimed in GBP",
    )
    assert area(issue) == SETTINGS
    advice = what_to_do(issue)
    assert "Collections Settings sheet" in advice
    assert "Section interest.eu.compensation, Key GBP" in advice


def test_toml_quoted_in_a_message_names_section_and_keys():
    issue = Issue(
        "letters",
        "no rate for 2026-07-01. Add to the settings: "
        '[interest.rates.eu_directive] "2026-07-01" = { rate = "…", source = "…" }',
    )
    advice = what_to_do(issue)
    assert "Section interest.rates.eu_directive.2026-07-01, Keys rate and source" in advice
    plain = Issue("company settings", "set [company] address before sending the letters")
    assert area(plain) == SETTINGS
    assert "Section company, Key address" in what_to_do(plain)


def test_a_settings_location_names_its_section_and_key():
    issue = Issue(Location.setting("plan.capacity_per_day", "rules.toml"), "must be at least 1")
    assert area(issue) == SETTINGS
    assert "Section plan, Key capacity_per_day" in what_to_do(issue)
    assert "rules.toml" in what_to_do(issue)


def test_a_cell_of_the_ledger_is_data_and_names_the_cell():
    issue = Issue("Octubre!D17", "'31/02/2026' is not a date")
    assert area(issue) == LEDGER
    assert "Octubre!D17" in what_to_do(issue)


def test_the_sheet_lists_settings_first_then_data_with_area_and_advice():
    rules, _ = load_rules()
    issues = [
        Issue("Octubre!D17", "'31/02/2026' is not a date", Severity.ERROR),
        Issue(
            "rules plan.exchange_rates", "no exchange rate for USD: add USD to plan.exchange_rates"
        ),
        Issue("Octubre!A3", "a note", Severity.INFO),
    ]
    model = exceptions_model(issues, rules)
    assert model.headers[:3] == ["Severity", "Where", "Message"]
    assert model.headers[3:] == ["Area", "What to do"]
    assert [row[3] for row in model.rows] == [SETTINGS, LEDGER, LEDGER]
    assert [row[0] for row in model.rows] == ["Warning", "Error", "Info"]
    assert all(row[4] for row in model.rows)


def test_a_settings_key_leading_a_message_is_said_in_words():
    from receivables.core.advice import in_words

    said = in_words("plan.capacity_per_day must be at least 1")
    assert said.startswith("Calls/letters one owner can do per working day")
    assert "(setting plan.capacity_per_day) must be at least 1" in said
    assert in_words("a message about nothing configured") == "a message about nothing configured"
    rules, _ = load_rules()
    model = exceptions_model([Issue("letters", "plan.capacity_per_day must be at least 1")], rules)
    assert model.rows[0][2] == said
