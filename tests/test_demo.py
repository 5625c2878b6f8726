"""`thinghub demo` as a user runs it: a subprocess whose output we read, and whose thinghub we
look at with stock boto3 while it runs; and the parts of the demo that decide what happens."""

from __future__ import annotations

import datetime
import itertools
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
from botocore.stub import Stubber
from examples.automations.install import COOL, HOT

from tests.conftest import REGION
from thinghub.demo.automations import HEARTBEAT_STEPS, Automations
from thinghub.demo.commands import FAN_CONTROL, FAN_HIGH, ON_OFF, ROUTINE
from thinghub.demo.household import DEVICES, FAN, SENSOR, Change, World

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


def _client(endpoint: str, service: str = "iot-managed-integrations") -> Any:
    # tests.conftest put thinghub's IoT Events models on AWS_DATA_PATH.
    return boto3.client(
        service,
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


def test_demo_links_discovers_controls_devices_and_runs_detectors(
    tmp_path: Path, demo_runs: list[DemoProcess]
) -> None:
    # The heat wave at once, so the too-hot chain runs in the first seconds of the live log;
    # the test stops the demo once it has seen what it looks for (the duration is a bound).
    demo = DemoProcess(
        *("--data-dir", str(tmp_path / "demo"), "--duration", "90", "--interval", "1"),
        *("--heat-wave-after", "0"),
    )
    demo_runs.append(demo)
    endpoint = demo.wait_for(r"export AWS_ENDPOINT_URL=(\S+)").group(1)
    acme = demo.wait_for(r"the simulated Acme cloud\s+(\S+)").group(1)
    demo.wait_for(r"detectors: too-hot, device-heartbeat reading DeviceEvents")
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

    # The detector models of examples/automations, on the things' device events.
    events = _client(endpoint, "iotevents")
    summaries = events.list_detector_models()["detectorModelSummaries"]
    assert {"too-hot", "device-heartbeat"} <= {model["detectorModelName"] for model in summaries}
    # The heat wave: the sensor's device event entered its too-hot detector ...
    demo.wait_for(r"too-hot\s+Porch Thermometer\s+Normal → TooHot", timeout=60)
    data = _client(endpoint, "iotevents-data")
    sensor = things["Porch Thermometer"]
    detector = data.describe_detector(detectorModelName="too-hot", keyValue=sensor)["detector"]
    assert detector["state"]["stateName"] in ("TooHot", "Normal")  # it may have cooled already
    heartbeat = data.describe_detector(detectorModelName="device-heartbeat", keyValue=sensor)
    assert heartbeat["detector"]["state"]["stateName"] in ("Online", "Offline")
    # ... whose lambda action (the local function fan-high) turned the fan to High.
    demo.wait_for(
        r"detector → fan-high\s+SendManagedThingCommand\s+Bedroom Fan\s+UpdateState FanMode = "
        r"High.*\n.*DEVICE_COMMAND_RESPONSE\s+Bedroom Fan\s+FanMode = High\s+\(acme: mode=high\)"
        r"\n.",  # and the demo went on (a stop while it logs that line cuts its count short)
        timeout=30,
    )
    # The alarm model on the same input: the sensor's alarm went off too.
    assert "alarm model hot-alarm on DeviceEvents" in demo.output
    demo.wait_for(r"DEVICE_EVENT → alarm\s+hot-alarm\s+Porch Thermometer\s+NORMAL → ACTIVE")
    alarm = data.describe_alarm(alarmModelName="hot-alarm", keyValue=sensor)["alarm"]
    assert alarm["alarmState"]["stateName"] in ("ACTIVE", "NORMAL") and alarm["severity"] == 2

    demo.process.send_signal(signal.SIGTERM)
    assert demo.wait(60) == 0
    output = demo.output
    assert "linked alice's Acme account" in output
    assert "discovered 5 devices" in output
    assert "created 5 managed things" in output
    assert re.search(r"DEVICE_COMMAND_RESPONSE\s+Bedroom Fan\s+FanMode = High", output)
    assert re.search(r"DEVICE_EVENT\s+Porch Thermometer\s+MeasuredValue = ", output)
    summary = re.search(r"sent (\d+) commands \((\d+) confirmed", output)
    assert summary is not None and int(summary.group(2)) >= 5, output
    assert re.search(r"detectors: \d+ state changes? seen \(.*1 too-hot Normal → TooHot", output)
    assert re.search(r"the detectors sent 1 command \(1 confirmed", output), output
    assert "Detectors and alarms (iotevents-data ListDetectors, ListAlarms)" in output
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


# ----- the parts that decide what happens ---------------------------------------------------------


def _run_world(world: World, steps: int) -> list[Change]:
    """`steps` changes of the world, each applied the way Acme's answer would apply it."""
    changes = []
    state = {device.id: dict(device.state) for device in DEVICES}
    for _ in range(steps):
        change = world.step()
        state[change.device.id].update(change.patch)
        world.observe(change.device.id, state[change.device.id])
        changes.append(change)
    return changes


def test_a_heat_wave_takes_the_porch_above_too_hot_and_back_below_cool() -> None:
    world = World()
    world.observe(FAN.id, {"mode": "high"})
    world.start_heat_wave()
    assert world.heat_wave
    during: list[Change] = []
    while world.heat_wave:
        during += _run_world(world, 1)
        assert len(during) < 40, "the heat wave never ends"
    # The fan is switched off first, so that the too-hot detector's command shows; then
    # nobody touches it until the heat wave is over.
    assert during[0].device == FAN and during[0].patch == {"mode": "off"}
    assert all(change.device != FAN for change in during[1:])
    porch = [c.patch["temperature"] for c in during if c.device == SENSOR]
    assert porch[1] > HOT / 100 and max(porch) < 35  # the second reading is too hot
    assert porch[-1] < COOL / 100 - 1  # ... and it ends well below the too-hot model's "cooled"
    # Afterwards the porch walks, never above 30 °C.
    after = [c.patch["temperature"] for c in _run_world(world, 200) if c.device == SENSOR]
    assert not world.heat_wave and max(after) <= HOT / 100


def test_the_coffee_machine_stays_quiet_longer_than_the_heartbeat_and_the_rest_do_not() -> None:
    changes = _run_world(World(), 64)
    longest: dict[str, int] = {}
    for device in DEVICES:
        steps = [index for index, change in enumerate(changes) if change.device == device]
        longest[device.name] = max(b - a for a, b in itertools.pairwise(steps))
    assert longest.pop("Coffee Machine") > HEARTBEAT_STEPS
    assert max(longest.values()) < HEARTBEAT_STEPS, longest


def test_a_command_that_sets_what_the_state_already_holds_is_settled() -> None:
    assert FAN_HIGH.settled({(FAN_CONTROL, "FanMode"): 3})
    assert not FAN_HIGH.settled({(FAN_CONTROL, "FanMode"): 1})
    assert not FAN_HIGH.settled({})
    toggle = ROUTINE[1]
    assert toggle.action == "Toggle" and not toggle.settled({(ON_OFF, "OnOff"): True})


def _summary(model: str, key: str, state: str, updated: float) -> dict[str, Any]:
    moment = datetime.datetime.fromtimestamp(updated, tz=datetime.UTC)
    return {
        "detectorModelName": model,
        "keyValue": key,
        "state": {"stateName": state},
        "creationTime": moment,
        "lastUpdateTime": moment,
    }


def test_detector_and_alarm_transitions_from_the_data_plane() -> None:
    warnings: list[str] = []
    automations = Automations("http://127.0.0.1:9", warn=warnings.append)
    automations.detector_models = ["too-hot", "device-heartbeat"]
    automations.alarm_model = "hot-alarm"
    stub = Stubber(automations.data)

    def look(hot: str, heartbeat: str, updated: float, alarm: str | None) -> None:
        stub.add_response(
            "list_detectors",
            {"detectorSummaries": [_summary("too-hot", "sensor", hot, updated)]},
            {"detectorModelName": "too-hot"},
        )
        stub.add_response(
            "list_detectors",
            {"detectorSummaries": [_summary("device-heartbeat", "sensor", heartbeat, 100.0)]},
            {"detectorModelName": "device-heartbeat"},
        )
        if alarm is None:
            stub.add_client_error(
                "list_alarms",
                "UnsupportedOperationException",
                "not yet",
                501,
                expected_params={"alarmModelName": "hot-alarm"},
            )
            return
        summary = {"alarmModelName": "hot-alarm", "keyValue": "sensor", "stateName": alarm}
        stub.add_response(
            "list_alarms",
            {"alarmSummaries": [{**summary, "lastUpdateTime": updated}]},
            {"alarmModelName": "hot-alarm"},
        )

    with stub:
        look("Normal", "Online", 100.0, "NORMAL")
        created, evaluated = automations.poll()
        assert evaluated == {"sensor"}
        assert {(t.kind, t.model, t.before, t.after) for t in created} == {
            ("detector", "too-hot", None, "Normal"),
            ("detector", "device-heartbeat", None, "Online"),
            ("alarm", "hot-alarm", None, "NORMAL"),
        }
        look("Normal", "Online", 100.0, "NORMAL")
        assert automations.poll() == ([], set())  # nothing was evaluated

        look("TooHot", "Online", 101.0, "ACTIVE")
        changed, evaluated = automations.poll()
        assert evaluated == {"sensor"}
        assert [t.text() for t in changed] == ["Normal → TooHot", "NORMAL → ACTIVE"]

        # A thinghub whose alarm models cannot list alarms: detectors only, said once.
        look("TooHot", "Online", 101.0, None)
        assert automations.poll() == ([], set())
        assert automations.alarm_model is None and len(warnings) == 1
        assert automations.states() == {
            "sensor": {"too-hot": "TooHot", "device-heartbeat": "Online", "hot-alarm": "ACTIVE"}
        }
    stub.assert_no_pending_responses()
    automations.close()
