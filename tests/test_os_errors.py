"""Outputs checked before anything is written; every OS error one paragraph, exit 1;
``--in-place`` semantics; temporary files cleaned; batch workers die with their parent."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

import receivables.atomic as atomic
import receivables.letters as letters_module
from receivables.atomic import TEMP_PREFIX, remove_stale_temps

from conftest import AS_OF, ledger_row, write_ledger

DATE = ("--as-of", AS_OF.isoformat())


def _ledger(folder: Path, name: str = "ledger.xlsx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        ledger_row(f"Customer {i}", days, 100.0 + i) for i, days in enumerate((10, 45, 75, 120, -3))
    ]
    return write_ledger(folder / name, rows)


def _one_paragraph(code: int, err: str) -> str:
    assert code == 1, err
    assert "Traceback" not in err
    assert err.strip() and "\n" not in err.strip()
    return err


@pytest.fixture
def read_only(tmp_path):
    """Make a folder read-only for the test (and writable again afterwards)."""
    made = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        made.append(folder)
        return folder

    yield make
    for folder in made:
        folder.chmod(0o755)


def test_read_only_output_folder(tmp_path, cli, read_only):
    source = _ledger(tmp_path / "in")
    locked = read_only(tmp_path / "locked")
    err = _one_paragraph(*cli("process", source, "-o", locked / "out.xlsx", *DATE)[::2])
    assert str(locked) in err and "read-only" in err
    assert list(locked.iterdir()) == []


def test_default_output_beside_a_read_only_input(tmp_path, cli, read_only):
    source = _ledger(tmp_path / "shared")
    read_only(source.parent)
    err = _one_paragraph(*cli("process", source, *DATE)[::2])
    assert str(source.parent) in err and "read-only" in err
    assert sorted(p.name for p in source.parent.iterdir()) == ["ledger.xlsx"]


def test_output_path_that_is_a_folder(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    (tmp_path / "out.xlsx").mkdir()
    err = _one_paragraph(*cli("process", source, "-o", tmp_path / "out.xlsx", *DATE)[::2])
    assert "is a folder" in err


def test_a_300_character_file_name(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    err = _one_paragraph(
        *cli("process", source, "-o", tmp_path / ("x" * 296 + ".xlsx"), *DATE)[::2]
    )
    assert "shorter name" in err


def test_a_full_disk_is_one_message_and_leaves_no_temporary_file(tmp_path, cli, monkeypatch):
    source = _ledger(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    err = _one_paragraph(*cli("process", source, "-o", out / "o.xlsx", *DATE)[::2])
    assert "disk is full" in err and str(out / "o.xlsx") in err
    assert list(out.iterdir()) == []


def test_a_full_disk_while_writing_letters_leaves_no_temporary_file(tmp_path, cli, monkeypatch):
    source = _ledger(tmp_path / "in")
    letters = tmp_path / "letters"
    real = Path.write_bytes

    def full(path, data):
        if path.name.endswith(".tmp"):
            real(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(letters_module.Path, "write_bytes", full)
    err = _one_paragraph(
        *cli("process", source, "-o", tmp_path / "o.xlsx", "--letters", letters, *DATE)[::2]
    )
    assert "disk is full" in err
    assert [p for p in letters.rglob("*") if p.is_file()] == []
    assert not (tmp_path / "o.xlsx").exists()


def test_letters_folder_that_is_a_file(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    (tmp_path / "letters").write_text("not a folder")
    err = _one_paragraph(
        *cli(
            "process", source, "-o", tmp_path / "o.xlsx", "--letters", tmp_path / "letters", *DATE
        )[::2]
    )
    assert "is a file" in err
    assert not (tmp_path / "o.xlsx").exists()


def test_read_only_letters_folder(tmp_path, cli, read_only):
    source = _ledger(tmp_path / "in")
    letters = read_only(tmp_path / "letters")
    err = _one_paragraph(*cli("letters", source, "-d", letters / "oct", *DATE)[::2])
    assert "read-only" in err and str(letters) in err


def test_outputs_are_checked_before_any_letter_is_written(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    letters = tmp_path / "letters"
    err = _one_paragraph(
        *cli("process", source, "--letters", letters, "-o", tmp_path / "missing" / "x.xlsx", *DATE)[
            ::2
        ]
    )
    assert "does not exist" in err
    assert not letters.exists() or not any(letters.rglob("*.docx"))


def test_demo_into_an_unwritable_place(tmp_path, cli, read_only):
    locked = read_only(tmp_path / "locked")
    err = _one_paragraph(*cli("demo", "-o", locked / "demo")[::2])
    assert "read-only" in err
    (tmp_path / "file").write_text("x")
    err = _one_paragraph(*cli("demo", "-o", tmp_path / "file" / "demo")[::2])
    assert "is a file" in err


def test_an_unreadable_input_is_exit_1_with_our_message(tmp_path, cli, monkeypatch):
    source = _ledger(tmp_path / "in")
    real = Path.read_bytes

    def denied(path):
        if path == source:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", denied)
    err = _one_paragraph(*cli("process", source, *DATE)[::2])
    assert "ledger.xlsx cannot be read" in err


# ---- --in-place -----------------------------------------------------------------------------


def test_in_place_keeps_a_private_file_private(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    source.chmod(0o600)
    code, _out, err = cli("process", source, "--in-place", *DATE)
    assert code == 0, err
    assert stat.S_IMODE(source.stat().st_mode) == 0o600
    assert "Collection Plan" in load_workbook(source).sheetnames


def test_in_place_follows_a_symbolic_link(tmp_path, cli):
    target = _ledger(tmp_path / "real")
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    code, _out, err = cli("process", link, "--in-place", *DATE)
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == target
    assert "Collection Plan" in load_workbook(target).sheetnames


def test_in_place_refuses_a_read_only_file(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    before = source.read_bytes()
    source.chmod(0o444)
    err = _one_paragraph(*cli("process", source, "--in-place", *DATE)[::2])
    assert "read-only" in err
    assert source.read_bytes() == before


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_in_place_refuses_an_xls_named_xlsx_unless_asked(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "xls", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    disguised = tmp_path / "disguised.xlsx"
    (tmp_path / "ledger.xls").rename(disguised)
    before = disguised.read_bytes()
    err = _one_paragraph(*cli("process", disguised, "--in-place", *DATE)[::2])
    assert "--in-place-values-only" in err and disguised.read_bytes() == before
    code, _out, err = cli("process", disguised, "--in-place-values-only", *DATE)
    assert code == 0, err
    assert "Collection Plan" in load_workbook(disguised).sheetnames


def test_in_place_refuses_formats_it_cannot_write_back(tmp_path, cli):
    from hostile import write_ods

    source = write_ods(
        tmp_path / "ledger.ods",
        [("AR", [["Customer", "Due Date", "Balance"], ["Acme", AS_OF, 10.0]])],
    )
    before = source.read_bytes()
    for flag in ("--in-place", "--in-place-values-only"):
        err = _one_paragraph(*cli("process", source, flag, *DATE)[::2])
        assert "-o ledger.xlsx" in err
    assert source.read_bytes() == before


# ---- temporary files ---------------------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_files_of_dead_runs_are_removed_at_start(tmp_path, cli):
    source = _ledger(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    dead = _dead_pid()
    stale = out / f"{TEMP_PREFIX}{dead}-abc.xlsx.tmp"
    stale_letter = out / f".Acme_R1.docx.{dead}.tmp"
    live = out / f"{TEMP_PREFIX}{os.getpid()}-def.xlsx.tmp"
    fresh_dead = out / f"{TEMP_PREFIX}{dead}-new.xlsx.tmp"
    for path in (stale, stale_letter, live, fresh_dead):
        path.write_bytes(b"half a workbook")
    old = time.time() - 3600
    for path in (stale, stale_letter, live):
        os.utime(path, (old, old))
    code, _out, err = cli("process", source, "-o", out / "o.xlsx", *DATE)
    assert code == 0, err
    assert not stale.exists() and not stale_letter.exists()
    assert live.exists(), "a running writer's file is left alone"
    assert fresh_dead.exists(), "a fresh file may belong to a writer on another machine"
    assert remove_stale_temps(out, now=time.time() + atomic.STALE_SECONDS + 10) != []


_SLOW_BATCH = textwrap.dedent("""
    import sys, time
    import receivables.batch as batch

    def slow(job):
        time.sleep(120)

    batch.process_one = slow
    from receivables.cli import main
    sys.argv = ["receivables", "batch", sys.argv[1], "-o", sys.argv[2], "--jobs", "2"]
    main()
""")


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(n) for n in text.split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_batch_workers_die_with_their_parent(tmp_path, how):
    source = tmp_path / "in"
    for month in (1, 2, 3):
        _ledger(source, f"AR_2026-0{month}.xlsx")
    parent = subprocess.Popen(
        [sys.executable, "-c", _SLOW_BATCH, str(source), str(tmp_path / "out")],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 60
        workers: set[int] = set()
        while time.time() < deadline and len(workers) < 2:
            workers = _children(parent.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "the batch started its workers"
        time.sleep(1)  # the workers are inside process_one
        os.kill(parent.pid, how)
        parent.wait(timeout=30)
        deadline = time.time() + 20
        while time.time() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_pipe_as_input_is_refused_not_read_forever(tmp_path, cli):
    pipe = tmp_path / "ledger.xlsx"
    os.mkfifo(pipe)
    err = _one_paragraph(*cli("process", pipe, "-o", tmp_path / "o.xlsx", *DATE)[::2])
    assert "not a file" in err


_SLOW_WRITE = textwrap.dedent("""
    import sys, time
    import receivables.pipeline as pipeline

    real = pipeline.write_package

    def slow(sink, **kwargs):
        print("writing", flush=True)  # the temporary file exists now
        time.sleep(120)
        real(sink, **kwargs)

    pipeline.write_package = slow
    from receivables.cli import main
    sys.argv = ["receivables", "process", sys.argv[1], "-o", sys.argv[2],
                "--as-of", "2026-10-31"]
    main()
""")


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    source = _ledger(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITE, str(source), str(out / "o.xlsx")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        assert [p.name for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 143
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert list(out.iterdir()) == []
