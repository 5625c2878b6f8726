"""thinghub's clock: the system clock, or a manual one that tests move forward."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DueRunner = Callable[[float], Awaitable[None]]


class Clock:
    """Wall-clock time in epoch seconds; every timer and timestamp in thinghub reads it."""

    manual = False

    def now(self) -> float:
        return time.time()


class ManualClock(Clock):
    """A clock that only moves when told to.

    It starts at the system time so timestamps stay plausible, then advances in steps; after
    each step every registered due-runner (timers, timeouts, ...) runs before the call returns.
    """

    manual = True

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._runners: list[DueRunner] = []
        self._lock = asyncio.Lock()

    def now(self) -> float:
        return self._now

    def on_advance(self, runner: DueRunner) -> None:
        """Run `runner(now)` after every advance, before the advance is answered."""
        self._runners.append(runner)

    async def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        async with self._lock:  # one advance at a time, so due work runs in time order
            self._now += seconds
            for runner in self._runners:
                await runner(self._now)
            return self._now


def make_clock(kind: str) -> Clock:
    if kind == "system":
        return Clock()
    if kind == "manual":
        return ManualClock()
    raise ValueError(f"unknown clock {kind!r}: use 'system' or 'manual'")
