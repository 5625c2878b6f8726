"""Two `thinghub serve` nodes on one PostgreSQL database: a detector model deleted and created
again on one node (its versions restart at "1") runs in its new form on the other."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, make_client, start_server
from tests.databases import fresh_database

ROLE = "arn:aws:iam::123456789012:role/IoTEventsRole"
INPUT = "Reading"
MODEL = "watcher"

pytestmark = pytest.mark.postgres


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    with fresh_database("postgresql", tmp_path) as url:
        first = start_server(tmp_path / "a", "--database", url)
        try:
            second = start_server(tmp_path / "b", "--database", url)
            try:
                yield first, second
            finally:
                second.stop()
        finally:
            first.stop()


def _model(state: str) -> dict[str, Any]:
    return {
        "detectorModelName": MODEL,
        "key": "id",
        "roleArn": ROLE,
        "detectorModelDefinition": {
            "initialStateName": state,
            "states": [
                {
                    "stateName": state,
                    "onInput": {
                        "events": [{"eventName": "seen", "condition": f"$input.{INPUT}.id != ''"}]
                    },
                }
            ],
        },
    }


def _send(data: Any, key: str) -> None:
    payload = json.dumps({"id": key}).encode()
    answer = data.batch_put_message(
        messages=[{"messageId": key, "inputName": INPUT, "payload": payload}]
    )
    assert answer["BatchPutMessageErrorEntries"] == []


def _state(data: Any, key: str) -> str | None:
    try:
        found = data.describe_detector(detectorModelName=MODEL, keyValue=key)
    except data.exceptions.ResourceNotFoundException:
        return None
    return str(found["detector"]["state"]["stateName"])


def test_a_model_created_again_elsewhere_runs_in_its_new_form(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    first, second = nodes
    control_a, data_a = make_client(first, "iotevents"), make_client(first, "iotevents-data")
    control_b = make_client(second, "iotevents")
    control_a.create_input(inputName=INPUT, inputDefinition={"attributes": [{"jsonPath": "id"}]})
    control_a.create_detector_model(**_model("Old"))
    _send(data_a, "k1")
    assert _state(data_a, "k1") == "Old"

    control_b.delete_detector_model(detectorModelName=MODEL)
    control_b.create_detector_model(**_model("New"))
    assert (
        control_b.describe_detector_model(detectorModelName=MODEL)["detectorModel"][
            "detectorModelConfiguration"
        ]["detectorModelVersion"]
        == "1"
    )

    # The first node sees the change once its routing cache (a second at most) expires.
    deadline = time.monotonic() + 10
    key = 0
    while True:
        key += 1
        _send(data_a, f"k{key + 1}")
        state = _state(data_a, f"k{key + 1}")
        if state == "New" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state == "New"
