"""Shared by the IoT Events benchmarks: the motor example model, an in-process hub, readings.

The motor over-pressure model is the AWS developer guide's example (the same definition as
tests/events/motor.py), keyed by `motorid`. Not a benchmark itself.
"""

from __future__ import annotations

import os
import random
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# `python bench/x.py` from a checkout: make `bench` and `thinghub` importable.
for _path in (str(ROOT), str(ROOT / "src")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
# ... and for the `thinghub serve` child processes: this checkout's sources first.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
)

from thinghub.api import RequestContext  # noqa: E402
from thinghub.config import Settings  # noqa: E402
from thinghub.hub import Hub  # noqa: E402

INPUT = "PressureInput"
MODEL = "motorModel"
ACCOUNT = "000000000000"  # the default identity (test / test)
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/IoTEventsRole"
SNS = "arn:aws:sns:us-east-1:123456789012:"


def pressure_input(name: str = INPUT) -> dict[str, Any]:
    return {
        "inputName": name,
        "inputDescription": "Pressure readings from a motor",
        "inputDefinition": {
            "attributes": [{"jsonPath": "sensorData.pressure"}, {"jsonPath": "motorid"}]
        },
    }


def motor_model(name: str = MODEL, input_name: str = INPUT) -> dict[str, Any]:
    pressure = f"$input.{input_name}.sensorData.pressure"
    breached = "pressureThresholdBreached"

    def set_variable(value: str) -> dict[str, Any]:
        return {"setVariable": {"variableName": breached, "value": value}}

    return {
        "detectorModelName": name,
        "key": "motorid",
        "roleArn": ROLE,
        "evaluationMethod": "BATCH",
        "detectorModelDefinition": {
            "initialStateName": "Normal",
            "states": [
                {
                    "stateName": "Normal",
                    "onEnter": {
                        "events": [
                            {
                                "eventName": "init",
                                "condition": "true",
                                "actions": [set_variable("0")],
                            }
                        ]
                    },
                    "onInput": {
                        "transitionEvents": [
                            {
                                "eventName": "Overpressurized",
                                "condition": f"{pressure} > 70",
                                "actions": [set_variable(f"$variable.{breached} + 3")],
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
                                "condition": f"$variable.{breached} > 1",
                                "actions": [{"sns": {"targetArn": SNS + "underPressureAction"}}],
                            }
                        ]
                    },
                    "onInput": {
                        "events": [
                            {
                                "eventName": "Overpressurized",
                                "condition": f"{pressure} > 70",
                                "actions": [set_variable("3")],
                            },
                            {
                                "eventName": "Pressure Okay",
                                "condition": f"{pressure} <= 70",
                                "actions": [set_variable(f"$variable.{breached} - 1")],
                            },
                        ],
                        "transitionEvents": [
                            {
                                "eventName": "BackToNormal",
                                "condition": f"{pressure} <= 70 && $variable.{breached} <= 1",
                                "nextState": "Normal",
                            }
                        ],
                    },
                    "onExit": {
                        "events": [
                            {
                                "eventName": "Normal Pressure Restored",
                                "condition": "true",
                                "actions": [{"sns": {"targetArn": SNS + "pressureCleared"}}],
                            }
                        ]
                    },
                },
            ],
        },
    }


def motor_key(index: int) -> str:
    return f"motor-{index:07d}"


def pressures(count: int, seed: int = 7) -> list[int]:
    """Readings mostly in the normal range, ~10% over 70, so every path of the model runs."""
    rng = random.Random(seed)
    return [
        rng.randint(72, 95) if rng.random() < 0.1 else rng.randint(30, 69) for _ in range(count)
    ]


def payload_bytes(key: str, pressure: int) -> bytes:
    return b'{"motorid":"%s","sensorData":{"pressure":%d,"temperature":39}}' % (
        key.encode(),
        pressure,
    )


def start_hub(data_dir: Path, raw: dict[str, Any] | None = None) -> Hub:
    """A started hub (SQLite in `data_dir`) with the motor input and model created."""
    hub = Hub(Settings(data_dir=data_dir, raw=raw or {}))
    hub.start()
    call(hub, "iotevents", "CreateInput", pressure_input())
    call(hub, "iotevents", "CreateDetectorModel", motor_model())
    return hub


def call(hub: Hub, service: str, operation: str, params: dict[str, Any]) -> Any:
    """Run a handler in process, as the wire layer would after validation."""
    registered = hub.handlers.get(service, operation)
    if registered is None or registered.is_async:
        raise SystemExit(f"no synchronous handler for {service}:{operation}")
    ctx = RequestContext(hub, ACCOUNT, REGION, service, operation, "bench")
    return registered.handler(ctx, params)


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM (peak resident set) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_silent_peer() -> socket.socket:
    """A local listening socket that takes connections (into its backlog) and never answers.
    Closing it resets those connections, so the calls waiting on it fail at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def peer_url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def silent_peer() -> Iterator[socket.socket]:
    """`open_silent_peer`, closed on the way out."""
    with open_silent_peer() as sock:
        yield sock
