"""IoT Events inputs over HTTP with stock boto3: CRUD, errors, paging, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunningServer, make_client
from tests.events.test_control_support import (
    ACCOUNT,
    PRESSURE_INPUT_DEFINITION,
    advance_clock,
    create_motor_model,
    create_pressure_input,
    error_of,
    other_account_client,
    regional_client,
    unique,
)


def test_create_describe_update_delete_input(server: RunningServer, iotevents: Any) -> None:
    name = unique("PressureInput")
    created = iotevents.create_input(
        inputName=name,
        inputDescription="Pressure readings from a motor",
        inputDefinition=PRESSURE_INPUT_DEFINITION,
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    configuration = created["inputConfiguration"]
    arn = f"arn:aws:iotevents:us-east-1:{ACCOUNT}:input/{name}"
    assert configuration["inputName"] == name
    assert configuration["inputArn"] == arn
    assert configuration["inputDescription"] == "Pressure readings from a motor"
    assert configuration["status"] == "ACTIVE"
    assert configuration["creationTime"] == configuration["lastUpdateTime"]

    described = iotevents.describe_input(inputName=name)["input"]
    assert described["inputConfiguration"] == configuration
    assert described["inputDefinition"] == PRESSURE_INPUT_DEFINITION

    advance_clock(server, 1)
    updated = iotevents.update_input(
        inputName=name,
        inputDescription="Pressure and temperature",
        inputDefinition={"attributes": [{"jsonPath": "sensorData.temperature"}]},
    )["inputConfiguration"]
    assert updated["inputDescription"] == "Pressure and temperature"
    assert updated["creationTime"] == configuration["creationTime"]
    assert updated["lastUpdateTime"] > configuration["lastUpdateTime"]
    described = iotevents.describe_input(inputName=name)["input"]
    assert described["inputDefinition"] == {"attributes": [{"jsonPath": "sensorData.temperature"}]}

    deleted = iotevents.delete_input(inputName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException):
        iotevents.describe_input(inputName=name)


def test_update_replaces_the_description(iotevents: Any) -> None:
    name = create_pressure_input(iotevents)
    iotevents.update_input(inputName=name, inputDefinition=PRESSURE_INPUT_DEFINITION)
    configuration = iotevents.describe_input(inputName=name)["input"]["inputConfiguration"]
    assert "inputDescription" not in configuration


def test_duplicate_input_name_already_exists(iotevents: Any) -> None:
    name = create_pressure_input(iotevents)
    with pytest.raises(iotevents.exceptions.ResourceAlreadyExistsException) as caught:
        create_pressure_input(iotevents, name)
    _code, message, status = error_of(caught)
    assert status == 409
    assert name in message
    assert caught.value.response["resourceId"] == name
    assert caught.value.response["resourceArn"] == (
        f"arn:aws:iotevents:us-east-1:{ACCOUNT}:input/{name}"
    )


def test_unknown_input_is_not_found_everywhere(iotevents: Any) -> None:
    name = unique("Nothing")
    calls = (
        lambda: iotevents.describe_input(inputName=name),
        lambda: iotevents.update_input(inputName=name, inputDefinition=PRESSURE_INPUT_DEFINITION),
        lambda: iotevents.delete_input(inputName=name),
    )
    for call in calls:
        with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
            call()
        _code, message, status = error_of(caught)
        assert status == 404 and name in message


def test_input_routed_by_a_detector_model_cannot_be_deleted(iotevents: Any) -> None:
    name = create_pressure_input(iotevents)
    model = create_motor_model(iotevents, name)["detectorModelName"]
    with pytest.raises(iotevents.exceptions.ResourceInUseException) as caught:
        iotevents.delete_input(inputName=name)
    _code, message, status = error_of(caught)
    assert status == 409
    assert model in message
    # Updating a routed input stays allowed.
    iotevents.update_input(inputName=name, inputDefinition=PRESSURE_INPUT_DEFINITION)
    iotevents.delete_detector_model(detectorModelName=model)
    iotevents.delete_input(inputName=name)


def test_list_inputs_pages_through_every_input_once(server: RunningServer) -> None:
    client = regional_client(server)
    created = [create_pressure_input(client, f"Input{i}") for i in range(5)]
    listed = client.list_inputs()["inputSummaries"]
    assert [s["inputName"] for s in listed] == created
    assert set(listed[0]) == {
        "inputName",
        "inputDescription",
        "inputArn",
        "creationTime",
        "lastUpdateTime",
        "status",
    }
    seen: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 2}
    pages = 0
    while True:
        page = client.list_inputs(**kwargs)
        pages += 1
        seen += [s["inputName"] for s in page["inputSummaries"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert (seen, pages) == (created, 3)


@pytest.mark.parametrize("max_results", [0, 251])
def test_max_results_out_of_range_is_invalid(server: RunningServer, max_results: int) -> None:
    client = make_client(server, "iotevents", validate=False)
    with pytest.raises(client.exceptions.InvalidRequestException) as caught:
        client.list_inputs(maxResults=max_results)
    _code, message, status = error_of(caught)
    assert status == 400
    assert "'maxResults'" in message


def test_forged_next_token_is_invalid(server: RunningServer) -> None:
    client = regional_client(server)
    for i in range(3):
        create_pressure_input(client, f"Input{i}")
    token = client.list_inputs(maxResults=1)["nextToken"]
    with pytest.raises(client.exceptions.InvalidRequestException):
        client.list_inputs(
            maxResults=1, nextToken=token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        )


def test_tags_given_at_creation_are_listed(iotevents: Any) -> None:
    name = create_pressure_input(iotevents, tags=[{"key": "site", "value": "Fulton"}])
    arn = iotevents.describe_input(inputName=name)["input"]["inputConfiguration"]["inputArn"]
    assert iotevents.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "site", "value": "Fulton"}
    ]


def test_accounts_cannot_see_each_others_inputs(server: RunningServer, iotevents: Any) -> None:
    name = create_pressure_input(iotevents)
    other = other_account_client(server)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.describe_input(inputName=name)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_input(inputName=name)
    assert name not in [s["inputName"] for s in other.list_inputs()["inputSummaries"]]
    # The other account may use the same name for its own input.
    other_arn = other.create_input(inputName=name, inputDefinition=PRESSURE_INPUT_DEFINITION)[
        "inputConfiguration"
    ]["inputArn"]
    assert other_arn == f"arn:aws:iotevents:us-east-1:111111111111:input/{name}"
    assert iotevents.describe_input(inputName=name)["input"]["inputConfiguration"]["inputArn"] == (
        f"arn:aws:iotevents:us-east-1:{ACCOUNT}:input/{name}"
    )
