"""The automations the demo installs, and what their detectors do, as a customer sees it.

`examples/automations` (its own installer, through stock boto3) feeds the things' DEVICE_EVENT
notifications into the IoT Events input ``DeviceEvents`` and creates two detector models keyed
by managed thing id: ``too-hot`` (a sensor above 30 °C calls the local function ``fan-high``,
which turns the fans to High) and ``device-heartbeat`` (Online/Offline with a quiet timer).
Where this thinghub has IoT Events alarm models, the demo adds ``hot-alarm`` on the same input.

The live log learns what the detectors did the way anyone would: by polling the data plane
(``iotevents-data`` ListDetectors and ListAlarms) and comparing with the last look.
"""

from __future__ import annotations

import importlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError

from thinghub.demo.customer import client
from thinghub.demo.workspace import MIN_TIMER_SECONDS, REGION
from thinghub.identities import DEFAULT_IDENTITY

INSTALLER = "examples.automations.install"
HOT_MODEL = "too-hot"
HOT_STATE = "TooHot"  # entering it runs the model's lambda action (fan-high)
HEARTBEAT_MODEL = "device-heartbeat"
OFFLINE = "Offline"
ALARM_MODEL = "hot-alarm"
ALARM_SEVERITY = 2
HEARTBEAT_STEPS = 10  # the heartbeat's quiet period, in intervals of the live log
POLL = 0.05


def heartbeat_seconds(interval: float) -> int:
    """The heartbeat's quiet period: ten device changes' time (20 s at the default interval),
    so the devices the world changes often stay Online and the coffee machine does not."""
    return max(MIN_TIMER_SECONDS, math.ceil(HEARTBEAT_STEPS * interval))


def installer(examples: Path) -> ModuleType:
    """`examples/automations/install.py` from the checkout (not part of the installed
    package), imported the way thinghub's ``python_path`` imports the connector."""
    if str(examples) not in sys.path:
        sys.path.insert(0, str(examples))
    return importlib.import_module(INSTALLER)


def hot_alarm(install: ModuleType) -> dict[str, Any]:
    """CreateAlarmModel's request: an alarm per managed thing, ACTIVE while its temperature is
    above the too-hot threshold, back to NORMAL by itself (no acknowledge flow)."""
    measured = (
        f"$input.{install.INPUT}.payload.endpoints[0].capabilities[0]"
        ".properties.MeasuredValue.value"
    )
    return {
        "alarmModelName": ALARM_MODEL,
        "alarmModelDescription": "A temperature sensor above 30 °C",
        "roleArn": install.ROLE.format(account=DEFAULT_IDENTITY.account_id),
        "key": "payload.managedThingId",
        "severity": ALARM_SEVERITY,
        "alarmRule": {
            "simpleRule": {
                "inputProperty": measured,
                "comparisonOperator": "GREATER",
                "threshold": str(install.HOT),
            }
        },
        # AWS's alarms start DISABLED unless told otherwise.
        "alarmCapabilities": {
            "acknowledgeFlow": {"enabled": False},
            "initializationConfiguration": {"disabledOnInitialization": False},
        },
    }


@dataclass(frozen=True)
class Transition:
    """A detector or alarm seen in a new state (or for the first time)."""

    kind: str  # "detector" or "alarm"
    model: str  # the detector model or alarm model
    key: str  # its key value: a managed thing id
    before: str | None  # None: it did not exist at the last look
    after: str

    def text(self) -> str:
        return self.after if self.before is None else f"{self.before} → {self.after}"


@dataclass(frozen=True)
class _Seen:
    state: str
    updated: Any  # lastUpdateTime


class Automations:
    """The IoT Events side of the demo: installing the models, then watching their detectors."""

    def __init__(self, endpoint: str, warn: Callable[[str], None]) -> None:
        self.events = client(endpoint, "iotevents")
        self.data = client(endpoint, "iotevents-data")
        self._warn = warn
        self.detector_models: list[str] = []
        self.input = ""
        self.alarm_model: str | None = None
        self.no_alarms = ""  # why there are no alarms, when there are none
        self._seen: dict[tuple[str, str, str], _Seen] = {}  # by (kind, model, key)

    def install(self, mi: Any, examples: Path, heartbeat: int) -> list[str]:
        """The input, the notifications that feed it and the detector models; their names."""
        install = installer(examples)
        self.input = str(install.INPUT)
        models = install.install(
            mi,
            self.events,
            region=REGION,
            account_id=DEFAULT_IDENTITY.account_id,
            heartbeat_seconds=heartbeat,
        )
        self.detector_models = [str(name) for name in models]
        return self.detector_models

    def install_alarm(self, examples: Path) -> bool:
        """The ``hot-alarm`` alarm model, if this thinghub has alarm models; else False and
        `no_alarms` says why."""
        try:
            self.events.create_alarm_model(**hot_alarm(installer(examples)))
        except ClientError as exc:
            self.no_alarms = _reason("CreateAlarmModel", exc)
            return False
        self.alarm_model = ALARM_MODEL
        return True

    # ----- watching ---------------------------------------------------------------------------

    def poll(self) -> tuple[list[Transition], set[str]]:
        """What changed since the last look: (transitions, the keys whose detectors or alarms
        were evaluated, whether or not their state changed)."""
        transitions: list[Transition] = []
        evaluated: set[str] = set()
        for kind, model, key, state, updated in self._current():
            before = self._seen.get((kind, model, key))
            if before is not None and before.updated == updated:
                continue
            evaluated.add(key)
            self._seen[(kind, model, key)] = _Seen(state, updated)
            if before is None or before.state != state:
                previous = None if before is None else before.state
                transitions.append(Transition(kind, model, key, previous, state))
        return transitions, evaluated

    def wait_for(self, key: str, timeout: float) -> list[Transition]:
        """Poll until the detectors of `key` evaluated something (a device event of that thing
        reached them) or `timeout` passes; every transition seen meanwhile."""
        deadline = time.monotonic() + timeout
        transitions: list[Transition] = []
        while True:
            found, evaluated = self.poll()
            transitions += found
            if key in evaluated or time.monotonic() > deadline:
                return transitions
            time.sleep(POLL)

    def states(self) -> dict[str, dict[str, str]]:
        """The last state seen of every detector and alarm: by key, then by model."""
        found: dict[str, dict[str, str]] = {}
        for (_, model, key), seen in self._seen.items():
            found.setdefault(key, {})[model] = seen.state
        return found

    def models(self) -> list[str]:
        """The detector models, then the alarm model if there is one."""
        return self.detector_models + ([self.alarm_model] if self.alarm_model else [])

    def _current(self) -> Iterator[tuple[str, str, str, str, Any]]:
        """(kind, model, key, state, lastUpdateTime) of every detector and alarm now."""
        for model in self.detector_models:
            for summary in _pages(self.data.list_detectors, "detectorSummaries", model):
                state = str(summary.get("state", {}).get("stateName", ""))
                yield "detector", model, str(summary.get("keyValue", "")), state, _updated(summary)
        if self.alarm_model is None:
            return
        try:
            summaries = list(_pages(self.data.list_alarms, "alarmSummaries", self.alarm_model))
        except ClientError as exc:
            # Alarm models that can be created but not yet listed: watch the detectors only.
            self.no_alarms = _reason("ListAlarms", exc)
            self.alarm_model = None
            self._warn(f"no alarms after all: {self.no_alarms}")
            return
        for summary in summaries:
            state = str(summary.get("stateName", ""))
            key = str(summary.get("keyValue", ""))
            yield "alarm", self.alarm_model, key, state, _updated(summary)

    def close(self) -> None:
        self.events.close()
        self.data.close()


def _pages(call: Callable[..., Any], items: str, model: str) -> Iterator[dict[str, Any]]:
    """Every item of a ListDetectors or ListAlarms (the data plane has no paginators)."""
    name = "alarmModelName" if items == "alarmSummaries" else "detectorModelName"
    token: str | None = None
    while True:
        page = call(**{name: model}, **({"nextToken": token} if token else {}))
        yield from page.get(items, [])
        token = page.get("nextToken")
        if not token:
            return


def _updated(summary: dict[str, Any]) -> Any:
    return summary.get("lastUpdateTime") or summary.get("creationTime")


def _reason(operation: str, exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{operation} answered {error.get('Code')}: {error.get('Message')}"
