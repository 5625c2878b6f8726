"""Cloud connectors: a name and the Lambda function that speaks for a third-party cloud."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations.errors import existing, invalid, not_found
from thinghub.integrations.listing import list_page
from thinghub.store import Resource, Scope, new_id
from thinghub.wire.errors import ServiceError

SERVICE = "iot-managed-integrations"
KIND = "cloud-connector"
RESOURCE_TYPE = "CloudConnector"


def _item(resource: Resource) -> dict[str, Any]:
    return {"Id": resource.id, **resource.attrs}


def _index(attrs: dict[str, Any]) -> dict[str, str]:
    return {"Type": attrs["Type"], "LambdaArn": attrs["EndpointConfig"]["lambda"]["arn"]}


def get_connector(ctx: RequestContext, connector_id: str) -> Resource:
    """The connector of this account, or ResourceNotFoundException."""
    return existing(ctx.hub.store, ctx.scope, KIND, connector_id, RESOURCE_TYPE)


def create_cloud_connector(ctx: RequestContext, params: Params) -> Result:
    attrs: dict[str, Any] = {
        "Name": params["Name"],
        "EndpointConfig": params["EndpointConfig"],
        "EndpointType": params.get("EndpointType", "LAMBDA"),
        # Connectors made through the API are private to the account: UNLISTED.
        "Type": "UNLISTED",
    }
    if "Description" in params:
        attrs["Description"] = params["Description"]
    connector_id = new_id("hex")
    ctx.hub.store.create(
        ctx.scope, KIND, connector_id, attrs=attrs, now=ctx.now, index=_index(attrs)
    )
    return {"Id": connector_id}


def get_cloud_connector(ctx: RequestContext, params: Params) -> Result:
    return _item(get_connector(ctx, params["Identifier"]))


def update_cloud_connector(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    with store.transaction() as conn:
        resource = existing(store, ctx.scope, KIND, params["Identifier"], RESOURCE_TYPE, conn=conn)
        attrs = dict(resource.attrs)
        for member in ("Name", "Description"):
            if member in params:
                attrs[member] = params[member]
        store.update(
            ctx.scope,
            KIND,
            resource.id,
            attrs=attrs,
            now=ctx.now,
            expected_version=resource.version,
            conn=conn,
        )
    return None


def delete_cloud_connector(ctx: RequestContext, params: Params) -> Result:
    from thinghub.integrations.connector_destinations import destinations_using_connector

    connector_id = params["Identifier"]
    get_connector(ctx, connector_id)
    in_use = destinations_using_connector(ctx.hub.store, ctx.scope, connector_id)
    if in_use:
        # The operation models no ConflictException: "still in use" is a ValidationException.
        raise invalid(
            f"CloudConnector {connector_id} is still used by {in_use} connector "
            "destination(s); delete them first"
        )
    if ctx.hub.store.delete(ctx.scope, KIND, connector_id) is None:
        raise not_found(RESOURCE_TYPE, connector_id)
    return None


def list_cloud_connectors(ctx: RequestContext, params: Params) -> Result:
    filters: dict[str, str] = {k: params[k] for k in ("Type", "LambdaArn") if k in params}
    return list_page(ctx, KIND, params, filters, _item)


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateCloudConnector", create_cloud_connector),
        ("GetCloudConnector", get_cloud_connector),
        ("UpdateCloudConnector", update_cloud_connector),
        ("DeleteCloudConnector", delete_cloud_connector),
        ("ListCloudConnectors", list_cloud_connectors),
    ):
        handlers.register(SERVICE, operation)(handler)


def check_owner(ctx: RequestContext, connector_id: str, conn: Connection | None = None) -> None:
    """Only the account that owns the connector may speak for it (spec 4.1).

    Connector ids are per account: an id unknown here but present in another account (of the
    same region) is someone else's connector, not a missing one.
    """
    store = ctx.hub.store
    if store.get(ctx.scope, KIND, connector_id, conn=conn) is not None:
        return
    accounts = {identity.account_id for identity in ctx.hub.identities} - {ctx.account_id}
    for account_id in sorted(accounts):
        if store.get(Scope(account_id, ctx.region), KIND, connector_id, conn=conn):
            raise ServiceError(
                "AccessDeniedException",
                f"Account {ctx.account_id} does not own connector {connector_id}; "
                "events must be signed by the account that created the connector",
            )
    raise not_found(RESOURCE_TYPE, connector_id)
