"""Dump workbook cell contents for golden comparisons (contents, not bytes)."""

from __future__ import annotations

import json
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook


def cell_text(value) -> object:
    """A JSON-friendly, exact representation of a cell value."""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def dump_sheets(path: Path, names=None) -> dict[str, list[list[object]]]:
    """Values of every cell of the named sheets (all sheets when ``names`` is None)."""
    book = load_workbook(path, data_only=False)
    result = {}
    for sheet in book.worksheets:
        if names is not None and sheet.title not in names:
            continue
        result[sheet.title] = [
            [cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
    return result


def part_bytes(path: Path) -> dict[str, bytes]:
    """Every part of a zip package, decompressed."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def check_golden(golden: Path, data, update: bool) -> None:
    """Compare ``data`` with the golden JSON file, or rewrite it when ``update``."""
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    if update or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text + "\n", "utf-8")
        if not update:
            raise AssertionError(f"golden file {golden} was missing and has been written")
        return
    expected = json.loads(golden.read_text("utf-8"))
    assert json.loads(text) == expected, f"differs from {golden}; rerun with UPDATE_GOLDEN=1"
