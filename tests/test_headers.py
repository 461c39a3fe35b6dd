"""Tests for multilingual header recognition and header-row scoring."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.core.frame import FIELDS
from receivables.core.headers import (
    HeaderMatcher,
    known_names,
    normalise_header,
    score_header_row,
)

MATCHER = HeaderMatcher()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Customer Name", "customername"),
        ("  CUSTOMER_NAME ", "customername"),
        ("Razón social", "razonsocial"),
        ("Nº Factura", "nofactura"),
        ("N° factura", "nofactura"),
        ("No. factura", "nofactura"),
        ("Nº. factura", "nofactura"),
        ("№ factura", "nofactura"),
        ("Inv #", "invno"),
        ("Invoice#", "invoiceno"),
        ("Fizetési határidő", "fizetesihatarido"),
        ("Fälligkeitsdatum", "falligkeitsdatum"),
        ("Straße", "strasse"),
        ("Date d'échéance", "datedecheance"),
        ("客户名称（全称）", "客户名称全称"),
        ("客戶名稱", "客戶名稱"),
        ("ＣＵＳＴＯＭＥＲ", "customer"),
        ("E-mail", "email"),
        (None, ""),
        (42, "42"),
    ],
)
def test_normalise_header(text: object, key: str) -> None:
    assert normalise_header(text) == key


@given(st.text(max_size=30))
def test_normalise_header_is_idempotent(text: str) -> None:
    once = normalise_header(text)
    assert normalise_header(once) == once


@given(st.text(alphabet=st.sampled_from(" .-_/():\u00a0\u3000（）：、"), max_size=10))
def test_normalise_header_ignores_punctuation_and_spaces(noise: str) -> None:
    assert normalise_header(f"{noise}Saldo{noise}pendiente{noise}") == "saldopendiente"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        # customer
        ("Customer", "customer"),
        ("Client", "customer"),
        ("Customer name", "customer"),
        ("Debtor", "customer"),
        ("Account name", "customer"),
        ("Cliente", "customer"),
        ("Razón social", "customer"),
        ("RAZON SOCIAL", "customer"),
        ("Deudor", "customer"),
        ("客户", "customer"),
        ("客户名称", "customer"),
        ("客戶", "customer"),
        ("Ügyfél", "customer"),
        ("Vevő", "customer"),
        ("Partner", "customer"),
        ("Kunde", "customer"),
        ("Debitor", "customer"),
        ("Nom du client", "customer"),
        # customer_id
        ("Customer ID", "customer_id"),
        ("Customer No.", "customer_id"),
        ("Código cliente", "customer_id"),
        ("客户编号", "customer_id"),
        ("Ügyfélkód", "customer_id"),
        ("Kunden-Nr.", "customer_id"),
        ("N° client", "customer_id"),
        ("Account", "customer_id"),
        # invoice
        ("Invoice", "invoice"),
        ("Invoice no.", "invoice"),
        ("Inv #", "invoice"),
        ("Document", "invoice"),
        ("Factura", "invoice"),
        ("Nº factura", "invoice"),
        ("发票号", "invoice"),
        ("发票号码", "invoice"),
        ("Számla", "invoice"),
        ("Számlaszám", "invoice"),
        ("Rechnung", "invoice"),
        ("Rechnungsnummer", "invoice"),
        ("Facture", "invoice"),
        ("N° facture", "invoice"),
        # invoice_date
        ("Invoice date", "invoice_date"),
        ("Date", "invoice_date"),
        ("Fecha factura", "invoice_date"),
        ("发票日期", "invoice_date"),
        ("Számla kelte", "invoice_date"),
        ("Rechnungsdatum", "invoice_date"),
        ("Date de facture", "invoice_date"),
        # due_date
        ("Due date", "due_date"),
        ("Due", "due_date"),
        ("Vencimiento", "due_date"),
        ("Fecha de vencimiento", "due_date"),
        ("到期日", "due_date"),
        ("到期日期", "due_date"),
        ("Fizetési határidő", "due_date"),
        ("Esedékesség", "due_date"),
        ("Fällig", "due_date"),
        ("Fälligkeitsdatum", "due_date"),
        ("Échéance", "due_date"),
        ("Date d'échéance", "due_date"),
        # terms_days
        ("Payment terms", "terms_days"),
        ("Terms (days)", "terms_days"),
        ("Plazo de pago", "terms_days"),
        ("账期", "terms_days"),
        ("Fizetési feltétel", "terms_days"),
        ("Zahlungsziel", "terms_days"),
        ("Délai de paiement", "terms_days"),
        # currency
        ("Currency", "currency"),
        ("Moneda", "currency"),
        ("币种", "currency"),
        ("Pénznem", "currency"),
        ("Währung", "currency"),
        ("Devise", "currency"),
        # amount
        ("Amount", "amount"),
        ("Invoice amount", "amount"),
        ("Total", "amount"),
        ("Importe", "amount"),
        ("Monto", "amount"),
        ("金额", "amount"),
        ("发票金额", "amount"),
        ("Összeg", "amount"),
        ("Számla összege", "amount"),
        ("Betrag", "amount"),
        ("Montant", "amount"),
        # paid
        ("Paid", "paid"),
        ("Amount paid", "paid"),
        ("Cobrado", "paid"),
        ("Pagado", "paid"),
        ("已收", "paid"),
        ("已付金额", "paid"),
        ("Fizetve", "paid"),
        ("Befizetett", "paid"),
        ("Bezahlt", "paid"),
        ("Payé", "paid"),
        # balance
        ("Balance", "balance"),
        ("Outstanding", "balance"),
        ("Open amount", "balance"),
        ("Amount due", "balance"),
        ("Saldo", "balance"),
        ("Saldo pendiente", "balance"),
        ("Importe pendiente", "balance"),
        ("余额", "balance"),
        ("未收金额", "balance"),
        ("欠款金额", "balance"),
        ("Egyenleg", "balance"),
        ("Nyitott összeg", "balance"),
        ("Offener Betrag", "balance"),
        ("Solde", "balance"),
        ("Reste dû", "balance"),
        # owner
        ("Sales rep", "owner"),
        ("Collector", "owner"),
        ("Comercial", "owner"),
        ("Gestor", "owner"),
        ("业务员", "owner"),
        ("负责人", "owner"),
        ("Felelős", "owner"),
        ("Üzletkötő", "owner"),
        ("Betreuer", "owner"),
        ("Responsable", "owner"),
        # the rest
        ("Region", "region"),
        ("Zona", "region"),
        ("区域", "region"),
        ("Régió", "region"),
        ("Gebiet", "region"),
        ("Pays", "region"),
        ("Distance (km)", "distance_km"),
        ("Distancia", "distance_km"),
        ("距离", "distance_km"),
        ("Távolság", "distance_km"),
        ("Entfernung", "distance_km"),
        ("Contact", "contact"),
        ("Contacto", "contact"),
        ("联系人", "contact"),
        ("Kapcsolattartó", "contact"),
        ("Ansprechpartner", "contact"),
        ("Phone", "phone"),
        ("Teléfono", "phone"),
        ("电话", "phone"),
        ("Telefon", "phone"),
        ("Téléphone", "phone"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("Correo electrónico", "email"),
        ("邮箱", "email"),
        ("E-mail cím", "email"),
        ("E-Mail-Adresse", "email"),
        ("Courriel", "email"),
        ("Address", "address"),
        ("Dirección", "address"),
        ("地址", "address"),
        ("Cím", "address"),
        ("Anschrift", "address"),
        ("Adresse", "address"),
        ("Language", "language"),
        ("Idioma", "language"),
        ("语言", "language"),
        ("Nyelv", "language"),
        ("Sprache", "language"),
        ("Langue", "language"),
        ("Disputed", "disputed"),
        ("En disputa", "disputed"),
        ("争议", "disputed"),
        ("Vitatott", "disputed"),
        ("Strittig", "disputed"),
        ("Litige", "disputed"),
        ("Dispute reason", "dispute_reason"),
        ("Motivo", "dispute_reason"),
        ("争议原因", "dispute_reason"),
        ("Vita oka", "dispute_reason"),
        ("Grund", "dispute_reason"),
        ("Motif du litige", "dispute_reason"),
        ("Promise to pay", "promise_date"),
        ("PTP date", "promise_date"),
        ("Fecha compromiso", "promise_date"),
        ("承诺付款日", "promise_date"),
        ("Fizetési ígéret", "promise_date"),
        ("Zahlungszusage", "promise_date"),
        ("Promesse de paiement", "promise_date"),
        ("Last contact", "last_contact"),
        ("Último contacto", "last_contact"),
        ("最后联系日期", "last_contact"),
        ("Utolsó kapcsolat", "last_contact"),
        ("Letzter Kontakt", "last_contact"),
        ("Dernier contact", "last_contact"),
        ("Notes", "notes"),
        ("Observaciones", "notes"),
        ("备注", "notes"),
        ("Megjegyzés", "notes"),
        ("Bemerkung", "notes"),
        ("Remarques", "notes"),
        ("Stage override", "stage_override"),
        ("Etapa manual", "stage_override"),
        ("手动阶段", "stage_override"),
        ("Kézi szakasz", "stage_override"),
        ("Manuelle Stufe", "stage_override"),
        ("Étape forcée", "stage_override"),
    ],
)
def test_exact_names(header: str, field: str) -> None:
    assert MATCHER.match(header) == field
    assert MATCHER.match(header.upper()) == field
    assert MATCHER.match(f"  {header}: ") == field


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Customer Name (legal)", "customer"),
        ("Saldo EUR", "balance"),
        ("Balance (USD)", "balance"),
        ("Amount paid EUR", "paid"),
        ("Total amount due", "balance"),
        ("Invoice date (dd/mm/yyyy)", "invoice_date"),
        ("Due date - original", "due_date"),
        ("客户名称（全称）", "customer"),
        ("应收余额", "balance"),
        ("Importe pendiente (€)", "balance"),
        ("Fizetési határidő dátuma", "due_date"),
        ("Offener Betrag in EUR", "balance"),
        ("Customer ID (SAP)", "customer_id"),
        ("Legal customer name", "customer"),
    ],
)
def test_fuzzy_names(header: str, field: str) -> None:
    assert MATCHER.match(header) == field


@pytest.mark.parametrize(
    "header",
    [
        # The product's own output columns must never be read back as input fields.
        "Days Overdue",
        "Aging Bucket",
        "Stage",
        "Next Action",
        "Stage Label",
        # Generic names do not extend, and two fields in one header map to neither.
        "Delivery date",
        "Payment date",
        "Days past due",
        "Days outstanding",
        "Customer invoice",
        "Balance date",
        "Notes on customer and invoice",
        "到期天数",
        "Invoice amount paid balance",
        # Names in the middle only.
        "Old balance brought forward",
        # Nothing at all.
        "",
        "   ",
        "xyz",
        "Σ",
        "#",
        "Nº",
    ],
)
def test_unmatched_headers(header: str) -> None:
    assert MATCHER.match(header) is None


def test_non_text_headers() -> None:
    assert MATCHER.match(None) is None
    assert MATCHER.match(2026) is None


def test_builtin_names_are_unambiguous() -> None:
    fields_by_key: dict[str, set[str]] = defaultdict(set)
    for field, names in known_names().items():
        for name in names:
            fields_by_key[normalise_header(name)].add(field)
    clashes = {key: fields for key, fields in fields_by_key.items() if len(fields) > 1}
    assert clashes == {}
    assert "" not in fields_by_key


def test_every_field_has_names_in_every_language() -> None:
    data = tomllib.loads(
        resources.files("receivables.core").joinpath("headers.toml").read_text("utf-8")
    )
    assert set(data) == set(FIELDS)
    for field in FIELDS:
        assert {"en", "es", "zh", "hu", "de", "fr"} <= set(data[field]), field
        listed = {n for key, names in data[field].items() if key != "exact" for n in names}
        # exact-only names must be names of the same field
        assert set(data[field].get("exact", [])) <= listed, field


def test_known_names_in_field_order_without_repeats() -> None:
    names = known_names()
    assert list(names) == list(FIELDS)
    for field, values in names.items():
        assert values and len(values) == len(set(values)), field
        assert all(MATCHER.match(name) == field for name in values), field


def test_overrides_add_and_win() -> None:
    matcher = HeaderMatcher(
        {"customer": ["Razon soc."], "balance": ("Total",), "notes": "Bemerkungen intern"}
    )
    assert matcher.match("razon soc") == "customer"
    assert matcher.match("RAZÓN SOC.") == "customer"
    assert matcher.match("Total") == "balance"  # built-in says amount; the user wins
    assert matcher.match("Total EUR") == "balance"  # overrides may extend
    assert matcher.match("Bemerkungen intern") == "notes"
    assert matcher.match("Cliente") == "customer"  # built-ins stay
    assert matcher.unknown_fields == ()
    assert MATCHER.match("Total") == "amount"  # other matchers are untouched


def test_override_for_unknown_field_is_reported() -> None:
    matcher = HeaderMatcher({"colour": ["Farbe"], "customer": ["Firma X"]})
    assert matcher.unknown_fields == ("colour",)
    assert matcher.match("Farbe") is None
    assert matcher.match("Firma X") == "customer"


def test_score_header_row_maps_and_resolves_duplicates() -> None:
    row = [
        "Cliente",
        None,
        "Factura",
        "Fecha",
        "Vencimiento",
        "Importe",
        "Saldo",
        "Saldo",
        "",
        42,
        "xyz",
    ]
    match = score_header_row(row)
    assert dict(match.columns) == {
        0: "customer",
        2: "invoice",
        3: "invoice_date",
        4: "due_date",
        5: "amount",
        6: "balance",
    }
    assert dict(match.duplicates) == {7: "balance"}
    assert match.unmapped == (7, 10)
    assert match.complete and match.missing == ()
    assert match.fields["balance"] == 6


def test_score_prefers_exact_over_fuzzy_for_the_same_field() -> None:
    match = score_header_row(["Customer", "Balance (base)", "Balance", "Due date"])
    assert match.columns[2] == "balance"
    assert dict(match.duplicates) == {1: "balance"}


def test_score_reports_missing_required_groups() -> None:
    match = score_header_row(["Invoice", "Notes"])
    assert match.missing == ("customer", "balance or amount", "due_date or invoice_date")
    assert not match.complete


def test_score_ranks_the_real_header_row_first() -> None:
    title = ["Accounts receivable — October 2026", None, None]
    data = ["Acme SL", "F-2026-001", 1234.5, "15/09/2026"]
    header = ["Customer", "Invoice", "Balance", "Due date"]
    partial = ["Customer", "Invoice", "Notes", "Phone", "Email", "Region", "Contact"]
    scores = [score_header_row(row).score for row in (title, data, header, partial)]
    assert scores[2] == max(scores)
    assert scores[0] == scores[1] == 0
    # the required fields weigh more than many optional ones
    assert score_header_row(header).score > score_header_row(partial).score


def test_score_with_custom_matcher() -> None:
    matcher = HeaderMatcher({"customer": ["Zákazník"]})
    assert score_header_row(["Zákazník", "Saldo", "Due"], matcher).complete
    assert not score_header_row(["Zákazník", "Saldo", "Due"]).complete


def test_chinese_and_hungarian_rows_are_complete() -> None:
    chinese = ["客户名称", "发票号码", "发票日期", "到期日", "金额", "已收", "余额"]
    assert score_header_row(chinese).complete
    assert score_header_row(["Ügyfél", "Számlaszám", "Fizetési határidő", "Egyenleg"]).complete
