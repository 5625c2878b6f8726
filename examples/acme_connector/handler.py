"""The Acme connector: a standard AWS Lambda handler for managed integrations' C2C interface.

``lambda_handler(event, context)`` serves the four operations of spec 4 with the envelope of
spec 4.2. Acme errors become a non-2xx ``header.responseCode`` (401 when Acme rejects the
token, 404 for an unknown device, 503 when Acme is unreachable); a command the device cannot
carry out is a 400. Discovery results and command results are reported with SendConnectorEvent
before the ACK is returned (see `events.emit`).

Environment:

- ``ACME_CLOUD_URL``: base URL of the Acme cloud (default ``http://127.0.0.1:8790``);
- ``ACME_WEBHOOK_URL`` (optional): where Acme should POST device changes, i.e. the URL of
  `webhook.lambda_handler`; ActivateUser then subscribes the user, adding ``?connectorId=``;
- ``ACME_WEBHOOK_SECRET`` (optional): the HMAC key Acme signs those notifications with;
- ``ACME_HTTP_TIMEOUT`` (seconds, default 5), ``ACME_EVENT_MODE`` (``sync`` or ``thread``);
- boto3's usual settings for SendConnectorEvent: region, credentials, and
  ``AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS`` to point it at a thinghub.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import mapping
from .events import emit, send_connector_event
from .vendor import AcmeApi, VendorError

log = logging.getLogger("acme_connector")

OAUTH = "OAuth2.0"

Response = dict[str, Any]


def respond(code: int, message: str, **fields: Any) -> Response:
    """The response envelope: ``{"header": {"responseCode"}, "payload": {"responseMessage"}}``."""
    return {"header": {"responseCode": code}, "payload": {"responseMessage": message, **fields}}


def lambda_handler(event: Any, context: Any) -> Response:
    if isinstance(event, str | bytes | bytearray):
        event = json.loads(event)
    payload = event.get("payload") or {}
    name = str(payload.get("operationName"))
    operation = OPERATIONS.get(name)
    if operation is None:
        return respond(400, f"Unsupported operation {name!r}")
    connector_id = payload.get("connectorId")
    if not connector_id:
        return respond(400, "payload.connectorId is missing")
    auth = (event.get("header") or {}).get("auth") or {}
    if auth.get("type", OAUTH) != OAUTH:
        return respond(400, f"The Acme connector supports {OAUTH} only, not {auth.get('type')}")
    if not auth.get("token"):
        return respond(401, "header.auth.token is missing")
    try:
        return operation(AcmeApi(auth["token"]), connector_id, payload)
    except VendorError as exc:
        log.warning("%s failed: %s", name, exc)
        # Acme's own failures are a bad gateway from the hub's point of view.
        code = exc.status if exc.status < 500 or exc.status == 503 else 502
        return respond(code, f"Acme refused the request: {exc.error}: {exc.description}")
    except mapping.MappingError as exc:
        return respond(exc.status, str(exc))
    except (BotoCoreError, ClientError) as exc:
        log.warning("%s: SendConnectorEvent failed: %s", name, exc)
        return respond(500, f"SendConnectorEvent failed: {exc}")


def activate_user(api: AcmeApi, connector_id: str, payload: dict[str, Any]) -> Response:
    """The Acme user id of the token; subscribes the user to device changes if configured."""
    user_id = api.me()["userId"]
    webhook_url = os.environ.get("ACME_WEBHOOK_URL")
    if webhook_url:
        api.register_webhook(
            callback_url(webhook_url, connector_id), os.environ.get("ACME_WEBHOOK_SECRET")
        )
    return respond(
        200, f"Successfully activated user with connector-id {connector_id}.", userId=user_id
    )


def discover_devices(api: AcmeApi, connector_id: str, payload: dict[str, Any]) -> Response:
    """Report the user's devices (DEVICE_DISCOVERY), then ACK."""
    discovery_id = payload.get("deviceDiscoveryId")
    if not discovery_id:
        return respond(400, "payload.deviceDiscoveryId is missing")
    listing = api.devices()
    wanted = payload.get("connectorDeviceIdList") or None  # optional filter (spec 4.4)
    devices = [
        mapping.discovered_device(device)
        for device in listing["devices"]
        if mapping.kind_of(device) is not None and (wanted is None or device["id"] in wanted)
    ]
    emit(
        lambda: send_connector_event(
            connector_id,
            "DEVICE_DISCOVERY",
            DeviceDiscoveryId=discovery_id,
            UserId=listing["userId"],
            StatusCode=200,
            Message=f"Discovered {len(devices)} Acme devices",
            Devices=devices,
        )
    )
    return respond(
        200, f"Discovering devices for discoveryId {discovery_id} with connector-id {connector_id}"
    )


def send_command(api: AcmeApi, connector_id: str, payload: dict[str, Any]) -> Response:
    """Carry out the Matter commands on Acme, report the new state (DEVICE_COMMAND_RESPONSE),
    then ACK."""
    device_id, trace_id = payload.get("connectorDeviceId"), payload.get("traceId")
    if not device_id or not trace_id:
        return respond(400, "payload.connectorDeviceId and payload.traceId are required")
    current = api.device(device_id)
    device, user_id = current["device"], current["userId"]
    # Translate everything before changing anything, so a bad request changes nothing.
    plan = mapping.plan_commands(device, payload.get("endpoints"))
    for planned in plan.commands:
        device = api.command(device_id, planned.vendor)["device"]
    results: dict[int, dict[str, Any]] = {}
    for planned in plan.commands:
        echo = planned.echo()
        if echo is not None:
            results.setdefault(planned.cluster, {})[echo[0]] = {**echo[1], "responseCode": 200}
    endpoint = mapping.matter_endpoint(device, plan.clusters, results)
    emit(
        lambda: send_connector_event(
            connector_id,
            "DEVICE_COMMAND_RESPONSE",
            TraceId=trace_id,
            ConnectorDeviceId=device_id,
            UserId=user_id,
            StatusCode=200,
            MatterEndpoint=endpoint,
        )
    )
    return respond(
        200,
        f"Successfully received send-command request for connector {connector_id} "
        f"and connector-device-id {device_id}",
    )


def deactivate_user(api: AcmeApi, connector_id: str, payload: dict[str, Any]) -> Response:
    """Revoke the user's grant at Acme; Acme drops the user's webhooks with it."""
    api.revoke()
    return respond(200, f"Successfully deactivated user with connector-id {connector_id}.")


def callback_url(webhook_url: str, connector_id: str) -> str:
    """The webhook URL with ``connectorId`` in its query, so events name their connector."""
    separator = "&" if "?" in webhook_url else "?"
    return f"{webhook_url}{separator}{urllib.parse.urlencode({'connectorId': connector_id})}"


OPERATIONS: dict[str, Callable[[AcmeApi, str, dict[str, Any]], Response]] = {
    "AWS.ActivateUser": activate_user,
    "AWS.DiscoverDevices": discover_devices,
    "AWS.SendCommand": send_command,
    "AWS.DeactivateUser": deactivate_user,
}
