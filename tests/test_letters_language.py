"""Every word in the letter's language, no stray tags, no page with only the sign-off.

Each template is rendered in every packaged language and converted to PDF by a real
LibreOffice; the text comes back through ``pdftotext``. The letterhead and the signature
must hold no word of another language, no tag may survive, and the last page must carry
some of the letter's body, not only the close and the signature. The invoice count is
varied so that the sign-off meets the page break at some point.

Skipped when LibreOffice is not installed (CI installs it, poppler-utils and
fonts-noto-cjk for the Chinese letters).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from receivables import letters as shell
from receivables.core.rules import load_rules

from letters_support import AS_OF, classified_frame, docx_text, item

pytestmark = pytest.mark.skipif(shell.find_soffice() is None, reason="LibreOffice not installed")

LANGUAGES = ("en", "es", "hu", "zh", "de", "fr")
STAGE_DAYS = {"reminder": 15, "formal_demand": 45, "final_demand": 75, "legal_demand": 120}
COMPANY = {
    "name": "Northwind Trading S.L.",
    "address": "Gran Vía 28\n28013 Madrid",
    "country": "ES",
    "city": "Madrid",
    "iban": "ES91 2100 0418 4502 0005 1332",
    "bic": "CAIXESBBXXX",
    "bank_name": "Banco Ejemplo",
}
# Words that belong to one language only: the sender's country, the department that
# signs, the close and the footer's page label.
# ("Page" is English and French alike, so the English close stands for English.)
MARKERS = {
    "en": ("Spain", "Credit Control Department", "Yours"),
    "es": ("España", "Departamento de Gestión de Cobros", "Atentamente", "Página"),
    "hu": ("Spanyolország", "Követeléskezelési osztály", "Tisztelettel", "Oldal"),
    "zh": ("西班牙", "信用管理部", "此致", "页码"),
    "de": ("Spanien", "Forderungsmanagement", "Mit freundlichen Grüßen", "Seite"),
    "fr": ("Espagne", "Service recouvrement", "Veuillez agréer", "Tél."),
}
# The sign-off lines of each language (close, department, company).
SIGN_OFF = {
    "en": ("Yours sincerely,", "Yours faithfully,", "Credit Control Department"),
    "es": ("Atentamente,", "Departamento de Gestión de Cobros"),
    "hu": ("Tisztelettel:", "Követeléskezelési osztály"),
    "zh": ("此致", "敬礼！", "信用管理部"),
    "de": ("Mit freundlichen Grüßen", "Forderungsmanagement"),
    "fr": ("Veuillez agréer", "Madame, Monsieur, l'expression", "Service recouvrement"),
}
# Invoice counts per letter: the table grows until the close meets the page break.
COUNTS = range(1, 13)


def pdf_pages(path: Path) -> list[str]:
    """The text of each page."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return [page for page in done.stdout.split("\f") if page.strip()]


def records() -> list[dict]:
    rows = []
    for language in LANGUAGES:
        for template, days in STAGE_DAYS.items():
            for count in COUNTS:
                customer = f"{language}-{template}-{count:02d}"
                contact = "Jane Roe" if count % 2 else None
                for n in range(count):
                    rows.append(
                        item(
                            customer,
                            days + n,
                            100.0 + n,
                            language=language,
                            invoice=f"{language.upper()}-{n:03d}",
                            contact=contact,
                        )
                    )
    return rows


@pytest.fixture(scope="module")
def letters(tmp_path_factory):
    assert shutil.which("pdftotext"), "install poppler-utils"
    # Letters at the level the days overdue reached: these ledgers have no history.
    rules, issues = load_rules({"company": COMPANY, "dunning": {"allow_skip": True}})
    assert issues == []
    frame = classified_frame(records(), rules)
    out = tmp_path_factory.mktemp("language")
    result = shell.write_letters(frame, rules, AS_OF, out, pdf=True)
    assert [i for i in result.issues if "PDF" in i.message] == []
    return out, result


def test_every_template_in_every_language(letters):
    _out, result = letters
    made = {(r.template, r.language) for r in result.records}
    assert made == {(t, lang) for t in STAGE_DAYS for lang in LANGUAGES}


def test_letterhead_and_signature_hold_no_other_language(letters):
    out, result = letters
    for record in result.records:
        text = docx_text(out / record.file)
        header, body, footer = text.split("\n---\n")
        signature = "\n".join(body.splitlines()[-4:])
        own = MARKERS[record.language]
        assert own[0] in header, (record.file, header)
        assert own[1] in signature, (record.file, signature)
        for language, words in MARKERS.items():
            if language == record.language:
                continue
            for word in words:
                assert word not in header + signature + footer, (record.file, word)


def test_salutation_and_close_match(letters):
    out, result = letters
    for record in result.records:
        body = docx_text(out / record.file)
        named = int(record.customer[-2:]) % 2 == 1  # odd counts have the contact Jane Roe
        if record.language == "en":
            if named:
                assert "Dear Jane Roe," in body
                assert "Yours sincerely," in body and "Yours faithfully," not in body
            else:
                assert "Dear Sir or Madam," in body and "Yours faithfully," in body
        elif record.language == "de":
            greeting = "Guten Tag Jane Roe," if named else "Sehr geehrte Damen und Herren,"
            assert greeting in body and "Mit freundlichen Grüßen" in body, record.file
        elif record.language == "fr":
            # The formal close repeats the salutation word for word.
            assert "\nMadame, Monsieur,\n" in body, record.file
            assert "Veuillez agréer, Madame, Monsieur, l'expression" in body, record.file


def test_no_tag_survives_and_no_sentence_is_said_twice(letters):
    out, result = letters
    for record in result.records:
        text = " ".join(pdf_pages(out / record.pdf))
        assert not re.search(r"\{\{|\}\}|\{%|%\}|\{#", text), record.pdf
        assert "a(z)" not in text and "A(z)" not in text
        lines = [
            line.strip()
            for line in docx_text(out / record.file).splitlines()
            if len(line.strip()) > 40
        ]
        assert len(lines) == len(set(lines)), record.file


def test_no_page_holds_only_the_sign_off(letters):
    out, result = letters
    for record in result.records:
        pages = pdf_pages(out / record.pdf)
        last = pages[-1].splitlines()
        # Drop the letterhead (up to its contact line), the footer and the sign-off.
        body = [line.strip() for line in last if line.strip()]
        body = [
            line
            for line in body
            if not line.startswith(COMPANY["name"])
            and not any(word in line for word in SIGN_OFF[record.language])
            and not line.startswith(("Gran Vía 28", "28013 Madrid"))
            and line not in MARKERS[record.language]
            and "Madrid" not in line
        ]
        assert body, (record.pdf, len(pages), pages[-1])


def test_chinese_letters_carry_a_cjk_font_and_chinese_money_and_dates(letters):
    out, result = letters
    record = next(r for r in result.records if r.language == "zh")
    # pdftotext spaces CJK from digits; the glyphs themselves must be there (a font).
    text = re.sub(r"\s+", "", " ".join(pdf_pages(out / record.pdf)))
    assert "2026年3月31日" in text and "逾期发票" in text and "€" in text
    with zipfile.ZipFile(shell.packaged_templates_dir() / "reminder.zh.docx") as docx:
        styles = docx.read("word/styles.xml").decode("utf-8")
    assert 'w:eastAsia="SimSun"' in styles
