"""Shared material for the alarm tests (no tests here): a temperature input, alarm models as
CreateAlarmModel requests, readings, and probes, all through stock boto3."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.events.test_control_support import ROLE_ARN, unique


def create_temperature_input(client: Any, name: str | None = None) -> str:
    """An input with a device id and a temperature (and a limit, for input thresholds)."""
    name = name or unique("Temperature")
    client.create_input(
        inputName=name,
        inputDefinition={
            "attributes": [
                {"jsonPath": "deviceId"},
                {"jsonPath": "sensor.temperature"},
                {"jsonPath": "limit"},
            ]
        },
    )
    return name


def alarm_request(
    input_name: str,
    name: str | None = None,
    *,
    key: str | None = "deviceId",
    operator: str = "GREATER",
    threshold: str = "30",
    acknowledge: bool | None = True,
    disabled: bool | None = False,
    actions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A CreateAlarmModel request on `$input.<input_name>.sensor.temperature`.

    `acknowledge` / `disabled` None leave the capability out (the defaults apply).
    """
    request: dict[str, Any] = {
        "alarmModelName": name or unique("hot"),
        "roleArn": ROLE_ARN,
        "alarmRule": {
            "simpleRule": {
                "inputProperty": f"$input.{input_name}.sensor.temperature",
                "comparisonOperator": operator,
                "threshold": threshold,
            }
        },
        **extra,
    }
    if key is not None:
        request["key"] = key
    capabilities: dict[str, Any] = {}
    if acknowledge is not None:
        capabilities["acknowledgeFlow"] = {"enabled": acknowledge}
    if disabled is not None:
        capabilities["initializationConfiguration"] = {"disabledOnInitialization": disabled}
    if capabilities:
        request["alarmCapabilities"] = capabilities
    if actions is not None:
        request["alarmEventActions"] = {"alarmActions": actions}
    return request


def create_alarm_model(client: Any, input_name: str, **options: Any) -> str:
    request = alarm_request(input_name, **options)
    client.create_alarm_model(**request)
    return str(request["alarmModelName"])


def reading(
    data: Any,
    input_name: str,
    temperature: Any,
    device: str | None = "d1",
    *,
    message_id: str | None = None,
    time_ms: int | None = None,
    **fields: Any,
) -> None:
    """One BatchPutMessage with one temperature reading, which must be accepted."""
    payload: dict[str, Any] = {"sensor": {"temperature": temperature}, **fields}
    if device is not None:
        payload["deviceId"] = device
    entry: dict[str, Any] = {
        "messageId": message_id or uuid.uuid4().hex,
        "inputName": input_name,
        "payload": json.dumps(payload).encode(),
    }
    if time_ms is not None:
        entry["timestamp"] = {"timeInMillis": time_ms}
    answer = data.batch_put_message(messages=[entry])
    assert answer["BatchPutMessageErrorEntries"] == []


def alarm(data: Any, model: str, key: str | None = "d1") -> dict[str, Any]:
    params = {"alarmModelName": model}
    if key is not None:
        params["keyValue"] = key
    return dict(data.describe_alarm(**params)["alarm"])


def state_of(data: Any, model: str, key: str | None = "d1") -> str:
    return str(alarm(data, model, key)["alarmState"]["stateName"])


def command(data: Any, action: str, model: str, key: str | None = "d1", **entry: Any) -> Any:
    """One Batch<Action>Alarm entry; the errorEntries answered (None when there were none)."""
    request: dict[str, Any] = {"requestId": uuid.uuid4().hex[:12], "alarmModelName": model}
    if key is not None:
        request["keyValue"] = key
    request.update(entry)
    member = f"{action}ActionRequests"
    answer = getattr(data, f"batch_{action}_alarm")(**{member: [request]})
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    return answer.get("errorEntries")
