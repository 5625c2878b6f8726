"""Detector models over HTTP with stock boto3: create, versions, describe, list, delete."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.events.test_control_support import (
    ACCOUNT,
    ROLE_ARN,
    advance_clock,
    create_motor_model,
    create_pressure_input,
    error_of,
    motor_definition,
    other_account_client,
    regional_client,
    unique,
)


def test_create_answers_activating_version_1(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    name = unique("motorDetectorModel")
    response = iotevents.create_detector_model(
        detectorModelName=name,
        detectorModelDescription="Detect overpressure in a motor.",
        detectorModelDefinition=motor_definition(input_name),
        key="motorid",
        roleArn=ROLE_ARN,
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    configuration = response["detectorModelConfiguration"]
    assert configuration == {
        "detectorModelName": name,
        "detectorModelVersion": "1",
        "detectorModelDescription": "Detect overpressure in a motor.",
        "detectorModelArn": f"arn:aws:iotevents:us-east-1:{ACCOUNT}:detectorModel/{name}",
        "roleArn": ROLE_ARN,
        "creationTime": configuration["creationTime"],
        "lastUpdateTime": configuration["creationTime"],
        "status": "ACTIVATING",
        "key": "motorid",
        "evaluationMethod": "BATCH",
    }


def test_describe_shows_active_model_and_the_definition_as_given(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    created = create_motor_model(iotevents, input_name, evaluationMethod="SERIAL")
    name = created["detectorModelName"]
    model = iotevents.describe_detector_model(detectorModelName=name)["detectorModel"]
    assert model["detectorModelConfiguration"] == {**created, "status": "ACTIVE"}
    assert model["detectorModelConfiguration"]["evaluationMethod"] == "SERIAL"
    assert model["detectorModelDefinition"] == motor_definition(input_name)


def test_update_makes_a_new_version_and_keeps_the_key(
    server: RunningServer, iotevents: Any
) -> None:
    input_name = create_pressure_input(iotevents)
    first = create_motor_model(iotevents, input_name)
    name = first["detectorModelName"]
    advance_clock(server, 1)
    definition = motor_definition(input_name)
    definition["states"][0]["onInput"]["transitionEvents"][0]["condition"] = (
        f"$input.{input_name}.sensorData.pressure > 80"
    )
    updated = iotevents.update_detector_model(
        detectorModelName=name,
        detectorModelDefinition=definition,
        roleArn=ROLE_ARN + "2",
        evaluationMethod="SERIAL",
    )["detectorModelConfiguration"]
    assert updated["detectorModelVersion"] == "2"
    assert updated["status"] == "ACTIVATING"
    assert updated["key"] == "motorid"
    assert updated["roleArn"] == ROLE_ARN + "2"
    assert updated["evaluationMethod"] == "SERIAL"
    # A version's creationTime is its own; it equals its lastUpdateTime.
    assert updated["creationTime"] == updated["lastUpdateTime"] > first["creationTime"]

    latest = iotevents.describe_detector_model(detectorModelName=name)["detectorModel"]
    assert latest["detectorModelConfiguration"]["detectorModelVersion"] == "2"
    assert latest["detectorModelConfiguration"]["status"] == "ACTIVE"
    assert latest["detectorModelDefinition"] == definition

    old = iotevents.describe_detector_model(detectorModelName=name, detectorModelVersion="1")
    old_configuration = old["detectorModel"]["detectorModelConfiguration"]
    assert old_configuration["detectorModelVersion"] == "1"
    assert old_configuration["status"] == "DEPRECATED"
    assert old_configuration["roleArn"] == ROLE_ARN
    assert old["detectorModel"]["detectorModelDefinition"] == motor_definition(input_name)

    versions = iotevents.list_detector_model_versions(detectorModelName=name)
    summaries = versions["detectorModelVersionSummaries"]
    assert [(s["detectorModelVersion"], s["status"]) for s in summaries] == [
        ("1", "DEPRECATED"),
        ("2", "ACTIVE"),
    ]
    assert set(summaries[1]) == {
        "detectorModelName",
        "detectorModelVersion",
        "detectorModelArn",
        "roleArn",
        "creationTime",
        "lastUpdateTime",
        "status",
        "evaluationMethod",
    }


def test_update_without_evaluation_method_keeps_the_previous_one(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    name = create_motor_model(
        iotevents, input_name, evaluationMethod="SERIAL", detectorModelDescription="motor"
    )["detectorModelName"]
    updated = iotevents.update_detector_model(
        detectorModelName=name,
        detectorModelDefinition=motor_definition(input_name),
        roleArn=ROLE_ARN,
    )["detectorModelConfiguration"]
    assert updated["evaluationMethod"] == "SERIAL"
    assert updated["detectorModelDescription"] == "motor"


def test_model_without_key_has_none(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    name = unique("keyless")
    configuration = iotevents.create_detector_model(
        detectorModelName=name,
        detectorModelDefinition=motor_definition(input_name),
        roleArn=ROLE_ARN,
    )["detectorModelConfiguration"]
    assert "key" not in configuration
    updated = iotevents.update_detector_model(
        detectorModelName=name,
        detectorModelDefinition=motor_definition(input_name),
        roleArn=ROLE_ARN,
    )["detectorModelConfiguration"]
    assert "key" not in updated


def test_duplicate_model_name_already_exists(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    name = create_motor_model(iotevents, input_name)["detectorModelName"]
    with pytest.raises(iotevents.exceptions.ResourceAlreadyExistsException) as caught:
        create_motor_model(iotevents, input_name, name=name)
    _code, message, status = error_of(caught)
    assert status == 409 and name in message
    assert caught.value.response["resourceId"] == name
    assert caught.value.response["resourceArn"].endswith(f":detectorModel/{name}")
    # The failed create did not add a version.
    summaries = iotevents.list_detector_model_versions(detectorModelName=name)
    assert len(summaries["detectorModelVersionSummaries"]) == 1


def test_unknown_model_and_version_are_not_found(iotevents: Any) -> None:
    name = unique("nothing")
    input_name = create_pressure_input(iotevents)
    calls = (
        lambda: iotevents.describe_detector_model(detectorModelName=name),
        lambda: iotevents.delete_detector_model(detectorModelName=name),
        lambda: iotevents.list_detector_model_versions(detectorModelName=name),
        lambda: iotevents.update_detector_model(
            detectorModelName=name,
            detectorModelDefinition=motor_definition(input_name),
            roleArn=ROLE_ARN,
        ),
    )
    for call in calls:
        with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
            call()
        _code, message, status = error_of(caught)
        assert status == 404 and name in message
    existing = create_motor_model(iotevents, input_name)["detectorModelName"]
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
        iotevents.describe_detector_model(detectorModelName=existing, detectorModelVersion="7")
    assert "7" in error_of(caught)[1]


def test_delete_removes_the_model_and_every_version(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    name = create_motor_model(iotevents, input_name)["detectorModelName"]
    iotevents.update_detector_model(
        detectorModelName=name,
        detectorModelDefinition=motor_definition(input_name),
        roleArn=ROLE_ARN,
    )
    deleted = iotevents.delete_detector_model(detectorModelName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException):
        iotevents.describe_detector_model(detectorModelName=name, detectorModelVersion="1")
    # The name is free again and starts over at version 1.
    again = create_motor_model(iotevents, input_name, name=name)
    assert again["detectorModelVersion"] == "1"
    versions = iotevents.list_detector_model_versions(detectorModelName=name)
    assert [v["detectorModelVersion"] for v in versions["detectorModelVersionSummaries"]] == ["1"]


def test_list_detector_models_pages(server: RunningServer) -> None:
    client = regional_client(server)
    input_name = create_pressure_input(client)
    names = [
        create_motor_model(client, input_name, name=f"m{i}", detectorModelDescription=f"d{i}")[
            "detectorModelName"
        ]
        for i in range(5)
    ]
    everything = client.list_detector_models()["detectorModelSummaries"]
    assert [s["detectorModelName"] for s in everything] == names
    assert set(everything[0]) == {"detectorModelName", "detectorModelDescription", "creationTime"}
    assert everything[0]["detectorModelDescription"] == "d0"
    seen: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 2}
    while True:
        page = client.list_detector_models(**kwargs)
        seen += [s["detectorModelName"] for s in page["detectorModelSummaries"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert seen == names


def test_list_versions_pages(server: RunningServer) -> None:
    client = regional_client(server)
    input_name = create_pressure_input(client)
    name = create_motor_model(client, input_name)["detectorModelName"]
    for _ in range(3):
        client.update_detector_model(
            detectorModelName=name,
            detectorModelDefinition=motor_definition(input_name),
            roleArn=ROLE_ARN,
        )
    first = client.list_detector_model_versions(detectorModelName=name, maxResults=3)
    second = client.list_detector_model_versions(
        detectorModelName=name, maxResults=3, nextToken=first["nextToken"]
    )
    versions = [
        v["detectorModelVersion"]
        for page in (first, second)
        for v in page["detectorModelVersionSummaries"]
    ]
    assert versions == ["1", "2", "3", "4"]
    assert "nextToken" not in second


def test_accounts_cannot_see_each_others_models(server: RunningServer, iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    name = create_motor_model(iotevents, input_name)["detectorModelName"]
    other = other_account_client(server)
    for call in (
        lambda: other.describe_detector_model(detectorModelName=name),
        lambda: other.delete_detector_model(detectorModelName=name),
        lambda: other.list_detector_model_versions(detectorModelName=name),
    ):
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            call()
    listed = other.list_detector_models()["detectorModelSummaries"]
    assert name not in [s["detectorModelName"] for s in listed]
    # The other account has no such input, so it cannot route a model to it either.
    with pytest.raises(other.exceptions.InvalidRequestException) as caught:
        create_motor_model(other, input_name)
    assert f"Input '{input_name}' that does not exist" in error_of(caught)[1]
    assert iotevents.describe_detector_model(detectorModelName=name)["detectorModel"]


def test_definition_is_echoed_exactly_as_given(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    definition = copy.deepcopy(motor_definition(input_name))
    definition["states"][0]["onExit"] = {"events": []}
    definition["states"][0]["onInput"]["events"] = []
    name = create_motor_model(iotevents, input_name, definition=definition)["detectorModelName"]
    described = iotevents.describe_detector_model(detectorModelName=name)["detectorModel"]
    assert described["detectorModelDefinition"] == definition
