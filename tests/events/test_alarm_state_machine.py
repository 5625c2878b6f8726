"""The alarm state machine of spec 11.2 as pure functions: every trigger in every state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from thinghub.events.control.alarm_catalog import AlarmModelVersion
from thinghub.events.runtime.alarm_model import CompiledAlarmModel, compile_alarm_model
from thinghub.events.runtime.alarms import (
    ACKNOWLEDGE,
    ACKNOWLEDGED,
    ACTIVE,
    DISABLE,
    DISABLED,
    ENABLE,
    LATCHED,
    NORMAL,
    RESET,
    SNOOZE,
    SNOOZE_DISABLED,
    Alarm,
    Command,
    CommandRefused,
    alarm_state,
    apply_command,
    default_payload,
    dispatches,
    end_snooze,
    new_alarm,
    receive,
)

NOW = 1_800_000_000.0
STATES = (DISABLED, NORMAL, ACTIVE, ACKNOWLEDGED, SNOOZE_DISABLED, LATCHED)


def model(
    *,
    operator: str = "GREATER",
    threshold: str = "30",
    acknowledge: bool = True,
    disabled: bool = False,
    key: str | None = "id",
    severity: int | None = 2,
    actions: list[dict[str, Any]] | None = None,
) -> CompiledAlarmModel:
    return compile_alarm_model(
        AlarmModelVersion(
            name="hot",
            version="1",
            arn="arn:aws:iotevents:us-east-1:000000000000:alarmModel/hot",
            key=key,
            severity=severity,
            simple_rule={
                "inputProperty": "$input.Temp.sensor.temp",
                "comparisonOperator": operator,
                "threshold": threshold,
            },
            alarm_actions=actions or [],
            disabled_on_initialization=disabled,
            acknowledge_flow=acknowledge,
            created_at=NOW,
        )
    )


def alarm_in(state: str, compiled: CompiledAlarmModel | None = None) -> Alarm:
    alarm = new_alarm(compiled or model(), "a", NOW)
    alarm.state = state
    if state == SNOOZE_DISABLED:
        alarm.snooze_until = NOW + 60
    return alarm


def reading(compiled: CompiledAlarmModel, alarm: Alarm, value: Any, input_name: str = "Temp"):  # type: ignore[no-untyped-def]
    return receive(compiled, alarm, input_name, {"sensor": {"temp": value}}, NOW + 1)


# ----- creation -------------------------------------------------------------------------------


def test_a_new_alarm_is_disabled_unless_the_model_says_otherwise() -> None:
    assert new_alarm(model(disabled=True), "a", NOW).state == DISABLED
    enabled = new_alarm(model(disabled=False), "a", NOW)
    assert (enabled.state, enabled.key, enabled.version) == (NORMAL, "a", "1")
    assert (enabled.created_at, enabled.updated_at) == (NOW, NOW)


# ----- rule evaluations -----------------------------------------------------------------------

RULE_TRANSITIONS = [
    # (state, breached, acknowledge flow, next state)
    (NORMAL, True, True, ACTIVE),
    (NORMAL, False, True, NORMAL),
    (ACTIVE, True, True, ACTIVE),
    (ACTIVE, False, True, LATCHED),
    (ACTIVE, False, False, NORMAL),
    (ACKNOWLEDGED, True, True, ACKNOWLEDGED),
    (ACKNOWLEDGED, False, True, NORMAL),
    (LATCHED, True, True, ACTIVE),
    (LATCHED, False, True, LATCHED),
    (DISABLED, True, True, DISABLED),
    (DISABLED, False, True, DISABLED),
    (SNOOZE_DISABLED, True, True, SNOOZE_DISABLED),
    (SNOOZE_DISABLED, False, False, SNOOZE_DISABLED),
]


@pytest.mark.parametrize(("state", "breached", "acknowledge", "expected"), RULE_TRANSITIONS)
def test_rule_evaluation_moves_the_alarm(
    state: str, breached: bool, acknowledge: bool, expected: str
) -> None:
    compiled = model(acknowledge=acknowledge)
    alarm = alarm_in(state, compiled)
    transition, problem = reading(compiled, alarm, 40 if breached else 20)
    assert problem is None
    assert (transition.previous, transition.current, alarm.state) == (state, expected, expected)
    assert transition.changed == (state != expected)
    assert alarm.updated_at == NOW + 1
    if state in (DISABLED, SNOOZE_DISABLED):
        assert alarm.rule_evaluation is None  # not ready to evaluate: nothing evaluated
    else:
        assert alarm.rule_evaluation == {
            "inputPropertyValue": "40" if breached else "20",
            "operator": "GREATER",
            "thresholdValue": "30",
        }


@pytest.mark.parametrize(
    ("operator", "value", "breached"),
    [
        ("GREATER", 31, True),
        ("GREATER", 30, False),
        ("GREATER_OR_EQUAL", 30, True),
        ("GREATER_OR_EQUAL", Decimal("29.99"), False),
        ("LESS", 29, True),
        ("LESS", 30, False),
        ("LESS_OR_EQUAL", 30, True),
        ("LESS_OR_EQUAL", Decimal("30.01"), False),
        ("EQUAL", Decimal("30.0"), True),  # numbers compare by value: 30.0 == 30
        ("EQUAL", 31, False),
        ("NOT_EQUAL", 31, True),
        ("NOT_EQUAL", 30, False),
    ],
)
def test_every_comparison_operator(operator: str, value: Any, breached: bool) -> None:
    compiled = model(operator=operator)
    alarm = alarm_in(NORMAL, compiled)
    reading(compiled, alarm, value)
    assert alarm.state == (ACTIVE if breached else NORMAL)


def test_decimals_are_compared_and_shown_exactly() -> None:
    compiled = model(threshold="30.5")
    alarm = alarm_in(NORMAL, compiled)
    reading(compiled, alarm, Decimal("30.50"))
    assert alarm.state == NORMAL
    assert alarm.rule_evaluation is not None
    assert alarm.rule_evaluation["inputPropertyValue"] == "30.5"  # as DescribeDetector shows it
    assert alarm.rule_evaluation["thresholdValue"] == "30.5"
    reading(compiled, alarm, Decimal("30.51"))
    assert alarm.state == ACTIVE


def test_a_negative_threshold_is_a_number() -> None:
    compiled = model(operator="LESS", threshold="-5")
    alarm = alarm_in(NORMAL, compiled)
    reading(compiled, alarm, -6)
    assert alarm.state == ACTIVE


def test_values_that_are_not_numbers_change_nothing_and_are_reported() -> None:
    compiled = model()
    alarm = alarm_in(NORMAL, compiled)
    for value in ("40", True, None, {"x": 1}):
        transition, problem = reading(compiled, alarm, value)
        assert not transition.changed
        assert problem is not None and "is not a number" in problem
    # A message without the attribute: the alarm simply waits for data.
    transition, problem = receive(compiled, alarm, "Temp", {"other": 1}, NOW)
    assert (transition.changed, problem, alarm.state, alarm.rule_evaluation) == (
        False,
        None,
        NORMAL,
        None,
    )


def test_a_threshold_read_from_an_input_uses_its_last_message() -> None:
    compiled = compile_alarm_model(
        AlarmModelVersion(
            name="hot",
            version="1",
            arn="arn",
            key=None,
            severity=None,
            simple_rule={
                "inputProperty": "$input.Temp.sensor.temp",
                "comparisonOperator": "GREATER",
                "threshold": "$input.Limits.max",
            },
            alarm_actions=[],
            disabled_on_initialization=False,
            acknowledge_flow=False,
            created_at=NOW,
        )
    )
    alarm = new_alarm(compiled, "", NOW)
    transition, _ = reading(compiled, alarm, 40)
    assert not transition.changed  # no threshold yet
    # A message on the threshold's input is kept, but does not evaluate the rule.
    transition, _ = receive(compiled, alarm, "Limits", {"max": 35}, NOW)
    assert (transition.changed, alarm.state) == (False, NORMAL)
    reading(compiled, alarm, 40)
    assert alarm.state == ACTIVE
    assert alarm.rule_evaluation == {
        "inputPropertyValue": "40",
        "operator": "GREATER",
        "thresholdValue": "35",
    }


def test_a_state_change_by_the_rule_clears_the_customer_action() -> None:
    compiled = model()
    alarm = alarm_in(ACTIVE, compiled)
    apply_command(compiled, alarm, Command(ACKNOWLEDGE, "on it"), NOW)
    reading(compiled, alarm, 40)  # still breached: ACKNOWLEDGED stays, and so does the note
    assert alarm.customer_action == {
        "actionName": "ACKNOWLEDGE",
        "acknowledgeActionConfiguration": {"note": "on it"},
    }
    reading(compiled, alarm, 20)
    assert (alarm.state, alarm.customer_action) == (NORMAL, None)


# ----- customer actions -----------------------------------------------------------------------

COMMANDS = {
    ACKNOWLEDGE: {ACTIVE: ACKNOWLEDGED, LATCHED: NORMAL},
    ENABLE: {DISABLED: NORMAL, SNOOZE_DISABLED: NORMAL},
    DISABLE: dict.fromkeys(STATES, DISABLED),
    RESET: dict.fromkeys(STATES, NORMAL),
    SNOOZE: {state: SNOOZE_DISABLED for state in STATES if state != DISABLED},
}
CASES = [(action, state) for action in COMMANDS for state in STATES]


@pytest.mark.parametrize(("action", "state"), CASES, ids=[f"{a}-{s}" for a, s in CASES])
def test_customer_actions_in_every_state(action: str, state: str) -> None:
    compiled = model()
    alarm = alarm_in(state, compiled)
    command = Command(action, "why", 300 if action == SNOOZE else None)
    expected = COMMANDS[action].get(state)
    if expected is None:
        with pytest.raises(CommandRefused, match=f"it is {state}"):
            apply_command(compiled, alarm, command, NOW + 5)
        assert alarm.state == state
        assert alarm.customer_action is None
        return
    transition = apply_command(compiled, alarm, command, NOW + 5)
    assert (transition.previous, transition.current, alarm.state) == (state, expected, expected)
    assert alarm.updated_at == NOW + 5
    member = f"{action.lower()}ActionConfiguration"
    configuration = {"note": "why", "snoozeDuration": 300} if action == SNOOZE else {"note": "why"}
    assert alarm.customer_action == {"actionName": action, member: configuration}
    assert alarm.system_event is None
    assert alarm.snooze_until == (NOW + 5 + 300 if action == SNOOZE else None)


def test_snooze_needs_a_positive_duration() -> None:
    compiled = model()
    alarm = alarm_in(ACTIVE, compiled)
    for seconds in (0, -5, None):
        with pytest.raises(CommandRefused, match="snoozeDuration must be at least 1 second"):
            apply_command(compiled, alarm, Command(SNOOZE, None, seconds), NOW)
    assert alarm.state == ACTIVE


def test_a_note_is_optional() -> None:
    compiled = model()
    alarm = alarm_in(DISABLED, compiled)
    apply_command(compiled, alarm, Command(ENABLE), NOW)
    assert alarm.customer_action == {"actionName": "ENABLE", "enableActionConfiguration": {}}


# ----- the snooze ending ----------------------------------------------------------------------


def test_the_end_of_a_snooze_returns_to_normal_as_a_system_event() -> None:
    compiled = model()
    alarm = alarm_in(ACTIVE, compiled)
    apply_command(compiled, alarm, Command(SNOOZE, "later", 60), NOW)
    transition = end_snooze(alarm, NOW + 60)
    assert (transition.previous, transition.current) == (SNOOZE_DISABLED, NORMAL)
    assert alarm.snooze_until is None
    assert alarm.customer_action is None
    assert alarm.updated_at == NOW + 60
    assert alarm_state(alarm) == {
        "stateName": "NORMAL",
        "systemEvent": {
            "eventType": "STATE_CHANGE",
            "stateChangeConfiguration": {"triggerType": "SNOOZE_TIMEOUT"},
        },
    }


def test_an_alarm_no_longer_snoozed_is_left_alone_when_the_snooze_would_have_ended() -> None:
    alarm = alarm_in(NORMAL)
    alarm.snooze_until = NOW
    transition = end_snooze(alarm, NOW)
    assert (transition.changed, alarm.state, alarm.snooze_until, alarm.system_event) == (
        False,
        NORMAL,
        None,
        None,
    )


# ----- payloads -------------------------------------------------------------------------------


def test_default_payload_mirrors_the_notification_payload() -> None:
    compiled = model(severity=3)
    alarm = alarm_in(NORMAL, compiled)
    reading(compiled, alarm, 40)
    assert default_payload(compiled, alarm, 1558129816420, NOW + 1) == {
        "eventTime": 1558129816420,
        "payload": {
            "alarmModelName": "hot",
            "alarmModelVersion": "1",
            "keyValue": "a",
            "severity": 3,
            "alarmState": {
                "stateName": "ACTIVE",
                "ruleEvaluation": {
                    "simpleRuleEvaluation": {
                        "inputPropertyValue": "40",
                        "operator": "GREATER",
                        "thresholdValue": "30",
                    }
                },
            },
            "stateUpdateTime": int((NOW + 1) * 1000),
        },
    }
    # A key-less model has no keyValue, a model without severity no severity.
    singleton = model(key=None, severity=None)
    document = default_payload(singleton, new_alarm(singleton, "", NOW), 1, NOW)["payload"]
    assert "keyValue" not in document and "severity" not in document


def test_dispatches_evaluate_fields_and_custom_payloads_on_the_alarm_inputs() -> None:
    compiled = model(
        actions=[
            {"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:alarms"}},
            {
                "iotTopicPublish": {
                    "mqttTopic": "'alarms/${$input.Temp.sensor.temp}'",
                    "payload": {
                        "contentExpression": "'temperature ${$input.Temp.sensor.temp}'",
                        "type": "STRING",
                    },
                }
            },
            {"sqs": {"queueUrl": "$input.Temp.missing"}},  # undefined: not sent
        ]
    )
    alarm = alarm_in(NORMAL, compiled)
    reading(compiled, alarm, 40)
    sent, problems = dispatches(compiled, alarm, 7, NOW)
    assert [d.type for d in sent] == ["sns", "iotTopicPublish"]
    assert sent[0].fields == {"targetArn": "arn:aws:sns:us-east-1:123456789012:alarms"}
    assert sent[0].payload == default_payload(compiled, alarm, 7, NOW)
    assert (sent[1].fields, sent[1].payload, sent[1].payload_type) == (
        {"mqttTopic": "alarms/40"},
        "temperature 40",
        "STRING",
    )
    assert sent[0].action_execution_id != sent[1].action_execution_id
    assert problems == ["sqs.queueUrl: we couldn't evaluate your expression for the action"]
