"""Concurrent BatchPutMessage requests share commits; every message still counts exactly once."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, make_client
from tests.databases import BACKENDS, fresh_database
from thinghub.api import RequestContext
from thinghub.config import Settings
from thinghub.events.runtime.engine import Message
from thinghub.events.runtime.service import EventsRuntime
from thinghub.hub import Hub
from thinghub.store import Scope

ROLE = "arn:aws:iam::123456789012:role/IoTEventsRole"


def _counting_model(iotevents: Any) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    input_name, model = f"Count_{suffix}", f"count_{suffix}"
    iotevents.create_input(**_counting_input(input_name))
    iotevents.create_detector_model(**_counting_definition(input_name, model))
    return input_name, model


def _counting_input(input_name: str) -> dict[str, Any]:
    attributes = [{"jsonPath": "k"}, {"jsonPath": "n"}]
    return {"inputName": input_name, "inputDefinition": {"attributes": attributes}}


def _counting_definition(input_name: str, model: str) -> dict[str, Any]:
    """Counts its messages and keeps the `n` of the last one (if it has one)."""
    return {
        "detectorModelName": model,
        "key": "k",
        "roleArn": ROLE,
        "detectorModelDefinition": {
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
                                    },
                                    {
                                        "setVariable": {
                                            "variableName": "last",
                                            "value": f"$input.{input_name}.n",
                                        }
                                    },
                                ],
                            }
                        ]
                    },
                }
            ],
        },
    }


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
                    "payload": json.dumps({"k": "shared", "n": 1}).encode(),
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
    assert variables == {"count": "40", "last": "1"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_groups_of_one_scope_evaluate_in_order_once(backend: str, tmp_path: Path) -> None:
    """A group commit evaluates several requests' messages: each detector sees them in arrival
    order, an id repeated by a later request counts once, and scopes stay apart."""
    with fresh_database(backend, tmp_path) as url:
        _groups_of_one_scope(Hub(Settings(data_dir=tmp_path, database=url, raw={})))


def _groups_of_one_scope(hub: Hub) -> None:
    hub.start()
    try:
        scopes = [Scope("111111111111", "us-east-1"), Scope("222222222222", "us-east-1")]
        for scope in scopes:
            for operation, params in (
                ("CreateInput", _counting_input("Count")),
                ("CreateDetectorModel", _counting_definition("Count", "count")),
            ):
                registered = hub.handlers.get("iotevents", operation)
                assert registered is not None
                ctx = RequestContext(
                    hub, scope.account_id, scope.region, "iotevents", operation, "test"
                )
                registered.handler(ctx, params)
        runtime: EventsRuntime = hub.components["events"]

        def message(message_id: str, n: int) -> Message:
            return Message(message_id, "Count", {"k": "a", "n": n}, 1)

        first, second = scopes
        runtime.engine.put_message_groups(
            [
                (first, [message("m1", 1), message("m2", 2)]),
                (second, [message("m1", 10)]),
                (first, [message("m1", 99), message("m3", 3)]),  # m1 again: a duplicate
                (second, [message("m2", 20)]),
            ],
            time.time(),
        )
        found = {
            scope: runtime.engine.instances(scope, "count", ["a"])["a"].variables
            for scope in scopes
        }
        assert found == {first: {"count": 3, "last": 3}, second: {"count": 2, "last": 20}}
    finally:
        hub.stop()
