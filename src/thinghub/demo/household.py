"""The simulated household: the devices Acme seeds for the demo's user, and the physical world
that keeps changing them (a sensor drifting, a room warming up, someone switching the fan).

A physical change goes through Acme's admin endpoint, exactly as a real device reporting to its
cloud would: Acme stores it and calls its webhooks, so the change reaches thinghub as a
DEVICE_EVENT through the connector's webhook receiver.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

USER = "alice"
USER_NAME = "Alice Example"


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    type: str  # Acme's device type
    model: str
    state: dict[str, Any] = field(default_factory=dict)


LIGHT = Device(
    "acme-light-001", "Living Room Light", "light", "AL-200", {"power": "off", "brightness": 60}
)
FAN = Device("acme-fan-001", "Bedroom Fan", "fan", "AF-300", {"mode": "off"})
THERMOSTAT = Device(
    "acme-thermostat-001",
    "Hallway Thermostat",
    "thermostat",
    "ATS-10",
    {"mode": "heat", "setpoint": 20.0, "temperature": 18.5},
)
SENSOR = Device(
    "acme-sensor-001", "Porch Thermometer", "thermometer", "AT-50", {"temperature": 14.5}
)
PLUG = Device("acme-plug-001", "Coffee Machine", "plug", "AP-100", {"power": "off"})
DEVICES = (LIGHT, FAN, THERMOSTAT, SENSOR, PLUG)


def seed_document() -> dict[str, Any]:
    """The Acme seed (``--seed-file``): the demo's user and devices."""
    return {
        "users": [
            {
                "id": USER,
                "name": USER_NAME,
                "email": f"{USER}@example.com",
                "devices": [
                    {
                        "id": device.id,
                        "name": device.name,
                        "type": device.type,
                        "model": device.model,
                        "serial": f"{device.model}-{index:04d}",
                        "state": dict(device.state),
                    }
                    for index, device in enumerate(DEVICES, start=1)
                ],
            }
        ]
    }


@dataclass(frozen=True)
class Change:
    """One physical change: the state patch for Acme's admin endpoint and what happened."""

    device: Device
    patch: dict[str, Any]
    what: str  # "warmed up", "switched by hand", ...


FAN_BY_HAND = ("low", "medium", "off", "high", "off")


class World:
    """The physical world: every `step` changes one device, in a fixed rhythm with a little
    randomness, so a demo shows sensors ticking and now and then a device used by hand."""

    def __init__(self, seed: int = 7) -> None:
        self._random = random.Random(seed)
        self._state = {device.id: dict(device.state) for device in DEVICES}
        self._tick = 0
        self._fan_turns = 0

    def observe(self, device_id: str, state: dict[str, Any]) -> None:
        """What Acme says a device's state is now (after a command, say)."""
        self._state[device_id] = dict(state)

    def step(self) -> Change:
        tick, self._tick = self._tick, self._tick + 1
        if tick % 2 == 0:  # every other step: the sensors
            return self._porch() if tick % 4 == 0 else self._hallway()
        if tick % 8 == 3:
            return self._fan_by_hand()
        if tick % 8 == 5:
            return self._light_by_hand()
        if tick % 8 == 7:
            return self._coffee()
        return self._porch()

    def _porch(self) -> Change:
        now = float(self._state[SENSOR.id]["temperature"])
        # A small random walk that stays in a believable range.
        delta = self._random.choice((-0.3, -0.2, -0.1, 0.1, 0.2, 0.3))
        if not 5.0 <= now + delta <= 30.0:
            delta = -delta
        return Change(SENSOR, {"temperature": round(now + delta, 1)}, "measured")

    def _hallway(self) -> Change:
        state = self._state[THERMOSTAT.id]
        now, target = float(state["temperature"]), float(state["setpoint"])
        if state.get("mode") == "heat" and now < target:
            value, what = min(target, now + 0.4), "warming up"
        elif now > 16.0:
            value, what = now - 0.2, "cooling down"
        else:
            value, what = now + 0.1, "measured"
        return Change(THERMOSTAT, {"temperature": round(value, 1)}, what)

    def _fan_by_hand(self) -> Change:
        mode = FAN_BY_HAND[self._fan_turns % len(FAN_BY_HAND)]
        self._fan_turns += 1
        if mode == self._state[FAN.id].get("mode"):
            mode = "medium" if mode != "medium" else "low"
        return Change(FAN, {"mode": mode}, "switched by hand")

    def _light_by_hand(self) -> Change:
        power = "off" if self._state[LIGHT.id].get("power") == "on" else "on"
        return Change(LIGHT, {"power": power}, "switched by hand")

    def _coffee(self) -> Change:
        power = "off" if self._state[PLUG.id].get("power") == "on" else "on"
        return Change(PLUG, {"power": power}, "switched at the wall")
