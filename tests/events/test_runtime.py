"""The detector runtime over HTTP with stock boto3: messages in, states, variables, timers out."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.events.motor import motor_model, pressure_input, reading

SNS = "arn:aws:sns:us-east-1:123456789012:"


def _names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"Pressure_{suffix}", f"motor_{suffix}"


@pytest.fixture
def motor(iotevents: Any) -> tuple[str, str]:
    input_name, model = _names()
    iotevents.create_input(**pressure_input(input_name))
    iotevents.create_detector_model(
        **motor_model(model, input_name, SNS + "underPressureAction", SNS + "pressureCleared")
    )
    return input_name, model


def _state(data: Any, model: str, key: str) -> tuple[str, dict[str, str]]:
    detector = data.describe_detector(detectorModelName=model, keyValue=key)["detector"]
    variables = {v["name"]: v["value"] for v in detector["state"]["variables"]}
    return detector["state"]["stateName"], variables


def test_motor_example_walkthrough(iotevents_data: Any, motor: tuple[str, str]) -> None:
    input_name, model = motor
    answer = iotevents_data.batch_put_message(
        messages=[reading("00001", input_name, "Fulton-A32", 80)]
    )
    assert answer["BatchPutMessageErrorEntries"] == []
    # init ran on creation (0), then the same message crossed the threshold: 0 + 3.
    assert _state(iotevents_data, model, "Fulton-A32") == (
        "Dangerous",
        {"pressureThresholdBreached": "3"},
    )
    # Three readings back under 70: BATCH conditions see the value from before each message.
    for number, expected in ((2, "2"), (3, "1")):
        iotevents_data.batch_put_message(
            messages=[reading(f"0000{number}", input_name, "Fulton-A32", 60)]
        )
        assert _state(iotevents_data, model, "Fulton-A32") == (
            "Dangerous",
            {"pressureThresholdBreached": expected},
        )
    iotevents_data.batch_put_message(messages=[reading("00004", input_name, "Fulton-A32", 60)])
    assert _state(iotevents_data, model, "Fulton-A32") == (
        "Normal",
        {"pressureThresholdBreached": "0"},
    )


def test_one_detector_per_key_and_state_filter(iotevents_data: Any, motor: tuple[str, str]) -> None:
    input_name, model = motor
    iotevents_data.batch_put_message(
        messages=[
            reading("a1", input_name, "m1", 80),
            reading("a2", input_name, "m2", 10),
            reading("a3", input_name, "m3", 90),
        ]
    )
    listed = iotevents_data.list_detectors(detectorModelName=model)["detectorSummaries"]
    assert {d["keyValue"]: d["state"]["stateName"] for d in listed} == {
        "m1": "Dangerous",
        "m2": "Normal",
        "m3": "Dangerous",
    }
    dangerous = iotevents_data.list_detectors(detectorModelName=model, stateName="Dangerous")
    assert sorted(d["keyValue"] for d in dangerous["detectorSummaries"]) == ["m1", "m3"]
    page = iotevents_data.list_detectors(detectorModelName=model, maxResults=2)
    rest = iotevents_data.list_detectors(detectorModelName=model, nextToken=page["nextToken"])
    keys = [d["keyValue"] for d in page["detectorSummaries"] + rest["detectorSummaries"]]
    assert keys == ["m1", "m2", "m3"]


def test_duplicate_message_id_is_processed_once(
    iotevents_data: Any, motor: tuple[str, str]
) -> None:
    input_name, model = motor
    iotevents_data.batch_put_message(messages=[reading("dup", input_name, "d1", 80)])
    iotevents_data.batch_put_message(messages=[reading("dup2", input_name, "d1", 60)])
    assert _state(iotevents_data, model, "d1")[1] == {"pressureThresholdBreached": "2"}
    iotevents_data.batch_put_message(messages=[reading("dup2", input_name, "d1", 60)])
    assert _state(iotevents_data, model, "d1")[1] == {"pressureThresholdBreached": "2"}


def test_unknown_input_and_bad_payload_are_entry_errors(
    iotevents_data: Any, motor: tuple[str, str]
) -> None:
    input_name, _ = motor
    answer = iotevents_data.batch_put_message(
        messages=[
            {"messageId": "e1", "inputName": "NoSuchInput", "payload": b"{}"},
            {"messageId": "e2", "inputName": input_name, "payload": b"{not json"},
            reading("e3", input_name, "ok", 10),
        ]
    )
    errors = {e["messageId"]: e["errorCode"] for e in answer["BatchPutMessageErrorEntries"]}
    assert errors == {"e1": "ResourceNotFoundException", "e2": "InvalidRequestException"}


def test_repeated_message_id_in_one_request_is_rejected(
    iotevents_data: Any, motor: tuple[str, str]
) -> None:
    input_name, _ = motor
    with pytest.raises(iotevents_data.exceptions.InvalidRequestException):
        iotevents_data.batch_put_message(
            messages=[reading("same", input_name, "x", 1), reading("same", input_name, "y", 2)]
        )


def test_batch_update_sets_state_variables_and_timers_without_events(
    iotevents_data: Any, motor: tuple[str, str], server: RunningServer
) -> None:
    input_name, model = motor
    iotevents_data.batch_put_message(messages=[reading("u1", input_name, "u", 80)])
    answer = iotevents_data.batch_update_detector(
        detectors=[
            {
                "messageId": "upd",
                "detectorModelName": model,
                "keyValue": "u",
                "state": {
                    "stateName": "Normal",
                    "variables": [
                        {"name": "pressureThresholdBreached", "value": "7"},
                        {"name": "note", "value": '"hand set"'},
                    ],
                    "timers": [{"name": "check", "seconds": 120}],
                },
            }
        ]
    )
    assert answer["batchUpdateDetectorErrorEntries"] == []
    detector = iotevents_data.describe_detector(detectorModelName=model, keyValue="u")["detector"]
    assert detector["state"]["stateName"] == "Normal"  # Normal's onEnter did not reset it
    assert {v["name"]: v["value"] for v in detector["state"]["variables"]} == {
        "pressureThresholdBreached": "7",
        "note": '"hand set"',
    }
    now = httpx.get(f"{server.url}/_thinghub/clock").json()["epochSeconds"]
    (timer,) = detector["state"]["timers"]
    assert timer["name"] == "check"
    assert timer["timestamp"].timestamp() == pytest.approx(now + 120, abs=2)


def test_batch_update_and_delete_report_unknown_detectors(
    iotevents_data: Any, motor: tuple[str, str]
) -> None:
    _, model = motor
    state = {"stateName": "Normal", "variables": [], "timers": []}
    updated = iotevents_data.batch_update_detector(
        detectors=[
            {"messageId": "x1", "detectorModelName": model, "keyValue": "ghost", "state": state},
            {
                "messageId": "x2",
                "detectorModelName": "NoSuchModel",
                "keyValue": "k",
                "state": state,
            },
        ]
    )
    codes = {e["messageId"]: e["errorCode"] for e in updated["batchUpdateDetectorErrorEntries"]}
    assert codes == {"x1": "ResourceNotFoundException", "x2": "ResourceNotFoundException"}
    deleted = iotevents_data.batch_delete_detector(
        detectors=[{"messageId": "d1", "detectorModelName": model, "keyValue": "ghost"}]
    )
    assert deleted["batchDeleteDetectorErrorEntries"][0]["errorCode"] == (
        "ResourceNotFoundException"
    )


def test_deleted_detector_starts_afresh(iotevents_data: Any, motor: tuple[str, str]) -> None:
    input_name, model = motor
    iotevents_data.batch_put_message(messages=[reading("r1", input_name, "r", 80)])
    iotevents_data.batch_delete_detector(
        detectors=[{"messageId": "del", "detectorModelName": model, "keyValue": "r"}]
    )
    with pytest.raises(iotevents_data.exceptions.ResourceNotFoundException):
        iotevents_data.describe_detector(detectorModelName=model, keyValue="r")
    iotevents_data.batch_put_message(messages=[reading("r2", input_name, "r", 10)])
    assert _state(iotevents_data, model, "r") == ("Normal", {"pressureThresholdBreached": "0"})


def test_model_update_drops_old_detectors(
    iotevents: Any, iotevents_data: Any, motor: tuple[str, str]
) -> None:
    input_name, model = motor
    iotevents_data.batch_put_message(messages=[reading("v1", input_name, "v", 80)])
    definition = iotevents.describe_detector_model(detectorModelName=model)["detectorModel"]
    iotevents.update_detector_model(
        detectorModelName=model,
        detectorModelDefinition=definition["detectorModelDefinition"],
        roleArn=definition["detectorModelConfiguration"]["roleArn"],
    )
    assert iotevents_data.list_detectors(detectorModelName=model)["detectorSummaries"] == []
    iotevents_data.batch_put_message(messages=[reading("v2", input_name, "v", 10)])
    detector = iotevents_data.describe_detector(detectorModelName=model, keyValue="v")["detector"]
    assert detector["detectorModelVersion"] == "2"
