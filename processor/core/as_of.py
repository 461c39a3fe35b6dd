"""The as-of date: one rule, in one place, for the command line, batch and the add-in.

The date the ledger is aged at is, first that applies:

1. the date given explicitly (``--as-of``);
2. the ``general.as_of`` setting, from any layer (``rules.toml`` beside the workbook,
   the *Collections Settings* sheet, ``--rules FILE``);
3. the report date in the ledger sheet's title block (``As of October 31, 2026``);
4. the date in the file name (batch: ``AR_2026-10.xlsx`` -> 2026-10-31);
5. today, as the shell that runs reads it from the clock.

Pure: today is a parameter. The result says where the date came from, for ``--json``
and the messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .issues import InputError
from .rules import Rules

EXPLICIT = "--as-of"
FILE_NAME = "file name"
SHEET_TITLE = "the sheet's title"
TODAY = "today"


@dataclass(frozen=True)
class AsOf:
    """The as-of date and where it came from (``--as-of``, ``general.as_of in <layer>``,
    ``file name``, ``today``)."""

    date: date
    source: str


def resolve_as_of(
    explicit: date | None,
    rules: Rules,
    today: date,
    *,
    name_date: date | None = None,
    name_problem: str = "",
    sheet_date: date | None = None,
    sheet_where: str = "",
) -> AsOf:
    """The as-of date by the rule of this module.

    ``name_problem`` says why a file name that looks dated gives no date (``03.04.2026``
    could be either order): with no explicit date or setting, that is an InputError
    rather than a silent fall back to today.
    """
    if explicit is not None:
        return AsOf(explicit, EXPLICIT)
    setting = rules.section("general").get("as_of")
    if isinstance(setting, date):
        return AsOf(setting, f"general.as_of in {rules.origin(('general', 'as_of'))}")
    if sheet_date is not None:
        return AsOf(sheet_date, f"{SHEET_TITLE} {sheet_where}".strip())
    if name_date is not None:
        return AsOf(name_date, FILE_NAME)
    if name_problem:
        raise InputError(
            f"No as-of date: {name_problem}. Give --as-of YYYY-MM-DD, write the "
            "date unambiguously in the file name, or set general.as_of in the "
            "settings."
        )
    return AsOf(today, TODAY)
