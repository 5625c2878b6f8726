"""Acme device types <-> the AWS implementation of the Matter data model (spec 6.2).

Both directions live here: Acme state -> Matter attribute values (capability reports,
DEVICE_COMMAND_RESPONSE and DEVICE_EVENT), and Matter commands (AWS.SendCommand) -> Acme API
command bodies. Every Acme device has one Matter endpoint, ``"1"``. Ids are hex strings on
the wire (``"0x0006"``); here they are ints.

- plug -> "On/Off Plug-in Unit": On/Off 0x0006 (attribute OnOff 0x0000; commands Off 0x00,
  On 0x01, Toggle 0x02);
- light -> "Dimmable Light": On/Off 0x0006, and Level Control 0x0008 (CurrentLevel 0x0000,
  MinLevel 0x0002, MaxLevel 0x0003; MoveToLevel 0x00, MoveToLevelWithOnOff 0x04);
- fan -> "Fan": Fan Control 0x0202 (FanMode 0x0000, 0..5 = off, low, medium, high, on, auto;
  FanModeSequence 0x0001);
- thermometer -> "Temperature Sensor": Temperature Measurement 0x0402 (MeasuredValue 0x0000
  in 0.01 C, MinMeasuredValue 0x0001, MaxMeasuredValue 0x0002); read-only;
- thermostat -> "Thermostat": Thermostat 0x0201, heating only (LocalTemperature 0x0000 and
  OccupiedHeatingSetpoint 0x0012 in 0.01 C, ControlSequenceOfOperation 0x001B = 2 heating
  only, SystemMode 0x001C = 0 off or 4 heat; command SetpointRaiseLower 0x00).

Attribute writes arrive as AWS's pseudo-command ``0xff01`` (``{"0xff01": {"0x0000": 3}}``:
"set FanMode to 3", spec 6.3 and 11.3); a cluster given ``attributes`` instead of commands is
read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ENDPOINT_ID = "1"
SPEC_VERSION = "1.4"
CAPABILITY_REPORT_VERSION = "1.0.0"
WRITE_ATTRIBUTES = 0xFF01  # AWS pseudo-command: write the attributes given as its fields

FAN_MODES = ("off", "low", "medium", "high", "on", "auto")  # index = Matter FanModeEnum
FAN_MODE_SEQUENCE = 2  # FanModeSequenceEnum OffLowMedHighAuto
MIN_LEVEL, MAX_LEVEL = 1, 254  # Level Control for lighting
MIN_CENTI_CELSIUS, MAX_CENTI_CELSIUS = -4000, 12500  # Acme thermometers: -40..125 C
MIN_SETPOINT, MAX_SETPOINT = 700, 3000  # Acme thermostats: 7..30 C, in 0.01 C
HEATING_ONLY = 2  # ControlSequenceOfOperationEnum
SYSTEM_MODES = {"off": 0, "heat": 4}  # Acme thermostat mode -> SystemModeEnum

VendorCommand = dict[str, Any]  # a body for POST /api/devices/{id}/commands
Values = dict[int, dict[int, Any]]  # cluster id -> attribute id -> value


class MappingError(Exception):
    """A request the device cannot carry out; `status` becomes the response code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Cluster:
    id: int
    name: str  # the capability name (spec 6.3)
    schema_name: str  # for publicId: matter.<schema_name>@<spec version>
    revision: int  # the cluster revision (the report requires 1..10)
    attributes: dict[int, str]  # id -> name
    commands: tuple[int, ...] = ()

    @property
    def public_id(self) -> str:
        return f"matter.{self.schema_name}@{SPEC_VERSION}"


ON_OFF = Cluster(0x0006, "On/Off", "OnOff", 6, {0x0000: "OnOff"}, (0x00, 0x01, 0x02))
LEVEL_CONTROL = Cluster(
    0x0008,
    "Level Control",
    "LevelControl",
    6,
    {0x0000: "CurrentLevel", 0x0002: "MinLevel", 0x0003: "MaxLevel"},
    (0x00, 0x04),
)
FAN_CONTROL = Cluster(
    0x0202, "Fan Control", "FanControl", 4, {0x0000: "FanMode", 0x0001: "FanModeSequence"}
)
TEMPERATURE_MEASUREMENT = Cluster(
    0x0402,
    "Temperature Measurement",
    "TemperatureMeasurement",
    4,
    {0x0000: "MeasuredValue", 0x0001: "MinMeasuredValue", 0x0002: "MaxMeasuredValue"},
)
THERMOSTAT = Cluster(
    0x0201,
    "Thermostat",
    "Thermostat",
    6,
    {
        0x0000: "LocalTemperature",
        0x0012: "OccupiedHeatingSetpoint",
        0x001B: "ControlSequenceOfOperation",
        0x001C: "SystemMode",
    },
    (0x00,),
)

# (cluster, command id, fields, the device's state so far) -> the Acme command doing it; the
# state lets relative commands (SetpointRaiseLower) compute their target.
Writer = Callable[[Cluster, int, dict[int, Any], dict[str, Any]], VendorCommand]


@dataclass(frozen=True)
class DeviceKind:
    vendor_type: str
    device_type: str  # Matter device type name, for the capability report's deviceTypes
    clusters: tuple[Cluster, ...]
    read: Callable[[dict[str, Any]], Values]  # Acme state -> Matter attribute values
    writers: dict[int, Writer] = field(default_factory=dict)  # by cluster id

    def cluster(self, cluster_id: int) -> Cluster | None:
        return next((c for c in self.clusters if c.id == cluster_id), None)


# ----- ids and values ---------------------------------------------------------------------------


def parse_id(value: Any) -> int:
    """A Matter id from ``"0x0202"``, ``"514"`` or 514."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return int(text, 16) if text.startswith("0x") else int(text, 10)
        except ValueError:
            pass
    raise MappingError(f"{value!r} is not a Matter id")


def format_id(value: int, digits: int = 4) -> str:
    """``0x0006`` for clusters and attributes, ``0x01`` (digits=2) for commands."""
    return f"0x{value:0{digits}x}"


def entries(value: Any) -> list[tuple[Any, Any]]:
    """Pairs from a map, or from a list of single-key maps (the docs show both forms)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return [pair for item in value for pair in item.items()]
    raise MappingError(f"expected a map, not {value!r}")


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    raise MappingError(f"{value!r} is not a boolean")


def as_int(value: Any, low: int, high: int) -> int:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise MappingError(f"{value!r} is not a number") from None
    if isinstance(number, bool) or not isinstance(number, int | float) or number != int(number):
        raise MappingError(f"{value!r} is not an integer")
    if not low <= int(number) <= high:
        raise MappingError(f"{value!r} is not within {low}..{high}")
    return int(number)


def level_from_brightness(brightness: int) -> int:
    """Acme brightness (1..100 %) -> Matter CurrentLevel (1..254)."""
    return max(MIN_LEVEL, min(MAX_LEVEL, round(brightness * MAX_LEVEL / 100)))


def brightness_from_level(level: int) -> int:
    """Matter level (1..254) -> Acme brightness (1..100 %); inverse of the above."""
    return max(1, min(100, round(level * 100 / MAX_LEVEL)))


# ----- the device types -------------------------------------------------------------------------


def _read_on_off(state: dict[str, Any]) -> dict[int, Any]:
    return {0x0000: state.get("power") == "on"}


def _write_on_off(
    cluster: Cluster, command: int, fields: dict[int, Any], state: dict[str, Any]
) -> VendorCommand:
    if command == 0x00:
        return {"action": "set", "state": {"power": "off"}}
    if command == 0x01:
        return {"action": "set", "state": {"power": "on"}}
    if command == 0x02:
        return {"action": "toggle"}
    if command == WRITE_ATTRIBUTES:
        _only_writable(cluster, fields, {0x0000})
        return {"action": "set", "state": {"power": "on" if as_bool(fields[0x0000]) else "off"}}
    raise _unsupported(cluster, command)


def _write_level(
    cluster: Cluster, command: int, fields: dict[int, Any], state: dict[str, Any]
) -> VendorCommand:
    if command in (0x00, 0x04, WRITE_ATTRIBUTES):  # MoveToLevel(WithOnOff): field 0 = Level
        if command == WRITE_ATTRIBUTES:
            _only_writable(cluster, fields, {0x0000})
        if 0x0000 not in fields:
            raise MappingError(f"{format_id(command, 2)} needs the level (field 0x0000)")
        level = as_int(fields[0x0000], 0, MAX_LEVEL)
        if command == 0x04 and level <= MIN_LEVEL:
            return {"action": "set", "state": {"power": "off"}}
        state: dict[str, Any] = {"brightness": brightness_from_level(max(level, MIN_LEVEL))}
        if command == 0x04:
            state["power"] = "on"
        return {"action": "set", "state": state}
    raise _unsupported(cluster, command)


def _write_fan(
    cluster: Cluster, command: int, fields: dict[int, Any], state: dict[str, Any]
) -> VendorCommand:
    if command == WRITE_ATTRIBUTES:
        _only_writable(cluster, fields, {0x0000})
        mode = as_int(fields[0x0000], 0, len(FAN_MODES) - 1)
        return {"action": "set", "state": {"mode": FAN_MODES[mode]}}
    raise _unsupported(cluster, command)


def _read_thermostat(state: dict[str, Any]) -> dict[int, Any]:
    return {
        0x0000: round(float(state.get("temperature", 20.0)) * 100),
        0x0012: round(float(state.get("setpoint", 20.0)) * 100),
        0x001B: HEATING_ONLY,
        0x001C: SYSTEM_MODES.get(state.get("mode", "heat"), 0),
    }


def _write_thermostat(
    cluster: Cluster, command: int, fields: dict[int, Any], state: dict[str, Any]
) -> VendorCommand:
    if command == 0x00:  # SetpointRaiseLower: Mode 0x00 (0 heat, 1 cool, 2 both), Amount 0x01
        if 0x0000 not in fields or 0x0001 not in fields:
            raise MappingError("SetpointRaiseLower needs Mode (0x0000) and Amount (0x0001)")
        mode = as_int(fields[0x0000], 0, 2)
        if mode == 1:
            raise MappingError("a heating-only thermostat has no cooling setpoint")
        amount = as_int(fields[0x0001], -128, 127)  # steps of 0.1 C
        current = round(float(state.get("setpoint", 20.0)) * 100)
        # Matter clamps a raised or lowered setpoint to the limits rather than refusing it.
        target = max(MIN_SETPOINT, min(MAX_SETPOINT, current + amount * 10))
        return {"action": "set", "state": {"setpoint": target / 100}}
    if command == WRITE_ATTRIBUTES:
        _only_writable(cluster, fields, {0x0012, 0x001C})
        patch: dict[str, Any] = {}
        if 0x0012 in fields:
            patch["setpoint"] = as_int(fields[0x0012], MIN_SETPOINT, MAX_SETPOINT) / 100
        if 0x001C in fields:
            system_mode = as_int(fields[0x001C], 0, 9)
            modes = {value: name for name, value in SYSTEM_MODES.items()}
            if system_mode not in modes:
                raise MappingError(f"SystemMode {system_mode} is not off (0) or heat (4)")
            patch["mode"] = modes[system_mode]
        return {"action": "set", "state": patch}
    raise _unsupported(cluster, command)


def _only_writable(cluster: Cluster, fields: dict[int, Any], writable: set[int]) -> None:
    if not fields:
        raise MappingError(f"nothing to write on {cluster.name}")
    for attribute in fields:
        if attribute not in writable:
            name = cluster.attributes.get(attribute, format_id(attribute))
            raise MappingError(f"{cluster.name} attribute {name} is not writable")


def _unsupported(cluster: Cluster, command: int) -> MappingError:
    return MappingError(f"{cluster.name} does not support command {format_id(command, 2)}")


KINDS: dict[str, DeviceKind] = {
    kind.vendor_type: kind
    for kind in (
        DeviceKind(
            "plug",
            "On/Off Plug-in Unit",
            (ON_OFF,),
            lambda state: {ON_OFF.id: _read_on_off(state)},
            {ON_OFF.id: _write_on_off},
        ),
        DeviceKind(
            "light",
            "Dimmable Light",
            (ON_OFF, LEVEL_CONTROL),
            lambda state: {
                ON_OFF.id: _read_on_off(state),
                LEVEL_CONTROL.id: {
                    0x0000: level_from_brightness(int(state.get("brightness", 100))),
                    0x0002: MIN_LEVEL,
                    0x0003: MAX_LEVEL,
                },
            },
            {ON_OFF.id: _write_on_off, LEVEL_CONTROL.id: _write_level},
        ),
        DeviceKind(
            "fan",
            "Fan",
            (FAN_CONTROL,),
            lambda state: {
                FAN_CONTROL.id: {
                    0x0000: FAN_MODES.index(state.get("mode", "off")),
                    0x0001: FAN_MODE_SEQUENCE,
                }
            },
            {FAN_CONTROL.id: _write_fan},
        ),
        DeviceKind(
            "thermometer",
            "Temperature Sensor",
            (TEMPERATURE_MEASUREMENT,),
            lambda state: {
                TEMPERATURE_MEASUREMENT.id: {
                    0x0000: round(float(state.get("temperature", 0.0)) * 100),
                    0x0001: MIN_CENTI_CELSIUS,
                    0x0002: MAX_CENTI_CELSIUS,
                }
            },
        ),
        DeviceKind(
            "thermostat",
            "Thermostat",
            (THERMOSTAT,),
            lambda state: {THERMOSTAT.id: _read_thermostat(state)},
            {THERMOSTAT.id: _write_thermostat},
        ),
    )
}


def kind_of(device: dict[str, Any]) -> DeviceKind | None:
    """The mapping of an Acme device; None for a type this connector does not know."""
    return KINDS.get(device.get("type", ""))


def _kind(device: dict[str, Any]) -> DeviceKind:
    kind = kind_of(device)
    if kind is None:
        raise MappingError(f"device type {device.get('type')!r} is not supported", 501)
    return kind


# ----- Acme -> Matter ---------------------------------------------------------------------------


def capability_report(device: dict[str, Any]) -> dict[str, Any]:
    """The MatterCapabilityReport of a device (spec 5.4), current values included."""
    kind = _kind(device)
    values = kind.read(device["state"])
    clusters = [
        {
            "id": format_id(cluster.id),
            "revision": cluster.revision,
            "publicId": cluster.public_id,
            "name": cluster.name,
            "specVersion": SPEC_VERSION,
            "attributes": [
                {"id": format_id(attribute), "name": name, "value": values[cluster.id][attribute]}
                for attribute, name in cluster.attributes.items()
            ],
            "commands": [format_id(command, 2) for command in cluster.commands],
            "events": [],
        }
        for cluster in kind.clusters
    ]
    return {
        "version": CAPABILITY_REPORT_VERSION,
        "nodeId": device["id"],
        "endpoints": [{"id": ENDPOINT_ID, "deviceTypes": [kind.device_type], "clusters": clusters}],
    }


def discovered_device(device: dict[str, Any]) -> dict[str, Any]:
    """One entry of SendConnectorEvent ``Devices`` (DEVICE_DISCOVERY)."""
    return {
        "ConnectorDeviceId": device["id"],
        "ConnectorDeviceName": device_name(device),
        "CapabilityReport": capability_report(device),
        "DeviceMetadata": {
            "brand": device.get("brand", "Acme"),
            "model": device.get("model", ""),
            "serialNumber": device.get("serial", ""),
        },
    }


def device_name(device: dict[str, Any]) -> str:
    """The name, reduced to what ConnectorDeviceName allows (letters, digits, `` ._-``)."""
    kept = "".join(c if c.isalnum() or c in " ._-" else " " for c in device.get("name", ""))
    name = re.sub(r" +", " ", kept).strip()[:256]
    return name or device["id"]


def matter_endpoint(
    device: dict[str, Any],
    clusters: Iterable[int] | None = None,
    commands: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A MatterEndpoint (spec 5.5) with the current attributes of `clusters` (default: all)
    and, per cluster, the `commands` results to report."""
    kind = _kind(device)
    values = kind.read(device["state"])
    wanted = list(clusters) if clusters is not None else [c.id for c in kind.clusters]
    reported = []
    for cluster_id in wanted:
        entry: dict[str, Any] = {
            "id": format_id(cluster_id),
            "attributes": {format_id(a): v for a, v in values[cluster_id].items()},
        }
        if commands and commands.get(cluster_id):
            entry["commands"] = commands[cluster_id]
        reported.append(entry)
    return {"id": ENDPOINT_ID, "clusters": reported}


# ----- Matter -> Acme ---------------------------------------------------------------------------


@dataclass
class PlannedCommand:
    """One Matter command of an AWS.SendCommand and the Acme command that carries it out."""

    cluster: int
    command: int | None  # None: an ``attributes`` write
    fields: dict[int, Any]
    vendor: VendorCommand

    def echo(self) -> tuple[str, dict[str, Any]] | None:
        """(command id, its fields) as reported back; None for an attributes write."""
        if self.command is None:
            return None
        return format_id(self.command, 2), {format_id(k): v for k, v in self.fields.items()}


@dataclass
class CommandPlan:
    clusters: list[int]  # every cluster the request names, in order: these are reported
    commands: list[PlannedCommand]


def plan_commands(device: dict[str, Any], endpoints: Any) -> CommandPlan:
    """Translate the ``endpoints`` of an AWS.SendCommand for this device; MappingError if any
    part cannot be done (then nothing is done)."""
    kind = _kind(device)
    if not isinstance(endpoints, list) or not endpoints:
        raise MappingError("the command names no endpoints")
    plan = CommandPlan([], [])
    state = dict(device["state"])  # as each planned command leaves it
    for endpoint in endpoints:
        if not isinstance(endpoint, dict) or str(endpoint.get("id")) != ENDPOINT_ID:
            identifier = endpoint.get("id") if isinstance(endpoint, dict) else endpoint
            raise MappingError(f"the device has no endpoint {identifier!r}")
        clusters = endpoint.get("clusters")
        if not isinstance(clusters, list):
            raise MappingError("an endpoint needs a list of clusters")
        for entry in clusters:
            if not isinstance(entry, dict):
                raise MappingError(f"{entry!r} is not a cluster")
            _plan_cluster(kind, entry, plan, state)
    return plan


def _plan_cluster(
    kind: DeviceKind, entry: dict[str, Any], plan: CommandPlan, state: dict[str, Any]
) -> None:
    cluster_id = parse_id(entry.get("id"))
    cluster = kind.cluster(cluster_id)
    if cluster is None:
        raise MappingError(f"a {kind.vendor_type} has no cluster {format_id(cluster_id)}")
    if cluster_id not in plan.clusters:
        plan.clusters.append(cluster_id)
    writer = kind.writers.get(cluster_id)
    requests: list[tuple[int | None, dict[int, Any]]] = []
    for command, fields in entries(entry.get("commands")):
        requests.append((parse_id(command), {parse_id(k): v for k, v in entries(fields)}))
    attributes = {parse_id(k): v for k, v in entries(entry.get("attributes"))}
    if attributes:
        requests.append((None, attributes))
    for command, fields in requests:
        if writer is None:
            raise MappingError(f"{cluster.name} of a {kind.vendor_type} is read-only")
        vendor = writer(cluster, WRITE_ATTRIBUTES if command is None else command, fields, state)
        plan.commands.append(PlannedCommand(cluster_id, command, fields, vendor))
        if vendor.get("action") == "toggle":
            state["power"] = "off" if state.get("power") == "on" else "on"
        else:
            state.update(vendor.get("state") or {})
