"""The working memory of document cleaning, bounded for the whole process.

Every cleaning job (an image decode and re-encode, a PDF parse) first estimates from the
file's header how much memory it will hold at its peak, and holds that many bytes of one
process-wide budget while it runs: a job that does not fit waits (in its worker thread)
until others give bytes back, so the jobs running together never plan for more than
`POOL_BYTES`, whatever the number of worker threads or servers in the process. A single
job larger than `JOB_BYTES` is refused by the caller before it decodes anything.

Freed image memory is handed back to the operating system after each large job
(`malloc_trim`, glibc only): Pillow allocates pixels in 16 MB blocks, which glibc's adaptive
mmap threshold would otherwise keep in its arenas (RSS stayed near 800 MB after six large
decodes in issue 18).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from server.errors import Busy

MB = 1024 * 1024
POOL_BYTES = 160 * MB  # all cleaning jobs of the process together
JOB_BYTES = 128 * MB  # one job at most (the caller refuses larger files)
WAIT_SECONDS = 30.0  # waiting for memory longer than this answers 503
TRIM_ABOVE = 16 * MB  # give freed memory back after jobs at least this large


def _load_trim():
    """glibc's malloc_trim, or None (musl, macOS...)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_malloc_trim = _load_trim()


def give_back_memory() -> None:
    """Return the allocator's free pages to the operating system (no-op without glibc)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


class MemoryBudget:
    """A counting semaphore of bytes, for worker threads (never awaited on the IOLoop)."""

    def __init__(self, total: int = POOL_BYTES, wait_seconds: float = WAIT_SECONDS):
        self.total = total
        self.wait_seconds = wait_seconds
        self._used = 0
        self._cond = threading.Condition()

    @property
    def used(self) -> int:
        """Bytes held by running jobs now."""
        return self._used

    @contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` (at most the whole budget) while the block runs; Busy after waiting too long."""
        need = max(0, min(int(nbytes), self.total))
        with self._cond:
            if not self._cond.wait_for(lambda: self._used + need <= self.total, self.wait_seconds):
                raise Busy("上传人数较多，请稍后重试", "upload_busy", retry_after=5)
            self._used += need
        try:
            yield
        finally:
            with self._cond:
                self._used -= need
                self._cond.notify_all()
            if need >= TRIM_ABOVE:
                give_back_memory()


BUDGET = MemoryBudget()
