"""Create the automations on a thinghub: the input, the notifications that feed it, the
detector models. Stock boto3 clients in; idempotent enough to run on a fresh hub.

    from examples.automations.install import install
    install(mi, iotevents, region="us-east-1", account_id="000000000000")
"""

from __future__ import annotations

from typing import Any

INPUT = "DeviceEvents"
DESTINATION = "detectors"
FAN_HIGH = "fan-high"  # the function name `[functions]` maps to handler.fan_high
HOT = 3000  # MeasuredValue is in 0.01 °C: 30 °C
COOL = 2800
HEARTBEAT_SECONDS = 300
ROLE = "arn:aws:iam::{account}:role/thinghub-automations"

# The temperature a DEVICE_EVENT record reports for a Temperature Measurement sensor.
_MEASURED = f"$input.{INPUT}.payload.endpoints[0].capabilities[0].properties.MeasuredValue.value"
_THING = f"$input.{INPUT}.payload.managedThingId"
_DEVICE_EVENT = f"$input.{INPUT}.messageType == 'DEVICE_EVENT'"


def too_hot(region: str, account_id: str) -> dict[str, Any]:
    fan_high = f"arn:aws:lambda:{region}:{account_id}:function:{FAN_HIGH}"
    payload = (
        '\'{"sensor": "${' + _THING + '}", '
        '"accountAssociationId": "${$input.' + INPUT + ".payload.accountAssociationId}\"}'"
    )
    return {
        "detectorModelName": "too-hot",
        "detectorModelDescription": "A sensor above 30 °C turns its user's fans to High",
        "key": "payload.managedThingId",
        "roleArn": ROLE.format(account=account_id),
        "detectorModelDefinition": {
            "initialStateName": "Normal",
            "states": [
                {
                    "stateName": "Normal",
                    "onInput": {
                        "events": [],
                        "transitionEvents": [
                            {
                                "eventName": "too-hot",
                                "condition": f"{_MEASURED} > {HOT}",
                                "nextState": "TooHot",
                                "actions": [
                                    {
                                        "lambda": {
                                            "functionArn": fan_high,
                                            "payload": {
                                                "contentExpression": payload,
                                                "type": "JSON",
                                            },
                                        }
                                    }
                                ],
                            }
                        ],
                    },
                },
                {
                    "stateName": "TooHot",
                    "onInput": {
                        "events": [],
                        "transitionEvents": [
                            {
                                "eventName": "cooled",
                                "condition": f"{_MEASURED} < {COOL}",
                                "nextState": "Normal",
                            }
                        ],
                    },
                },
            ],
        },
    }


def heartbeat(account_id: str, seconds: int = HEARTBEAT_SECONDS) -> dict[str, Any]:
    return {
        "detectorModelName": "device-heartbeat",
        "detectorModelDescription": "Online while a device reports, Offline after a quiet period",
        "key": "payload.managedThingId",
        "roleArn": ROLE.format(account=account_id),
        "detectorModelDefinition": {
            "initialStateName": "Online",
            "states": [
                {
                    "stateName": "Online",
                    "onEnter": {
                        "events": [
                            {
                                "eventName": "arm",
                                "condition": "true",
                                "actions": [
                                    {"setTimer": {"timerName": "quiet", "seconds": seconds}},
                                    {"setVariable": {"variableName": "thing", "value": _THING}},
                                ],
                            }
                        ]
                    },
                    "onInput": {
                        "events": [
                            {
                                "eventName": "alive",
                                "condition": _DEVICE_EVENT,
                                "actions": [{"resetTimer": {"timerName": "quiet"}}],
                            }
                        ],
                        "transitionEvents": [
                            {
                                "eventName": "went-quiet",
                                "condition": 'timeout("quiet")',
                                "nextState": "Offline",
                            }
                        ],
                    },
                },
                {
                    "stateName": "Offline",
                    "onInput": {
                        "events": [],
                        "transitionEvents": [
                            {"eventName": "back", "condition": _DEVICE_EVENT, "nextState": "Online"}
                        ],
                    },
                },
            ],
        },
    }


def install(
    mi: Any,
    iotevents: Any,
    *,
    region: str,
    account_id: str,
    heartbeat_seconds: int = HEARTBEAT_SECONDS,
) -> list[str]:
    """The input, the DEVICE_EVENT notifications into it, both detector models; their names."""
    iotevents.create_input(
        inputName=INPUT,
        inputDescription="Device events of managed things (notification records)",
        inputDefinition={"attributes": [{"jsonPath": "messageType"}, {"jsonPath": "payload"}]},
    )
    mi.create_destination(
        Name=DESTINATION,
        DeliveryDestinationArn=f"arn:aws:iotevents:{region}:{account_id}:input/{INPUT}",
        DeliveryDestinationType="KINESIS",
        RoleArn=ROLE.format(account=account_id),
    )
    mi.create_notification_configuration(EventType="DEVICE_EVENT", DestinationName=DESTINATION)
    models = [too_hot(region, account_id), heartbeat(account_id, heartbeat_seconds)]
    for model in models:
        iotevents.create_detector_model(**model)
    return [model["detectorModelName"] for model in models]
