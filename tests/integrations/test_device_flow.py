"""Commands, device events, device state and notifications, end to end: the Acme cloud and
its connector (a local handler), thinghub on the manual clock, and every notification record
read back from a Kinesis stream in moto_server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integrations.test_discovery_support import (
    Linked,
    LinkedHub,
    device,
    linked_hub_fixture,
)
from tests.peers import KinesisStream

hub = linked_hub_fixture(kinesis=True, command_timeout=30)

EVENT_TYPES = (
    "DEVICE_COMMAND",
    "DEVICE_COMMAND_REQUEST",
    "DEVICE_DISCOVERY_STATUS",
    "DEVICE_EVENT",
    "DEVICE_LIFE_CYCLE",
    "DEVICE_STATE",
    "ACCOUNT_ASSOCIATION",
    "CONNECTOR_ASSOCIATION",
    "CONNECTOR_ERROR_REPORT",
)
FAN = "matter.FanControl@1.4"


@dataclass
class Things:
    linked: Linked
    stream: KinesisStream
    ids: dict[str, str]  # Acme device id -> managed thing id


@pytest.fixture(scope="module")
def things(hub: LinkedHub) -> Things:
    """Notifications to a Kinesis stream for every C2C event type, then an account linked and
    its devices discovered and made managed things."""
    assert hub.moto is not None
    stream = KinesisStream(hub.moto.url, f"mi-{uuid.uuid4().hex[:8]}")
    destination = f"kinesis-{uuid.uuid4().hex[:8]}"
    hub.mi.create_destination(
        Name=destination,
        DeliveryDestinationArn=stream.arn,
        DeliveryDestinationType="KINESIS",
        RoleArn="arn:aws:iam::000000000000:role/mi-notifications",
    )
    for event_type in EVENT_TYPES:
        hub.mi.create_notification_configuration(EventType=event_type, DestinationName=destination)
    linked = hub.link("acme-connector")
    discovery = hub.mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=linked.association_id
    )["Id"]
    ids = hub.manage(discovery)
    return Things(linked, stream, ids)


def _of(documents: list[Any], message_type: str, **payload: Any) -> list[dict[str, Any]]:
    return [
        d
        for d in documents
        if d["messageType"] == message_type
        and all(d["payload"].get(key) == value for key, value in payload.items())
    ]


def _waiting_for(message_type: str, **payload: Any) -> Callable[[list[Any]], bool]:
    return lambda documents: bool(_of(documents, message_type, **payload))


def _acme_state(hub: LinkedHub, device_id: str) -> dict[str, Any]:
    answer = hub.acme.post(f"/admin/devices/{device_id}/state", json={})
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()["device"]["state"]
    return state


def _fan_command(*actions: dict[str, Any], capability: str = FAN) -> list[dict[str, Any]]:
    return [
        {
            "endpointId": "1",
            "capabilities": [
                {"id": capability, "name": "Fan Control", "version": "4", "actions": list(actions)}
            ],
        }
    ]


def _properties(state: dict[str, Any], capability: str) -> dict[str, Any]:
    for endpoint in state["Endpoints"]:
        for entry in endpoint["capabilities"]:
            if entry["id"] == capability:
                properties: dict[str, Any] = entry["properties"]
                return properties
    raise AssertionError(f"{capability} not in {state}")


# ----- the records of linking and discovery ---------------------------------------------------


def test_linking_discovery_and_things_are_notified(hub: LinkedHub, things: Things) -> None:
    association = things.linked.association_id
    documents = things.stream.wait_for(
        lambda ds: len(_of(ds, "DEVICE_LIFE_CYCLE", event="CREATED")) == len(things.ids)
    )
    states = [
        d["payload"]["associationState"]
        for d in _of(documents, "ACCOUNT_ASSOCIATION", accountAssociationId=association)
    ]
    assert states == ["ASSOCIATION_IN_PROGRESS", "ASSOCIATION_SUCCEEDED"]
    legacy = _of(documents, "CONNECTOR_ASSOCIATION", accountAssociationId=association)
    assert [d["payload"]["associationState"] for d in legacy] == states
    discovery = [
        d["payload"]["status"]
        for d in _of(documents, "DEVICE_DISCOVERY_STATUS", accountAssociationId=association)
    ]
    assert discovery == ["RUNNING", "SUCCEEDED"]
    created = _of(documents, "DEVICE_LIFE_CYCLE", event="CREATED")
    assert {d["payload"]["managedThingId"] for d in created} == set(things.ids.values())
    record = created[0]
    assert record["version"] == "1.0"
    assert record["source"] == "aws.iotmanagedintegrations"
    assert record["customerAccountId"] == "000000000000"
    assert record["region"] == "us-east-1"
    assert record["resources"] == [
        "arn:aws:iotmanagedintegrations:us-east-1:000000000000:managed-thing/"
        + record["payload"]["managedThingId"]
    ]
    assert record["payload"]["provisioningStatus"] == "ACTIVATED"
    # Partition key: the managed thing id when the record is about one.
    keys = {key for key, d in things.stream.records() if d is record or d == record}
    assert keys == {record["payload"]["managedThingId"]}


# ----- commands ---------------------------------------------------------------------------------


def test_command_round_trip_updates_device_and_state(hub: LinkedHub, things: Things) -> None:
    fan = things.ids["acme-fan-001"]
    answer = hub.mi.send_managed_thing_command(
        ManagedThingId=fan,
        Endpoints=_fan_command({"name": "UpdateState", "parameters": {"FanMode": 3}}),
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    trace_id = answer["TraceId"]

    documents = things.stream.wait_for(_waiting_for("DEVICE_COMMAND", traceId=trace_id))
    (command,) = _of(documents, "DEVICE_COMMAND", traceId=trace_id)
    assert command["payload"]["status"] == "SUCCEEDED"
    assert command["payload"]["statusCode"] == 200
    assert command["payload"]["managedThingId"] == fan
    # The vendor's device changed.
    assert _acme_state(hub, "acme-fan-001")["mode"] == "high"
    # State, by name, with the enum's name.
    fan_mode = _properties(hub.mi.get_managed_thing_state(ManagedThingId=fan), FAN)["FanMode"]
    assert fan_mode["value"] == 3
    assert fan_mode["valueName"] == "High"
    assert fan_mode["lastChangedAt"].endswith("Z")
    state = _of(documents, "DEVICE_STATE", traceId=trace_id)
    assert state, "a DEVICE_STATE record for the changed FanMode"
    changed = _properties({"Endpoints": state[0]["payload"]["endpoints"]}, FAN)
    assert changed["FanMode"]["value"] == 3


def test_named_actions_and_enum_names(hub: LinkedHub, things: Things) -> None:
    light = things.ids["acme-light-001"]
    on_off = "matter.OnOff@1.4"
    trace_id = hub.mi.send_managed_thing_command(
        ManagedThingId=light,
        Endpoints=[
            {
                "endpointId": "1",
                "capabilities": [
                    # "@$latest": whatever version the thing's report has.
                    {
                        "id": "matter.OnOff@$latest",
                        "name": "On/Off",
                        "version": "6",
                        "actions": [{"name": "On"}],
                    },
                ],
            }
        ],
    )["TraceId"]
    things.stream.wait_for(_waiting_for("DEVICE_COMMAND", traceId=trace_id))
    assert _acme_state(hub, "acme-light-001")["power"] == "on"
    on = _properties(hub.mi.get_managed_thing_state(ManagedThingId=light), on_off)["OnOff"]
    assert on["value"] is True

    fan = things.ids["acme-fan-001"]
    trace_id = hub.mi.send_managed_thing_command(
        ManagedThingId=fan,
        Endpoints=_fan_command({"name": "UpdateState", "parameters": {"FanMode": "Low"}}),
    )["TraceId"]
    things.stream.wait_for(_waiting_for("DEVICE_COMMAND", traceId=trace_id))
    assert _acme_state(hub, "acme-fan-001")["mode"] == "low"


def test_read_state_answers_from_stored_state(hub: LinkedHub, things: Things) -> None:
    fan = things.ids["acme-fan-001"]
    hub.mi.send_managed_thing_command(
        ManagedThingId=fan,
        Endpoints=_fan_command({"name": "UpdateState", "parameters": {"FanMode": 2}}),
    )
    things.stream.wait_for(
        lambda ds: any(
            d["messageType"] == "DEVICE_STATE"
            and d["payload"]["managedThingId"] == fan
            and _properties({"Endpoints": d["payload"]["endpoints"]}, FAN)["FanMode"]["value"] == 2
            for d in ds
        )
    )
    trace_id = hub.mi.send_managed_thing_command(
        ManagedThingId=fan,
        Endpoints=_fan_command(
            {"name": "ReadState", "parameters": {"propertiesToRead": ["FanMode"]}}
        ),
    )["TraceId"]
    documents = things.stream.wait_for(_waiting_for("DEVICE_COMMAND", traceId=trace_id))
    (command,) = _of(documents, "DEVICE_COMMAND", traceId=trace_id)
    assert command["payload"]["status"] == "SUCCEEDED"
    read = _properties({"Endpoints": command["payload"]["endpoints"]}, FAN)
    assert list(read) == ["FanMode"]
    assert read["FanMode"]["value"] == 2


@pytest.mark.parametrize(
    ("endpoints", "reason"),
    [
        (
            [
                {
                    "endpointId": "9",
                    "capabilities": [
                        {
                            "id": FAN,
                            "name": "Fan Control",
                            "version": "4",
                            "actions": [{"name": "UpdateState", "parameters": {"FanMode": 1}}],
                        }
                    ],
                }
            ],
            "Endpoint 9 is not an endpoint",
        ),
        (
            _fan_command({"name": "On"}, capability="matter.OnOff@1.4"),
            "Capability matter.OnOff@1.4 is not a capability of endpoint 1",
        ),
        (_fan_command({"name": "Explode"}), "Action Explode is not an action"),
        (
            _fan_command({"name": "UpdateState", "parameters": {"Speed": 1}}),
            "Property Speed is not a property",
        ),
        (_fan_command({"name": "UpdateState", "parameters": {}}), "names no property"),
        (
            _fan_command({"name": "ReadState", "parameters": {"propertiesToRead": "FanMode"}}),
            "propertiesToRead must be a list",
        ),
    ],
)
def test_invalid_commands_are_rejected_with_the_reason(
    hub: LinkedHub, things: Things, endpoints: list[dict[str, Any]], reason: str
) -> None:
    with pytest.raises(ClientError) as caught:
        hub.mi.send_managed_thing_command(
            ManagedThingId=things.ids["acme-fan-001"], Endpoints=endpoints
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert reason in error["Error"]["Message"]


def test_read_only_property_is_rejected(hub: LinkedHub, things: Things) -> None:
    sensor = things.ids["acme-sensor-001"]
    with pytest.raises(hub.mi.exceptions.ValidationException, match="read-only"):
        hub.mi.send_managed_thing_command(
            ManagedThingId=sensor,
            Endpoints=[
                {
                    "endpointId": "1",
                    "capabilities": [
                        {
                            "id": "matter.TemperatureMeasurement@1.4",
                            "name": "Temperature Measurement",
                            "version": "4",
                            "actions": [
                                {"name": "UpdateState", "parameters": {"MeasuredValue": 1}}
                            ],
                        }
                    ],
                }
            ],
        )


def test_unknown_thing_is_not_found(hub: LinkedHub, things: Things) -> None:
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
        hub.mi.send_managed_thing_command(
            ManagedThingId="0" * 32,
            Endpoints=_fan_command({"name": "UpdateState", "parameters": {"FanMode": 1}}),
        )


def test_connector_failure_fails_the_command_and_reports(hub: LinkedHub, things: Things) -> None:
    fan = things.ids["acme-fan-001"]
    # FanMode 9 is no FanModeEnum value: the Acme connector refuses it (a 400 ACK).
    trace_id = hub.mi.send_managed_thing_command(
        ManagedThingId=fan,
        Endpoints=_fan_command({"name": "UpdateState", "parameters": {"FanMode": 9}}),
    )["TraceId"]
    documents = things.stream.wait_for(
        lambda ds: (
            bool(_of(ds, "DEVICE_COMMAND", traceId=trace_id))
            and bool(_of(ds, "CONNECTOR_ERROR_REPORT", traceId=trace_id))
        )
    )
    (command,) = _of(documents, "DEVICE_COMMAND", traceId=trace_id)
    assert command["payload"]["status"] == "FAILED"
    assert "AWS.SendCommand failed" in command["payload"]["message"]
    (report,) = _of(documents, "CONNECTOR_ERROR_REPORT", traceId=trace_id)
    assert report["payload"]["operationName"] == "AWS.SendCommand"
    assert report["payload"]["errorCode"] == "non_2xx"
    assert report["payload"]["cloudConnectorId"] == things.linked.connector_id
    assert report["payload"]["managedThingId"] == fan


def test_command_response_timeout_on_the_manual_clock(hub: LinkedHub, things: Things) -> None:
    """A connector that ACKs but never answers: the command fails at its deadline."""
    linked = hub.link("silent-connector", user="bob")
    discovery = hub.mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=linked.association_id
    )["Id"]
    hub.mi.send_connector_event(
        ConnectorId=linked.connector_id,
        Operation="DEVICE_DISCOVERY",
        UserId="bob",
        DeviceDiscoveryId=discovery,
        StatusCode=200,
        Devices=[device("silent-fan")],
    )
    thing = hub.manage(discovery)["silent-fan"]
    trace_id = hub.mi.send_managed_thing_command(
        ManagedThingId=thing,
        Endpoints=_fan_command({"name": "UpdateState", "parameters": {"FanMode": 1}}),
    )["TraceId"]
    time.sleep(0.5)  # the ACK arrives; the command stays PENDING
    assert not _of([d for _, d in things.stream.records()], "DEVICE_COMMAND", traceId=trace_id)
    hub.advance(31)
    documents = things.stream.wait_for(
        lambda ds: (
            bool(_of(ds, "DEVICE_COMMAND", traceId=trace_id))
            and bool(_of(ds, "CONNECTOR_ERROR_REPORT", traceId=trace_id))
        )
    )
    (command,) = _of(documents, "DEVICE_COMMAND", traceId=trace_id)
    assert command["payload"]["status"] == "FAILED"
    assert "in time" in command["payload"]["message"]
    # A response that arrives after the deadline changes nothing.
    hub.mi.send_connector_event(
        ConnectorId=linked.connector_id,
        Operation="DEVICE_COMMAND_RESPONSE",
        UserId="bob",
        TraceId=trace_id,
        StatusCode=200,
        MatterEndpoint={"id": "1", "clusters": [{"id": "0x0202", "attributes": {"0x0000": 1}}]},
    )
    time.sleep(0.3)
    documents = [d for _, d in things.stream.records()]
    assert len(_of(documents, "DEVICE_COMMAND", traceId=trace_id)) == 1


# ----- device events --------------------------------------------------------------------------


def test_device_event_fan_control_example(hub: LinkedHub, things: Things) -> None:
    """The documentation's DEVICE_EVENT: Fan Control 0x0202, FanMode 0x0000 = "3", as a list of
    single-key maps."""
    fan = things.ids["acme-fan-001"]
    trace = f"event-{uuid.uuid4().hex[:8]}"
    response = hub.mi.send_connector_event(
        ConnectorId=things.linked.connector_id,
        Operation="DEVICE_EVENT",
        OperationVersion="1.0",
        UserId="alice",
        ConnectorDeviceId="acme-fan-001",
        TraceId=trace,
        StatusCode=200,
        MatterEndpoint={"id": "1", "clusters": [{"id": "0x0202", "attributes": [{"0x0000": "3"}]}]},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    fan_mode = _properties(hub.mi.get_managed_thing_state(ManagedThingId=fan), FAN)["FanMode"]
    assert (fan_mode["value"], fan_mode["valueName"]) == (3, "High")
    documents = things.stream.wait_for(_waiting_for("DEVICE_EVENT", traceId=trace))
    (event,) = _of(documents, "DEVICE_EVENT", traceId=trace)
    assert event["payload"]["managedThingId"] == fan
    assert event["payload"]["connectorDeviceId"] == "acme-fan-001"
    reported = _properties({"Endpoints": event["payload"]["endpoints"]}, FAN)
    assert reported["FanMode"]["value"] == 3


def test_device_event_map_form_and_vendor_attribute(hub: LinkedHub, things: Things) -> None:
    light = things.ids["acme-light-001"]
    trace = f"event-{uuid.uuid4().hex[:8]}"
    hub.mi.send_connector_event(
        ConnectorId=things.linked.connector_id,
        Operation="DEVICE_EVENT",
        UserId="alice",
        ConnectorDeviceId="acme-light-001",
        TraceId=trace,
        MatterEndpoint={
            "id": "1",
            "clusters": [
                {"id": "0x0008", "attributes": {"0x0000": 77, "0x15570003": "vendor"}},
                # Switch InitialPress(NewPosition): a cluster the light's report lacks.
                {"id": "0x003b", "events": {"0x01": {"0x00": 1}}},
            ],
        },
    )
    state = hub.mi.get_managed_thing_state(ManagedThingId=light)
    level = _properties(state, "matter.LevelControl@1.4")
    assert level["CurrentLevel"]["value"] == 77
    assert level["0x15570003"]["value"] == "vendor"  # vendor ids pass through by id
    documents = things.stream.wait_for(_waiting_for("DEVICE_EVENT", traceId=trace))
    (event,) = _of(documents, "DEVICE_EVENT", traceId=trace)
    assert event["payload"]["events"] == [
        {
            "capabilityId": "matter.Switch@1.4",
            "name": "InitialPress",
            "parameters": {"NewPosition": 1},
        }
    ]


def test_unchanged_state_gives_no_device_state_record(hub: LinkedHub, things: Things) -> None:
    sensor = things.ids["acme-sensor-001"]
    cluster = {"id": "0x0402", "attributes": {"0x0000": 2345}}
    traces = []
    for _ in range(2):
        trace = f"event-{uuid.uuid4().hex[:8]}"
        traces.append(trace)
        hub.mi.send_connector_event(
            ConnectorId=things.linked.connector_id,
            Operation="DEVICE_EVENT",
            UserId="alice",
            ConnectorDeviceId="acme-sensor-001",
            TraceId=trace,
            MatterEndpoint={"id": "1", "clusters": [cluster]},
        )
    documents = things.stream.wait_for(_waiting_for("DEVICE_EVENT", traceId=traces[1]))
    assert len(_of(documents, "DEVICE_EVENT", managedThingId=sensor)) >= 2
    assert len(_of(documents, "DEVICE_STATE", traceId=traces[1])) == 0
    assert len(_of(documents, "DEVICE_STATE", traceId=traces[0])) <= 1


def test_device_command_request_is_forwarded(hub: LinkedHub, things: Things) -> None:
    trace = f"request-{uuid.uuid4().hex[:8]}"
    hub.mi.send_connector_event(
        ConnectorId=things.linked.connector_id,
        Operation="DEVICE_COMMAND_REQUEST",
        UserId="alice",
        ConnectorDeviceId="acme-plug-001",
        TraceId=trace,
        MatterEndpoint={"id": "1", "clusters": [{"id": "0x0006", "commands": {"0x02": {}}}]},
    )
    documents = things.stream.wait_for(_waiting_for("DEVICE_COMMAND_REQUEST", traceId=trace))
    (request,) = _of(documents, "DEVICE_COMMAND_REQUEST", traceId=trace)
    assert request["payload"]["commands"] == [
        {"endpointId": "1", "capabilityId": "matter.OnOff@1.4", "name": "Toggle", "parameters": {}}
    ]


@pytest.mark.parametrize(
    ("operation", "members", "missing"),
    [
        (
            "DEVICE_EVENT",
            {"UserId": "alice", "ConnectorDeviceId": "acme-fan-001"},
            "MatterEndpoint",
        ),
        (
            "DEVICE_EVENT",
            {
                "ConnectorDeviceId": "acme-fan-001",
                "MatterEndpoint": {"id": "1", "clusters": [{"id": "0x0202"}]},
            },
            "UserId",
        ),
        ("DEVICE_COMMAND_RESPONSE", {"UserId": "alice"}, "TraceId"),
        (
            "DEVICE_COMMAND_REQUEST",
            {"UserId": "alice", "MatterEndpoint": {"id": "1", "clusters": [{"id": "0x0006"}]}},
            "ConnectorDeviceId",
        ),
    ],
)
def test_connector_events_say_what_is_missing(
    hub: LinkedHub, things: Things, operation: str, members: dict[str, Any], missing: str
) -> None:
    with pytest.raises(hub.mi.exceptions.ValidationException, match=missing):
        hub.mi.send_connector_event(
            ConnectorId=things.linked.connector_id, Operation=operation, **members
        )


def test_unknown_device_and_unlinked_user(hub: LinkedHub, things: Things) -> None:
    endpoint = {"id": "1", "clusters": [{"id": "0x0202", "attributes": {"0x0000": 1}}]}
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
        hub.mi.send_connector_event(
            ConnectorId=things.linked.connector_id,
            Operation="DEVICE_EVENT",
            UserId="alice",
            ConnectorDeviceId="no-such-device",
            MatterEndpoint=endpoint,
        )
    # A user the connector has no (longer a) link for: accepted and dropped (spec 5.2).
    response = hub.mi.send_connector_event(
        ConnectorId=things.linked.connector_id,
        Operation="DEVICE_EVENT",
        UserId="carol",
        ConnectorDeviceId="acme-fan-001",
        MatterEndpoint=endpoint,
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
        hub.mi.send_connector_event(
            ConnectorId=things.linked.connector_id,
            Operation="DEVICE_COMMAND_RESPONSE",
            UserId="alice",
            TraceId="no-such-trace",
        )


def test_a_refused_activation_is_reported(hub: LinkedHub, things: Things) -> None:
    linked = hub.link("refusing-connector", user="bob", expect="FAILED")
    documents = things.stream.wait_for(
        _waiting_for("CONNECTOR_ERROR_REPORT", accountAssociationId=linked.association_id)
    )
    (report,) = _of(documents, "CONNECTOR_ERROR_REPORT", accountAssociationId=linked.association_id)
    assert report["payload"]["operationName"] == "AWS.ActivateUser"
    assert report["payload"]["cloudConnectorId"] == linked.connector_id
    assert report["payload"]["errorCode"] == "non_2xx"
    states = [
        d["payload"]["associationState"]
        for d in _of(documents, "ACCOUNT_ASSOCIATION", accountAssociationId=linked.association_id)
    ]
    assert states[0] == "ASSOCIATION_IN_PROGRESS"
    things.stream.wait_for(
        lambda ds: (
            "ASSOCIATION_FAILED"
            in [
                d["payload"]["associationState"]
                for d in _of(ds, "ACCOUNT_ASSOCIATION", accountAssociationId=linked.association_id)
            ]
        )
    )


def test_events_arriving_together_fail_alone(hub: LinkedHub, things: Things) -> None:
    """Device events that share a transaction: a bad one gets its error, the others commit."""
    from concurrent.futures import ThreadPoolExecutor

    def send(i: int) -> str:
        device = "acme-sensor-001" if i % 2 == 0 else "no-such-device"
        try:
            hub.mi.send_connector_event(
                ConnectorId=things.linked.connector_id,
                Operation="DEVICE_EVENT",
                UserId="alice",
                ConnectorDeviceId=device,
                TraceId=f"together-{i}",
                MatterEndpoint={
                    "id": "1",
                    "clusters": [{"id": "0x0402", "attributes": {"0x0000": 1000 + i}}],
                },
            )
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "accepted"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(send, range(16)))
    assert outcomes == ["accepted", "ResourceNotFoundException"] * 8
    documents = things.stream.wait_for(
        lambda ds: all(_of(ds, "DEVICE_EVENT", traceId=f"together-{i}") for i in range(0, 16, 2))
    )
    assert not any(_of(documents, "DEVICE_EVENT", traceId=f"together-{i}") for i in range(1, 16, 2))
