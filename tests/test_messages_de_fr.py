"""German and French customers get their emails and SMS texts in their own language.

A real ledger on disk goes through ``receivables letters``: a German and a French
customer at each kind of message (a friendly reminder before the due date with its SMS, a
reminder on the due date with its SMS, a cover email with the letter attached). Every
draft is read back with the standard library: subject, greeting, table headers and
closing are in the customer's language, with no English word of the shared layout, and
the SMS texts fit two GSM-7 segments.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from receivables.core import sms

from messages_support import AS_OF, RULES, drafts_by_address, row, write_ledger

CUSTOMERS = [
    row("Müller Bau GmbH", "MB-1", -3, 1200.0, "EUR", "Max Müller", "max@mueller.example.de",
        "0151 23456789", "Hauptstraße 1\n10115 Berlin", "de", "DE"),
    row("Schmidt Handel AG", "SH-2", 2, 800.0, "EUR", "Eva Schmidt", "eva@schmidt.example.de",
        "0160 9876543", "Marktplatz 3\n80331 München", "de", "DE"),
    row("Weber Technik GmbH", "WT-3", 15, 2300.0, "EUR", "Jan Weber", "jan@weber.example.de",
        "", "Ringstraße 5\n50667 Köln", "de", "DE"),
    row("Dupont Frères SARL", "DF-1", -3, 900.0, "EUR", "Marie Dupont",
        "marie@dupont.example.fr", "06 12 34 56 78", "1 rue de la Paix\n75002 Paris", "fr",
        "FR"),
    row("Martin et Fils SA", "MF-2", 2, 450.0, "EUR", "Paul Martin", "paul@martin.example.fr",
        "06 98 76 54 32", "2 place Bellecour\n69002 Lyon", "fr", "FR"),
    row("Bernard Industrie SAS", "BI-3", 15, 3100.0, "EUR", "Luc Bernard",
        "luc@bernard.example.fr", "", "3 quai des Chartrons\n33000 Bordeaux", "fr", "FR"),
]  # fmt: skip

# Words of each language's shared email parts (greeting, closing, reference label; the
# HTML table's invoice header too); none of the other's may appear.
WORDS = {
    "de": ("Guten Tag", "Mit freundlichen Grüßen", "Unser Zeichen"),
    "fr": ("Bonjour", "Cordialement,", "Notre référence"),
}
HEADERS = {"de": "Rechnung", "fr": "Facture"}
ENGLISH = ("Dear ", "Kind regards", "Invoice", "Our reference", "please", "Please")
SUBJECTS = {
    "max@mueller.example.de": "Freundliche Erinnerung",
    "eva@schmidt.example.de": "Zahlungserinnerung",
    "jan@weber.example.de": "Bitte zahlen Sie bis zum",
    "marie@dupont.example.fr": "Rappel amical",
    "paul@martin.example.fr": "Relance de paiement",
    "luc@bernard.example.fr": "merci de régler avant le",
}


@pytest.fixture(scope="module")
def written(
    tmp_path_factory,
) -> Path:
    from click.testing import CliRunner

    from receivables.cli import main

    base = tmp_path_factory.mktemp("defr")
    (base / "rules.toml").write_text(RULES, encoding="utf-8")
    ledger = write_ledger(base / "ledger.xlsx", CUSTOMERS)
    folder = base / "letters"
    result = CliRunner().invoke(
        main, ["letters", str(ledger), "-d", str(folder), "--as-of", AS_OF.isoformat()]
    )
    assert result.exit_code == 0, result.output
    return folder


def test_each_email_is_in_the_customers_language(written):
    drafts = drafts_by_address(written)
    assert set(drafts) == set(SUBJECTS)
    for address, subject in SUBJECTS.items():
        _path, message = drafts[address]
        language = address.rsplit(".", 1)[1]
        assert subject in message["Subject"], (address, message["Subject"])
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for word in WORDS[language]:
            assert word in text and word in html.replace("&#39;", "'"), (address, word)
        assert f">{HEADERS[language]}<" in html, address
        other = "fr" if language == "de" else "de"
        for word in (*WORDS[other], *ENGLISH):
            assert word not in text, (address, word)


def test_letters_go_with_their_cover_in_the_same_language(written):
    drafts = drafts_by_address(written)
    for address in ("jan@weber.example.de", "luc@bernard.example.fr"):
        _path, message = drafts[address]
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename().endswith(".docx")
    letters = sorted((written / "notice").glob("*.docx"))
    assert [p.name.split("_")[0] for p in letters] == ["Bernard", "Weber"]


def test_sms_texts_in_german_and_french_fit_two_gsm_segments(written):
    with (written / "sms" / "sms.csv").open(encoding="utf-8", newline="") as stream:
        lines = {line["customer"]: line["message"] for line in csv.DictReader(stream)}
    assert set(lines) == {
        "Müller Bau GmbH",
        "Schmidt Handel AG",
        "Dupont Frères SARL",
        "Martin et Fils SA",
    }
    assert "fällig" in lines["Müller Bau GmbH"] and "Zeichen" in lines["Schmidt Handel AG"]
    assert "Réf." in lines["Dupont Frères SARL"] and "régler" in lines["Martin et Fils SA"]
    for text in lines.values():
        encoding, parts = sms.segments(text)
        assert encoding == "GSM-7" and parts <= 2, text
