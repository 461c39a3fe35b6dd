"""Messy receivables ledgers as finance teams keep them, written for the reader's tests.

Each generator writes one workbook in the habits of one language (titles over merged
cells, the header a few rows down, blank separator rows, a repeated header, subtotal and
total rows, text dates and text amounts with currency symbols, balances as formulas with
the values Excel cached, a notes sheet) and returns a :class:`MessyLedger`: what a
correct reader must find there, item by item, computed here from the same specification
the rows were written from, never by the code under test.

Languages: ``es`` (Spanish: "Octubre" sheet, ``1.234,56 €``, dd/mm/yyyy, ``TOTAL``),
``en`` (English: title block, header in row 5, ``$``/``£``, mm/dd/yyyy, Excel serial
invoice dates, ``Grand Total``; also in the 1904 date system), ``zh`` (Chinese:
``¥``/``元``/``RMB``, ``2026年9月15日``, ``小计``/``合计``), ``hu`` (Hungarian:
``1 234 567 Ft``, ``2026.09.15.``, ``Összesen``), ``de`` (German: ``15.09.2026``,
``Summe``) and ``fr`` (French: ``1 234,56 €`` with narrow spaces, ``Total général``).

:func:`write_xlsb` writes a minimal binary workbook (LibreOffice cannot export .xlsb) so
that the binary format is tested with the same ledgers.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from receivables.core.issues import cell_ref

AS_OF = date(2026, 10, 31)
LANGUAGES = ("es", "en", "zh", "hu", "de", "fr")

# design.md §4, written out independently of the rules file.
_LADDER = (
    (-8, "current"),
    (-1, "pre_due"),
    (7, "reminder"),
    (30, "notice"),
    (60, "demand"),
    (90, "final"),
    (365, "legal"),
    (730, "doubtful"),
)
OVERDUE_STAGES = frozenset({"reminder", "notice", "demand", "final", "legal", "doubtful", "dead"})


def ladder_stage(days_overdue: int) -> str:
    """The stage of design.md §4 for an item ``days_overdue`` days past its due date."""
    if days_overdue < -7:
        return "current"
    for upper, key in _LADDER[1:]:
        if days_overdue <= upper:
            return key
    return "dead"


def expected_stage(days_overdue: int, balance_cents: int, disputed: bool) -> str:
    """Stage with the overriding states of §4: paid, credit, disputed."""
    if balance_cents == 0:
        return "paid"
    if balance_cents < 0:
        return "credit"
    if disputed:
        return "disputed"
    return ladder_stage(days_overdue)


@dataclass(frozen=True)
class Spec:
    """One open item of every ledger, before localisation (amounts in cents)."""

    days: int
    amount: int
    paid: int = 0
    disputed: bool = False
    bad_due: bool = False  # the due date cell holds an impossible date


# Group 1 lies above a subtotal row, group 2 below a repeated header. The bad due date is
# the fourth item of group 2: sheet row 17 of the Spanish ledger (header in row 4).
GROUP_1 = (
    Spec(-20, 123456),
    Spec(-3, 98000),
    Spec(0, 250075, paid=50075),
    Spec(15, 1234567),
    Spec(45, 56789, paid=6789),
    Spec(75, 310000, disputed=True),
)
GROUP_2 = (
    Spec(120, 87650),
    Spec(400, 45000),
    Spec(800, 1999999),
    Spec(100, 66600, bad_due=True),
    Spec(40, 72000, paid=72000),
    Spec(10, -15000),
    Spec(65, 410000, paid=100000),
)


@dataclass(frozen=True)
class Item:
    """What the reader must make of one item row."""

    row: int
    customer: str
    invoice: str
    invoice_date: date
    due: date
    balance_cents: int
    currency: str
    stage: str
    due_derived: bool = False

    @property
    def days_overdue(self) -> int:
        """Days past due at AS_OF."""
        return (AS_OF - self.due).days


@dataclass
class MessyLedger:
    """A generated workbook and everything a correct reader finds in it."""

    language: str
    path: Path
    sheet: str
    header_row: int
    items: list[Item]
    skipped: dict[int, str]  # sheet row -> word that its skip reason must contain
    warnings: list[tuple[str, str]]  # (cell, message) of every warning expected
    unmapped: list[tuple[str, str]]  # (cell, header) of columns that name no field
    date1904: bool = False

    def outstanding(self) -> dict[str, int]:
        """Balance per currency, credits included (the JSON 'outstanding')."""
        totals: dict[str, int] = {}
        for item in self.items:
            totals[item.currency] = totals.get(item.currency, 0) + item.balance_cents
        return totals

    def overdue(self) -> dict[str, int]:
        """Balance per currency of ladder items at least one day past due."""
        totals: dict[str, int] = {}
        for item in self.items:
            if item.stage in OVERDUE_STAGES and item.days_overdue >= 1:
                totals[item.currency] = totals.get(item.currency, 0) + item.balance_cents
        return totals


# ------------------------------------------------------------------ localisation helpers


def _group(whole: int, separator: str) -> str:
    text = str(whole)
    groups = []
    while text:
        groups.insert(0, text[-3:])
        text = text[:-3]
    return separator.join(groups or ["0"])


def _decimal(cents: int, thousands: str, decimal: str) -> str:
    whole, fraction = divmod(abs(cents), 100)
    return f"{_group(whole, thousands)}{decimal}{fraction:02d}"


def excel_serial(day: date, date1904: bool = False) -> int:
    """The Excel serial number of ``day`` (1900 or 1904 system)."""
    epoch = date(1904, 1, 1) if date1904 else date(1899, 12, 30)
    return (day - epoch).days


@dataclass(frozen=True)
class Language:
    """How one language's clerks lay out and write a ledger."""

    code: str
    sheet: str
    titles: Sequence[Sequence[object]]  # rows above the header (after the title row)
    title: str
    header: Sequence[str]  # customer, invoice, invoice date, due date, amount, paid,
    # balance, disputed, unmapped column (in this order)
    customers: Sequence[str]
    invoice: Callable[[int], str]
    invoice_date: Callable[[date, int], object]
    due_date: Callable[[date], str]
    bad_due: str
    amount: Callable[[int, int], tuple[object, str]]  # (cents, index) -> (cell, currency)
    paid: Callable[[int], object]
    flag: tuple[str, object]
    subtotal_label: str | None
    total_label: str
    note: str
    notes_sheet: str
    notes_first: bool
    extra_sheets: Sequence[tuple[str, Sequence[Sequence[object]]]] = ()


def _es_amount(cents: int, index: int) -> tuple[object, str]:
    if index % 4 == 1:
        return cents / 100, "EUR"  # a plain number: the currency comes from settings
    sign = "-" if cents < 0 else ""
    return f"{sign}{_decimal(cents, '.', ',')} €", "EUR"


def _en_amount(cents: int, index: int) -> tuple[object, str]:
    symbol, code = ("$", "USD") if index % 2 == 0 else ("£", "GBP")
    text = f"{symbol}{_decimal(cents, ',', '.')}"
    return (f"({text})" if cents < 0 else text), code


def _zh_amount(cents: int, index: int) -> tuple[object, str]:
    body = _decimal(cents, ",", ".")
    sign = "-" if cents < 0 else ""
    form = index % 3
    if form == 0:
        return f"{sign}¥{body}", "CNY"  # bare ¥: yuan because the column also says 元
    if form == 1:
        return f"{sign}{body}元", "CNY"
    return f"RMB {sign}{body}", "CNY"


def _hu_amount(cents: int, index: int) -> tuple[object, str]:
    # Forints are written without fillér: amounts here are whole forints.
    sign = "-" if cents < 0 else ""
    return f"{sign}{_group(abs(cents) // 100, ' ')} Ft", "HUF"


def _de_amount(cents: int, index: int) -> tuple[object, str]:
    sign = "-" if cents < 0 else ""
    return f"{sign}{_decimal(cents, '.', ',')} €", "EUR"


def _fr_amount(cents: int, index: int) -> tuple[object, str]:
    sign = "-" if cents < 0 else ""
    return f"{sign}{_decimal(cents, chr(0x202F), ',')}\u00a0€", "EUR"


def _as_datetime(day: date, _index: int) -> object:
    return datetime(day.year, day.month, day.day)


LANGUAGE_SPECS: dict[str, Language] = {
    "es": Language(
        code="es",
        sheet="Octubre",
        title="Cartera de clientes a 31 de octubre de 2026",
        titles=[["Distribuciones Ibéricas, S.L."], []],
        header=[
            "Cliente",
            "Nº Factura",
            "Fecha factura",
            "Vencimiento",
            "Importe",
            "Cobrado",
            "Saldo pendiente",
            "En disputa",
            "Ref. interna",
        ],
        customers=[
            "Hermanos García, S.L.",
            "Talleres Ruiz",
            "Ferretería El Clavo",
            "Construcciones Levante",
            "Muebles Olmedo",
            "Óptica Martín",
            "Transportes Duero",
            "Papelería Sol",
            "Bodegas Ribera",
            "Clínica Dental Sonrisa",
            "Café Central",
            "Academia Cervantes",
            "Aceites del Sur",
        ],
        invoice=lambda n: f"FV-2026-{101 + n:04d}",
        invoice_date=_as_datetime,
        due_date=lambda d: d.strftime("%d/%m/%Y"),
        bad_due="31/02/2026",
        amount=_es_amount,
        paid=lambda c: c / 100 if c else "-",
        flag=("sí", "no"),
        subtotal_label=None,
        total_label="TOTAL",
        note="Importes en euros, IVA incluido.",
        notes_sheet="Notas",
        notes_first=True,
    ),
    "en": Language(
        code="en",
        sheet="AR Aging",
        title="Northwind Trading Ltd",
        titles=[["Accounts Receivable Aging Report"], ["As of October 31, 2026"], []],
        header=[
            "Customer Name",
            "Invoice #",
            "Invoice Date",
            "Due Date",
            "Amount",
            "Paid",
            "Balance",
            "Disputed?",
            "Internal Ref",
        ],
        customers=[
            "Acme Industrial Ltd",
            "Total Energies UK Ltd",
            "Blue Harbor Foods",
            "Keystone Builders",
            "Maple & Oak Interiors",
            "Pioneer Logistics",
            "Redwood Medical",
            "Summit Office Supply",
            "Harbor View Hotel",
            "Greenfield Farms",
            "Brightline Media",
            "Northgate Motors",
            "Oakridge Dental",
        ],
        invoice=lambda n: f"INV-{10001 + n}",
        invoice_date=lambda d, i: d,  # serials later
        due_date=lambda d: d.strftime("%m/%d/%Y"),
        bad_due="02/30/2026",
        amount=_en_amount,
        paid=lambda c: c / 100,
        flag=("Y", None),
        subtotal_label="Subtotal",
        total_label="Grand Total",
        note="Prepared by: J. Smith",
        notes_sheet="Notes",
        notes_first=False,
        extra_sheets=[
            (
                "Summary",
                [
                    ["Customer", "Balance", "Last payment"],
                    ["Acme Industrial Ltd", 1234.56, "Sep 2026"],
                ],
            )
        ],
    ),
    "zh": Language(
        code="zh",
        sheet="应收账款",
        title="应收账款明细表",
        titles=[["截止日期：2026年10月31日", None, None, None, "单位：元"], []],
        header=[
            "客户名称",
            "发票号码",
            "开票日期",
            "到期日",
            "金额",
            "已收金额",
            "余额",
            "是否争议",
            "内部编号",
        ],
        customers=[
            "北京华联商贸有限公司",
            "上海东方机电有限公司",
            "广州南方食品厂",
            "深圳星河电子",
            "杭州西湖茶业",
            "成都天府建材",
            "武汉长江物流",
            "南京金陵印务",
            "西安古城餐饮",
            "重庆山城汽配",
            "天津海河化工",
            "苏州园林设计院",
            "青岛啤酒经销部",
        ],
        invoice=lambda n: f"FP2026{n + 1:04d}",
        invoice_date=lambda d, i: f"{d.year}年{d.month}月{d.day}日",
        due_date=lambda d: f"{d.year}年{d.month}月{d.day}日",
        bad_due="2026年2月30日",
        amount=_zh_amount,
        paid=lambda c: c / 100,
        flag=("是", "否"),
        subtotal_label="小计",
        total_label="合计",
        note="制表人：王芳",
        notes_sheet="说明",
        notes_first=False,
    ),
    "hu": Language(
        code="hu",
        sheet="Kintlévőségek",
        title="Vevői folyószámla – kintlévőségek",
        titles=[
            ["Cég: Duna Kereskedelmi Kft."],
            ["Fordulónap: 2026.10.31."],
            [],
            ["Minden összeg forintban"],
            [],
        ],
        header=[
            "Vevő",
            "Számlaszám",
            "Számla kelte",
            "Fizetési határidő",
            "Összeg",
            "Fizetve",
            "Egyenleg",
            "Vitatott",
            "Belső azonosító",
        ],
        customers=[
            "Kovács és Társa Kft.",
            "Tisza Fuvarozó Bt.",
            "Balaton Szálló Zrt.",
            "Mecsek Építő Kft.",
            "Hortobágyi Tejüzem",
            "Pannon Nyomda Kft.",
            "Szegedi Paprika Bt.",
            "Bükk Erdészet Kft.",
            "Alföldi Gabona Zrt.",
            "Budai Cukrászda",
            "Rába Alkatrész Kft.",
            "Zemplén Borház",
            "Őrségi Fatelep",
        ],
        invoice=lambda n: f"SZ-2026/{n + 1:03d}",
        invoice_date=_as_datetime,
        due_date=lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}.",
        bad_due="2026.02.30.",
        amount=_hu_amount,
        paid=lambda c: c / 100,
        flag=("igen", "nem"),
        subtotal_label=None,
        total_label="Összesen",
        note="Készítette: Nagy Éva",
        notes_sheet="Megjegyzések",
        notes_first=True,
    ),
    "de": Language(
        code="de",
        sheet="Offene Posten",
        title="Offene Posten – Debitoren",
        titles=[["Stand: 31.10.2026"], []],
        header=[
            "Kunde",
            "Rechnungsnummer",
            "Rechnungsdatum",
            "Fällig am",
            "Betrag",
            "Bezahlt",
            "Offener Betrag",
            "Strittig",
            "Interne Ref.",
        ],
        customers=[
            "Müller Maschinenbau GmbH",
            "Bäckerei Schröder",
            "Autohaus Weber KG",
            "Elektro Fischer",
            "Gärtnerei Hoffmann",
            "Zahnarztpraxis Becker",
            "Schreinerei Wagner",
            "Hotel Zur Post",
            "Druckerei Schulz",
            "Apotheke am Markt",
            "Brauerei Krause",
            "Spedition Neumann",
            "Malerbetrieb Wolf",
        ],
        invoice=lambda n: f"RE-2026-{n + 1:03d}",
        invoice_date=lambda d, i: d.strftime("%d.%m.%Y"),
        due_date=lambda d: d.strftime("%d.%m.%Y"),
        bad_due="30.02.2026",
        amount=_de_amount,
        paid=lambda c: c / 100,
        flag=("ja", "nein"),
        subtotal_label=None,
        total_label="Summe",
        note="Alle Beträge in Euro.",
        notes_sheet="Hinweise",
        notes_first=False,
    ),
    "fr": Language(
        code="fr",
        sheet="Créances",
        title="Balance âgée clients",
        titles=[["Société : Provence Distribution SARL"], ["Arrêtée au 31/10/2026"], [], []],
        header=[
            "Nom du client",
            "N° facture",
            "Date de facture",
            "Échéance",
            "Montant TTC",
            "Montant réglé",
            "Solde",
            "En litige",
            "Réf. interne",
        ],
        customers=[
            "Boulangerie Martin",
            "Garage Dupont",
            "Pharmacie Lefèvre",
            "Menuiserie Moreau",
            "Hôtel du Lac",
            "Cabinet Girard",
            "Fromagerie Roux",
            "Imprimerie Fournier",
            "Transports Mercier",
            "Librairie Blanc",
            "Plomberie Henry",
            "Vins Chevalier",
            "Atelier Garnier",
        ],
        invoice=lambda n: f"FA-2026-{n + 1:03d}",
        invoice_date=_as_datetime,
        due_date=lambda d: d.strftime("%d/%m/%Y"),
        bad_due="30/02/2026",
        amount=_fr_amount,
        paid=lambda c: c / 100,
        flag=("oui", "non"),
        subtotal_label="Sous-total",
        total_label="Total général",
        note="Montants en euros TTC.",
        notes_sheet="Notes",
        notes_first=False,
    ),
}


# ------------------------------------------------------------------------ the generator


@dataclass
class _Sheet:
    """Cells and formulas of the ledger sheet before it is written."""

    rows: list[list[object]] = field(default_factory=list)
    formulas: dict[str, tuple[str, float]] = field(default_factory=dict)  # ref -> (f, cached)
    merges: list[str] = field(default_factory=list)


def _letter(column: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[column - 1]


def layout_ledger(language: str, date1904: bool = False) -> tuple[_Sheet, MessyLedger]:
    """Lay out the ledger of ``language``; returns the sheet and what must be found."""
    spec = LANGUAGE_SPECS[language]
    sheet = _Sheet()
    width = len(spec.header)
    sheet.rows.append([spec.title])
    sheet.merges.append(f"A1:{_letter(width)}1")
    for line in spec.titles:
        sheet.rows.append(list(line))
    header_row = len(sheet.rows) + 1
    sheet.rows.append(list(spec.header))
    items: list[Item] = []
    skipped: dict[int, str] = {}
    warnings: list[tuple[str, str]] = []
    # Forints have no fillér: scale amounts so they stay whole.
    scale = 100 if language == "hu" else 1
    amount_col, paid_col, balance_col = 5, 6, 7

    def item_row(index: int, item: Spec) -> None:
        row = len(sheet.rows) + 1
        amount, paid = item.amount * scale, item.paid * scale
        balance = amount - paid
        due = AS_OF - timedelta(days=item.days)
        invoice_day = due - timedelta(days=30)
        amount_cell, currency = spec.amount(amount, index)
        if language == "en":
            invoice_cell: object = excel_serial(invoice_day, date1904)
        else:
            invoice_cell = spec.invoice_date(invoice_day, index)
        due_cell = spec.bad_due if item.bad_due else spec.due_date(due)
        flag = spec.flag[0] if item.disputed else spec.flag[1]
        sheet.rows.append(
            [
                spec.customers[index],
                spec.invoice(index),
                invoice_cell,
                due_cell,
                amount_cell,
                spec.paid(paid),
                None,
                flag,
                f"R{7000 + index}",
            ]
        )
        sheet.formulas[f"{_letter(balance_col)}{row}"] = (
            f"{_letter(amount_col)}{row}-{_letter(paid_col)}{row}",
            balance / 100,
        )
        if item.bad_due:
            warnings.append((cell_ref(spec.sheet, row, 4), f"'{spec.bad_due}' is not a date"))
        items.append(
            Item(
                row=row,
                customer=spec.customers[index],
                invoice=spec.invoice(index),
                invoice_date=invoice_day,
                due=due,
                balance_cents=balance,
                currency=currency,
                stage=expected_stage(item.days, balance, item.disputed),
                due_derived=item.bad_due,
            )
        )

    def sums_row(label: str | None, first: int, last: int, reason: str) -> None:
        row = len(sheet.rows) + 1
        rows = [i for i in items if first <= i.row <= last]
        line: list[object] = [label] + [None] * (width - 1)
        for column, part in ((amount_col, "amount"), (paid_col, "paid"), (balance_col, "balance")):
            total = sum(_spec_cents(language, i, part) for i in rows) / 100
            sheet.formulas[f"{_letter(column)}{row}"] = (
                f"SUBTOTAL(9,{_letter(column)}{first}:{_letter(column)}{last})",
                total,
            )
        sheet.rows.append(line)
        skipped[row] = reason

    first = len(sheet.rows) + 1
    for index, item in enumerate(GROUP_1):
        item_row(index, item)
    sums_row(spec.subtotal_label, first, len(sheet.rows), "totals")
    sheet.rows.append([])
    skipped[len(sheet.rows)] = "blank"
    sheet.rows.append(list(spec.header))
    skipped[len(sheet.rows)] = "repeated header"
    first = len(sheet.rows) + 1
    for offset, item in enumerate(GROUP_2):
        item_row(len(GROUP_1) + offset, item)
    sheet.rows.append([])
    skipped[len(sheet.rows)] = "blank"
    sums_row(spec.total_label, header_row + 1, len(sheet.rows), "totals")
    sheet.rows.append([spec.note])
    skipped[len(sheet.rows)] = "note"
    unmapped = [(cell_ref(spec.sheet, header_row, width), spec.header[-1])]
    ledger = MessyLedger(
        language=language,
        path=Path(),
        sheet=spec.sheet,
        header_row=header_row,
        items=items,
        skipped=skipped,
        warnings=warnings,
        unmapped=unmapped,
        date1904=date1904,
    )
    return sheet, ledger


def _spec_cents(language: str, item: Item, part: str) -> int:
    """Amount, paid or balance of a generated item, from its specification."""
    spec = (GROUP_1 + GROUP_2)[LANGUAGE_SPECS[language].customers.index(item.customer)]
    scale = 100 if language == "hu" else 1
    return {"amount": spec.amount, "paid": spec.paid, "balance": spec.amount - spec.paid}[
        part
    ] * scale


def write_messy(directory: Path, language: str, *, date1904: bool = False) -> MessyLedger:
    """Write the messy ledger of ``language`` into ``directory``; see :class:`MessyLedger`.

    The balance column holds formulas whose cached values are patched into the sheet XML
    (openpyxl writes formulas without them), as Excel saves them.
    """
    spec = LANGUAGE_SPECS[language]
    sheet, ledger = layout_ledger(language, date1904)
    name = f"messy_{language}{'_1904' if date1904 else ''}.xlsx"
    path = directory / name
    book = Workbook()
    if date1904:
        book.epoch = CALENDAR_MAC_1904
    ledger_ws = book.active
    ledger_ws.title = spec.sheet
    notes = [
        ["Notas de cierre" if language == "es" else "Notes"],
        [spec.note],
        ["Revisar las partidas en disputa" if language == "es" else "-"],
    ]
    notes_ws = book.create_sheet(spec.notes_sheet, 0 if spec.notes_first else None)
    for line in notes:
        notes_ws.append(line)
    for sheet_name, lines in spec.extra_sheets:
        extra = book.create_sheet(sheet_name, 0)
        for line in lines:
            extra.append(list(line))
    for row_number, line in enumerate(sheet.rows, start=1):
        for column, value in enumerate(line, start=1):
            if value is not None:
                cell = ledger_ws.cell(row=row_number, column=column, value=value)
                if isinstance(value, datetime):
                    cell.number_format = "dd/mm/yyyy"
    for ref, (formula, _cached) in sheet.formulas.items():
        ledger_ws[ref] = f"={formula}"
    for merged in sheet.merges:
        ledger_ws.merge_cells(merged)
    buffer = io.BytesIO()
    book.save(buffer)
    sheet_index = book.sheetnames.index(spec.sheet) + 1
    data = _patch_cached_values(
        buffer.getvalue(), f"xl/worksheets/sheet{sheet_index}.xml", sheet.formulas
    )
    path.write_bytes(data)
    ledger.path = path
    return ledger


def _number_text(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(value)


def _patch_cached_values(
    package: bytes, part: str, formulas: dict[str, tuple[str, float]]
) -> bytes:
    """Give every formula of ``part`` the cached value Excel would have saved."""
    source = zipfile.ZipFile(io.BytesIO(package))
    xml = source.read(part).decode("utf-8")

    def cached(match: re.Match[str]) -> str:
        ref = match.group(1)
        value = formulas[ref][1]
        body = f"<f>{match.group(3)}</f><v>{_number_text(value)}</v>"
        return f'<c r="{ref}"{match.group(2)}>{body}</c>'

    xml, count = re.subn(
        r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f><v\s*/?>(?:</v>)?</c>', cached, xml
    )
    assert count == len(formulas), (count, len(formulas))
    return _rewrite_zip(source, {part: xml.encode("utf-8")})


def _rewrite_zip(
    source: zipfile.ZipFile, replace: dict[str, bytes], add: dict[str, bytes] | None = None
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def add_vba_project(package: bytes, vba: bytes) -> bytes:
    """Turn an .xlsx package into an .xlsm holding ``vba`` as xl/vbaProject.bin."""
    source = zipfile.ZipFile(io.BytesIO(package))
    types = source.read("[Content_Types].xml").decode("utf-8")
    types = types.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    if 'Extension="bin"' not in types:
        types = types.replace(
            "<Default ",
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
            "<Default ",
            1,
        )
    rels = source.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/'
        'vbaProject" Target="vbaProject.bin"/></Relationships>',
    )
    return _rewrite_zip(
        source,
        {"[Content_Types].xml": types.encode(), "xl/_rels/workbook.xml.rels": rels.encode()},
        {"xl/vbaProject.bin": vba},
    )


def ledger_grid(language: str, date1904: bool = False) -> tuple[list[list[object]], MessyLedger]:
    """The ledger's cells as a formula-free grid (cached values in place of formulas)."""
    sheet, ledger = layout_ledger(language, date1904)
    rows = [list(line) for line in sheet.rows]
    for ref, (_formula, cached) in sheet.formulas.items():
        column = ord(ref[0]) - 64
        row = int(ref[1:])
        line = rows[row - 1]
        line.extend([None] * (column - len(line)))
        line[column - 1] = cached
    return rows, ledger


# --------------------------------------------------------------------- a minimal .xlsb


def biff12_record(kind: int, body: bytes = b"") -> bytes:
    """One BIFF12 record: variable-length type and size, then the body."""
    head = bytes([kind]) if kind < 0x80 else bytes([(kind & 0x7F) | 0x80, kind >> 7])
    size, length = len(body), bytearray()
    while True:
        byte = size & 0x7F
        size >>= 7
        length.append(byte | (0x80 if size else 0))
        if not size:
            break
    return head + bytes(length) + body


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def _xlsb_sheet(rows: Sequence[Sequence[object]], date1904: bool) -> bytes:
    parts = [
        biff12_record(0x0081),  # BrtBeginSheet
        biff12_record(0x0094, struct.pack("<IIII", 0, max(len(rows) - 1, 0), 0, 15)),
        biff12_record(0x0091),
    ]  # BrtBeginSheetData
    for row_index, line in enumerate(rows):
        parts.append(biff12_record(0x0000, struct.pack("<IIHBBBI", row_index, 0, 300, 0, 0, 0, 0)))
        for column, value in enumerate(line):
            if value is None or value == "":
                continue
            cell = struct.pack("<II", column, 0)  # column, style 0 (General)
            if isinstance(value, bool):
                parts.append(biff12_record(0x0004, cell + bytes([value])))
            elif isinstance(value, datetime | date):
                day = value.date() if isinstance(value, datetime) else value
                serial = float(excel_serial(day, date1904))
                parts.append(biff12_record(0x0005, cell + struct.pack("<d", serial)))
            elif isinstance(value, int | float):
                # BrtFmlaNum with an empty formula: a formula cell and its cached value.
                cached = struct.pack("<dHII", float(value), 0, 0, 0)
                parts.append(biff12_record(0x0009, cell + cached))
            else:
                parts.append(biff12_record(0x0006, cell + _wide(str(value))))
    parts += [biff12_record(0x0092), biff12_record(0x0082)]  # BrtEndSheetData, BrtEndSheet
    return b"".join(parts)


def write_xlsb(
    path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[object]]]], date1904: bool = False
) -> Path:
    """Write ``sheets`` (name, rows of values) as a minimal .xlsb workbook.

    Dates become serial numbers in General format (no styles part), numbers become
    formula cells with cached values, text inline strings.
    """
    properties = struct.pack("<II", 1 if date1904 else 0, 0) + _wide("")  # bit 0: f1904
    book = [
        biff12_record(0x0083),  # BrtBeginBook
        biff12_record(0x0099, properties),  # BrtWbProp
        biff12_record(0x008F),
    ]  # BrtBeginBundleShs
    rels = []
    for number, (name, _rows) in enumerate(sheets, start=1):
        book.append(
            biff12_record(
                0x009C, struct.pack("<II", 0, number) + _wide(f"rId{number}") + _wide(name)
            )
        )
        rels.append(
            f'<Relationship Id="rId{number}" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{number}.bin"/>'
        )
    book += [biff12_record(0x0090), biff12_record(0x009D, bytes(26)), biff12_record(0x0084)]
    sheet_type = "application/vnd.ms-excel.worksheet"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.bin" ContentType="{sheet_type}"/>'
        for n in range(1, len(sheets) + 1)
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.bin" ContentType="application/vnd.ms-excel.'
        f'sheet.binary.macroEnabled.main"/>{overrides}</Types>'
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>'
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(rels)
        + "</Relationships>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", root_rels)
        archive.writestr("xl/workbook.bin", b"".join(book))
        archive.writestr("xl/_rels/workbook.bin.rels", workbook_rels)
        for number, (_name, rows) in enumerate(sheets, start=1):
            archive.writestr(f"xl/worksheets/sheet{number}.bin", _xlsb_sheet(rows, date1904))
    return path


def write_messy_xlsb(directory: Path, language: str, date1904: bool = False) -> MessyLedger:
    """The messy ledger of ``language`` as .xlsb, with its notes sheet first."""
    spec = LANGUAGE_SPECS[language]
    rows, ledger = ledger_grid(language, date1904)
    path = directory / f"messy_{language}.xlsb"
    write_xlsb(path, [(spec.notes_sheet, [["Notes"], [spec.note]]), (spec.sheet, rows)], date1904)
    ledger.path = path
    return ledger
