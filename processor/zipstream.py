"""Reading a zip member a chunk ahead, in a background thread."""

from __future__ import annotations

import queue
import threading
import zipfile


class ReadAhead:
    """Reads and inflates a zip member in a background thread, a chunk ahead of its user.

    ``read()`` returns the next chunk (any size; b"" at the end); inflating releases
    the GIL, so it overlaps the caller's work on the previous chunk.
    """

    def __init__(self, archive: zipfile.ZipFile, name: str | zipfile.ZipInfo, chunk_size: int):
        self.chunk_size = chunk_size
        self.chunks: queue.Queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(archive, name), name="zip reader", daemon=True
        )
        self.thread.start()

    def _run(self, archive: zipfile.ZipFile, name: str | zipfile.ZipInfo) -> None:
        try:
            with archive.open(name) as source:
                while not self.stop.is_set():
                    chunk = source.read(self.chunk_size)
                    self.chunks.put((chunk, None))
                    if not chunk:
                        return
        except BaseException as exc:  # noqa: BLE001 - re-raised in the reading thread
            self.chunks.put((b"", exc))

    def read(self, size: int = -1) -> bytes:
        """The next chunk, or with no ``size`` everything left."""
        if size is not None and size >= 0:
            return self._next()
        parts = []
        while chunk := self._next():
            parts.append(chunk)
        return b"".join(parts)

    def _next(self) -> bytes:
        if not self.thread.is_alive() and self.chunks.empty():
            return b""
        chunk, error = self.chunks.get()
        if error is not None:
            raise error
        if not chunk:
            self.chunks.put((b"", None))  # stay at the end for later reads
        return chunk

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        while self.thread.is_alive():  # unblock a reader waiting on a full queue
            try:
                self.chunks.get_nowait()
            except queue.Empty:
                self.thread.join(0.01)
