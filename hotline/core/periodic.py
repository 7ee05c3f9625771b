"""A job run now and then by a task of its own: every `interval` seconds, at once when poked, and
again straight away while it reports more work waiting. Stopping lets the run in progress finish
(within a grace period), so a job is not cut off between its commit and its publishing. For the
small background services the composition root starts (dispatch timers, the outbox sender)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """`job()` returns True when it left work for an immediate next run (a full batch)."""

    def __init__(self, name: str, job: Callable[[], Awaitable[bool]], interval: float) -> None:
        self.name = name
        self._job = job
        self._interval = interval
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def stopping(self) -> bool:
        """True once `close` was called: a long job should stop at its next safe point."""
        return self._stopping

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def poke(self) -> None:
        """Run now rather than at the next interval."""
        self._wake.set()

    async def close(self, grace: float = 5.0) -> None:
        """Let the run in progress finish (at most `grace` seconds), then stop."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            log.warning("%s: still running after %.1f s; cancelled", self.name, grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping:
            more = False
            try:
                more = await self._job()
            except Exception:
                log.exception("%s: run failed", self.name)
            if more or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
