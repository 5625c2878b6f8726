"""The AWS motor over-pressure example (developer guide), parameterised by names."""

from __future__ import annotations

import json
from typing import Any

from tests.events.test_control_support import MOTOR_DEFINITION, ROLE_ARN

ROLE = ROLE_ARN
SNS_PREFIX = "arn:aws:sns:us-east-1:123456789012:"


def pressure_input(name: str) -> dict[str, Any]:
    return {
        "inputName": name,
        "inputDescription": "Pressure readings from a motor",
        "inputDefinition": {
            "attributes": [{"jsonPath": "sensorData.pressure"}, {"jsonPath": "motorid"}]
        },
    }


def motor_model(name: str, input_name: str, alarm_arn: str, cleared_arn: str) -> dict[str, Any]:
    """The developer guide's motor model, verbatim but for its input name and SNS topics."""
    text = (
        json.dumps(MOTOR_DEFINITION)
        .replace("$input.PressureInput.", f"$input.{input_name}.")
        .replace(f"{SNS_PREFIX}underPressureAction", alarm_arn)
        .replace(f"{SNS_PREFIX}pressureClearedAction", cleared_arn)
    )
    return {
        "detectorModelName": name,
        "key": "motorid",
        "roleArn": ROLE,
        "detectorModelDefinition": json.loads(text),
    }


def reading(message_id: str, input_name: str, motor: str, pressure: int) -> dict[str, Any]:
    payload = {"motorid": motor, "sensorData": {"pressure": pressure, "temperature": 39}}
    return {
        "messageId": message_id,
        "inputName": input_name,
        "payload": json.dumps(payload).encode(),
    }
