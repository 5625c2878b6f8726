"""`thinghub demo` as a user runs it: a subprocess whose output we read, and whose thinghub we
look at with stock boto3 while it runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.conftest import REGION

START_TIMEOUT = 120.0  # set-up on a loaded machine: three processes, linking, discovery
THINGS = {
    "Living Room Light",
    "Bedroom Fan",
    "Hallway Thermostat",
    "Porch Thermometer",
    "Coffee Machine",
}


class DemoProcess:
    """`thinghub demo` in a subprocess; its output lines collected as they come."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "thinghub", "demo", "--port", "0", "--no-color", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env=env,
        )
        self.lines: list[str] = []
        self._ended = False  # the output reached its end
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """The first match of `pattern` in the output, waiting for it."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = compiled.search("\n".join(self.lines))
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if self._ended or remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.5))
        raise AssertionError(f"no {pattern!r} in the demo's output:\n{self.output}")

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def demo_runs() -> Iterator[list[DemoProcess]]:
    """Every demo a test starts is stopped at its end, even when the test failed."""
    started: list[DemoProcess] = []
    yield started
    for run in started:
        run.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "iot-managed-integrations",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _properties(state: dict[str, Any]) -> dict[str, Any]:
    return {
        name: entry["value"]
        for endpoint in state["Endpoints"]
        for capability in endpoint["capabilities"]
        for name, entry in capability["properties"].items()
    }


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True


def test_demo_links_discovers_and_controls_devices(
    tmp_path: Path, demo_runs: list[DemoProcess]
) -> None:
    demo = DemoProcess("--data-dir", str(tmp_path / "demo"), "--duration", "5", "--interval", "1")
    demo_runs.append(demo)
    endpoint = demo.wait_for(r"export AWS_ENDPOINT_URL=(\S+)").group(1)
    acme = demo.wait_for(r"the simulated Acme cloud\s+(\S+)").group(1)
    demo.wait_for(r"Live: the devices keep changing")

    # While it runs, thinghub is there to look at with stock boto3.
    mi = _client(endpoint)
    (association,) = mi.list_account_associations()["Items"]
    assert association["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    things = {thing["Name"]: thing["Id"] for thing in mi.list_managed_things()["Items"]}
    assert set(things) == THINGS
    # The opening commands: the light at 80 % (level 203), the thermostat 1.5 °C up.
    light = _properties(mi.get_managed_thing_state(ManagedThingId=things["Living Room Light"]))
    assert light["CurrentLevel"] == 203
    thermostat = mi.get_managed_thing_state(ManagedThingId=things["Hallway Thermostat"])
    assert _properties(thermostat)["OccupiedHeatingSetpoint"] == 2150
    # ... and the vendor's devices did change.
    device = httpx.post(f"{acme}/admin/devices/acme-light-001/state", json={}).json()["device"]
    assert device["state"]["brightness"] == 80

    assert demo.wait(60) == 0
    output = demo.output
    assert "linked alice's Acme account" in output
    assert "discovered 5 devices" in output
    assert "created 5 managed things" in output
    assert re.search(r"DEVICE_COMMAND_RESPONSE\s+Bedroom Fan\s+FanMode = High", output)
    assert re.search(r"DEVICE_EVENT\s+Porch Thermometer\s+MeasuredValue = ", output)
    summary = re.search(r"sent (\d+) commands \((\d+) confirmed", output)
    assert summary is not None and int(summary.group(2)) >= 5, output
    # Everything it started has stopped.
    assert not _answers(endpoint) and not _answers(acme)


def test_ctrl_c_stops_the_demo_and_its_processes(
    tmp_path: Path, demo_runs: list[DemoProcess]
) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    (data / ".thinghub-demo").write_text("")
    (data / "left-over").write_text("from the run before")
    demo = DemoProcess("--data-dir", str(data))
    demo_runs.append(demo)
    endpoint = demo.wait_for(r"export AWS_ENDPOINT_URL=(\S+)").group(1)
    assert not (data / "left-over").exists()  # each run starts afresh
    demo.process.send_signal(signal.SIGINT)
    assert demo.wait(60) == 0
    assert "Stopping" in demo.output
    assert not _answers(endpoint)


def test_a_directory_the_demo_did_not_make_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("keep me")
    result = subprocess.run(
        [sys.executable, "-m", "thinghub", "demo", "--data-dir", str(tmp_path), "--no-color"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "was not made by thinghub demo" in result.stdout + result.stderr
    assert (tmp_path / "precious").read_text() == "keep me"
