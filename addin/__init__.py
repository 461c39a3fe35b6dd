"""Package."""

from __future__ import annotations

import importlib
import traceback
from datetime import datetime
from pathlib import Path

__all__ = ["dispatch"]


def dispatch(button_id: str) -> None:
    """Run the handler of ribbon button ``button_id`` on the calling workbook.

    The one entry point of the VBA dispatcher (``RunPython "import receivables.addin;
    receivables.addin.dispatch('<id>')"``). Bad input is shown as its message; any
    other failure as a short message pointing at ``collections.log`` beside the
    workbook, which gets the full traceback. The status bar is handed back to Excel.
    xlwings and the handlers are imported here, not at import time, so that the build
    (``receivables.addin.build``) never needs them.
    """
    import xlwings as xw

    from receivables.core.issues import InputError

    from .buttons import button
    from .handlers import TITLE, log_path

    try:
        book = xw.Book.caller()
    except Exception:  # no workbook to work on: say so in Excel itself
        _log(log_path(None), button_id, traceback.format_exc())
        try:
            app = xw.apps.active
        except Exception:  # no Excel to talk to either: the log is all there is
            return
        if app is not None:
            app.alert(
                "Open the receivables workbook first, then click the button again.",
                title=TITLE,
                mode="info",
            )
        return
    app = book.app
    message, mode = None, "info"
    try:
        module_name, function_name = button(button_id).handler.split(":")
        handler = getattr(importlib.import_module(module_name), function_name)
        # Fewer redraws make the many formatting calls of a run much faster.
        with app.properties(screen_updating=False):
            message = handler(book)
    except InputError as exc:
        message, mode = str(exc), "critical"
    except Exception:
        path = _log(log_path(book), button_id, traceback.format_exc())
        message, mode = f"Something went wrong; details in {path}", "critical"
    finally:
        app.status_bar = False
    if message:
        app.alert(message, title=TITLE, mode=mode)


def _log(path: Path, button_id: str, details: str) -> Path:
    """Append ``details`` to the log at ``path`` (a temporary folder when not writable)."""
    entry = f"--- {datetime.now().isoformat(timespec='seconds')} {button_id}\n{details}\n"
    for candidate in (path, Path.home() / path.name):
        try:
            with candidate.open("a", encoding="utf-8") as stream:
                stream.write(entry)
            return candidate
        except OSError:
            continue
    import tempfile

    fallback = Path(tempfile.gettempdir()) / path.name
    with fallback.open("a", encoding="utf-8") as stream:
        stream.write(entry)
    return fallback
