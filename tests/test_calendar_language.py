"""Action Calendar messages in the customer's language, with money and dates to match."""

from __future__ import annotations

from datetime import date

from receivables.core.outputs import calendar_tasks
from receivables.core.plan import build_plan, plan_settings
from receivables.core.rules import load_rules

from letters_support import classified_frame, item

AS_OF = date(2026, 3, 31)


def messages(records, **overrides):
    rules, issues = load_rules(overrides)
    assert issues == []
    for record in records:
        for name in (
            "owner",
            "phone",
            "email",
            "region",
            "notes",
            "last_contact",
            "stage_override",
            "dispute_reason",
            "customer_id",
        ):
            record.setdefault(name, None)
        record.setdefault("distance_km", float("nan"))
    frame = classified_frame(records, rules, AS_OF)
    settings, _ = plan_settings(rules)
    plan, _ = build_plan(frame, rules, AS_OF, settings)
    tasks = calendar_tasks(plan, frame, rules, AS_OF, settings, "Acme")
    return {task[2]: task[7] for task in tasks}


def test_each_customer_gets_the_message_in_its_language():
    found = messages(
        [
            item("Smith Ltd", 15, 1234.56, language="en", contact="Jo"),
            item("García S.L.", 15, 1234.56, language="Español", contact="Ana"),
            item("Kovács Kft.", 15, 1234.56, language="magyar", contact="Péter"),
            item("Wang Co", 15, 1234.56, language="中文", contact="王先生"),
            item("Müller AG", 15, 1234.56, language="de", contact="Max"),
        ]
    )
    assert found["Smith Ltd"].startswith("Dear Jo,")
    assert found["García S.L."].startswith("Estimado/a Ana:")
    assert "1234,56 €" in found["García S.L."].replace("\xa0", " ").replace(".", "")
    assert found["Kovács Kft."].startswith("Tisztelt Péter!")
    assert "1 234,56 EUR" in found["Kovács Kft."].replace("\xa0", " ").replace("\u202f", " ")
    assert found["Wang Co"].startswith("尊敬的王先生：") and "€1,234.56" in found["Wang Co"]
    # No German messages in the settings: the default (English) text.
    assert found["Müller AG"].startswith("Dear Max,")


def test_pre_due_reminder_uses_the_language_and_its_date():
    found = messages([item("García S.L.", -3, 100.00, language="es", contact="Ana")])
    assert "3 de abril de 2026" in found["García S.L."]


def test_a_clerk_adds_a_language_in_the_settings():
    found = messages(
        [item("Müller AG", 15, 100.00, language="de", contact="Max")],
        messages={"de": {"notice": "Sehr geehrte(r) {{ contact }}, {{ amount }}."}},
        letters={"locales": {"de": "de_DE"}},
    )
    assert found["Müller AG"].replace("\xa0", " ") == "Sehr geehrte(r) Max, 100,00 €."
