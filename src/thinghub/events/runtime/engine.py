"""The detector engine: messages and timer expiries in, committed evaluations out.

One call handles a whole batch in ONE transaction: de-duplicate message ids, load the touched
detectors in one query per model, evaluate in message order, write detectors, timers and the
outbox items of external actions, commit. A 2xx answer therefore means every accepted
message's evaluation is durable, and no action is lost or sent for a rolled-back evaluation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from thinghub.events.runtime import codec
from thinghub.events.runtime.deliveries import outbox_item
from thinghub.events.runtime.evaluation import Evaluator, Instance, Outcome, Timer, Trigger
from thinghub.events.runtime.models_cache import ModelCache
from thinghub.store import DetectorRecord, DetectorStore, Outbox, OutboxItemIn, Scope

if TYPE_CHECKING:
    from thinghub.events.runtime.alarm_engine import AlarmEngine

log = logging.getLogger("thinghub.events")

TIMER_BATCH = 500


@dataclass(frozen=True, slots=True)
class Message:
    """One accepted BatchPutMessage entry (or an iotEvents action's message)."""

    message_id: str
    input_name: str
    payload: Any  # decoded JSON
    event_time_ms: int


def key_value(path: tuple[str, ...], payload: Any) -> str | None:
    """The detector key found at `path` in the raw payload (a string, as IoT Events shows it)."""
    node = payload
    for segment in path:
        if not isinstance(node, dict) or segment not in node:
            return None
        node = node[segment]
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, str | int | Decimal):
        return str(node)
    if isinstance(node, float):
        return repr(node)
    return None  # objects, arrays and null identify no detector


def to_instance(record: DetectorRecord, timers: dict[str, tuple[float, int]]) -> Instance:
    return Instance(
        model=record.model,
        key=record.key,
        version=record.version,
        state=record.state,
        variables=codec.loads(record.variables_json),
        inputs=codec.loads(record.inputs_json),
        timers={name: Timer(due, duration) for name, (due, duration) in timers.items()},
        created_at=record.created_at,
        updated_at=record.updated_at,
        row_version=record.row_version,
    )


def to_record(instance: Instance) -> DetectorRecord:
    return DetectorRecord(
        model=instance.model,
        key=instance.key,
        version=instance.version,
        state=instance.state,
        variables_json=codec.dumps(instance.variables),
        inputs_json=codec.dumps(instance.inputs),
        created_at=instance.created_at,
        updated_at=instance.updated_at,
        row_version=instance.row_version,
    )


def _timer_set(instance: Instance) -> dict[str, tuple[float, int]]:
    return {name: (timer.due_at, timer.duration) for name, timer in instance.timers.items()}


class DetectorEngine:
    def __init__(
        self,
        detectors: DetectorStore,
        outbox: Outbox,
        models: ModelCache,
        alarms: AlarmEngine | None = None,
    ) -> None:
        self.detectors = detectors
        self.outbox = outbox
        self.models = models
        # Alarm models read the same messages, evaluated in the same transaction.
        self.alarms = alarms

    # ----- messages ---------------------------------------------------------------------

    def put_messages(
        self, scope: Scope, messages: Sequence[Message], now: float, conn: Connection | None = None
    ) -> None:
        """Evaluate every message in every model that reads its input, durably."""
        self.put_message_groups([(scope, messages)], now, conn)

    def put_message_groups(
        self,
        groups: Sequence[tuple[Scope, Sequence[Message]]],
        now: float,
        conn: Connection | None = None,
    ) -> None:
        """Several requests' messages in one transaction (group commit), in order.

        The requests of one scope are evaluated as one batch, as if sent in one request: one
        statement per kind of work for all of them. Each detector still sees its messages in
        arrival order, and a messageId repeated across them counts once, as across commits.
        """
        merged: dict[Scope, list[Message]] = {}
        for scope, messages in groups:
            merged.setdefault(scope, []).extend(messages)

        def run(own: Connection) -> None:
            for scope, messages in merged.items():
                self._put_messages(scope, messages, now, own)

        if conn is None:
            self.detectors.run_transaction(run)
        else:
            run(conn)

    def _put_messages(
        self, scope: Scope, messages: Sequence[Message], now: float, conn: Connection
    ) -> None:
        duplicates = self.detectors.mark_messages(
            scope, [m.message_id for m in messages], now, conn=conn
        )
        work: dict[Evaluator, list[tuple[str, Trigger]]] = {}
        routes: dict[str, tuple[Evaluator, ...]] = {}  # input -> models, once per batch
        seen: set[str] = set()
        fresh: list[Message] = []
        for message in messages:
            if (duplicates and message.message_id in duplicates) or message.message_id in seen:
                continue  # seen in the last five minutes: ignored, as IoT Events does
            seen.add(message.message_id)
            fresh.append(message)
            evaluators = routes.get(message.input_name)
            if evaluators is None:
                evaluators = self.models.for_input(scope, message.input_name)
                routes[message.input_name] = evaluators
            trigger: Trigger | None = None  # immutable: shared by every model it reaches
            for evaluator in evaluators:
                path = evaluator.model.key_path
                key = "" if path is None else key_value(path, message.payload)
                if key is None:
                    continue  # no key in this message: it reaches no detector of this model
                if trigger is None:
                    # Detectors read only the declared attributes; the key came from the raw.
                    readable = self.models.projection(scope, message.input_name)(message.payload)
                    trigger = Trigger(
                        "Message",
                        message.input_name,
                        message.message_id,
                        readable,
                        event_time_ms=message.event_time_ms,
                    )
                triggers = work.get(evaluator)
                if triggers is None:
                    triggers = work[evaluator] = []
                triggers.append((key, trigger))
        self._evaluate(scope, work, now, conn)
        if self.alarms is not None and fresh:
            self.alarms.put_messages(scope, fresh, now, conn)

    # ----- timers -----------------------------------------------------------------------

    def fire_due_timers(self, now: float, limit: int = TIMER_BATCH) -> int:
        """Evaluate the expiry of every timer due by `now`, each at its own due time, earliest
        first, including timers that expiries re-arm within the span; how many fired."""
        fired = 0
        while True:
            claimed = self.detectors.run_transaction(
                lambda conn: self._fire_batch(now, limit, conn)
            )
            if not claimed:
                return fired
            fired += claimed

    def _fire_batch(self, now: float, limit: int, conn: Connection) -> int:
        """Claim and evaluate up to `limit` due timers in `conn`; how many were claimed."""
        due = self.detectors.claim_due(now, limit, conn=conn)
        by_time: dict[float, dict[Scope, dict[Evaluator, list[tuple[str, Trigger]]]]] = {}
        for timer in due:
            evaluator = self.models.active(timer.scope, timer.model)
            if evaluator is None:
                continue  # the model is gone: so is its timer
            trigger = Trigger(
                "Timer", timer_name=timer.name, event_time_ms=int(timer.due_at * 1000)
            )
            scopes = by_time.setdefault(timer.due_at, {})
            scopes.setdefault(timer.scope, {}).setdefault(evaluator, []).append(
                (timer.key, trigger)
            )
        # An expiry happens at its due time: re-armed timers count from there, so a periodic
        # timer neither drifts nor skips periods when the clock jumps.
        for due_at in sorted(by_time):
            for scope, work in by_time[due_at].items():
                self._evaluate(scope, work, due_at, conn, timers_claimed=True)
        return len(due)

    # ----- one batch ----------------------------------------------------------------------

    def _evaluate(
        self,
        scope: Scope,
        work: dict[Evaluator, list[tuple[str, Trigger]]],
        now: float,
        conn: Connection,
        *,
        timers_claimed: bool = False,
    ) -> None:
        items: list[OutboxItemIn] = []
        detectors = self.detectors
        for evaluator, triggers in work.items():
            model = evaluator.model
            name = model.name
            keys = list(dict.fromkeys([key for key, _ in triggers]))
            records, timers = detectors.get_many_with_timers(scope, name, keys, conn, lock=True)
            instances: dict[str, Instance] = {}
            before: dict[str, dict[str, tuple[float, int]]] = {}  # only keys with timers
            stored: dict[tuple[str, str], str] = {}  # rows that exist: their stored state
            for key, record in records.items():
                timer_set = timers.get(key)
                if record.version == model.version:  # other versions' detectors are gone
                    instances[key] = to_instance(record, timer_set or {})
                if timer_set:
                    before[key] = timer_set
                stored[(name, key)] = record.state
            evaluate = evaluator.evaluate
            for key, trigger in triggers:
                instance = instances.get(key)
                if instance is None:
                    if trigger.type == "Timer":
                        continue  # the detector was deleted: its timer means nothing now
                    instance = instances[key] = evaluator.create(key, now)
                    outcome = evaluate(instance, trigger, now, created=True)
                else:
                    outcome = evaluate(instance, trigger, now, created=False)
                if outcome.problems:
                    self._report(name, key, outcome)
                if outcome.dispatches:
                    items.extend(
                        outbox_item(scope, name, key, dispatch, trigger.event_time_ms)
                        for dispatch in outcome.dispatches
                    )
            detectors.upsert_many(
                scope, [to_record(i) for i in instances.values()], conn, stored_states=stored
            )
            changed: dict[tuple[str, str], dict[str, tuple[float, int]]] = {}
            for key, instance in instances.items():
                old = before.get(key)
                if timers_claimed or instance.timers or old:
                    current = _timer_set(instance)
                    if timers_claimed or current != (old or {}):
                        changed[(name, key)] = current
            detectors.set_timers_many(scope, changed, conn)
        if items:
            # Outbox times are real time: deliveries retry against real peers.
            self.outbox.add_many(items, time.time(), conn)

    @staticmethod
    def _report(model: str, key: str, outcome: Outcome) -> None:
        for problem in outcome.problems:
            log.warning("detector %s/%s: %s", model, key or "-", problem)

    # ----- direct changes (data plane) ---------------------------------------------------

    def instances(self, scope: Scope, model: str, keys: Iterable[str]) -> dict[str, Instance]:
        key_list = list(keys)
        records = self.detectors.get_many(scope, model, key_list)
        timers = self.detectors.timers_for(scope, model, key_list)
        return {key: to_instance(r, timers.get(key, {})) for key, r in records.items()}
