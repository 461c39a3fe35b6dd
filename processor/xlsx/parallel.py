"""Make some parts of the output in a forked child process while this one goes on (Linux).

Writing a big workbook does two independent, CPU-bound jobs in Python: rendering the new
sheets' XML and rewriting the receivables sheet's rows. In one process the GIL runs them
one after the other on one core; here a forked child renders the sheets on the other core
while the parent rewrites the rows, and sends the rendered bytes back through a pipe.
The child runs the very calls the serial path would (the same render functions on a
copy-on-write copy of the same memory), so the bytes are the same.

Forking is safe only when no other thread runs: a lock another thread holds at the fork
stays locked forever in the child. So :meth:`ForkedCalls.start` forks only on Linux (where
``os.fork`` exists; macOS' system libraries are not fork-safe, Windows has no fork) and
only while the calling thread is the process's only thread. The child never returns into
the caller's code: it ends with ``os._exit`` (no atexit handlers, no ``finally`` blocks of
the parent's stack, no flush of the parent's buffered files). Any failure of the child (an
exception, a signal, a short message) makes :meth:`ForkedCalls.results` return None, and
the caller makes the results itself.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

_LENGTH = struct.Struct("<Q")  # before each result: its length in bytes
_END = b"\x00done"  # after the last result: the child sent everything
_PIPE_SIZE = 1 << 20  # fewer hand-overs between the processes than the default 64 KiB


def can_fork() -> bool:
    """Whether a child can be forked safely here and now (Linux, no other thread)."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


class ForkedCalls:
    """Calls returning bytes, run in a forked child while the parent does other work.

    Use as a context manager: leaving it reaps the child (killed if still running).
    """

    def __init__(self, pid: int, read_fd: int, count: int) -> None:
        self.pid: int | None = pid
        self.read_fd: int | None = read_fd
        self.count = count
        self._results: list[bytes] | None = None
        self._done = False

    @classmethod
    def start(cls, calls: Sequence[Callable[[], bytes]]) -> ForkedCalls | None:
        """Fork a child running ``calls``; None when it cannot be done safely (see
        :func:`can_fork`) or the fork fails: then the caller runs them itself."""
        if not calls or not can_fork():
            return None
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            import fcntl

            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        try:
            pid = os.fork()
        except OSError:  # out of memory or processes: the serial path does it
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:
            _child(calls, read_fd, write_fd)
        os.close(write_fd)
        return cls(pid, read_fd, len(calls))

    def results(self) -> list[bytes] | None:
        """The calls' results in order, once the child has sent them all (waits for it);
        None when the child failed in any way."""
        if not self._done:
            self._done = True
            try:
                results = _read_results(self.read_fd, self.count)
            except OSError:
                results = None
            self._close_pipe()
            # Accepted only from a child that then ended well (killed if it hangs on).
            if self._reap(kill=results is None) != 0:
                results = None
            self._results = results
        return self._results

    def close(self) -> None:
        """Stop and reap the child if it still runs; close the pipe."""
        self._close_pipe()
        if self.pid is not None:
            self._reap(kill=True)

    def __enter__(self) -> ForkedCalls:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _close_pipe(self) -> None:
        if self.read_fd is not None:
            os.close(self.read_fd)
            self.read_fd = None

    def _reap(self, kill: bool) -> int:
        """Wait for the child to end (after SIGKILL when ``kill``); its exit code."""
        pid, self.pid = self.pid, None
        if pid is None:
            return -1
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by someone else: its end is unknown
            return -1
        return os.waitstatus_to_exitcode(status)


def _child(calls: Sequence[Callable[[], bytes]], read_fd: int, write_fd: int) -> NoReturn:
    """The forked child: run ``calls``, send their results, and end the process."""
    code = 1
    try:
        os.close(read_fd)
        # Its objects are the parent's memory, shared until written to: a collection
        # would write to every one of them (and copy all the pages). It ends soon anyway.
        gc.disable()
        results = [call() for call in calls]
        with open(write_fd, "wb") as pipe:
            for result in results:
                pipe.write(_LENGTH.pack(len(result)))
                pipe.write(result)
            pipe.write(_END)
        code = 0
    except BaseException:  # noqa: BLE001, S110 - any failure: the parent does the work
        pass
    finally:
        os._exit(code)


def _read_results(fd: int, count: int) -> list[bytes] | None:
    """``count`` length-prefixed results and the end mark read from ``fd`` up to its end;
    None when anything is missing or more follows."""
    results = []
    with open(fd, "rb", closefd=False) as pipe:
        for _ in range(count):
            head = pipe.read(_LENGTH.size)
            if len(head) != _LENGTH.size:
                return None
            (length,) = _LENGTH.unpack(head)
            data = pipe.read(length)
            if len(data) != length:
                return None
            results.append(data)
        if pipe.read(len(_END) + 1) != _END:  # reads to the end: nothing may follow
            return None
    return results
