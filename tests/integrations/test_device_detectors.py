"""Device events drive detectors, and detectors command devices, end to end:

Acme sensor reading → SendConnectorEvent DEVICE_EVENT → notification record into an IoT Events
input → ``too-hot`` detector to TooHot → its lambda action → the local `fan_high` handler →
SendManagedThingCommand → the Acme connector → the fan is on High in the Acme cloud. thinghub
restarts in the middle; nothing is lost and nothing is evaluated twice.
"""

from __future__ import annotations

from typing import Any

import pytest
from examples.acme_connector import mapping
from examples.automations.install import install

from tests.conftest import make_client
from tests.integrations.test_discovery_support import (
    ACCOUNT,
    LinkedHub,
    linked_hub_fixture,
)
from tests.peers import REGION, wait_until

hub = linked_hub_fixture()


def _acme(hub: LinkedHub, device_id: str, **patch: Any) -> dict[str, Any]:
    answer = hub.acme.post(f"/admin/devices/{device_id}/state", json=patch)
    assert answer.status_code == 200, answer.text
    device: dict[str, Any] = answer.json()["device"]
    return device


def _report(hub: LinkedHub, connector_id: str, device: dict[str, Any]) -> None:
    """What the Acme connector's webhook sends for a changed device."""
    hub.mi.send_connector_event(
        ConnectorId=connector_id,
        Operation="DEVICE_EVENT",
        UserId="alice",
        ConnectorDeviceId=device["id"],
        StatusCode=200,
        MatterEndpoint=mapping.matter_endpoint(device),
    )


def _detector(events_data: Any, model: str, key: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = events_data.describe_detector(detectorModelName=model, keyValue=key)
    except events_data.exceptions.ResourceNotFoundException:
        return None
    return found["detector"]


def test_too_hot_sensor_turns_the_fan_to_high_across_a_restart(hub: LinkedHub) -> None:
    iotevents = make_client(hub.server, "iotevents")
    models = install(hub.mi, iotevents, region=REGION, account_id=ACCOUNT, heartbeat_seconds=120)
    assert models == ["too-hot", "device-heartbeat"]

    linked = hub.link("acme-connector")
    discovery = hub.mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=linked.association_id
    )["Id"]
    things = hub.manage(discovery)
    sensor = things["acme-sensor-001"]
    assert _acme(hub, "acme-fan-001")["state"]["mode"] == "off"

    # A mild reading: the sensor's detectors start, nothing happens.
    _report(hub, linked.connector_id, _acme(hub, "acme-sensor-001", temperature=22.5))
    events_data = make_client(hub.server, "iotevents-data")
    normal = wait_until(
        lambda: _detector(events_data, "too-hot", sensor), lambda d: d is not None, timeout=20
    )
    assert normal["state"]["stateName"] == "Normal"

    # Too hot, and thinghub restarts at once: the record is committed with the event.
    _report(hub, linked.connector_id, _acme(hub, "acme-sensor-001", temperature=35.0))
    hub.restart()
    events_data = make_client(hub.server, "iotevents-data")

    fan = wait_until(lambda: _acme(hub, "acme-fan-001")["state"]["mode"], lambda m: m == "high")
    assert fan == "high"
    hot = _detector(events_data, "too-hot", sensor)
    assert hot is not None and hot["state"]["stateName"] == "TooHot"

    # The fan's own state in thinghub followed the command's response.
    def fan_mode() -> Any:
        state = hub.mi.get_managed_thing_state(ManagedThingId=things["acme-fan-001"])
        return state["Endpoints"][0]["capabilities"][0]["properties"]["FanMode"]["valueName"]

    assert wait_until(fan_mode, lambda name: name == "High") == "High"

    # Every device that reported has a heartbeat detector; a quiet sensor goes Offline.
    online = _detector(events_data, "device-heartbeat", sensor)
    assert online is not None and online["state"]["stateName"] == "Online"
    hub.advance(121)
    offline = wait_until(
        lambda: _detector(events_data, "device-heartbeat", sensor),
        lambda d: d is not None and d["state"]["stateName"] == "Offline",
    )
    assert {"name": "thing", "value": f'"{sensor}"'} in offline["state"]["variables"]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iotevents:us-east-1:000000000000:input/NoSuchInput",
        "arn:aws:iotevents:us-east-1:111122223333:input/DeviceEvents",
        "arn:aws:sqs:us-east-1:000000000000:queue/notifications",
    ],
)
def test_destinations_must_be_a_stream_or_an_input_of_this_account(
    hub: LinkedHub, arn: str
) -> None:
    with pytest.raises(hub.mi.exceptions.ValidationException):
        hub.mi.create_destination(
            Name="bad-destination",
            DeliveryDestinationArn=arn,
            DeliveryDestinationType="KINESIS",
            RoleArn="arn:aws:iam::000000000000:role/x",
        )
