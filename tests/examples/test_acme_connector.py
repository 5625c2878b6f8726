"""The reference connector, called in-process with crafted envelopes.

It talks to a real Acme cloud (subprocess) and sends SendConnectorEvent with stock boto3 to a
stub that records what botocore puts on the wire (rest-json: POST /connector-event/{id}).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from examples.acme_connector import handler, webhook

from tests.examples.conftest import ROOT, AcmeCloud
from tests.examples.modelcheck import violations
from tests.peers import RecordedRequest, StubHttpServer, StubResponse, aws_environment

CONNECTOR_ID = "acme-connector-1"
EVENT_PATH = f"/connector-event/{CONNECTOR_ID}"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, acme: AcmeCloud) -> Iterator[StubHttpServer]:
    """A stand-in for managed integrations, and the connector's environment pointed at it."""
    with StubHttpServer(lambda request: StubResponse.json(202, {})) as stub:
        aws_environment(monkeypatch, None, iot_managed_integrations=stub.url)
        monkeypatch.setenv("ACME_CLOUD_URL", acme.url)
        for name in ("ACME_WEBHOOK_URL", "ACME_WEBHOOK_SECRET", "ACME_EVENT_MODE"):
            monkeypatch.delenv(name, raising=False)
        yield stub


def envelope(operation: str, token: str | None, **payload: Any) -> dict[str, Any]:
    header = {"auth": {"token": token, "type": "OAuth2.0"}} if token else {}
    return {
        "header": header,
        "payload": {
            "operationName": operation,
            "operationVersion": "1.0",
            "connectorId": CONNECTOR_ID,
            **payload,
        },
    }


def only_event(stub: StubHttpServer) -> dict[str, Any]:
    """The one SendConnectorEvent the stub received, checked as AWS would check it."""
    [request] = stub.requests
    assert request.method == "POST" and request.path == EVENT_PATH
    assert request.headers["content-type"] == "application/json"
    # Signed by botocore for the managed integrations signing name.
    authorization = request.headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/iotmanagedintegrations/aws4_request" in authorization
    body: dict[str, Any] = request.json()
    params = {"ConnectorId": CONNECTOR_ID, **body}  # the path label is a member too
    assert violations("iot-managed-integrations", "SendConnectorEvent", params) == []
    return body


# ----- the Matter shapes the seed devices map to ------------------------------------------------


def on_off(value: bool) -> dict[str, Any]:
    return {
        "id": "0x0006",
        "revision": 6,
        "publicId": "matter.OnOff@1.4",
        "name": "On/Off",
        "specVersion": "1.4",
        "attributes": [{"id": "0x0000", "name": "OnOff", "value": value}],
        "commands": ["0x00", "0x01", "0x02"],
        "events": [],
    }


def report(device_id: str, device_type: str, *clusters: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "nodeId": device_id,
        "endpoints": [{"id": "1", "deviceTypes": [device_type], "clusters": list(clusters)}],
    }


PLUG = {
    "ConnectorDeviceId": "acme-plug-001",
    "ConnectorDeviceName": "Living Room Plug",
    "CapabilityReport": report("acme-plug-001", "On/Off Plug-in Unit", on_off(False)),
    "DeviceMetadata": {"brand": "Acme", "model": "AP-100", "serialNumber": "AP100-0001"},
}
FAN = {
    "ConnectorDeviceId": "acme-fan-001",
    "ConnectorDeviceName": "Bedroom Fan",
    "CapabilityReport": report(
        "acme-fan-001",
        "Fan",
        {
            "id": "0x0202",
            "revision": 4,
            "publicId": "matter.FanControl@1.4",
            "name": "Fan Control",
            "specVersion": "1.4",
            "attributes": [
                {"id": "0x0000", "name": "FanMode", "value": 0},
                {"id": "0x0001", "name": "FanModeSequence", "value": 2},
            ],
            "commands": [],
            "events": [],
        },
    ),
    "DeviceMetadata": {"brand": "Acme", "model": "AF-300", "serialNumber": "AF300-0001"},
}
LIGHT = {
    "ConnectorDeviceId": "acme-light-001",
    "ConnectorDeviceName": "Desk Lamp",
    "CapabilityReport": report(
        "acme-light-001",
        "Dimmable Light",
        on_off(True),
        {
            "id": "0x0008",
            "revision": 6,
            "publicId": "matter.LevelControl@1.4",
            "name": "Level Control",
            "specVersion": "1.4",
            "attributes": [
                {"id": "0x0000", "name": "CurrentLevel", "value": 203},  # 80 % of 254
                {"id": "0x0002", "name": "MinLevel", "value": 1},
                {"id": "0x0003", "name": "MaxLevel", "value": 254},
            ],
            "commands": ["0x00", "0x04"],
            "events": [],
        },
    ),
    "DeviceMetadata": {"brand": "Acme", "model": "AL-200", "serialNumber": "AL200-0001"},
}
SENSOR = {
    "ConnectorDeviceId": "acme-sensor-001",
    "ConnectorDeviceName": "Porch Thermometer",
    "CapabilityReport": report(
        "acme-sensor-001",
        "Temperature Sensor",
        {
            "id": "0x0402",
            "revision": 4,
            "publicId": "matter.TemperatureMeasurement@1.4",
            "name": "Temperature Measurement",
            "specVersion": "1.4",
            "attributes": [
                {"id": "0x0000", "name": "MeasuredValue", "value": 2150},  # 21.5 C
                {"id": "0x0001", "name": "MinMeasuredValue", "value": -4000},
                {"id": "0x0002", "name": "MaxMeasuredValue", "value": 12500},
            ],
            "commands": [],
            "events": [],
        },
    ),
    "DeviceMetadata": {"brand": "Acme", "model": "AT-50", "serialNumber": "AT50-0001"},
}


# ----- AWS.ActivateUser -------------------------------------------------------------------------


def test_activate_user_answers_the_acme_user_id(acme: AcmeCloud, hub: StubHttpServer) -> None:
    token = acme.tokens("bob")["access_token"]
    response = handler.lambda_handler(envelope("AWS.ActivateUser", token), None)
    assert response == {
        "header": {"responseCode": 200},
        "payload": {
            "responseMessage": f"Successfully activated user with connector-id {CONNECTOR_ID}.",
            "userId": "bob",
        },
    }
    assert hub.requests == []


def test_a_rejected_token_is_response_code_401(acme: AcmeCloud, hub: StubHttpServer) -> None:
    response = handler.lambda_handler(envelope("AWS.ActivateUser", "acme_at_bogus"), None)
    assert response["header"] == {"responseCode": 401}
    assert "invalid_token" in response["payload"]["responseMessage"]


def test_activate_user_subscribes_the_configured_webhook(
    acme: AcmeCloud, hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_WEBHOOK_URL", "http://127.0.0.1:8791/acme")
    token = acme.tokens()["access_token"]
    response = handler.lambda_handler(envelope("AWS.ActivateUser", token), None)
    assert response["header"]["responseCode"] == 200
    [hook] = acme.get("/admin/webhooks").json()["webhooks"]
    assert hook["url"] == f"http://127.0.0.1:8791/acme?connectorId={CONNECTOR_ID}"
    assert hook["userId"] == "alice"


# ----- AWS.DiscoverDevices ----------------------------------------------------------------------


def test_discover_devices_reports_every_device_then_acks(
    acme: AcmeCloud, hub: StubHttpServer
) -> None:
    token = acme.tokens()["access_token"]
    event = envelope("AWS.DiscoverDevices", token, deviceDiscoveryId="4b7c0e1f9a")
    response = handler.lambda_handler(event, None)
    assert response == {
        "header": {"responseCode": 200},
        "payload": {
            "responseMessage": "Discovering devices for discoveryId 4b7c0e1f9a "
            f"with connector-id {CONNECTOR_ID}"
        },
    }
    assert only_event(hub) == {
        "Operation": "DEVICE_DISCOVERY",
        "OperationVersion": "1.0",
        "DeviceDiscoveryId": "4b7c0e1f9a",
        "UserId": "alice",
        "StatusCode": 200,
        "Message": "Discovered 4 Acme devices",
        "Devices": [PLUG, FAN, LIGHT, SENSOR],
    }


def test_discover_devices_reports_current_values(acme: AcmeCloud, hub: StubHttpServer) -> None:
    acme.post("/admin/devices/acme-fan-001/state", json={"mode": "high"})
    token = acme.tokens()["access_token"]
    handler.lambda_handler(envelope("AWS.DiscoverDevices", token, deviceDiscoveryId="d1"), None)
    [_, fan, _, _] = only_event(hub)["Devices"]
    attributes = fan["CapabilityReport"]["endpoints"][0]["clusters"][0]["attributes"]
    assert attributes[0] == {"id": "0x0000", "name": "FanMode", "value": 3}


def test_discover_devices_honours_the_device_id_list(acme: AcmeCloud, hub: StubHttpServer) -> None:
    token = acme.tokens()["access_token"]
    event = envelope(
        "AWS.DiscoverDevices",
        token,
        deviceDiscoveryId="d2",
        connectorDeviceIdList=["acme-fan-001", "acme-plug-101"],
    )
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 200
    body = only_event(hub)
    assert body["Devices"] == [FAN]
    assert body["Message"] == "Discovered 1 Acme devices"


def test_discover_devices_with_a_rejected_token_reports_nothing(
    acme: AcmeCloud, hub: StubHttpServer
) -> None:
    tokens = acme.tokens()
    acme.post("/admin/users/alice/revoke-tokens")
    event = envelope("AWS.DiscoverDevices", tokens["access_token"], deviceDiscoveryId="d3")
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 401
    assert hub.requests == []


def test_discover_devices_needs_the_discovery_id(acme: AcmeCloud, hub: StubHttpServer) -> None:
    token = acme.tokens()["access_token"]
    response = handler.lambda_handler(envelope("AWS.DiscoverDevices", token), None)
    assert response["header"]["responseCode"] == 400


# ----- AWS.SendCommand --------------------------------------------------------------------------


def command_event(token: str, device: str, *clusters: dict[str, Any], **extra: Any) -> Any:
    return envelope(
        "AWS.SendCommand",
        token,
        connectorDeviceId=device,
        traceId="9b75f3839b6140f=",
        endpoints=[{"id": "1", "clusters": list(clusters)}],
        **extra,
    )


def device_state(acme: AcmeCloud, device: str) -> dict[str, Any]:
    token = acme.tokens()["access_token"]
    state: dict[str, Any] = acme.get(f"/api/devices/{device}", token).json()["device"]["state"]
    return state


def test_send_command_sets_the_fan_mode_and_reports_it(
    acme: AcmeCloud, hub: StubHttpServer
) -> None:
    token = acme.tokens()["access_token"]
    event = command_event(
        token, "acme-fan-001", {"id": "0x0202", "commands": {"0xff01": {"0x0000": 3}}}
    )
    response = handler.lambda_handler(event, None)
    assert response == {
        "header": {"responseCode": 200},
        "payload": {
            "responseMessage": "Successfully received send-command request for connector "
            f"{CONNECTOR_ID} and connector-device-id acme-fan-001"
        },
    }
    assert device_state(acme, "acme-fan-001") == {"mode": "high"}
    assert only_event(hub) == {
        "Operation": "DEVICE_COMMAND_RESPONSE",
        "OperationVersion": "1.0",
        "TraceId": "9b75f3839b6140f=",
        "ConnectorDeviceId": "acme-fan-001",
        "UserId": "alice",
        "StatusCode": 200,
        "MatterEndpoint": {
            "id": "1",
            "clusters": [
                {
                    "id": "0x0202",
                    "attributes": {"0x0000": 3, "0x0001": 2},
                    "commands": {"0xff01": {"0x0000": 3, "responseCode": 200}},
                }
            ],
        },
    }


@pytest.mark.parametrize(
    ("device", "cluster", "state", "attributes"),
    [
        ("acme-plug-001", {"id": "0x0006", "commands": {"0x01": {}}}, {"power": "on"}, None),
        ("acme-plug-001", {"id": "0x0006", "commands": {"0x02": {}}}, {"power": "on"}, None),
        (
            "acme-light-001",
            {"id": "0x0006", "commands": {"0x00": {}}},
            {"power": "off", "brightness": 80},
            None,
        ),
        (
            "acme-plug-001",
            {"id": "6", "commands": {"0xFF01": {"0x0000": True}}},
            {"power": "on"},
            None,
        ),
        (  # the docs' older form: string values, a list of single-key maps
            "acme-fan-001",
            {"id": "0x0202", "commands": {"0xff01": [{"0x0000": "5"}]}},
            {"mode": "auto"},
            {"0x0000": 5, "0x0001": 2},
        ),
        (  # an attribute write given as attributes instead of the 0xff01 pseudo-command
            "acme-fan-001",
            {"id": "0x0202", "attributes": {"0x0000": 1}},
            {"mode": "low"},
            {"0x0000": 1, "0x0001": 2},
        ),
        (
            "acme-light-001",
            {"id": "0x0008", "commands": {"0x04": {"0x0000": 127, "0x0001": 0}}},
            {"power": "on", "brightness": 50},
            {"0x0000": 127, "0x0002": 1, "0x0003": 254},
        ),
        (
            "acme-light-001",
            {"id": "0x0008", "commands": {"0x04": {"0x0000": 1}}},
            {"power": "off", "brightness": 80},
            {"0x0000": 203, "0x0002": 1, "0x0003": 254},
        ),
    ],
)
def test_send_command_translates_matter_to_acme(
    acme: AcmeCloud,
    hub: StubHttpServer,
    device: str,
    cluster: dict[str, Any],
    state: dict[str, Any],
    attributes: dict[str, Any] | None,
) -> None:
    token = acme.tokens()["access_token"]
    response = handler.lambda_handler(command_event(token, device, cluster), None)
    assert response["header"]["responseCode"] == 200, response
    assert device_state(acme, device) == state
    [reported] = only_event(hub)["MatterEndpoint"]["clusters"]
    if attributes is not None:
        assert reported["attributes"] == attributes
    else:
        assert reported["attributes"] == {"0x0000": state["power"] == "on"}


def test_send_command_echoes_each_command_with_its_result(
    acme: AcmeCloud, hub: StubHttpServer
) -> None:
    token = acme.tokens()["access_token"]
    event = command_event(
        token,
        "acme-light-001",
        {"id": "0x0006", "commands": {"0x01": {}}},
        {"id": "0x0008", "commands": {"0x00": {"0x0000": 254}}},
    )
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 200
    assert device_state(acme, "acme-light-001") == {"power": "on", "brightness": 100}
    assert only_event(hub)["MatterEndpoint"] == {
        "id": "1",
        "clusters": [
            {
                "id": "0x0006",
                "attributes": {"0x0000": True},
                "commands": {"0x01": {"responseCode": 200}},
            },
            {
                "id": "0x0008",
                "attributes": {"0x0000": 254, "0x0002": 1, "0x0003": 254},
                "commands": {"0x00": {"0x0000": 254, "responseCode": 200}},
            },
        ],
    }


def test_a_cluster_without_commands_reads_the_current_state(
    acme: AcmeCloud, hub: StubHttpServer
) -> None:
    token = acme.tokens()["access_token"]
    event = command_event(token, "acme-sensor-001", {"id": "0x0402"})
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 200
    assert only_event(hub)["MatterEndpoint"] == {
        "id": "1",
        "clusters": [
            {"id": "0x0402", "attributes": {"0x0000": 2150, "0x0001": -4000, "0x0002": 12500}}
        ],
    }


@pytest.mark.parametrize(
    ("device", "cluster", "code", "message"),
    [
        (
            "acme-sensor-001",
            {"id": "0x0402", "commands": {"0xff01": {"0x0000": 1}}},
            400,
            "read-only",
        ),
        (
            "acme-plug-001",
            {"id": "0x0202", "commands": {"0xff01": {"0x0000": 1}}},
            400,
            "no cluster",
        ),
        ("acme-plug-001", {"id": "0x0006", "commands": {"0x40": {}}}, 400, "command 0x40"),
        ("acme-fan-001", {"id": "0x0202", "commands": {"0xff01": {"0x0000": 9}}}, 400, "0..5"),
        ("acme-fan-001", {"id": "0x0202", "commands": {"0xff01": {"0x0001": 1}}}, 400, "writable"),
        ("acme-plug-101", {"id": "0x0006", "commands": {"0x01": {}}}, 404, "device_not_found"),
    ],
)
def test_commands_the_device_cannot_do_change_nothing_and_report_nothing(
    acme: AcmeCloud,
    hub: StubHttpServer,
    device: str,
    cluster: dict[str, Any],
    code: int,
    message: str,
) -> None:
    token = acme.tokens()["access_token"]
    response = handler.lambda_handler(command_event(token, device, cluster), None)
    assert response["header"]["responseCode"] == code
    assert message in response["payload"]["responseMessage"]
    assert hub.requests == []


def test_a_failing_second_command_stops_before_changing_anything(
    acme: AcmeCloud, hub: StubHttpServer
) -> None:
    token = acme.tokens()["access_token"]
    event = command_event(
        token,
        "acme-light-001",
        {"id": "0x0006", "commands": {"0x00": {}}},
        {"id": "0x0008", "commands": {"0x00": {}}},  # no level
    )
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 400
    assert device_state(acme, "acme-light-001") == {"power": "on", "brightness": 80}


def test_send_command_on_another_endpoint_is_400(acme: AcmeCloud, hub: StubHttpServer) -> None:
    token = acme.tokens()["access_token"]
    event = command_event(token, "acme-plug-001", {"id": "0x0006", "commands": {"0x01": {}}})
    event["payload"]["endpoints"][0]["id"] = "2"
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 400


def test_send_command_needs_device_and_trace_id(acme: AcmeCloud, hub: StubHttpServer) -> None:
    token = acme.tokens()["access_token"]
    event = command_event(token, "acme-plug-001", {"id": "0x0006", "commands": {"0x01": {}}})
    del event["payload"]["traceId"]
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 400


def test_send_command_without_the_write_scope_is_403(acme: AcmeCloud, hub: StubHttpServer) -> None:
    token = acme.tokens(scope="devices:read")["access_token"]
    event = command_event(token, "acme-plug-001", {"id": "0x0006", "commands": {"0x01": {}}})
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 403


def test_the_hub_refusing_the_event_is_response_code_500(
    acme: AcmeCloud, hub: StubHttpServer
) -> None:
    hub.respond = lambda request: StubResponse.aws_error(
        404, "ResourceNotFoundException", "no such connector"
    )
    token = acme.tokens()["access_token"]
    event = command_event(token, "acme-plug-001", {"id": "0x0006", "commands": {"0x01": {}}})
    response = handler.lambda_handler(event, None)
    assert response["header"]["responseCode"] == 500
    assert "ResourceNotFoundException" in response["payload"]["responseMessage"]


def test_acme_unreachable_is_response_code_503(
    acme: AcmeCloud, hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_CLOUD_URL", "http://127.0.0.1:9")
    response = handler.lambda_handler(envelope("AWS.ActivateUser", "t"), None)
    assert response["header"]["responseCode"] == 503


def test_thread_mode_sends_the_event_after_the_ack(
    acme: AcmeCloud, hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_EVENT_MODE", "thread")
    release = threading.Event()

    def respond(request: RecordedRequest) -> StubResponse:
        release.wait(10)
        return StubResponse.json(202, {})

    hub.respond = respond
    token = acme.tokens()["access_token"]
    event = command_event(token, "acme-plug-001", {"id": "0x0006", "commands": {"0x01": {}}})
    # The ACK comes back while the hub is still holding the event's request.
    assert handler.lambda_handler(event, None)["header"]["responseCode"] == 200
    release.set()
    deadline = time.monotonic() + 10
    while not hub.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert only_event(hub)["Operation"] == "DEVICE_COMMAND_RESPONSE"


# ----- AWS.DeactivateUser and the envelope ------------------------------------------------------


def test_deactivate_user_revokes_the_grant_and_its_webhooks(
    acme: AcmeCloud, hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_WEBHOOK_URL", "http://127.0.0.1:8791/acme")
    tokens = acme.tokens()
    handler.lambda_handler(envelope("AWS.ActivateUser", tokens["access_token"]), None)
    response = handler.lambda_handler(envelope("AWS.DeactivateUser", tokens["access_token"]), None)
    assert response == {
        "header": {"responseCode": 200},
        "payload": {
            "responseMessage": f"Successfully deactivated user with connector-id {CONNECTOR_ID}."
        },
    }
    assert acme.get("/api/me", tokens["access_token"]).status_code == 401
    assert acme.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert acme.get("/admin/webhooks").json()["webhooks"] == []
    # Deactivating twice (a retried invocation) still succeeds.
    again = handler.lambda_handler(envelope("AWS.DeactivateUser", tokens["access_token"]), None)
    assert again["header"]["responseCode"] == 200


def test_the_envelope_may_arrive_as_a_json_string(acme: AcmeCloud, hub: StubHttpServer) -> None:
    token = acme.tokens()["access_token"]
    response = handler.lambda_handler(json.dumps(envelope("AWS.ActivateUser", token)), None)
    assert response["payload"]["userId"] == "alice"


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (envelope("AWS.Reboot", "t"), 400),
        (envelope("AWS.ActivateUser", None), 401),
        (
            {"header": {"auth": {"token": "t"}}, "payload": {"operationName": "AWS.ActivateUser"}},
            400,
        ),
        (
            {
                "header": {
                    "auth": {
                        "type": "GeneralAuthorization",
                        "secretsManager": {"arn": "arn:aws:secretsmanager:x", "versionId": "v"},
                    }
                },
                "payload": {"operationName": "AWS.DiscoverDevices", "connectorId": "c"},
            },
            400,
        ),
    ],
)
def test_malformed_or_unsupported_requests_get_a_4xx(
    hub: StubHttpServer, event: dict[str, Any], code: int
) -> None:
    response = handler.lambda_handler(event, None)
    assert response["header"]["responseCode"] == code
    assert response["payload"]["responseMessage"]


# ----- the webhook receiver ---------------------------------------------------------------------


def notification(device: dict[str, Any], **changed: Any) -> bytes:
    return json.dumps(
        {
            "id": "evt-1",
            "type": "device.state_changed",
            "occurredAt": 1790000000.0,
            "userId": "alice",
            "device": device,
            "changed": changed,
        }
    ).encode()


FAN_DEVICE = {
    "id": "acme-fan-001",
    "name": "Bedroom Fan",
    "type": "fan",
    "model": "AF-300",
    "serial": "AF300-0001",
    "brand": "Acme",
    "state": {"mode": "high"},
}


def function_url_event(body: bytes, secret: str | None, query: str = "") -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["x-acme-signature"] = f"sha256={digest}"
    return {
        "version": "2.0",
        "rawPath": "/acme",
        "rawQueryString": query,
        "queryStringParameters": dict([query.split("=", 1)]) if query else None,
        "headers": headers,
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def test_webhook_reports_a_device_event(
    hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", "shh")
    body = notification(FAN_DEVICE, mode="high")
    event = function_url_event(body, "shh", f"connectorId={CONNECTOR_ID}")
    response = webhook.lambda_handler(event, None)
    assert response["statusCode"] == 200
    assert only_event(hub) == {
        "Operation": "DEVICE_EVENT",
        "OperationVersion": "1.0",
        "UserId": "alice",
        "ConnectorDeviceId": "acme-fan-001",
        "StatusCode": 200,
        "MatterEndpoint": {
            "id": "1",
            "clusters": [{"id": "0x0202", "attributes": {"0x0000": 3, "0x0001": 2}}],
        },
    }


def test_webhook_with_a_bad_signature_is_401(
    hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", "shh")
    body = notification(FAN_DEVICE, mode="high")
    event = function_url_event(body, "guess", f"connectorId={CONNECTOR_ID}")
    assert webhook.lambda_handler(event, None)["statusCode"] == 401
    assert hub.requests == []


def test_webhook_takes_the_connector_from_the_environment_when_the_url_has_none(
    hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = notification(FAN_DEVICE, mode="high")
    assert webhook.lambda_handler(function_url_event(body, None), None)["statusCode"] == 400
    monkeypatch.setenv("ACME_CONNECTOR_ID", CONNECTOR_ID)
    assert webhook.lambda_handler(function_url_event(body, None), None)["statusCode"] == 200
    assert only_event(hub)["ConnectorDeviceId"] == "acme-fan-001"


def test_webhook_answers_502_when_the_hub_refuses(
    hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.respond = lambda request: StubResponse.aws_error(500, "InternalServerException", "down")
    body = notification(FAN_DEVICE, mode="high")
    event = function_url_event(body, None, f"connectorId={CONNECTOR_ID}")
    assert webhook.lambda_handler(event, None)["statusCode"] == 502


def test_a_physical_change_reaches_the_hub_through_the_webhook_server(
    acme: AcmeCloud, hub: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acme -> `python -m examples.acme_connector.webhook` -> SendConnectorEvent DEVICE_EVENT."""
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS": hub.url,
        "ACME_WEBHOOK_SECRET": "shh",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "examples.acme_connector.webhook", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip().removeprefix("acme-webhook listening on ")
        monkeypatch.setenv("ACME_WEBHOOK_URL", f"{url}/acme")
        monkeypatch.setenv("ACME_WEBHOOK_SECRET", "shh")
        token = acme.tokens()["access_token"]
        activated = handler.lambda_handler(envelope("AWS.ActivateUser", token), None)
        assert activated["header"]["responseCode"] == 200
        result = acme.post("/admin/devices/acme-light-001/state", json={"power": "off"}).json()
        assert [d["status"] for d in result["deliveries"]] == [200]
        assert only_event(hub) == {
            "Operation": "DEVICE_EVENT",
            "OperationVersion": "1.0",
            "UserId": "alice",
            "ConnectorDeviceId": "acme-light-001",
            "StatusCode": 200,
            "MatterEndpoint": {
                "id": "1",
                "clusters": [
                    {"id": "0x0006", "attributes": {"0x0000": False}},
                    {"id": "0x0008", "attributes": {"0x0000": 203, "0x0002": 1, "0x0003": 254}},
                ],
            },
        }
    finally:
        server.terminate()
        assert server.wait(10) == 0
