"""Renders transfer sheets in a child process, and keeps each rendered sheet as a file.

fontTools holds the 51 MB CJK font about twice while it subsets it: rendered in the server
process, one sheet raised its RSS by ~110 MB that the allocator kept. A child process
started for each rendering (spawned: nothing of the server is inherited) gives all of it
back when it exits. A sheet never changes once issued (the archive is read-only from then
on), so it is rendered once and later downloads read the stored file.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from server.errors import Busy

WAITING_MAX = 4  # renderings queued beyond the running one before callers get 503


class SheetPrinter:
    """One rendering at a time in a fresh child process; a few more may wait."""

    def __init__(self, services):
        self.services = services
        self._pool: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(1)
        self._waiting = 0

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1)
        return self._pool

    async def render(self, content: dict[str, Any]) -> bytes:
        """The PDF of a sheet's content (see server/transfers/sheet.py); Busy when too many wait."""
        from server.transfers.sheet import render_sheet

        if self._waiting >= WAITING_MAX + 1:
            raise Busy("调转信息表生成排队人数较多，请稍后重试", "sheet_busy", retry_after=5)
        self._waiting += 1
        try:
            async with self._slots:
                loop = asyncio.get_running_loop()
                paths = self.services.settings.pdf_font_paths
                return await loop.run_in_executor(self._executor(), render_sheet, content, paths)
        finally:
            self._waiting -= 1

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
