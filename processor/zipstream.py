"""Reading a zip member a chunk ahead, in a background thread; faster deflate for zipfile."""

from __future__ import annotations

import contextlib
import queue
import threading
import zipfile
from collections.abc import Iterator

try:  # ISA-L: the same deflate streams as zlib, 3-4x faster at the levels it has (0-3)
    from isal import isal_zlib
except ImportError:  # pragma: no cover - a platform without its wheel: zlib, slower
    isal_zlib = None

_STDLIB = (zipfile._get_compressor, zipfile._get_decompressor)
_ISAL_LEVELS = frozenset({0, 1, 2, 3})
_patch_lock = threading.Lock()
_patch_users = 0


def _compressor(compress_type, compresslevel=None):
    if compress_type == zipfile.ZIP_DEFLATED and compresslevel in _ISAL_LEVELS:
        return isal_zlib.compressobj(compresslevel, isal_zlib.DEFLATED, -15)
    return _STDLIB[0](compress_type, compresslevel)


def _decompressor(compress_type):
    if compress_type == zipfile.ZIP_DEFLATED:
        return isal_zlib.decompressobj(-15)
    return _STDLIB[1](compress_type)


@contextlib.contextmanager
def fast_deflate() -> Iterator[None]:
    """Let zipfile deflate (at levels 0-3) and inflate with ISA-L meanwhile.

    A workbook's parts are deflate streams either way (readers cannot tell); compressing
    and inflating the receivables sheet of a 100k-row ledger (~100 MB of XML) takes a
    third of zlib's time. zipfile offers no hook for its codec, so its two factory
    functions are swapped while any caller is inside this block (counted: nested and
    concurrent blocks restore them once, when the last one leaves).
    """
    global _patch_users
    if isal_zlib is None:
        yield
        return
    with _patch_lock:
        _patch_users += 1
        zipfile._get_compressor, zipfile._get_decompressor = _compressor, _decompressor
    try:
        yield
    finally:
        with _patch_lock:
            _patch_users -= 1
            if not _patch_users:
                zipfile._get_compressor, zipfile._get_decompressor = _STDLIB


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
