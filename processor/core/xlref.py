"""A1-style cell references: column letters and numbers."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=20000)
def column_letter(column: int) -> str:
    """Return the letters of a 1-based column number (1 -> A, 27 -> AA)."""
    if column < 1:
        raise ValueError(f"column must be >= 1, got {column}")
    letters = ""
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@lru_cache(maxsize=20000)
def column_number(letters: str) -> int:
    """Return the 1-based number of column ``letters`` (A -> 1, AA -> 27)."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + (ord(ch) - 64)
    return number
