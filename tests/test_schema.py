"""The settings schema: unknown and bad settings from every layer, bounds, encodings, and
message templates from settings rendered with bounded time and size (hostile settings
are built here, by the tests)."""

from __future__ import annotations

import math
import tomllib
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from receivables.core.as_of import resolve_as_of
from receivables.core.issues import InputError, Severity
from receivables.core.plan import plan_settings
from receivables.core.rules import decode_rules_text, default_layer, load_rules
from receivables.core.schema import Layer, check_layer, derive_schema
from receivables.core.settings_sheet import HEADER, settings_rows, toml_literal
from receivables.core.templates import compile_template, render
from receivables.pipeline import run

from conftest import AS_OF, boundary_rows, write_ledger

BESIDE = "rules.toml beside the workbook"


def _ledger(folder: Path, settings_rows=()) -> Path:
    _days, rows = boundary_rows()
    extra = [("Collections Settings", [HEADER, *settings_rows])] if settings_rows else ()
    return write_ledger(folder / "ledger.xlsx", rows, extra_sheets=extra)


def _warnings(report, where: str) -> list[str]:
    """Warnings at a cell (``'Collections Settings'!C2``) or from a layer (its name)."""
    return [
        i.message
        for i in report.issues
        if where in (str(i.where), i.where.layer)
        and i.severity == Severity.WARNING
        and (i.where.row is None or str(i.where) == where)
    ]


# ---- unknown sections and keys, from each layer, each naming its layer --------------------------


def test_unknown_keys_from_every_layer_name_their_layer(tmp_path):
    (tmp_path / "rules.toml").write_text(
        '[general]\ncountri = "HU"\n[plan]\ncapacity_per_dya = 3\n[headers]\ncustmer = ["X"]\n'
        '[colours]\nstage = "red"\n',
        "utf-8",
    )
    source = _ledger(tmp_path, [("general", "languag", "es", ""), ("plan", "horizon_days", 45, "")])
    extra = tmp_path / "extra.toml"
    extra.write_text('[lables]\nstage = "Fase"\n', "utf-8")
    report = run(source, tmp_path / "out.xlsx", AS_OF, rules_file=extra)

    beside = _warnings(report, BESIDE)
    assert any(
        "general.countri is not a known setting (did you mean general.country?)" in m
        for m in beside
    )
    assert any(
        "plan.capacity_per_dya is not a known setting (did you mean plan.capacity_per_day?)" in m
        for m in beside
    )
    assert any("headers.custmer" in m and "did you mean customer?" in m for m in beside)
    assert any("section colours is not a known section" in m for m in beside)
    sheet = _warnings(report, "'Collections Settings'!C2")
    assert sheet and "general.languag is not a known setting" in sheet[0]
    rules_file = _warnings(report, f"--rules {extra}")
    assert (
        rules_file
        and "section lables is not a known section (did you mean labels?)" in rules_file[0]
    )
    # The known row of the sheet still applies; the packaged values stay for the rest.
    assert report.rules.section("plan")["horizon_days"] == 45
    assert (
        report.rules.section("plan")["capacity_per_day"]
        == default_layer()["plan"]["capacity_per_day"]
    )
    # Every one of them is listed on the Exceptions sheet with its layer.
    rows = [
        [c.value for c in r] for r in load_workbook(tmp_path / "out.xlsx")["Exceptions"].iter_rows()
    ]
    wheres = {row[1] for row in rows}
    assert {
        f"{BESIDE} general.countri",
        "'Collections Settings'!C2",
        f"--rules {extra} lables",
    } <= wheres


# ---- bad values: bounded numbers, the packaged default kept -------------------------------------


def test_hostile_numbers_from_the_settings_sheet_keep_the_defaults(tmp_path):
    # The sheet as the Settings button writes it, with hostile values typed in.
    hostile = {
        ("interest.regimes.contract", "rate"): 1e300,
        ("letters.reply_days", "final_demand"): 1e8,
        ("plan.stage_weights", "legal"): 1e308,
        ("plan.stage_weights", "final"): 0.5,
        ("stages.legal", "from_days"): 1e20,
        ("plan", "recovery_curve"): "[[0, 0.9], [30, 7]]",
        ("plan", "horizon_days"): "inf",
    }
    rows = [(s, k, hostile.get((s, k), v), "") for s, k, v, _d in settings_rows(default_layer())]
    cell = {
        key: f"'Collections Settings'!C{index}"
        for index, (s, k, _v, _d) in enumerate(rows, start=2)
        for key in [(s, k)]
        if key in hostile
    }
    source = _ledger(tmp_path, rows)
    out = tmp_path / "out.xlsx"
    report = run(source, out, AS_OF)
    packaged = default_layer()
    plan = report.rules.section("plan")
    by_cell = {str(i.where): i.message for i in report.issues if i.severity == Severity.WARNING}
    assert (
        "interest.regimes.contract.rate must be a number from 0 to 100"
        in by_cell[cell[("interest.regimes.contract", "rate")]]
    )
    assert (
        "letters.reply_days.final_demand must be a whole number from 0 to 365"
        in by_cell[cell[("letters.reply_days", "final_demand")]]
    )
    assert (
        "plan.stage_weights.legal must be a number from 0 to 100"
        in by_cell[cell[("plan.stage_weights", "legal")]]
    )
    assert (
        "stages.legal.from_days must be a whole number"
        in by_cell[cell[("stages.legal", "from_days")]]
    )
    assert (
        "plan.recovery_curve must be a list of [days, probability 0..1] pairs"
        in by_cell[cell[("plan", "recovery_curve")]]
    )
    assert "plan.horizon_days" in by_cell[cell[("plan", "horizon_days")]]
    assert (
        report.rules.section("interest")["regimes"]["contract"]["rate"]
        == packaged["interest"]["regimes"]["contract"]["rate"]
    )
    assert (
        report.rules.section("letters")["reply_days"]["final_demand"]
        == packaged["letters"]["reply_days"]["final_demand"]
    )
    # One bad weight drops only itself; the good one applies, the others stay packaged.
    assert plan["stage_weights"] == {**packaged["plan"]["stage_weights"], "final": 0.5}
    # A bad curve keeps the packaged 8-point curve.
    assert plan["recovery_curve"] == packaged["plan"]["recovery_curve"]
    assert len(plan_settings(report.rules)[0].recovery_curve) == 8
    assert [s.from_days for s in report.rules.stages] == [
        s.get("from_days") for s in packaged["stages"]
    ]
    # Nothing infinite or not-a-number reaches a cell of the workbook.
    with zipfile.ZipFile(out) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/"):
                text = package.read(name).decode()
                assert "<v>inf" not in text.lower() and "<v>nan" not in text.lower()
    for sheet in load_workbook(out, data_only=True):
        for row in sheet.iter_rows(values_only=True):
            assert all(math.isfinite(v) for v in row if isinstance(v, float))


@pytest.mark.parametrize(
    ("layer", "needle"),
    [
        ({"plan": {"capacity_per_day": 0}}, "plan.capacity_per_day must be a whole number from 1"),
        ({"plan": {"horizon_days": 10**20}}, "plan.horizon_days must be a whole number"),
        (
            {"plan": {"exchange_rates": {"USD": -1}}},
            "plan.exchange_rates.USD must be a number above",
        ),
        ({"plan": {"exchange_rates": {"usd1": 1}}}, "a 3-letter currency code"),
        ({"general": {"date_order": "ymd"}}, "general.date_order must be one of auto, dmy, mdy"),
        ({"general": {"default_terms_days": 30.5}}, "must be a whole number, not 30.5"),
        ({"labels": {"plan_sheet": "Plan: Oct/Nov [draft]?"}}, "not a sheet name Excel allows"),
        ({"labels": {"plan_sheet": "x" * 51}}, "51 characters"),
        ({"labels": {"aging_sheet": "EXCEPTIONS"}}, "already the name of labels.exceptions_sheet"),
        ({"stages": [{"key": "a"}, {"key": "paid", "from_days": 1}]}, "reserved"),
        (
            {"stages": [{"key": "a"}, {"key": "b", "from_days": 5}, {"key": "c", "from_days": 5}]},
            "from_days must rise",
        ),
        ({"states": {"paid": {"color": "red"}}}, "hex RGB colour"),
        ({"messages": {"notice": "{% for %}"}}, "messages.notice is not a valid template"),
        ({"company": {"name": 12}}, "company.name must be text"),
        (
            {"interest": {"regimes": {"eu_directive": {"margin": "8,00%"}}}},
            "interest.regimes.eu_directive.margin must be a decimal number",
        ),
        (
            {"interest": {"rates": {"hu_ptk": {"2027-01-01": {"rate": "1e300"}}}}},
            "interest.rates.hu_ptk.2027-01-01.rate must be a number from",
        ),
        (
            {"interest": {"rates": {"hu_ptk": {"next year": {"rate": "6.00"}}}}},
            "must be a date written as YYYY-MM-DD",
        ),
    ],
)
def test_bad_values_are_warnings_and_the_default_stays(layer, needle):
    rules, issues = load_rules(layer, sources=[BESIDE])
    packaged, _ = load_rules()
    assert any(needle in i.message for i in issues), [i.message for i in issues]
    assert all(i.where.layer == BESIDE and i.severity == Severity.WARNING for i in issues)
    assert rules.stages == packaged.stages
    assert rules.labels == packaged.labels
    assert dict(rules.section("plan")) == dict(packaged.section("plan"))


def test_keys_other_modules_add_are_checked_by_their_toml_type():
    # A section as another module would add it to default_rules.toml.
    defaults = tomllib.loads(
        default_layer_text() + "\n[collector]\nminimum_amount = 5\n"
        'enabled = true\nfee = "5.00"\nnote = "text"\nratio = 0.5\n'
        "[collector.per_currency]\nEUR = 5\n"
    )
    spec = derive_schema(defaults)
    clean, issues = check_layer(
        Layer(
            "--rules x.toml",
            {
                "collector": {
                    "minimum_amount": "ten",
                    "enabled": "yes",
                    "fee": "1e300",
                    "note": 3,
                    "ratio": 1e300,
                    "per_currency": {"EUR": 7, "USD": 1},
                    "minimum_amuont": 1,
                }
            },
        ),
        spec,
    )
    messages = " | ".join(i.message for i in issues)
    for needle in (
        "collector.minimum_amount must be a number",
        "collector.enabled must be true",
        "collector.fee must be a number from",
        "collector.note must be text",
        "collector.ratio must be a number from",
        "collector.per_currency.USD is not a known setting",
        "did you mean collector.minimum_amount?",
    ):
        assert needle in messages
    assert clean == {"collector": {"per_currency": {"EUR": 7}}}


def default_layer_text() -> str:
    from importlib import resources

    return resources.files("receivables.core").joinpath("default_rules.toml").read_text("utf-8")


# ---- rules.toml in any Notepad encoding ---------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "cp1252", "utf-8"])
def test_rules_toml_in_any_notepad_encoding(tmp_path, encoding):
    text = '[labels]\nstage = "Fase Añeja"\n[company]\nname = "Müller & Söhne"\n'
    (tmp_path / "rules.toml").write_bytes(text.encode(encoding))
    report = run(_ledger(tmp_path), tmp_path / "out.xlsx", AS_OF)
    assert report.rules.labels["stage"] == "Fase Añeja"
    assert report.rules.section("company")["name"] == "Müller & Söhne"
    assert not [i for i in report.issues if i.where.layer == BESIDE and i.severity != Severity.INFO]
    assert decode_rules_text(text.encode(encoding))[0] == text


# ---- message templates from settings -----------------------------------------------------------

ATTACKS = {
    "nested loops": "{% for i in range(10000) %}{% for j in range(10000) %}{{ '' }}{% endfor %}"
    "{% endfor %}",
    "big ranges": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "a 4 GB string": "{{ 'x' * 4000000000 }}",
    "an escape": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "a doubling string": "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "a width": "{{ '{:>999999999}'.format(customer) }}",
    "a power": "{{ 7 ** 999999999 }}",
    "recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_templates_end_as_a_problem(attack):
    template, problem = compile_template(ATTACKS[attack])
    assert problem is None
    text, problem = render(template, {"customer": "Acme"})
    assert text == "" and problem


def test_templates_that_behave_render():
    template, _ = compile_template(
        "{% for c in ['a', 'b'] %}{{ c|upper }}{% endfor %} "
        "{{ '%.2f'|format(amount) }} {{ customer or 'x' }}"
    )
    assert render(template, {"amount": 3.14159, "customer": ""}) == ("AB 3.14 x", None)


def test_hostile_templates_in_the_settings_sheet_are_reported(tmp_path):
    # As a clerk edits them: TOML strings in the Value column.
    rows = [
        ("messages", "notice", toml_literal(ATTACKS["big ranges"]), ""),
        ("messages", "reminder", toml_literal(ATTACKS["a 4 GB string"]), ""),
        ("messages", "pre_due", toml_literal(ATTACKS["an escape"]), ""),
    ]
    out = tmp_path / "out.xlsx"
    report = run(_ledger(tmp_path, rows), out, AS_OF)
    problems = {
        str(i.where): i.message for i in report.issues if i.message.startswith("setting messages.")
    }
    assert set(problems) == {
        "'Collections Settings'!C2",
        "'Collections Settings'!C3",
        "'Collections Settings'!C4",
    }
    assert (
        "loops run more than" in problems["'Collections Settings'!C2"]
        or "size of 100,000" in problems["'Collections Settings'!C2"]
    )
    assert "unsafe" in problems["'Collections Settings'!C4"]
    calendar = load_workbook(out)["Action Calendar"]
    messages = {row[2]: row[7] for row in calendar.iter_rows(min_row=2, values_only=True)}
    # Every task whose message is one of those texts is blank; the one at the legal stage
    # before its first letter (a Stage Override) has the legal text, which is untouched.
    legal = messages.pop("Override Co")
    assert legal.startswith("Dear Pat, EUR 100.00 (1 invoice(s)) is 3 days overdue.")
    assert messages and all(m in (None, "") for m in messages.values())


# ---- the as-of rule ------------------------------------------------------------------------------


def test_as_of_rule_order():
    rules, _ = load_rules({"general": {"as_of": date(2026, 9, 30)}}, sources=[BESIDE])
    plain, _ = load_rules()
    today = date(2027, 1, 1)
    assert resolve_as_of(AS_OF, rules, today, name_date=date(2026, 8, 31)).source == "--as-of"
    found = resolve_as_of(None, rules, today, name_date=date(2026, 8, 31))
    assert (found.date, found.source) == (date(2026, 9, 30), f"general.as_of in {BESIDE}")
    found = resolve_as_of(None, plain, today, name_date=date(2026, 8, 31))
    assert (found.date, found.source) == (date(2026, 8, 31), "file name")
    assert resolve_as_of(None, plain, today).date == today
    with pytest.raises(InputError, match="could be either"):
        resolve_as_of(None, plain, today, name_problem="03.04.2026 could be either")


def test_process_uses_general_as_of_from_rules_toml(tmp_path, run_json):
    (tmp_path / "rules.toml").write_text("[general]\nas_of = 2026-10-31\n", "utf-8")
    report = run_json("process", _ledger(tmp_path), "-o", tmp_path / "out.xlsx")
    assert report["as_of"] == "2026-10-31"
    assert report["as_of_source"] == f"general.as_of in {BESIDE}"
    assert report["settings"]["general.as_of"] == {"value": "2026-10-31", "from": BESIDE}
    assert report["settings"]["plan.capacity_per_day"]["from"] == "packaged defaults"
    report = run_json(
        "process", _ledger(tmp_path), "-o", tmp_path / "out.xlsx", "--as-of", "2026-09-30"
    )
    assert (report["as_of"], report["as_of_source"]) == ("2026-09-30", "--as-of")
