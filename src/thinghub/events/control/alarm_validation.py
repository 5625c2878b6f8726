"""Validation at CreateAlarmModel / UpdateAlarmModel (spec §11.1).

The wire layer already checked shapes, lengths, enums and patterns. Here: the rule reads an
attribute that an existing input declares, the threshold is a number or such an attribute,
every alarm action has exactly one type and compiles, and every input an expression names
exists. All problems are reported at once, each naming its member, in one
InvalidRequestException.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Final

from thinghub.events.control.errors import invalid_request
from thinghub.events.control.quotas import Quotas
from thinghub.events.control.validation import StoreResources
from thinghub.events.expressions import (
    Expression,
    ExpressionSyntaxError,
    SimpleEvaluation,
    compile_expression,
)
from thinghub.events.runtime.model import compile_action, key_path

__all__ = ["ALARM_ACTION_TYPES", "validate_alarm_model"]

# The members of AlarmAction: the detector actions minus the built-in ones.
ALARM_ACTION_TYPES: Final = (
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
# `$input.<InputName>.<path>`: a reference token with at least one attribute segment.
_ATTRIBUTE_REFERENCE: Final = re.compile(
    r"\$input\.[a-zA-Z][a-zA-Z0-9_]*(?:\.(?:[a-zA-Z][a-zA-Z0-9_]*|`[^`]+`)|\[[0-9]+\])+"
)
_RULE = "alarmRule.simpleRule"


class _Problems:
    def __init__(self, resources: StoreResources) -> None:
        self.resources = resources
        self.messages: list[str] = []
        self.inputs: set[str] = set()

    def add(self, message: str) -> None:
        self.messages.append(message)

    def expression_inputs(self, where: str, expression: Expression) -> None:
        """Every input the expression names must exist; each one routes to the model."""
        for name in sorted(expression.references.inputs):
            self.inputs.add(name)
            if self.resources.input_attributes(name) is None:
                self.add(f"{where}: Input {name} does not exist")

    def attribute(self, where: str, expression: Expression) -> None:
        """The single `$input.X.path` reference of `expression` must be a declared attribute of
        an existing input (or lie below one): alarms read only declared attributes."""
        ((name, path),) = expression.references.input_paths
        self.inputs.add(name)
        declared = self.resources.input_attributes(name)
        if declared is None:
            self.add(f"{where}: Input {name} does not exist")
            return
        for attribute in declared:
            segments = key_path(attribute) or ()
            if tuple(path[: len(segments)]) == segments:
                return
        shown = expression.source.strip().removeprefix(f"$input.{name}.")
        self.add(
            f"{where}: Input {name} does not define the attribute {shown}, so {where} would "
            "always be undefined"
        )


def _attribute_reference(text: str) -> Expression | None:
    """The compiled reference if `text` is exactly one input attribute reference."""
    stripped = text.strip()
    if not _ATTRIBUTE_REFERENCE.fullmatch(stripped):
        return None
    return compile_expression(stripped)


def _number(text: str) -> bool:
    """Whether `text` is a constant expression with a numeric value (`70`, `-5`, `30.5`)."""
    try:
        expression = compile_expression(text)
    except ExpressionSyntaxError:
        return False
    references = expression.references
    if references.inputs or references.variables or references.timers:
        return False
    value = expression.evaluate(SimpleEvaluation())
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _rule(rule: dict[str, Any] | None, problems: _Problems) -> None:
    if rule is None:
        problems.add("alarmRule must contain a simpleRule")
        return
    where = f"{_RULE}.inputProperty"
    reference = _attribute_reference(rule["inputProperty"])
    if reference is None:
        problems.add(
            f"{where} must be an input attribute reference such as "
            f"$input.<InputName>.<attribute>, not '{rule['inputProperty']}'"
        )
    else:
        problems.attribute(where, reference)
    where = f"{_RULE}.threshold"
    threshold = rule["threshold"]
    if _number(threshold):
        return
    reference = _attribute_reference(threshold)
    if reference is None:
        problems.add(
            f"{where} must be a number or an input attribute reference such as "
            f"$input.<InputName>.<attribute>, not '{threshold}'"
        )
    else:
        problems.attribute(where, reference)


def _action(where: str, action: dict[str, Any], quotas: Quotas, problems: _Problems) -> None:
    kinds = [kind for kind in ALARM_ACTION_TYPES if action.get(kind) is not None]
    if len(kinds) != 1:
        problems.add(
            f"{where} must have exactly one action type ({', '.join(ALARM_ACTION_TYPES)}), "
            f"but has {len(kinds)}"
        )
        return
    (kind,) = kinds
    spec: dict[str, Any] = action[kind]
    here = f"{where}.{kind}"
    payload = spec.get("payload")
    if payload is not None:
        content = payload.get("contentExpression") or ""
        if not content.strip():
            problems.add(f"{here}.payload.contentExpression: Customized Payloads must be non-empty")
            return
        if len(content.encode()) > quotas.content_expression_bytes:
            problems.add(
                f"{here}.payload.contentExpression is longer than the limit of "
                f"{quotas.content_expression_bytes} bytes"
            )
            return
        if kind == "dynamoDBv2" and payload.get("type") != "JSON":
            problems.add(f"{here}.payload.type must be JSON: the DynamoDBv2 action writes JSON")
            return
    # Member by member, so that a syntax error names its field.
    failed = False
    for member, value in spec.items():
        try:
            compile_action({kind: {member: value}})
        except ExpressionSyntaxError as error:
            problems.add(f"{here}.{member}: {error}")
            failed = True
    if failed:
        return
    compiled = compile_action({kind: spec})
    for member, expression in compiled.fields.items():
        problems.expression_inputs(f"{here}.{member}", expression)
    if compiled.payload is not None:
        problems.expression_inputs(f"{here}.payload.contentExpression", compiled.payload.content)


def _notifications(notification: dict[str, Any] | None, problems: _Problems) -> None:
    for index, entry in enumerate((notification or {}).get("notificationActions") or []):
        where = f"alarmNotification.notificationActions[{index}].action"
        target = entry["action"].get("lambdaAction")
        if target is None:
            problems.add(f"{where} must contain a lambdaAction")
            continue
        try:
            compile_action({"lambda": target})
        except ExpressionSyntaxError as error:
            problems.add(f"{where}.lambdaAction: {error}")


def validate_alarm_model(
    params: dict[str, Any], resources: StoreResources, quotas: Quotas
) -> frozenset[str]:
    """The input names the alarm model routes; InvalidRequestException naming every problem."""
    problems = _Problems(resources)
    _rule((params["alarmRule"] or {}).get("simpleRule"), problems)
    actions = (params.get("alarmEventActions") or {}).get("alarmActions") or []
    for index, action in enumerate(actions):
        _action(f"alarmEventActions.alarmActions[{index}]", action, quotas, problems)
    _notifications(params.get("alarmNotification"), problems)
    if problems.messages:
        raise invalid_request("; ".join(problems.messages))
    return frozenset(problems.inputs)
