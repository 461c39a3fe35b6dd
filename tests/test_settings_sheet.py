"""The ``Collections Settings`` sheet: rules -> rows of TOML text -> rules, exactly."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from receivables.core.issues import Severity
from receivables.core.rules import default_layer, load_rules
from receivables.core.settings_sheet import (
    HEADER,
    TEXT_FORMAT,
    list_sections,
    parse_key_path,
    parse_settings_rows,
    settings_model,
    settings_rows,
    toml_literal,
)
from receivables.pipeline import run
from receivables.reader import open_workbook
from receivables.xlsx.splice import write_package

from conftest import AS_OF, boundary_rows, write_ledger


def _sheet(rows):
    """The sheet as the reader hands it over: a header row, then the rows."""
    return [list(HEADER), *[list(row) for row in rows]]


def test_defaults_round_trip_exactly():
    raw = default_layer()
    layer, issues = parse_settings_rows(_sheet(settings_rows(raw)))
    assert issues == []
    assert layer == raw


def test_rows_are_toml_text_with_the_documented_sections():
    rows = {(section, key): value for section, key, value, _ in settings_rows(default_layer())}
    assert rows[("general", "default_terms_days")] == "30"
    assert rows[("general", "default_currency")] == '"EUR"'
    # The ladder: one section per stage, named by its key (which is not repeated).
    assert rows[("stages.legal", "from_days")] == "91"
    assert rows[("stages.legal", "credit_hold")] == "true"
    assert ("stages.legal", "key") not in rows
    # Buckets have no key: numbered from 1.
    assert rows[("buckets.1", "label")] == '"Not due"'
    assert rows[("buckets.8", "from_days")] == "731"
    # Nested tables are dotted sections; keys that are not bare TOML keys are quoted.
    assert rows[("plan.exchange_rates", "GBP")] == "1.15"
    assert rows[("interest.regimes.uk_late_payment.compensation.GBP", '"1000.00"')] == '"70.00"'
    # Empty tables and lists of lists stay one literal value.
    assert rows[("plan", "region_weights")] == "{}"
    assert rows[("", "headers")] == "{}"
    assert rows[("plan", "recovery_curve")].startswith("[[0, 0.98], [30, 0.95]")
    assert rows[("company", "address")] == r'"Calle Mayor 1\n28013 Madrid"'
    assert list_sections() == {"stages": True, "buckets": False}


def test_descriptions_come_from_the_packaged_comments():
    described = {(s, k): d for s, k, _v, d in settings_rows(default_layer())}
    assert described[("general", "default_terms_days")].startswith("Days added to the invoice")
    # A table's comment goes on its first row, the ladder's on the first stage.
    assert described[("plan", "horizon_days")].startswith("The collection plan")
    assert described[("stages.current", "label")].startswith("The collection ladder")
    assert "Next action" in described[("stages.legal", "action")]
    assert described[("interest.rates.eu_directive.2016-07-01", "rate")].startswith("Reference")


def test_every_default_row_reads_back_through_a_written_workbook(tmp_path):
    """The file writer writes the sheet, the reader reads it, the parser gives the rules."""
    rules, _ = load_rules()
    model = settings_model(rules)
    assert model.name == "Collections Settings"
    assert model.columns[2].number_format == TEXT_FORMAT
    path = tmp_path / "settings.xlsx"
    write_package(path, source=None, date1904=False, stage_columns=None, models=[model])
    opened = open_workbook(path)
    layer, issues = parse_settings_rows(opened.grid(model.name).rows, sheet=model.name)
    assert issues == []
    assert layer == rules.raw
    cell = load_workbook(path)[model.name]["C2"]
    assert cell.number_format == "@" and cell.data_type == "s"


def test_what_a_clerk_types_is_read_as_meant():
    rows = _sheet(
        [
            ("general", "default_terms_days", 45.0, "a number Excel stored"),
            ("general", "language", "es", "plain text without quotes"),
            ("labels", "stage", "  Fase  ", "plain text, spaces trimmed"),
            ("states.paid", "label", '"Pagado"', "TOML text"),
            ("stages.legal", "credit_hold", "FALSE", "Excel's spelling of false"),
            ("general", "as_of", datetime(2026, 10, 31), "a date Excel stored"),
            ("plan", "broken_promise_weight", 0.75, "a fraction"),
            ("", "", "", "a blank row"),
            ("company", "name", None, "an empty value keeps the lower layer"),
        ]
    )
    layer, issues = parse_settings_rows(rows)
    assert issues == []
    assert layer["general"] == {
        "default_terms_days": 45,
        "language": "es",
        "as_of": date(2026, 10, 31),
    }
    assert isinstance(layer["general"]["default_terms_days"], int)
    assert layer["labels"] == {"stage": "Fase"}
    assert layer["states"] == {"paid": {"label": "Pagado"}}
    assert layer["stages"] == [{"key": "legal", "credit_hold": False}]
    assert layer["plan"] == {"broken_promise_weight": 0.75}
    assert "company" not in layer


def test_unreadable_rows_are_reported_by_cell_and_left_out():
    rows = _sheet(
        [
            ("plan", "recovery_curve", "[[0, 0.98], [30", "an unfinished array"),
            ("general", "country", '"ES"\nlanguage = "hu"', "a second assignment"),
            ("plan]", "x", "1", "a section that is no key"),
            ("general", "not a key", "1", "a key that is no key"),
            ("general", "language", '"en"', "fine"),
            ("general", "language", '"es"', "set twice"),
            ("labels", "stage", "__import__('os').system('echo no')", "never evaluated"),
        ]
    )
    layer, issues = parse_settings_rows(rows, sheet="Collections Settings")
    where = [str(issue.where) for issue in issues]
    assert where == [
        "'Collections Settings'!C2",
        "'Collections Settings'!C3",
        "'Collections Settings'!A4",
        "'Collections Settings'!B5",
        "'Collections Settings'!B7",
    ]
    assert all(issue.severity == Severity.WARNING for issue in issues)
    assert "not a TOML value" in issues[0].message
    assert "more than one value" in issues[1].message
    assert "set twice" in issues[4].message
    # The later row wins; the text that looks like code is only ever text.
    assert layer == {
        "general": {"language": "es"},
        "labels": {"stage": "__import__('os').system('echo no')"},
    }


def test_the_ladder_is_rebuilt_from_its_sections():
    raw = default_layer()
    rows = [row for row in settings_rows(raw) if not row[0].startswith("stages.doubtful")]
    rows = [
        (s, k, '"Juicio"' if (s, k) == ("stages.legal", "label") else v, d) for s, k, v, d in rows
    ]
    layer, issues = parse_settings_rows(_sheet(rows))
    assert issues == []
    rules, problems = load_rules(layer)
    assert problems == []
    assert [s.key for s in rules.stages] == [
        "current",
        "pre_due",
        "reminder",
        "notice",
        "demand",
        "final",
        "legal",
        "dead",
    ]
    assert rules.stage("legal").label == "Juicio"


def test_bucket_sections_must_be_numbered():
    layer, issues = parse_settings_rows(
        _sheet(
            [
                ("buckets.first", "label", '"x"', ""),
                ("buckets.2", "label", '"y"', ""),
                ("buckets.1", "label", '"z"', ""),
            ]
        )
    )
    assert layer["buckets"] == [{"label": "z"}, {"label": "y"}]
    assert [i.message for i in issues] == [
        "setting section buckets.first must be numbered (buckets.1, buckets.2, ...); it is ignored"
    ]


def test_key_paths_refuse_anything_but_one_key():
    assert parse_key_path('interest.uk.compensation."1000.00"') == [
        "interest",
        "uk",
        "compensation",
        "1000.00",
    ]
    assert parse_key_path("a = 1\nb") is None
    assert parse_key_path("a b") is None
    assert parse_key_path("") is None


# ---- property: any rules-shaped mapping survives the trip ------------------------------------

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    _TEXT,
    st.dates(),
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30))])),
    st.times(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=8,
)
_ITEM_FIELDS = st.dictionaries(_TEXT.filter(lambda k: k != "key"), _VALUES, max_size=4)


@st.composite
def _raw_rules(draw):
    raw = draw(
        st.dictionaries(_TEXT.filter(lambda k: k not in ("stages", "buckets")), _VALUES, max_size=5)
    )
    keys = draw(st.lists(_TEXT, unique=True, max_size=4))
    raw["stages"] = [{"key": key, **draw(_ITEM_FIELDS)} for key in keys]
    raw["buckets"] = draw(st.lists(_ITEM_FIELDS, max_size=4))
    if draw(st.booleans()):
        raw["stages"].append({"no key": 1})  # not keyed: written as one literal
    return raw


@settings(max_examples=100, deadline=None)
@given(_raw_rules())
def test_any_rules_mapping_round_trips(raw):
    layer, issues = parse_settings_rows(_sheet(settings_rows(raw)))
    assert issues == []
    assert layer == raw


@settings(max_examples=100, deadline=None)
@given(_VALUES)
# Found once by the property: ``$`` also matched before a trailing newline, so the key
# "0\n" was written bare and tomllib refused the sheet.
@example({"0\n": False})
@example({"a\n": 1, "b": {"c\n": "d"}})
def test_toml_literals_read_back_as_the_value(value):
    layer, issues = parse_settings_rows(_sheet([("", "v", toml_literal(value), "")]))
    assert issues == []
    assert layer == {"v": value}


def test_times_and_special_floats_are_toml():
    assert toml_literal(time(12, 30, 5, 7)) == "12:30:05.000007"
    assert toml_literal(float("inf")) == "inf"
    assert toml_literal(float("-inf")) == "-inf"
    assert toml_literal("tab\tand\x01") == '"tab\\tand\\u0001"'


# ---- the file pipeline reads the sheet -----------------------------------------------------


def _with_settings(path: Path, rows) -> Path:
    book = load_workbook(path)
    sheet = book.create_sheet("Collections Settings")
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_process_uses_the_settings_sheet_over_rules_toml(tmp_path):
    _days, rows = boundary_rows()
    source = write_ledger(tmp_path / "ledger.xlsx", rows)
    (tmp_path / "rules.toml").write_text(
        '[labels]\nstage = "From rules.toml"\nbucket = "Tramo"\n', "utf-8"
    )
    _with_settings(
        source, [("labels", "stage", "Fase", ""), ("labels", "next_action", "[unclosed", "")]
    )
    out = tmp_path / "out.xlsx"
    report = run(source, out, AS_OF)
    header = [c.value for c in load_workbook(out)["Ledger"][1]]
    assert header[-4:] == ["Days Overdue", "Tramo", "Fase", "Next Action"]
    problems = [i for i in report.issues if i.where.sheet == "Collections Settings"]
    assert [str(i.where) for i in problems] == ["'Collections Settings'!C3"]
    assert problems[0].where.key == "labels.next_action"
    exceptions = [[c.value for c in row] for row in load_workbook(out)["Exceptions"].iter_rows()]
    assert any(row[1] == "'Collections Settings'!C3" for row in exceptions)


def test_the_settings_sheet_name_is_itself_a_setting(tmp_path):
    _days, rows = boundary_rows()
    source = write_ledger(tmp_path / "ledger.xlsx", rows)
    (tmp_path / "rules.toml").write_text('[labels]\nsettings_sheet = "Ajustes"\n', "utf-8")
    book = load_workbook(source)
    sheet = book.create_sheet("Ajustes")
    sheet.append(list(HEADER))
    sheet.append(["labels", "stage", '"Fase"', ""])
    book.save(source)
    out = tmp_path / "out.xlsx"
    run(source, out, AS_OF)
    assert load_workbook(out)["Ledger"].cell(1, 17).value == "Fase"


@pytest.mark.parametrize("value", ['"2026-10-31"', "2026-10-31"])
def test_as_of_is_a_setting_the_rules_keep(value):
    layer, issues = parse_settings_rows(_sheet([("general", "as_of", value, "")]))
    rules, problems = load_rules(layer)
    assert issues == [] and problems == []
    assert str(rules.section("general")["as_of"]) == "2026-10-31"
