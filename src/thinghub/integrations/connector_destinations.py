"""Connector destinations: how a customer's end users reach one cloud connector (spec 3.2).

A resource of kind ``connector-destination`` (id: 32 lowercase hex) in the customer's scope.
Its attrs are the members as given: ``CloudConnectorId``, ``AuthConfig`` (``oAuth`` and/or
``GeneralAuthorization``), and when given ``Name``, ``Description``, ``AuthType``,
``SecretsManager``; index field ``CloudConnectorId``. Secret values are never stored: the
secret is read when a flow needs the client credentials (`secrets`).

[CHOICE]s (spec 11.6): ``AuthType`` defaults to ``OAUTH`` when ``AuthConfig.oAuth`` is given,
and ``OAUTH`` with only General Authorization materials is accepted (the enum has no other
value); a destination with ``oAuth`` links through OAuth, one without it through General
Authorization; it needs ``oAuth`` or at least one material; material names
are unique per destination; the secret is not read at creation (a missing or unreadable secret
fails CreateAccountAssociation instead); deleting a destination that an account association
still uses is a ValidationException (the operation models no ConflictException).
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import cloud_connectors
from thinghub.integrations.association_records import ATTR_DESTINATION
from thinghub.integrations.association_records import KIND as ASSOCIATION_KIND
from thinghub.integrations.errors import existing, invalid
from thinghub.integrations.listing import list_page
from thinghub.store import Resource, ResourceStore, Scope, new_id

SERVICE = "iot-managed-integrations"
KIND = "connector-destination"
RESOURCE_TYPE = "ConnectorDestination"
MAX_AUTH_MATERIALS = 3


def destinations_using_connector(store: ResourceStore, scope: Scope, connector_id: str) -> int:
    """How many destinations of the scope name the cloud connector (DeleteCloudConnector must
    refuse with a ValidationException while this is not 0)."""
    return store.count(scope, KIND, {"CloudConnectorId": connector_id})


def get_destination(
    store: ResourceStore, scope: Scope, destination_id: str, conn: Connection | None = None
) -> Resource:
    """The destination, or ResourceNotFoundException."""
    resource = existing(store, scope, KIND, destination_id, RESOURCE_TYPE, conn=conn)
    return resource


def oauth_config(destination: Resource) -> dict[str, Any] | None:
    """The destination's ``AuthConfig.oAuth``, if it has one."""
    oauth = destination.attrs.get("AuthConfig", {}).get("oAuth")
    return oauth if isinstance(oauth, dict) else None


def auth_materials(destination: Resource) -> list[dict[str, Any]]:
    """The destination's General Authorization materials (``AuthMaterialName``, ...)."""
    return list(destination.attrs.get("AuthConfig", {}).get("GeneralAuthorization") or [])


def _index(attrs: dict[str, Any]) -> dict[str, str]:
    return {"CloudConnectorId": attrs["CloudConnectorId"]}


def _check_auth(attrs: dict[str, Any]) -> None:
    auth = attrs["AuthConfig"]
    materials = auth.get("GeneralAuthorization") or []
    if "oAuth" not in auth and not materials:
        raise invalid("AuthConfig needs oAuth or at least one GeneralAuthorization material")
    names = [m["AuthMaterialName"] for m in materials]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise invalid(f"AuthMaterialName {duplicates[0]} is given more than once")
    if len(materials) > MAX_AUTH_MATERIALS:
        raise invalid(f"A destination has at most {MAX_AUTH_MATERIALS} GeneralAuthorization items")


def create_connector_destination(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    connector_id = params["CloudConnectorId"]
    attrs: dict[str, Any] = {
        "CloudConnectorId": connector_id,
        "AuthConfig": params["AuthConfig"],
    }
    for member in ("Name", "Description", "AuthType", "SecretsManager"):
        if member in params:
            attrs[member] = params[member]
    if "oAuth" in attrs["AuthConfig"]:
        attrs.setdefault("AuthType", "OAUTH")
    _check_auth(attrs)
    destination_id = new_id("hex")
    with store.transaction() as conn:
        existing(
            store,
            ctx.scope,
            cloud_connectors.KIND,
            connector_id,
            cloud_connectors.RESOURCE_TYPE,
            conn=conn,
        )
        store.create(
            ctx.scope,
            KIND,
            destination_id,
            attrs=attrs,
            now=ctx.now,
            index=_index(attrs),
            conn=conn,
        )
    return {"Id": destination_id}


def get_connector_destination(ctx: RequestContext, params: Params) -> Result:
    resource = get_destination(ctx.hub.store, ctx.scope, params["Identifier"])
    attrs = resource.attrs
    result: dict[str, Any] = {"Id": resource.id}
    for member in ("Name", "Description", "CloudConnectorId", "AuthType", "AuthConfig"):
        if member in attrs:
            result[member] = attrs[member]
    if "SecretsManager" in attrs:
        result["SecretsManager"] = attrs["SecretsManager"]
    redirect = (oauth_config(resource) or {}).get("oAuthCompleteRedirectUrl")
    if redirect:
        result["OAuthCompleteRedirectUrl"] = redirect
    return result


def update_connector_destination(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    with store.transaction() as conn:
        resource = existing(store, ctx.scope, KIND, params["Identifier"], RESOURCE_TYPE, conn=conn)
        attrs = copy.deepcopy(resource.attrs)
        for member in ("Name", "Description", "AuthType", "SecretsManager"):
            if member in params:
                attrs[member] = params[member]
        update = params.get("AuthConfig", {})
        if "oAuthUpdate" in update:
            oauth = attrs["AuthConfig"].get("oAuth")
            if oauth is None:
                raise invalid("The connector destination has no oAuth configuration to update")
            oauth.update(update["oAuthUpdate"])
        if "GeneralAuthorizationUpdate" in update:
            _update_materials(attrs["AuthConfig"], update["GeneralAuthorizationUpdate"])
        _check_auth(attrs)
        store.update(
            ctx.scope,
            KIND,
            resource.id,
            attrs=attrs,
            now=ctx.now,
            index=_index(attrs),
            expected_version=resource.version,
            conn=conn,
        )
    return None


def _update_materials(auth: dict[str, Any], update: dict[str, Any]) -> None:
    materials: list[dict[str, Any]] = list(auth.get("GeneralAuthorization") or [])
    by_name = {m["AuthMaterialName"]: i for i, m in enumerate(materials)}
    for material in update.get("AuthMaterialsToUpdate") or []:
        name = material["AuthMaterialName"]
        if name not in by_name:
            raise invalid(f"The connector destination has no AuthMaterialName {name}")
        materials[by_name[name]] = material
    for material in update.get("AuthMaterialsToAdd") or []:
        name = material["AuthMaterialName"]
        if name in by_name:
            raise invalid(f"The connector destination already has AuthMaterialName {name}")
        by_name[name] = len(materials)
        materials.append(material)
    auth["GeneralAuthorization"] = materials


def delete_connector_destination(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    destination_id = params["Identifier"]
    with store.transaction() as conn:
        existing(store, ctx.scope, KIND, destination_id, RESOURCE_TYPE, conn=conn)
        used = store.count(ctx.scope, ASSOCIATION_KIND, {ATTR_DESTINATION: destination_id}, conn)
        if used:
            raise invalid(
                f"ConnectorDestination {destination_id} is used by {used} account "
                f"association(s); delete them first"
            )
        store.delete(ctx.scope, KIND, destination_id, conn=conn)
    return None


def list_connector_destinations(ctx: RequestContext, params: Params) -> Result:
    filters = {k: params[k] for k in ("CloudConnectorId",) if k in params}
    return list_page(ctx, KIND, params, filters, _summary, "ConnectorDestinationList")


def _summary(resource: Resource) -> dict[str, Any]:
    summary: dict[str, Any] = {"Id": resource.id}
    for member in ("Name", "Description", "CloudConnectorId"):
        if member in resource.attrs:
            summary[member] = resource.attrs[member]
    return summary


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateConnectorDestination", create_connector_destination),
        ("GetConnectorDestination", get_connector_destination),
        ("UpdateConnectorDestination", update_connector_destination),
        ("DeleteConnectorDestination", delete_connector_destination),
        ("ListConnectorDestinations", list_connector_destinations),
    ):
        handlers.register(SERVICE, operation)(handler)
