"""The hub's delivery worker: hands every outbox item to the handler of its channel.

Services queue outgoing work in the outbox (`thinghub.store.outbox`) inside the transaction of
the change that caused it, and register one handler per channel here: IoT Events actions and
inputs, managed-integrations notifications, ... A handler raises to fail an attempt (the item
is retried with backoff; an exception whose ``retryable`` is False waits much longer, for the
operator to fix the destination); it returns normally when the item is delivered. A handler
registered with ``acknowledges=True`` removes its item itself, in its own transaction (to
evaluate a message and drop its item atomically).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thinghub.config import ConfigError, Settings
from thinghub.events.actions import ActionSinks
from thinghub.integrations.settings import seconds_setting
from thinghub.store import Outbox, OutboxItem

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.deliveries")

BATCH = 64
LEASE_SECONDS = 60.0
IDLE_SECONDS = 0.5  # other nodes' items are noticed within this
MAX_BACKOFF_SECONDS = 300.0
# A non-retryable failure (bad ARN, missing permission) waits this many doublings longer.
PERMANENT_PENALTY = 8

ChannelHandler = Callable[[OutboxItem], Awaitable[None]]


class UnknownChannel(Exception):
    retryable = False


@dataclass(frozen=True, slots=True)
class _Channel:
    handler: ChannelHandler
    acknowledges: bool


def backoff(attempts: int, ceiling: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds before the next attempt after `attempts` failures: 1, 2, 4, ... up to
    `ceiling` (5 minutes unless ``[deliveries] max_backoff_seconds`` says otherwise)."""
    return float(min(ceiling, 2 ** max(0, min(attempts, 32))))


def max_backoff_seconds(settings: Settings) -> float:
    section = settings.raw.get("deliveries", {})
    unknown = sorted(set(section) - {"max_backoff_seconds"}) if isinstance(section, dict) else []
    if unknown:
        raise ConfigError(f"[deliveries] has no setting {unknown[0]!r}")
    return seconds_setting(
        settings, "max_backoff_seconds", MAX_BACKOFF_SECONDS, section="deliveries", at_least=1
    )


class Deliveries:
    """The outbox of one hub, its channels and the worker that drains it."""

    def __init__(self, hub: Hub) -> None:
        self.outbox = Outbox(hub.engine)
        self.max_backoff = max_backoff_seconds(hub.settings)
        # Outgoing AWS calls (SNS, SQS, Lambda, Kinesis, ...) share one set of clients.
        self.sinks = ActionSinks(hub.settings)
        self._channels: dict[str, _Channel] = {}
        self._work = asyncio.Event()

    @classmethod
    def start(cls, hub: Hub) -> Deliveries:
        deliveries = cls(hub)
        hub.add_worker("deliveries", deliveries.worker)
        return deliveries

    def register(
        self, channel: str, handler: ChannelHandler, *, acknowledges: bool = False
    ) -> None:
        if channel in self._channels:
            raise ValueError(f"outbox channel {channel!r} already has a handler")
        self._channels[channel] = _Channel(handler, acknowledges)

    def wake(self) -> None:
        """New items were committed: look now rather than at the next poll."""
        self._work.set()

    def close(self) -> None:
        self.outbox.close()

    async def worker(self, hub: Hub) -> None:
        while True:
            # Deliveries deal with real peers: their retry schedule runs on real time.
            items = self.outbox.claim(time.time(), BATCH, LEASE_SECONDS)
            if not items:
                self._work.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._work.wait(), IDLE_SECONDS)
                continue
            try:
                await asyncio.gather(*(self.deliver(item) for item in items))
            except asyncio.CancelledError:
                # Shutting down: what is still in flight is due again at once for whoever
                # runs next (this node after a restart, or another node), not after the lease.
                self._release(items)
                raise

    def _release(self, items: list[OutboxItem]) -> None:
        try:
            self.outbox.release(((i.seq, i.claimed_until) for i in items), time.time())
        except Exception:
            log.exception(
                "could not release %d outbox items; their leases will run out", len(items)
            )

    async def deliver(self, item: OutboxItem) -> None:
        """One attempt at one claimed item."""
        channel = self._channels.get(item.channel)
        try:
            if channel is None:
                raise UnknownChannel(f"unknown outbox channel {item.channel!r}")
            await channel.handler(item)
        except Exception as exc:
            retryable = getattr(exc, "retryable", True)
            attempts = item.attempts if retryable else item.attempts + PERMANENT_PENALTY
            delay = backoff(attempts, self.max_backoff)
            now = time.time()
            self.outbox.failed(
                item.seq, now, now + delay, str(exc)[:1000], lease_until=item.claimed_until
            )
            log.warning(
                "delivery %s (%s) failed, attempt %d, retry in %.0f s: %s",
                item.seq,
                item.channel,
                item.attempts + 1,
                delay,
                exc,
            )
            return
        if not channel.acknowledges:
            self.outbox.delivered([item.seq])
