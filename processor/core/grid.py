"""A sheet's cells as a grid of plain Python values: what the reader hands the core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SheetGrid:
    """All cells of one sheet from A1: ``rows[r][c]`` is the value of row r+1, column c+1.

    Empty cells are ``""`` or ``None``; dates come as ``date``/``datetime`` when the cell
    is formatted as a date, else as serial numbers (``date1904`` says which epoch).
    """

    name: str
    rows: Sequence[Sequence[object]]
    date1904: bool = False

    @property
    def height(self) -> int:
        """Number of rows in the grid."""
        return len(self.rows)
