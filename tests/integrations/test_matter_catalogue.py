"""The Matter catalogue read from the SDK's cluster objects, and capability reports named by it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from thinghub.integrations import matter
from thinghub.integrations.capabilities import to_capability_report


def _cluster(cluster_id: int) -> matter.MatterCluster:
    found = matter.cluster(cluster_id)
    assert found is not None, matter.format_id(cluster_id)
    return found


def test_fan_control_fan_mode_names_its_values() -> None:
    fan = _cluster(0x0202)
    assert (fan.name, fan.schema_name) == ("Fan Control", "FanControl")
    fan_mode = fan.attributes[0x0000]
    assert fan_mode.name == "FanMode"
    assert fan_mode.enum is not None and fan_mode.enum[3] == "High"
    assert dict(fan_mode.enum) == {
        0: "Off",
        1: "Low",
        2: "Medium",
        3: "High",
        4: "On",
        5: "Auto",
        6: "Smart",
    }
    assert fan_mode.writable
    # Read-only per the SDK; the Step command's direction field is an enum too.
    assert not fan.attributes[0x0003].writable  # PercentCurrent
    step = fan.commands[0x00]
    assert step.name == "Step"
    direction = step.field_by_name("Direction")
    assert direction is not None and direction.enum == {0: "Increase", 1: "Decrease"}


def test_on_off_commands() -> None:
    on_off = _cluster(0x0006)
    assert (on_off.name, on_off.schema_name) == ("On/Off", "OnOff")
    assert [on_off.commands[i].name for i in (0x00, 0x01, 0x02)] == ["Off", "On", "Toggle"]
    assert on_off.attributes[0x0000].name == "OnOff"
    assert on_off.attributes[0x4001].name == "OnTime"


def test_level_control_move_to_level_fields() -> None:
    level = _cluster(0x0008)
    assert level.name == "Level Control"
    move = level.command_by_name("MoveToLevel")
    assert move is not None and move.id == 0x00
    assert {f.id: f.name for f in move.fields.values()} == {
        0: "Level",
        1: "TransitionTime",
        2: "OptionsMask",
        3: "OptionsOverride",
    }
    transition = move.field_by_name("TransitionTime")
    assert transition is not None and transition.id == 1 and transition.enum is None
    assert move.field_by_name("transitiontime") is transition
    assert level.attributes[0x0000].name == "CurrentLevel"


def test_thermostat_and_temperature_measurement() -> None:
    thermostat = _cluster(0x0201)
    raise_lower = thermostat.command_by_name("SetpointRaiseLower")
    assert raise_lower is not None and raise_lower.id == 0x00
    mode = raise_lower.field_by_name("Mode")
    assert mode is not None and mode.enum is not None and mode.enum[2] == "Both"
    temperature = _cluster(0x0402)
    assert temperature.name == "Temperature Measurement"
    measured = temperature.attributes[0x0000]
    assert measured.name == "MeasuredValue" and not measured.writable


def test_only_accepted_commands_are_listed() -> None:
    # Door Lock's GetUserResponse (0x1C) is a server -> client response, not a command to send.
    door_lock = _cluster(0x0101)
    assert door_lock.command_by_name("GetUser") is not None
    assert door_lock.command_by_name("GetUserResponse") is None
    assert door_lock.event_by_name("DoorLockAlarm") is not None


def test_every_cluster_of_the_library_is_present() -> None:
    # The library registers each cluster class it defines in ALL_CLUSTERS as it is imported.
    import chip.clusters.Objects  # noqa: F401
    from chip.clusters.ClusterObjects import ALL_CLUSTERS

    library = {int(cluster_id): source.__name__ for cluster_id, source in ALL_CLUSTERS.items()}
    ours = matter.all_clusters()
    assert len(ours) == len(library)
    assert {c.id: c.schema_name for c in ours} == library
    assert [c.id for c in ours] == sorted(library)


def test_global_attributes_belong_to_every_cluster() -> None:
    for found in matter.all_clusters():
        names = {i: found.attributes[i].name for i in matter.GLOBAL_ATTRIBUTES}
        assert names == dict(matter.GLOBAL_ATTRIBUTES), found.schema_name
        assert not found.attributes[0xFFFD].writable


def test_unknown_ids_are_none() -> None:
    assert matter.cluster(0x7FFF) is None
    assert matter.cluster(0x1557FC01) is None
    assert _cluster(0x0202).attributes.get(0x15570003) is None
    assert _cluster(0x0006).commands.get(0xFF01) is None


def test_lookups_by_name() -> None:
    fan = _cluster(0x0202)
    assert matter.cluster_by_schema_name("FanControl") is fan
    assert matter.cluster_by_schema_name("matter.FanControl") is fan
    assert matter.cluster_by_schema_name("matter.FanControl@1.4") is fan
    assert matter.cluster_by_schema_name("fancontrol") is fan
    assert matter.cluster_by_schema_name("/schema-versions/capability/matter.OnOff@1.4") is (
        matter.cluster(0x0006)
    )
    assert matter.cluster_by_schema_name("aws.FanControl") is None
    assert matter.cluster_by_schema_name("NoSuchCluster") is None
    fan_mode = fan.attributes[0x0000]
    assert fan.attribute_by_name("FanMode") is fan_mode
    assert fan.attribute_by_name("fanmode") is fan_mode
    assert fan.attribute_by_name("FanSpeed") is None
    assert fan.command_by_name("step") is fan.commands[0x00]
    assert fan.event_by_name("Anything") is None


@pytest.mark.parametrize(
    ("schema_name", "human"),
    [
        ("FanControl", "Fan Control"),
        ("OnOff", "On/Off"),
        ("WiFiNetworkDiagnostics", "Wi-Fi Network Diagnostics"),
        ("Pm25ConcentrationMeasurement", "PM2.5 Concentration Measurement"),
        ("OtaSoftwareUpdateProvider", "OTA Software Update Provider"),
        ("WebRTCTransportProvider", "WebRTC Transport Provider"),
        ("SmokeCoAlarm", "Smoke CO Alarm"),
        ("PumpConfigurationAndControl", "Pump Configuration and Control"),
    ],
)
def test_human_names(schema_name: str, human: str) -> None:
    found = matter.cluster_by_schema_name(schema_name)
    assert found is not None and found.name == human


def test_format_id() -> None:
    assert matter.format_id(0x0202) == "0x0202"
    assert matter.format_id(0) == "0x0000"
    assert matter.format_id(0x15570003) == "0x15570003"
    assert matter.format_id(1, 2) == "0x01"
    assert matter.format_id(0xFF01, 2) == "0xff01"
    with pytest.raises(ValueError):
        matter.format_id(-1)


def test_catalogue_objects_are_frozen_and_hashable() -> None:
    fan = _cluster(0x0202)
    with pytest.raises(AttributeError):
        fan.name = "Fan"  # type: ignore[misc]
    with pytest.raises(TypeError):
        fan.attributes[0x0000] = fan.attributes[0x0001]  # type: ignore[index]
    assert len({fan, _cluster(0x0006), fan}) == 2


def test_lazy_and_without_native_code(tmp_path: Path) -> None:
    # Importing the module must not import the SDK objects (two seconds, ~40 MB), and building
    # the catalogue must not load the SDK's native controller (chip.native, ChipStack).
    script = textwrap.dedent(
        """
        import importlib.util, sys
        from thinghub.integrations import matter
        assert "chip.clusters.Objects" not in sys.modules
        matter.load()
        assert "chip.clusters.Objects" in sys.modules
        native = [m for m in sys.modules if m.startswith(("chip.native", "chip.ChipStack"))]
        assert not native, native
        # The wheel ships chip.clusters as a namespace package: no __init__ to run.
        assert importlib.util.find_spec("chip.clusters").origin in (None, "namespace")
        """
    )
    environment = {**os.environ, "THINGHUB_CACHE_DIR": str(tmp_path)}  # empty: a real build
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, env=environment)
    # The next process reads the cache the first one wrote, without importing the SDK at all.
    cached = textwrap.dedent(
        """
        import sys
        from thinghub.integrations import matter
        matter.load()
        assert matter.cluster(0x0202).attributes[0].name == "FanMode"
        assert not [m for m in sys.modules if m.startswith("chip")]
        """
    )
    subprocess.run([sys.executable, "-c", cached], check=True, timeout=120, env=environment)


# ----- capability reports -----------------------------------------------------------------


def _report(*clusters: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "nodeId": "1",
        "endpoints": [{"id": "1", "deviceTypes": ["Fan"], "clusters": list(clusters)}],
    }


def test_capability_report_names_from_the_catalogue() -> None:
    report = to_capability_report(
        _report(
            {
                "id": "0x0202",
                "revision": 4,
                "attributes": [
                    {"id": "0x0000", "value": 3},
                    {"id": "0x0001"},
                    {"id": "0x15570003", "name": "AcmeBreeze"},
                    {"id": "0x15570004"},
                ],
                "commands": ["0x00"],
                "events": [],
            },
            {
                "id": "0x0006",
                "revision": 6,
                "attributes": [{"id": "0x0000", "value": True}, {"id": "0x4001"}],
                "commands": ["0x00", "0x01", "0x02", "0xff01"],
                "events": [],
            },
        )
    )
    fan, on_off = report["endpoints"][0]["capabilities"]
    assert fan == {
        "id": "matter.FanControl@1.4",
        "name": "Fan Control",
        "version": "4",
        "properties": ["FanMode", "FanModeSequence", "AcmeBreeze", "0x15570004"],
        "actions": ["Step"],
        "events": [],
    }
    assert on_off == {
        "id": "matter.OnOff@1.4",
        "name": "On/Off",
        "version": "6",
        "properties": ["OnOff", "OnTime"],
        "actions": ["Off", "On", "Toggle", "0xff01"],
        "events": [],
    }


def test_capability_report_prefers_what_the_connector_says() -> None:
    report = to_capability_report(
        _report(
            {
                "id": "0x0006",
                "revision": 1,
                "name": "Power",
                "publicId": "matter.OnOff@1.3",
                "attributes": [{"id": "0x0000", "name": "Power"}],
            },
            {"id": "0x0201", "revision": 1, "specVersion": "1.3", "commands": ["0x00"]},
        )
    )
    power, thermostat = report["endpoints"][0]["capabilities"]
    assert (power["id"], power["name"]) == ("matter.OnOff@1.3", "Power")
    # The catalogue names a known attribute id, whatever the connector called it.
    assert power["properties"] == ["OnOff"]
    assert (thermostat["id"], thermostat["name"]) == ("matter.Thermostat@1.3", "Thermostat")
    assert thermostat["actions"] == ["SetpointRaiseLower"]


def test_vendor_clusters_pass_through_by_id() -> None:
    report = to_capability_report(
        _report(
            {
                "id": "0xfff1fc05",  # the SDK's own test cluster id: still vendor-specific here
                "revision": 1,
                "attributes": [{"id": "0x0000"}],
                "commands": ["0x00"],
                "events": ["0x01"],
            },
            {"id": "0x1557fc01", "revision": 1, "name": "Acme Breeze"},
        )
    )
    test_cluster, breeze = report["endpoints"][0]["capabilities"]
    assert test_cluster == {
        "id": "matter.Cluster0xfff1fc05@1.4",
        "name": "0xfff1fc05",
        "version": "1",
        "properties": ["0x0000"],
        "actions": ["0x00"],
        "events": ["0x01"],
    }
    assert (breeze["id"], breeze["name"]) == ("matter.AcmeBreeze@1.4", "Acme Breeze")


def test_the_disk_cache_holds_the_same_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thinghub.integrations import matter_cache

    monkeypatch.setenv("THINGHUB_CACHE_DIR", str(tmp_path))
    built = matter._from_library()
    assert matter_cache.read() is None
    matter_cache.write(built)
    (written,) = tmp_path.iterdir()
    assert written.name.startswith("matter-catalogue-")
    cached = matter_cache.read()
    assert cached == built
    fan = next(c for c in cached or [] if c.id == 0x0202)
    assert fan.attribute_by_name("fanmode") is not None
    assert fan.attributes[0x0000].enum is not None and fan.attributes[0x0000].enum[3] == "High"
    # A damaged cache is ignored (and rebuilt by the next process that builds).
    written.write_text("{not json")
    assert matter_cache.read() is None
