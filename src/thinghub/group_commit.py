"""Group commit: requests that arrive together are written in one transaction.

The first request to arrive schedules a flush for the next turn of the event loop; every
request queued by then goes into that flush, in arrival order. The flush says, item by item,
whether the item failed; a request is answered only once its flush has returned (committed).
Used by BatchPutMessage (the detector runtime) and by DEVICE_EVENT.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

# A flush: the items in arrival order -> each item's failure (None: done), in the same order.
Flush = Callable[[list[T]], Sequence[BaseException | None]]


class GroupCommit(Generic[T]):
    def __init__(self, flush: Flush[T]) -> None:
        self._flush_items = flush
        self._pending: list[tuple[T, asyncio.Future[None]]] = []

    async def submit(self, item: T) -> None:
        """Queue `item`; returns once the flush that took it has, or raises its failure."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        try:
            failures = list(self._flush_items([item for item, _ in pending]))
            if len(failures) != len(pending):
                raise RuntimeError(f"a flush of {len(pending)} answered {len(failures)}")
        except BaseException as exc:
            failures = [exc] * len(pending)
        for (_, future), failure in zip(pending, failures, strict=True):
            if future.done():
                continue  # the request went away meanwhile
            if failure is None:
                future.set_result(None)
            elif isinstance(failure, StopIteration):
                # A future cannot hold a StopIteration (it would end the awaiting coroutine).
                future.set_exception(RuntimeError(str(failure) or "StopIteration"))
            else:
                future.set_exception(failure)
