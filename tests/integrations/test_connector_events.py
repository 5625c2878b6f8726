"""SendConnectorEvent: who may send, and what a DEVICE_DISCOVERY event must carry.

Events that change discoveries are in test_discovery.py (they need a linked association).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY, RunningServer, make_client
from tests.integrations.test_discovery_support import device, lambda_arn


@pytest.fixture(scope="module")
def other(server: RunningServer) -> Any:
    return make_client(
        server, "iot-managed-integrations", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )


def _connector(mi: Any) -> str:
    created = mi.create_cloud_connector(
        Name=f"events-{uuid.uuid4().hex[:8]}",
        EndpointConfig={"lambda": {"arn": lambda_arn("ack-connector")}},
    )
    return str(created["Id"])


def _discovery_event(**members: Any) -> dict[str, Any]:
    event = {
        "Operation": "DEVICE_DISCOVERY",
        "OperationVersion": "1.0",
        "StatusCode": 200,
        "DeviceDiscoveryId": "doesnotexist",
        "UserId": "alice",
        "Devices": [],
    }
    event.update(members)
    return {k: v for k, v in event.items() if v is not None}


def test_an_unknown_connector_is_not_found(mi: Any) -> None:
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        mi.send_connector_event(ConnectorId="nosuchconnector", **_discovery_event())
    assert caught.value.response["ResourceId"] == "nosuchconnector"
    assert caught.value.response["ResourceType"] == "CloudConnector"


def test_only_the_owning_account_may_send_events(mi: Any, other: Any) -> None:
    mine = _connector(mi)
    for operation in ("DEVICE_DISCOVERY", "DEVICE_EVENT", "DEVICE_COMMAND_RESPONSE"):
        with pytest.raises(other.exceptions.AccessDeniedException) as caught:
            other.send_connector_event(ConnectorId=mine, Operation=operation, UserId="alice")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert mine in caught.value.response["Error"]["Message"]
    theirs = _connector(other)
    with pytest.raises(mi.exceptions.AccessDeniedException):
        mi.send_connector_event(ConnectorId=theirs, **_discovery_event())


def test_device_operations_for_an_unlinked_user_are_dropped(mi: Any) -> None:
    """Spec 5.2: a connector keeps sending briefly after AWS.DeactivateUser; accepted, dropped."""
    connector = _connector(mi)
    for operation in ("DEVICE_EVENT", "DEVICE_COMMAND_REQUEST"):
        response = mi.send_connector_event(
            ConnectorId=connector,
            Operation=operation,
            UserId="alice",
            ConnectorDeviceId="dev-1",
            MatterEndpoint={"id": "1", "clusters": [{"id": "0x0006", "commands": {"0x02": {}}}]},
        )
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(mi.exceptions.ResourceNotFoundException):
        mi.send_connector_event(
            ConnectorId=connector,
            Operation="DEVICE_COMMAND_RESPONSE",
            UserId="alice",
            TraceId="unknown-trace",
        )


@pytest.mark.parametrize("missing", ["DeviceDiscoveryId", "UserId", "Devices"])
def test_a_discovery_event_needs_its_correlation_members(mi: Any, missing: str) -> None:
    connector = _connector(mi)
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.send_connector_event(ConnectorId=connector, **_discovery_event(**{missing: None}))
    assert missing in caught.value.response["Error"]["Message"]


def test_a_failure_report_needs_no_devices_but_a_known_discovery(mi: Any) -> None:
    connector = _connector(mi)
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        mi.send_connector_event(
            ConnectorId=connector, **_discovery_event(Devices=None, StatusCode=500)
        )
    assert caught.value.response["ResourceType"] == "DeviceDiscovery"


def test_an_unknown_discovery_is_not_found(mi: Any) -> None:
    connector = _connector(mi)
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        mi.send_connector_event(ConnectorId=connector, **_discovery_event())
    assert caught.value.response["ResourceId"] == "doesnotexist"
    assert caught.value.response["ResourceType"] == "DeviceDiscovery"


def test_devices_are_checked_before_anything_is_looked_up(mi: Any) -> None:
    connector = _connector(mi)
    twice = [device("dev-1"), device("dev-1")]
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.send_connector_event(ConnectorId=connector, **_discovery_event(Devices=twice))
    assert "dev-1 more than once" in caught.value.response["Error"]["Message"]

    bad_cluster = [device("dev-2", clusters=("6abc",))]
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.send_connector_event(ConnectorId=connector, **_discovery_event(Devices=bad_cluster))
    assert "'6abc' is not a Matter id" in caught.value.response["Error"]["Message"]

    report = device("dev-3")["CapabilityReport"]
    report["endpoints"].append(dict(report["endpoints"][0]))
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.send_connector_event(
            ConnectorId=connector,
            **_discovery_event(
                Devices=[{"ConnectorDeviceId": "dev-3", "CapabilityReport": report}]
            ),
        )
    assert "endpoint 1 more than once" in caught.value.response["Error"]["Message"]


def test_the_model_still_validates_the_report(mi: Any) -> None:
    connector = _connector(mi)
    bad = device("dev-1")
    bad["CapabilityReport"]["version"] = "2.0.0"
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.send_connector_event(ConnectorId=connector, **_discovery_event(Devices=[bad]))
    assert "version" in caught.value.response["Error"]["Message"]
