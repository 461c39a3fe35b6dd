"""The bundled sample ledger that ``receivables demo`` processes."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

# The sample's items are dated relative to this day, so every stage shows at it.
SAMPLE_AS_OF = date(2026, 10, 31)


def sample_path() -> Path:
    """Path of the packaged sample ledger workbook."""
    return Path(
        str(resources.files("receivables.workbook_templates").joinpath("sample_ledger.xlsx"))
    )


def template_path() -> Path:
    """Path of the packaged empty receivables template."""
    return Path(
        str(resources.files("receivables.workbook_templates").joinpath("receivables_template.xlsx"))
    )
