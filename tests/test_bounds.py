"""Hostile inputs end within bounded time and memory, with one message and no traceback.

Each input is built here (tests/hostile.py), then ``receivables process`` runs on it in
a child process whose peak memory and wall time are measured with ``os.wait4`` (the
child's own ``resource`` usage). The issue's bound: 20 s and 1.5 GB for each. The
figures are printed (``pytest -s``) so that the worst case can be reported.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from receivables import inputcaps

import hostile

SECONDS = 20
PEAK_BYTES = 1.5 * 1024**3


_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_pid, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss)
"""


def _measure(source: Path, out: Path) -> tuple[int, float, int, str]:
    """(exit code, seconds, peak RSS in bytes, stderr) of ``receivables process``.

    Linux keeps a process's peak RSS across exec, so the command runs as the child of a
    small launcher (itself started afresh) rather than of this test process, whose own
    peak would otherwise be reported.
    """
    command = [
        sys.executable,
        "-m",
        "receivables.cli",
        "process",
        str(source),
        "-o",
        str(out),
        "--as-of",
        "2026-10-31",
        "--letters",
        str(out.parent / "letters"),
    ]
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=True
    )
    code, seconds, peak_kb = done.stdout.split()
    return int(code), float(seconds), int(peak_kb) * 1024, done.stderr


CASES = {
    # name: (builder, what the reader must say, or None when the file is processed)
    "12 MB of unused shared strings": (hostile.unused_shared_strings, "shared texts"),
    "20k inline strings of 32,000 characters": (hostile.long_inline_strings, "unpacks to"),
    "1 KB .ods, a row repeated 5 million times": (hostile.repeated_ods_rows, "cells"),
    ".ods repeating a long text 2 million times": (hostile.repeated_ods_text, "repeats cells"),
    "a 32,000-character shared text in 200k cells": (
        hostile.repeated_shared_text,
        "repeats its shared texts",
    ),
    "30k sheets": (hostile.many_sheets, "parts"),
    "300k zip entries": (hostile.many_entries, "parts"),
    "terms of -99,999,999 days": (hostile.absurd_terms, None),
    "terms of -999,999,999 days": (lambda p: hostile.absurd_terms(p, -999_999_999), None),
    "10k sheets (under the caps)": (lambda p: hostile.many_sheets(p, 9_000), None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_bounded(name, tmp_path):
    builder, message = CASES[name]
    suffix = ".ods" if ".ods" in name else ".xlsx"
    source = builder(tmp_path / f"hostile{suffix}")
    code, seconds, peak, stderr = _measure(source, tmp_path / "out.xlsx")
    print(
        f"\n[bound] {name}: exit {code}, {seconds:.1f} s, {peak / 1024**2:,.0f} MB peak, "
        f"{source.stat().st_size / 1024:,.0f} KB file"
    )
    assert "Traceback" not in stderr, stderr
    if message is None:
        assert code == 0, stderr
    else:
        assert code == 1 and message in stderr, stderr
        assert not (tmp_path / "out.xlsx").exists()
    assert seconds < SECONDS, f"{name}: {seconds:.1f} s"
    assert peak < PEAK_BYTES, f"{name}: {peak / 1024**2:,.0f} MB"


def test_the_builders_stay_under_the_zip_bomb_guards(tmp_path):
    """The attacks are those the zip guards let through (else they prove nothing)."""
    path = hostile.long_inline_strings(tmp_path / "a.xlsx", count=2_000)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size < 200 * info.compress_size
    assert hostile.repeated_ods_rows(tmp_path / "b.ods").stat().st_size < 2048


def test_entry_count_is_read_from_the_end_record(tmp_path):
    path = hostile.many_entries(tmp_path / "x.xlsx", count=1_000)
    with zipfile.ZipFile(path) as archive:
        assert inputcaps.declared_entries(path.read_bytes()) == len(archive.infolist())


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_an_xls_repeating_a_long_shared_text_is_bounded(tmp_path):
    """.xls keeps its texts in a shared table too, and calamine reads it whole on opening:
    LibreOffice writes one 32,000-character text referred to by 20,000 cells."""
    source = hostile.repeated_shared_text(tmp_path / "long.xlsx", cells=20_000)
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "xls", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code, seconds, peak, stderr = _measure(tmp_path / "long.xls", tmp_path / "out.xlsx")
    print(
        f"\n[bound] .xls repeating a long shared text: exit {code}, {seconds:.1f} s, "
        f"{peak / 1024**2:,.0f} MB peak"
    )
    assert code == 1 and "repeats its shared texts" in stderr, stderr
    assert seconds < SECONDS and peak < PEAK_BYTES
