"""Email drafts and SMS texts: written with the letters, parsed back with the std library."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from receivables.core import sms

from messages_support import (
    AS_OF,
    EMAIL_COLUMN,
    RULES,
    drafts_by_address,
    read_eml,
    sheet_row,
    write_ledger,
)
from workbook_dump import dump_sheets


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    return write_ledger(tmp_path / "ledger.xlsx")


def _letters(run_json, ledger: Path, folder: Path, *extra) -> dict:
    return run_json("letters", ledger, "-d", folder, "--as-of", AS_OF.isoformat(), *extra)


def test_one_draft_per_customer_with_an_address_in_its_language(tmp_path, ledger, run_json):
    folder = tmp_path / "out"
    report = _letters(run_json, ledger, folder)
    drafts = drafts_by_address(folder)
    assert set(drafts) == {
        "penzugy@kovacs.example.hu",
        "zhangwei@trade.example.cn",
        "jose.garcia@garcia.example.es",
        "accounts@smith.example.co.uk",
    }
    log = {(row["customer"], row["channel"]): row for row in report["letters"]}
    expected = {
        # address: (display name, customer, words of the subject, invoice, amount in the body)
        "penzugy@kovacs.example.hu": (
            "Kovács Anna",
            "Kovács és Társa Kft.",
            "Emlékeztető",
            "KT-101",
            "125\u00a0000",
        ),
        "zhangwei@trade.example.cn": (
            "张伟",
            "上海张伟贸易有限公司",
            "付款提醒",
            "SH-2026-77",
            "8,800.00",
        ),
        "jose.garcia@garcia.example.es": (
            "José García",
            "García Hermanos S.L.",
            "rogamos pago",
            "F-2026-0042",
            "1.234,56",
        ),
        "accounts@smith.example.co.uk": (
            "Smith & Sons <UK>",
            "Smith & Sons <UK>",
            "please pay by",
            "SS-9",
            "2,500.00",
        ),
    }
    for address, (name, customer, words, invoice, money) in expected.items():
        path, message = drafts[address]
        (to,) = message["To"].addresses
        assert to.display_name == name  # non-ASCII names survive the round trip
        assert words in message["Subject"] and customer not in ("", None)
        assert message["X-Unsent"] == "1"
        assert str(message["From"]) == ("Cobros Suministros <cobros@suministros.example.es>")
        assert message["Date"] is not None
        row = log[(customer, "email")]
        assert row["message_id"] == message["Message-ID"] and row["status"] == "draft"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert invoice in text and money in text and invoice in html
        assert text.count("\n") > 5
        # The raw file is RFC 5322: CRLF lines, encoded headers, nothing over 998 octets.
        raw = path.read_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_cover_message_carries_the_letter_intact(tmp_path, ledger, run_json):
    folder = tmp_path / "out"
    report = _letters(run_json, ledger, folder)
    drafts = drafts_by_address(folder)
    for address, customer in (
        ("jose.garcia@garcia.example.es", "García Hermanos S.L."),
        ("accounts@smith.example.co.uk", "Smith & Sons <UK>"),
    ):
        _path, message = drafts[address]
        letter = next(r for r in report["letters"] if r["customer"] == customer)
        assert letter["channel"] == "email" and letter["file"].endswith(".docx")
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == Path(letter["file"]).name
        assert attachment.get_content_type().endswith("wordprocessingml.document")
        assert attachment.get_content() == Path(letter["file"]).read_bytes()
        assert letter["reference"] in message["Subject"]
    # HTML is autoescaped: the customer's name is text, never markup.
    html = drafts["accounts@smith.example.co.uk"][1].get_body(("html",)).get_content()
    assert "Smith &amp; Sons &lt;UK&gt;" in html and "<UK>" not in html
    text = drafts["accounts@smith.example.co.uk"][1].get_body(("plain",)).get_content()
    assert "Dear Smith & Sons <UK>," in text


def test_no_email_address_goes_to_exceptions_with_the_cell_and_the_letter_by_post(
    tmp_path, ledger, run_json
):
    out = tmp_path / "out.xlsx"
    report = run_json(
        "process",
        ledger,
        "-o",
        out,
        "--letters",
        tmp_path / "letters",
        "--as-of",
        AS_OF.isoformat(),
    )
    by_where = {issue["where"]: issue["message"] for issue in report["issues"]}
    nomail = f"Ledger!{EMAIL_COLUMN}{sheet_row('nomail')}"
    badmail = f"Ledger!{EMAIL_COLUMN}{sheet_row('badmail')}"
    assert "no email address" in by_where[nomail] and "post" in by_where[nomail]
    assert "'bob at example' is not an email address" in by_where[badmail]
    letter = next(r for r in report["letters"] if r["customer"] == "Sin Correo S.A.")
    assert (letter["channel"], letter["message_id"], letter["status"]) == ("letter", "", "")
    assert not any(
        r["customer"] == "Bad Mail Ltd" and r["channel"] == "email" for r in report["letters"]
    )
    sheets = dump_sheets(out, ["Letters Log", "Exceptions", "SMS"])
    header = sheets["Letters Log"][0]
    assert header[-3:] == ["Channel", "Message-ID", "Status"]
    assert len(sheets["Letters Log"]) == 1 + len(report["letters"])
    assert any(row[1] == nomail for row in sheets["Exceptions"])


def test_no_email_option_writes_no_drafts(tmp_path, ledger, run_json):
    folder = tmp_path / "out"
    report = _letters(run_json, ledger, folder, "--no-email", "--no-sms")
    assert not (folder / "email").exists() and not (folder / "sms").exists()
    assert {row["channel"] for row in report["letters"]} == {"letter"}


def test_drafts_are_stable_and_stages_limit_them(tmp_path, ledger, run_json):
    first = _letters(run_json, ledger, tmp_path / "a")
    again = _letters(run_json, ledger, tmp_path / "b")
    ids = sorted(r["message_id"] for r in first["letters"] if r["message_id"])
    assert ids == sorted(r["message_id"] for r in again["letters"] if r["message_id"])
    only = _letters(run_json, ledger, tmp_path / "c", "--stages", "pre_due")
    assert {(r["customer"], r["channel"]) for r in only["letters"]} == {
        ("Kovács és Társa Kft.", "email"),
        ("Kovács és Társa Kft.", "sms"),
    }


def test_sms_sheet_and_gateway_csv(tmp_path, ledger, run_json):
    out = tmp_path / "out.xlsx"
    folder = tmp_path / "letters"
    run_json("process", ledger, "-o", out, "--letters", folder, "--as-of", AS_OF.isoformat())
    rows = dump_sheets(out, ["SMS"])["SMS"]
    header = rows[0]
    records = {r[header.index("Customer")]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(records) == {"Kovács és Társa Kft.", "上海张伟贸易有限公司"}
    kovacs, zhang = records["Kovács és Társa Kft."], records["上海张伟贸易有限公司"]
    assert (kovacs["Number"], kovacs["Country"]) == ("+36301234567", "HU")
    assert (zhang["Number"], zhang["Country"]) == ("+8613800138000", "CN")
    assert zhang["Encoding"] == "UCS-2" and "已到期" in zhang["Text"]
    assert "125 000" in kovacs["Text"]  # babel's no-break spaces are plain ones in a text
    for record in records.values():
        encoding, parts = sms.segments(record["Text"])
        assert (record["Encoding"], record["Segments"]) == (encoding, parts)
        assert 1 <= parts <= 2 and record["Characters"] == sms.length(record["Text"])
    with (folder / "sms" / "sms.csv").open(encoding="utf-8", newline="") as stream:
        lines = list(csv.DictReader(stream))
    assert {line["number"] for line in lines} == {"+36301234567", "+8613800138000"}
    assert all(line["message"] == records[line["customer"]]["Text"] for line in lines)


def test_a_broken_or_unsafe_template_stops_before_any_draft(tmp_path, ledger, cli):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email_pre_due.hu.j2").write_text(
        '{% extends "email_base.hu.j2" %}{% block subject %}'
        "{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}",
        encoding="utf-8",
    )
    rules = tmp_path / "templates.toml"
    rules.write_text(f'[letters]\ntemplates_dir = "{templates.as_posix()}"\n', encoding="utf-8")
    folder = tmp_path / "out"
    code, _out, err = cli(
        "letters", ledger, "-d", folder, "--as-of", AS_OF.isoformat(), "--rules", rules
    )
    assert code == 1 and "email_pre_due.hu.j2" in err and "unsafe" in err
    assert not (folder / "email").exists()


def test_eml_round_trip_keeps_an_attachment_byte_for_byte(tmp_path):
    from receivables.messages import email_bytes

    message = read_eml_from_parts(tmp_path)
    again = read_eml(tmp_path / "x.eml")
    assert again["Subject"] == message["Subject"]
    assert [p.get_content() for p in again.iter_attachments()] == [bytes(range(256)) * 4]
    assert email_bytes(again).count(b"\r\n") > 5


def read_eml_from_parts(tmp_path: Path):
    """A message with a long mixed-script subject and a binary attachment, written to disk."""
    from email import policy
    from email.message import EmailMessage

    from receivables.messages import email_bytes

    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = (
        "RC-261031-UTC3KZCT: rogamos pago antes del 10 de noviembre de 2026 – García 张伟 Kovács"
    )
    message["To"] = "García <g@example.es>"
    message.set_content("hola")
    message.add_attachment(
        bytes(range(256)) * 4, maintype="application", subtype="octet-stream", filename="data.bin"
    )
    (tmp_path / "x.eml").write_bytes(email_bytes(message))
    assert read_eml(tmp_path / "x.eml")["Subject"] == str(message["Subject"])
    return message


def test_settings_are_checked_and_the_password_is_never_one():
    from receivables.core.messages import parse_message_settings
    from receivables.core.rules import load_rules

    rules, load_issues = load_rules(
        {
            "email": {
                "password": "x",
                "port": "smtp",
                "security": "tls",
                "sender": "not an address",
                "hostname": "h",
                "stages": ["pre_due", "nope"],
                "rate_per_minute": 0,
            },
            "sms": {"max_segments": 0},
        }
    )
    email, sms_settings, issues = parse_message_settings(rules)
    text = " | ".join(issue.message for issue in [*load_issues, *issues])
    assert "email.password" in text and "RECEIVABLES_SMTP_PASSWORD" in text
    assert "password" not in rules.section("email")
    assert "email.port" in text and "email.security" in text and "email.sender" in text
    assert "email.hostname" in text and "'nope' is not a stage" in text
    assert "sms.max_segments" in text and email.rate_per_minute == 0
    assert (email.port, email.security, email.sender, email.stages) == (
        587,
        "starttls",
        "",
        ("pre_due",),
    )
    assert sms_settings.max_segments == 2 and not hasattr(email, "password")


def test_messages_follow_the_dunning_decisions(tmp_path, run_json):
    from messages_support import CUSTOMERS, row

    (tmp_path / "rules.toml").write_text(
        RULES + '\n[[dunning.blocks]]\ncustomer = "Kovács és Társa Kft."\n'
        'reason = "payment plan agreed"\n',
        encoding="utf-8",
    )
    zhang, garcia = list(CUSTOMERS["zhang"]), list(CUSTOMERS["garcia"])
    rows = [
        CUSTOMERS["kovacs"],
        zhang,
        garcia,
        # A credit note of García's offsets nothing at a message stage; Zhang's own
        # credit note is netted: 8,800.00 - 3,000.00 is what the reminder asks for.
        row(
            "上海张伟贸易有限公司",
            "CN-1",
            20,
            -3000.0,
            "CNY",
            "张伟",
            "zhangwei@trade.example.cn",
            "138 0013 8000",
            "",
            "zh",
            "中国",
        ),
        # A customer whose credits cover the reminder gets none.
        row(
            "Netted Ltd",
            "NT-1",
            2,
            100.0,
            "EUR",
            "Ann",
            "ann@netted.example",
            "",
            "1 Road\nLeeds",
            "en",
            "GB",
        ),
        row(
            "Netted Ltd",
            "NT-C",
            30,
            -100.0,
            "EUR",
            "Ann",
            "ann@netted.example",
            "",
            "1 Road\nLeeds",
            "en",
            "GB",
        ),
    ]
    ledger = write_ledger(tmp_path / "ledger.xlsx", rows)
    folder = tmp_path / "out"
    report = _letters(run_json, ledger, folder)
    messaged = {(r["customer"], r["channel"]) for r in report["letters"]}
    assert not any(name == "Kovács és Társa Kft." for name, _channel in messaged)
    assert not any(name == "Netted Ltd" for name, _channel in messaged)
    assert ("上海张伟贸易有限公司", "email") in messaged
    messages = " | ".join(i["message"] for i in report["issues"])
    assert "dunning block: payment plan agreed" in messages
    assert "no message to Netted Ltd (EUR): net claim" in messages
    draft = drafts_by_address(folder)["zhangwei@trade.example.cn"][1]
    text = draft.get_body(("plain",)).get_content()
    assert "贷项: -¥3,000.00" in text and "应付金额: ¥5,800.00" in text
    assert "¥5,800.00" in draft["Subject"]

    # The same run again: the letters folder's log is the history; nothing is repeated,
    # and the messages in it are not mistaken for letters.
    again = _letters(run_json, ledger, folder)
    assert again["letters"] == []
    assert not any("not read as dunning history" in i["message"] for i in again["issues"])
