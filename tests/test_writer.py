"""The file writer: golden cell contents, lossless parts, LibreOffice opens the output."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table

from receivables.demo import SAMPLE_AS_OF, sample_path

from conftest import AS_OF, UPDATE_GOLDEN, ledger_row, macro_workbook
from workbook_dump import check_golden, dump_sheets, part_bytes

GOLDEN = Path(__file__).parent / "golden"
OUTPUT_SHEETS = ["Collection Plan", "Aging Summary", "Action Calendar", "Exceptions"]


def test_sample_output_matches_golden(tmp_path, run_json):
    out = tmp_path / "sample.xlsx"
    run_json("process", sample_path(), "-o", out, "--as-of", SAMPLE_AS_OF.isoformat())
    sheets = dump_sheets(out)
    ledger = sheets["Receivables"]
    data = {name: sheets[name] for name in OUTPUT_SHEETS}
    data["Receivables (appended columns)"] = [row[-4:] for row in ledger]
    check_golden(GOLDEN / "sample_outputs.json", data, UPDATE_GOLDEN)


def _rich_workbook(path: Path) -> None:
    """A macro workbook with a chart, an image, a comment, a validation, a name, a table."""
    book = load_workbook(macro_workbook(), keep_vba=True)
    ledger = book.create_sheet("Ledger", 0)
    ledger.append(
        ["Customer", "Invoice", "Invoice Date", "Due Date", "Currency", "Amount", "Paid", "Balance"]
    )
    for index in range(1, 21):
        row = ledger_row(f"Cust {index % 4}", index * 17 - 40, 100.0 * index)
        ledger.append(row[:8])
    ledger.add_table(Table(displayName="Ledger", ref="A1:H21"))
    ledger["A2"].comment = Comment("Call before Friday", "Clerk")
    validation = DataValidation(type="list", formula1='"EUR,USD,GBP"', allow_blank=True)
    ledger.add_data_validation(validation)
    validation.add("E2:E21")
    report = book.create_sheet("Report")
    report.append(["Month", "Sales"])
    for month, sales in [("Jan", 10), ("Feb", 12), ("Mar", 9)]:
        report.append([month, sales])
    chart = BarChart()
    chart.add_data(Reference(report, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    chart.set_categories(Reference(report, min_col=1, min_row=2, max_row=4))
    report.add_chart(chart, "D2")
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    report.add_image(Image(buffer), "D20")
    book.defined_names["SalesTotal"] = DefinedName("SalesTotal", attr_text="Report!$B$2:$B$4")
    book.save(path)


def test_every_part_survives(tmp_path, run_json):
    source = tmp_path / "rich.xlsm"
    _rich_workbook(source)
    out = tmp_path / "rich.collections.xlsm"
    run_json("process", source, "-o", out, "--as-of", AS_OF.isoformat())
    before, after = part_bytes(source), part_bytes(out)
    ledger_part = "xl/worksheets/sheet1.xml"
    may_change = {
        "[Content_Types].xml",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        ledger_part,
        "xl/tables/table1.xml",
    }
    for name, data in before.items():
        assert name in after, f"{name} was lost"
        if name not in may_change:
            assert after[name] == data, f"{name} changed"
    kinds = {"vbaProject.bin", "chart", "drawing", "comments", "media/image", "tables/table1"}
    for kind in kinds:
        assert any(kind in name for name in before), kind
    added = set(after) - set(before)
    assert all(
        n.startswith(("xl/worksheets/", "xl/tables/", "xl/drawings/", "xl/charts/")) for n in added
    ), added
    book = load_workbook(out, keep_vba=True)
    assert "SalesTotal" in book.defined_names
    assert book["Ledger"].tables["Ledger"].ref == "A1:L21"
    assert book["Ledger"]["A2"].comment.text == "Call before Friday"
    assert len(book["Ledger"].data_validations.dataValidation) == 1
    for name in OUTPUT_SHEETS:
        assert book[name].max_row >= 2


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_output(tmp_path, run_json):
    import python_calamine

    out = tmp_path / "sample.xlsx"
    run_json("process", sample_path(), "-o", out, "--as-of", SAMPLE_AS_OF.isoformat())
    result = subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path / "ods"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    converted = tmp_path / "ods" / "sample.ods"
    assert converted.exists(), result.stderr + result.stdout
    book = python_calamine.CalamineWorkbook.from_path(str(converted))
    assert book.sheet_names == load_workbook(out, read_only=True).sheetnames
    plan = book.get_sheet_by_name("Collection Plan").to_python()
    expected = dump_sheets(out, ["Collection Plan"])["Collection Plan"]
    assert [row[1] for row in plan] == [row[1] for row in expected]
    assert len(plan) == len(expected)


def test_an_error_while_streaming_the_sheet_surfaces_as_itself(tmp_path, monkeypatch):
    """The zip writer thread is wound down; the caller sees the error, no temporary file."""
    from receivables.pipeline import run
    from receivables.xlsx import splice

    from conftest import write_ledger

    def broken(source, sink, edit, styles):
        sink.write(b"<worksheet")
        raise RuntimeError("broken stream")

    source = write_ledger(tmp_path / "in.xlsx", [ledger_row("Acme", 40, 120.0)])
    monkeypatch.setattr(splice, "stream_stage_columns", broken)
    with pytest.raises(RuntimeError, match="broken stream"):
        run(source, tmp_path / "out.xlsx", AS_OF)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]
