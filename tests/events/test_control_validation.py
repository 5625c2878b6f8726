"""What CreateDetectorModel and UpdateDetectorModel refuse, and how the message says where."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.events.test_control_support import (
    ROLE_ARN,
    create_motor_model,
    create_pressure_input,
    error_of,
    motor_definition,
    unique,
)

Definition = dict[str, Any]


@pytest.fixture(scope="module")
def input_name(iotevents: Any) -> str:
    return create_pressure_input(iotevents)


def _refused(client: Any, definition: Definition) -> str:
    """Create a model with `definition`; it must be refused: the message."""
    name = unique("refused")
    with pytest.raises(client.exceptions.InvalidRequestException) as caught:
        client.create_detector_model(
            detectorModelName=name, detectorModelDefinition=definition, roleArn=ROLE_ARN
        )
    _code, message, status = error_of(caught)
    assert status == 400
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_detector_model(detectorModelName=name)
    return message


def _edited(input_name: str, edit: Callable[[Definition], None]) -> Definition:
    definition = motor_definition(input_name)
    edit(definition)
    return definition


def _normal_transition(definition: Definition) -> dict[str, Any]:
    return dict(definition["states"][0]["onInput"]["transitionEvents"][0])


def test_unknown_initial_state(iotevents: Any, input_name: str) -> None:
    definition = _edited(input_name, lambda d: d.update(initialStateName="Idle"))
    assert _refused(iotevents, definition) == (
        "initialStateName: The Definition's initialStateName Idle did not correspond to a "
        "defined State."
    )


def test_transition_to_unknown_state(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"][0]["onInput"]["transitionEvents"][0]["nextState"] = "Exploded"

    assert _refused(iotevents, _edited(input_name, edit)) == (
        "states[Normal].onInput.transitionEvents[Overpressurized].nextState: The TransitionEvent "
        "Overpressurized transitions to a non-existent state Exploded."
    )


def test_duplicate_state_names(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"].append({"stateName": "Normal"})

    message = _refused(iotevents, _edited(input_name, edit))
    assert message == (
        "states[Normal]: The DetectorModelDefinition had a shared state name: found state Normal "
        "with 2 repetitions."
    )


@pytest.mark.parametrize("types", [0, 2])
def test_action_must_have_exactly_one_type(iotevents: Any, input_name: str, types: int) -> None:
    action: dict[str, Any] = {}
    if types:
        action = {"sns": {"targetArn": "arn:aws:sns:us-east-1:1:t"}, "lambda": {"functionArn": "f"}}

    def edit(d: Definition) -> None:
        d["states"][1]["onEnter"]["events"][0]["actions"].append(action)

    assert _refused(iotevents, _edited(input_name, edit)) == (
        "states[Dangerous].onEnter.events[Pressure Threshold Breached].actions[1]: Actions may "
        f"only have one type defined, but found an action with {types} types. Please split into "
        "separate Actions."
    )


def _with_timer(input_name: str, timer: dict[str, Any]) -> Definition:
    def edit(d: Definition) -> None:
        d["states"][0]["onEnter"]["events"][0]["actions"].append({"setTimer": timer})

    return _edited(input_name, edit)


def test_set_timer_with_seconds_and_duration_expression(iotevents: Any, input_name: str) -> None:
    timer = {"timerName": "t", "seconds": 60, "durationExpression": "60"}
    assert _refused(iotevents, _with_timer(input_name, timer)) == (
        "states[Normal].onEnter.events[init].actions[1].setTimer: Only one of seconds and "
        "durationExpression can be set in SetTimer."
    )


def test_set_timer_without_a_duration(iotevents: Any, input_name: str) -> None:
    message = _refused(iotevents, _with_timer(input_name, {"timerName": "t"}))
    assert message == (
        "states[Normal].onEnter.events[init].actions[1].setTimer: One of seconds and "
        "durationExpression must be set in SetTimer."
    )


@pytest.mark.parametrize("timer", [{"seconds": 30}, {"durationExpression": "59.9"}])
def test_timer_shorter_than_a_minute(
    iotevents: Any, input_name: str, timer: dict[str, Any]
) -> None:
    message = _refused(iotevents, _with_timer(input_name, {"timerName": "short", **timer}))
    assert "The duration for timer short should be at least 60 seconds long." in message


def test_bad_duration_expression(iotevents: Any, input_name: str) -> None:
    timer = {"timerName": "t", "durationExpression": "$variable.x +"}
    message = _refused(iotevents, _with_timer(input_name, timer))
    assert message.startswith(
        "states[Normal].onEnter.events[init].actions[1].setTimer.durationExpression: "
        "Syntax error at line 1, column 14: unexpected end of expression"
    )
    timer = {"timerName": "t", "durationExpression": "'soon'"}
    assert "Duration expression 'soon' for timer t is not valid, it must return a number." in (
        _refused(iotevents, _with_timer(input_name, timer))
    )


def test_condition_syntax_error_names_the_field_line_and_column(
    iotevents: Any, input_name: str
) -> None:
    def edit(d: Definition) -> None:
        d["states"][0]["onInput"]["transitionEvents"][0]["condition"] = "$input.X.pressure >> 70"

    message = _refused(iotevents, _edited(input_name, edit))
    assert message == (
        "states[Normal].onInput.transitionEvents[Overpressurized].condition: Syntax error at line "
        "1, column 20: unexpected '>'"
    )


def test_multi_line_expression_error_has_its_line(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"][1]["onInput"]["events"][1]["condition"] = (
            f"$input.{input_name}.sensorData.pressure <= 70 &&\n  )"
        )

    message = _refused(iotevents, _edited(input_name, edit))
    assert message.startswith(
        "states[Dangerous].onInput.events[Pressure Okay].condition: Syntax error at line 2, "
        "column 3:"
    )


def test_set_variable_value_must_be_an_expression(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"][0]["onEnter"]["events"][0]["actions"][0]["setVariable"]["value"] = "zero"

    message = _refused(iotevents, _edited(input_name, edit))
    assert message.startswith(
        "states[Normal].onEnter.events[init].actions[0].setVariable.value: Syntax error at line 1,"
        " column 1: unexpected name zero"
    )


def test_no_condition_reads_an_input(iotevents: Any, input_name: str) -> None:
    definition = {
        "states": [
            {
                "stateName": "Only",
                "onInput": {"events": [{"eventName": "always", "condition": "true"}]},
            }
        ],
        "initialStateName": "Only",
    }
    assert _refused(iotevents, definition) == (
        "Detector Model Definition must use at least one Input in a condition."
    )


def test_referenced_input_must_exist(iotevents: Any) -> None:
    missing = unique("Missing")
    message = _refused(iotevents, motor_definition(missing))
    assert (
        "states[Normal].onInput.transitionEvents[Overpressurized].condition: Detector Model "
        f"Definition contains reference to Input '{missing}' that does not exist."
    ) == message


def test_empty_custom_payload(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        sns = d["states"][1]["onEnter"]["events"][0]["actions"][0]["sns"]
        sns["payload"] = {"contentExpression": "   ", "type": "STRING"}

    assert _refused(iotevents, _edited(input_name, edit)) == (
        "states[Dangerous].onEnter.events[Pressure Threshold Breached].actions[0].sns.payload."
        "contentExpression: Customized Payloads must be non-empty."
    )


def test_payload_content_syntax_and_type(iotevents: Any, input_name: str) -> None:
    def payload(content: str, kind: str) -> Definition:
        def edit(d: Definition) -> None:
            sns = d["states"][1]["onEnter"]["events"][0]["actions"][0]["sns"]
            sns["payload"] = {"contentExpression": content, "type": kind}

        return _edited(input_name, edit)

    assert "Syntax error at line 1, column 1: unterminated string literal" in _refused(
        iotevents, payload('\'{"a": 1}', "JSON")
    )
    assert "The defined payload type is JSON, so you must specify an expression" in _refused(
        iotevents, payload("42", "JSON")
    )


def test_operator_on_wrong_types(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"][0]["onEnter"]["events"][0]["condition"] = "true + false"

    assert _refused(iotevents, _edited(input_name, edit)) == (
        "states[Normal].onEnter.events[init].condition: The data types [Boolean] that you entered "
        "for the operator [+] aren't compatible for the following expression: 'true + false'"
    )


def test_condition_must_be_boolean(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"][0]["onEnter"]["events"][0]["condition"] = "42"

    assert "Expression 42 is not a valid condition expression." in _refused(
        iotevents, _edited(input_name, edit)
    )


def test_too_many_states(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"] += [{"stateName": f"Extra{i}"} for i in range(19)]

    assert _refused(iotevents, _edited(input_name, edit)) == (
        "states: Number of states allowed in detector model definition exceeded the limit 20."
    )


def test_too_many_events_transitions_and_actions(iotevents: Any, input_name: str) -> None:
    condition = f"$input.{input_name}.sensorData.pressure > 1"
    event = {"eventName": "e", "condition": condition}

    def events(d: Definition) -> None:
        d["states"][1]["onInput"]["events"] = [dict(event) for _ in range(21)]

    assert _refused(iotevents, _edited(input_name, events)) == (
        "states[Dangerous].onInput.events: Number of events allowed per state exceeded the limit "
        "20 in detector model definition."
    )

    def transitions(d: Definition) -> None:
        d["states"][1]["onInput"]["transitionEvents"] = [
            {**event, "nextState": "Normal"} for _ in range(21)
        ]

    assert _refused(iotevents, _edited(input_name, transitions)) == (
        "states[Dangerous].onInput.transitionEvents: Number of transition events allowed per "
        "state exceeded the limit 20 in detector model definition."
    )

    def actions(d: Definition) -> None:
        d["states"][0]["onEnter"]["events"][0]["actions"] = [
            {"setVariable": {"variableName": "v", "value": "1"}} for _ in range(11)
        ]

    assert _refused(iotevents, _edited(input_name, actions)) == (
        "states[Normal].onEnter.events[init].actions: Number of actions allowed per event "
        "exceeded the limit 10 in detector model definition"
    )


def test_too_many_variables(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["states"][0]["onEnter"]["events"] = [
            {
                "eventName": f"set{j}",
                "actions": [
                    {"setVariable": {"variableName": f"v{j}_{i}", "value": "1"}} for i in range(10)
                ],
            }
            for j in range(6)
        ]

    assert _refused(iotevents, _edited(input_name, edit)) == (
        "Number of variables allowed in detector model definition exceeded the limit 50."
    )


def test_definition_larger_than_512_kb(iotevents: Any, input_name: str) -> None:
    value = "'" + "x" * 1000 + "'"

    def edit(d: Definition) -> None:
        big = {
            "events": [
                {
                    "eventName": f"e{j}",
                    "actions": [{"setVariable": {"variableName": "v", "value": value}}] * 10,
                }
                for j in range(20)
            ]
        }
        for state in d["states"]:
            state["onExit"] = big
        d["states"] += [{"stateName": f"S{i}", "onEnter": big} for i in range(2)]

    message = _refused(iotevents, _edited(input_name, edit))
    assert "over the limit of 524288 bytes" in message


def test_several_problems_are_all_named(iotevents: Any, input_name: str) -> None:
    def edit(d: Definition) -> None:
        d["initialStateName"] = "Idle"
        d["states"][0]["onInput"]["transitionEvents"][0]["nextState"] = "Exploded"

    message = _refused(iotevents, _edited(input_name, edit))
    assert "initialStateName Idle" in message
    assert "non-existent state Exploded" in message
    assert "; " in message


def test_update_is_validated_like_create(iotevents: Any, input_name: str) -> None:
    name = create_motor_model(iotevents, input_name)["detectorModelName"]
    with pytest.raises(iotevents.exceptions.InvalidRequestException) as caught:
        iotevents.update_detector_model(
            detectorModelName=name,
            detectorModelDefinition=_edited(input_name, lambda d: d.update(initialStateName="X")),
            roleArn=ROLE_ARN,
        )
    assert "initialStateName X did not correspond" in error_of(caught)[1]
    versions = iotevents.list_detector_model_versions(detectorModelName=name)
    assert len(versions["detectorModelVersionSummaries"]) == 1


def test_aws_example_models_are_accepted(iotevents: Any, input_name: str) -> None:
    # Warnings (unset timers, unreachable states, ...) never block a model.
    def edit(d: Definition) -> None:
        d["states"].append(
            {
                "stateName": "NeverReached",
                "onInput": {
                    "events": [
                        {
                            "eventName": "check",
                            "condition": 'timeout("unset") || $variable.neverSet == 1',
                        }
                    ]
                },
            }
        )

    create_motor_model(iotevents, input_name, definition=_edited(input_name, edit))
