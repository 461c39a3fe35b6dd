"""``receivables send`` against a real SMTP server on localhost (aiosmtpd), never twice."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult

from receivables.core.messages import EmailSettings
from receivables.letters import find_soffice
from receivables.send import JOURNAL, Journal, load_drafts, send_drafts

from messages_support import (
    AS_OF,
    RULES,
    Inbox,
    Server,
    drafts_by_address,
    smtp_rules,
    write_ledger,
)


@pytest.fixture
def servers():
    started: list[Server] = []

    def start(handler, port=None, **kwargs) -> Server:
        server = Server(handler, port, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _settings(port: int, **extra) -> EmailSettings:
    values = dict(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="cobros@example.es",
        sender_name="Cobros",
        rate_per_minute=0,
        timeout=10,
    )
    values.update(extra)
    return EmailSettings(**values)


@pytest.fixture
def drafts(tmp_path, run_json):
    """A letters folder with four drafts (the customers with an address), as ``letters`` writes."""
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    folder = tmp_path / "letters"
    run_json("letters", ledger, "-d", folder, "--as-of", AS_OF.isoformat())
    return folder


def test_every_draft_arrives_as_written(drafts, servers):
    inbox = Inbox()
    server = servers(inbox)
    written = drafts_by_address(drafts)
    result = send_drafts(drafts, _settings(server.port), yes=True)
    assert result.ok and result.count("sent") == len(written) == 4
    received = inbox.parsed()
    assert len(received) == len(written)
    for recipients, message in received:
        (address,) = recipients
        _path, draft = written[address]
        assert [a.addr_spec for a in message["To"].addresses] == [address]
        assert message["To"].addresses[0].display_name == draft["To"].addresses[0].display_name
        assert message["Subject"] == draft["Subject"]
        assert message["Message-ID"] == draft["Message-ID"]
        assert message["X-Unsent"] is None and message["X-Receivables-Reference"] is None
        assert (
            message.get_body(("plain",)).get_content() == draft.get_body(("plain",)).get_content()
        )
        assert [p.get_content() for p in message.iter_attachments()] == [
            p.get_content() for p in draft.iter_attachments()
        ]
    # Sent once, journaled: a second run sends nothing.
    again = send_drafts(drafts, _settings(server.port), yes=True)
    assert again.count("skipped") == 4 and len(inbox.messages) == 4


def test_dry_run_sends_nothing_and_says_to_whom(drafts, servers, cli):
    inbox = Inbox()
    server = servers(inbox)
    rules = drafts.parent / "send.toml"
    rules.write_text(
        f'[email]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n'
        'sender = "cobros@example.es"\npassword = "hunter2"\n',
        encoding="utf-8",
    )
    code, out, err = cli("send", drafts, "--rules", rules)
    assert code == 0 and inbox.transactions == 0 and not inbox.messages
    assert "Dry run" in out and "jose.garcia@garcia.example.es" in out and "4 would-send" in out
    assert "email.password" in err and "RECEIVABLES_SMTP_PASSWORD" in err
    assert not (drafts / "email" / JOURNAL).exists()


def test_a_dropped_connection_then_a_rerun_sends_each_message_exactly_once(drafts, servers):
    inbox = Inbox(drop_at_mail=3)
    server = servers(inbox)
    first = send_drafts(drafts, _settings(server.port), yes=True)
    assert not first.ok and first.stopped
    assert first.count("sent") == 2 and first.count("failed") == 1 and first.count("pending") == 1
    server.stop()
    rerun_inbox = Inbox()
    rerun = servers(rerun_inbox, port=server.port)
    second = send_drafts(drafts, _settings(rerun.port), yes=True)
    assert second.ok and second.count("skipped") == 2 and second.count("sent") == 2
    counts = inbox.per_address()
    for address, count in rerun_inbox.per_address().items():
        counts[address] = counts.get(address, 0) + count
    assert counts == {address: 1 for address in drafts_by_address(drafts)}


def test_a_message_the_server_may_have_delivered_is_not_sent_again(drafts, servers):
    # The server takes message 2 and drops the line before saying so: unknown, not resent.
    inbox = Inbox(drop_after_data=2)
    server = servers(inbox)
    first = send_drafts(drafts, _settings(server.port), yes=True)
    assert first.count("sent") == 1 and first.count("unknown") == 1 and first.stopped
    server.stop()
    rerun_inbox = Inbox()
    servers(rerun_inbox, port=server.port)
    second = send_drafts(drafts, _settings(server.port), yes=True)
    assert second.count("unknown") == 1 and second.count("sent") == 2 and not second.ok
    counts = inbox.per_address()
    for address, count in rerun_inbox.per_address().items():
        counts[address] = counts.get(address, 0) + count
    assert counts == {address: 1 for address in drafts_by_address(drafts)}
    statuses = [
        json.loads(line)["status"]
        for line in (drafts / "email" / JOURNAL).read_text("utf-8").splitlines()
    ]
    assert statuses.count("sent") == 3 and statuses.count("data") == 4


def test_a_run_killed_before_the_end_of_data_is_sent_again(drafts, servers):
    # What a kill leaves in the journal: one message started, one handed over.
    messages = load_drafts(drafts)
    journal = Journal(drafts / "email" / JOURNAL)
    journal.record(messages[0].message_id, "sending")
    journal.record(messages[1].message_id, "sending")
    journal.record(messages[1].message_id, "data")
    with (drafts / "email" / JOURNAL).open("a", encoding="utf-8") as stream:
        stream.write('{"message_id": "cut sho')  # the line a kill cut short
    inbox = Inbox()
    server = servers(inbox)
    result = send_drafts(drafts, _settings(server.port), yes=True)
    status = {o.draft.message_id: o.status for o in result.outcomes}
    assert status[messages[0].message_id] == "sent"
    assert status[messages[1].message_id] == "unknown"
    assert len(inbox.messages) == len(messages) - 1
    resend = send_drafts(drafts, _settings(server.port), yes=True, resend_unknown=True)
    assert resend.count("sent") == 1 and resend.ok


def test_a_refused_recipient_is_failed_with_the_servers_reason(drafts, servers):
    class Picky(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.endswith(".cn"):
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    inbox = Picky()
    server = servers(inbox)
    result = send_drafts(drafts, _settings(server.port), yes=True)
    failed = [o for o in result.outcomes if o.status == "failed"]
    assert len(failed) == 1 and "550 5.1.1 mailbox unavailable" in failed[0].reason
    assert result.count("sent") == 3 and not result.ok


def test_login_with_the_password_from_the_environment(drafts, servers, monkeypatch):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    inbox = Inbox()
    server = servers(inbox, authenticator=authenticator, auth_require_tls=False)
    from receivables.send import run_send

    (drafts / "rules.toml").write_text(
        f'[email]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n'
        'user = "cobros"\nsender = "cobros@example.es"\nrate_per_minute = 0\n',
        encoding="utf-8",
    )
    result, _settings_, _warnings = run_send(
        drafts, yes=True, env={"RECEIVABLES_SMTP_PASSWORD": "s3cret"}
    )
    assert result.ok and seen == [(b"cobros", b"s3cret")] and len(inbox.messages) == 4
    from receivables.core.issues import InputError

    (drafts / "email" / JOURNAL).unlink()  # as if nothing had been sent yet
    (drafts / "Letters Log.xlsx").unlink()
    monkeypatch.setitem(sys.modules, "keyring", None)  # no keyring on this machine
    with pytest.raises(InputError, match="No SMTP password for cobros"):
        run_send(drafts, yes=True, env={})
    assert len(inbox.messages) == 4


def test_starttls_required_but_not_offered_is_a_clear_error(drafts, servers):
    from receivables.core.issues import InputError

    server = servers(Inbox())
    with pytest.raises(InputError, match="does not offer STARTTLS"):
        send_drafts(drafts, _settings(server.port, security="starttls"), yes=True)


def test_rate_limit_spaces_the_messages(drafts, servers):
    inbox = Inbox()
    server = servers(inbox)
    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    result = send_drafts(
        drafts,
        _settings(server.port, rate_per_minute=2),
        yes=True,
        sleep=sleep,
        clock=lambda: now[0],
    )
    assert result.ok and waits == [30.0, 30.0, 30.0]


@pytest.mark.skipif(
    find_soffice() is None or shutil.which("pdftotext") is None,
    reason="LibreOffice and pdftotext are needed to write and read PDF letters",
)
def test_pdf_letters_arrive_intact(tmp_path, servers, run_json):
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    folder = tmp_path / "letters"
    report = run_json("letters", ledger, "-d", folder, "--pdf", "--as-of", AS_OF.isoformat())
    inbox = Inbox()
    server = servers(inbox)
    assert send_drafts(folder, _settings(server.port), yes=True).ok
    letters = {r["reference"]: r for r in report["letters"] if r["pdf"]}
    attached = 0
    for _recipients, message in inbox.parsed():
        for part in message.iter_attachments():
            assert part.get_content_type() == "application/pdf"
            reference = next(ref for ref in letters if ref in part.get_filename())
            data = part.get_content()
            assert data == Path(letters[reference]["pdf"]).read_bytes()
            pdf = tmp_path / "received.pdf"
            pdf.write_bytes(data)
            text = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout
            assert reference in text and letters[reference]["customer"] in text
            attached += 1
    assert attached == 2  # García (notice) and Smith & Sons (demand)


def test_send_records_each_status_in_the_workbooks_letters_log(tmp_path, servers, cli, run_json):
    from workbook_dump import dump_sheets

    inbox = Inbox(drop_at_mail=3)
    server = servers(inbox)
    (tmp_path / "rules.toml").write_text(
        smtp_rules(server.port),
        encoding="utf-8",
    )
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    out, folder = tmp_path / "out.xlsx", tmp_path / "letters"
    run_json("process", ledger, "-o", out, "--letters", folder, "--as-of", AS_OF.isoformat())
    before = dump_sheets(out)

    def statuses():
        log = dump_sheets(out, ["Letters Log"])["Letters Log"]
        column = log[0].index("Status")
        return sorted(
            str(row[column]).split(":")[0]
            for row in log[1:]
            if row[log[0].index("Channel")] == "email"
        )

    assert statuses() == ["draft"] * 4
    code, output, _err = cli("send", folder, "--yes", "--workbook", out)
    assert code == 1 and "run the same command again" in output
    assert statuses() == ["draft", "failed", "sent", "sent"]
    server.stop()
    servers(Inbox(), port=server.port)
    code, output, _err = cli("send", folder, "--yes", "--workbook", out)
    assert code == 0, output
    assert statuses() == ["sent"] * 4
    after = dump_sheets(out)
    assert {name: rows for name, rows in after.items() if name != "Letters Log"} == {
        name: rows for name, rows in before.items() if name != "Letters Log"
    }
    log_before, log_after = before["Letters Log"], after["Letters Log"]
    status = log_before[0].index("Status")
    assert [row[:status] for row in log_after] == [row[:status] for row in log_before]
    # The letters folder's own log (the history of `receivables letters`) says so too.
    folder_log = dump_sheets(folder / "Letters Log.xlsx", ["Letters Log"])["Letters Log"]
    assert (
        sorted(
            row[status] for row in folder_log[1:] if row[folder_log[0].index("Channel")] == "email"
        )
        == ["sent"] * 4
    )


def test_drafts_sent_by_hand_are_marked_sent_without_sending(tmp_path, cli, run_json):
    from workbook_dump import dump_sheets

    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")  # no SMTP server at all
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    out, folder = tmp_path / "out.xlsx", tmp_path / "letters"
    run_json("process", ledger, "-o", out, "--letters", folder, "--as-of", AS_OF.isoformat())
    unsent = sorted((folder / "email").glob("*.eml"))[0]
    unsent.unlink()  # the clerk did not send this one
    code, output, _err = cli("send", folder, "--yes", "--mark-sent", "--workbook", out)
    assert code == 0 and "3 sent" in output
    log = dump_sheets(out, ["Letters Log"])["Letters Log"]
    status, channel = log[0].index("Status"), log[0].index("Channel")
    # The deleted draft was never sent: cancelled (tests/test_deleted_drafts.py).
    assert sorted(row[status] for row in log[1:] if row[channel] == "email") == [
        "cancelled",
        "sent",
        "sent",
        "sent",
    ]


def test_a_lost_journal_does_not_send_again_what_the_log_says_was_sent(tmp_path, servers, run_json):
    inbox = Inbox()
    server = servers(inbox)
    (tmp_path / "rules.toml").write_text(
        smtp_rules(server.port),
        encoding="utf-8",
    )
    ledger = write_ledger(tmp_path / "ledger.xlsx")
    folder = tmp_path / "letters"
    run_json("letters", ledger, "-d", folder, "--as-of", AS_OF.isoformat())
    from receivables.send import run_send

    assert run_send(folder, yes=True)[0].count("sent") == 4
    (folder / "email" / JOURNAL).unlink()  # lost: the folder's Letters Log still knows
    again, _settings_, _warnings = run_send(folder, yes=True)
    assert again.count("skipped") == 4 and len(inbox.messages) == 4


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A server TLS context for 127.0.0.1, and its CA trusted by this process only."""
    import ssl

    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return context, bundle


def test_starttls_and_ssl_check_the_servers_certificate(drafts, servers, certificate, monkeypatch):
    from receivables.core.issues import InputError

    context, bundle = certificate
    starttls_inbox = Inbox()
    starttls = servers(starttls_inbox, tls_context=context, require_starttls=True)
    ssl_inbox = Inbox()
    implicit = servers(ssl_inbox, ssl_context=context)
    # The certificate is not one the system trusts: no message goes in clear or unchecked.
    with pytest.raises(InputError, match="CERTIFICATE_VERIFY_FAILED"):
        send_drafts(drafts, _settings(starttls.port, security="starttls"), yes=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # trusted from here on
    assert send_drafts(drafts, _settings(starttls.port, security="starttls"), yes=True).ok
    assert len(starttls_inbox.messages) == 4
    (drafts / "email" / JOURNAL).unlink()  # the same drafts again, through the other port
    assert send_drafts(drafts, _settings(implicit.port, security="ssl"), yes=True).ok
    assert len(ssl_inbox.messages) == 4
