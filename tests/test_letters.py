"""Demand letters: one per customer and currency, right figures, clean Word, checked templates.

Golden files under ``tests/golden/letters/`` hold the extracted text of every template in
every language; ``UPDATE_GOLDEN=1 pytest tests/test_letters.py`` rewrites them after an
intended change (review the diff before committing).
"""

from __future__ import annotations

import os
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from receivables import letters as shell
from receivables.core import letters as core
from receivables.core.classify import customer_summary
from receivables.core.dunning import parse_dunning
from receivables.core.issues import InputError, Severity
from receivables.core.rules import load_rules

from letters_support import AS_OF, classified_frame, docx_text, item

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "letters"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
BROKEN_CORPUS_TEMPLATE = HERE / "data" / "docxtpl" / "template_error_tpl.docx"

COMPANY = {
    "name": "Acme Supplies S.L.",
    "address": "Gran Vía 28\n28013 Madrid",
    "country": "ES",
    "city": "Madrid",
    "tax_id": "B12345678",
    "phone": "+34 910 000 000",
    "email": "cobros@acme.example",
    "website": "acme.example",
    "bank_name": "Banco Ejemplo",
    "iban": "ES91 2100 0418 4502 0005 1332",
    "bic": "CAIXESBBXXX",
    "signatory": "Ana López",
    "signatory_title": "Credit Controller",
}
LETTER_STAGES = {
    "notice": "reminder",
    "demand": "formal_demand",
    "final": "final_demand",
    "legal": "legal_demand",
}


@pytest.fixture(scope="module")
def rules():
    # Letters straight at the level the days have reached (dunning.allow_skip), so that
    # one ledger exercises every template; escalation is tested in test_dunning.py.
    rules, issues = load_rules({"company": COMPANY, "dunning": {"allow_skip": True}})
    assert issues == []
    return rules


def mixed_records() -> list[dict]:
    """Customers at every letter stage and the cases around them."""
    return [
        item("Smith & Sons <UK>", 75, 1234.56, language="en"),
        item("Smith & Sons <UK>", 21, 30.00, paid=10.00, language="en"),
        item("García Hermanos S.L.", 44, 999.00, language="Español"),
        item("Kovács Kft.", 120, 2500.00, language="magyar"),
        item("Kovács Kft.", 5, 100.00, language="magyar"),  # not overdue enough: reminder
        item("Notice Ltd", 15, 310.00),
        item("Multi Cur GmbH", 100, 500.00),
        item("Multi Cur GmbH", 40, 300.00, currency="GBP"),
        item("No Address Co", 100, 80.00, address=None, contact=None),
        item("Contact Only", 50, 60.00, address=None, contact="Jane Roe"),
        item("Disputed Co", 100, 70.00, disputed=True),
        item("Promise Co", 100, 70.00, promise_date=AS_OF + timedelta(days=3)),
        item("Fresh Co", -3, 90.00),
        item("Wang Trading", 12, 45.00, language="中文"),
        item("Müller AG", 12, 45.00, language="Deutsch"),
        item("Rossi S.p.A.", 12, 45.00, language="Italiano"),
        item("Dead Co", 800, 45.00),
    ]


@pytest.fixture(scope="module")
def written(rules, tmp_path_factory):
    """The mixed ledger's letters, written once for the tests that read them."""
    frame = classified_frame(mixed_records(), rules)
    out = tmp_path_factory.mktemp("letters")
    result = shell.write_letters(frame, rules, AS_OF, out)
    return frame, out, result


def expected_letters(frame, rules) -> dict[tuple[str, str], int]:
    """(customer, currency) -> overdue cents, from the plan's summary, for letter stages."""
    summary = customer_summary(frame, rules)
    # Every customer with an item at least at the first letter level by days (a Dead
    # account's letter is due all the same), whose claim net of credits is above the
    # minimum amount of its currency.
    dunning, _issues = parse_dunning(rules)
    first = rules.stage("notice").from_days
    return {
        (r.customer, r.currency): int(r.overdue_cents)
        for r in summary.itertuples()
        if r.overdue_cents > 0
        and r.oldest_days_overdue >= first
        and r.overdue_cents + r.credit_cents > dunning.minimum(r.currency)
    }


def test_one_letter_per_customer_and_currency_with_the_plans_totals(written, rules):
    frame, _out, result = written
    expected = expected_letters(frame, rules)
    del expected[("No Address Co", "EUR")]  # goes to Exceptions instead
    del expected[("Contact Only", "EUR")]  # a contact name is no postal address
    got = {(r.customer, r.currency): r.amount_cents for r in result.records}
    assert len(got) == len(result.records)
    assert got == expected
    assert ("Multi Cur GmbH", "GBP") in got and ("Multi Cur GmbH", "EUR") in got


def test_each_letter_names_the_customer_shows_its_total_and_has_no_tags(written, rules):
    _frame, out, result = written
    jobs, _ = core.letter_jobs(_frame, rules, AS_OF)
    totals = {(job.customer, job.currency): job.context["total_overdue"] for job in jobs}
    for record in result.records:
        text = docx_text(out / record.file)
        assert record.customer in text
        assert totals[(record.customer, record.currency)] in text
        assert record.reference in text
        for marker in ("{{", "}}", "{%", "%}", "{#"):
            assert marker not in text


def test_xml_is_escaped_and_well_formed(written):
    _frame, out, result = written
    smith = next(r for r in result.records if r.customer.startswith("Smith"))
    with zipfile.ZipFile(out / smith.file) as docx:
        for name in docx.namelist():
            if name.endswith(".xml") or name.endswith(".rels"):
                etree.fromstring(docx.read(name))
        body = docx.read("word/document.xml").decode("utf-8")
    assert "Smith &amp; Sons &lt;UK&gt;" in body
    assert "Smith & Sons <UK>" in Document(str(out / smith.file)).paragraphs[1].text


def test_letter_stage_template_language_and_folders(written):
    _frame, out, result = written
    by_customer = {(r.customer, r.currency): r for r in result.records}
    assert by_customer[("García Hermanos S.L.", "EUR")].language == "es"
    assert by_customer[("García Hermanos S.L.", "EUR")].template == "formal_demand"
    assert by_customer[("Kovács Kft.", "EUR")].language == "hu"
    assert by_customer[("Kovács Kft.", "EUR")].template == "legal_demand"
    assert by_customer[("Notice Ltd", "EUR")].template == "reminder"
    assert by_customer[("Multi Cur GmbH", "GBP")].template == "formal_demand"
    for record in result.records:
        path = out / record.file
        assert path.is_file()
        stage_folder = path.parent.name
        assert LETTER_STAGES[stage_folder] == record.template
        assert re.fullmatch(r"[\w.-]+_RC-260331-[A-Z2-7]{8}\.docx", path.name), path.name
    assert (
        out / "final" / f"Smith_Sons_UK_{by_customer[('Smith & Sons <UK>', 'EUR')].reference}.docx"
    ).is_file()
    # Nothing but letters in the folder: no temporary files left behind.
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == sorted(
        Path(r.file).name for r in result.records
    )


def test_missing_address_and_contact_go_to_exceptions(written):
    _frame, out, result = written
    assert "No Address Co" not in {r.customer for r in result.records}
    problems = [i for i in result.issues if "No Address Co" in i.message]
    assert len(problems) == 1 and "no postal address" in problems[0].message
    assert str(problems[0].where) == "10:10"  # its sheet row (rows start at 2)
    # A contact person is not an address: the same rule as the quality checks.
    assert "Contact Only" not in {r.customer for r in result.records}
    assert any(
        "Contact Only" in i.message and "no postal address" in i.message for i in result.issues
    )


def test_language_without_template_falls_back_to_english(written):
    _frame, _out, result = written
    rossi = next(r for r in result.records if r.customer == "Rossi S.p.A.")
    assert rossi.language == "en"
    assert any(i.severity == Severity.INFO and "'it'" in i.message for i in result.issues)
    # German is shipped: "Deutsch" gets a German letter.
    muller = next(r for r in result.records if r.customer == "Müller AG")
    assert muller.language == "de"
    wang = next(r for r in result.records if r.customer == "Wang Trading")
    assert wang.language == "zh"


def test_each_currency_under_its_own_law(written):
    _frame, _out, result = written
    # Multi Cur GmbH owes 500.00 EUR and 300.00 GBP: the GBP letter is under the UK Act
    # (GBP 40 below 1,000), the EUR one under the Directive (EUR 40).
    gbp = next(r for r in result.records if r.currency == "GBP")
    eur = next(r for r in result.records if r.customer == "Multi Cur GmbH" and r.currency == "EUR")
    assert gbp.compensation_cents == 4000 and gbp.interest_cents > 0
    assert eur.compensation_cents == 4000


def test_currency_without_compensation_is_reported(tmp_path):
    rules, issues = load_rules(
        {"company": COMPANY, "interest": {"by_currency": {"USD": "eu_directive"}}}
    )
    assert issues == []
    frame = classified_frame([item("Yankee Inc", 40, 300.00, currency="USD")], rules)
    jobs, found = core.letter_jobs(frame, rules, AS_OF)
    assert jobs[0].compensation_cents == 0 and jobs[0].interest_cents > 0
    assert any("USD" in i.message and "compensation" in i.message for i in found)


def test_interest_and_compensation_per_invoice_in_the_table(written, rules):
    frame, out, result = written
    jobs = {job.customer: job for job in core.letter_jobs(frame, rules, AS_OF)[0]}
    smith = jobs["Smith & Sons <UK>"]
    # 1,234.56 for 75 days and the 30.00 left of 40.00 for 21 days, at 2.15 + 8 = 10.15 %:
    # 123456 * 0.1015 * 75 / 365 = 2574.77 -> 2575; 3000 * 0.1015 * 21 / 365 = 17.52 -> 18.
    assert [i.interest.cents for i in smith.items] == [2575, 18]
    assert [i.compensation_cents for i in smith.items] == [4000, 4000]
    assert smith.claim_cents == 123456 + 3000 + 2575 + 18 + 8000
    record = next(r for r in result.records if r.customer == "Smith & Sons <UK>")
    assert (record.amount_cents, record.interest_cents, record.compensation_cents) == (
        126456,
        2593,
        8000,
    )
    text = docx_text(out / record.file)
    assert "SMI-075 | 15/01/2026 | 75 | 1,234.56 | 0.00 | 1,234.56 | 10.15% | 25.75 | 40.00" in text
    assert "SMI-021 | 10/03/2026 | 21 | 40.00 | 10.00 | 30.00 | 10.15% | 0.18 | 40.00" in text
    assert "Total due | €1,370.49" in text


def test_references_are_stable_and_unique(rules, written):
    frame, _out, result = written
    again, _ = core.letter_jobs(frame, rules, AS_OF)
    assert sorted(j.reference for j in again) == sorted(r.reference for r in result.records)
    assert len({r.reference for r in result.records}) == len(result.records)
    later = classified_frame(mixed_records(), rules, AS_OF + timedelta(days=1))
    moved, _ = core.letter_jobs(later, rules, AS_OF + timedelta(days=1))
    assert not {j.reference for j in moved} & {r.reference for r in result.records}
    assert core.reference_for("RC", "A", "EUR", "legal", AS_OF) == core.reference_for(
        "RC", "A", "EUR", "legal", AS_OF
    )
    assert core.reference_for("RC", "A", "EUR", "legal", AS_OF) != core.reference_for(
        "RC", "A", "EUR", "final", AS_OF
    )


def test_reply_by_is_in_working_days(written, rules):
    frame, _out, _result = written
    jobs = {job.customer: job for job in core.letter_jobs(frame, rules, AS_OF)[0]}
    # 31 March 2026 + 7 working days in Spain: 3 April is Good Friday (a national holiday),
    # 4-5 April a weekend -> 1, 2, 6, 7, 8, 9, 10 April.
    assert jobs["Kovács Kft."].reply_by == date(2026, 4, 10)
    assert jobs["Kovács Kft."].context["reply_by"] == "2026. április 10."
    # 10 working days for a formal demand: ... 13, 14, 15 April.
    assert jobs["García Hermanos S.L."].context["reply_by"] == "15 de abril de 2026"


def test_letters_log_rows(written):
    _frame, _out, result = written
    rows = [record.row() for record in result.records]
    assert all(tuple(row) == shell.LOG_COLUMNS for row in rows)
    assert len(rows) == len({row["Reference"] for row in rows})
    smith = next(row for row in rows if row["Customer"].startswith("Smith"))
    assert smith["Stage"] == "Final notice" and smith["Template"] == "final_demand"
    assert smith["Total"] == smith["Amount"] + smith["Interest"] + smith["Compensation"]
    assert smith["File"].startswith("final/") and smith["PDF"] == ""


def test_stage_filter_and_unknown_stage(rules, tmp_path):
    frame = classified_frame(mixed_records(), rules)
    result = shell.write_letters(frame, rules, AS_OF, tmp_path, stages=["legal", "Bogus"])
    assert {r.template for r in result.records} == {"legal_demand"}
    assert any("'Bogus'" in i.message and i.severity == Severity.ERROR for i in result.issues)
    jobs, _ = core.letter_jobs(frame, rules, AS_OF, stages=["Final notice"])
    assert {job.stage for job in jobs} == {"final"}


def test_pdf_without_libreoffice_is_a_clear_error(rules, tmp_path, monkeypatch):
    monkeypatch.setattr(shell, "find_soffice", lambda: None)
    frame = classified_frame(mixed_records(), rules)
    with pytest.raises(InputError, match="LibreOffice"):
        shell.write_letters(frame, rules, AS_OF, tmp_path / "out", pdf=True)
    assert not (tmp_path / "out").exists()


# ---- golden text of every template and language ------------------------------------------


GOLDEN_LANGUAGES = ("en", "es", "hu", "zh", "de", "fr")


def golden_records() -> list[dict]:
    records = []
    for language in GOLDEN_LANGUAGES:
        for days in (15, 45, 75, 120):
            customer = f"Golden {language.upper()} {days}"
            records.append(
                item(customer, days, 1234.56, language=language, customer_id=f"C-{language}-{days}")
            )
            records.append(
                item(
                    customer,
                    days - 9,
                    250.00,
                    paid=50.00,
                    language=language,
                    customer_id=f"C-{language}-{days}",
                )
            )
    return records


@pytest.fixture(scope="module")
def golden_letters(rules, tmp_path_factory):
    frame = classified_frame(golden_records(), rules)
    out = tmp_path_factory.mktemp("golden")
    result = shell.write_letters(frame, rules, AS_OF, out)
    return {(r.template, r.language): out / r.file for r in result.records}


@pytest.mark.parametrize("language", GOLDEN_LANGUAGES)
@pytest.mark.parametrize("template", list(LETTER_STAGES.values()))
def test_golden_text(golden_letters, template, language):
    text = docx_text(golden_letters[(template, language)])
    path = GOLDEN / f"{template}.{language}.txt"
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    assert path.is_file(), f"no golden file {path}: run with UPDATE_GOLDEN=1"
    assert text + "\n" == path.read_text(encoding="utf-8")


# ---- golden letters under each law, written in one run -----------------------------------


def law_records() -> list[dict]:
    """A ledger mixing EUR, GBP and HUF debts, each at the legal-demand level."""
    gbp = dict(currency="GBP", language="en", customer_id="C-GBP")
    huf = dict(currency="HUF", language="hu", customer_id="C-HUF")
    return [
        item("Golden EUR Ltd", 120, 1234.56, customer_id="C-EUR"),
        # One invoice at each UK compensation tier: below 1,000, below 10,000, from 10,000.
        item("Golden GBP Ltd", 120, 500.00, invoice="GB-500", **gbp),
        item("Golden GBP Ltd", 100, 5000.00, invoice="GB-5000", **gbp),
        item("Golden GBP Ltd", 95, 15000.00, invoice="GB-15000", **gbp),
        # Delays starting 2025-12-01 and 2025-12-31 run across 1 January 2026, at the MNB
        # fixings of those days (fx_day = "delay_start"): 380.50 and 385.40 HUF per EUR.
        item("Golden HUF Kft.", 121, 800000.00, invoice="HU-1130", **huf),
        item("Golden HUF Kft.", 91, 250000.00, invoice="HU-1230", **huf),
    ]


@pytest.fixture(scope="module")
def law_letters(tmp_path_factory):
    rules, issues = load_rules(
        {
            "company": COMPANY,
            "dunning": {"allow_skip": True},
            "interest": {"regimes": {"hu_ptk": {"fx_day": "delay_start"}}},
        }
    )
    assert issues == []
    frame = classified_frame(law_records(), rules)
    out = tmp_path_factory.mktemp("law")
    result = shell.write_letters(frame, rules, AS_OF, out)
    assert not [i for i in result.issues if "interest.rates" in i.message]
    return {r.currency: out / r.file for r in result.records}


def test_one_run_writes_each_currency_under_its_own_law(law_letters):
    assert set(law_letters) == {"EUR", "GBP", "HUF"}
    texts = {currency: docx_text(path) for currency, path in law_letters.items()}
    assert "Directive 2011/7/EU" in texts["EUR"] and "€40.00" in texts["EUR"]
    assert "Late Payment of Commercial Debts (Interest) Act 1998" in texts["GBP"]
    # GBP 40 + 70 + 100 = 210. Interest started in 2025-H2: the base rate of 30 June 2025,
    # 4.25 + 8 = 12.25 %, for the whole debt; GB-500: 50000 * 0.1225 * 120 / 365 = 2013.70.
    assert "£210.00" in texts["GBP"] and "12.25% | 20.14 | 40.00" in texts["GBP"]
    # HU-1130: 80000000 * 0.145 * 121 / 365 = 3845479 fillér; 40 EUR at 380.50 = 15 220.
    huf = re.sub(r"[\u00a0\u202f]", " ", texts["HUF"])  # babel groups with no-break spaces
    assert "14,50% | 38 455 | 15 220" in huf
    assert "6:155" in texts["HUF"] and "Directive" not in texts["HUF"]


@pytest.mark.parametrize(
    ("currency", "name"), [("GBP", "legal_demand.en"), ("HUF", "legal_demand.hu")]
)
def test_golden_text_under_each_law(law_letters, currency, name):
    text = docx_text(law_letters[currency])
    path = GOLDEN / f"{name}.{currency}.txt"
    if UPDATE_GOLDEN:
        path.write_text(text + "\n", encoding="utf-8")
    assert path.is_file(), f"no golden file {path}: run with UPDATE_GOLDEN=1"
    assert text + "\n" == path.read_text(encoding="utf-8")


# ---- letters that charge no interest say nothing of interest -------------------------------

# The word for interest in each language, as the final and legal demands would use it.
INTEREST_WORDS = {
    "en": "interest",
    "es": "interes",
    "hu": "kamat",
    "zh": "利息",
    "de": "zins",
    "fr": "intérêt",
}


@pytest.fixture(scope="module")
def interest_free_letters(rules, tmp_path_factory):
    """Final and legal demands to debtors no statutory interest applies to.

    A USD debt (no interest regime for the currency) and a consumer's EUR debt (the
    consumer rule charges nothing by default), in every language.
    """
    records = []
    for language in GOLDEN_LANGUAGES:
        for days in (75, 120):
            records.append(
                item(f"Dollar {language} {days}", days, 900.00, currency="USD", language=language)
            )
            records.append(
                item(
                    f"Consumer {language} {days}",
                    days,
                    900.00,
                    customer_type="consumer",
                    language=language,
                )
            )
    frame = classified_frame(records, rules)
    out = tmp_path_factory.mktemp("interest_free")
    result = shell.write_letters(frame, rules, AS_OF, out)
    return [(r.template, r.language, out / r.file) for r in result.records]


def test_a_letter_that_charges_no_interest_never_mentions_it(interest_free_letters):
    written = {(template, language) for template, language, _ in interest_free_letters}
    assert written == {
        (template, language)
        for template in ("final_demand", "legal_demand")
        for language in GOLDEN_LANGUAGES
    }
    for template, language, path in interest_free_letters:
        text = docx_text(path).lower()
        word = INTEREST_WORDS[language]
        assert word not in text, f"{template}.{language} mentions {word!r}:\n{text}"


# ---- template checks -------------------------------------------------------------------------


def make_template(path: Path, *paragraphs: str, table: list[str] | None = None) -> Path:
    """A small .docx with ``paragraphs``; ``^`` splits a paragraph into runs, as Word does."""
    document = Document()
    for text in paragraphs:
        paragraph = document.add_paragraph()
        for run in text.split("^"):
            paragraph.add_run(run)
    if table:
        grid = document.add_table(rows=len(table), cols=1)
        for row, text in zip(grid.rows, table, strict=True):
            row.cells[0].text = text
    document.save(path)
    return path


@pytest.mark.parametrize(
    ("paragraphs", "table", "expected"),
    [
        (
            ["Dear {{ customer_nme }},"],
            None,
            "unknown variable 'customer_nme' in {{ customer_nme }}",
        ),
        (["{{ customer|shout }}"], None, "unknown filter 'shout' in {{ customer|shout }}"),
        (["{% if customer %}Hello"], None, "syntax error in {% if customer %}"),
        (["{{ customer }"], None, "syntax error"),
        (
            ["{{ total_claim }}"],
            ["{%tr for item in items %}", "{{ item.balanse }}", "{%tr endfor %}"],
            "unknown item field 'balanse' in {{ item.balanse }}",
        ),
        (["{{r customer }}"], None, "needs rich text"),
    ],
)
def test_template_problems_name_the_file_and_the_tag(tmp_path, paragraphs, table, expected):
    path = make_template(tmp_path / "reminder.en.docx", *paragraphs, table=table)
    prepared, problems = shell.prepare_template(path)
    assert prepared is None
    assert len(problems) == 1
    assert problems[0].startswith("reminder.en.docx (word/document.xml): ")
    assert expected in problems[0]


def test_broken_corpus_template_gives_a_clean_error():
    prepared, problems = shell.prepare_template(BROKEN_CORPUS_TEMPLATE)
    assert prepared is None
    assert problems == [
        "template_error_tpl.docx (word/document.xml): syntax error in {% endif %}: "
        "Encountered unknown tag 'endif'."
    ]


def test_broken_template_stops_before_any_letter_is_written(rules, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("reminder", "formal_demand", "final_demand", "legal_demand"):
        make_template(templates / f"{name}.en.docx", "{{ customer }} {{ total_overdue }}")
    (templates / "final_demand.en.docx").write_bytes(BROKEN_CORPUS_TEMPLATE.read_bytes())
    make_template(templates / "legal_demand.en.docx", "{{ customer|shout }} {{ nope }}")
    frame = classified_frame(mixed_records(), rules)
    with pytest.raises(shell.LetterTemplateError) as caught:
        shell.write_letters(frame, rules, AS_OF, tmp_path / "out", templates_dir=templates)
    problems = caught.value.problems
    assert any(p.startswith("final_demand.en.docx") and "{% endif %}" in p for p in problems)
    assert any(p.startswith("legal_demand.en.docx") and "'shout'" in p for p in problems)
    assert any(p.startswith("legal_demand.en.docx") and "'nope'" in p for p in problems)
    assert isinstance(caught.value, InputError)
    assert not (tmp_path / "out").exists()


def test_tags_split_across_runs_filters_and_escaping(rules, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("reminder", "formal_demand", "final_demand", "legal_demand"):
        make_template(
            templates / f"{name}.en.docx",
            "{{ cust^omer }} owes {^{ overdue_cents|money }^}",  # split as Word often does
            "by {{ reply_by_iso|date('short') }}; {{ interest_cents|amount }} interest",
            "Address: {{ address }}",
        )
    records = [item("Ünal & Söhne <GmbH>", 50, 1000.00, address="Ring 1\nWien")]
    frame = classified_frame(records, rules)
    result = shell.write_letters(frame, rules, AS_OF, tmp_path / "out", templates_dir=templates)
    (record,) = result.records
    paragraphs = [p.text for p in Document(str(tmp_path / "out" / record.file)).paragraphs]
    assert paragraphs[0] == "Ünal & Söhne <GmbH> owes €1,000.00"
    assert paragraphs[1] == "by 15/04/2026; 13.90 interest"  # en_GB; 100000*.1015*50/365
    assert paragraphs[2] == "Address: Ring 1\nWien"  # a line break, not a new paragraph


def test_control_characters_from_excel_do_not_break_the_letter(rules, tmp_path):
    records = [item("Bad\x0bChars\x01 Ltd", 50, 100.0, address="Line 1\r\nLine 2\tBox 3")]
    result = shell.write_letters(classified_frame(records, rules), rules, AS_OF, tmp_path)
    (record,) = result.records
    with zipfile.ZipFile(tmp_path / record.file) as docx:
        body = docx.read("word/document.xml")
    etree.fromstring(body)  # well-formed
    text = docx_text(tmp_path / record.file)
    assert "BadChars Ltd" in text and "Line 1\nLine 2\tBox 3" in text


def test_pdf_chunks_stay_below_libreoffice_limit_and_use_the_cores():
    files = [Path(f"{n}.docx") for n in range(500)]
    chunks, processes = shell._pdf_plan(files, cpus=2)
    assert processes == 2 and [len(c) for c in chunks] == [50] * 10
    assert sum(chunks, []) == files
    chunks, processes = shell._pdf_plan(files[:30], cpus=2)
    assert processes == 1 and len(chunks) == 1
    chunks, processes = shell._pdf_plan(files * 2, cpus=1)
    assert processes == 1 and max(len(c) for c in chunks) <= shell.PDF_CHUNK


def test_packaged_templates_are_all_valid(written):
    _frame, _out, _result = written
    files = shell.template_files(shell.packaged_templates_dir())
    assert {(t, lang) for t in LETTER_STAGES.values() for lang in ("en", "es", "hu")} <= set(files)
    sample = core.letter_jobs(_frame, load_rules({"company": COMPANY})[0], AS_OF)[0][0].context
    assert shell.check_templates(shell.packaged_templates_dir(), sample) == []


def test_context_has_exactly_the_documented_keys(written, rules):
    frame, _out, _result = written
    readme = (shell.packaged_templates_dir() / "README.md").read_text(encoding="utf-8")
    for job in core.letter_jobs(frame, rules, AS_OF)[0]:
        assert tuple(job.context) == core.CONTEXT_KEYS
        assert all(tuple(entry) == core.ITEM_KEYS for entry in job.context["items"])
    for key in (*core.CONTEXT_KEYS, *core.ITEM_KEYS, *shell.FILTERS):
        assert f"`{key}`" in readme, key


# ---- messy ledgers ------------------------------------------------------------------------------


customers = st.sampled_from(["Alpha", "Beta & Co", "Gamma <Ltd>", "Delta", "Épsilon", "Zeta"])


@st.composite
def messy_records(draw):
    records = []
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        customer = draw(customers)
        balance = draw(st.sampled_from([0.0, 0.004, -25.0, 10.0, 999.99, 123456.78]))
        records.append(
            item(
                customer,
                draw(st.integers(min_value=-20, max_value=900)),
                balance,
                currency=draw(st.sampled_from(["EUR", "EUR", "GBP", "HUF"])),
                disputed=draw(st.booleans()),
                address=draw(st.sampled_from([None, "", "Street 1", "  "])),
                contact=draw(st.sampled_from([None, "", "Pat"])),
                language=draw(st.sampled_from([None, "es", "EN", "hu_HU", "xx", "Magyar"])),
                promise_date=draw(
                    st.sampled_from([None, AS_OF + timedelta(days=2), AS_OF - timedelta(days=2)])
                ),
            )
        )
    return records


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=messy_records())
def test_messy_ledgers_one_job_per_customer_and_currency(rules, records):
    frame = classified_frame(records, rules)
    jobs, issues = core.letter_jobs(frame, rules, AS_OF)
    expected = expected_letters(frame, rules)
    reachable = {
        key
        for key in expected
        if any(r["customer"] == key[0] and (r["address"] or "").strip() for r in records)
    }
    assert {(j.customer, j.currency) for j in jobs} == reachable
    assert len(jobs) == len(reachable)
    for job in jobs:
        assert job.overdue_cents == expected[(job.customer, job.currency)]
        assert job.overdue_cents == sum(i.balance_cents for i in job.items)
        assert job.template == LETTER_STAGES[job.stage]
        assert job.language in ("en", "es", "hu")
    unreachable = set(expected) - reachable
    assert len([i for i in issues if "no postal address" in i.message]) == len(unreachable)


def test_messy_workbooks_through_the_reader(rules, tmp_path):
    """The lead's messy ledgers (no address column): all letter customers go to Exceptions;
    with an address added, exactly one letter each, naming the customer and its total."""
    from receivables import pipeline

    import messy

    for language in ("es", "hu", "en"):
        ledger = messy.write_messy(tmp_path, language)
        report = pipeline.run(ledger.path, None, messy.AS_OF, write=False)
        ledger_rules, _ = pipeline.rules_for(ledger.path, None)
        frame = report.outcome.classified
        expected = expected_letters(frame, ledger_rules)
        assert expected, language
        result = shell.write_letters(frame, ledger_rules, messy.AS_OF, tmp_path / language)
        assert result.records == []
        assert len([i for i in result.issues if "no postal address" in i.message]) == len(expected)
        with_address = frame.assign(address="Street 1")
        result = shell.write_letters(
            with_address, ledger_rules, messy.AS_OF, tmp_path / f"{language}-2"
        )
        assert {(r.customer, r.currency): r.amount_cents for r in result.records} == expected
        jobs, _ = core.letter_jobs(with_address, ledger_rules, messy.AS_OF)
        totals = {(j.customer, j.currency): j.context["total_overdue"] for j in jobs}
        for record in result.records:
            text = docx_text(tmp_path / f"{language}-2" / record.file)
            assert record.customer in text
            assert totals[(record.customer, record.currency)] in text
            assert "{{" not in text and "{%" not in text
