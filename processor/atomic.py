"""Atomic file writes: a temporary file beside the target, renamed into place when whole.

A crash or Ctrl-C leaves either the old file or the new one, never half of one; the new
file gets the permissions an ordinary save would give it (not the private 0600 of a
temporary file), so a workbook on a team's shared folder stays readable to the team.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".~receivables-"


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(target: Path, prefix: str = TEMP_PREFIX) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on success it replaces ``target`` atomically."""
    target = Path(target)
    handle, temp_name = tempfile.mkstemp(prefix=prefix, suffix=target.suffix + ".tmp",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as sink:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temp_name, _default_mode())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
