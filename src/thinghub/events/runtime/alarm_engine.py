"""The alarm engine: messages, customer actions and snooze endings in, committed alarms out.

Messages arrive through the detector engine (`DetectorEngine.put_message_groups`), after its
messageId de-duplication and inside its transaction: one commit holds the detector evaluations,
the alarms and the outbox items of both, so every message is evaluated exactly once. Customer
actions (the data plane's Batch*Alarm) and snooze endings commit on their own, with the alarm
actions they cause. A snooze is a durable timer: the alarm row's `snooze_until`, fired on
thinghub's clock (the manual clock fires due snoozes before it answers an advance).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from thinghub.clock import ManualClock
from thinghub.events.control import alarm_catalog
from thinghub.events.control.alarm_catalog import AlarmModelVersion
from thinghub.events.runtime import codec
from thinghub.events.runtime.alarm_cache import AlarmModelCache
from thinghub.events.runtime.alarm_model import CompiledAlarmModel
from thinghub.events.runtime.alarms import (
    Alarm,
    Command,
    CommandRefused,
    apply_command,
    dispatches,
    end_snooze,
    new_alarm,
    receive,
)
from thinghub.events.runtime.deliveries import outbox_item
from thinghub.events.runtime.engine import Message, key_value
from thinghub.events.runtime.models_cache import ModelCache
from thinghub.store import Outbox, OutboxItemIn, ResourceStore, Scope
from thinghub.store.alarms import AlarmRecord, AlarmStore

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.events")

SNOOZE_BATCH = 500
SNOOZE_POLL_SECONDS = 0.5  # other nodes' snoozes are noticed within this


@dataclass(frozen=True, slots=True)
class AlarmRequest:
    """One entry of a Batch*Alarm request."""

    request_id: str
    model: str
    key: str  # "" when the request names no keyValue
    command: Command


@dataclass(frozen=True, slots=True)
class RequestError:
    request_id: str
    code: str
    message: str


def to_alarm(record: AlarmRecord) -> Alarm:
    document: dict[str, Any] = codec.loads(record.document)
    return Alarm(
        model=record.model,
        key=record.key,
        version=record.version,
        state=record.state,
        inputs=document.get("inputs") or {},
        created_at=record.created_at,
        updated_at=record.updated_at,
        rule_evaluation=document.get("ruleEvaluation"),
        customer_action=document.get("customerAction"),
        system_event=document.get("systemEvent"),
        snooze_until=record.snooze_until,
    )


def to_record(alarm: Alarm) -> AlarmRecord:
    document: dict[str, Any] = {"inputs": alarm.inputs}
    if alarm.rule_evaluation is not None:
        document["ruleEvaluation"] = alarm.rule_evaluation
    if alarm.customer_action is not None:
        document["customerAction"] = alarm.customer_action
    if alarm.system_event is not None:
        document["systemEvent"] = alarm.system_event
    return AlarmRecord(
        model=alarm.model,
        key=alarm.key,
        version=alarm.version,
        state=alarm.state,
        document=codec.dumps(document),
        snooze_until=alarm.snooze_until,
        created_at=alarm.created_at,
        updated_at=alarm.updated_at,
    )


def _describe(key: str) -> str:
    return key or "(no key)"


class AlarmEngine:
    def __init__(
        self, store: AlarmStore, outbox: Outbox, resources: ResourceStore, detectors: ModelCache
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.models = AlarmModelCache(resources)
        # Alarms read what detectors read of a message: its declared attributes.
        self._detectors = detectors
        self._wake: Callable[[], None] = lambda: None

    def start(self, hub: Hub, wake: Callable[[], None]) -> None:
        """Subscribe to alarm model changes and run the snoozes on the hub's clock; `wake`
        tells the delivery worker that alarm actions are waiting."""
        self._wake = wake
        alarm_catalog.subscribe(self.on_model_change)
        hub.add_worker("iotevents-alarm-snoozes", self.snooze_worker)
        if isinstance(hub.clock, ManualClock):
            hub.clock.on_advance(self.on_clock_advance)

    def close(self) -> None:
        # The listener list is process-wide: a stopped hub's engine must not hear another's
        # model changes (it would run its statements on the other hub's connection).
        alarm_catalog.unsubscribe(self.on_model_change)
        self.store.close()

    def on_model_change(
        self, conn: Connection, scope: Scope, name: str, version: AlarmModelVersion | None
    ) -> None:
        """An alarm model was created, updated or deleted: its alarms go, in the same commit
        (spec 9.5: they are created again as data arrives)."""
        self.store.delete_model(scope, name, conn)
        self.models.invalidate(scope, name)

    # ----- messages ---------------------------------------------------------------------------

    def put_messages(
        self, scope: Scope, messages: Sequence[Message], now: float, conn: Connection
    ) -> None:
        """Evaluate (already de-duplicated) messages in every alarm model that reads their
        input, in the caller's transaction."""
        work: dict[str, tuple[CompiledAlarmModel, list[tuple[str, Message, Any]]]] = {}
        routes: dict[str, tuple[CompiledAlarmModel, ...]] = {}
        for message in messages:
            models = routes.get(message.input_name)
            if models is None:
                models = routes[message.input_name] = self.models.for_input(
                    scope, message.input_name
                )
            readable: Any = None
            for model in models:
                path = model.key_path
                key = "" if path is None else key_value(path, message.payload)
                if key is None:
                    continue  # no key in this message: it reaches no alarm of this model
                if readable is None:
                    project = self._detectors.projection(scope, message.input_name)
                    readable = project(message.payload)
                entry = work.get(model.name)
                if entry is None:
                    entry = work[model.name] = (model, [])
                entry[1].append((key, message, readable))
        if not work:
            return
        items: list[OutboxItemIn] = []
        for model, entries in work.values():
            keys = list(dict.fromkeys(key for key, _, _ in entries))
            records = self.store.get_many(scope, model.name, keys, conn, lock=True)
            alarms = {
                key: to_alarm(record)
                for key, record in records.items()
                if record.version == model.version  # other versions' alarms are gone
            }
            for key, message, readable in entries:
                alarm = alarms.get(key)
                if alarm is None:
                    alarm = alarms[key] = new_alarm(model, key, now)
                transition, problem = receive(model, alarm, message.input_name, readable, now)
                if problem is not None:
                    log.warning("alarm %s/%s: %s", model.name, _describe(key), problem)
                if transition.changed:
                    items += self._actions(scope, model, alarm, message.event_time_ms, now)
            self.store.upsert_many(scope, [to_record(a) for a in alarms.values()], conn)
        if items:
            # Outbox times are real time: deliveries retry against real peers.
            self.outbox.add_many(items, time.time(), conn)

    def _actions(
        self,
        scope: Scope,
        model: CompiledAlarmModel,
        alarm: Alarm,
        event_time_ms: int,
        now: float,
    ) -> list[OutboxItemIn]:
        sent, problems = dispatches(model, alarm, event_time_ms, now)
        for problem in problems:
            log.warning("alarm %s/%s: %s", model.name, _describe(alarm.key), problem)
        # One partition per alarm keeps its actions in order; "alarmModel/" keeps it apart from
        # a detector model of the same name.
        partition = f"alarmModel/{model.name}"
        return [outbox_item(scope, partition, alarm.key, d, event_time_ms) for d in sent]

    # ----- customer actions (data plane) ------------------------------------------------------

    def run_commands(
        self, scope: Scope, requests: Sequence[AlarmRequest], now: float
    ) -> list[RequestError]:
        """Apply a Batch*Alarm request in one transaction; the entries that failed."""

        def work(conn: Connection) -> tuple[list[RequestError], bool]:
            errors: list[RequestError] = []
            items: list[OutboxItemIn] = []
            for request in requests:
                model = self.models.active(scope, request.model)
                if model is None:
                    errors.append(
                        RequestError(
                            request.request_id,
                            "ResourceNotFoundException",
                            f"Alarm model {request.model} does not exist",
                        )
                    )
                    continue
                record = self.store.get_many(scope, model.name, [request.key], conn, lock=True).get(
                    request.key
                )
                if record is None or record.version != model.version:
                    errors.append(
                        RequestError(
                            request.request_id,
                            "ResourceNotFoundException",
                            f"Alarm {_describe(request.key)} of alarm model {model.name} does "
                            "not exist",
                        )
                    )
                    continue
                alarm = to_alarm(record)
                try:
                    transition = apply_command(model, alarm, request.command, now)
                except CommandRefused as refused:
                    errors.append(
                        RequestError(
                            request.request_id,
                            "InvalidRequestException",
                            f"Alarm {_describe(request.key)} of alarm model {model.name}: "
                            f"{refused}",
                        )
                    )
                    continue
                if transition.changed:
                    items += self._actions(scope, model, alarm, int(now * 1000), now)
                self.store.upsert_many(scope, [to_record(alarm)], conn)
            if items:
                self.outbox.add_many(items, time.time(), conn)
            return errors, bool(items)

        errors, queued = self.store.run_transaction(work)
        if queued:
            self._wake()
        return errors

    # ----- reads (data plane) -----------------------------------------------------------------

    def alarm(self, scope: Scope, model: CompiledAlarmModel, key: str) -> Alarm | None:
        record = self.store.get(scope, model.name, key)
        if record is None or record.version != model.version:
            return None
        return to_alarm(record)

    # ----- snoozes ----------------------------------------------------------------------------

    def fire_due_snoozes(self, now: float, limit: int = SNOOZE_BATCH) -> int:
        """End every snooze due by `now`, each at its own end time, earliest first; how many."""
        fired = 0
        while True:
            claimed = self.store.run_transaction(lambda conn: self._end_snoozes(now, limit, conn))
            if not claimed:
                return fired
            fired += claimed

    def _end_snoozes(self, now: float, limit: int, conn: Connection) -> int:
        due = self.store.claim_due(now, limit, conn)
        items: list[OutboxItemIn] = []
        by_scope: dict[Scope, list[AlarmRecord]] = {}
        for entry in due:
            alarm = to_alarm(entry.record)
            ended_at = alarm.snooze_until if alarm.snooze_until is not None else now
            # The snooze ends at its due time, whenever the clock noticed.
            transition = end_snooze(alarm, ended_at)
            model = self.models.active(entry.scope, alarm.model)
            if transition.changed and model is not None and model.version == alarm.version:
                items += self._actions(entry.scope, model, alarm, int(ended_at * 1000), ended_at)
            by_scope.setdefault(entry.scope, []).append(to_record(alarm))
        for scope, records in by_scope.items():
            self.store.upsert_many(scope, records, conn)
        if items:
            self.outbox.add_many(items, time.time(), conn)
        return len(due)

    async def on_clock_advance(self, now: float) -> None:
        """Manual clock: end every snooze that fell due before the advance is answered."""
        if self.fire_due_snoozes(now):
            self._wake()

    async def snooze_worker(self, hub: Hub) -> None:
        while True:
            if self.fire_due_snoozes(hub.clock.now()):
                self._wake()
            due = self.store.next_due()
            delay = SNOOZE_POLL_SECONDS
            if due is not None and not hub.clock.manual:
                delay = max(0.0, min(delay, due - hub.clock.now()))
            await asyncio.sleep(delay)
