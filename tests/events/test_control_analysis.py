"""StartDetectorModelAnalysis and its results: real static checks, answered at once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.events.test_control_support import (
    create_pressure_input,
    error_of,
    motor_definition,
    unique,
)


def _results(client: Any, definition: dict[str, Any]) -> list[dict[str, Any]]:
    analysis_id = client.start_detector_model_analysis(detectorModelDefinition=definition)[
        "analysisId"
    ]
    assert client.describe_detector_model_analysis(analysisId=analysis_id)["status"] == "COMPLETE"
    return list(
        client.get_detector_model_analysis_results(analysisId=analysis_id)["analysisResults"]
    )


def _by_level(results: list[dict[str, Any]], level: str) -> list[dict[str, Any]]:
    return [r for r in results if r["level"] == level]


def test_the_motor_example_has_only_information(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    results = _results(iotevents, motor_definition(input_name))
    assert _by_level(results, "ERROR") == [] and _by_level(results, "WARNING") == []
    assert {
        "type": "data-type",
        "level": "INFO",
        "message": f"Inferred data types [Integer] for $input.{input_name}.sensorData.pressure",
        "locations": [],
    } in results
    assert {
        "type": "data-type",
        "level": "INFO",
        "message": "Inferred data types [Integer] for $variable.pressureThresholdBreached",
        "locations": [],
    } in results


def test_broken_references_and_unreachable_state(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    missing = unique("Missing")
    definition = motor_definition(input_name)
    definition["states"].append(
        {
            "stateName": "Orphan",
            "onEnter": {
                "events": [
                    {
                        "eventName": "look",
                        "condition": f'timeout("neverSet") && $variable.ghost > 3 && '
                        f"$input.{missing}.level > 1 && "
                        f"$input.{input_name}.sensorData.flow > 2",
                    }
                ]
            },
        }
    )
    results = _results(iotevents, definition)
    where = [{"path": "states[2].onEnter.events[0].condition"}]
    expected = [
        {
            "type": "structure",
            "level": "WARNING",
            "message": "A state in your detector model is unreachable. Check the condition that "
            "will cause a transition to the desired state.",
            "locations": [{"path": "states[2]"}],
        },
        {
            "type": "referenced-data",
            "level": "WARNING",
            "message": "Detected broken Timer: timer neverSet is used in an expression but is "
            "never set.",
            "locations": where,
        },
        {
            "type": "referenced-data",
            "level": "WARNING",
            "message": "Detected broken Variable: variable ghost is used in an expression but is "
            "never set.",
            "locations": where,
        },
        {
            "type": "referenced-resource",
            "level": "ERROR",
            "message": f"Detector Model Definition contains reference to Input '{missing}' that "
            "does not exist.",
            "locations": where,
        },
        {
            "type": "referenced-resource",
            "level": "WARNING",
            "message": f"Detector Model Definition reads attribute 'sensorData.flow' of Input "
            f"'{input_name}', which the input does not define: it will always be undefined.",
            "locations": where,
        },
    ]
    for result in expected:
        assert result in results
    assert len(_by_level(results, "ERROR")) == 1


def test_structure_and_syntax_errors_are_located_by_index(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    definition = motor_definition(input_name)
    definition["initialStateName"] = "Nowhere"
    definition["states"][1]["onInput"]["events"][1]["condition"] = "$variable.x >"
    definition["states"][1]["onInput"]["transitionEvents"][0]["nextState"] = "Gone"
    definition["states"][0]["onEnter"]["events"][0]["actions"].append(
        {"setTimer": {"timerName": "t", "seconds": 90, "durationExpression": "90"}}
    )
    results = _results(iotevents, definition)
    errors = {
        (r["type"], r["locations"][0]["path"] if r["locations"] else "")
        for r in results
        if r["level"] == "ERROR"
    }
    assert errors == {
        ("structure", "initialStateName"),
        ("expression-syntax", "states[1].onInput.events[1].condition"),
        ("structure", "states[1].onInput.transitionEvents[0].nextState"),
        ("structure", "states[0].onEnter.events[0].actions[1].setTimer"),
    }
    syntax = next(r for r in results if r["type"] == "expression-syntax")
    assert syntax["message"] == (
        "Failed to parse expression '$variable.x >' for condition. Syntax error at line 1, "
        "column 14: unexpected end of expression"
    )


def test_type_conflicts_across_the_model(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    definition = motor_definition(input_name)
    # pressureThresholdBreached is a number everywhere else.
    definition["states"][1]["onInput"]["events"][0]["actions"][0]["setVariable"]["value"] = (
        "'three'"
    )
    definition["states"][0]["onEnter"]["events"].append(
        {
            "eventName": "mixed",
            "condition": f"$input.{input_name}.motorid == 'A' && $input.{input_name}.motorid > 5",
        }
    )
    results = _results(iotevents, definition)
    assert {
        "type": "data-type",
        "level": "WARNING",
        "message": "Incompatible data types [Integer, String] used with "
        "$variable.pressureThresholdBreached. This may lead to a runtime error.",
        "locations": [{"path": "states[0].onEnter.events[0].actions[0].setVariable.value"}],
    } in results
    condition = f"$input.{input_name}.motorid == 'A' && $input.{input_name}.motorid > 5"
    assert {
        "type": "data-type",
        "level": "ERROR",
        "message": f"Incompatible data types [Integer, String] found for "
        f"$input.{input_name}.motorid in the following expression: {condition}",
        "locations": [{"path": "states[0].onEnter.events[1].condition"}],
    } in results


def test_unreachable_action_and_timer_advice(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    definition = motor_definition(input_name)
    normal = definition["states"][0]
    normal["onEnter"]["events"].append(
        {
            "eventName": "never",
            "condition": "1 > 2",
            "actions": [{"setVariable": {"variableName": "x", "value": "1"}}],
        }
    )
    normal["onEnter"]["events"].append(
        {
            "eventName": "arm",
            "actions": [{"setTimer": {"timerName": "awake", "seconds": 60}}],
        }
    )
    normal["onInput"]["events"] = [
        {
            "eventName": "tick",
            "condition": 'timeout("awake")',
            "actions": [
                {"resetTimer": {"timerName": "awake"}},
                {"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:t"}},
            ],
        }
    ]
    results = _results(iotevents, definition)
    messages = {(r["message"], r["locations"][0]["path"]) for r in results if r["locations"]}
    assert (
        "An action in your detector model is unreachable. Check the condition that initiates the "
        "action.",
        "states[0].onEnter.events[1].condition",
    ) in messages
    assert (
        "An expiring timer can cause an unexpected amount of messages to be sent.",
        "states[0].onInput.events[0].condition",
    ) in messages
    timer_reads = [m for m, _ in messages if m.startswith("An input attribute is being read")]
    assert len(timer_reads) == 4  # every onInput condition that reads the input, unguarded


def test_results_are_paginated(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    definition = motor_definition(input_name)
    definition["states"] += [{"stateName": f"Orphan{i}"} for i in range(5)]
    analysis_id = iotevents.start_detector_model_analysis(detectorModelDefinition=definition)[
        "analysisId"
    ]
    everything = iotevents.get_detector_model_analysis_results(analysisId=analysis_id)[
        "analysisResults"
    ]
    assert len(everything) >= 7
    paged: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"analysisId": analysis_id, "maxResults": 2}
    while True:
        page = iotevents.get_detector_model_analysis_results(**kwargs)
        assert len(page["analysisResults"]) <= 2
        paged += page["analysisResults"]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert paged == everything


def test_unknown_analysis_is_not_found(iotevents: Any) -> None:
    for call in (
        iotevents.describe_detector_model_analysis,
        iotevents.get_detector_model_analysis_results,
    ):
        with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
            call(analysisId="c1133390-14e3-4204-9a66-31efd92a4fed")
        assert error_of(caught)[2] == 404


def test_analysis_is_private_to_the_account(server: Any, iotevents: Any) -> None:
    from tests.events.test_control_support import other_account_client

    input_name = create_pressure_input(iotevents)
    analysis_id = iotevents.start_detector_model_analysis(
        detectorModelDefinition=motor_definition(input_name)
    )["analysisId"]
    other = other_account_client(server)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.describe_detector_model_analysis(analysisId=analysis_id)
