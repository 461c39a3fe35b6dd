"""Every sheet the tool writes, printed through a real LibreOffice (headless, to PDF).

The demo workbook (Collection Plan, Aging Summary, Action Calendar, Letters Log,
Exceptions) and a Batch Summary (Files, History) are converted to PDF once each; every
page is attributed to its sheet by the footer the tool writes ("<sheet>  as of <date>
Page n of N"). Checked on paper: landscape, the Collection Plan at most two pages wide,
no "None" and no "###" anywhere. Checked in the written file: every header fits its
column at the default font (wrapped onto the lines its row is tall enough for), every
number fits its column. Skipped only when LibreOffice or poppler is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from receivables.batch import BatchOptions, run_batch
from receivables.core.sheets import CELL_PADDING, FILTER_BUTTON, display_text, text_width
from receivables.demo import SAMPLE_AS_OF, sample_path
from receivables.letters import find_soffice
from receivables.pipeline import run

pytestmark = pytest.mark.skipif(
    find_soffice() is None or shutil.which("pdftotext") is None,
    reason="LibreOffice and poppler-utils (pdftotext) are needed to print the sheets",
)

DEMO_SHEETS = ("Collection Plan", "Aging Summary", "Action Calendar", "Letters Log", "Exceptions")
SUMMARY_SHEETS = ("Files", "History")
PLAN_HEADERS = ("Why", "Next Action", "Owner", "Email", "Credit Hold", "Overdue")
_FOOTER = re.compile(
    r"^\s*(?P<sheet>\S.*?)\s{2,}as of \d{4}-\d{2}-\d{2}\s{2,}"
    r"Page \d+ of \d+\s*$",
    re.MULTILINE,
)


def to_pdf(workbook: Path, out: Path) -> Path:
    """``workbook`` printed to PDF by LibreOffice, with a profile of its own."""
    profile = out / "profile"
    subprocess.run(
        [
            find_soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out / (workbook.stem + ".pdf")


def pages_by_sheet(pdf: Path) -> dict[str, list[tuple[int, str]]]:
    """(0-based page number, text) of every page (pdftotext -layout), grouped by the
    sheet its footer names."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    sheets: dict[str, list[tuple[int, str]]] = {}
    for number, page in enumerate(text.split("\f")):
        footer = list(_FOOTER.finditer(page))
        if footer:
            sheets.setdefault(footer[-1]["sheet"].strip(), []).append((number, page))
    return sheets


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of every page."""
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return [
        (float(w), float(h))
        for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info, re.MULTILINE)
    ]


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict:
    """The demo workbook and a Batch Summary, written and printed once for the module."""
    base = tmp_path_factory.mktemp("print")
    demo = base / "demo.xlsx"
    run(sample_path(), demo, SAMPLE_AS_OF, letters_dir=base / "letters")
    ledgers = base / "ledgers"
    ledgers.mkdir()
    shutil.copy(sample_path(), ledgers / "AR_2026-09.xlsx")
    shutil.copy(sample_path(), ledgers / "AR_2026-10.xlsx")
    summary = run_batch(BatchOptions(ledgers, base / "close", jobs=1)).summary
    pdfs = {"demo": to_pdf(demo, base), "summary": to_pdf(summary, base)}
    return {
        "files": {"demo": demo, "summary": summary},
        "pdfs": pdfs,
        "pages": {key: pages_by_sheet(pdf) for key, pdf in pdfs.items()},
    }


def sheets_of(printed):
    for key, names in (("demo", DEMO_SHEETS), ("summary", SUMMARY_SHEETS)):
        book = load_workbook(printed["files"][key])
        for name in names:
            yield key, name, book[name]


def test_every_sheet_prints_with_its_footer(printed):
    for key, name, _sheet in sheets_of(printed):
        assert printed["pages"][key].get(name), f"{name}: no page with its footer"


def test_no_none_and_no_hashes_on_paper(printed):
    for key, name, _sheet in sheets_of(printed):
        for _number, page in printed["pages"][key][name]:
            assert "###" not in page, name
            assert not re.search(r"\bNone\b", page), name


def test_every_page_is_landscape(printed):
    for key, pdf in printed["pdfs"].items():
        sizes = page_sizes(pdf)
        for name, pages in printed["pages"][key].items():
            for number, _text in pages:
                width, height = sizes[number]
                assert width > height, (name, number)


def test_the_plan_prints_at_most_two_pages_wide(printed):
    pages = [text for _number, text in printed["pages"]["demo"]["Collection Plan"]]
    # Pages across show different columns; pages down repeat the same header row.
    layouts = {tuple(h for h in PLAN_HEADERS if re.search(rf"\b{h}\b", page)) for page in pages}
    assert 1 <= len(layouts) <= 2, layouts
    # The first columns are repeated on every page: each printed row says whose it is.
    assert all("Rank" in page and "Customer" in page for page in pages)
    # Pages down: as many as the rows need, the same for each page across.
    assert len(pages) % len(layouts) == 0


def test_headers_fit_their_columns_at_the_default_font(printed):
    for _key, name, sheet in sheets_of(printed):
        lines = (sheet.row_dimensions[1].height or 15) / 15
        padding = CELL_PADDING + (FILTER_BUTTON if sheet.tables else 0)
        for cell in sheet[1]:
            if cell.value is None:
                continue
            width = sheet.column_dimensions[cell.column_letter].width
            room = width - padding
            words = str(cell.value).split()
            assert max(text_width(w, True) for w in words) <= room, (name, cell.value, width)
            needed = _lines(words, room)
            assert needed <= lines, (name, cell.value, width, needed)
            if needed > 1:
                assert cell.alignment.wrap_text, (name, cell.value)


def _lines(words: list[str], room: float) -> int:
    count, line = 1, ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if line and text_width(candidate, True) > room:
            count, line = count + 1, word
        else:
            line = candidate
    return count


def test_numbers_fit_their_columns(printed):
    for _key, name, sheet in sheets_of(printed):
        for column in sheet.iter_cols(min_row=2):
            width = sheet.column_dimensions[column[0].column_letter].width
            for cell in column:
                value = cell.value
                if isinstance(value, int | float) and not isinstance(value, bool):
                    shown = display_text(value, cell.number_format)
                    assert text_width(shown) + CELL_PADDING <= width, (
                        name,
                        cell.coordinate,
                        shown,
                        width,
                    )


def test_no_cell_says_none(printed):
    for _key, name, sheet in sheets_of(printed):
        for line in sheet.iter_rows(values_only=True):
            assert not any(
                isinstance(v, str) and v.strip().casefold() in ("none", "nan") for v in line
            ), name
