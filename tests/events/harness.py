"""Small builders and probes for runtime tests: detector models as data, messages, the clock.

Models are built from plain dicts exactly as a user would send them to CreateDetectorModel;
every probe goes through stock boto3 (or thinghub's `/_thinghub/clock` for the manual clock).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.conftest import RunningServer

ROLE = "arn:aws:iam::123456789012:role/IoTEventsRole"
T = TypeVar("T")


def unique(prefix: str) -> str:
    """A name no other test uses (the session server is shared)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def create_input(iotevents: Any, name: str, *paths: str) -> str:
    attributes = [{"jsonPath": path} for path in paths]
    iotevents.create_input(inputName=name, inputDefinition={"attributes": attributes})
    return name


# ----- model definitions ----------------------------------------------------------------------


def set_var(name: str, value: str) -> dict[str, Any]:
    return {"setVariable": {"variableName": name, "value": value}}


def set_timer(name: str, duration: str) -> dict[str, Any]:
    return {"setTimer": {"timerName": name, "durationExpression": duration}}


def clear_timer(name: str) -> dict[str, Any]:
    return {"clearTimer": {"timerName": name}}


def event(name: str, condition: str | None, *actions: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {"eventName": name, "actions": list(actions)}
    if condition is not None:
        document["condition"] = condition
    return document


def transition(
    name: str, condition: str, next_state: str, *actions: dict[str, Any]
) -> dict[str, Any]:
    return {
        "eventName": name,
        "condition": condition,
        "actions": list(actions),
        "nextState": next_state,
    }


def state(
    name: str,
    *,
    on_enter: list[dict[str, Any]] | None = None,
    on_input: list[dict[str, Any]] | None = None,
    transitions: list[dict[str, Any]] | None = None,
    on_exit: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {"stateName": name}
    if on_enter:
        document["onEnter"] = {"events": on_enter}
    if on_input or transitions:
        document["onInput"] = {"events": on_input or [], "transitionEvents": transitions or []}
    if on_exit:
        document["onExit"] = {"events": on_exit}
    return document


def detector_model(
    name: str,
    initial: str,
    states: list[dict[str, Any]],
    *,
    key: str | None = None,
    method: str = "BATCH",
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "detectorModelName": name,
        "roleArn": ROLE,
        "evaluationMethod": method,
        "detectorModelDefinition": {"initialStateName": initial, "states": states},
    }
    if key is not None:
        document["key"] = key
    return document


# ----- data plane -----------------------------------------------------------------------------


def message(
    input_name: str, payload: Any, message_id: str | None = None, time_ms: int | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "messageId": message_id or uuid.uuid4().hex,
        "inputName": input_name,
        "payload": json.dumps(payload).encode(),
    }
    if time_ms is not None:
        entry["timestamp"] = {"timeInMillis": time_ms}
    return entry


def send(data: Any, input_name: str, payload: Any, **options: Any) -> None:
    """One BatchPutMessage of one message, which must be accepted."""
    answer = data.batch_put_message(messages=[message(input_name, payload, **options)])
    assert answer["BatchPutMessageErrorEntries"] == []


def detector(data: Any, model: str, key: str | None = None) -> dict[str, Any]:
    params = {"detectorModelName": model}
    if key is not None:
        params["keyValue"] = key
    return dict(data.describe_detector(**params)["detector"])


def snapshot(data: Any, model: str, key: str | None = None) -> tuple[str, dict[str, str]]:
    """(state name, {variable: value as DescribeDetector renders it})."""
    found = detector(data, model, key)
    variables = {v["name"]: v["value"] for v in found["state"]["variables"]}
    return found["state"]["stateName"], variables


def keys(data: Any, model: str) -> list[str | None]:
    summaries = data.list_detectors(detectorModelName=model, maxResults=100)["detectorSummaries"]
    return [summary.get("keyValue") for summary in summaries]


# ----- the manual clock and waiting -----------------------------------------------------------


def clock_now(server: RunningServer) -> float:
    return float(httpx.get(f"{server.url}/_thinghub/clock").json()["epochSeconds"])


def advance(server: RunningServer, seconds: float) -> float:
    """Move thinghub's manual clock; due timers have fired when this returns."""
    answer = httpx.post(f"{server.url}/_thinghub/clock", json={"advanceSeconds": seconds})
    assert answer.status_code == 200, answer.text
    return float(answer.json()["epochSeconds"])


def wait_for(probe: Callable[[], T | None], timeout: float = 10.0, every: float = 0.05) -> T:
    """Poll `probe` until it returns something other than None (or fail at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came within {timeout} s")
        time.sleep(every)
