"""Atomic file writes: a temporary file beside the target, renamed into place when whole.

A crash or Ctrl-C leaves either the old file or the new one, never half of one; the new
file gets the permissions an ordinary save would give it (not the private 0600 of a
temporary file), so a workbook on a team's shared folder stays readable to the team.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".~receivables-"


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _existing_mode(target: Path) -> int | None:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return None


@contextlib.contextmanager
def atomic_write(
    target: Path, prefix: str = TEMP_PREFIX, keep_mode: bool = False
) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on success it replaces ``target`` atomically.

    With ``keep_mode``, a ``target`` that exists keeps its permission bits (a private
    0600 ledger written in place stays 0600); a symbolic link ``target`` is followed, so
    the file it points to is replaced and the link stays a link.
    """
    target = Path(target)
    if target.is_symlink():
        target = target.resolve()
    mode = (_existing_mode(target) if keep_mode else None) or _default_mode()
    # The process id in the name tells a later run whether the writer is still alive.
    handle, temp_name = tempfile.mkstemp(
        prefix=f"{prefix}{os.getpid()}-", suffix=target.suffix + ".tmp", dir=target.parent
    )
    _live_temps.add(temp_name)
    try:
        with os.fdopen(handle, "wb") as sink:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    finally:
        _live_temps.discard(temp_name)


# Temporary files being written by this process: removed by remove_live_temps() when a
# signal ends the process (SIGTERM skips the ``except`` above).
_live_temps: set[str] = set()


def remove_live_temps() -> None:
    """Remove the temporary files this process is writing (called on a fatal signal)."""
    for name in list(_live_temps):
        with contextlib.suppress(OSError):
            os.unlink(name)
        _live_temps.discard(name)


def track_temp(name: str | Path) -> None:
    """Register a temporary file written outside :func:`atomic_write` (see above)."""
    _live_temps.add(str(name))


def untrack_temp(name: str | Path) -> None:
    """Forget a temporary file registered with :func:`track_temp`."""
    _live_temps.discard(str(name))


# A temporary file whose writer is gone is stale once untouched for this long (the grace
# covers a writer on another machine sharing the folder, whose process id means nothing
# here); any temporary file untouched for STALE_SECONDS is stale whoever wrote it.
GRACE_SECONDS = 120
STALE_SECONDS = 6 * 3600
_PID_TEMP = re.compile(r"\.(\d+)\.tmp$")
_PID_PREFIXED = re.compile(r"-(\d+)-")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the temporary files that earlier, killed runs left in ``folder``.

    ``.~receivables-PID-*.tmp`` (the workbook writers') and ``.NAME.PID.tmp`` (the
    letter writer's) whose process is gone and which are older than
    :data:`GRACE_SECONDS`, and any of them older than :data:`STALE_SECONDS`. Files of a
    run still going on are left alone. Returns what was removed; a folder that cannot be
    listed is left as it is.
    """
    import time

    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.endswith(".tmp") or not entry.is_file(follow_symlinks=False):
            continue
        if name.startswith(TEMP_PREFIX):
            match = _PID_PREFIXED.match(name, len(TEMP_PREFIX) - 1)
        elif name.startswith("."):
            match = _PID_TEMP.search(name)
        else:
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        writer_gone = match is not None and not _pid_alive(int(match.group(1)))
        if (writer_gone and age > GRACE_SECONDS) or age > STALE_SECONDS:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
