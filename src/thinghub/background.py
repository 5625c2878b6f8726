"""Work a hub runs besides answering requests: fire-and-forget tasks, and deadlines kept on
thinghub's clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from thinghub.clock import ManualClock

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub")


class BackgroundTasks:
    """Tasks started by requests (a connector invocation after a 202, say): failures are
    logged, and whatever still runs is cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def idle(self) -> None:
        """Wait for the tasks started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def keep_deadlines(
    hub: Hub,
    name: str,
    expire_due: Callable[[float], Any],
    next_due: Callable[[], float | None],
    poll_seconds: float = 1.0,
) -> None:
    """Run `expire_due(now)` when deadlines may have passed: on every advance of the manual
    clock (before the advance answers), or in a worker that sleeps until the next deadline
    (`next_due()`) or `poll_seconds`, whichever is sooner (other nodes add deadlines too)."""
    clock = hub.clock
    if isinstance(clock, ManualClock):

        async def on_advance(now: float) -> None:
            expire_due(now)

        clock.on_advance(on_advance)
        return

    async def worker(hub: Hub) -> None:
        while True:
            expire_due(hub.clock.now())
            due = next_due()
            delay = poll_seconds if due is None else min(poll_seconds, due - hub.clock.now())
            await asyncio.sleep(max(0.01, delay))

    hub.add_worker(name, worker)
