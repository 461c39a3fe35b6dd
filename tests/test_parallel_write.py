"""New sheets rendered in a forked child while the ledger's rows are rewritten: the same
bytes as when everything is made in one process, and the serial path when the child
fails (Linux only: elsewhere the writer never forks)."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from receivables import cores, pipeline
from receivables.core.sheets import Column, SheetModel
from receivables.demo import SAMPLE_AS_OF, sample_path
from receivables.xlsx import parallel, splice

from conftest import AS_OF, ledger_row, write_ledger
from messages_support import RULES
from messages_support import write_ledger as write_messages_ledger

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the writer forks on Linux only")


@pytest.fixture
def writes(monkeypatch) -> list[dict]:
    """The arguments of every write_package call of the pipeline (each goes through)."""
    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process: the writer would not fork")
    calls: list[dict] = []
    real = pipeline.write_package

    def recording(target, **kwargs):
        calls.append(kwargs)
        return real(target, **kwargs)

    monkeypatch.setattr(pipeline, "write_package", recording)
    return calls


def _parts(data: bytes) -> list[tuple[str, bytes]]:
    """Every part of a zip package, in order, with its bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [(name, package.read(name)) for name in package.namelist()]


def _written_both_ways(kwargs: dict) -> tuple[bytes, int]:
    """The workbook written with every sheet rendered here, checked to be the very bytes
    of the one written with the new sheets rendered by a forked child; and how many
    sheets the child rendered."""
    serial, forked = io.BytesIO(), io.BytesIO()
    assert splice.write_package(serial, **kwargs, parallel=False) == 0
    rendered = splice.write_package(forked, **kwargs, parallel=True)
    assert _parts(forked.getvalue()) == _parts(serial.getvalue())
    assert forked.getvalue() == serial.getvalue()  # the zip's own bytes too
    return serial.getvalue(), rendered


def test_letters_log_and_sms_sheets_are_the_same_from_a_child(tmp_path, writes, run_json):
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    ledger = write_messages_ledger(tmp_path / "ledger.xlsx")
    out = tmp_path / "out.xlsx"
    letters = tmp_path / "letters"
    run_json("process", ledger, "-o", out, "--letters", letters, "--as-of", AS_OF.isoformat())
    (kwargs,) = writes
    names = [model.name for model in kwargs["models"]]
    assert {"Letters Log", "SMS", "Collection Plan"} <= set(names)
    data, rendered = _written_both_ways(kwargs)
    assert rendered == len(names)
    # The run itself (a small ledger: rendered here) wrote the same workbook.
    assert out.read_bytes() == data


def test_a_rerun_replacing_earlier_outputs_in_place(tmp_path, writes, run_json):
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    as_of = SAMPLE_AS_OF.isoformat()
    run_json("process", sample_path(), "-o", first, "--as-of", as_of)
    run_json("process", first, "-o", second, "--as-of", as_of)
    for kwargs in writes:
        assert any(model.charts for model in kwargs["models"])  # Aging Summary's charts
        _data, rendered = _written_both_ways(kwargs)
        assert rendered == len(kwargs["models"])
    assert writes[1]["replaceable"]  # the second run replaced the first one's sheets


def test_a_sheet_of_the_user_named_like_an_output(tmp_path, writes, run_json):
    rows = [ledger_row(f"Cust {i % 7}", i * 9 - 30, 100.0 + i) for i in range(60)]
    ledger = write_ledger(
        tmp_path / "in.xlsx", rows, extra_sheets=[("Collection Plan", [["my own plan"]])]
    )
    out = tmp_path / "out.xlsx"
    run_json("process", ledger, "-o", out, "--as-of", AS_OF.isoformat())
    (kwargs,) = writes
    names = [model.name for model in kwargs["models"]]
    assert "Collection Plan" not in names and any(n.startswith("Collection Plan") for n in names)
    data, rendered = _written_both_ways(kwargs)
    assert rendered == len(names)
    book = load_workbook(io.BytesIO(data), read_only=True)
    assert book["Collection Plan"]["A1"].value == "my own plan"


class _DiesInAChild:
    """A cell value whose text kills the process reading it, unless it is ``owner``; the
    marker file says it happened."""

    def __init__(self, text: str, owner: int, marker: Path) -> None:
        self.text, self.owner, self.marker = text, owner, marker

    def __str__(self) -> str:
        if os.getpid() != self.owner:
            self.marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return self.text


def test_a_child_that_dies_leaves_the_sheets_to_the_parent(tmp_path, writes, run_json):
    rows = [ledger_row(f"Cust {i % 5}", i * 11 - 20, 50.0 + i) for i in range(40)]
    ledger = write_ledger(tmp_path / "in.xlsx", rows)
    run_json("process", ledger, "-o", tmp_path / "out.xlsx", "--as-of", AS_OF.isoformat())
    (kwargs,) = writes
    marker = tmp_path / "marker"
    notes = SheetModel(
        name="Notes",
        columns=(Column("Note"),),
        rows=[(_DiesInAChild(f"note {i}", os.getpid(), marker),) for i in range(3)],
    )
    kwargs = {**kwargs, "models": [*kwargs["models"], notes]}
    serial, forked = io.BytesIO(), io.BytesIO()
    splice.write_package(serial, **kwargs, parallel=False)
    assert not marker.exists()
    # The child renders the sheets in order and is killed at Notes: none is taken from it.
    assert splice.write_package(forked, **kwargs, parallel=True) == 0
    assert marker.read_text() == "killed"
    assert forked.getvalue() == serial.getvalue()
    book = load_workbook(io.BytesIO(forked.getvalue()), read_only=True)
    assert [row[0].value for row in book["Notes"].iter_rows(min_row=2)] == [
        "note 0",
        "note 1",
        "note 2",
    ]


def test_a_small_workbook_is_written_in_one_process(tmp_path, writes, run_json):
    rows = [ledger_row("Acme", 40, 120.0), ledger_row("Bolt", 95, 80.0)]
    ledger = write_ledger(tmp_path / "in.xlsx", rows)
    run_json("process", ledger, "-o", tmp_path / "out.xlsx", "--as-of", AS_OF.isoformat())
    (kwargs,) = writes
    assert splice.write_package(io.BytesIO(), **kwargs) == 0  # not worth a fork


# -- the fork helper itself ----------------------------------------------------------------


def _forked(calls) -> list[bytes] | None:
    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process: no fork")
    with parallel.ForkedCalls.start(calls) as forked:
        return forked.results()


def test_results_come_back_in_order_whatever_their_size():
    big = bytes(range(256)) * 40_000  # several times the pipe's buffer
    assert _forked([lambda: b"first", lambda: b"", lambda: big]) == [b"first", b"", big]


def test_a_child_that_raises_gives_no_results():
    def broken() -> bytes:
        raise ValueError("in the child")

    assert _forked([lambda: b"fine", broken]) is None


def test_a_child_that_is_killed_gives_no_results():
    def killed() -> bytes:
        os.kill(os.getpid(), signal.SIGKILL)
        return b"never"

    assert _forked([lambda: b"fine", killed]) is None


def test_a_child_that_returns_no_bytes_gives_no_results():
    assert _forked([lambda: "text, not bytes"]) is None


@pytest.mark.parametrize(
    "stream",
    [
        b"",
        b"\x05\x00\x00",
        b"\x05\x00\x00\x00\x00\x00\x00\x00abc",
        b"\x03\x00\x00\x00\x00\x00\x00\x00abc",
        b"\x03\x00\x00\x00\x00\x00\x00\x00abc" + parallel._END + b"x",
    ],
    ids=["nothing", "short length", "short result", "no end mark", "more after the end"],
)
def test_a_short_or_long_message_is_refused(stream):
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, stream)
        os.close(write_fd)
        assert parallel._read_results(read_fd, 1) is None
    finally:
        os.close(read_fd)


def test_no_fork_while_another_thread_runs():
    started, release = threading.Event(), threading.Event()

    def waiting() -> None:
        started.set()
        release.wait()

    thread = threading.Thread(target=waiting)
    thread.start()
    try:
        started.wait()
        assert not parallel.can_fork()
        assert parallel.ForkedCalls.start([lambda: b"never run"]) is None
    finally:
        release.set()
        thread.join()


def test_a_batch_pool_worker_forks_no_child():
    """Its sibling workers have the other cores: a child would only take turns."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool:
        assert pool.submit(cores.spare_core).result() is False
