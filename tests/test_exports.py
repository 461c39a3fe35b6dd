"""Exports of ERPs and accounting packages, read as a user would get them (issue #13).

Each test writes a real file in one shape (CSV in several encodings and delimiters, an
HTML table saved as .xls, SpreadsheetML 2003, grouped QuickBooks- and Xero-style aged
receivables reports, an SAP FBL5N-style list with ALV subtotals, IBM's AR sample) from one
list of items, runs the whole pipeline on it, and checks item by item: every item found
with its customer, balance, due date and stage; every customer's overdue total to the
cent; every totals and subtotal row skipped and reported; the output a real .xlsx with
the stage columns and the new sheets.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from receivables.batch import discover
from receivables.core import frame as F
from receivables.core.headers import HeaderMatcher
from receivables.core.issues import InputError, Severity
from receivables.pipeline import run
from receivables.reader import open_workbook
from receivables.textformats import decimal_comma, decode_text, sniff_delimiter

AS_OF = date(2026, 10, 31)


@dataclass(frozen=True)
class Item:
    """One open invoice of the test ledgers."""

    customer: str
    number: str  # the customer number
    invoice: str
    days: int  # days overdue at AS_OF
    cents: int
    disputed: bool = False

    @property
    def due(self) -> date:
        return AS_OF - timedelta(days=self.days)

    @property
    def invoice_date(self) -> date:
        return self.due - timedelta(days=30)


def stage_for(item: Item) -> str:
    """The stage of design.md §4's default ladder (disputes hold the item)."""
    if item.cents == 0:
        return "paid"
    if item.cents < 0:
        return "credit"
    if item.disputed:
        return "disputed"
    for limit, key in (
        (-8, "current"),
        (-1, "pre_due"),
        (7, "reminder"),
        (30, "notice"),
        (60, "demand"),
        (90, "final"),
        (365, "legal"),
        (730, "doubtful"),
    ):
        if item.days <= limit:
            return key
    return "dead"


def items_for(names: list[str]) -> list[Item]:
    """Eleven items over the ladder for three or four customers."""
    plan = [
        (-20, 125050),
        (3, 9999),
        (45, 250000),
        (15, 70010),
        (100, 1234567),
        (400, 5000),
        (-3, 80000),
        (75, 33333),
        (8, 123456),
        (800, 4200),
        (31, 100),
    ]
    return [
        Item(names[i % len(names)], f"{10001 + i % len(names)}", f"INV-{1001 + i}", days, cents)
        for i, (days, cents) in enumerate(plan)
    ]


NAMES = ["Müller GmbH", "Borde, S.L.", 'Café "Olé" SA']
NAMES_WIDE = [*NAMES, "上海贸易有限公司"]


def overdue_by_customer(items: list[Item]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        if item.days >= 1 and item.cents > 0 and not item.disputed:
            totals[item.customer] += item.cents
    return dict(totals)


def check_items(report, items: list[Item], customer=lambda item: item.customer) -> None:
    """Every item found with its values and stage; every customer's overdue total exact."""
    frame = report.outcome.classified
    found = {record.invoice: record for record in frame.itertuples()}
    assert sorted(found) == sorted(item.invoice for item in items)
    for item in items:
        record = found[item.invoice]
        got = (record.customer, int(record.balance_cents), record.due_date.date(), record.stage)
        assert got == (customer(item), item.cents, item.due, stage_for(item)), item.invoice
    overdue = frame[frame[F.COUNTS_OVERDUE]].groupby("customer")[F.BALANCE].sum()
    want = {
        customer(i): c
        for i in items
        for c in [overdue_by_customer(items).get(i.customer)]
        if c is not None
    }
    assert {k: int(v) for k, v in overdue.items()} == want


def check_output(output: Path, sheet: str) -> None:
    """The output is an .xlsx with the stage columns and the new sheets."""
    book = load_workbook(output, read_only=True)
    assert {"Collection Plan", "Aging Summary", "Action Calendar", "Exceptions"} <= set(
        book.sheetnames
    )
    values = [c for row in book[sheet].iter_rows(values_only=True) for c in row]
    assert {"Days Overdue", "Aging Bucket", "Stage", "Next Action"} <= set(values)


def skipped(report) -> dict[int, str]:
    return {s.row: s.reason for s in report.outcome.ledger.skipped}


def messages(report, severity: Severity | None = None) -> list[str]:
    return [
        f"{i.where}: {i.message}"
        for i in report.issues
        if severity is None or i.severity == severity
    ]


# ------------------------------------------------------------------ CSV


def _money_text(cents: int, comma: bool) -> str:
    whole, frac = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", "." if comma else ",")
    return ("-" if cents < 0 else "") + grouped + ("," if comma else ".") + f"{frac:02d}"


CSV_CASES = [
    ("utf-8", ",", ".csv", NAMES_WIDE),
    ("utf-8-sig", ";", ".csv", NAMES_WIDE),
    ("utf-16", "\t", ".tsv", NAMES_WIDE),
    ("cp1252", ";", ".csv", NAMES),
    ("gb18030", ",", ".csv", NAMES_WIDE),
    ("utf-8", "|", ".txt", NAMES),
    ("cp1252", "\t", ".txt", NAMES),
]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "suffix", "names"),
    CSV_CASES,
    ids=[f"{e}-{repr(d)}-{s}" for e, d, s, _ in CSV_CASES],
)
def test_csv_in_each_encoding_and_delimiter(tmp_path, encoding, delimiter, suffix, names):
    comma = delimiter in (";", "\t")  # the European habit: decimal comma, DD.MM.YYYY
    items = items_for(names)

    def when(day: date) -> str:
        return day.strftime("%d.%m.%Y") if comma else day.isoformat()

    def quoted(text: str) -> str:
        if any(ch in text for ch in (delimiter, '"', "\n")):
            return '"' + text.replace('"', '""') + '"'
        return text

    lines = [
        delimiter.join(["Customer", "Invoice", "Invoice Date", "Due Date", "Amount", "Currency"])
    ]
    for item in items:
        lines.append(
            delimiter.join(
                quoted(v)
                for v in (
                    item.customer,
                    item.invoice,
                    when(item.invoice_date),
                    when(item.due),
                    _money_text(item.cents, comma),
                    "EUR",
                )
            )
        )
    total = sum(i.cents for i in items)
    lines.append(delimiter.join(["Total", "", "", "", quoted(_money_text(total, comma)), ""]))
    path = tmp_path / f"open items{suffix}"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))

    report = run(path, tmp_path / "out.xlsx", AS_OF)
    check_items(report, items)
    assert skipped(report) == {len(items) + 2: "totals row"}
    check_output(tmp_path / "out.xlsx", "open items")
    assert report.sheet == "open items"
    # The output keeps text as text: invoice numbers and names, not formulas.
    book = load_workbook(tmp_path / "out.xlsx")
    assert book["open items"]["A2"].value == items[0].customer
    assert book["open items"]["E2"].value == pytest.approx(items[0].cents / 100)


def test_tab_delimited_text_saved_as_xls(tmp_path):
    """SAP's unconverted list export and many "Excel" downloads are text with an .xls name."""
    items = items_for(NAMES)
    lines = ["Customer\tInvoice\tDue Date\tBalance"]
    lines += [
        f"{i.customer}\t{i.invoice}\t{i.due:%d.%m.%Y}\t{_money_text(i.cents, True)}" for i in items
    ]
    path = tmp_path / "EXPORT.XLS"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    assert open_workbook(path).kind == "csv"
    check_items(run(path, tmp_path / "out.xlsx", AS_OF), items)
    binary = tmp_path / "junk.xls"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="not an Excel"):
        open_workbook(binary)


def test_csv_detection_helpers():
    assert decode_text("Müller".encode("cp1252"))[0] == "Müller"
    assert decode_text("上海贸易有限公司,客户".encode("gb18030") * 20)[0].startswith("上海")
    assert decode_text("\ufeffa;b".encode())[1] == "UTF-8 (BOM)"
    assert decode_text("a\tb\r\n".encode("utf-16-le"))[0] == "a\tb\r\n"
    assert sniff_delimiter('a;b;"c;d"\n1;2;3\n4;5;6\n') == ";"
    assert sniff_delimiter("Report title\na|b|c\n1|2|3\n") == "|"
    assert decimal_comma([["1.234,56", "12,50"], ["1,234"]])
    assert not decimal_comma([["1,234.56", "12.50"], ["1,234"]])
    assert decimal_comma([["1.234"]], default=True) and not decimal_comma([["1.234"]])


def test_semicolon_csv_without_decimals_reads_thousands(tmp_path):
    path = tmp_path / "ar.csv"
    path.write_text(
        "Kunde;Fällig;Offener Betrag\nAcme;01.09.2026;1.234\nBeta;01.09.2026;99\n", "utf-8"
    )
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    assert list(report.outcome.classified[F.BALANCE]) == [123400, 9900]


def test_csv_quoted_fields_with_line_breaks_and_excel_sep_line(tmp_path):
    path = tmp_path / "ar.csv"
    path.write_text(
        'sep=;\nCliente;Factura;Vencimiento;Saldo\n"Acme\nNorte";F-1;01/09/2026;'
        '"1.500,25"\nBeta;"F;2";15/10/2026;10\n',
        "utf-8",
    )
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    frame = report.outcome.classified
    assert list(frame["customer"]) == ["Acme\nNorte", "Beta"]
    assert list(frame["invoice"]) == ["F-1", "F;2"]
    assert list(frame[F.BALANCE]) == [150025, 1000]


def test_csv_text_that_looks_like_a_formula_stays_text(tmp_path):
    path = tmp_path / "ar.csv"
    path.write_text(
        'Customer,Phone,Due Date,Balance\n"=HYPERLINK(""http://x"",""y"")",+1-555,2026-09-01,5\n',
        "utf-8",
    )
    run(path, tmp_path / "out.xlsx", AS_OF)
    sheet = load_workbook(tmp_path / "out.xlsx")["ar"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == ('=HYPERLINK("http://x","y")', "s")
    assert (sheet["B2"].value, sheet["B2"].data_type) == ("+1-555", "s")


def test_csv_codes_keep_their_text(tmp_path):
    path = tmp_path / "ar.csv"
    path.write_text(
        "Customer,Customer No,Invoice,Due Date,Balance\nAcme,000123,0042,2026-09-01,12.50\n",
        "utf-8",
    )
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    record = report.outcome.classified.iloc[0]
    assert (record["customer_id"], record["invoice"], int(record[F.BALANCE])) == (
        "000123",
        "0042",
        1250,
    )


# ------------------------------------------------------------------ HTML saved as .xls


def test_html_table_saved_as_xls(tmp_path):
    items = items_for(["Smith & Co", "Borde, S.L.", "Nagy és Társa Kft."])
    body = "".join(
        f"<tr><td>{i.customer.replace('&', '&amp;')}</td><td>{i.invoice}</td>"
        f"<td>{i.invoice_date:%m/%d/%Y}</td><td>{i.due:%m/%d/%Y}</td>"
        f"<td align=right>{_money_text(i.cents, False)}</td></tr>"
        for i in items
    )
    total = _money_text(sum(i.cents for i in items), False)
    html = (
        '<!DOCTYPE html><html><head><meta charset="windows-1252"><title>AR</title></head>'
        "<body><h2>Open receivables</h2><p>As of 10/31/2026</p>"
        '<table border="1"><thead><tr><th>Customer</th><th>Invoice #</th><th>Invoice Date</th>'
        "<th>Due Date</th><th>Balance</th></tr></thead><tbody>"
        f'{body}<tr><td colspan="4"><b>Grand Total</b></td><td>{total}</td></tr>'
        "</tbody></table><img src='http://example.invalid/x.png'></body></html>"
    )
    path = tmp_path / "export.xls"
    path.write_bytes(html.encode("cp1252"))
    opened = open_workbook(path)
    assert opened.kind == "html"
    report = run(path, tmp_path / "out.xlsx", None)
    check_items(report, items)
    # The title block's date is offered as the as-of date and said.
    assert report.as_of == AS_OF
    assert any("no --as-of given" in m for m in messages(report))
    assert skipped(report) == {3 + len(items) + 1: "totals row"}
    check_output(tmp_path / "out.xlsx", "export")


def test_html_rowspan_and_colspan_are_placed_like_merged_cells(tmp_path):
    path = tmp_path / "t.xls"
    path.write_text(
        "<table><tr><td rowspan=2>A</td><td colspan=2>B</td><td>C</td></tr>"
        "<tr><td>1</td><td>2</td><td>3</td></tr></table>",
        "utf-8",
    )
    grid = open_workbook(path).grid("t")
    assert [list(r) for r in grid.rows] == [["A", "B", "", "C"], ["", 1.0, 2.0, 3.0]]


def test_html_entities_are_never_expanded_nor_fetched(tmp_path):
    path = tmp_path / "x.xls"
    path.write_text(
        '<!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY a "AAAA">'
        '<!ENTITY b "&a;&a;&a;&a;">]><html><body><table><tr><td>Customer</td><td>Due</td>'
        "<td>Balance</td></tr><tr><td>&xxe;&b;</td><td>2026-09-01</td><td>10</td></tr>"
        "</table></body></html>",
        "utf-8",
    )
    rows = [list(r) for r in open_workbook(path).grid("x").rows]
    assert rows[1][0] == "&xxe;&b;"


def test_html_without_table_is_a_clear_error(tmp_path):
    path = tmp_path / "page.xls"
    path.write_text("<html><body><p>Nothing here</p></body></html>", "utf-8")
    with pytest.raises(InputError, match="no table"):
        open_workbook(path)


# ------------------------------------------------------------------ SpreadsheetML 2003


def _spreadsheetml(items: list[Item], entity: bool = False) -> str:
    def cell(value, kind="String", index=None):
        at = f' ss:Index="{index}"' if index else ""
        return f'<Cell{at}><Data ss:Type="{kind}">{value}</Data></Cell>'

    rows = [
        '<Row><Cell ss:MergeAcross="3"><Data ss:Type="String">Aged debtors</Data></Cell></Row>',
        '<Row ss:Index="3">'
        + "".join(cell(h) for h in ("Customer", "Invoice", "Due Date", "Disputed"))
        + cell("Balance", index=6)
        + "</Row>",
    ]
    for item in items:
        rows.append(
            "<Row>"
            + cell(item.customer.replace("&", "&amp;"))
            + cell(item.invoice)
            + cell(f"{item.due.isoformat()}T00:00:00.000", "DateTime")
            + cell("1" if item.disputed else "0", "Boolean")
            + cell(f"{item.cents / 100:.2f}", "Number", index=6)
            + "</Row>"
        )
    doctype = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' if entity else ""
    return (
        '<?xml version="1.0"?>' + doctype + '<?mso-application progid="Excel.Sheet"?>'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        '<Worksheet ss:Name="Notes"><Table><Row><Cell><Data ss:Type="String">read me'
        "</Data></Cell></Row></Table></Worksheet>"
        f'<Worksheet ss:Name="Debtors"><Table>{"".join(rows)}</Table></Worksheet></Workbook>'
    )


@pytest.mark.parametrize("suffix", [".xml", ".xls"])
def test_spreadsheetml_2003(tmp_path, suffix):
    items = items_for(["Smith & Co", "Borde, S.L.", "Kovács Bt."])
    items[2] = Item(
        items[2].customer,
        items[2].number,
        items[2].invoice,
        items[2].days,
        items[2].cents,
        disputed=True,
    )
    path = tmp_path / f"debtors{suffix}"
    path.write_text(_spreadsheetml(items), "utf-8")
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    assert report.sheet == "Debtors" and report.header_row == 3
    check_items(report, items)
    check_output(tmp_path / "out.xlsx", "Debtors")
    assert "Notes" in load_workbook(tmp_path / "out.xlsx", read_only=True).sheetnames


def test_spreadsheetml_with_entities_is_refused(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(_spreadsheetml(items_for(NAMES), entity=True), "utf-8")
    with pytest.raises(InputError, match="entity"):
        open_workbook(path)


def test_other_xml_and_huge_text_are_clear_errors(tmp_path, monkeypatch):
    other = tmp_path / "feed.xml"
    other.write_text('<?xml version="1.0"?><rss><channel/></rss>', "utf-8")
    with pytest.raises(InputError, match="not an Excel 2003 XML"):
        open_workbook(other)
    import receivables.textformats as textformats

    monkeypatch.setattr(textformats, "MAX_TEXT_BYTES", 1000)
    big = tmp_path / "big.csv"
    big.write_text("Customer,Balance\n" + "Acme,1\n" * 400, "utf-8")
    with pytest.raises(InputError, match="more than the"):
        open_workbook(big)


# ------------------------------------------------------------------ grouped reports


def _write(path: Path, rows: list[list[object]], sheet: str = "Report") -> Path:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_quickbooks_style_ar_aging_detail(tmp_path):
    """Customer heading rows, 'Total for …' rows, a grand TOTAL, no customer column."""
    items = items_for(NAMES)
    rows: list[list[object]] = [
        ["Craig's Design and Landscaping"],
        ["A/R Aging Detail"],
        ["As of October 31, 2026"],
        [],
        ["", "Date", "Transaction Type", "Num", "Due Date", "Past Due", "Amount", "Open Balance"],
    ]
    totals: list[int] = []
    headings: dict[str, int] = {}
    for name in NAMES:
        rows.append([name])
        headings[name] = len(rows)
        mine = [i for i in items if i.customer == name]
        for item in mine:
            rows.append(
                [
                    "",
                    datetime.combine(item.invoice_date, datetime.min.time()),
                    "Invoice",
                    item.invoice,
                    datetime.combine(item.due, datetime.min.time()),
                    max(item.days, 0),
                    item.cents / 100,
                    item.cents / 100,
                ]
            )
        rows.append(
            [
                f"Total for {name}",
                None,
                None,
                None,
                None,
                None,
                sum(i.cents for i in mine) / 100,
                sum(i.cents for i in mine) / 100,
            ]
        )
        totals.append(len(rows))
        rows.append([])
    rows.append(
        [
            "TOTAL",
            None,
            None,
            None,
            None,
            None,
            sum(i.cents for i in items) / 100,
            sum(i.cents for i in items) / 100,
        ]
    )
    totals.append(len(rows))
    path = _write(tmp_path / "qb.xlsx", rows)

    report = run(path, tmp_path / "out.xlsx", None)
    assert report.as_of == AS_OF and report.header_row == 5
    check_items(report, items)
    ledger = report.outcome.ledger
    # Each item's customer is recorded with the heading's cell.
    for record in report.outcome.classified.itertuples():
        assert str(ledger.customer_cells[record.row]) == f"Report!A{headings[record.customer]}"
    reasons = skipped(report)
    assert all(reasons[row] == "totals row" for row in totals)
    assert all(reasons[row].startswith("customer heading") for row in headings.values())
    assert any("read from this group heading" in m for m in messages(report))
    check_output(tmp_path / "out.xlsx", "Report")


def test_quickbooks_grouped_by_aging_period_with_customer_column(tmp_path):
    """The default QuickBooks grouping: aging-period headings, a Customer column."""
    items = items_for(NAMES)
    rows: list[list[object]] = [
        ["A/R Aging Detail"],
        ["As of October 31, 2026"],
        [],
        ["Date", "Transaction Type", "Num", "Customer", "Due Date", "Amount", "Open Balance"],
    ]
    periods = [
        ("Current", lambda d: d <= 0),
        ("1 - 30 days past due", lambda d: 1 <= d <= 30),
        ("31 - 60 days past due", lambda d: 31 <= d <= 60),
        ("61 - 90 days past due", lambda d: 61 <= d <= 90),
        ("91 or more days past due", lambda d: d > 90),
    ]
    heading_rows, total_rows = [], []
    for label, test in periods:
        mine = [i for i in items if test(i.days)]
        rows.append([label])
        heading_rows.append(len(rows))
        for item in mine:
            rows.append(
                [
                    item.invoice_date.strftime("%m/%d/%Y"),
                    "Invoice",
                    item.invoice,
                    item.customer,
                    item.due.strftime("%m/%d/%Y"),
                    item.cents / 100,
                    item.cents / 100,
                ]
            )
        rows.append(
            [
                f"Total for {label}",
                None,
                None,
                None,
                None,
                sum(i.cents for i in mine) / 100,
                sum(i.cents for i in mine) / 100,
            ]
        )
        total_rows.append(len(rows))
    path = _write(tmp_path / "qb2.xlsx", rows)
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    check_items(report, items)
    reasons = skipped(report)
    assert all(reasons[r] == "aging-period heading" for r in heading_rows)
    assert all(reasons[r] == "totals row" for r in total_rows)


@pytest.mark.parametrize("with_total", [True, False], ids=["total-column", "buckets-only"])
def test_xero_style_aged_receivables_detail(tmp_path, with_total):
    """Contact headings, balances spread over bucket columns, 'Total <contact>' rows."""
    items = items_for(NAMES)
    buckets = ["Current", "< 1 Month", "1 Month", "2 Months", "3 Months", "Older"]

    def bucket(days: int) -> int:
        return 0 if days <= 0 else min(5, 1 + (days - 1) // 30)

    header = ["Invoice Date", "Invoice Number", "Invoice Reference", "Due Date", *buckets]
    if with_total:
        header.append("Total")
    rows: list[list[object]] = [
        ["Aged Receivables Detail"],
        ["Demo Company (UK)"],
        ["As at 31 October 2026"],
        [],
        header,
    ]
    total_rows = []
    for name in NAMES:
        rows.append([name])
        mine = [i for i in items if i.customer == name]
        for item in mine:
            spread: list[object] = [None] * len(buckets)
            spread[bucket(item.days)] = item.cents / 100
            row = [
                datetime.combine(item.invoice_date, datetime.min.time()),
                item.invoice,
                "",
                datetime.combine(item.due, datetime.min.time()),
                *spread,
            ]
            rows.append(row + ([item.cents / 100] if with_total else []))
        sums: list[object] = [
            sum(i.cents for i in mine if bucket(i.days) == b) / 100 or None
            for b in range(len(buckets))
        ]
        rows.append(
            [f"Total {name}", None, None, None, *sums]
            + ([sum(i.cents for i in mine) / 100] if with_total else [])
        )
        total_rows.append(len(rows))
    rows.append(
        ["Total", None, None, None]
        + [sum(i.cents for i in items if bucket(i.days) == b) / 100 for b in range(len(buckets))]
        + ([sum(i.cents for i in items) / 100] if with_total else [])
    )
    total_rows.append(len(rows))
    path = _write(tmp_path / "xero.xlsx", rows, sheet="Aged Receivables")
    report = run(path, tmp_path / "out.xlsx", None)
    assert report.as_of == AS_OF
    check_items(report, items)
    reasons = skipped(report)
    assert all(reasons[r] == "totals row" for r in total_rows)
    if not with_total:
        assert any("sum of the aging columns" in m for m in messages(report))


# ------------------------------------------------------------------ SAP FBL5N


@pytest.mark.parametrize("due_column", [True, False], ids=["net-due-date", "document-date"])
def test_sap_fbl5n_style_with_alv_subtotals_and_customer_numbers(tmp_path, due_column):
    """Customer numbers only, DD.MM.YYYY text dates, ALV '*' subtotals, an unlabelled
    grand total; without a due-date column, due = document date + 30 days."""
    items = items_for(NAMES)
    due_header = ["Net due date"] if due_column else []
    rows: list[list[object]] = [
        ["Customer Line Item Display"],
        [],
        [
            "",
            "Account",
            "Assignment",
            "Document Number",
            "Document Type",
            "Document Date",
            *due_header,
            "Amount in doc. curr.",
            "Document currency",
            "Amount in local currency",
            "Local Currency",
        ],
    ]
    subtotal_rows = []
    for number in sorted({i.number for i in items}):
        mine = [i for i in items if i.number == number]
        for item in mine:
            due = [item.due.strftime("%d.%m.%Y")] if due_column else []
            rows.append(
                [
                    "",
                    number,
                    item.invoice[-4:],
                    item.invoice,
                    "RV",
                    item.invoice_date.strftime("%d.%m.%Y"),
                    *due,
                    item.cents / 100,
                    "EUR",
                    item.cents * 4 / 100,
                    "HUF",
                ]
            )
        rows.append(
            [
                "*",
                number,
                None,
                None,
                None,
                None,
                *([None] if due_column else []),
                sum(i.cents for i in mine) / 100,
                "EUR",
                sum(i.cents for i in mine) * 4 / 100,
                "HUF",
            ]
        )
        subtotal_rows.append(len(rows))
    # The unlabelled grand total: only the sums.
    rows.append(
        [
            None,
            None,
            None,
            None,
            None,
            None,
            *([None] if due_column else []),
            sum(i.cents for i in items) / 100,
            None,
            sum(i.cents for i in items) * 4 / 100,
            None,
        ]
    )
    grand = len(rows)
    path = _write(tmp_path / "fbl5n.xlsx", rows, sheet="FBL5N")
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    check_items(report, items, customer=lambda item: item.number)
    assert set(report.outcome.classified["currency"]) == {"EUR"}
    reasons = skipped(report)
    assert all(reasons[r] == "totals row" for r in subtotal_rows)
    assert reasons[grand].startswith("totals row")
    text = messages(report)
    assert any("customer number in 'Account' stands for the customer" in m for m in text)
    assert any("two columns could be amount" in m and "Amount in local currency" in m for m in text)
    assert any("two columns could be currency" in m for m in text)


# ------------------------------------------------------------------ IBM AR sample


def test_ibm_ar_sample_shape_with_customer_number_as_customer(tmp_path):
    header = [
        "countryCode",
        "customerID",
        "PaperlessDate",
        "invoiceNumber",
        "InvoiceDate",
        "DueDate",
        "InvoiceAmount",
        "Disputed",
        "SettledDate",
        "PaperlessBill",
        "DaysToSettle",
        "DaysLate",
    ]
    numbers = ["0379-NEVHL", "8976-AMJEO", "2820-XGXSB"]
    items = items_for(numbers)
    items = [
        Item(i.customer, i.customer, str(611365 + k), i.days, i.cents, disputed=k % 4 == 1)
        for k, i in enumerate(items)
    ]
    rows = [header]
    for item in items:
        rows.append(
            [
                391,
                item.customer,
                "7/1/2013",
                item.invoice,
                item.invoice_date.strftime("%-m/%-d/%Y"),
                item.due.strftime("%-m/%-d/%Y"),
                item.cents / 100,
                "Yes" if item.disputed else "No",
                None,
                "Paper",
                None,
                max(item.days, 0),
            ]
        )
    path = _write(tmp_path / "WA_Fn-UseC_-Accounts-Receivable.xlsx", rows, sheet="Sheet1")
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    check_items(report, items)
    assert report.outcome.ledger.location.columns["customer_id"] == 2
    assert any(
        "customer number in 'customerID' stands for the customer" in m for m in messages(report)
    )


# ------------------------------------------------------------------ header generalisation


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Fecha de pago comprometida", "promise_date"),
        ("Fizetési határidő", "due_date"),
        ("Balance due", "balance"),
        ("Remaining Amount (LCY)", "balance"),
        ("Remaining Amt. (LCY)", "balance"),
        ("Offener Betrag", "balance"),
        ("未收金额", "balance"),
        ("Ígért fizetési nap", "promise_date"),
        ("Zugesagter Zahlungstermin", "promise_date"),
        ("承诺回款日", "promise_date"),
        ("Esedékesség napja", "due_date"),
        ("Net due date", "due_date"),
        ("Amount in doc. curr.", "amount"),
        ("Document currency", "currency"),
        ("Outstanding (LCY)", "balance"),
        ("Vitatott tétel", "disputed"),
        ("Sell-to Customer No.", "customer_id"),
        ("customerID", "customer_id"),
        ("InvoiceAmount", "amount"),
    ],
)
def test_unseen_headers_map_without_settings(header, field):
    assert HeaderMatcher().match(header) == field


@pytest.mark.parametrize(
    "header",
    [
        "Days past due",
        "DaysLate",
        "Arrears after net due date",
        "Dispute date",
        "Payment date",
        "Period 1",
        "逾期天数",
        "Accounts receivable at 31 October 2026",
    ],
)
def test_headers_about_something_else_map_to_nothing(header):
    assert HeaderMatcher().match(header) is None


def test_hungarian_promise_column_is_read_and_the_rule_shown(tmp_path):
    promised = AS_OF + timedelta(days=10)
    rows = [
        ["Ügyfél", "Számlaszám", "Fizetési határidő", "Nyitott összeg", "Ígért fizetési nap"],
        ["Alfa Kft.", "SZ-1", "2026.09.01.", "100 000 Ft", promised.strftime("%Y.%m.%d.")],
        ["Béta Zrt.", "SZ-2", "2026.09.01.", "50 000 Ft", None],
    ]
    path = _write(tmp_path / "hu.xlsx", rows, sheet="Kintlévőségek")
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    stages = dict(
        zip(report.outcome.classified["customer"], report.outcome.classified["stage"], strict=True)
    )
    assert stages == {"Alfa Kft.": "promised", "Béta Zrt.": "demand"}
    assert any(
        "'Ígért fizetési nap' read as promise_date (word stems: iger (promise))" in m
        for m in messages(report, Severity.INFO)
    )


def test_unread_columns_that_change_the_result_are_warnings(tmp_path):
    promise = "Next promised payment from customer per phone call log"
    rows = [
        ["Customer", "Invoice", "Due date", "Balance", promise, "Dispute date", "Days past due"],
        ["Acme", "I-1", "2026-09-01", 100, "2026-11-15", "2026-10-01", 60],
        ["Beta", "I-2", "2026-09-01", 100, None, None, 60],
    ]
    path = _write(tmp_path / "w.xlsx", rows)
    report = run(path, tmp_path / "out.xlsx", AS_OF)
    warnings = messages(report, Severity.WARNING)
    assert any(
        f"'{promise}' looks like the promise date" in m
        and f'[headers] promise_date = ["{promise}"]' in m
        for m in warnings
    )
    assert any(
        "'Dispute date' looks like the dispute reason" in m
        and '[headers] dispute_reason = ["Dispute date"]' in m
        for m in warnings
    )
    assert not any("Days past due" in m for m in warnings)
    flag = "Customer has raised a dispute about this invoice (Y/N)"
    rows = [
        ["Customer", "Due date", "Balance", flag],
        ["Acme", "2026-09-01", 100, "Y"],
        ["Beta", "2026-09-01", 100, "N"],
    ]
    report = run(_write(tmp_path / "f.xlsx", rows), tmp_path / "out2.xlsx", AS_OF)
    assert any(
        f"'{flag}' looks like the disputed" in m and f'[headers] disputed = ["{flag}"]' in m
        for m in messages(report, Severity.WARNING)
    )
    # Reported once: not also as "not a known field".
    assert not any(promise in m for m in messages(report, Severity.INFO))


# ------------------------------------------------------------------ shells


def test_cli_reads_a_csv_and_batch_discovers_exports(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "AR_2026-10.csv").write_text(
        "Customer;Invoice;Due Date;Balance\nAcme;I-1;01.09.2026;10,50\n", "utf-8"
    )
    (folder / "AR_2026-09.tsv").write_text("Customer\tDue Date\tBalance\nAcme\t2026-08-01\t5\n")
    (folder / "readme.txt").write_text("Notes about this folder.\n")
    (folder / "export.xml").write_text(_spreadsheetml(items_for(NAMES)), "utf-8")
    (folder / "feed.xml").write_text("<rss/>")
    names = [p.name for p in discover(folder)]
    assert names == ["AR_2026-09.tsv", "AR_2026-10.csv", "export.xml"]
    code, out, err = cli("process", folder / "AR_2026-10.csv", "--as-of", "2026-10-31", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["output"].endswith("AR_2026-10.collections.xlsx")
    assert data["overdue"] == {"EUR": 10.5}
    assert any(
        "read as UTF-8 text, ';' delimited, decimal comma" in i["message"] for i in data["issues"]
    )


# ------------------------------------------------------------------ property: CSV round trip

_NAME_CHARS = "abcXYZ éüÇß,;|\t\"' \n-&"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # Unicode encodings only: a few bytes of cp1252 or GB18030 can be read either way
    # (the example tests above use those encodings on files of realistic size).
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le"]),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    comma=st.booleans(),
    rows=st.lists(
        st.tuples(
            st.text(alphabet=_NAME_CHARS, max_size=12).map(lambda t: "N" + t),
            st.integers(min_value=-(10**9), max_value=10**9),
        ),
        min_size=1,
        max_size=15,
    ),
)
def test_any_csv_reads_back_its_names_and_amounts(
    tmp_path_factory, encoding, delimiter, comma, rows
):
    """Whatever the encoding, delimiter, decimal mark and quoting, every name and amount
    comes back exactly (names as text, amounts as numbers)."""
    import csv
    import io

    from receivables.textformats import open_text_workbook

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Customer", "Amount"])
    for name, cents in rows:
        writer.writerow([name, _money_text(cents, comma)])
    path = tmp_path_factory.mktemp("prop") / "p.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    grid = open_text_workbook(path, path.read_bytes(), "csv").grids[0]
    assert [list(r) for r in grid.rows[1:]] == [[n, c / 100] for n, c in rows]
