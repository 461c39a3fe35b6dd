"""Generate the bundled workbooks: the receivables template and the sample ledger.

Run ``python workbook_templates/make_workbooks.py`` after changing this file; the outputs
are committed so that ``receivables demo`` needs nothing else. Deterministic: a fixed
seed and fixed document properties, so a rerun reproduces the same cells.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.table import Table, TableStyleInfo

HERE = Path(__file__).resolve().parent
# The sample is aged at the last day that every packaged rate table it needs covers, so
# that its letters are written under published rates only: the MNB base rate and EUR/HUF
# fixing for 1 July 2026 were not confirmed when the tables were last updated (see
# README, "The law of each letter"). Keep processor/demo.py SAMPLE_AS_OF the same.
SAMPLE_AS_OF = date(2026, 6, 30)
# The oldest forint debt of the sample falls due in the half-year of SAMPLE_AS_OF: the
# packaged MNB EUR/HUF table holds the fixing valid on its first day, not older ones.
HUF_MAX_DAYS = (SAMPLE_AS_OF - date(SAMPLE_AS_OF.year, 1 if SAMPLE_AS_OF.month < 7 else 7, 1)).days

HEADERS = [
    ("Customer", 28),
    ("Customer ID", 12),
    ("Invoice", 13),
    ("Invoice Date", 12),
    ("Due Date", 12),
    ("Terms (days)", 8),
    ("Currency", 9),
    ("Amount", 13),
    ("Paid", 13),
    ("Balance", 13),
    ("Owner", 14),
    ("Region", 12),
    ("Distance (km)", 10),
    ("Contact", 20),
    ("Phone", 16),
    ("Email", 28),
    ("Address", 40),
    ("Language", 9),
    ("Disputed", 9),
    ("Dispute Reason", 22),
    ("Promise Date", 12),
    ("Last Contact", 12),
    ("Notes", 30),
    ("Stage Override", 14),
]

CUSTOMERS = [
    # name, id, currency, language, region, km, contact, phone, email, address, owner
    (
        "Acme Industrial Ltd",
        "C1001",
        "GBP",
        "en",
        "UK",
        1450,
        "Sarah Jones",
        "+44 20 7946 0101",
        "accounts@acme-industrial.co.uk",
        "12 Wharf Road, London N1 7GR, United Kingdom",
        "Ana García",
    ),
    (
        "Ferretería Hermanos López S.L.",
        "C1002",
        "EUR",
        "es",
        "Madrid",
        12,
        "Javier López",
        "+34 912 345 678",
        "admin@ferreterialopez.es",
        "Calle Mayor 45, 28013 Madrid, España",
        "Ana García",
    ),
    (
        "Distribuciones Levante S.A.",
        "C1003",
        "EUR",
        "es",
        "Valencia",
        355,
        "María Ruiz",
        "+34 963 112 233",
        "pagos@dlevante.es",
        "Av. del Puerto 120, 46023 Valencia, España",
        "Luis Moreno",
    ),
    (
        "Budapesti Kereskedelmi Kft.",
        "C1004",
        "HUF",
        "hu",
        "Hungary",
        2480,
        "Kovács Anna",
        "+36 1 234 5678",
        "penzugy@bpker.hu",
        "Váci út 33, 1134 Budapest, Magyarország",
        "Péter Nagy",
    ),
    (
        "Nordic Timber AB",
        "C1005",
        "EUR",
        "en",
        "Sweden",
        2900,
        "Erik Lund",
        "+46 8 123 456",
        "ap@nordictimber.se",
        "Hamngatan 8, 111 47 Stockholm, Sweden",
        "Luis Moreno",
    ),
    (
        "Smith & Sons <UK>",
        "C1006",
        "GBP",
        "en",
        "UK",
        1500,
        "Tom Smith",
        "+44 161 496 0000",
        "tom@smithandsons.co.uk",
        "4 Mill Lane, Manchester M1 2AB, United Kingdom",
        "Ana García",
    ),
    (
        "Construcciones Norte S.L.",
        "C1007",
        "EUR",
        "es",
        "Bilbao",
        395,
        "Iñaki Etxeberria",
        "+34 944 556 677",
        "facturas@cnorte.es",
        "Gran Vía 12, 48001 Bilbao, España",
        "Luis Moreno",
    ),
    (
        "Global Parts Inc.",
        "C1008",
        "USD",
        "en",
        "USA",
        6000,
        "Linda Park",
        "+1 312 555 0142",
        "payables@globalparts.com",
        "200 W Madison St, Chicago, IL 60606, USA",
        "Chen Wei",
    ),
    (
        "Talleres Gómez",
        "C1009",
        "EUR",
        "es",
        "Madrid",
        25,
        "Pedro Gómez",
        "+34 915 998 877",
        "",
        "Calle Alcalá 210, 28028 Madrid, España",
        "Ana García",
    ),
    (
        "Pannon Agro Zrt.",
        "C1010",
        "HUF",
        "hu",
        "Hungary",
        2400,
        "Szabó Gábor",
        "+36 72 555 123",
        "szamla@pannonagro.hu",
        "Fő utca 1, 7621 Pécs, Magyarország",
        "Péter Nagy",
    ),
    (
        '=HYPERLINK("http://example.com")',
        "C1011",
        "EUR",
        "en",
        "Online",
        0,
        "Web Shop",
        "+44 7700 900123",
        "shop@example.com",
        "1 Web Street, Dublin, Ireland",
        "Chen Wei",
    ),
    (
        "Hotel Mediterráneo S.A.",
        "C1012",
        "EUR",
        "es",
        "Málaga",
        530,
        "Lucía Fernández",
        "+34 952 111 222",
        "contabilidad@hotelmed.es",
        "Paseo Marítimo 5, 29016 Málaga, España",
        "Luis Moreno",
    ),
    (
        "Brightline Retail PLC",
        "C1013",
        "GBP",
        "en",
        "UK",
        1600,
        "James Carter",
        "+44 113 496 0555",
        "finance@brightline.co.uk",
        "88 Park Row, Leeds LS1 5HD, United Kingdom",
        "Ana García",
    ),
    (
        "Logística Express Ibérica",
        "C1014",
        "EUR",
        "es",
        "Zaragoza",
        315,
        "Raúl Sanz",
        "+34 976 334 455",
        "cobros@logexpress.es",
        "Calle Coso 99, 50001 Zaragoza, España",
        "Luis Moreno",
    ),
    (
        "Shanghai Precision Co.",
        "C1015",
        "USD",
        "en",
        "China",
        10300,
        "Wang Li",
        "+86 21 5555 0188",
        "finance@shprecision.cn",
        "88 Century Ave, Pudong, Shanghai, China",
        "Chen Wei",
    ),
    (
        "Dunaparti Vendéglő Bt.",
        "C1016",
        "HUF",
        "hu",
        "Hungary",
        2475,
        "Tóth Éva",
        "+36 1 555 0199",
        "",
        "",
        "Péter Nagy",
    ),
    (
        "Café Central",
        "C1017",
        "EUR",
        "es",
        "Madrid",
        3,
        "Carmen Díaz",
        "+34 914 443 322",
        "cafe@centralmadrid.es",
        "Plaza del Ángel 10, 28012 Madrid, España",
        "",
    ),
    (
        "Alpine Outdoor GmbH",
        "C1018",
        "EUR",
        "en",
        "Austria",
        1800,
        "Lukas Huber",
        "+43 1 234 5678",
        "buchhaltung@alpine-outdoor.at",
        "Mariahilfer Str. 50, 1070 Wien, Österreich",
        "Chen Wei",
    ),
    (
        "Papelería El Sol",
        "C1019",
        "EUR",
        "es",
        "Sevilla",
        530,
        "Rosa Martín",
        "+34 954 221 100",
        "elsol@papeleria.es",
        "Calle Sierpes 40, 41004 Sevilla, España",
        "Luis Moreno",
    ),
    (
        "Metro Foods Ltd",
        "C1020",
        "GBP",
        "en",
        "UK",
        1450,
        "Priya Shah",
        "+44 20 7946 0777",
        "ap@metrofoods.co.uk",
        "3 Market Square, London E1 6AN, United Kingdom",
        "Ana García",
    ),
    (
        "Clínica Dental Sonrisa",
        "C1021",
        "EUR",
        "es",
        "Madrid",
        8,
        "Dr. Alberto Vidal",
        "+34 917 775 544",
        "admin@sonrisa.es",
        "Calle Serrano 77, 28006 Madrid, España",
        "Ana García",
    ),
    (
        "Tisza Logisztika Kft.",
        "C1022",
        "HUF",
        "hu",
        "Hungary",
        2550,
        "Horváth Péter",
        "+36 62 444 555",
        "info@tiszalog.hu",
        "Kossuth tér 2, 6720 Szeged, Magyarország",
        "Péter Nagy",
    ),
    (
        "Oakridge Consulting LLC",
        "C1023",
        "USD",
        "en",
        "USA",
        5800,
        "Mark Evans",
        "+1 617 555 0199",
        "billing@oakridge.com",
        "1 Federal St, Boston, MA 02110, USA",
        "Chen Wei",
    ),
    (
        "Bodegas Rioja Alta",
        "C1024",
        "EUR",
        "es",
        "La Rioja",
        330,
        "Álvaro Ortiz",
        "+34 941 310 346",
        "admin@riojaalta.es",
        "Av. de Vizcaya 8, 26200 Haro, España",
        "Luis Moreno",
    ),
]

# Oldest days overdue per customer, by payer profile: good payers, slow payers, late
# payers, bad payers and a few lost causes; together every stage of the ladder shows.
PROFILES = [
    -20,
    5,
    20,
    45,
    75,
    150,
    500,
    900,
    25,
    50,
    80,
    120,
    -3,
    14,
    40,
    200,
    66,
    95,
    30,
    10,
    60,
    300,
    35,
    400,
]
ITEM_DAYS = [-25, -10, -3, 0, 5, 12, 20, 35, 50, 70, 95, 130, 200, 320, 420, 800]


def _write_header(sheet, bold=True):
    fill = PatternFill("solid", fgColor="1F4E78")
    for column, (name, width) in enumerate(HEADERS, start=1):
        cell = sheet.cell(row=1, column=column, value=name)
        cell.font = Font(bold=bold, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.freeze_panes = "A2"


def _settings_sheet(book):
    sheet = book.create_sheet("Collections Settings")
    sheet.append(["Section", "Key", "Value", "What it means"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rows = [
        ("general", "default_currency", '"EUR"', "Currency when a row names none"),
        ("general", "country", '"ES"', "Country whose holidays are skipped for action dates"),
        ("general", "language", '"es"', "Letter language when a customer has none"),
        ("company", "name", '"Suministros Ejemplo S.L."', "Your company, on letters and messages"),
    ]
    for row in rows:
        sheet.append(list(row))
    for letter, width in zip("ABCD", (14, 22, 34, 60), strict=True):
        sheet.column_dimensions[letter].width = width


def _fixed_properties(book):
    stamp = datetime(2026, 1, 1, 0, 0, 0)
    book.properties.created = stamp
    book.properties.modified = stamp
    book.properties.creator = "Receivables Collections"
    book.properties.lastModifiedBy = "Receivables Collections"


def make_template(path: Path) -> None:
    """The empty template: the canonical header, a table, and a settings sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Receivables"
    _write_header(sheet)
    _settings_sheet(book)
    _fixed_properties(book)
    book.save(path)


def sample_rows(seed: int = 20261031) -> list[list]:
    """The sample ledger's rows: every stage and state present, several currencies."""
    rng = random.Random(seed)
    rows = []
    number = 24000
    for index, customer in enumerate(CUSTOMERS):
        count = rng.randint(6, 18)
        # Each customer pays in its own way: the oldest item it may have decides its stage.
        oldest = PROFILES[index % len(PROFILES)]
        for item in range(count):
            number += 1
            rows.append(_sample_item(rng, customer, number, oldest, first=item == 0))
    rows.append(_credit_note())
    return rows


def _sample_item(
    rng: random.Random, customer: tuple, number: int, oldest: int, first: bool
) -> list:
    """One invoice of ``customer``: due ``oldest`` days ago (the first) or fewer, perhaps
    paid in part or in full, sometimes disputed, promised or overridden."""
    name, cid, currency, language, region, km, contact, phone, email, address, owner = customer
    choices = [d for d in ITEM_DAYS if d <= oldest]
    days = oldest if first else rng.choice(choices)
    if currency == "HUF":
        days = min(days, HUF_MAX_DAYS)
    terms = rng.choice([30, 30, 30, 45, 60])
    due = SAMPLE_AS_OF - timedelta(days=days)
    invoiced = due - timedelta(days=terms)
    amount, paid = _sample_amounts(rng, currency)
    disputed, reason, promise, override = _sample_state(rng, days)
    last_contact = SAMPLE_AS_OF - timedelta(days=rng.randint(1, 60)) if days > 0 else None
    return [
        name,
        cid,
        f"INV-{number}",
        invoiced,
        due,
        terms,
        currency,
        amount,
        paid,
        round(amount - paid, 2),  # the balance
        owner or None,
        region,
        km,
        contact,
        phone,
        email or None,
        address or None,
        language,
        disputed or None,
        reason or None,
        promise,
        last_contact,
        None,
        override or None,
    ]


def _sample_amounts(rng: random.Random, currency: str) -> tuple[float, float]:
    """An invoice amount (whole forints for HUF) and what was paid of it: mostly nothing,
    sometimes all, sometimes a quarter or a half."""
    scale = 100 if currency == "HUF" else 1
    decimals = 0 if currency == "HUF" else 2
    amount = round(rng.uniform(150, 9500) * scale, decimals)
    paid = 0.0
    roll = rng.random()
    if roll < 0.12:
        paid = amount  # paid in full
    elif roll < 0.22:
        paid = round(amount * rng.choice([0.25, 0.5]), decimals)
    return amount, paid


def _sample_state(rng: random.Random, days: int) -> tuple[str, str, date | None, str]:
    """Disputed (and why), a promise to pay, or a stage override: rare, on late items."""
    disputed = ""
    reason = ""
    promise = None
    override = ""
    if rng.random() < 0.05 and days > 10:
        disputed, reason = (
            "Yes",
            rng.choice(["Goods damaged", "Price difference", "Not delivered"]),
        )
    elif rng.random() < 0.06 and days > 5:
        promise = SAMPLE_AS_OF + timedelta(days=rng.choice([-12, -4, 5, 10]))
    if rng.random() < 0.01:
        override = "Legal action"
    return disputed, reason, promise, override


def _credit_note() -> list:
    """A credit note of the sample, so that the credit state is present."""
    return [
        "Metro Foods Ltd",
        "C1020",
        "CN-9001",
        SAMPLE_AS_OF - timedelta(days=20),
        SAMPLE_AS_OF - timedelta(days=20),
        0,
        "GBP",
        -350.0,
        0.0,
        -350.0,
        "Ana García",
        "UK",
        1450,
        "Priya Shah",
        "+44 20 7946 0777",
        "ap@metrofoods.co.uk",
        "3 Market Square, London E1 6AN, United Kingdom",
        "en",
        None,
        None,
        None,
        None,
        "Credit note for returned goods",
        None,
    ]


def make_sample(path: Path) -> None:
    """The sample ledger for ``receivables demo``."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Receivables"
    _write_header(sheet)
    rows = sample_rows()
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows(min_row=2, max_row=len(rows) + 1):
        for index in (3, 4, 20, 21):
            row[index].number_format = "yyyy-mm-dd"
        for index in (7, 8, 9):
            row[index].number_format = "#,##0.00"
        # Customer names are text even when they look like formulas.
        row[0].data_type = "s"
    last = f"X{len(rows) + 1}"
    table = Table(displayName="Receivables", ref=f"A1:{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    sheet.add_table(table)
    notes = book.create_sheet("Notes")
    notes["A1"] = f"Sample ledger for Receivables Collections: as of {SAMPLE_AS_OF}."
    notes["A2"] = (
        "Every stage of the ladder is present, with paid, credit, disputed and promised items."
    )
    _settings_sheet(book)
    _fixed_properties(book)
    book.save(path)


if __name__ == "__main__":
    make_template(HERE / "receivables_template.xlsx")
    make_sample(HERE / "sample_ledger.xlsx")
    print("written", HERE / "receivables_template.xlsx", HERE / "sample_ledger.xlsx")
