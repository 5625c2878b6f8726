"""An alarm model version compiled once for the runtime: the rule's two expressions, the
capabilities, and the alarm actions compiled exactly as detector actions are."""

from __future__ import annotations

from dataclasses import dataclass

from thinghub.events.control.alarm_catalog import AlarmModelVersion
from thinghub.events.expressions import Expression, compile_expression
from thinghub.events.runtime.model import CompiledAction, compile_action, key_path


@dataclass(frozen=True, slots=True)
class CompiledAlarmModel:
    name: str
    version: str
    key_path: tuple[str, ...] | None
    severity: int | None
    input_property: Expression  # `$input.X.path`
    rule_input: str  # X: each of its messages triggers a rule evaluation
    operator: str  # GREATER | GREATER_OR_EQUAL | LESS | LESS_OR_EQUAL | EQUAL | NOT_EQUAL
    threshold: Expression  # a number, or `$input.Y.path`
    disabled_on_initialization: bool
    acknowledge_flow: bool
    actions: tuple[CompiledAction, ...]


def compile_alarm_model(version: AlarmModelVersion) -> CompiledAlarmModel:
    rule = version.simple_rule
    input_property = compile_expression(rule["inputProperty"].strip())
    # Validated at create/update: the input property is exactly one attribute reference.
    ((rule_input, _),) = input_property.references.input_paths
    return CompiledAlarmModel(
        name=version.name,
        version=version.version,
        key_path=key_path(version.key),
        severity=version.severity,
        input_property=input_property,
        rule_input=rule_input,
        operator=rule["comparisonOperator"],
        threshold=compile_expression(rule["threshold"].strip()),
        disabled_on_initialization=version.disabled_on_initialization,
        acknowledge_flow=version.acknowledge_flow,
        actions=tuple(
            compile_action({kind: spec for kind, spec in action.items() if spec is not None})
            for action in version.alarm_actions
        ),
    )
