"""The loop of a background worker that is poked: rounds run back to back while they find work,
then one waits `poll_seconds` or until `poke()` (work was made in this process)."""

from __future__ import annotations

import abc
import asyncio
import logging

log = logging.getLogger("kjcj.notify")


class PokedLoop(abc.ABC):
    """Subclasses define `run_once() -> how much was done`, and may set `poll_seconds` and `label`."""

    poll_seconds = 2.0
    label = "background round"
    _wake: asyncio.Event | None = None

    def poke(self) -> None:
        """Look for work now."""
        if self._wake is not None:
            self._wake.set()

    @abc.abstractmethod
    async def run_once(self) -> int:
        """One round; how many items it handled."""

    async def run_forever(self) -> None:
        """Run rounds until cancelled; a failed round is logged and the next one comes as usual."""
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            handled = 0
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", self.label)
            if handled:
                continue  # there may be more than one batch due
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
