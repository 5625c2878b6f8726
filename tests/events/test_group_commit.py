"""Concurrent BatchPutMessage requests share commits; every message still counts exactly once."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.conftest import RunningServer, make_client

ROLE = "arn:aws:iam::123456789012:role/IoTEventsRole"


def _counting_model(iotevents: Any) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    input_name, model = f"Count_{suffix}", f"count_{suffix}"
    iotevents.create_input(
        inputName=input_name, inputDefinition={"attributes": [{"jsonPath": "k"}]}
    )
    iotevents.create_detector_model(
        detectorModelName=model,
        key="k",
        roleArn=ROLE,
        detectorModelDefinition={
            "initialStateName": "Counting",
            "states": [
                {
                    "stateName": "Counting",
                    "onEnter": {
                        "events": [
                            {
                                "eventName": "init",
                                "condition": "true",
                                "actions": [
                                    {"setVariable": {"variableName": "count", "value": "0"}}
                                ],
                            }
                        ]
                    },
                    "onInput": {
                        "events": [
                            {
                                "eventName": "inc",
                                "condition": f"$input.{input_name}.k != ''",
                                "actions": [
                                    {
                                        "setVariable": {
                                            "variableName": "count",
                                            "value": "$variable.count + 1",
                                        }
                                    }
                                ],
                            }
                        ]
                    },
                }
            ],
        },
    )
    return input_name, model


def test_concurrent_requests_count_each_message_once(server: RunningServer, iotevents: Any) -> None:
    input_name, model = _counting_model(iotevents)
    ids = [f"m{i}" for i in range(40)]
    # Every id is sent twice, by different concurrent requests: the second one is a duplicate.
    batches = [ids[i : i + 5] for i in range(0, len(ids), 5)] * 2

    def send(batch: list[str]) -> Any:
        client = make_client(server, "iotevents-data")
        return client.batch_put_message(
            messages=[
                {
                    "messageId": message_id,
                    "inputName": input_name,
                    "payload": json.dumps({"k": "shared"}).encode(),
                }
                for message_id in batch
            ]
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, batches))
    assert all(answer["BatchPutMessageErrorEntries"] == [] for answer in answers)
    data = make_client(server, "iotevents-data")
    detector = data.describe_detector(detectorModelName=model, keyValue="shared")["detector"]
    variables = {v["name"]: v["value"] for v in detector["state"]["variables"]}
    assert variables == {"count": "40"}
