"""Word keeps the sign-off with the body: the layout properties of the rendered letters.

LibreOffice's page breaks are checked on PDF pages (test_letters_language.py); Word lays
out the same .docx itself, following the paragraph and row properties the templates set.
Each packaged template is rendered in every packaged language by the real letter writer,
and the XML of the rendered file is read back: the last paragraph of the body and the
whole sign-off sit in a table row that cannot split (w:cantSplit), every line of it is
kept whole (w:keepLines) and with the next (w:keepNext) up to the company name that ends
the chain, and the invoice table's rows never break across pages, its header repeated.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from receivables import letters as shell
from receivables.core.rules import load_rules

from letters_support import AS_OF, classified_frame, item

LANGUAGES = ("en", "es", "hu", "zh", "de", "fr")
STAGE_DAYS = {"reminder": 15, "formal_demand": 45, "final_demand": 75, "legal_demand": 120}
COMPANY = {
    "name": "Northwind Trading S.L.",
    "address": "Gran Vía 28\n28013 Madrid",
    "country": "ES",
    "iban": "ES91 2100 0418 4502 0005 1332",
    "signatory": "Ana López",
    "signatory_title": "Credit Controller",
}
# The first line of the close in each language.
CLOSES = {
    "en": ("Yours sincerely,", "Yours faithfully,"),
    "es": ("Atentamente,",),
    "hu": ("Tisztelettel:",),
    "zh": ("此致",),
    "de": ("Mit freundlichen Grüßen",),
    "fr": ("Veuillez agréer",),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> list[tuple[str, str, Path]]:
    rules, issues = load_rules({"company": COMPANY, "dunning": {"allow_skip": True}})
    assert issues == []
    records = []
    for language in LANGUAGES:
        for template, days in STAGE_DAYS.items():
            customer = f"{language}-{template}"
            for n in range(3):
                records.append(item(customer, days + n, 120.0 + n, language=language))
    out = tmp_path_factory.mktemp("word")
    result = shell.write_letters(classified_frame(records, rules), rules, AS_OF, out)
    letters = [(r.template, r.language, out / r.file) for r in result.records]
    assert {(t, lang) for t, lang, _ in letters} == {
        (t, lang) for t in STAGE_DAYS for lang in LANGUAGES
    }
    return letters


def _on(properties, tag: str) -> bool:
    """Whether the on/off property ``tag`` is set and not switched off."""
    if properties is None:
        return False
    node = properties.find(qn(tag))
    return node is not None and node.get(qn("w:val"), "true") not in ("false", "0", "off")


def _text(paragraph) -> str:
    return "".join(t.text or "" for t in paragraph.iter(qn("w:t"))).strip()


def _rows(table):
    return table.findall(qn("w:tr"))


def test_the_sign_off_shares_an_unsplittable_row_with_the_body(rendered):
    for template, language, path in rendered:
        body = Document(str(path)).element.body
        block = body.findall(qn("w:tbl"))[-1]
        rows = _rows(block)
        assert len(rows) == 1, path
        assert _on(rows[0].find(qn("w:trPr")), "w:cantSplit"), path
        paragraphs = [p for p in block.iter(qn("w:p")) if _text(p)]
        texts = [_text(p) for p in paragraphs]
        close = next(i for i, t in enumerate(texts) if t.startswith(CLOSES[language]))
        # A sentence of the body comes first, then the close, the signatory, the company.
        assert close >= 1 and len(texts[0]) >= 20, (path, texts)
        assert texts[-1] == COMPANY["name"], (path, texts)
        assert COMPANY["signatory"] in texts, (path, texts)
        for paragraph in paragraphs:
            assert _on(paragraph.find(qn("w:pPr")), "w:keepLines"), (path, _text(paragraph))
        for paragraph in paragraphs[:-1]:
            assert _on(paragraph.find(qn("w:pPr")), "w:keepNext"), (path, _text(paragraph))
        # Nothing follows the block but the section properties: the signature ends the letter.
        after = block.getnext()
        while after is not None and after.tag == qn("w:p") and not _text(after):
            after = after.getnext()
        assert after is None or after.tag == qn("w:sectPr"), (template, language)


def test_invoice_rows_never_break_and_the_header_repeats(rendered):
    for _template, _language, path in rendered:
        body = Document(str(path)).element.body
        tables = [
            t for t in body.findall(qn("w:tbl")) if t.find(f".//{qn('w:tblHeader')}") is not None
        ]
        assert len(tables) == 1, path
        rows = _rows(tables[0])
        # Header, three invoices, subtotal.
        assert len(rows) == 5, path
        assert _on(rows[0].find(qn("w:trPr")), "w:tblHeader"), path
        for row in rows:
            assert _on(row.find(qn("w:trPr")), "w:cantSplit"), path
        # The table's heading stays with the table.
        heading = tables[0].getprevious()
        while heading is not None and not _text(heading):
            heading = heading.getprevious()
        assert _on(heading.find(qn("w:pPr")), "w:keepNext"), (path, _text(heading))
