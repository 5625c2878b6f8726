"""Static analysis of a detector model definition (spec §9.4).

One walk over the definition compiles every expression and gathers what the checks need; the
checks then report findings with AWS's types, levels and messages. ERROR findings are what
Create/UpdateDetectorModel refuse (`validation.py`); StartDetectorModelAnalysis lists them all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Protocol

import orjson

from thinghub.events.control.datatypes import (
    BOOLEAN,
    NUMBER,
    STRING,
    TypeChecker,
    Typed,
)
from thinghub.events.control.findings import ERROR, INFO, WARNING, Finding, Location
from thinghub.events.control.quotas import Quotas
from thinghub.events.expressions import (
    Expression,
    ExpressionSyntaxError,
    SimpleEvaluation,
    compile_expression,
    literal_or_expression,
)

__all__ = ["ERROR", "INFO", "WARNING", "Analysis", "Resources", "analyze"]

STRUCTURE = "structure"
SERVICE_LIMITS = "service-limits"
EXPRESSION_SYNTAX = "expression-syntax"
REFERENCED_DATA = "referenced-data"
REFERENCED_RESOURCE = "referenced-resource"

ACTION_TYPES: Final = (
    "setVariable",
    "setTimer",
    "resetTimer",
    "clearTimer",
    "sns",
    "iotTopicPublish",
    "lambda",
    "iotEvents",
    "sqs",
    "firehose",
    "dynamoDB",
    "dynamoDBv2",
    "iotSiteWise",
)
_BUILT_IN: Final = frozenset(ACTION_TYPES[:4])
# Fields AWS examples write as plain text; an expression only when they look like one (§5.9).
_LITERAL_OR_EXPRESSION: Final = {
    "sns": ("targetArn",),
    "iotTopicPublish": ("mqttTopic",),
    "lambda": ("functionArn",),
    "iotEvents": ("inputName",),
    "sqs": ("queueUrl",),
    "firehose": ("deliveryStreamName",),
}
_DYNAMODB_FIELDS: Final = (
    "hashKeyType",
    "hashKeyField",
    "hashKeyValue",
    "rangeKeyType",
    "rangeKeyField",
    "rangeKeyValue",
    "operation",
    "payloadField",
    "tableName",
)
_SITEWISE_FIELDS: Final = (
    ("entryId",),
    ("assetId",),
    ("propertyId",),
    ("propertyAlias",),
    ("propertyValue", "value", "stringValue"),
    ("propertyValue", "value", "integerValue"),
    ("propertyValue", "value", "doubleValue"),
    ("propertyValue", "value", "booleanValue"),
    ("propertyValue", "timestamp", "timeInSeconds"),
    ("propertyValue", "timestamp", "offsetInNanos"),
    ("propertyValue", "quality"),
)
# Functions whose value depends on the trigger: a condition calling them is never constant.
_TRIGGER_FUNCTIONS: Final = ("triggerType", "currentInput", "timeout")


class Resources(Protocol):
    """What the analyzer may ask about the caller's other resources."""

    def input_attributes(self, name: str) -> tuple[str, ...] | None:
        """Declared attribute paths of the input, or None if there is no such input."""
        ...

    def routes(self, name: str) -> list[str]:
        """Names of the resources the input already feeds."""
        ...


@dataclass(slots=True)
class Analysis:
    findings: list[Finding]
    inputs: frozenset[str]  # every input the definition's expressions reference: its routes


@dataclass(slots=True)
class _Condition:
    where: Location
    expression: Expression
    on_input: bool


@dataclass(slots=True)
class _Walk:
    """What one pass over the definition gathers."""

    inputs: dict[str, Location] = field(default_factory=dict)
    attribute_reads: dict[tuple[str, tuple[str, ...]], Location] = field(default_factory=dict)
    condition_inputs: set[str] = field(default_factory=set)
    variables_set: dict[str, Location] = field(default_factory=dict)
    variables_read: dict[str, Location] = field(default_factory=dict)
    timers_set: dict[str, Location] = field(default_factory=dict)
    timers_read: dict[str, Location] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)
    conditions: list[_Condition] = field(default_factory=list)
    condition_failed: bool = False  # a condition did not compile: its inputs are unknown


def analyze(definition: dict[str, Any], resources: Resources | None, quotas: Quotas) -> Analysis:
    """Every finding for `definition`, in a stable order, and the inputs it routes.

    Without `resources`, checks that need the caller's inputs are skipped.
    """
    return _Analyzer(definition, resources, quotas).run()


def _constant(expression: Expression) -> Any:
    """The value of an expression that reads nothing, else None."""
    references = expression.references
    if references.inputs or references.variables or references.timers:
        return None
    if any(f"{name}(" in expression.source for name in _TRIGGER_FUNCTIONS):
        return None
    return expression.evaluate(SimpleEvaluation())


class _Analyzer:
    def __init__(
        self, definition: dict[str, Any], resources: Resources | None, quotas: Quotas
    ) -> None:
        self.definition = definition
        self.resources = resources
        self.quotas = quotas
        self.findings: list[Finding] = []
        self.walk = _Walk()
        self.types = TypeChecker(self.findings.append)
        states = definition.get("states") or []
        self.state_names = {state.get("stateName") for state in states}

    def report(
        self,
        type_: str,
        level: str,
        message: str,
        where: Location | None = None,
        reason: str | None = None,
    ) -> None:
        self.findings.append(Finding(type_, level, message, where, reason))

    # --- the walk ---------------------------------------------------------------------------

    def run(self) -> Analysis:
        definition = self.definition
        states: list[dict[str, Any]] = definition.get("states") or []
        size = len(orjson.dumps(definition))
        if size > self.quotas.definition_bytes:
            self.report(
                SERVICE_LIMITS,
                ERROR,
                f"The detector model definition is {size} bytes long, over the limit of "
                f"{self.quotas.definition_bytes} bytes.",
            )
        if len(states) > self.quotas.states_per_detector_model:
            self.report(
                SERVICE_LIMITS,
                ERROR,
                "Number of states allowed in detector model definition exceeded the limit "
                f"{self.quotas.states_per_detector_model}.",
                Location("states", "states"),
            )
        self._unique_states(states)
        initial = definition.get("initialStateName")
        if initial not in self.state_names:
            self.report(
                STRUCTURE,
                ERROR,
                f"The Definition's initialStateName {initial} did not correspond to a defined "
                "State.",
                Location("initialStateName", "initialStateName"),
            )
        for index, state in enumerate(states):
            self._state(Location("states", "states").item(index, state.get("stateName")), state)
        self._after_walk(states, initial)
        self.types.finish()
        return Analysis(self.findings, frozenset(self.walk.inputs))

    def _unique_states(self, states: list[dict[str, Any]]) -> None:
        counts = Counter(state.get("stateName", "") for state in states)
        for index, state in enumerate(states):
            name = state.get("stateName", "")
            if counts[name] > 1:
                self.report(
                    STRUCTURE,
                    ERROR,
                    "The DetectorModelDefinition had a shared state name: found state "
                    f"{name} with {counts[name]} repetitions.",
                    Location("states", "states").item(index, name),
                )
                counts[name] = 0  # report each name once

    def _state(self, at: Location, state: dict[str, Any]) -> None:
        name = state.get("stateName", "")
        self.walk.edges.setdefault(name, set())
        for lifecycle in ("onEnter", "onInput", "onExit"):
            body = state.get(lifecycle)
            if not body:
                continue
            here = at.member(lifecycle)
            groups = [("events", False)]
            if lifecycle == "onInput":
                groups.append(("transitionEvents", True))
            for member, transition in groups:
                events: list[dict[str, Any]] = body.get(member) or []
                limit = (
                    self.quotas.transition_events_per_state
                    if transition
                    else self.quotas.events_per_state
                )
                if len(events) > limit:
                    noun = "transition events" if transition else "events"
                    self.report(
                        SERVICE_LIMITS,
                        ERROR,
                        f"Number of {noun} allowed per state exceeded the limit {limit} in "
                        "detector model definition.",
                        here.member(member),
                    )
                for index, event in enumerate(events):
                    where = here.member(member).item(index, event.get("eventName"))
                    self._event(where, event, name, lifecycle, transition)

    def _event(
        self,
        at: Location,
        event: dict[str, Any],
        state_name: str,
        lifecycle: str,
        transition: bool,
    ) -> None:
        event_name = event.get("eventName", "")
        actions: list[dict[str, Any]] = event.get("actions") or []
        never = False
        condition = event.get("condition")
        condition_expression = None
        # An empty condition is no condition (always true), as the runtime reads it.
        if condition:
            where = at.member("condition")
            compiled = self._expression(
                where,
                condition,
                f"Failed to parse expression '{condition}' for condition.",
                expect=BOOLEAN,
                wrong=f"Expression {condition} is not a valid condition expression.",
            )
            if compiled is None:
                self.walk.condition_failed = True
            else:
                condition_expression = compiled[0]
                self.walk.condition_inputs |= condition_expression.references.inputs
                self.walk.conditions.append(
                    _Condition(where, condition_expression, lifecycle == "onInput")
                )
                never = _constant(condition_expression) is False
                if never and (actions or transition):
                    self.report(
                        STRUCTURE,
                        WARNING,
                        "An action in your detector model is unreachable. Check the condition "
                        "that initiates the action.",
                        where,
                    )
        if transition:
            target = event.get("nextState", "")
            if target not in self.state_names:
                self.report(
                    STRUCTURE,
                    ERROR,
                    f"The TransitionEvent {event_name} transitions to a non-existent state "
                    f"{target}.",
                    at.member("nextState"),
                )
            elif not never:
                self.walk.edges.setdefault(state_name, set()).add(target)
        if len(actions) > self.quotas.actions_per_event:
            self.report(
                SERVICE_LIMITS,
                ERROR,
                "Number of actions allowed per event exceeded the limit "
                f"{self.quotas.actions_per_event} in detector model definition",
                at.member("actions"),
            )
        for index, action in enumerate(actions):
            self._action(at.member("actions").item(index), action, event_name, state_name)
        if condition_expression is not None:
            self._timer_loop(at, condition_expression, actions)

    def _timer_loop(self, at: Location, condition: Expression, actions: list[Any]) -> None:
        # A timer whose expiry re-arms itself and sends a message does so forever.
        timers = condition.references.timers
        if not timers or 'triggerType("' in condition.source:
            return
        rearmed = {
            (action.get("setTimer") or action.get("resetTimer") or {}).get("timerName")
            for action in actions
        }
        sends = any(set(action) - _BUILT_IN for action in actions)
        if timers & rearmed and sends:
            self.report(
                STRUCTURE,
                WARNING,
                "An expiring timer can cause an unexpected amount of messages to be sent.",
                at.member("condition"),
            )

    def _action(
        self, at: Location, action: dict[str, Any], event_name: str, state_name: str
    ) -> None:
        kinds = [kind for kind in ACTION_TYPES if action.get(kind) is not None]
        if len(kinds) != 1:
            self.report(
                STRUCTURE,
                ERROR,
                "Actions may only have one type defined, but found an action with "
                f"{len(kinds)} types. Please split into separate Actions.",
                at,
            )
        for kind in kinds:
            body: dict[str, Any] = action[kind]
            here = at.member(kind)
            if kind == "setVariable":
                self._set_variable(here, body)
            elif kind == "setTimer":
                self._set_timer(here, body)
            elif kind == "resetTimer":
                self.walk.timers_read.setdefault(body["timerName"], here)
            elif kind == "clearTimer":
                pass  # clearing a timer that never runs is harmless
            else:
                self._external(here, kind, body, event_name, state_name)

    def _set_variable(self, at: Location, body: dict[str, Any]) -> None:
        name = body["variableName"]
        self.walk.variables_set.setdefault(name, at)
        value = body["value"]
        compiled = self._expression(
            at.member("value"),
            value,
            f"SetVariableAction.value must be an expression. Failed to parse value '{value}'",
        )
        if compiled is not None:
            self.types.assign(name, compiled[1])

    def _set_timer(self, at: Location, body: dict[str, Any]) -> None:
        name = body["timerName"]
        self.walk.timers_set.setdefault(name, at)
        seconds = body.get("seconds")
        duration = body.get("durationExpression")
        if seconds is not None and duration is not None:
            message = "Only one of seconds and durationExpression can be set in SetTimer."
            self.report(STRUCTURE, ERROR, message, at)
            return
        if seconds is None and duration is None:
            message = "One of seconds and durationExpression must be set in SetTimer."
            self.report(STRUCTURE, ERROR, message, at)
            return
        if duration is not None:
            where = at.member("durationExpression")
            compiled = self._expression(
                where,
                duration,
                f"Failed to parse duration expression '{duration}' for timer '{name}'.",
                expect=NUMBER,
                wrong=f"Duration expression {duration} for timer {name} is not valid, it must "
                "return a number.",
            )
            value = None if compiled is None else _constant(compiled[0])
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                seconds = int(value)  # durations are floored (60.99 -> 60)
        else:
            where = at.member("seconds")
        if seconds is not None and seconds < self.quotas.min_timer_seconds:
            self.report(
                SERVICE_LIMITS,
                ERROR,
                f"The duration for timer {name} should be at least "
                f"{self.quotas.min_timer_seconds} seconds long.",
                where,
            )

    def _external(
        self, at: Location, kind: str, body: dict[str, Any], event_name: str, state_name: str
    ) -> None:
        for member in _LITERAL_OR_EXPRESSION.get(kind, ()):
            if isinstance(body.get(member), str):
                self._record(at.member(member), literal_or_expression(body[member]))
        if kind == "dynamoDB":
            for member in _DYNAMODB_FIELDS:
                if body.get(member) is not None:
                    self._expression(
                        at.member(member),
                        body[member],
                        f"We couldn't parse your expression of the attributes ({member}) for "
                        "the DynamoDB action. Enter expression with the correct syntax.",
                    )
        elif kind == "dynamoDBv2":
            self._expression(
                at.member("tableName"),
                body["tableName"],
                "We couldn't parse your expression of the tableName for the DynamoDBv2 action. "
                "Enter expression with the correct syntax.",
            )
            payload = body.get("payload")
            if payload is not None and payload.get("type") != "JSON":
                self.report(
                    EXPRESSION_SYNTAX,
                    ERROR,
                    "We couldn't evaluate your expression to valid JSON. The DynamoDBv2 action "
                    "only supports the JSON payload type.",
                    at.member("payload").member("type"),
                )
        elif kind == "iotSiteWise":
            for path in _SITEWISE_FIELDS:
                value: Any = body
                where = at
                for member in path:
                    value = value.get(member) if isinstance(value, dict) else None
                    where = where.member(member)
                if isinstance(value, str):
                    self._expression(
                        where,
                        value,
                        f"Your {path[-1]} for IotSitewiseAction couldn't be parsed. You must use "
                        "correct syntax in your expression.",
                    )
        payload = body.get("payload")
        if payload is not None:
            self._payload(at.member("payload"), kind, payload, event_name, state_name)

    def _payload(
        self,
        at: Location,
        kind: str,
        payload: dict[str, Any],
        event_name: str,
        state_name: str,
    ) -> None:
        content: str = payload.get("contentExpression") or ""
        where = at.member("contentExpression")
        if not content.strip():
            self.report(EXPRESSION_SYNTAX, ERROR, "Customized Payloads must be non-empty.", where)
            return
        if len(content.encode()) > self.quotas.content_expression_bytes:
            self.report(
                SERVICE_LIMITS,
                ERROR,
                "Content Expression allowed in payload exceeded the limit "
                f"{self.quotas.content_expression_bytes} bytes in event {event_name} in state "
                f"{state_name}.",
                where,
            )
            return
        is_json = payload.get("type") == "JSON"
        self._expression(
            where,
            content,
            f"We couldn't parse your content expression for the payload of {kind}. Enter a "
            "content expression with the correct syntax.",
            expect=STRING if is_json else None,
            wrong=f"Your payload expression {{{content}}} isn't valid. The defined payload type "
            "is JSON, so you must specify an expression that AWS IoT Events would evaluate to a "
            "string.",
            json_template=is_json,
        )

    # --- expressions ------------------------------------------------------------------------

    def _expression(
        self,
        where: Location,
        text: str,
        failure: str,
        *,
        expect: str | None = None,
        wrong: str = "",
        json_template: bool = False,
    ) -> tuple[Expression, Typed] | None:
        """Compile one expression field, record what it reads and type it; None if it fails."""
        try:
            expression = compile_expression(text)
        except ExpressionSyntaxError as error:
            self.report(EXPRESSION_SYNTAX, ERROR, f"{failure} {error}", where, reason=str(error))
            return None
        self._record(where, expression)
        typed = self.types.check(
            text, where, expect=expect, wrong=wrong, json_template=json_template
        )
        return expression, typed

    def _record(self, where: Location, expression: Expression) -> None:
        references = expression.references
        walk = self.walk
        for name in sorted(references.inputs):
            walk.inputs.setdefault(name, where)
        for name, path in sorted(references.input_paths, key=repr):
            keys = tuple(segment for segment in path if isinstance(segment, str))
            walk.attribute_reads.setdefault((name, keys), where)
        for name in sorted(references.variables):
            walk.variables_read.setdefault(name, where)
        for name in sorted(references.timers):
            walk.timers_read.setdefault(name, where)

    # --- whole-model checks -----------------------------------------------------------------

    def _after_walk(self, states: list[dict[str, Any]], initial: Any) -> None:
        walk = self.walk
        if not walk.condition_inputs and not walk.condition_failed:
            message = "Detector Model Definition must use at least one Input in a condition."
            self.report(STRUCTURE, ERROR, message)
        if initial in self.state_names:
            reached = _reachable(initial, walk.edges)
            for index, state in enumerate(states):
                name = state.get("stateName")
                if name not in reached:
                    self.report(
                        STRUCTURE,
                        WARNING,
                        "A state in your detector model is unreachable. Check the condition that "
                        "will cause a transition to the desired state.",
                        Location("states", "states").item(index, name),
                    )
        if walk.timers_set:
            self._timer_triggered_reads()
        for name, where in walk.timers_read.items():
            if name not in walk.timers_set:
                self.report(
                    REFERENCED_DATA,
                    WARNING,
                    f"Detected broken Timer: timer {name} is used in an expression but is never "
                    "set.",
                    where,
                )
        for name, where in walk.variables_read.items():
            if name not in walk.variables_set:
                self.report(
                    REFERENCED_DATA,
                    WARNING,
                    f"Detected broken Variable: variable {name} is used in an expression but is "
                    "never set.",
                    where,
                )
        if len(walk.variables_set) > self.quotas.variables_per_detector_model:
            self.report(
                SERVICE_LIMITS,
                ERROR,
                "Number of variables allowed in detector model definition exceeded the limit "
                f"{self.quotas.variables_per_detector_model}.",
            )
        if self.resources is not None:
            self._inputs(self.resources)

    def _timer_triggered_reads(self) -> None:
        # A timer expiry evaluates onInput too, reading the input values of an older message.
        for condition in self.walk.conditions:
            expression = condition.expression
            if not condition.on_input or not expression.references.input_paths:
                continue
            if any(f"{name}(" in expression.source for name in ("triggerType", "currentInput")):
                continue
            self.report(
                STRUCTURE,
                WARNING,
                "An input attribute is being read, but this may be caused by a timer expiration.",
                condition.where,
            )

    def _inputs(self, resources: Resources) -> None:
        walk = self.walk
        declared: dict[str, tuple[tuple[str, ...], ...]] = {}
        for name, where in walk.inputs.items():
            attributes = resources.input_attributes(name)
            if attributes is None:
                self.report(
                    REFERENCED_RESOURCE,
                    ERROR,
                    f"Detector Model Definition contains reference to Input '{name}' that does "
                    "not exist.",
                    where,
                )
                continue
            declared[name] = tuple(_json_path(path) for path in attributes)
            routes = resources.routes(name)
            limit = self.quotas.detector_models_per_input
            if len(routes) >= limit:
                self.report(
                    SERVICE_LIMITS,
                    WARNING,
                    "The maximum number of detector models that can be associated with a single "
                    f"input may have reached the limit. Input {name} is used in {len(routes)} "
                    "detector model routes.",
                    where,
                )
        for (name, keys), where in walk.attribute_reads.items():
            if name not in declared or not keys:
                continue
            if not any(_related(keys, attribute) for attribute in declared[name]):
                shown = ".".join(keys)
                self.report(
                    REFERENCED_RESOURCE,
                    WARNING,
                    f"Detector Model Definition reads attribute '{shown}' of Input '{name}', "
                    "which the input does not define: it will always be undefined.",
                    where,
                )


def _json_path(path: str) -> tuple[str, ...]:
    """An attribute's jsonPath as keys: ``sensorData.`motor pressure``` -> (sensorData, motor
    pressure)."""
    return tuple(segment.strip("`") for segment in path.split("."))


def _related(keys: tuple[str, ...], attribute: tuple[str, ...]) -> bool:
    # Reading a declared attribute, something inside it, or an object that contains it.
    shorter = min(len(keys), len(attribute))
    return keys[:shorter] == attribute[:shorter]


def _reachable(initial: str, edges: dict[str, set[str]]) -> set[str]:
    seen = {initial}
    todo: list[str] = [initial]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
