"""Input routing: which models an input feeds, over HTTP and through the runtime's catalog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.events.test_control_support import (
    ACCOUNT,
    ROLE_ARN,
    create_motor_model,
    create_pressure_input,
    error_of,
    motor_definition,
    regional_client,
    unique,
)
from thinghub.store import ResourceStore, Scope, create_engine, default_database_url


def _routings(client: Any, input_name: str, **kwargs: Any) -> list[dict[str, str]]:
    response = client.list_input_routings(
        inputIdentifier={"iotEventsInputIdentifier": {"inputName": input_name}}, **kwargs
    )
    return list(response["routedResources"])


def _two_input_definition(first: str, second: str) -> dict[str, Any]:
    definition = motor_definition(first)
    definition["states"][1]["onInput"]["events"].append(
        {
            "eventName": "command",
            "condition": f'currentInput("{second}")',
            "actions": [
                {"setVariable": {"variableName": "pressureThresholdBreached", "value": "0"}}
            ],
        }
    )
    return definition


def test_a_model_routes_every_input_it_references(iotevents: Any) -> None:
    pressure = create_pressure_input(iotevents)
    command = create_pressure_input(iotevents)
    unused = create_pressure_input(iotevents)
    model = create_motor_model(
        iotevents, pressure, definition=_two_input_definition(pressure, command)
    )
    routed = {"name": model["detectorModelName"], "arn": model["detectorModelArn"]}
    assert _routings(iotevents, pressure) == [routed]
    assert _routings(iotevents, command) == [routed]
    assert _routings(iotevents, unused) == []


def test_routing_follows_the_active_version(iotevents: Any) -> None:
    pressure = create_pressure_input(iotevents)
    command = create_pressure_input(iotevents)
    name = create_motor_model(
        iotevents, pressure, definition=_two_input_definition(pressure, command)
    )["detectorModelName"]
    iotevents.update_detector_model(
        detectorModelName=name, detectorModelDefinition=motor_definition(pressure), roleArn=ROLE_ARN
    )
    assert _routings(iotevents, command) == []
    iotevents.delete_input(inputName=command)  # no longer in use
    assert [r["name"] for r in _routings(iotevents, pressure)] == [name]
    iotevents.delete_detector_model(detectorModelName=name)
    assert _routings(iotevents, pressure) == []


def test_list_input_routings_pages(server: RunningServer) -> None:
    client = regional_client(server)
    pressure = create_pressure_input(client)
    names = [
        create_motor_model(client, pressure, name=f"m{i}")["detectorModelName"] for i in range(3)
    ]
    first = client.list_input_routings(
        inputIdentifier={"iotEventsInputIdentifier": {"inputName": pressure}}, maxResults=2
    )
    second = client.list_input_routings(
        inputIdentifier={"iotEventsInputIdentifier": {"inputName": pressure}},
        maxResults=2,
        nextToken=first["nextToken"],
    )
    assert [r["name"] for r in first["routedResources"] + second["routedResources"]] == names
    assert "nextToken" not in second


def test_unknown_input_has_no_routings(iotevents: Any) -> None:
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
        _routings(iotevents, unique("Nothing"))
    assert error_of(caught)[2] == 404


def test_sitewise_properties_route_nothing(iotevents: Any) -> None:
    response = iotevents.list_input_routings(
        inputIdentifier={
            "iotSiteWiseInputIdentifier": {
                "iotSiteWiseAssetModelPropertyIdentifier": {"assetModelId": "a", "propertyId": "p"}
            }
        }
    )
    assert response["routedResources"] == []


def test_an_input_feeds_at_most_ten_models(server: RunningServer) -> None:
    client = regional_client(server)
    pressure = create_pressure_input(client)
    for i in range(10):
        create_motor_model(client, pressure, name=f"m{i}")
    with pytest.raises(client.exceptions.LimitExceededException) as caught:
        create_motor_model(client, pressure, name="m10")
    _code, message, status = error_of(caught)
    assert status == 410 and pressure in message
    # Updating one of the ten keeps its route and is fine.
    client.update_detector_model(
        detectorModelName="m3", detectorModelDefinition=motor_definition(pressure), roleArn=ROLE_ARN
    )


@pytest.fixture(scope="module")
def store(server: RunningServer) -> Iterator[ResourceStore]:
    """The server's own database, read the way the detector runtime reads it."""
    engine = create_engine(default_database_url(server.data_dir))
    opened = ResourceStore(engine)
    yield opened
    opened.close()
    engine.dispose()


def test_catalog_gives_the_runtime_what_it_needs(iotevents: Any, store: ResourceStore) -> None:
    from thinghub.events.control import catalog

    scope = Scope(ACCOUNT, "us-east-1")
    pressure = create_pressure_input(iotevents)
    command = create_pressure_input(iotevents)
    definition = _two_input_definition(pressure, command)
    created = create_motor_model(
        iotevents, pressure, definition=definition, evaluationMethod="SERIAL"
    )
    name = created["detectorModelName"]

    assert catalog.detector_models_for_input(store, scope, pressure) == [name]
    assert catalog.detector_models_for_input(store, scope, command) == [name]
    assert catalog.detector_models_for_input(store, scope, unique("Nothing")) == []
    assert catalog.input_exists(store, scope, pressure)
    assert not catalog.input_exists(store, scope, unique("Nothing"))
    assert catalog.input_definition(store, scope, pressure) == {
        "attributes": [{"jsonPath": "sensorData.pressure"}, {"jsonPath": "motorid"}]
    }

    active = catalog.active_detector_model(store, scope, name)
    assert isinstance(active, catalog.DetectorModelVersion)
    assert (active.name, active.version, active.arn, active.key) == (
        name,
        "1",
        created["detectorModelArn"],
        "motorid",
    )
    assert (active.evaluation_method, active.role_arn) == ("SERIAL", ROLE_ARN)
    assert active.definition == definition
    assert active.created_at == pytest.approx(created["creationTime"].timestamp(), abs=0.001)
    assert active.updated_at == active.created_at
    iotevents.update_detector_model(
        detectorModelName=name, detectorModelDefinition=motor_definition(pressure), roleArn=ROLE_ARN
    )
    active = catalog.active_detector_model(store, scope, name)
    assert active is not None
    assert (active.version, active.key, active.evaluation_method) == ("2", "motorid", "SERIAL")
    assert catalog.detector_models_for_input(store, scope, command) == []
    iotevents.delete_detector_model(detectorModelName=name)
    assert catalog.active_detector_model(store, scope, name) is None
    assert catalog.detector_models_for_input(store, scope, pressure) == []
    # Another account's scope sees none of it.
    assert not catalog.input_exists(store, Scope("111111111111", "us-east-1"), pressure)
