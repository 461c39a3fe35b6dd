"""Where outputs go: checked before anything is written, and OS errors told plainly.

Every output of a run (the workbook, the letters folder) is checked here before the
first file is written, so that a run never stops halfway with some letters written and
no workbook. Whatever the file system still refuses later (a full disk, a folder made
read-only meanwhile) arrives as an :class:`OSError`, which :func:`explain` turns into one
paragraph naming the path and what to do.

A file or folder whose permission bits allow nobody to write is treated as read-only even
for an administrator (root may write anywhere): the mark is the owner's wish, as the
read-only attribute is on Windows.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .atomic import TEMP_PREFIX
from .core.issues import InputError

_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space or write elsewhere",
    errno.EROFS: "the file system is read-only: write elsewhere with -o",
    errno.EACCES: "permission denied: choose a folder you may write to, or ask for access",
    errno.EPERM: "the operation is not permitted there: choose another folder",
    errno.ENAMETOOLONG: "the name is too long for the file system: choose a shorter name",
    errno.EISDIR: "a folder has that name: give a file name",
    errno.ENOTDIR: "part of the path is a file, not a folder: check the path",
    errno.ENOENT: "the folder does not exist: create it first or fix the path",
    errno.EEXIST: "something with that name already exists: choose another name",
    errno.EBUSY: "the file is in use: close it (e.g. in Excel) and run again",
    errno.ETXTBSY: "the file is in use: close it and run again",
    errno.EFBIG: "the file would be too large for the file system: write elsewhere",
    errno.EIO: "the disk reported an input/output error: check the disk or write elsewhere",
}


def explain(exc: OSError, path: Path | str, doing: str) -> str:
    """One paragraph: what failed on which path, why, and what to do."""
    advice = _ADVICE.get(exc.errno or -1)
    reason = exc.strerror or type(exc).__name__
    if advice is None:
        advice = f"{reason}: check the path and the disk, or write elsewhere"
    return f"Could not {doing} {path}: {advice}."


@contextlib.contextmanager
def os_errors_as_input_errors(path: Path | str, doing: str) -> Iterator[None]:
    """Turn an OSError inside the block into an :class:`InputError` saying :func:`explain`."""
    try:
        yield
    except InputError:
        raise
    except OSError as exc:
        raise InputError(explain(exc, getattr(exc, "filename", None) or path, doing)) from exc


def marked_read_only(path: Path) -> bool:
    """True when the permission bits of ``path`` let nobody write it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def name_limit(folder: Path) -> int:
    """The longest file name (bytes) the file system of ``folder`` takes."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def check_folder_writable(folder: Path, what: str, create: bool = False) -> None:
    """Raise InputError unless files can be written into ``folder``.

    With ``create``, a missing folder is fine when its nearest existing parent is a
    writable folder (it is created when the first file is written).
    """
    folder = Path(folder)
    probe = folder
    if create:
        while not probe.exists() and probe != probe.parent:
            if probe.is_symlink():  # a dangling link: nothing can be created through it
                break
            probe = probe.parent
    if not probe.exists():
        raise InputError(f"The {what} {folder} does not exist: create it first or fix the path.")
    if not probe.is_dir():
        raise InputError(
            f"The {what} {folder} cannot be used: {probe} is a file, not a folder. Give a "
            "folder, or move the file away."
        )
    if marked_read_only(probe):
        raise InputError(
            f"The {what} {folder} cannot be written: {probe} is read-only. Make it writable, "
            "or choose another folder."
        )
    # The real test: create (and remove) a file there, as the writers will.
    try:
        handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".probe.tmp", dir=probe)
        os.close(handle)
        os.unlink(name)
    except OSError as exc:
        raise InputError(explain(exc, probe, f"write the {what}")) from exc


def check_output_file(path: Path, what: str = "output workbook") -> None:
    """Raise InputError unless ``path`` can be written as a new or replaced file."""
    path = Path(path)
    if path.is_dir():
        raise InputError(
            f"The {what} {path} is a folder: give a file name, e.g. "
            f"{path / 'ledger.collections.xlsx'}."
        )
    limit = name_limit(path.parent) if path.parent.is_dir() else 255
    # The temporary file beside it has a longer name than the file itself.
    size = len(os.fsencode(path.name))
    if size + len(TEMP_PREFIX) + 16 > limit:
        raise InputError(
            f"The {what} name '{path.name[:40]}...' has {size} bytes; the "
            f"file system takes at most {limit - len(TEMP_PREFIX) - 16} here. Choose a "
            "shorter name with -o."
        )
    check_folder_writable(path.parent, f"folder of the {what}")
    if path.exists() and marked_read_only(path):
        raise InputError(
            f"The {what} {path} is read-only: make it writable, or choose another name with -o."
        )
