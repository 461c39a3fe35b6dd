"""PDF letters through a real LibreOffice: page counts and text checked with poppler.

Skipped only when LibreOffice is not installed (CI installs it, and poppler-utils for
``pdftotext`` / ``pdfinfo``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from receivables import letters as shell
from receivables.core import letters as core
from receivables.core.rules import load_rules

from letters_support import AS_OF, classified_frame, item

pytestmark = pytest.mark.skipif(shell.find_soffice() is None, reason="LibreOffice not installed")


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE).group(1))


def spaces(text: str) -> str:
    """No-break and narrow spaces (babel puts them in amounts) as plain spaces, as in PDF."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def pdf_text(path: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return spaces(done.stdout)


@pytest.fixture(scope="module")
def pdf_letters(tmp_path_factory):
    assert shutil.which("pdftotext") and shutil.which("pdfinfo"), "install poppler-utils"
    # Letters at the level the days have reached (dunning.allow_skip): every template.
    rules, _ = load_rules(
        {
            "company": {"name": "Acme Supplies S.L.", "iban": "ES91 2100"},
            "dunning": {"allow_skip": True},
        }
    )
    records = [
        item("Smith & Sons <UK>", 75, 1234.56, language="en"),
        item("García Hermanos S.L.", 120, 999.00, language="es"),
        item("Kovács Kft.", 45, 2500.00, language="hu"),
    ]
    # A customer with 45 overdue invoices: the table runs over a page break.
    records += [
        item("Long Ledger Ltd", 100 + n, 10.0 + n, invoice=f"LL-{n:03d}") for n in range(45)
    ]
    frame = classified_frame(records, rules)
    out = tmp_path_factory.mktemp("pdf")
    result = shell.write_letters(frame, rules, AS_OF, out, pdf=True)
    jobs = {job.customer: job for job in core.letter_jobs(frame, rules, AS_OF)[0]}
    return out, result, jobs


def test_every_letter_has_its_pdf(pdf_letters):
    out, result, _jobs = pdf_letters
    assert len(result.records) == 4
    assert [i for i in result.issues if "PDF" in i.message] == []
    for record in result.records:
        assert record.pdf == record.file.replace(".docx", ".pdf")
        assert (out / record.pdf).read_bytes().startswith(b"%PDF")


def test_pdf_text_and_pages(pdf_letters):
    out, result, jobs = pdf_letters
    by_customer = {record.customer: record for record in result.records}
    for customer in ("Smith & Sons <UK>", "García Hermanos S.L.", "Kovács Kft."):
        record = by_customer[customer]
        text = pdf_text(out / record.pdf)
        assert pdf_pages(out / record.pdf) == 1, customer
        assert customer in text
        assert spaces(jobs[customer].context["total_claim"]) in text
        assert record.reference in text
        assert "Page 1 / 1" in text or "Página 1 / 1" in text or "Oldal 1 / 1" in text
        assert "{{" not in text and "{%" not in text
    assert "Letter before claim" not in pdf_text(out / by_customer["Smith & Sons <UK>"].pdf)
    assert "Requerimiento de pago previo a la reclamación judicial" in pdf_text(
        out / by_customer["García Hermanos S.L."].pdf
    )


def test_long_invoice_table_spans_pages_with_repeated_header(pdf_letters):
    out, result, jobs = pdf_letters
    record = next(r for r in result.records if r.customer == "Long Ledger Ltd")
    path = out / record.pdf
    pages = pdf_pages(path)
    assert pages >= 2
    text = pdf_text(path)
    assert f"Page {pages} / {pages}" in text
    # Every invoice is listed once, and the header row is repeated on the next page.
    assert len(re.findall(r"\bLL-\d{3}\b", text)) == 45
    assert text.count("Invoice") >= 2
    assert spaces(jobs["Long Ledger Ltd"].context["total_claim"]) in text
