"""The bundled sample ledger that ``receivables demo`` processes."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

# The sample's items are dated relative to this day, so every stage shows at it. It is the
# last day every packaged rate table the sample needs covers (workbook_templates/
# make_workbooks.py says why), so the demo's letters carry no stale-rate warning.
SAMPLE_AS_OF = date(2026, 6, 30)


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
