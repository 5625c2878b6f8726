"""thinghub's view of the things' state, read the way a customer reads it (GetManagedThingState),
and what changed since the last look. This is how the live log sees what reached thinghub:
from thinghub's side, through its API."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from thinghub.demo.customer import Customer, Thing

# Properties that describe a device rather than its state: shown once, never as changes.
STATIC = {
    "MinLevel",
    "MaxLevel",
    "FanModeSequence",
    "MinMeasuredValue",
    "MaxMeasuredValue",
    "ControlSequenceOfOperation",
}
CENTI_CELSIUS = {"MeasuredValue", "LocalTemperature", "OccupiedHeatingSetpoint"}


@dataclass(frozen=True)
class Reading:
    """One property of one capability of a thing."""

    capability: str  # matter.FanControl@1.4
    name: str  # FanMode
    value: Any
    value_name: str | None = None  # an enum value's name: "High"

    def text(self) -> str:
        """``FanMode = High``, ``OnOff = on``, ``MeasuredValue = 21.50 °C``."""
        return f"{self.name} = {format_value(self.name, self.value, self.value_name)}"


def format_value(name: str, value: Any, value_name: str | None = None) -> str:
    if value_name:
        return value_name
    if isinstance(value, bool):
        return "on" if value else "off"
    if name in CENTI_CELSIUS and isinstance(value, int | float):
        return f"{value / 100:.2f} °C"
    if name == "CurrentLevel" and isinstance(value, int | float):
        return f"{value} ({round(value * 100 / 254)} %)"
    return str(value)


def readings(endpoints: list[dict[str, Any]]) -> dict[tuple[str, str], Reading]:
    """GetManagedThingState's endpoints, flattened to (capability id, property) -> reading."""
    found: dict[tuple[str, str], Reading] = {}
    for endpoint in endpoints:
        for capability in endpoint.get("capabilities", []):
            capability_id = str(capability.get("id"))
            for name, entry in (capability.get("properties") or {}).items():
                if isinstance(entry, dict):
                    value, value_name = entry.get("value"), entry.get("valueName")
                else:
                    value, value_name = entry, None
                found[(capability_id, name)] = Reading(capability_id, name, value, value_name)
    return found


class States:
    """The last state seen of every thing; `changes` says what is new since then."""

    def __init__(self, customer: Customer) -> None:
        self._customer = customer
        self._known: dict[str, dict[tuple[str, str], Reading]] = {}
        self.available = True  # False when the hub does not serve GetManagedThingState
        self.unavailable_reason = ""

    def read(self, thing: Thing) -> dict[tuple[str, str], Reading]:
        """The thing's state now (remembered as seen)."""
        if not self.available:
            return {}
        try:
            now = readings(self._customer.state(thing))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in ("NotImplementedException", "UnknownOperationException"):
                self.available = False
                self.unavailable_reason = str(error.get("Message") or error.get("Code"))
                return {}
            raise
        self._known[thing.id] = now
        return now

    def known(self, thing: Thing) -> dict[tuple[str, str], Reading]:
        """The state seen at the last look (nothing is read now)."""
        return dict(self._known.get(thing.id, {}))

    def changes(self, thing: Thing) -> list[Reading]:
        """Readings that are new or different since the last look."""
        before = self._known.get(thing.id, {})
        now = self.read(thing)
        return [
            reading
            for key, reading in now.items()
            if reading.name not in STATIC
            and (key not in before or before[key].value != reading.value)
        ]

    def wait_for_changes(self, thing: Thing, timeout: float) -> list[Reading]:
        """`changes`, polled until there are some or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self.changes(thing)
            if changed or not self.available or time.monotonic() > deadline:
                return changed
            time.sleep(0.1)
