"""Managed thing <-> account association registration (spec 3.7).

RegisterAccountAssociation ties an existing managed thing to a device that a discovery of the
association found: the link becomes ASSOCIATED and the thing ACTIVATED. Registering the same
triple again changes nothing (the operation is idempotent); a thing holds one association.
"""

from __future__ import annotations

from typing import Any

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import (
    account_associations,
    device_discoveries,
    discovery_devices,
    discovery_links,
    managed_things,
)
from thinghub.integrations.errors import invalid
from thinghub.integrations.listing import DEFAULT_PAGE_SIZE
from thinghub.store import Resource, ResourceStore, Scope
from thinghub.wire.errors import ServiceError

SERVICE = "iot-managed-integrations"


def _device_of(thing: Resource) -> str | None:
    """The third-party device id a thing stands for: set by an earlier link, else its material."""
    if thing.attrs.get("ConnectorDeviceId"):
        return str(thing.attrs["ConnectorDeviceId"])
    material = str(thing.attrs.get("AuthenticationMaterial", ""))
    parsed = discovery_devices.parse_auth_material(material)
    if parsed is not None:
        return parsed[1]
    return material or None


def register_account_association(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    thing_id = params["ManagedThingId"]
    association_id = params["AccountAssociationId"]
    discovery_id = params["DeviceDiscoveryId"]
    now = ctx.now
    with store.transaction() as conn:
        thing = managed_things.get_thing(store, ctx.scope, thing_id, conn)
        association = discovery_links.existing_association(store, ctx.scope, association_id, conn)
        discovery = device_discoveries.get_discovery(store, ctx.scope, discovery_id, conn)
        if discovery.attrs.get("AccountAssociationId") != association_id:
            raise invalid(
                f"DeviceDiscovery {discovery_id} was not run for "
                f"AccountAssociation {association_id}"
            )
        device_id = _device_of(thing)
        if device_id is None or not discovery_devices.found_in(
            store, ctx.scope, discovery_id, device_id, conn
        ):
            raise invalid(
                f"DeviceDiscovery {discovery_id} did not find the device of "
                f"managed thing {thing_id}"
            )
        for link in managed_things.links_of(store, ctx.scope, thing_id, conn):
            other = link.attrs["AccountAssociationId"]
            if other != association_id:
                raise ServiceError(
                    "ConflictException",
                    f"Managed thing {thing_id} is already registered to AccountAssociation {other}",
                )
        if (
            thing.attrs.get("AccountAssociationId") == association_id
            and thing.attrs.get("ConnectorDeviceId")
            and thing.attrs["ConnectorDeviceId"] != device_id
        ):
            raise ServiceError(
                "ConflictException", f"Managed thing {thing_id} stands for another device"
            )
        discovery_devices.bind(store, ctx.scope, association_id, device_id, thing_id, now, conn)
        managed_things.put_link(
            store,
            ctx.scope,
            thing_id,
            association_id,
            managed_things.ASSOCIATED,
            discovery_id,
            now,
            conn,
        )
        device = discovery_devices.cloud_device(store, ctx.scope, association_id, device_id, conn)
        attrs = managed_things.connect(dict(thing.attrs), association, device, device_id)
        if attrs.get("ProvisioningStatus") != managed_things.ACTIVATED:
            attrs.update(ProvisioningStatus=managed_things.ACTIVATED, ActivatedAt=now)
        if attrs != thing.attrs:
            managed_things.save(ctx.hub, ctx.scope, thing, attrs, now, conn)
    return {
        "ManagedThingId": thing_id,
        "AccountAssociationId": association_id,
        "DeviceDiscoveryId": discovery_id,
    }


def deregister_account_association(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    thing_id = params["ManagedThingId"]
    association_id = params["AccountAssociationId"]
    now = ctx.now
    with store.transaction() as conn:
        thing = managed_things.get_thing(store, ctx.scope, thing_id, conn)
        discovery_links.existing_association(store, ctx.scope, association_id, conn)
        link = store.get(
            ctx.scope,
            managed_things.LINK_KIND,
            managed_things.link_id(thing_id, association_id),
            conn=conn,
        )
        if link is None:
            return None  # idempotent: already deregistered
        managed_things.unlink(store, ctx.scope, thing, link, now, conn)
        attrs: dict[str, Any] = dict(thing.attrs)
        if attrs.get("AccountAssociationId") == association_id:
            for member in (
                "AccountAssociationId",
                "ConnectorDeviceId",
                "ConnectorDestinationId",
                "ConnectorPolicyId",
            ):
                attrs.pop(member, None)
        if not managed_things.links_of(store, ctx.scope, thing_id, conn):
            attrs["ProvisioningStatus"] = managed_things.UNASSOCIATED
        managed_things.save(ctx.hub, ctx.scope, thing, attrs, now, conn)
    return None


def list_managed_thing_account_associations(ctx: RequestContext, params: Params) -> Result:
    filters: dict[str, str] = {
        m: params[m] for m in ("ManagedThingId", "AccountAssociationId") if m in params
    }
    items, token = ctx.hub.store.list_page(
        ctx.scope,
        managed_things.LINK_KIND,
        max_results=params.get("MaxResults", DEFAULT_PAGE_SIZE),
        next_token=params.get("NextToken"),
        filters=filters,
        binding=ctx.operation,
    )
    result: dict[str, Any] = {"Items": [dict(r.attrs) for r in items]}
    if token:
        result["NextToken"] = token
    return result


def registered_things(store: ResourceStore, scope: Scope, association_id: str) -> str | None:
    """Why DeleteAccountAssociation must wait (spec 3.9): managed things still registered."""
    count = store.count(
        scope, managed_things.LINK_KIND, filters={"AccountAssociationId": association_id}
    )
    if count == 0:
        return None
    things = "1 managed thing is" if count == 1 else f"{count} managed things are"
    return (
        f"{things} still registered to AccountAssociation {association_id}: "
        "deregister them first (DeregisterAccountAssociation)"
    )


def register(handlers: Handlers) -> None:
    if registered_things not in account_associations.DELETION_GUARDS:
        account_associations.DELETION_GUARDS.append(registered_things)
    for operation, handler in (
        ("RegisterAccountAssociation", register_account_association),
        ("DeregisterAccountAssociation", deregister_account_association),
        ("ListManagedThingAccountAssociations", list_managed_thing_account_associations),
    ):
        handlers.register(SERVICE, operation)(handler)
