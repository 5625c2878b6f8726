"""One evaluation of one detector instance: the state machine of spec 4.2-4.3, pure.

Nothing here does I/O: an evaluation mutates the instance in memory and returns the external
actions it caused, which the engine commits (with the instance) and hands to the outbox.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from thinghub.events.expressions import UNDEFINED
from thinghub.events.runtime.model import (
    INTERNAL_ACTIONS,
    CompiledAction,
    CompiledEvent,
    CompiledModel,
)

MAX_TIMER_SECONDS = 31_622_400


@dataclass(slots=True)
class Timer:
    due_at: float  # epoch seconds on thinghub's clock
    duration: int  # the last evaluated duration, for resetTimer


@dataclass(slots=True)
class Instance:
    """A detector: one key value of one detector model."""

    model: str
    key: str  # "" for a key-less model
    version: str
    state: str
    variables: dict[str, Any]
    inputs: dict[str, Any]
    timers: dict[str, Timer]
    created_at: float
    updated_at: float
    row_version: int = 0


@dataclass(frozen=True, slots=True)
class Trigger:
    """What caused an evaluation: a message on an input, or the expiry of a timer."""

    type: str  # "Message" | "Timer"
    input_name: str | None = None
    message_id: str | None = None
    payload: Any = None
    timer_name: str | None = None
    event_time_ms: int = 0


@dataclass(slots=True)
class Dispatch:
    """An external action to deliver: its type, evaluated fields and payload."""

    type: str
    fields: dict[str, Any]
    payload: Any  # str (STRING payload or JSON text) or dict (the default payload)
    payload_type: str  # "JSON" | "STRING"
    event_name: str
    action_execution_id: str


@dataclass(slots=True)
class Outcome:
    dispatches: list[Dispatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # expression/action errors, for logs


class _Env:
    """What expressions read: inputs, variables, the trigger, and the one-shot timeout()."""

    __slots__ = (
        "_checked",
        "_consumed",
        "_serial",
        "current_input",
        "expired_timer",
        "inputs",
        "trigger_type",
        "variables",
    )

    def __init__(self, instance: Instance, trigger: Trigger, serial: bool) -> None:
        self.inputs = instance.inputs
        self.variables: Mapping[str, Any] = instance.variables
        self.trigger_type = trigger.type
        self.current_input = trigger.input_name if trigger.type == "Message" else None
        self.expired_timer = trigger.timer_name if trigger.type == "Timer" else None
        self._serial = serial
        self._checked = False
        self._consumed = False

    def timeout(self, timer_name: str) -> bool:
        if timer_name != self.expired_timer or self._consumed:
            return False
        if self._serial:
            self._consumed = True  # the first check sees the expiry, later ones do not
        else:
            self._checked = True  # BATCH: the whole group sees one consistent value
        return True

    def end_group(self) -> None:
        if self._checked:
            self._consumed = True


class Evaluator:
    """Runs triggers through instances of one compiled model."""

    def __init__(self, model: CompiledModel, min_timer_seconds: int = 60) -> None:
        self.model = model
        self.min_timer_seconds = min_timer_seconds

    def create(self, key: str, now: float) -> Instance:
        return Instance(
            model=self.model.name,
            key=key,
            version=self.model.version,
            state=self.model.initial_state,
            variables={},
            inputs={},
            timers={},
            created_at=now,
            updated_at=now,
        )

    def evaluate(
        self, instance: Instance, trigger: Trigger, now: float, *, created: bool
    ) -> Outcome:
        """Apply one trigger (spec 4.2 for a new instance, 4.3 for every evaluation)."""
        outcome = Outcome()
        if trigger.type == "Message" and trigger.input_name is not None:
            instance.inputs[trigger.input_name] = trigger.payload
        if trigger.type == "Timer" and trigger.timer_name is not None:
            instance.timers.pop(trigger.timer_name, None)  # an expired timer is gone
        env = _Env(instance, trigger, self.model.serial)
        state = self.model.states[instance.state]
        if created:
            self._run_group(state.on_enter, instance, env, trigger, now, outcome)
        transition = self._on_input(
            state.on_input, state.transitions, instance, env, trigger, now, outcome
        )
        if transition is not None and transition.next_state is not None:
            self._run_group(state.on_exit, instance, env, trigger, now, outcome)
            instance.state = transition.next_state
            entered = self.model.states[transition.next_state]
            self._run_group(entered.on_enter, instance, env, trigger, now, outcome)
        instance.updated_at = now
        return outcome

    # ----- groups -----------------------------------------------------------------------

    def _on_input(
        self,
        events: tuple[CompiledEvent, ...],
        transitions: tuple[CompiledEvent, ...],
        instance: Instance,
        env: _Env,
        trigger: Trigger,
        now: float,
        outcome: Outcome,
    ) -> CompiledEvent | None:
        if self.model.serial:
            env.variables = instance.variables  # every condition sees the latest values
            for event in events:
                if event.condition(env):
                    self._run_actions(event, instance, env, trigger, now, outcome)
            chosen = next((t for t in transitions if t.condition(env)), None)
        else:
            # BATCH: every condition of the group sees the values from before the group. No
            # action runs until all of them are evaluated (and conditions change nothing), so
            # the live variables are that snapshot: no copy is needed.
            env.variables = instance.variables
            fired = [event for event in events if event.condition(env)]
            chosen = next((t for t in transitions if t.condition(env)), None)
            env.end_group()
            for event in fired:
                self._run_actions(event, instance, env, trigger, now, outcome)
        if chosen is not None:
            self._run_actions(chosen, instance, env, trigger, now, outcome)
        return chosen

    def _run_group(
        self,
        events: Iterable[CompiledEvent],
        instance: Instance,
        env: _Env,
        trigger: Trigger,
        now: float,
        outcome: Outcome,
    ) -> None:
        env.variables = instance.variables
        if self.model.serial:
            for event in events:
                if event.condition(env):
                    self._run_actions(event, instance, env, trigger, now, outcome)
            return
        # BATCH: all conditions first (on the values from before the group), then the actions.
        fired = [event for event in events if event.condition(env)]
        env.end_group()
        for event in fired:
            self._run_actions(event, instance, env, trigger, now, outcome)

    # ----- actions ----------------------------------------------------------------------

    def _run_actions(
        self,
        event: CompiledEvent,
        instance: Instance,
        env: _Env,
        trigger: Trigger,
        now: float,
        outcome: Outcome,
    ) -> None:
        for action in event.actions:
            if action.type in INTERNAL_ACTIONS:
                self._internal(action, instance, env, now, outcome, event.name)
            else:
                dispatch = self._external(action, instance, env, trigger, outcome, event.name)
                if dispatch is not None:
                    outcome.dispatches.append(dispatch)

    def _internal(
        self,
        action: CompiledAction,
        instance: Instance,
        env: _Env,
        now: float,
        outcome: Outcome,
        event_name: str,
    ) -> None:
        if action.type == "setVariable":
            assert action.value is not None
            value = action.value.evaluate(env)
            if value is UNDEFINED or value is None:
                # A variable can be neither unset nor null: the action is not performed.
                outcome.problems.append(
                    f"event {event_name}: setVariable {action.name}: the value could not be "
                    "evaluated"
                )
                return
            instance.variables[action.name] = value
        elif action.type == "setTimer":
            seconds = self._duration(action, env)
            if seconds is None:
                outcome.problems.append(
                    f"event {event_name}: setTimer {action.name}: the duration could not be "
                    f"evaluated to a number between {self.min_timer_seconds} and "
                    f"{MAX_TIMER_SECONDS}"
                )
                return
            instance.timers[action.name] = Timer(now + seconds, seconds)
        elif action.type == "resetTimer":
            timer = instance.timers.get(action.name)
            if timer is not None:  # restarts with the duration evaluated when it was set
                timer.due_at = now + timer.duration
        elif action.type == "clearTimer":
            instance.timers.pop(action.name, None)

    def _duration(self, action: CompiledAction, env: _Env) -> int | None:
        raw = action.value.evaluate(env) if action.value is not None else action.seconds
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            return None
        seconds = math.floor(raw)  # durations are floored to whole seconds
        if seconds < self.min_timer_seconds or seconds > MAX_TIMER_SECONDS:
            return None
        return int(seconds)

    def _external(
        self,
        action: CompiledAction,
        instance: Instance,
        env: _Env,
        trigger: Trigger,
        outcome: Outcome,
        event_name: str,
    ) -> Dispatch | None:
        fields: dict[str, Any] = dict(action.literals)
        for member, expression in action.fields.items():
            value = expression.evaluate(env)
            if value is UNDEFINED:
                outcome.problems.append(
                    f"event {event_name}: {action.type}.{member}: "
                    "we couldn't evaluate your expression for the action"
                )
                return None
            fields[member] = value
        execution_id = str(uuid.uuid4())
        if action.payload is None:
            payload: Any = default_payload(self.model, instance, trigger, event_name, execution_id)
            payload_type = "JSON"
        else:
            text = action.payload.content.evaluate(env)
            if not isinstance(text, str):
                outcome.problems.append(
                    f"event {event_name}: {action.type}.payload: the content expression did not "
                    "evaluate to a string"
                )
                return None
            payload, payload_type = text, action.payload.type
        return Dispatch(action.type, fields, payload, payload_type, event_name, execution_id)


def default_payload(
    model: CompiledModel, instance: Instance, trigger: Trigger, event_name: str, execution_id: str
) -> dict[str, Any]:
    """The document IoT Events sends when an action has no payload (spec 7.3), in its order."""
    detector: dict[str, Any] = {"detectorModelName": model.name}
    if model.key_path is not None:
        detector["keyValue"] = instance.key
    detector["detectorModelVersion"] = instance.version
    if trigger.type == "Message":
        details: dict[str, Any] = {
            "inputName": trigger.input_name,
            "messageId": trigger.message_id,
            "triggerType": "Message",
        }
    else:
        details = {"triggerType": "Timer", "timerName": trigger.timer_name}
    return {
        "eventTime": trigger.event_time_ms,
        "payload": {
            "actionExecutionId": execution_id,
            "detector": detector,
            "eventTriggerDetails": details,
            "state": {
                "stateName": instance.state,
                "variables": dict(instance.variables),
                "timers": {
                    name: int(timer.due_at * 1000) for name, timer in instance.timers.items()
                },
            },
        },
        "eventName": event_name,
    }
