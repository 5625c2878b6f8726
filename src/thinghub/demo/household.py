"""The simulated household: the devices Acme seeds for the demo's user, and the physical world
that keeps changing them (a sensor drifting, a room warming up, someone switching the fan, now
and then a heat wave on the porch).

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

# The heat wave: the porch sensor climbs above the too-hot detector's 30 °C in two readings,
# stays there for a few, then cools down below its 28 °C, a few degrees at a time.
HEAT_PEAK = 32.5
HEAT_HOLD = 2  # porch readings at the peak
HEAT_COOLING = 2.5  # degrees per porch reading
HEAT_OVER = 27.0  # the heat wave is over below this
WALK_HIGH = 30.0  # the everyday random walk never goes above this


class World:
    """The physical world: every `step` changes one device, in a fixed rhythm with a little
    randomness, so a demo shows sensors ticking and now and then a device used by hand.

    Every 16 steps: the porch sensor 7 times, the hallway 4 times, the fan and the light twice
    each, the coffee machine once (so it stays quiet long enough for its heartbeat detector to
    call it Offline). `start_heat_wave` makes the porch hot for a while."""

    def __init__(self, seed: int = 7) -> None:
        self._random = random.Random(seed)
        self._state = {device.id: dict(device.state) for device in DEVICES}
        self._tick = 0
        self._fan_turns = 0
        self._heat_steps: list[Change] = []  # taken before the rhythm goes on
        self._heat_hold = 0  # porch readings left at the peak
        self._cooling = False

    @property
    def heat_wave(self) -> bool:
        """Whether a heat wave is on (from its start until the porch cooled down)."""
        return bool(self._heat_steps) or self._heat_hold > 0 or self._cooling

    def observe(self, device_id: str, state: dict[str, Any]) -> None:
        """What Acme says a device's state is now (after a command, say)."""
        self._state[device_id] = dict(state)

    def start_heat_wave(self) -> None:
        """The fan is switched off as everyone leaves; then the porch heats up in two
        readings, one step after the other."""
        if self.heat_wave:
            return
        steps = []
        if self._state[FAN.id].get("mode") != "off":
            steps.append(Change(FAN, {"mode": "off"}, "switched off by hand"))
        now = float(self._state[SENSOR.id]["temperature"])
        halfway = round((now + HEAT_PEAK) / 2, 1)
        steps.append(Change(SENSOR, {"temperature": halfway}, "heat wave"))
        steps.append(Change(SENSOR, {"temperature": HEAT_PEAK}, "heat wave"))
        self._heat_steps = steps
        self._heat_hold = HEAT_HOLD

    def step(self) -> Change:
        if self._heat_steps:
            return self._heat_steps.pop(0)
        tick, self._tick = self._tick, self._tick + 1
        slot = tick % 16
        if slot in (2, 6, 10, 14):
            return self._hallway()
        if slot in (3, 11):
            # Nobody touches the fan during a heat wave: it is the too-hot detector's.
            return self._porch() if self.heat_wave else self._fan_by_hand()
        if slot in (5, 13):
            return self._light_by_hand()
        if slot == 7:
            return self._coffee()
        return self._porch()

    def _porch(self) -> Change:
        now = float(self._state[SENSOR.id]["temperature"])
        if self._heat_hold > 0:
            self._heat_hold -= 1
            self._cooling = self._heat_hold == 0
            delta = self._random.choice((-0.2, -0.1, 0.1, 0.2))
            return Change(SENSOR, {"temperature": round(now + delta, 1)}, "heat wave")
        if self._cooling:
            value = round(now - HEAT_COOLING, 1)
            self._cooling = value >= HEAT_OVER
            return Change(SENSOR, {"temperature": value}, "cooling down")
        # A small random walk that stays in a believable range.
        delta = self._random.choice((-0.3, -0.2, -0.1, 0.1, 0.2, 0.3))
        if now + delta > WALK_HIGH:
            delta = -abs(delta)
        elif now + delta < 5.0:
            delta = abs(delta)
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
