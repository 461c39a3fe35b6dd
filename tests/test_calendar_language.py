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
            item("Müller AG", 15, 1234.56, language="Deutsch", contact="Max"),
            item("Dupont SA", 15, 1234.56, language="français", contact="Claire"),
            item("Nobody Oy", 15, 1234.56, language="fi", contact="Aino"),
        ]
    )
    assert found["Smith Ltd"].startswith("Dear Jo,")
    assert found["García S.L."].startswith("Estimado/a Ana:")
    assert "1234,56 €" in found["García S.L."].replace("\xa0", " ").replace(".", "")
    assert found["Kovács Kft."].startswith("Tisztelt Péter!")
    assert "1 234,56 EUR" in found["Kovács Kft."].replace("\xa0", " ").replace("\u202f", " ")
    assert found["Wang Co"].startswith("尊敬的王先生：") and "€1,234.56" in found["Wang Co"]
    assert found["Müller AG"].startswith("Guten Tag Max, der Betrag von 1.234,56")
    assert "ist seit 15 Tagen überfällig" in found["Müller AG"]
    assert found["Dupont SA"].startswith("Bonjour Claire, la somme de 1")
    assert "1 234,56 €" in found["Dupont SA"].replace("\xa0", " ").replace("\u202f", " ")
    assert "est en retard de 15 jours" in found["Dupont SA"]
    # No Finnish messages in the settings: the default (English) text.
    assert found["Nobody Oy"].startswith("Dear Aino,")


def test_pre_due_reminder_uses_the_language_and_its_date():
    found = messages([item("García S.L.", -3, 100.00, language="es", contact="Ana")])
    assert "3 de abril de 2026" in found["García S.L."]


def test_pre_due_and_reminder_dates_in_german_and_french():
    found = messages(
        [
            item("Müller AG", -3, 100.00, language="de", contact="Max"),
            item("Dupont SA", 2, 100.00, language="fr", contact="Claire"),
        ]
    )
    assert "am 3. April 2026 fällig wird" in found["Müller AG"]
    assert "était due le 29 mars 2026" in found["Dupont SA"]


def test_a_clerk_adds_a_language_in_the_settings():
    found = messages(
        [item("Virtanen Oy", 15, 100.00, language="fi", contact="Aino")],
        messages={"fi": {"notice": "Hyvä {{ contact }}, {{ amount }}."}},
        letters={"locales": {"fi": "fi_FI"}},
    )
    assert found["Virtanen Oy"].replace("\xa0", " ") == "Hyvä Aino, 100,00 €."
