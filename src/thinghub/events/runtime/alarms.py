"""The alarm state machine of spec 11.2, pure: nothing here does I/O.

An alarm changes state on three kinds of trigger: a message on the rule's input (a rule
evaluation), a customer action from the data plane (acknowledge, disable, enable, reset,
snooze), and the end of a snooze on thinghub's clock. Each function applies one trigger to an
`Alarm` in memory and returns the `Transition`; the engine commits the alarm and, when the state
changed, the alarm actions (`dispatches`) with it.

The choices where AWS's documentation is silent are listed in docs/iot-events.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from thinghub.events.expressions import UNDEFINED, SimpleEvaluation, to_json_literal
from thinghub.events.runtime.alarm_model import CompiledAlarmModel
from thinghub.events.runtime.evaluation import Dispatch

DISABLED: Final = "DISABLED"
NORMAL: Final = "NORMAL"
ACTIVE: Final = "ACTIVE"
ACKNOWLEDGED: Final = "ACKNOWLEDGED"
SNOOZE_DISABLED: Final = "SNOOZE_DISABLED"
LATCHED: Final = "LATCHED"

ACKNOWLEDGE: Final = "ACKNOWLEDGE"
DISABLE: Final = "DISABLE"
ENABLE: Final = "ENABLE"
RESET: Final = "RESET"
SNOOZE: Final = "SNOOZE"

# The states that evaluate the rule: DISABLED and SNOOZE_DISABLED are "not ready to evaluate".
EVALUATING: Final = frozenset({NORMAL, ACTIVE, ACKNOWLEDGED, LATCHED})

_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "GREATER": lambda value, threshold: value > threshold,
    "GREATER_OR_EQUAL": lambda value, threshold: value >= threshold,
    "LESS": lambda value, threshold: value < threshold,
    "LESS_OR_EQUAL": lambda value, threshold: value <= threshold,
    "EQUAL": lambda value, threshold: value == threshold,
    "NOT_EQUAL": lambda value, threshold: value != threshold,
}
# customerAction.<member> for each action name.
_CONFIGURATION: Final = {
    ACKNOWLEDGE: "acknowledgeActionConfiguration",
    DISABLE: "disableActionConfiguration",
    ENABLE: "enableActionConfiguration",
    RESET: "resetActionConfiguration",
    SNOOZE: "snoozeActionConfiguration",
}


@dataclass(slots=True)
class Alarm:
    """One alarm: one key value of one alarm model."""

    model: str
    key: str  # "" for a key-less model
    version: str
    state: str
    inputs: dict[str, Any]  # the last message of each input the model reads (declared attributes)
    created_at: float
    updated_at: float
    rule_evaluation: dict[str, str] | None = None  # the last SimpleRuleEvaluation
    customer_action: dict[str, Any] | None = None  # what put the alarm in its state, if a person
    system_event: dict[str, Any] | None = None  # ... or the snooze ending
    snooze_until: float | None = None  # SNOOZE_DISABLED: when it returns to NORMAL


@dataclass(frozen=True, slots=True)
class Transition:
    previous: str
    current: str

    @property
    def changed(self) -> bool:
        return self.previous != self.current


@dataclass(frozen=True, slots=True)
class Command:
    """A customer action from the data plane."""

    action: str  # ACKNOWLEDGE | DISABLE | ENABLE | RESET | SNOOZE
    note: str | None = None
    snooze_seconds: int | None = None


class CommandRefused(ValueError):
    """The command does not apply to the alarm in its current state."""


def new_alarm(model: CompiledAlarmModel, key: str, now: float) -> Alarm:
    """The alarm its first message creates: DISABLED unless the model says otherwise."""
    state = DISABLED if model.disabled_on_initialization else NORMAL
    return Alarm(model.name, key, model.version, state, {}, now, now)


# ----- rule evaluations -----------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def evaluate_rule(model: CompiledAlarmModel, alarm: Alarm) -> tuple[bool | None, str | None]:
    """(whether the rule is breached, None) or (None, why it could not be evaluated).

    Both sides must be numbers; a side that is not there yet (undefined) is no problem to
    report, the alarm just waits for data.
    """
    env = SimpleEvaluation(inputs=alarm.inputs)
    value = model.input_property.evaluate(env)
    threshold = model.threshold.evaluate(env)
    if value is UNDEFINED or threshold is UNDEFINED:
        return None, None
    if not _number(value):
        return None, f"the input property {model.input_property.source} is not a number"
    if not _number(threshold):
        return None, f"the threshold {model.threshold.source} is not a number"
    alarm.rule_evaluation = {
        "inputPropertyValue": to_json_literal(value),
        "operator": model.operator,
        "thresholdValue": to_json_literal(threshold),
    }
    return _COMPARE[model.operator](value, threshold), None


def _after_rule(state: str, breached: bool, acknowledge_flow: bool) -> str:
    if state == NORMAL:
        return ACTIVE if breached else NORMAL
    if state == ACTIVE:
        if breached:
            return ACTIVE
        # Back in range: with the acknowledge flow someone must still acknowledge it.
        return LATCHED if acknowledge_flow else NORMAL
    if state == ACKNOWLEDGED:
        return ACKNOWLEDGED if breached else NORMAL
    if state == LATCHED:
        return ACTIVE if breached else LATCHED
    return state


def receive(
    model: CompiledAlarmModel, alarm: Alarm, input_name: str, payload: Any, now: float
) -> tuple[Transition, str | None]:
    """A message reached the alarm: keep it, and evaluate the rule if it is on the rule's input
    and the alarm evaluates. The transition, and a problem to log (or None)."""
    alarm.inputs[input_name] = payload
    alarm.updated_at = now
    previous = alarm.state
    if previous not in EVALUATING or input_name != model.rule_input:
        return Transition(previous, previous), None
    breached, problem = evaluate_rule(model, alarm)
    if breached is None:
        return Transition(previous, previous), problem
    current = _after_rule(previous, breached, model.acknowledge_flow)
    if current != previous:
        alarm.state = current
        # The rule caused this state: no person, no system event.
        alarm.customer_action = None
        alarm.system_event = None
    return Transition(previous, current), None


# ----- customer actions -----------------------------------------------------------------------


def _target(action: str, state: str) -> str | None:
    """The state `action` leads to from `state`, or None when it does not apply."""
    if action == ACKNOWLEDGE:
        return {ACTIVE: ACKNOWLEDGED, LATCHED: NORMAL}.get(state)
    if action == ENABLE:
        return NORMAL if state in (DISABLED, SNOOZE_DISABLED) else None
    if action == DISABLE:
        return DISABLED
    if action == RESET:
        return NORMAL
    if action == SNOOZE:
        return None if state == DISABLED else SNOOZE_DISABLED
    raise ValueError(f"unknown alarm action {action}")


_REFUSALS: Final = {
    ACKNOWLEDGE: "only an ACTIVE or LATCHED alarm can be acknowledged",
    ENABLE: "only a DISABLED or SNOOZE_DISABLED alarm can be enabled",
    SNOOZE: "a DISABLED alarm cannot be snoozed; enable it first",
}


def apply_command(
    model: CompiledAlarmModel, alarm: Alarm, command: Command, now: float
) -> Transition:
    """Apply a customer action; CommandRefused (nothing changed) when it does not apply."""
    previous = alarm.state
    target = _target(command.action, previous)
    if target is None:
        raise CommandRefused(f"it is {previous}; {_REFUSALS[command.action]}")
    configuration: dict[str, Any] = {}
    if command.note is not None:
        configuration["note"] = command.note
    if command.action == SNOOZE:
        seconds = command.snooze_seconds
        if seconds is None or seconds < 1:
            raise CommandRefused(f"snoozeDuration must be at least 1 second, not {seconds}")
        configuration["snoozeDuration"] = seconds
        alarm.snooze_until = now + seconds
    else:
        alarm.snooze_until = None
    alarm.state = target
    alarm.customer_action = {
        "actionName": command.action,
        _CONFIGURATION[command.action]: configuration,
    }
    alarm.system_event = None
    alarm.updated_at = now
    return Transition(previous, target)


# ----- the snooze ending ----------------------------------------------------------------------


def end_snooze(alarm: Alarm, now: float) -> Transition:
    """The snooze is over: back to NORMAL, as a system event (the rule is evaluated again with
    the next message)."""
    previous = alarm.state
    alarm.snooze_until = None
    if previous != SNOOZE_DISABLED:
        return Transition(previous, previous)
    alarm.state = NORMAL
    alarm.customer_action = None
    alarm.system_event = {
        "eventType": "STATE_CHANGE",
        "stateChangeConfiguration": {"triggerType": "SNOOZE_TIMEOUT"},
    }
    alarm.updated_at = now
    return Transition(previous, NORMAL)


# ----- what the alarm shows and sends ---------------------------------------------------------


def alarm_state(alarm: Alarm) -> dict[str, Any]:
    """`AlarmState` as DescribeAlarm shows it."""
    state: dict[str, Any] = {"stateName": alarm.state}
    if alarm.rule_evaluation is not None:
        state["ruleEvaluation"] = {"simpleRuleEvaluation": dict(alarm.rule_evaluation)}
    if alarm.customer_action is not None:
        state["customerAction"] = alarm.customer_action
    if alarm.system_event is not None:
        state["systemEvent"] = alarm.system_event
    return state


def default_payload(
    model: CompiledAlarmModel, alarm: Alarm, event_time_ms: int, now: float
) -> dict[str, Any]:
    """What an alarm action without `payload` sends (spec 11.3, Recommended)."""
    document: dict[str, Any] = {
        "alarmModelName": model.name,
        "alarmModelVersion": alarm.version,
    }
    if model.key_path is not None:
        document["keyValue"] = alarm.key
    if model.severity is not None:
        document["severity"] = model.severity
    document["alarmState"] = alarm_state(alarm)
    document["stateUpdateTime"] = int(now * 1000)
    return {"eventTime": event_time_ms, "payload": document}


def dispatches(
    model: CompiledAlarmModel, alarm: Alarm, event_time_ms: int, now: float
) -> tuple[list[Dispatch], list[str]]:
    """The alarm actions of a state change, every expression evaluated on the alarm's inputs;
    and the problems of the actions that could not be evaluated (those are not sent)."""
    sent: list[Dispatch] = []
    problems: list[str] = []
    env = SimpleEvaluation(inputs=alarm.inputs)
    for action in model.actions:
        fields: dict[str, Any] = dict(action.literals)
        failed = False
        for member, expression in action.fields.items():
            value = expression.evaluate(env)
            if value is UNDEFINED:
                problems.append(
                    f"{action.type}.{member}: we couldn't evaluate your expression for the action"
                )
                failed = True
                break
            fields[member] = value
        if failed:
            continue
        payload: Any
        if action.payload is None:
            payload, payload_type = default_payload(model, alarm, event_time_ms, now), "JSON"
        else:
            text = action.payload.content.evaluate(env)
            if not isinstance(text, str):
                problems.append(
                    f"{action.type}.payload: the content expression did not evaluate to a string"
                )
                continue
            payload, payload_type = text, action.payload.type
        sent.append(
            Dispatch(action.type, fields, payload, payload_type, alarm.state, str(uuid.uuid4()))
        )
    return sent, problems
