"""The Acme <-> Matter mapping on its own: ids, values, names, reports that fit the model."""

from __future__ import annotations

from typing import Any

import pytest
from examples.acme_connector import mapping
from examples.acme_connector.mapping import MappingError

from tests.examples.modelcheck import violations


def device(kind: str, state: dict[str, Any], name: str = "Thing") -> dict[str, Any]:
    return {
        "id": f"acme-{kind}-9",
        "name": name,
        "type": kind,
        "model": "X-1",
        "serial": "S-1",
        "brand": "Acme",
        "state": state,
    }


DEVICES = [
    device("plug", {"power": "on"}),
    device("light", {"power": "off", "brightness": 1}),
    device("fan", {"mode": "auto"}),
    device("thermometer", {"temperature": -12.345}),
    device("thermostat", {"mode": "heat", "setpoint": 21.5, "temperature": 19.25}),
]


def test_brightness_and_level_round_trip() -> None:
    for brightness in range(1, 101):
        level = mapping.level_from_brightness(brightness)
        assert 1 <= level <= 254
        assert mapping.brightness_from_level(level) == brightness
    assert mapping.level_from_brightness(100) == 254
    assert mapping.brightness_from_level(1) == 1


@pytest.mark.parametrize(
    ("text", "value"),
    [("0x0202", 0x0202), ("0XFF01", 0xFF01), ("514", 514), (6, 6), (" 0x06 ", 6)],
)
def test_ids_are_hex_or_decimal(text: Any, value: int) -> None:
    assert mapping.parse_id(text) == value


@pytest.mark.parametrize("text", ["zz", "0x", -1, True, None, 1.5])
def test_bad_ids_are_mapping_errors(text: Any) -> None:
    with pytest.raises(MappingError):
        mapping.parse_id(text)


def test_ids_are_formatted_as_the_docs_show_them() -> None:
    assert mapping.format_id(6) == "0x0006"
    assert mapping.format_id(1, 2) == "0x01"
    assert mapping.format_id(0xFF01, 2) == "0xff01"


def test_maps_and_lists_of_single_key_maps_read_alike() -> None:
    assert mapping.entries({"0x0000": 3}) == [("0x0000", 3)]
    assert mapping.entries([{"0x0000": "3"}, {"0x0001": 2}]) == [("0x0000", "3"), ("0x0001", 2)]
    assert mapping.entries(None) == []
    with pytest.raises(MappingError):
        mapping.entries("0x0000")


def test_values_are_coerced_leniently_but_checked() -> None:
    assert mapping.as_bool("true") is True and mapping.as_bool(0) is False
    assert mapping.as_int("3", 0, 5) == 3 and mapping.as_int(3.0, 0, 5) == 3
    for bad in ("3.5", 6, "x", True):
        with pytest.raises(MappingError):
            mapping.as_int(bad, 0, 5)
    with pytest.raises(MappingError):
        mapping.as_bool("yes")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alice's Lamp #2", "Alice s Lamp 2"),
        ("Küche \u2013 Licht", "Küche Licht"),
        ("!!!", "acme-plug-9"),
        ("x" * 300, "x" * 256),
    ],
)
def test_device_names_are_reduced_to_what_the_model_allows(name: str, expected: str) -> None:
    assert mapping.device_name(device("plug", {"power": "on"}, name)) == expected


def test_every_device_type_reports_within_the_model() -> None:
    params = {
        "ConnectorId": "c",
        "Operation": "DEVICE_DISCOVERY",
        "DeviceDiscoveryId": "d1",
        "UserId": "alice",
        "Devices": [mapping.discovered_device(d) for d in DEVICES],
    }
    assert violations("iot-managed-integrations", "SendConnectorEvent", params) == []
    for each in DEVICES:
        event = {
            "ConnectorId": "c",
            "Operation": "DEVICE_EVENT",
            "MatterEndpoint": mapping.matter_endpoint(each),
        }
        assert violations("iot-managed-integrations", "SendConnectorEvent", event) == []


def test_values_map_to_matter_units() -> None:
    light, fan, thermometer = DEVICES[1], DEVICES[2], DEVICES[3]
    assert mapping.matter_endpoint(light)["clusters"][1]["attributes"]["0x0000"] == 3
    assert mapping.matter_endpoint(fan)["clusters"][0]["attributes"]["0x0000"] == 5
    assert mapping.matter_endpoint(thermometer)["clusters"][0]["attributes"]["0x0000"] == -1234


def test_unknown_device_types_are_skipped_or_refused() -> None:
    camera = device("camera", {})
    assert mapping.kind_of(camera) is None
    with pytest.raises(MappingError) as raised:
        mapping.capability_report(camera)
    assert raised.value.status == 501


@pytest.mark.parametrize(
    "endpoints", [None, [], "1", [{"id": "1"}], [{"id": "1", "clusters": [7]}]]
)
def test_malformed_command_endpoints_are_mapping_errors(endpoints: Any) -> None:
    with pytest.raises(MappingError):
        mapping.plan_commands(DEVICES[0], endpoints)


def test_a_plan_lists_clusters_once_in_request_order() -> None:
    endpoints = [
        {
            "id": "1",
            "clusters": [
                {"id": "0x0008", "commands": {"0x00": {"0x0000": 254}}},
                {"id": "0x0006", "commands": {"0x01": {}}},
                {"id": "8"},
            ],
        }
    ]
    plan = mapping.plan_commands(DEVICES[1], endpoints)
    assert plan.clusters == [0x0008, 0x0006]
    assert [p.vendor for p in plan.commands] == [
        {"action": "set", "state": {"brightness": 100}},
        {"action": "set", "state": {"power": "on"}},
    ]


def _thermostat_plan(*clusters: dict[str, Any]) -> list[dict[str, Any]]:
    plan = mapping.plan_commands(DEVICES[4], [{"id": "1", "clusters": list(clusters)}])
    return [p.vendor for p in plan.commands]


def test_a_thermostat_reports_in_centi_celsius_and_system_modes() -> None:
    (cluster,) = mapping.matter_endpoint(DEVICES[4])["clusters"]
    assert cluster["id"] == "0x0201"
    assert cluster["attributes"] == {"0x0000": 1925, "0x0012": 2150, "0x001b": 2, "0x001c": 4}
    report = mapping.capability_report(DEVICES[4])["endpoints"][0]
    assert report["deviceTypes"] == ["Thermostat"]
    assert report["clusters"][0]["publicId"] == "matter.Thermostat@1.4"
    assert report["clusters"][0]["commands"] == ["0x00"]


def test_setpoint_raise_lower_moves_the_heating_setpoint_in_tenths() -> None:
    raise_1c = {"id": "0x0201", "commands": {"0x00": {"0x0000": 0, "0x0001": 10}}}
    assert _thermostat_plan(raise_1c) == [{"action": "set", "state": {"setpoint": 22.5}}]
    # Each command starts where the one before it left the setpoint; limits clamp.
    lower = {"id": "0x0201", "commands": [{"0x00": {"0x0000": 2, "0x0001": -128}}]}
    twice = [{"0x00": {"0x0000": 0, "0x0001": 100}}, {"0x00": {"0x0000": 0, "0x0001": 100}}]
    assert _thermostat_plan(lower) == [{"action": "set", "state": {"setpoint": 8.7}}]
    assert _thermostat_plan({"id": "0x0201", "commands": twice})[-1]["state"] == {"setpoint": 30.0}


def test_thermostat_writes_set_the_setpoint_and_system_mode() -> None:
    write = {"id": "0x0201", "commands": {"0xff01": {"0x0012": 1850, "0x001c": 0}}}
    assert _thermostat_plan(write) == [
        {"action": "set", "state": {"setpoint": 18.5, "mode": "off"}}
    ]


@pytest.mark.parametrize(
    "commands",
    [
        {"0x00": {"0x0000": 1, "0x0001": 5}},  # cooling: a heating-only thermostat has none
        {"0x00": {"0x0001": 5}},
        {"0xff01": {"0x001c": 3}},  # Cool is no system mode of a heating-only thermostat
        {"0xff01": {"0x0012": 4000}},
        {"0xff01": {"0x0000": 2000}},  # LocalTemperature is measured, not written
    ],
)
def test_impossible_thermostat_commands_are_mapping_errors(commands: dict[str, Any]) -> None:
    with pytest.raises(MappingError):
        _thermostat_plan({"id": "0x0201", "commands": commands})
