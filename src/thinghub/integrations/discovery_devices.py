"""The devices discoveries find, kept twice:

- per discovery (`discovered-device`): what ListDiscoveredDevices answers, in arrival order;
- per account association (`cloud-device`): the latest report of each third-party device, what
  it looked like before the current discovery (for `Modification`, spec 11.9), and the managed
  thing bound to it. CreateManagedThing's DISCOVERED_DEVICE material names this record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from thinghub.integrations import capabilities
from thinghub.store import AlreadyExists, Resource, ResourceStore, Scope, VersionConflict
from thinghub.wire.errors import ServiceError

DISCOVERED_KIND = "discovered-device"
CLOUD_DEVICE_KIND = "cloud-device"

DISCOVERED = "DISCOVERED"
UPDATED = "UPDATED"
NO_CHANGE = "NO_CHANGE"

MATERIAL_PREFIX = "CLOUD"
_LABEL = re.compile(r"[^A-Za-z0-9_ -]")  # Brand, Model, SerialNumber: [A-Za-z0-9-_ ]+


def auth_material(association_id: str, connector_device_id: str) -> str:
    """Spec 11.1: ``CLOUD:<AccountAssociationId>:<ConnectorDeviceId>``."""
    return f"{MATERIAL_PREFIX}:{association_id}:{connector_device_id}"


def parse_auth_material(text: str) -> tuple[str, str] | None:
    """(association or discovery id, connector device id), or None if not of that form."""
    parts = text.split(":", 2)
    if len(parts) != 3 or parts[0] != MATERIAL_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def cloud_device_id(association_id: str, connector_device_id: str) -> str:
    return f"{association_id}/{connector_device_id}"


def discovered_id(discovery_id: str, connector_device_id: str) -> str:
    return f"{discovery_id}/{connector_device_id}"


def label(value: Any) -> str | None:
    """A vendor's brand, model or serial reduced to what the model allows (or None)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = re.sub(r" +", " ", _LABEL.sub(" ", str(value))).strip()[:128]
    return text or None


def _metadata_value(metadata: Any, *names: str) -> Any:
    if not isinstance(metadata, dict):
        return None
    lowered = {str(key).lower(): value for key, value in metadata.items()}
    return next((lowered[n] for n in names if n in lowered), None)


@dataclass(frozen=True, slots=True)
class Recorded:
    connector_device_id: str
    modification: str


def record_devices(
    store: ResourceStore,
    scope: Scope,
    discovery: Resource,
    devices: list[dict[str, Any]],
    now: float,
    conn: Connection,
) -> list[Recorded]:
    """Store what one DEVICE_DISCOVERY event reports, in the caller's transaction."""
    association_id = str(discovery.attrs["AccountAssociationId"])
    recorded = []
    for device in devices:
        modification = _record_cloud_device(
            store, scope, discovery.id, association_id, device, now, conn
        )
        _record_discovered(
            store, scope, discovery.id, association_id, device, modification, now, conn
        )
        recorded.append(Recorded(device["ConnectorDeviceId"], modification))
    return recorded


def _record_cloud_device(
    store: ResourceStore,
    scope: Scope,
    discovery_id: str,
    association_id: str,
    device: dict[str, Any],
    now: float,
    conn: Connection,
) -> str:
    device_id = device["ConnectorDeviceId"]
    report = device["CapabilityReport"]
    metadata = device.get("DeviceMetadata")
    current = capabilities.fingerprint(
        device.get("ConnectorDeviceName"), report, device.get("CapabilitySchemas"), metadata
    )
    key = cloud_device_id(association_id, device_id)
    existing = store.get(scope, CLOUD_DEVICE_KIND, key, conn=conn)
    old = existing.attrs if existing is not None else {}
    if old.get("LastDiscoveryId") == discovery_id:
        # The connector reported the device again in the same discovery (paging, retries):
        # compare with what it was before this discovery, not with the first report.
        before = old.get("PriorFingerprint")
    else:
        before = old.get("Fingerprint")
    if before is None:
        modification = DISCOVERED  # first seen for this association
    elif before == current:
        modification = NO_CHANGE
    else:
        modification = UPDATED
    attrs: dict[str, Any] = {
        "AccountAssociationId": association_id,
        "ConnectorDeviceId": device_id,
        "DeviceTypes": capabilities.device_types(report),
        "MatterCapabilityReport": report,
        "Fingerprint": current,
        "PriorFingerprint": before,
        "LastDiscoveryId": discovery_id,
        "DiscoveredAt": now,
    }
    for member in ("ConnectorDeviceName", "CapabilitySchemas", "DeviceMetadata"):
        if device.get(member) is not None:
            attrs[member] = device[member]
    for member, names in (
        ("Brand", ("brand",)),
        ("Model", ("model",)),
        ("SerialNumber", ("serialnumber", "serial_number", "serial")),
    ):
        value = label(_metadata_value(metadata, *names))
        if value is not None:
            attrs[member] = value
    if old.get("ManagedThingId"):
        attrs["ManagedThingId"] = old["ManagedThingId"]
    if existing is None:
        store.create(
            scope, CLOUD_DEVICE_KIND, key, attrs=attrs, now=now, index=_index(attrs), conn=conn
        )
    else:
        store.update(
            scope, CLOUD_DEVICE_KIND, key, attrs=attrs, now=now, index=_index(attrs), conn=conn
        )
    return modification


def _index(attrs: dict[str, Any]) -> dict[str, str]:
    index = {"AccountAssociationId": str(attrs["AccountAssociationId"])}
    if attrs.get("ManagedThingId"):
        index["ManagedThingId"] = str(attrs["ManagedThingId"])
    return index


def _record_discovered(
    store: ResourceStore,
    scope: Scope,
    discovery_id: str,
    association_id: str,
    device: dict[str, Any],
    modification: str,
    now: float,
    conn: Connection,
) -> None:
    device_id = device["ConnectorDeviceId"]
    metadata = device.get("DeviceMetadata")
    attrs: dict[str, Any] = {
        "ConnectorDeviceId": device_id,
        "DeviceTypes": capabilities.device_types(device["CapabilityReport"]),
        "Modification": modification,
        "DiscoveredAt": now,
        "AccountAssociationId": association_id,
        "AuthenticationMaterial": auth_material(association_id, device_id),
    }
    if device.get("ConnectorDeviceName"):
        attrs["ConnectorDeviceName"] = device["ConnectorDeviceName"]
    for member, name in (("Brand", "brand"), ("Model", "model")):
        value = label(_metadata_value(metadata, name))
        if value is not None:
            attrs[member] = value
    key = discovered_id(discovery_id, device_id)
    index = {"DeviceDiscoveryId": discovery_id}
    if store.get(scope, DISCOVERED_KIND, key, conn=conn) is None:
        store.create(scope, DISCOVERED_KIND, key, attrs=attrs, now=now, index=index, conn=conn)
    else:
        store.update(scope, DISCOVERED_KIND, key, attrs=attrs, now=now, conn=conn)


def listed_item(store: ResourceStore, scope: Scope, resource: Resource) -> dict[str, Any]:
    """One item of ListDiscoveredDevices, with the managed thing bound to it now (if any)."""
    item = {k: v for k, v in resource.attrs.items() if k != "AccountAssociationId"}
    bound = store.get(
        scope,
        CLOUD_DEVICE_KIND,
        cloud_device_id(
            resource.attrs["AccountAssociationId"], resource.attrs["ConnectorDeviceId"]
        ),
    )
    if bound is not None and bound.attrs.get("ManagedThingId"):
        item["ManagedThingId"] = bound.attrs["ManagedThingId"]
    return item


def found_in(
    store: ResourceStore,
    scope: Scope,
    discovery_id: str,
    connector_device_id: str,
    conn: Connection | None = None,
) -> bool:
    """Whether that discovery reported that device."""
    key = discovered_id(discovery_id, connector_device_id)
    return store.get(scope, DISCOVERED_KIND, key, conn=conn) is not None


def cloud_device(
    store: ResourceStore,
    scope: Scope,
    association_id: str,
    connector_device_id: str,
    conn: Connection | None = None,
) -> Resource | None:
    key = cloud_device_id(association_id, connector_device_id)
    return store.get(scope, CLOUD_DEVICE_KIND, key, conn=conn)


def bind(
    store: ResourceStore,
    scope: Scope,
    association_id: str,
    connector_device_id: str,
    thing_id: str,
    now: float,
    conn: Connection,
) -> None:
    """Mark the device as the managed thing's; ConflictException if another thing has it.

    The record is created when the device was not discovered yet (a pre-onboarded thing), so
    the binding holds whatever comes first.
    """
    key = cloud_device_id(association_id, connector_device_id)
    existing = store.get(scope, CLOUD_DEVICE_KIND, key, conn=conn)
    if existing is None:
        attrs: dict[str, Any] = {
            "AccountAssociationId": association_id,
            "ConnectorDeviceId": connector_device_id,
            "ManagedThingId": thing_id,
        }
        try:
            store.create(
                scope, CLOUD_DEVICE_KIND, key, attrs=attrs, now=now, index=_index(attrs), conn=conn
            )
        except AlreadyExists:
            raise _raced(connector_device_id) from None
        return
    holder = existing.attrs.get("ManagedThingId")
    if holder == thing_id:
        return
    if holder:
        raise device_taken(connector_device_id, association_id, holder)
    attrs = {**existing.attrs, "ManagedThingId": thing_id}
    try:
        store.update(
            scope,
            CLOUD_DEVICE_KIND,
            key,
            attrs=attrs,
            now=now,
            index=_index(attrs),
            expected_version=existing.version,
            conn=conn,
        )
    except VersionConflict:
        raise _raced(connector_device_id) from None


def _raced(connector_device_id: str) -> ServiceError:
    return ServiceError(
        "ConflictException",
        f"Device {connector_device_id} changed while it was being bound; try again",
    )


def unbind(
    store: ResourceStore,
    scope: Scope,
    association_id: str,
    connector_device_id: str,
    thing_id: str,
    now: float,
    conn: Connection,
) -> None:
    """Release the device if `thing_id` holds it."""
    key = cloud_device_id(association_id, connector_device_id)
    existing = store.get(scope, CLOUD_DEVICE_KIND, key, conn=conn)
    if existing is None or existing.attrs.get("ManagedThingId") != thing_id:
        return
    if existing.attrs.get("Fingerprint") is None:
        store.delete(scope, CLOUD_DEVICE_KIND, key, conn=conn)  # never discovered: nothing to keep
        return
    attrs = {k: v for k, v in existing.attrs.items() if k != "ManagedThingId"}
    store.update(
        scope, CLOUD_DEVICE_KIND, key, attrs=attrs, now=now, index=_index(attrs), conn=conn
    )


def device_taken(connector_device_id: str, association_id: str, holder: str) -> ServiceError:
    return ServiceError(
        "ConflictException",
        f"Device {connector_device_id} of AccountAssociation {association_id} "
        f"is already bound to managed thing {holder}",
    )
