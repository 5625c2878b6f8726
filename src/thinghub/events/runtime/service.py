"""The detector runtime of one hub: stores, engines (detectors and alarms), timer and delivery
workers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from thinghub.clock import ManualClock
from thinghub.events.actions.aws_lambda import lambda_call
from thinghub.events.control import catalog
from thinghub.events.control.catalog import DetectorModelVersion
from thinghub.events.runtime import codec
from thinghub.events.runtime.alarm_engine import AlarmEngine
from thinghub.events.runtime.deliveries import (
    ACTION_CHANNEL,
    INPUT_CHANNEL,
    action_of,
    input_message_of,
)
from thinghub.events.runtime.engine import DetectorEngine, Message
from thinghub.events.runtime.models_cache import ModelCache
from thinghub.group_commit import GroupCommit
from thinghub.store import DetectorStore, OutboxItem, Scope
from thinghub.store.alarms import AlarmStore

if TYPE_CHECKING:
    from thinghub.deliveries import Deliveries
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.events")

TIMER_POLL_SECONDS = 0.5  # other nodes' timers are noticed within this
PURGE_EVERY_SECONDS = 60.0  # expired message ids are removed this often


class EventsRuntime:
    def __init__(self, hub: Hub, deliveries: Deliveries) -> None:
        settings = hub.settings.raw.get("iotevents", {})
        self.hub = hub
        self.deliveries = deliveries
        self.detectors = DetectorStore(hub.engine, hub.store.page_tokens)
        self.models = ModelCache(hub.store, int(settings.get("min_timer_seconds", 60)))
        self.alarms = AlarmEngine(
            AlarmStore(hub.engine, self.detectors.page_tokens),
            deliveries.outbox,
            hub.store,
            self.models,
        )
        self.engine = DetectorEngine(self.detectors, deliveries.outbox, self.models, self.alarms)
        self._group_commit: GroupCommit[tuple[Scope, list[Message]]] = GroupCommit(self._flush)

    @classmethod
    def start(cls, hub: Hub, deliveries: Deliveries) -> EventsRuntime:
        runtime = cls(hub, deliveries)
        catalog.subscribe(runtime.on_model_change)
        runtime.alarms.start(hub, runtime.wake_deliveries)
        hub.add_worker("iotevents-timers", runtime.timer_worker)
        deliveries.register(ACTION_CHANNEL, runtime._deliver_action)
        deliveries.register(INPUT_CHANNEL, runtime._deliver_input, acknowledges=True)
        if isinstance(hub.clock, ManualClock):
            hub.clock.on_advance(runtime.on_clock_advance)
        return runtime

    def close(self) -> None:
        # The listener list is process-wide: a stopped hub's runtime must not hear another's
        # model changes (it would run its statements on the other hub's connection).
        catalog.unsubscribe(self.on_model_change)
        self.detectors.close()
        self.alarms.close()

    # ----- hooks ------------------------------------------------------------------------

    def on_model_change(
        self, conn: Connection, scope: Scope, name: str, version: DetectorModelVersion | None
    ) -> None:
        """A model was created, updated or deleted: its old detectors go, in the same commit."""
        self.detectors.delete_model(scope, name, conn)
        self.models.invalidate(scope, name)

    def wake_deliveries(self) -> None:
        self.deliveries.wake()

    async def put_messages(self, scope: Scope, messages: list[Message]) -> None:
        """Evaluate messages; returns once their evaluation is committed. Requests that arrive
        together share one transaction (`thinghub.group_commit`)."""
        await self._group_commit.submit((scope, messages))

    def _flush(self, requests: list[tuple[Scope, list[Message]]]) -> list[BaseException | None]:
        now = self.hub.clock.now()
        failures: list[BaseException | None] = [None] * len(requests)
        try:
            self.engine.put_message_groups(requests, now)
        except Exception:
            # One bad request must not fail the others: evaluate them one by one.
            for index, (scope, batch) in enumerate(requests):
                try:
                    self.engine.put_messages(scope, batch, now)
                except Exception as exc:
                    failures[index] = exc
        self.wake_deliveries()
        return failures

    async def on_clock_advance(self, now: float) -> None:
        """Manual clock: fire every timer that fell due, earliest first, before answering."""
        if self.engine.fire_due_timers(now):
            self.wake_deliveries()

    # ----- workers ----------------------------------------------------------------------

    async def timer_worker(self, hub: Hub) -> None:
        next_purge = time.monotonic()
        while True:
            if self.engine.fire_due_timers(hub.clock.now()):
                self.wake_deliveries()
            if time.monotonic() >= next_purge:
                # Message ids are remembered for 5 minutes of thinghub's clock, then dropped.
                self.detectors.purge_expired_messages(hub.clock.now())
                next_purge = time.monotonic() + PURGE_EVERY_SECONDS
            due = self.detectors.next_due()
            delay = TIMER_POLL_SECONDS
            if due is not None and not hub.clock.manual:
                delay = max(0.0, min(delay, due - hub.clock.now()))
            await asyncio.sleep(delay)

    async def _deliver_action(self, item: OutboxItem) -> None:
        delivery = action_of(item.payload)
        if delivery.type == "lambda":
            # A function `[functions]` maps runs as a local handler, as connectors do.
            invoker = self.hub.components.get("connectors")
            arn = str(delivery.fields.get("functionArn", ""))
            if invoker is not None and invoker.is_local(arn):
                event = json.loads(lambda_call(delivery).params["Payload"])
                await invoker.invoke_event(
                    arn, event, account_id=item.scope.account_id, region=item.scope.region
                )
                return
        await self.deliveries.sinks.deliver(delivery)

    async def _deliver_input(self, item: OutboxItem) -> None:
        """An iotEvents action: evaluate its message and drop the item in one transaction."""
        document = input_message_of(item.payload)
        text = document["payload"]
        message = Message(
            message_id=document["messageId"],
            input_name=document["inputName"],
            payload=codec.loads(text) if text else {},
            event_time_ms=int(document.get("eventTimeMs") or 0),
        )

        self.evaluate_item(item, message)

    def evaluate_item(self, item: OutboxItem, message: Message) -> None:
        """Evaluate an outbox item's message and drop the item in one transaction: exactly
        once, whatever crashes when."""

        def evaluate_and_drop(conn: Connection) -> None:
            self.engine.put_messages(item.scope, [message], self.hub.clock.now(), conn)
            self.deliveries.outbox.delivered([item.seq], conn)

        self.detectors.run_transaction(evaluate_and_drop)
