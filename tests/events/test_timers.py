"""Timers on thinghub's clock: set, reset, expire, survive restarts; `timeout()` is one-shot."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import RunningServer, make_client, start_server

ROLE = "arn:aws:iam::123456789012:role/IoTEventsRole"


def heartbeat_model(name: str, input_name: str) -> dict[str, Any]:
    """A device is Online while it beats at least every 5 minutes, Offline otherwise."""
    return {
        "detectorModelName": name,
        "key": "deviceId",
        "roleArn": ROLE,
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
                                    {"setTimer": {"timerName": "awake", "seconds": 300}},
                                    {"setVariable": {"variableName": "beats", "value": "0"}},
                                ],
                            }
                        ]
                    },
                    "onInput": {
                        "events": [
                            {
                                "eventName": "beat",
                                "condition": f'currentInput("{input_name}")',
                                "actions": [
                                    {"resetTimer": {"timerName": "awake"}},
                                    {
                                        "setVariable": {
                                            "variableName": "beats",
                                            "value": "$variable.beats + 1",
                                        }
                                    },
                                ],
                            }
                        ],
                        "transitionEvents": [
                            {
                                "eventName": "Go_offline",
                                "condition": 'timeout("awake")',
                                "nextState": "Offline",
                            }
                        ],
                    },
                },
                {
                    "stateName": "Offline",
                    "onEnter": {
                        "events": [
                            {
                                "eventName": "count",
                                "condition": "true",
                                "actions": [
                                    {"setVariable": {"variableName": "outages", "value": "1"}}
                                ],
                            }
                        ]
                    },
                    "onInput": {
                        "transitionEvents": [
                            {
                                "eventName": "Back",
                                "condition": f"$input.{input_name}.deviceId != ''",
                                "nextState": "Online",
                            }
                        ]
                    },
                },
            ],
        },
    }


def _setup(iotevents: Any) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    input_name, model = f"Heartbeat_{suffix}", f"heartbeat_{suffix}"
    iotevents.create_input(
        inputName=input_name, inputDefinition={"attributes": [{"jsonPath": "deviceId"}]}
    )
    iotevents.create_detector_model(**heartbeat_model(model, input_name))
    return input_name, model


def _beat(data: Any, input_name: str, device: str) -> None:
    data.batch_put_message(
        messages=[
            {
                "messageId": uuid.uuid4().hex,
                "inputName": input_name,
                "payload": json.dumps({"deviceId": device}).encode(),
            }
        ]
    )


def _advance(server: RunningServer, seconds: float) -> float:
    answer = httpx.post(f"{server.url}/_thinghub/clock", json={"advanceSeconds": seconds})
    assert answer.status_code == 200
    return float(answer.json()["epochSeconds"])


def _detector(data: Any, model: str, key: str) -> dict[str, Any]:
    return dict(data.describe_detector(detectorModelName=model, keyValue=key)["detector"])


def test_five_minute_timer_expires_on_the_manual_clock(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    input_name, model = _setup(iotevents)
    _beat(iotevents_data, input_name, "dev1")
    detector = _detector(iotevents_data, model, "dev1")
    assert detector["state"]["stateName"] == "Online"
    (timer,) = detector["state"]["timers"]
    due = timer["timestamp"].timestamp()

    now = _advance(server, 299)
    assert now < due
    assert _detector(iotevents_data, model, "dev1")["state"]["stateName"] == "Online"
    _advance(server, 2)
    detector = _detector(iotevents_data, model, "dev1")
    assert detector["state"]["stateName"] == "Offline"
    assert detector["state"]["timers"] == []  # an expired timer is gone

    _beat(iotevents_data, input_name, "dev1")
    assert _detector(iotevents_data, model, "dev1")["state"]["stateName"] == "Online"


def test_reset_timer_restarts_the_countdown(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    input_name, model = _setup(iotevents)
    _beat(iotevents_data, input_name, "dev2")
    _advance(server, 200)
    _beat(iotevents_data, input_name, "dev2")  # resetTimer: 300 s from now again
    _advance(server, 200)
    detector = _detector(iotevents_data, model, "dev2")
    assert detector["state"]["stateName"] == "Online"
    assert {v["name"]: v["value"] for v in detector["state"]["variables"]}["beats"] == "2"
    _advance(server, 101)
    assert _detector(iotevents_data, model, "dev2")["state"]["stateName"] == "Offline"


def test_many_detectors_expire_in_one_advance(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    input_name, model = _setup(iotevents)
    devices = [f"bulk{i}" for i in range(25)]
    for start in range(0, len(devices), 10):
        iotevents_data.batch_put_message(
            messages=[
                {
                    "messageId": uuid.uuid4().hex,
                    "inputName": input_name,
                    "payload": json.dumps({"deviceId": d}).encode(),
                }
                for d in devices[start : start + 10]
            ]
        )
    _advance(server, 301)
    offline = iotevents_data.list_detectors(
        detectorModelName=model, stateName="Offline", maxResults=100
    )["detectorSummaries"]
    assert sorted(d["keyValue"] for d in offline) == sorted(devices)


def test_pending_timers_survive_a_restart(tmp_path: Path) -> None:
    running = start_server(tmp_path, "--clock", "manual")
    try:
        iotevents = make_client(running, "iotevents")
        data = make_client(running, "iotevents-data")
        input_name, model = _setup(iotevents)
        _beat(data, input_name, "persist")
    finally:
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(15) == 0

    restarted = start_server(tmp_path, "--clock", "manual")
    try:
        data = make_client(restarted, "iotevents-data")
        assert _detector(data, model, "persist")["state"]["stateName"] == "Online"
        _advance(restarted, 301)
        assert _detector(data, model, "persist")["state"]["stateName"] == "Offline"
    finally:
        restarted.stop()


def test_late_timers_fire_at_once_on_the_system_clock(tmp_path: Path) -> None:
    """A timer already due when thinghub starts fires right away (here: made due by the data)."""
    running = start_server(tmp_path)
    try:
        iotevents = make_client(running, "iotevents")
        data = make_client(running, "iotevents-data")
        input_name, model = _setup(iotevents)
        _beat(data, input_name, "late")
    finally:
        running.stop()
    # Move the pending timer into the past while thinghub is down.
    import sqlite3

    with sqlite3.connect(tmp_path / "thinghub.db") as db:
        changed = db.execute("UPDATE detector_timers SET due_at = due_at - 3600").rowcount
    assert changed == 1
    restarted = start_server(tmp_path)
    try:
        data = make_client(restarted, "iotevents-data")
        import time

        deadline = time.monotonic() + 10
        while _detector(data, model, "late")["state"]["stateName"] != "Offline":
            assert time.monotonic() < deadline, "the late timer never fired"
            time.sleep(0.1)
    finally:
        restarted.stop()
