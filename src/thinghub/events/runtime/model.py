"""A detector model version compiled once into plain callables for the runtime.

Conditions, variable values, timer durations, action targets and payloads are compiled when
the model is loaded; an evaluation never parses an expression.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from thinghub.events.expressions import (
    Evaluation,
    Expression,
    compile_condition,
    compile_expression,
    compile_template,
    literal_or_expression,
)

Condition = Callable[[Evaluation], bool]

# Action members that are evaluated as expressions always (spec 5.9) ...
_ALWAYS_EXPRESSIONS = {
    "dynamoDB": (
        "hashKeyType",
        "hashKeyField",
        "hashKeyValue",
        "rangeKeyType",
        "rangeKeyField",
        "rangeKeyValue",
        "operation",
        "payloadField",
        "tableName",
    ),
    "dynamoDBv2": ("tableName",),
}
# ... and those where a plain literal is the usual form (the spec 5.9 heuristic applies).
_LITERAL_OR_EXPRESSION = {
    "sns": ("targetArn",),
    "iotTopicPublish": ("mqttTopic",),
    "lambda": ("functionArn",),
    "iotEvents": ("inputName",),
    "sqs": ("queueUrl",),
    "firehose": ("deliveryStreamName",),
}
INTERNAL_ACTIONS = frozenset({"setVariable", "setTimer", "resetTimer", "clearTimer"})


def _true(_: Evaluation) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class CompiledPayload:
    content: Expression
    type: str  # "STRING" | "JSON"


@dataclass(frozen=True, slots=True)
class CompiledAction:
    """One action: its type, and every field compiled (expressions) or kept (literals)."""

    type: str
    value: Expression | None = None  # setVariable value / setTimer durationExpression
    name: str = ""  # variable or timer name
    seconds: int | None = None  # setTimer's deprecated literal duration
    fields: dict[str, Expression] = field(default_factory=dict)
    literals: dict[str, Any] = field(default_factory=dict)
    payload: CompiledPayload | None = None


@dataclass(frozen=True, slots=True)
class CompiledEvent:
    name: str
    condition: Condition
    actions: tuple[CompiledAction, ...]
    next_state: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledState:
    name: str
    on_enter: tuple[CompiledEvent, ...]
    on_input: tuple[CompiledEvent, ...]
    transitions: tuple[CompiledEvent, ...]
    on_exit: tuple[CompiledEvent, ...]


@dataclass(frozen=True, slots=True)
class CompiledModel:
    name: str
    version: str
    key_path: tuple[str, ...] | None
    serial: bool
    initial_state: str
    states: dict[str, CompiledState]


def key_path(key: str | None) -> tuple[str, ...] | None:
    """The segments of a model `key` (an attribute JSON path; backticks quote a segment)."""
    if not key:
        return None
    segments: list[str] = []
    current: list[str] = []
    quoted = False
    for char in key:
        if char == "`":
            quoted = not quoted
        elif char == "." and not quoted:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    return tuple(segments)


def compile_model(
    name: str, version: str, key: str | None, evaluation_method: str, definition: dict[str, Any]
) -> CompiledModel:
    states = {state["stateName"]: _compile_state(state) for state in definition.get("states", [])}
    return CompiledModel(
        name=name,
        version=version,
        key_path=key_path(key),
        serial=evaluation_method == "SERIAL",
        initial_state=definition["initialStateName"],
        states=states,
    )


def _compile_state(state: dict[str, Any]) -> CompiledState:
    on_input = state.get("onInput") or {}
    return CompiledState(
        name=state["stateName"],
        on_enter=_events((state.get("onEnter") or {}).get("events")),
        on_input=_events(on_input.get("events")),
        transitions=_events(on_input.get("transitionEvents")),
        on_exit=_events((state.get("onExit") or {}).get("events")),
    )


def _events(events: list[dict[str, Any]] | None) -> tuple[CompiledEvent, ...]:
    return tuple(
        CompiledEvent(
            name=event.get("eventName", ""),
            condition=compile_condition(event["condition"]) if event.get("condition") else _true,
            actions=tuple(_action(action) for action in event.get("actions") or ()),
            next_state=event.get("nextState"),
        )
        for event in events or ()
    )


def compile_action(action: dict[str, Any]) -> CompiledAction:
    """One action (`{type: spec}`, exactly one type) as the runtime runs it; also used for
    the actions of alarm models."""
    return _action(action)


def _action(action: dict[str, Any]) -> CompiledAction:
    ((kind, spec),) = action.items()  # validated at create: exactly one type per action
    if kind == "setVariable":
        return CompiledAction(
            kind, value=compile_expression(spec["value"]), name=spec["variableName"]
        )
    if kind == "setTimer":
        duration = spec.get("durationExpression")
        return CompiledAction(
            kind,
            value=compile_expression(duration) if duration else None,
            name=spec["timerName"],
            seconds=spec.get("seconds"),
        )
    if kind in ("resetTimer", "clearTimer"):
        return CompiledAction(kind, name=spec["timerName"])
    fields: dict[str, Expression] = {}
    literals: dict[str, Any] = {}
    for member in _ALWAYS_EXPRESSIONS.get(kind, ()):
        if spec.get(member) is not None:
            fields[member] = compile_expression(spec[member])
    for member in _LITERAL_OR_EXPRESSION.get(kind, ()):
        if spec.get(member) is not None:
            fields[member] = literal_or_expression(spec[member])
    if kind == "iotSiteWise":
        fields.update(_sitewise_fields(spec))
    for member, value in spec.items():
        if member not in fields and member != "payload":
            literals[member] = value
    payload = spec.get("payload")
    compiled_payload = (
        CompiledPayload(compile_template(payload["contentExpression"]), payload["type"])
        if payload
        else None
    )
    return CompiledAction(kind, fields=fields, literals=literals, payload=compiled_payload)


def _sitewise_fields(spec: dict[str, Any]) -> dict[str, Expression]:
    """Every SiteWise field is an expression (spec 5.9), nested ones flattened by path."""
    fields: dict[str, Expression] = {}
    for member in ("entryId", "assetId", "propertyId", "propertyAlias"):
        if spec.get(member) is not None:
            fields[member] = compile_expression(spec[member])
    value = spec.get("propertyValue") or {}
    for member, text in (value.get("value") or {}).items():
        fields[f"value.{member}"] = compile_expression(text)
    for member, text in (value.get("timestamp") or {}).items():
        fields[f"timestamp.{member}"] = compile_expression(text)
    if value.get("quality") is not None:
        fields["quality"] = compile_expression(value["quality"])
    return fields
