"""The commands the demo sends to managed things, in managed integrations' data model: a
capability (``matter.<Cluster>@1.4``) of endpoint ``"1"``, an action named after the Matter
command (``On``, ``MoveToLevel``, ``SetpointRaiseLower``) or ``UpdateState`` with properties
named after Matter attributes (``FanMode``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from thinghub.demo.household import FAN, LIGHT, PLUG, THERMOSTAT, Device

ENDPOINT = "1"
ON_OFF = "matter.OnOff@1.4"
LEVEL = "matter.LevelControl@1.4"
FAN_CONTROL = "matter.FanControl@1.4"
THERMOSTAT_CLUSTER = "matter.Thermostat@1.4"

# Capability names as the Matter clusters call themselves; the thing's own report wins.
CAPABILITY_NAMES = {
    ON_OFF: "On/Off",
    LEVEL: "Level Control",
    FAN_CONTROL: "Fan Control",
    THERMOSTAT_CLUSTER: "Thermostat",
}


@dataclass(frozen=True)
class Command:
    device: Device
    capability: str
    action: str
    parameters: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # how the live log shows it
    sets: dict[str, Any] = field(default_factory=dict)  # property -> the value it ends with

    def endpoints(self, capabilities: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """SendManagedThingCommand's ``Endpoints``; `capabilities` (by id) are the thing's own
        capability entries, whose name and version the request repeats."""
        own = capabilities.get(self.capability, {})
        action: dict[str, Any] = {"name": self.action}
        if self.parameters:
            action["parameters"] = self.parameters
        return [
            {
                "endpointId": ENDPOINT,
                "capabilities": [
                    {
                        "id": self.capability,
                        "name": own.get("name") or CAPABILITY_NAMES.get(self.capability, ""),
                        "version": str(own.get("version") or "1"),
                        "actions": [action],
                    }
                ],
            }
        ]

    def describe(self) -> str:
        return self.label or self.action

    def settled(self, values: Mapping[tuple[str, str], Any]) -> bool:
        """Whether `values` (thinghub's state: (capability id, property) -> value) already
        hold every property this command sets, so that it changes nothing."""
        return bool(self.sets) and all(
            values.get((self.capability, name)) == value for name, value in self.sets.items()
        )


def _level(percent: int) -> Command:
    level = round(percent * 254 / 100)
    return Command(
        LIGHT,
        LEVEL,
        "MoveToLevel",
        {"Level": level, "TransitionTime": 0},
        f"MoveToLevel Level = {level} ({percent} %)",
        {"CurrentLevel": level},
    )


def _setpoint(tenths: int) -> Command:
    # SetpointRaiseLower: Mode 0 is the heating setpoint; Amount in steps of 0.1 °C.
    sign = "+" if tenths >= 0 else "-"
    return Command(
        THERMOSTAT,
        THERMOSTAT_CLUSTER,
        "SetpointRaiseLower",
        {"Mode": 0, "Amount": tenths},
        f"SetpointRaiseLower {sign}{abs(tenths) / 10:.1f} °C",
    )


def _fan(mode: int, name: str) -> Command:
    label = f"UpdateState FanMode = {name}"
    return Command(FAN, FAN_CONTROL, "UpdateState", {"FanMode": mode}, label, {"FanMode": mode})


# Also what the too-hot detector's function sends to every fan.
FAN_HIGH = _fan(3, "High")


# Sent one after the other once the things exist.
OPENING = (
    Command(LIGHT, ON_OFF, "On", label="On", sets={"OnOff": True}),
    _level(80),
    FAN_HIGH,
    _setpoint(15),
    Command(PLUG, ON_OFF, "On", label="On", sets={"OnOff": True}),
)

# One of these every few seconds while the demo runs, round and round.
ROUTINE = (
    _fan(1, "Low"),
    Command(LIGHT, ON_OFF, "Toggle", label="Toggle"),
    _setpoint(-10),
    _level(40),
    Command(PLUG, ON_OFF, "Toggle", label="Toggle"),
    FAN_HIGH,
    Command(LIGHT, ON_OFF, "Toggle", label="Toggle"),
    _setpoint(10),
)
