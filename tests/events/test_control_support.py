"""Shared material for the control-plane tests (no tests here): the AWS motor example and
helpers that give every test its own names, since one server serves the whole session."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx

from tests.conftest import RunningServer, make_client

ROLE_ARN = "arn:aws:iam::123456789012:role/IoTEventsRole"
ACCOUNT = "000000000000"

# The AWS IoT Events developer guide's "simple step-by-step example", verbatim.
PRESSURE_INPUT_DEFINITION: dict[str, Any] = {
    "attributes": [{"jsonPath": "sensorData.pressure"}, {"jsonPath": "motorid"}]
}
MOTOR_DEFINITION: dict[str, Any] = {
    "states": [
        {
            "stateName": "Normal",
            "onEnter": {
                "events": [
                    {
                        "eventName": "init",
                        "condition": "true",
                        "actions": [
                            {
                                "setVariable": {
                                    "variableName": "pressureThresholdBreached",
                                    "value": "0",
                                }
                            }
                        ],
                    }
                ]
            },
            "onInput": {
                "transitionEvents": [
                    {
                        "eventName": "Overpressurized",
                        "condition": "$input.PressureInput.sensorData.pressure > 70",
                        "actions": [
                            {
                                "setVariable": {
                                    "variableName": "pressureThresholdBreached",
                                    "value": "$variable.pressureThresholdBreached + 3",
                                }
                            }
                        ],
                        "nextState": "Dangerous",
                    }
                ]
            },
        },
        {
            "stateName": "Dangerous",
            "onEnter": {
                "events": [
                    {
                        "eventName": "Pressure Threshold Breached",
                        "condition": "$variable.pressureThresholdBreached > 1",
                        "actions": [
                            {
                                "sns": {
                                    "targetArn": "arn:aws:sns:us-east-1:123456789012:"
                                    "underPressureAction"
                                }
                            }
                        ],
                    }
                ]
            },
            "onInput": {
                "events": [
                    {
                        "eventName": "Overpressurized",
                        "condition": "$input.PressureInput.sensorData.pressure > 70",
                        "actions": [
                            {
                                "setVariable": {
                                    "variableName": "pressureThresholdBreached",
                                    "value": "3",
                                }
                            }
                        ],
                    },
                    {
                        "eventName": "Pressure Okay",
                        "condition": "$input.PressureInput.sensorData.pressure <= 70",
                        "actions": [
                            {
                                "setVariable": {
                                    "variableName": "pressureThresholdBreached",
                                    "value": "$variable.pressureThresholdBreached - 1",
                                }
                            }
                        ],
                    },
                ],
                "transitionEvents": [
                    {
                        "eventName": "BackToNormal",
                        "condition": "$input.PressureInput.sensorData.pressure <= 70 && "
                        "$variable.pressureThresholdBreached <= 1",
                        "nextState": "Normal",
                    }
                ],
            },
            "onExit": {
                "events": [
                    {
                        "eventName": "Normal Pressure Restored",
                        "condition": "true",
                        "actions": [
                            {
                                "sns": {
                                    "targetArn": "arn:aws:sns:us-east-1:123456789012:"
                                    "pressureClearedAction"
                                }
                            }
                        ],
                    }
                ]
            },
        },
    ],
    "initialStateName": "Normal",
}


def unique(prefix: str) -> str:
    """A name no other test uses (valid for inputs and detector models alike)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def motor_definition(input_name: str = "PressureInput") -> dict[str, Any]:
    """The motor model reading `input_name` instead of PressureInput."""
    text = json.dumps(MOTOR_DEFINITION).replace("$input.PressureInput.", f"$input.{input_name}.")
    return dict(json.loads(text))


def create_pressure_input(client: Any, name: str | None = None, **extra: Any) -> str:
    name = name or unique("PressureInput")
    response = client.create_input(
        inputName=name,
        inputDescription="Pressure readings from a motor",
        inputDefinition=copy.deepcopy(PRESSURE_INPUT_DEFINITION),
        **extra,
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    return name


def create_motor_model(
    client: Any, input_name: str, name: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Create the motor model over `input_name`; the detectorModelConfiguration answered."""
    response = client.create_detector_model(
        detectorModelName=name or unique("motorDetectorModel"),
        detectorModelDefinition=extra.pop("definition", motor_definition(input_name)),
        key="motorid",
        roleArn=ROLE_ARN,
        **extra,
    )
    return dict(response["detectorModelConfiguration"])


def regional_client(server: RunningServer, region: str | None = None, **keys: str) -> Any:
    """An iotevents client in a region no other test uses: a scope of its own."""
    import boto3
    import botocore.config

    session = boto3.session.Session(
        aws_access_key_id=keys.get("access_key", "test"),
        aws_secret_access_key=keys.get("secret_key", "test"),
        region_name=region or f"xx-{uuid.uuid4().hex[:8]}-1",
    )
    return session.client(
        "iotevents",
        endpoint_url=server.url,
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def other_account_client(server: RunningServer) -> Any:
    from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY

    return make_client(
        server, "iotevents", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )


def advance_clock(server: RunningServer, seconds: float) -> None:
    answer = httpx.post(f"{server.url}/_thinghub/clock", json={"advanceSeconds": seconds})
    assert answer.status_code == 200, answer.text


def error_of(caught: Any) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a botocore ClientError."""
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )
