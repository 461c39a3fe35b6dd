"""Letters need real sender details: sample or missing ones are warned about, everywhere."""

from __future__ import annotations

from click.testing import CliRunner

from receivables.cli import main
from receivables.core import letters as core
from receivables.core.rules import load_rules

from letters_support import AS_OF, classified_frame, item


def sender_warnings(company: dict, days: int = 120) -> list[str]:
    rules, issues = load_rules({"company": company, "dunning": {"allow_skip": True}})
    assert issues == []
    frame = classified_frame([item("Debtor SA", days, 500.00)], rules)
    jobs, found = core.letter_jobs(frame, rules, AS_OF)
    assert jobs
    return [i.message for i in found if str(i.where) == "company settings"]


def test_sample_sender_and_missing_account_are_warned():
    said = sender_warnings({})
    assert any("company address is still the sample" in m for m in said)
    assert any("no bank account" in m and "legal_demand" in m for m in said)


def test_a_real_sender_gets_no_warning_and_the_legal_demand_names_the_account():
    company = {
        "name": "Northwind S.L.",
        "address": "Gran Vía 28\n28013 Madrid",
        "iban": "ES91 2100 0418 4502 0005 1332",
        "bank_name": "Banco Ejemplo",
    }
    assert sender_warnings(company) == []
    rules, _ = load_rules({"company": company, "dunning": {"allow_skip": True}})
    frame = classified_frame([item("Debtor SA", 120, 500.00)], rules)
    job = core.letter_jobs(frame, rules, AS_OF)[0][0]
    assert job.template == "legal_demand" and job.context["iban"] == company["iban"]


def test_the_demo_says_so_on_the_command_line(tmp_path):
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "Warning: the company address is still the sample" in result.output
    assert "Warning: no bank account to pay into" in result.output
