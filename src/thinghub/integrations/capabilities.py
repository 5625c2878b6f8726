"""Capability reports: the connector's Matter report (spec 5.4) and the AWS format (spec 6.4).

Connectors describe a device as Matter endpoints and clusters with hex ids; customers see
capabilities with names. The names come from what the connector says about a cluster
(`publicId`, `name`), then from the Matter catalogue (`thinghub.integrations.matter`), and last
from the ids themselves. Vendor-specific clusters (ids above 0xFFFF) keep their ids: vendors
assign those ids on their own, so a catalogue name for one would be a guess.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from thinghub.integrations import matter
from thinghub.integrations.errors import invalid

REPORT_VERSION = "1.0.0"
DEFAULT_SPEC_VERSION = "1.4"

_MATTER_ID = re.compile(r"0x[0-9a-f]+|[0-9]+")
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9]")
_CAPABILITY_NAME = re.compile(r"[^/a-zA-Z0-9._ -]")


def matter_id(value: str) -> int:
    """A Matter id from ``"0x0006"`` or ``"6"``; ValidationException for anything else.

    The model's pattern is unanchored, so ``"6abc"`` gets past the wire layer.
    """
    if len(value) <= _CACHED_ID_LENGTH:
        return _matter_id(value)
    return _matter_id.__wrapped__(value)


# Ids of up to 32 bits (0x + 8 hex digits, or 10 decimal digits) are the ones that come back in
# every event; a longer text (a caller's arbitrary field key) is parsed, not kept.
_CACHED_ID_LENGTH = 10


@lru_cache(maxsize=4096)
def _matter_id(value: str) -> int:
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
    known = matter.cluster(cluster_id) if cluster_id <= _STANDARD_MAX else None
    given_name = cluster.get("name")
    if known is not None:
        schema_name = known.schema_name
    else:
        # "Fan Control" -> FanControl; with no name either, the id keeps it unique.
        schema_name = (
            _SCHEMA_NAME.sub("", given_name or "") or f"Cluster{matter.format_id(cluster_id)}"
        )
    name = given_name or (known.name if known else matter.format_id(cluster_id))
    capability_id = (
        cluster.get("publicId")
        or f"matter.{schema_name}@{cluster.get('specVersion') or DEFAULT_SPEC_VERSION}"
    )
    return {
        "id": capability_id,
        "name": _CAPABILITY_NAME.sub(" ", name)[:128],
        "version": str(cluster["revision"]),
        "properties": [
            prop
            for attribute in cluster.get("attributes", [])
            if (prop := _property_name(known, attribute))
        ],
        "actions": [
            _member_name(known.commands if known else None, command)
            for command in cluster.get("commands", [])
        ],
        "events": [
            _member_name(known.events if known else None, event)
            for event in cluster.get("events", [])
        ],
    }


# Cluster, attribute, command and event ids above this carry a vendor prefix.
_STANDARD_MAX = 0xFFFF


def _catalogue_id(text: Any) -> int | None:
    """A standard Matter id from a report's id string; None for anything else.

    Reports are not rejected over a member id the model lets through: it just keeps its text.
    """
    if not isinstance(text, str) or not _MATTER_ID.fullmatch(text.lower()):
        return None
    value = matter_id(text)
    return value if value <= _STANDARD_MAX else None


def _property_name(known: matter.MatterCluster | None, attribute: dict[str, Any]) -> str | None:
    """The catalogue's name for the attribute id, else the connector's name, else the id."""
    attribute_id = _catalogue_id(attribute.get("id"))
    if known is not None and attribute_id is not None:
        catalogued = known.attributes.get(attribute_id)
        if catalogued is not None:
            return catalogued.name
    given: str | None = attribute.get("name") or attribute.get("id")
    return given


def _member_name(
    catalogued: Mapping[int, matter.MatterCommand] | Mapping[int, matter.MatterEvent] | None,
    member_id: str,
) -> str:
    """A command's or event's catalogue name, else its id as the connector wrote it."""
    value = _catalogue_id(member_id)
    if catalogued is None or value is None:
        return member_id
    found = catalogued.get(value)
    return found.name if found is not None else member_id
