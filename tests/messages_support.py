"""A small multilingual ledger for the message tests, reading drafts back, and a real SMTP
server on localhost (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from openpyxl import Workbook

AS_OF = date(2026, 10, 31)
HEADER = [
    "Customer",
    "Invoice",
    "Invoice Date",
    "Due Date",
    "Currency",
    "Amount",
    "Balance",
    "Contact",
    "Email",
    "Phone",
    "Address",
    "Language",
    "Region",
]
EMAIL_COLUMN = "I"  # column of "Email" in HEADER
PHONE_COLUMN = "J"


def row(
    customer,
    invoice,
    days_overdue,
    balance,
    currency,
    contact,
    email,
    phone,
    address,
    language,
    region,
):
    """One ledger row due ``days_overdue`` days before AS_OF."""
    due = AS_OF - timedelta(days=days_overdue)
    return [
        customer,
        invoice,
        due - timedelta(days=30),
        due,
        currency,
        balance,
        balance,
        contact,
        email,
        phone,
        address,
        language,
        region,
    ]


# Customers at every kind of stage, in four languages, with non-ASCII names.
CUSTOMERS = {
    # pre_due (due in 3 days): email and SMS, Hungarian
    "kovacs": row(
        "Kovács és Társa Kft.",
        "KT-101",
        -3,
        125000.0,
        "HUF",
        "Kovács Anna",
        "penzugy@kovacs.example.hu",
        "06 30 123 4567",
        "Váci út 1\n1062 Budapest",
        "hu",
        "HU",
    ),
    # reminder (3 days overdue): email and SMS, Chinese
    "zhang": row(
        "上海张伟贸易有限公司",
        "SH-2026-77",
        3,
        8800.0,
        "CNY",
        "张伟",
        "zhangwei@trade.example.cn",
        "138 0013 8000",
        "上海市浦东新区世纪大道100号",
        "zh",
        "中国",
    ),
    # notice (15 days overdue, a letter): cover email with the letter, Spanish
    "garcia": row(
        "García Hermanos S.L.",
        "F-2026-0042",
        15,
        1234.56,
        "EUR",
        "José García",
        "jose.garcia@garcia.example.es",
        "612 34 56 78",
        "Calle Mayor 2\n28013 Madrid\nEspaña",
        "es",
        "",
    ),
    # demand (40 days): a letter; the customer's name must be escaped in HTML, English
    "smith": row(
        "Smith & Sons <UK>",
        "SS-9",
        40,
        2500.0,
        "GBP",
        "",
        "accounts@smith.example.co.uk",
        "07911 123456",
        "1 High Street\nLondon\nUnited Kingdom",
        "en",
        "",
    ),
    # final (70 days): no email address -> Exceptions, the letter goes by post
    "nomail": row(
        "Sin Correo S.A.",
        "SC-1",
        70,
        990.0,
        "EUR",
        "Ana Ruiz",
        "",
        "",
        "Calle Sol 3\nSevilla",
        "es",
        "ES",
    ),
    # reminder: an email that is not one -> Exceptions, no draft
    "badmail": row(
        "Bad Mail Ltd",
        "BM-1",
        2,
        50.0,
        "EUR",
        "Bob",
        "bob at example",
        "",
        "1 Road\nLeeds",
        "en",
        "GB",
    ),
}


def write_ledger(path: Path, rows=None) -> Path:
    """The ledger workbook on disk (sheet ``Ledger``, header in row 1)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    sheet.append(HEADER)
    for line in rows if rows is not None else CUSTOMERS.values():
        sheet.append(list(line))
    book.save(path)
    return path


def sheet_row(key: str) -> int:
    """The sheet row of a customer of CUSTOMERS in the ledger written by write_ledger."""
    return 2 + list(CUSTOMERS).index(key)


def read_eml(path: Path) -> EmailMessage:
    """A draft parsed back with the standard library."""
    return BytesParser(policy=policy.default).parsebytes(Path(path).read_bytes())


def drafts_by_address(folder: Path) -> dict[str, tuple[Path, EmailMessage]]:
    """Every draft of ``folder/email`` keyed by its (single) recipient address."""
    out = {}
    for path in sorted((folder / "email").glob("*.eml")):
        message = read_eml(path)
        (address,) = [a.addr_spec for a in message["To"].addresses]
        out[address] = (path, message)
    return out


RULES = """
[company]
name = "Suministros Ejemplo S.L."
email = "cobros@suministros.example.es"

[email]
sender_name = "Cobros Suministros"
"""


def smtp_rules(port: int, more: str = "") -> str:
    """RULES with the [email] settings of a plain local test server on ``port`` (no
    TLS, no rate limit), followed by ``more``."""
    return (
        RULES + f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        "rate_per_minute = 0\ntimeout = 10\n" + more
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts.

    ``drop_at_mail`` drops the connection when the Nth transaction starts (MAIL FROM, no
    message taken); ``drop_after_data`` accepts the Nth message and drops the connection
    instead of answering 250 (the client cannot know it was delivered).
    """

    def __init__(self, drop_at_mail: int | None = None, drop_after_data: int | None = None):
        self.messages: list[tuple[list[str], bytes]] = []
        self.transactions = 0
        self.drop_at_mail = drop_at_mail
        self.drop_after_data = drop_after_data

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.transactions += 1
        if self.transactions == self.drop_at_mail:
            server.transport.close()
            return "421 4.3.2 going away"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        if len(self.messages) == self.drop_after_data:
            server.transport.abort()
            return "250 never heard"
        return "250 Message accepted for delivery"

    def parsed(self):
        """(recipients, message) of every message received."""
        parser = BytesParser(policy=policy.default)
        return [(rcpts, parser.parsebytes(data)) for rcpts, data in self.messages]

    def per_address(self) -> dict[str, int]:
        """How many messages each recipient address received."""
        counts: dict[str, int] = {}
        for recipients, _data in self.messages:
            for address in recipients:
                counts[address] = counts.get(address, 0) + 1
        return counts


class Server:
    """A real SMTP server on 127.0.0.1, stopped when the test ends."""

    def __init__(self, handler, port: int | None = None, **kwargs):
        self.handler = handler
        self.port = port or _free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller._thread is not None:  # stopped already by the test
            self.controller.stop()
