"""Acme's device catalogue: device types, their state fields, and the default seed.

Acme speaks its own vocabulary (``power: "on"``, ``brightness`` in percent, fan ``mode`` names,
``temperature`` in degrees Celsius), deliberately unlike Matter's, so that the connector has
real translating to do.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import AcmeError

FAN_MODES = ("off", "low", "medium", "high", "on", "auto")
THERMOSTAT_MODES = ("off", "heat")  # Acme thermostats heat only (radiator valves)

Validator = Callable[[str, Any], Any]


def _enum(*values: str) -> Validator:
    def check(name: str, value: Any) -> Any:
        if value not in values:
            raise AcmeError(400, "invalid_value", f"{name} must be one of {', '.join(values)}")
        return value

    return check


def _integer(low: int, high: int) -> Validator:
    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise AcmeError(400, "invalid_value", f"{name} must be an integer {low}..{high}")
        return value

    return check


def _number(low: float, high: float) -> Validator:
    def check(name: str, value: Any) -> Any:
        valid = isinstance(value, int | float) and not isinstance(value, bool)
        if not valid or not low <= value <= high:
            raise AcmeError(400, "invalid_value", f"{name} must be a number {low}..{high}")
        return float(value)

    return check


@dataclass(frozen=True)
class DeviceType:
    """What a device of this type holds, and what the API (vs only the device) may change."""

    writable: dict[str, Validator]  # through POST /api/devices/{id}/commands
    sensed: dict[str, Validator]  # only the physical device changes these (admin endpoint)
    defaults: dict[str, Any]
    toggles: bool = False  # supports {"action": "toggle"} on "power"


DEVICE_TYPES: dict[str, DeviceType] = {
    "plug": DeviceType({"power": _enum("on", "off")}, {}, {"power": "off"}, toggles=True),
    "light": DeviceType(
        {"power": _enum("on", "off"), "brightness": _integer(1, 100)},
        {},
        {"power": "off", "brightness": 100},
        toggles=True,
    ),
    "fan": DeviceType({"mode": _enum(*FAN_MODES)}, {}, {"mode": "off"}),
    "thermometer": DeviceType({}, {"temperature": _number(-40, 125)}, {"temperature": 21.0}),
    "thermostat": DeviceType(
        {"mode": _enum(*THERMOSTAT_MODES), "setpoint": _number(7, 30)},
        {"temperature": _number(-40, 125)},
        {"mode": "heat", "setpoint": 20.0, "temperature": 20.0},
    ),
}


def validate_patch(device: dict[str, Any], patch: Any, *, physical: bool) -> dict[str, Any]:
    """The patch checked against the device's type; `physical` also allows sensed fields."""
    kind = DEVICE_TYPES[device["type"]]
    if not isinstance(patch, dict):
        raise AcmeError(400, "invalid_request", "state must be a JSON object")
    fields = {**kind.writable, **kind.sensed} if physical else kind.writable
    checked = {}
    for name, value in patch.items():
        if name not in fields:
            if name in kind.sensed:
                raise AcmeError(400, "read_only", f"{name} is read-only for a {device['type']}")
            raise AcmeError(400, "unknown_field", f"a {device['type']} has no field {name}")
        checked[name] = fields[name](name, value)
    return checked


def apply_command(device: dict[str, Any], body: Any) -> dict[str, Any]:
    """The state change a command body asks for: ``{"action": "set", "state": {...}}`` or
    ``{"action": "toggle"}`` (``action`` defaults to ``set``)."""
    if not isinstance(body, dict):
        raise AcmeError(400, "invalid_request", "the command must be a JSON object")
    action = body.get("action", "set")
    if action == "toggle":
        if not DEVICE_TYPES[device["type"]].toggles:
            raise AcmeError(400, "unsupported_action", f"a {device['type']} cannot toggle")
        return {"power": "off" if device["state"]["power"] == "on" else "on"}
    if action != "set":
        raise AcmeError(400, "unsupported_action", f"unknown action {action!r}")
    if not DEVICE_TYPES[device["type"]].writable:
        raise AcmeError(400, "read_only", f"a {device['type']} accepts no commands")
    return validate_patch(device, body.get("state"), physical=False)


def public_device(device: dict[str, Any]) -> dict[str, Any]:
    """A device as the API shows it."""
    return {
        key: copy.deepcopy(device[key])
        for key in ("id", "name", "type", "model", "serial", "brand", "state")
    }


# Deterministic default seed: alice has a plug, a fan, a light and a thermometer; bob has a plug.
DEFAULT_SEED: dict[str, Any] = {
    "users": [
        {
            "id": "alice",
            "name": "Alice Example",
            "email": "alice@example.com",
            "devices": [
                {
                    "id": "acme-plug-001",
                    "name": "Living Room Plug",
                    "type": "plug",
                    "model": "AP-100",
                    "serial": "AP100-0001",
                    "state": {"power": "off"},
                },
                {
                    "id": "acme-fan-001",
                    "name": "Bedroom Fan",
                    "type": "fan",
                    "model": "AF-300",
                    "serial": "AF300-0001",
                    "state": {"mode": "off"},
                },
                {
                    "id": "acme-light-001",
                    "name": "Desk Lamp",
                    "type": "light",
                    "model": "AL-200",
                    "serial": "AL200-0001",
                    "state": {"power": "on", "brightness": 80},
                },
                {
                    "id": "acme-sensor-001",
                    "name": "Porch Thermometer",
                    "type": "thermometer",
                    "model": "AT-50",
                    "serial": "AT50-0001",
                    "state": {"temperature": 21.5},
                },
            ],
        },
        {
            "id": "bob",
            "name": "Bob Example",
            "email": "bob@example.com",
            "devices": [
                {
                    "id": "acme-plug-101",
                    "name": "Garage Plug",
                    "type": "plug",
                    "model": "AP-100",
                    "serial": "AP100-0101",
                    "state": {"power": "on"},
                }
            ],
        },
    ]
}


def load_seed(seed: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Users and devices (both keyed by id) from a seed document; ValueError if malformed."""
    if not isinstance(seed, dict) or not isinstance(seed.get("users"), list):
        raise ValueError('a seed is {"users": [{"id", "name", "devices": [...]}, ...]}')
    users: dict[str, Any] = {}
    devices: dict[str, Any] = {}
    for user in seed["users"]:
        user_id = user.get("id")
        if not isinstance(user_id, str) or not user_id or user_id in users:
            raise ValueError(f"user id missing or repeated: {user_id!r}")
        users[user_id] = {
            "id": user_id,
            "name": user.get("name", user_id),
            "email": user.get("email", f"{user_id}@example.com"),
        }
        for entry in user.get("devices", []):
            device = _seed_device(entry, user_id)
            if device["id"] in devices:
                raise ValueError(f"device id repeated: {device['id']!r}")
            devices[device["id"]] = device
    return users, devices


def _seed_device(entry: dict[str, Any], user_id: str) -> dict[str, Any]:
    device_id, kind = entry.get("id"), entry.get("type")
    if not isinstance(device_id, str) or not device_id:
        raise ValueError(f"a device of {user_id} has no id")
    if kind not in DEVICE_TYPES:
        raise ValueError(f"{device_id}: type must be one of {', '.join(DEVICE_TYPES)}")
    device = {
        "id": device_id,
        "userId": user_id,
        "name": entry.get("name", device_id),
        "type": kind,
        "model": entry.get("model", f"A-{kind}"),
        "serial": entry.get("serial", device_id.upper()),
        "brand": entry.get("brand", "Acme"),
        "state": dict(DEVICE_TYPES[kind].defaults),
    }
    try:
        device["state"].update(validate_patch(device, entry.get("state", {}), physical=True))
    except AcmeError as exc:
        raise ValueError(f"{device_id}: {exc.description}") from None
    return device
