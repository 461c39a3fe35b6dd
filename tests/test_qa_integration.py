"""Regressions found by using the product end to end (exports, letters, history, send)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from receivables.textformats import decode_text

from letters_support import docx_text

CP1252_LEDGER = [
    ["Kunde", "Rechnung", "Fällig", "Offen", "E-Mail", "Adresse", "Währung"],
    [
        "Müller & Söhne GmbH",
        "R-1",
        "31.07.2026",
        "1.234,56",
        "ap@mueller.example",
        "Hauptstr. 1, 10115 Berlin, Germany",
        "EUR",
    ],
    [
        "Müller & Söhne GmbH",
        "GS-7",
        "20.09.2026",
        "-300,00",
        "ap@mueller.example",
        "Hauptstr. 1, 10115 Berlin, Germany",
        "EUR",
    ],
    [
        "Señor Pérez S.L.",
        "R-4",
        "01.10.2026",
        "450,00",
        "",
        "Calle Mayor 5, 28013 Madrid, Spain",
        "EUR",
    ],
]


def test_short_cp1252_export_keeps_spanish_letters(tmp_path, run_json):
    """A short cp1252 export is not read as cp1250 (Señor would become Seńor)."""
    path = tmp_path / "ledger.csv"
    path.write_bytes("\r\n".join(";".join(r) for r in CP1252_LEDGER).encode("cp1252"))
    result = run_json("process", path, "--as-of", "2026-10-31")
    book = load_workbook(result["output"])
    names = {row[0] for row in book["ledger"].iter_rows(min_row=2, values_only=True)}
    assert "Señor Pérez S.L." in names
    assert any("CP1252" in issue["message"] for issue in result["issues"])


def test_central_european_exports_still_read_as_cp1250():
    """Hungarian and Polish text in cp1250 keeps its own letters (ő, ű, ł, ń)."""
    hungarian = "Kovács Kft.;Győr;Szőlő utca;Fűtés;tartozás\n"
    polish = "Łódź;Kraków;Gdańsk;Józef Wałęsa;ulica\n"
    assert decode_text(hungarian.encode("cp1250")) == (hungarian, "CP1250")
    assert decode_text(polish.encode("cp1250")) == (polish, "CP1250")
    spanish = "Señor Muñoz;España;Año;niño\n"
    assert decode_text(spanish.encode("cp1252")) == (spanish, "CP1252")


def _log_rows(path):
    sheet = load_workbook(path)["Letters Log"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:] if row[0]]


def test_second_letter_goes_by_email_with_the_history(tmp_path, cli):
    """The letter a dunning history escalates is emailed like the first one was."""
    from datetime import timedelta

    from conftest import AS_OF, ledger_row, write_ledger

    ledger = write_ledger(tmp_path / "ar.xlsx", [ledger_row("Acme Ltd", 20, 900.0)])
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    code, _, err = cli(
        "process", ledger, "-o", first, "--letters", tmp_path / "L1", "--as-of", AS_OF.isoformat()
    )
    assert code == 0, err
    later = AS_OF + timedelta(days=30)
    code, _, err = cli(
        "process",
        ledger,
        "-o",
        second,
        "--letters",
        tmp_path / "L2",
        "--as-of",
        later.isoformat(),
        "--history",
        first,
    )
    assert code == 0, err
    new = [row for row in _log_rows(second) if row["Date"].date() == later]
    assert [row["Template"] for row in new] == ["formal_demand"]
    assert new[0]["Channel"] == "email" and new[0]["Status"] == "draft"
    drafts = list((tmp_path / "L2" / "email").glob("*.eml"))
    assert [d.name for d in drafts] == [f"Acme_Ltd_{new[0]['Reference']}.eml"]


def test_cover_email_shows_the_credits_the_letter_nets(tmp_path, cli):
    """A letter netted by a credit note is covered by an email saying the credits and net."""
    from email import policy
    from email.parser import BytesParser

    from conftest import AS_OF, ledger_row, write_ledger

    ledger = write_ledger(
        tmp_path / "ar.xlsx",
        [ledger_row("Acme Ltd", 20, 900.0), ledger_row("Acme Ltd", 5, -300.0, invoice="CN-1")],
    )
    out = tmp_path / "out.xlsx"
    code, _, err = cli(
        "process", ledger, "-o", out, "--letters", tmp_path / "L", "--as-of", AS_OF.isoformat()
    )
    assert code == 0, err
    (log,) = _log_rows(out)
    assert log["Credits"] == 300.0 and log["Channel"] == "email"
    (draft,) = (tmp_path / "L" / "email").glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(draft.read_bytes())
    text = message.get_body(("plain",)).get_content()
    assert "Credits: -€300.00" in text
    # The net EUR 600.00 with its interest and the EUR 40 compensation: the letter's total.
    assert log["Total"] == pytest.approx(600 + log["Interest"] + 40)
    assert f"To pay: €{log['Total']:,.2f}" in text


def test_a_due_date_email_is_not_the_reminder_letter(tmp_path, cli):
    """The email of the stage "Reminder" (template email_reminder) is no reminder letter:
    when the item reaches the notice stage the reminder letter is still written."""
    from datetime import timedelta

    from conftest import AS_OF, ledger_row, write_ledger

    ledger = write_ledger(tmp_path / "ar.xlsx", [ledger_row("Delta", 2, 500.0)])
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    code, _, err = cli(
        "process", ledger, "-o", first, "--letters", tmp_path / "L1", "--as-of", AS_OF.isoformat()
    )
    assert code == 0, err
    assert [row["Template"] for row in _log_rows(first)] == ["email_reminder"]
    later = AS_OF + timedelta(days=10)
    code, _, err = cli(
        "process",
        ledger,
        "-o",
        second,
        "--letters",
        tmp_path / "L2",
        "--as-of",
        later.isoformat(),
        "--history",
        first,
    )
    assert code == 0, err
    new = [row for row in _log_rows(second) if row["Date"].date() == later]
    assert [row["Template"] for row in new] == ["reminder"]


def test_a_misspelt_or_bad_setting_is_not_said_in_another_settings_words(tmp_path, run_json):
    """A typo key is not described by its neighbour's comment, nor a key by its section's."""
    from conftest import ledger_row, write_ledger

    ledger = write_ledger(
        tmp_path / "ar.xlsx", [ledger_row("Acme Ltd", 20, 900.0)], sheet="Collection Plan"
    )
    (tmp_path / "rules.toml").write_text(
        '[general]\nlanugage = "en"\n\n[dunning]\nmin_interval_days = "soon"\n', encoding="utf-8"
    )
    result = run_json("process", ledger, "--as-of", "2026-10-31")
    book = load_workbook(result["output"])
    assert book.sheetnames[:2] == ["Collection Plan", "Collection Plan (2)"]
    messages = [row[2] for row in book["Exceptions"].iter_rows(min_row=2, values_only=True)]
    typo = next(m for m in messages if "general.lanugage" in m)
    assert typo.startswith("setting general.lanugage is not a known setting")
    bad = next(m for m in messages if "dunning.min_interval_days" in m)
    assert bad.startswith("Days between two letters to the same customer and currency")
    assert "Dunning history" not in bad


def test_a_bad_phone_number_is_told_its_own_country_code(tmp_path, run_json):
    """The advice for a number that is not valid names the customer's country code."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Customer", "Invoice", "Due Date", "Balance", "Currency", "Phone", "Region"])
    sheet.append(["Smith Ltd", "S-1", "2026-10-31", 500, "GBP", "07700 900123", "GB"])
    book.save(tmp_path / "ar.xlsx")
    result = run_json(
        "process", tmp_path / "ar.xlsx", "--as-of", "2026-10-31", "--letters", tmp_path / "L"
    )
    (issue,) = [i["message"] for i in result["issues"] if "no SMS to Smith Ltd" in i["message"]]
    assert "not a phone number in GB" in issue and "(+44 ...)" in issue


def test_ordinal_sign_in_a_header_does_not_turn_a_spanish_export_central_european(
    tmp_path, run_json
):
    """The header "Nº cliente" reads in cp1250 as "Nş cliente": a sign beside a letter is
    no word, so a Spanish cp1252 export keeps "Señor" (not "Seńor", a customer of its own)."""
    rows = [
        ["Cliente", "Nº cliente", "Factura", "Vencimiento", "Moneda", "Pendiente", "Dirección"],
        ["Café Señor SL", "10005", "5-01", "14/02/2026", "EUR", "1.235,56", "Calle Mayor 9"],
        ["Café Señor SL", "10005", "5-02", "17/03/2026", "EUR", "1.236,56", "Calle Mayor 9"],
        ["Acme GmbH", "10001", "1-02", "17/03/2026", "EUR", "1.236,56", "Hauptstr 1"],
    ]
    text = "\r\n".join(";".join(row) for row in rows) + "\r\n"
    assert decode_text(text.encode("cp1252")) == (text, "CP1252")
    path = tmp_path / "AR_2026-04.csv"
    path.write_bytes(text.encode("cp1252"))
    result = run_json("process", path, "--as-of", "2026-04-30")
    book = load_workbook(result["output"])
    names = {row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert names == {"Café Señor SL", "Acme GmbH"}
    assert result["customers"] == 2


def test_central_european_words_still_win_over_western_signs():
    """A Polish cp1250 export with "Nr" and "£"-free amounts stays Polish, and one whose
    only non-ASCII byte is a sign reads as cp1252."""
    polish = "Klient;Nr;Miasto\nZakład Łódź;7;Gdańsk\n"
    assert decode_text(polish.encode("cp1250")) == (polish, "CP1250")
    sign = "Customer;Nº;Amount\nAcme;1ª;£1,234.56\n"
    assert decode_text(sign.encode("cp1252")) == (sign, "CP1252")


def _plain_text(eml: Path) -> str:
    message = BytesParser(policy=policy.default).parse(eml.open("rb"))
    return message["Subject"] + "\n" + message.get_body(("plain",)).get_content()


def test_cover_email_in_the_fallback_language_writes_its_figures_in_that_language(tmp_path, cli):
    """A team's own Italian letter (templates_dir) is dated and priced in Italian; its cover
    email (no Italian email templates: English) quotes the claim and the reply-by date as
    English text, not "1.335,70 €" and "29 ottobre 2026"."""
    import shutil

    import receivables.letter_templates as shipped

    own = tmp_path / "our templates"
    own.mkdir()
    shutil.copy(Path(shipped.__file__).parent / "reminder.en.docx", own / "reminder.it.docx")
    (tmp_path / "rules.toml").write_text(
        f"[letters]\ntemplates_dir = {str(own)!r}\n", encoding="utf-8"
    )
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(["Customer", "Invoice", "Due Date", "Currency", "Balance", "Address", "Email"])
    sheet.append(
        ["Rossi SpA", "A-1", date(2026, 9, 30), "EUR", 1000.0, "Via Roma 1, Milano", "a@rossi.it"]
    )
    sheet.append(["Rossi SpA", "A-2", date(2026, 10, 2), "EUR", 250.5, "Via Roma 1", "a@rossi.it"])
    sheet["H1"], sheet["H2"], sheet["H3"] = "Language", "it", "it"
    book.save(tmp_path / "ar.xlsx")
    code, _, err = cli(
        "process", tmp_path / "ar.xlsx", "--letters", tmp_path / "L", "--as-of", "2026-10-15"
    )
    (letter,) = (tmp_path / "L" / "notice").glob("*.docx")
    assert "ottobre" in docx_text(letter)
    assert code == 0, err
    # EU rate 2.40 % + 8 from 2026-07-01: 15 and 13 days of interest, EUR 40 per invoice.
    interest = (
        Decimal("1000") * Decimal("0.104") * 15 / 365
        + Decimal("250.50") * Decimal("0.104") * 13 / 365
    )
    claim = Decimal("1250.50") + interest.quantize(Decimal("0.01")) + 80
    (eml,) = (tmp_path / "L" / "email").glob("*.eml")
    text = _plain_text(eml)
    assert f"€{claim:,.2f}" in text
    assert "ottobre" not in text and "October" in text
    assert not re.search(r"\d+,\d\d\s*€", text), text


def test_cover_email_with_credits_asks_for_what_the_letter_claims(tmp_path, cli):
    """Credits beside interest: the cover's "To pay" is the letter's total claim (net
    principal + interest + compensation), not the net principal alone."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Customer", "Invoice", "Due Date", "Currency", "Balance", "Address", "Email"])
    sheet.append(["Brit Ltd", "B-1", date(2026, 8, 1), "GBP", 2400.0, "1 High St", "a@brit.test"])
    sheet.append(["Brit Ltd", "CN-1", date(2026, 8, 20), "GBP", -400.0, "1 High St", "a@brit.test"])
    book.save(tmp_path / "ar.xlsx")
    code, _, err = cli(
        "process", tmp_path / "ar.xlsx", "--letters", tmp_path / "L", "--as-of", "2026-08-31"
    )
    assert code == 0, err
    # UK: base 3.75 % + 8 on the net GBP 2,000.00 for 30 days; GBP 70 below GBP 10,000.
    interest = (Decimal("2000") * Decimal("0.1175") * 30 / 365).quantize(Decimal("0.01"))
    charges = interest + 70
    (eml,) = (tmp_path / "L" / "email").glob("*.eml")
    text = _plain_text(eml)
    assert "Credits: -£400.00" in text
    assert f"Interest and compensation: £{charges:,.2f}" in text
    assert f"To pay: £{2000 + charges:,.2f}" in text
    assert f"is £{2000 + charges:,.2f}" in text


def test_history_payments_of_an_export_without_a_paid_column(tmp_path):
    """A month exported with Amount and Open Balance only (an aged report) was paid the
    difference: the History books each part payment once, in the month it was made."""
    from receivables.batch import BatchOptions, run_batch

    header = ["Customer", "Invoice", "Due Date", "Currency", "Amount", "Paid", "Balance"]
    months = {
        # 31 Aug: both invoices open, K-2 part paid (the paid column says so).
        "AR_2026-08.xlsx": [
            ["Kappa Kft", "K-1", date(2026, 8, 10), "EUR", 1000.0, 0.0, 1000.0],
            ["Kappa Kft", "K-2", date(2026, 8, 20), "EUR", 500.0, 100.0, 400.0],
        ],
        # 30 Sep, no paid column: K-1 paid 600, K-2 paid 150 more.
        "AR_2026-09.xlsx": [
            ["Kappa Kft", "K-1", date(2026, 8, 10), "EUR", 1000.0, None, 400.0],
            ["Kappa Kft", "K-2", date(2026, 8, 20), "EUR", 500.0, None, 250.0],
        ],
        # 31 Oct, with the paid column again: K-1 paid 50 more, K-2 unchanged.
        "AR_2026-10.xlsx": [
            ["Kappa Kft", "K-1", date(2026, 8, 10), "EUR", 1000.0, 650.0, 350.0],
            ["Kappa Kft", "K-2", date(2026, 8, 20), "EUR", 500.0, 250.0, 250.0],
        ],
    }
    folder = tmp_path / "in"
    folder.mkdir()
    for name, rows in months.items():
        book = Workbook()
        sheet = book.active
        paid_column = name != "AR_2026-09.xlsx"
        sheet.append([h for h in header if paid_column or h != "Paid"])
        for row in rows:
            sheet.append(
                [v for h, v in zip(header, row, strict=True) if paid_column or h != "Paid"]
            )
        book.save(folder / name)
    run_batch(BatchOptions(in_dir=folder, out_dir=tmp_path / "out", jobs=1))
    history = load_workbook(tmp_path / "out" / "Batch Summary.xlsx")["History"]
    rows = list(history.iter_rows(values_only=True))
    column = {name: i for i, name in enumerate(rows[0])}
    payments = {
        row[column["Month"]]: row[column["Payments"]]
        for row in rows[1:]
        if row[column["Customer"]] == "Kappa Kft"
    }
    assert payments["2026-09"] == pytest.approx(600 + 150)
    assert payments["2026-10"] == pytest.approx(50)


def _set_status(workbook: Path, customer: str, status: str) -> None:
    """Type ``status`` into the Letters Log rows of ``customer`` (a clerk's edit)."""
    book = load_workbook(workbook)
    sheet = book["Letters Log"]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index("Customer")].value == customer:
            row[header.index("Status")].value = status
    book.save(workbook)


@pytest.mark.parametrize("where", ["workbook", "letters folder"])
def test_send_leaves_out_the_draft_of_a_cancelled_letter(tmp_path, cli, where):
    """A letter cancelled in the Letters Log (the workbook kept, or the letters folder's
    log) counts as never sent: `send` neither sends nor marks its email draft."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Customer", "Invoice", "Due Date", "Currency", "Balance", "Address", "Email"])
    sheet.append(["Alpha SL", "A-1", date(2026, 9, 20), "EUR", 800.0, "C/ Mayor 1", "a@alpha.es"])
    sheet.append(["Beta Ltd", "B-1", date(2026, 9, 20), "GBP", 900.0, "1 High St", "b@beta.test"])
    book.save(tmp_path / "ar.xlsx")
    out, letters = tmp_path / "out.xlsx", tmp_path / "L"
    code, _, err = cli(
        "process", tmp_path / "ar.xlsx", "-o", out, "--letters", letters, "--as-of", "2026-10-15"
    )
    assert code == 0, err
    _set_status(
        out if where == "workbook" else letters / "Letters Log.xlsx", "Alpha SL", "cancelled"
    )
    code, text, err = cli("send", letters, "--workbook", out)
    assert code == 0, err
    lines = [line for line in text.splitlines() if "@" in line]
    assert [line.split()[0] for line in lines if "a@alpha.es" in line] == ["cancelled"]
    assert [line.split()[0] for line in lines if "b@beta.test" in line] == ["would-send"]
    code, text, err = cli("send", letters, "--yes", "--mark-sent", "--workbook", out)
    assert code == 0, err
    for log in (out, letters / "Letters Log.xlsx"):
        status = {row["Customer"]: row["Status"] for row in _log_rows(log)}
        assert status == {"Alpha SL": "cancelled", "Beta Ltd": "sent"}


def test_every_shipped_email_language_names_every_line_of_the_layout():
    """Each email_base.<language>.j2 fills the same blocks as the English one, so no
    language shows a line of the layout without its label (": €44.39")."""
    import receivables.letter_templates as shipped

    folder = Path(shipped.__file__).parent
    blocks = re.compile(r"\{%-?\s*block\s+(\w+)")
    english = set(blocks.findall((folder / "email_base.en.j2").read_text(encoding="utf-8")))
    assert "charges_label" in english
    for base in sorted(folder.glob("email_base.*.j2")):
        assert set(blocks.findall(base.read_text(encoding="utf-8"))) == english, base.name


def test_a_company_address_of_its_own_with_the_sample_city_is_a_warning(tmp_path, run_json):
    """A clerk who sets [company] name and address but not city and country would date the
    letters "Madrid, ..." and print "Spain" under a Dublin address: a warning says so."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Customer", "Invoice", "Due Date", "Currency", "Balance", "Address"])
    sheet.append(["Brit Ltd", "B-1", date(2026, 9, 20), "GBP", 900.0, "1 High St, London"])
    book.save(tmp_path / "ar.xlsx")
    rules = tmp_path / "ours.toml"
    rules.write_text(
        '[company]\nname = "Northwind Trading Ltd"\naddress = "1 Quay St\\nDublin D02"\n'
        'iban = "IE29AIBK93115212345678"\n',
        encoding="utf-8",
    )
    args = ("process", tmp_path / "ar.xlsx", "--letters", tmp_path / "L", "--as-of", "2026-10-15")
    found = run_json(*args, "--rules", rules)
    place = [i["message"] for i in found["issues"] if "sample city" in i["message"]]
    assert len(place) == 1
    assert "[company] city and [company] country" in place[0]
    # Once the city and country are the company's own, the warning is gone.
    rules.write_text(
        rules.read_text(encoding="utf-8") + 'city = "Dublin"\ncountry = "IE"\n', encoding="utf-8"
    )
    found = run_json(*args, "--rules", rules)
    assert not [i for i in found["issues"] if "sample city" in i["message"]]
