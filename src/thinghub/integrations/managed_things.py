"""Managed things (spec 3.6): the customer's view of a device.

A cloud device becomes a managed thing through CreateManagedThing with the
DISCOVERED_DEVICE material ListDiscoveredDevices gave out (``CLOUD:<association>:<device>``):
the thing is then ACTIVATED, linked to the account association (ASSOCIATED) and takes the
device's capability report. Things made from other materials keep the material as given and
wait (PRE_ASSOCIATED, or UNASSOCIATED for controllers) for RegisterAccountAssociation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import (
    capabilities,
    device_discoveries,
    discovery_devices,
    discovery_links,
    notifications,
    thing_model,
)
from thinghub.integrations.errors import existing, invalid, not_found
from thinghub.integrations.listing import list_page
from thinghub.store import Resource, ResourceStore, Scope, arn, new_id

if TYPE_CHECKING:
    from thinghub.hub import Hub

SERVICE = "iot-managed-integrations"
KIND = "managed-thing"
RESOURCE_TYPE = "ManagedThing"
LINK_KIND = "managed-thing-association"
MAX_CAPABILITIES_TEXT = 65535

DISCOVERED_DEVICE = "DISCOVERED_DEVICE"
PRE_ONBOARDED_CLOUD = "PRE_ONBOARDED_CLOUD"

# ProvisioningStatus (spec 11.10) and ManagedThingAssociationStatus.
UNASSOCIATED = "UNASSOCIATED"
PRE_ASSOCIATED = "PRE_ASSOCIATED"
ACTIVATED = "ACTIVATED"
ASSOCIATED = "ASSOCIATED"

# Members stored as given on create and replaced by update.
_PLAIN_MEMBERS = (
    "Owner",
    "CredentialLockerId",
    "SerialNumber",
    "Brand",
    "Model",
    "Name",
    "CapabilityReport",
    "CapabilitySchemas",
    "Capabilities",
    "Classification",
    "MetaData",
    "WiFiSimpleSetupConfiguration",
)
_UPDATABLE = (*_PLAIN_MEMBERS, "HubNetworkMode")

# ListManagedThings query member -> indexed attribute.
_FILTERS = {
    "OwnerFilter": "Owner",
    "CredentialLockerFilter": "CredentialLockerId",
    "RoleFilter": "Role",
    "ParentControllerIdentifierFilter": "ParentControllerId",
    "ConnectorPolicyIdFilter": "ConnectorPolicyId",
    "ConnectorDestinationIdFilter": "ConnectorDestinationId",
    "ConnectorDeviceIdFilter": "ConnectorDeviceId",
    "SerialNumberFilter": "SerialNumber",
    "ProvisioningStatusFilter": "ProvisioningStatus",
}


def thing_arn(scope: Scope, thing_id: str) -> str:
    return arn(
        "iotmanagedintegrations", scope.region, scope.account_id, f"managed-thing/{thing_id}"
    )


def get_thing(
    store: ResourceStore, scope: Scope, thing_id: str, conn: Connection | None = None
) -> Resource:
    """The managed thing, or ResourceNotFoundException."""
    resource = existing(store, scope, KIND, thing_id, RESOURCE_TYPE, conn=conn)
    return resource


def _index(attrs: dict[str, Any]) -> dict[str, str]:
    return {field: str(attrs[field]) for field in _FILTERS.values() if attrs.get(field)}


def thing_record(
    scope: Scope, thing_id: str, event_type: str, payload: dict[str, Any]
) -> notifications.Notification:
    """A notification about one managed thing: its ARN the resource, its id the partition."""
    return notifications.Notification(event_type, payload, thing_id, (thing_arn(scope, thing_id),))


def thing_payload(thing: Resource) -> dict[str, Any]:
    """What every device record says about its thing."""
    payload: dict[str, Any] = {"managedThingId": thing.id}
    for member, key in (
        ("ConnectorDeviceId", "connectorDeviceId"),
        ("AccountAssociationId", "accountAssociationId"),
    ):
        if thing.attrs.get(member):
            payload[key] = thing.attrs[member]
    return payload


def life_cycle(
    hub: Hub,
    scope: Scope,
    thing: Resource,
    event: str,
    now: float,
    conn: Connection,
    previous: str | None = None,
) -> None:
    """Notify DEVICE_LIFE_CYCLE: the thing was CREATED, UPDATED or DELETED (spec 7.2)."""
    payload = thing_payload(thing)
    payload["event"] = event
    payload["provisioningStatus"] = thing.attrs.get("ProvisioningStatus")
    if previous is not None:
        payload["previousStatus"] = previous
    notification = thing_record(scope, thing.id, notifications.DEVICE_LIFE_CYCLE, payload)
    notifications.notify(hub, scope, [notification], now, conn)


def save(
    hub: Hub,
    scope: Scope,
    thing: Resource,
    attrs: dict[str, Any],
    now: float,
    conn: Connection,
) -> Resource:
    """Replace the thing's attributes, keeping its index in step; notified as UPDATED."""
    updated = hub.store.update(
        scope, KIND, thing.id, attrs=attrs, now=now, index=_index(attrs), conn=conn
    )
    previous = thing.attrs.get("ProvisioningStatus")
    changed = previous != attrs.get("ProvisioningStatus")
    life_cycle(hub, scope, updated, "UPDATED", now, conn, previous if changed else None)
    return updated


def connect(
    attrs: dict[str, Any],
    association: discovery_links.AssociationView,
    device: Resource | None,
    connector_device_id: str,
) -> dict[str, Any]:
    """`attrs` of a thing tied to a third-party device of an association; with the device's
    discovered record, its report and descriptions fill what the customer did not give."""
    attrs = {**attrs, "AccountAssociationId": association.id}
    attrs["ConnectorDeviceId"] = connector_device_id
    if association.destination_id:
        # ConnectorPolicyId is the deprecated name of the destination (spec 1.10).
        attrs["ConnectorDestinationId"] = association.destination_id
        attrs["ConnectorPolicyId"] = association.destination_id
    if device is None or device.attrs.get("MatterCapabilityReport") is None:
        return attrs
    found = device.attrs
    attrs["MatterCapabilityReport"] = found["MatterCapabilityReport"]
    if "CapabilityReport" not in attrs:
        attrs["CapabilityReport"] = capabilities.to_capability_report(
            found["MatterCapabilityReport"]
        )
    for member, source in (
        ("Name", "ConnectorDeviceName"),
        ("Brand", "Brand"),
        ("Model", "Model"),
        ("SerialNumber", "SerialNumber"),
        ("CapabilitySchemas", "CapabilitySchemas"),
    ):
        if member not in attrs and found.get(source):
            attrs[member] = found[source]
    return attrs


def link_id(thing_id: str, association_id: str) -> str:
    return f"{thing_id}/{association_id}"


def put_link(
    store: ResourceStore,
    scope: Scope,
    thing_id: str,
    association_id: str,
    status: str,
    discovery_id: str | None,
    now: float,
    conn: Connection,
) -> None:
    """Create or update the thing <-> account association link."""
    attrs: dict[str, Any] = {
        "ManagedThingId": thing_id,
        "AccountAssociationId": association_id,
        "ManagedThingAssociationStatus": status,
    }
    if discovery_id:
        attrs["DeviceDiscoveryId"] = discovery_id
    key = link_id(thing_id, association_id)
    index = {"ManagedThingId": thing_id, "AccountAssociationId": association_id}
    if store.get(scope, LINK_KIND, key, conn=conn) is None:
        store.create(scope, LINK_KIND, key, attrs=attrs, now=now, index=index, conn=conn)
    else:
        store.update(scope, LINK_KIND, key, attrs=attrs, now=now, conn=conn)


def links_of(
    store: ResourceStore, scope: Scope, thing_id: str, conn: Connection | None = None
) -> list[Resource]:
    """Every account association link of a thing (there are at most a few)."""
    links, _ = store.list_page(
        scope,
        LINK_KIND,
        max_results=1000,
        next_token=None,
        filters={"ManagedThingId": thing_id},
        conn=conn,
    )
    return links


def unlink(
    store: ResourceStore,
    scope: Scope,
    thing: Resource,
    link: Resource,
    now: float,
    conn: Connection,
) -> None:
    """Remove a link and release the device the thing held through it."""
    association_id = str(link.attrs["AccountAssociationId"])
    store.delete(scope, LINK_KIND, link.id, conn=conn)
    device_id = thing.attrs.get("ConnectorDeviceId")
    if device_id and thing.attrs.get("AccountAssociationId") == association_id:
        discovery_devices.unbind(store, scope, association_id, device_id, thing.id, now, conn)


# ----- handlers -------------------------------------------------------------------------------


def create_managed_thing(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    now = ctx.now
    thing_id = new_id("alnum_lower")
    arn_ = thing_arn(ctx.scope, thing_id)
    material_type = params["AuthenticationMaterialType"]
    attrs: dict[str, Any] = {
        "Role": params["Role"],
        "AuthenticationMaterial": params["AuthenticationMaterial"],
        "AuthenticationMaterialType": material_type,
    }
    attrs.update({m: params[m] for m in _PLAIN_MEMBERS if params.get(m) is not None})
    with store.transaction() as conn:
        if material_type == DISCOVERED_DEVICE:
            attrs = _from_discovered_device(ctx, attrs, thing_id, conn)
        elif material_type == PRE_ONBOARDED_CLOUD:
            attrs = _pre_onboarded(ctx, attrs, thing_id, conn)
        else:
            # A barcode: the device is set up later, through a hub (which thinghub lacks).
            attrs["ProvisioningStatus"] = (
                UNASSOCIATED if params["Role"] == "CONTROLLER" else PRE_ASSOCIATED
            )
        created = store.create(
            ctx.scope,
            KIND,
            thing_id,
            attrs=attrs,
            now=now,
            arn=arn_,
            index=_index(attrs),
            tags=params.get("Tags") or {},
            conn=conn,
        )
        if attrs.get("MatterCapabilityReport"):
            # What the device reported when it was found is its state until it reports more.
            initial = thing_model.discovered_values(attrs["MatterCapabilityReport"])
            ctx.hub.components["thing-state"].report(ctx.scope, thing_id, initial, now, conn)
        life_cycle(ctx.hub, ctx.scope, created, "CREATED", now, conn)
    return {"Id": thing_id, "Arn": arn_, "CreatedAt": now}


def _resolve_material(
    ctx: RequestContext, material: str, conn: Connection
) -> tuple[discovery_links.AssociationView, str]:
    """The association and device a ``CLOUD:<association or discovery>:<device>`` names."""
    parsed = discovery_devices.parse_auth_material(material)
    if parsed is None:
        raise invalid(
            "AuthenticationMaterial of a DISCOVERED_DEVICE must be the one ListDiscoveredDevices "
            "returned (CLOUD:<AccountAssociationId>:<ConnectorDeviceId>)"
        )
    owner_id, device_id = parsed
    store = ctx.hub.store
    association = discovery_links.association(store, ctx.scope, owner_id, conn)
    if association is None:
        # Spec 11.1 also accepts the discovery's id in the middle.
        discovery = existing(
            store,
            ctx.scope,
            device_discoveries.KIND,
            owner_id,
            discovery_links.ASSOCIATION_TYPE,
            conn=conn,
        )
        association = discovery_links.existing_association(
            store, ctx.scope, discovery.attrs["AccountAssociationId"], conn
        )
    return association, device_id


def _from_discovered_device(
    ctx: RequestContext, attrs: dict[str, Any], thing_id: str, conn: Connection
) -> dict[str, Any]:
    if attrs["Role"] != "DEVICE":
        raise invalid("A DISCOVERED_DEVICE managed thing must have Role DEVICE")
    store = ctx.hub.store
    association, device_id = _resolve_material(ctx, attrs["AuthenticationMaterial"], conn)
    device = discovery_devices.cloud_device(store, ctx.scope, association.id, device_id, conn)
    if device is None or device.attrs.get("Fingerprint") is None:
        raise not_found("DiscoveredDevice", device_id)
    holder = device.attrs.get("ManagedThingId")
    if holder:
        raise discovery_devices.device_taken(device_id, association.id, holder)
    now = ctx.now
    discovery_devices.bind(store, ctx.scope, association.id, device_id, thing_id, now, conn)
    put_link(
        store,
        ctx.scope,
        thing_id,
        association.id,
        ASSOCIATED,
        device.attrs.get("LastDiscoveryId"),
        now,
        conn,
    )
    attrs = connect(attrs, association, device, device_id)
    attrs.update(ProvisioningStatus=ACTIVATED, ActivatedAt=now)
    return attrs


def _pre_onboarded(
    ctx: RequestContext, attrs: dict[str, Any], thing_id: str, conn: Connection
) -> dict[str, Any]:
    """A cloud device named before it is discovered: ``CLOUD:<association>:<device>`` reserves
    the device and links the association as PRE_ASSOCIATED; any other material is kept as is
    until RegisterAccountAssociation."""
    attrs = {**attrs, "ProvisioningStatus": PRE_ASSOCIATED}
    parsed = discovery_devices.parse_auth_material(attrs["AuthenticationMaterial"])
    if parsed is None:
        return attrs
    store = ctx.hub.store
    association = discovery_links.association(store, ctx.scope, parsed[0], conn)
    if association is None:
        return attrs
    device_id = parsed[1]
    discovery_devices.bind(store, ctx.scope, association.id, device_id, thing_id, ctx.now, conn)
    put_link(store, ctx.scope, thing_id, association.id, PRE_ASSOCIATED, None, ctx.now, conn)
    return connect(attrs, association, None, device_id)


def _thing_output(thing: Resource) -> dict[str, Any]:
    # Internal attributes (the material, the raw Matter report) are not output members: the
    # serializer leaves them out.
    return {
        "Id": thing.id,
        "Arn": thing.arn,
        **thing.attrs,
        "CreatedAt": thing.created_at,
        "UpdatedAt": thing.updated_at,
    }


def get_managed_thing(ctx: RequestContext, params: Params) -> Result:
    thing = get_thing(ctx.hub.store, ctx.scope, params["Identifier"])
    result = _thing_output(thing)
    tags = ctx.hub.store.list_tags(ctx.scope, str(thing.arn))
    if tags:
        result["Tags"] = tags
    return result


def update_managed_thing(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    with store.transaction() as conn:
        thing = get_thing(store, ctx.scope, params["Identifier"], conn)
        attrs = dict(thing.attrs)
        attrs.update({m: params[m] for m in _UPDATABLE if params.get(m) is not None})
        save(ctx.hub, ctx.scope, thing, attrs, ctx.now, conn)
    return None


def delete_managed_thing(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    with store.transaction() as conn:
        thing = get_thing(store, ctx.scope, params["Identifier"], conn)
        links = links_of(store, ctx.scope, thing.id, conn)
        if links and not params.get("Force"):
            associations = ", ".join(sorted(str(k.attrs["AccountAssociationId"]) for k in links))
            raise invalid(
                f"Managed thing {thing.id} is a cloud device of account association "
                f"{associations}: deregister it (DeregisterAccountAssociation) or use Force"
            )
        for link in links:
            unlink(store, ctx.scope, thing, link, ctx.now, conn)
        store.delete(ctx.scope, KIND, thing.id, conn=conn)
        ctx.hub.components["thing-state"].forget(ctx.scope, thing.id, conn)
        life_cycle(ctx.hub, ctx.scope, thing, "DELETED", ctx.now, conn)
    return None


def list_managed_things(ctx: RequestContext, params: Params) -> Result:
    filters = {field: params[member] for member, field in _FILTERS.items() if member in params}
    return list_page(ctx, KIND, params, filters, _thing_output)


def get_managed_thing_capabilities(ctx: RequestContext, params: Params) -> Result:
    thing = get_thing(ctx.hub.store, ctx.scope, params["Identifier"])
    result: dict[str, Any] = {"ManagedThingId": thing.id}
    if thing.attrs.get("CapabilityReport") is not None:
        result["CapabilityReport"] = thing.attrs["CapabilityReport"]
    text = thing.attrs.get("Capabilities")
    matter = thing.attrs.get("MatterCapabilityReport")
    if text is None and matter is not None:
        # The connector's report as it came, until the cluster library can say more.
        raw = orjson.dumps({"matterCapabilityReport": matter}).decode()
        if len(raw) <= MAX_CAPABILITIES_TEXT:
            text = raw
    if text is not None:
        result["Capabilities"] = text
    return result


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateManagedThing", create_managed_thing),
        ("GetManagedThing", get_managed_thing),
        ("UpdateManagedThing", update_managed_thing),
        ("DeleteManagedThing", delete_managed_thing),
        ("ListManagedThings", list_managed_things),
        ("GetManagedThingCapabilities", get_managed_thing_capabilities),
    ):
        handlers.register(SERVICE, operation)(handler)
    from thinghub.integrations import managed_thing_associations

    managed_thing_associations.register(handlers)
