"""Capability reports: the connector's Matter report (spec 5.4) and the AWS format (spec 6.4).

Connectors describe a device as Matter endpoints and clusters with hex ids; customers see
capabilities with names. Without a Matter cluster catalogue (a later issue adds one) the
conversion uses what the connector says about each cluster (`publicId`, `name`) and falls back
to the few cluster names the spec lists, then to the ids themselves.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from thinghub.integrations.errors import invalid

REPORT_VERSION = "1.0.0"
DEFAULT_SPEC_VERSION = "1.4"

# The clusters spec 6.3 names; everything else keeps its id until the catalogue arrives.
_KNOWN_CLUSTERS: dict[int, tuple[str, str]] = {
    0x0006: ("OnOff", "On/Off"),
    0x0008: ("LevelControl", "Level Control"),
    0x0101: ("DoorLock", "Door Lock"),
    0x0201: ("Thermostat", "Thermostat"),
    0x0202: ("FanControl", "Fan Control"),
    0x0300: ("ColorControl", "Color Control"),
}
_MATTER_ID = re.compile(r"0x[0-9a-f]+|[0-9]+")
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9]")
_CAPABILITY_NAME = re.compile(r"[^/a-zA-Z0-9._ -]")


def matter_id(value: str) -> int:
    """A Matter id from ``"0x0006"`` or ``"6"``; ValidationException for anything else.

    The model's pattern is unanchored, so ``"6abc"`` gets past the wire layer.
    """
    text = value.lower()
    if not _MATTER_ID.fullmatch(text):
        raise invalid(f"{value!r} is not a Matter id (hex like 0x0006, or decimal)")
    return int(text[2:], 16) if text.startswith("0x") else int(text)


def device_types(report: dict[str, Any]) -> list[str]:
    """Every endpoint's device types, first occurrence first (spec 3.5: their union)."""
    seen: dict[str, None] = {}
    for endpoint in report.get("endpoints", []):
        for device_type in endpoint.get("deviceTypes", []):
            seen.setdefault(device_type, None)
    return list(seen)


def check_matter_report(report: dict[str, Any], where: str) -> None:
    """What the model cannot say about a report: ids unique, parts naming real endpoints."""
    endpoint_ids = [endpoint["id"] for endpoint in report.get("endpoints", [])]
    duplicates = sorted({e for e in endpoint_ids if endpoint_ids.count(e) > 1})
    if duplicates:
        raise invalid(f"{where} names endpoint {duplicates[0]} more than once")
    for endpoint in report.get("endpoints", []):
        clusters = [matter_id(cluster["id"]) for cluster in endpoint.get("clusters", [])]
        repeated = sorted({c for c in clusters if clusters.count(c) > 1})
        if repeated:
            raise invalid(
                f"{where} endpoint {endpoint['id']} lists cluster 0x{repeated[0]:04x} twice"
            )
        for part in endpoint.get("parts", []):
            if part not in endpoint_ids:
                raise invalid(
                    f"{where} endpoint {endpoint['id']} has part {part}, which is not an endpoint"
                )


def fingerprint(
    name: str | None,
    report: dict[str, Any],
    schemas: list[Any] | None,
    metadata: Any,
) -> str:
    """What makes a rediscovered device UPDATED rather than NO_CHANGE.

    Attribute values are left out: they are the device's state at discovery time, and a lamp
    that was dimmed since the last discovery has not changed what it is.
    """
    shape = {
        "name": name,
        "report": _without_values(report),
        "schemas": schemas or [],
        "metadata": metadata,
    }
    return hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _without_values(report: dict[str, Any]) -> dict[str, Any]:
    endpoints = []
    for endpoint in report.get("endpoints", []):
        clusters = []
        for cluster in endpoint.get("clusters", []):
            attributes = [
                {k: v for k, v in attribute.items() if k != "value"}
                for attribute in cluster.get("attributes", [])
            ]
            clusters.append({**cluster, "attributes": attributes})
        endpoints.append({**endpoint, "clusters": clusters})
    return {**report, "endpoints": endpoints}


def to_capability_report(matter: dict[str, Any]) -> dict[str, Any]:
    """The AWS-format CapabilityReport of a Matter report (spec 6.4): one capability per cluster."""
    report: dict[str, Any] = {"version": REPORT_VERSION, "endpoints": []}
    if matter.get("nodeId"):
        report["nodeId"] = matter["nodeId"]
    for endpoint in matter.get("endpoints", []):
        report["endpoints"].append(
            {
                "id": endpoint["id"],
                "deviceTypes": list(endpoint.get("deviceTypes", [])),
                "capabilities": [_capability(c) for c in endpoint.get("clusters", [])],
            }
        )
    return report


def _capability(cluster: dict[str, Any]) -> dict[str, Any]:
    cluster_id = matter_id(cluster["id"])
    schema_name, known_name = _KNOWN_CLUSTERS.get(cluster_id, (None, None))
    given_name = cluster.get("name")
    if schema_name is None:
        # "Fan Control" -> FanControl; with no name either, the id keeps it unique.
        schema_name = _SCHEMA_NAME.sub("", given_name or "") or f"Cluster0x{cluster_id:04x}"
    name = given_name or known_name or f"0x{cluster_id:04x}"
    capability_id = (
        cluster.get("publicId")
        or f"matter.{schema_name}@{cluster.get('specVersion') or DEFAULT_SPEC_VERSION}"
    )
    return {
        "id": capability_id,
        "name": _CAPABILITY_NAME.sub(" ", name)[:128],
        "version": str(cluster["revision"]),
        "properties": [
            attribute.get("name") or attribute.get("id")
            for attribute in cluster.get("attributes", [])
            if attribute.get("name") or attribute.get("id")
        ],
        "actions": list(cluster.get("commands", [])),
        "events": list(cluster.get("events", [])),
    }
