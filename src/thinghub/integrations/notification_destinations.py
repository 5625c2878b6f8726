"""Notification destinations: where notifications are delivered (spec 7.1). CRUD only.

A resource of kind ``notification-destination`` whose id is its ``Name`` (unique per account
and region: a duplicate is a ConflictException). Its attrs are the members as given:
``DeliveryDestinationArn``, ``DeliveryDestinationType`` (``KINESIS``), ``RoleArn``, and when
given ``Description`` and ``Tags``. Destinations have no ARN in the model, so their tags live in
the attrs. Deleting a destination that a notification configuration still names is a
ValidationException (the operation models no ConflictException; spec 8.2).
"""

from __future__ import annotations

from typing import Any

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control.kinds import INPUT
from thinghub.integrations import notifications
from thinghub.integrations.errors import existing, invalid
from thinghub.integrations.listing import list_page
from thinghub.store import AlreadyExists, Resource
from thinghub.wire.errors import ServiceError

SERVICE = "iot-managed-integrations"
KIND = "notification-destination"
RESOURCE_TYPE = "Destination"

_SUMMARY = (
    "Description",
    "DeliveryDestinationArn",
    "DeliveryDestinationType",
    "Name",
    "RoleArn",
)
_UPDATABLE = ("DeliveryDestinationArn", "DeliveryDestinationType", "RoleArn", "Description")


def detail(resource: Resource, summary: dict[str, Any]) -> dict[str, Any]:
    """A Get answer of the notification resources: the summary, times and tags."""
    result = {**summary, "CreatedAt": resource.created_at, "UpdatedAt": resource.updated_at}
    if "Tags" in resource.attrs:
        result["Tags"] = resource.attrs["Tags"]
    return result


def _summary(resource: Resource) -> dict[str, Any]:
    return {m: resource.attrs[m] for m in _SUMMARY if m in resource.attrs}


def _check_arn(ctx: RequestContext, arn: str) -> None:
    """A Kinesis stream, or an IoT Events input of the caller's account and region that exists
    (its records then drive detectors)."""
    try:
        _, target = notifications.target_of(arn)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    if target.service != "iotevents":
        return
    if (target.account_id, target.region) != (ctx.account_id, ctx.region):
        raise invalid(f"{arn}: an IoT Events input must be in this account and region")
    name = target.resource.removeprefix("input/")
    if ctx.hub.store.get(ctx.scope, INPUT, name) is None:
        raise invalid(f"{arn}: IoT Events input {name} does not exist")


def create_destination(ctx: RequestContext, params: Params) -> Result:
    name = params["Name"]
    _check_arn(ctx, params["DeliveryDestinationArn"])
    attrs: dict[str, Any] = {
        "Name": name,
        "DeliveryDestinationArn": params["DeliveryDestinationArn"],
        "DeliveryDestinationType": params["DeliveryDestinationType"],
        "RoleArn": params["RoleArn"],
    }
    for member in ("Description", "Tags"):
        if member in params:
            attrs[member] = params[member]
    try:
        ctx.hub.store.create(ctx.scope, KIND, name, attrs=attrs, now=ctx.now)
    except AlreadyExists:
        raise ServiceError("ConflictException", f"Destination {name} already exists") from None
    return {"Name": name}


def get_destination(ctx: RequestContext, params: Params) -> Result:
    name = params["Name"]
    resource = existing(ctx.hub.store, ctx.scope, KIND, name, RESOURCE_TYPE)
    return detail(resource, _summary(resource))


def update_destination(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    name = params["Name"]
    if "DeliveryDestinationArn" in params:
        _check_arn(ctx, params["DeliveryDestinationArn"])
    with store.transaction() as conn:
        resource = existing(store, ctx.scope, KIND, name, RESOURCE_TYPE, conn=conn)
        attrs = dict(resource.attrs)
        for member in _UPDATABLE:
            if member in params:
                attrs[member] = params[member]
        store.update(
            ctx.scope,
            KIND,
            name,
            attrs=attrs,
            now=ctx.now,
            expected_version=resource.version,
            conn=conn,
        )
    return None


def delete_destination(ctx: RequestContext, params: Params) -> Result:
    from thinghub.integrations.notification_configurations import configurations_using

    store = ctx.hub.store
    name = params["Name"]
    with store.transaction() as conn:
        existing(store, ctx.scope, KIND, name, RESOURCE_TYPE, conn=conn)
        used = configurations_using(ctx, name, conn)
        if used:
            raise invalid(
                f"Destination {name} is used by {used} notification configuration(s); "
                "delete or update them first"
            )
        store.delete(ctx.scope, KIND, name, conn=conn)
    return None


def list_destinations(ctx: RequestContext, params: Params) -> Result:
    return list_page(ctx, KIND, params, {}, _summary, "DestinationList")


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateDestination", notifications.changes_routes(create_destination)),
        ("GetDestination", get_destination),
        ("UpdateDestination", notifications.changes_routes(update_destination)),
        ("DeleteDestination", notifications.changes_routes(delete_destination)),
        ("ListDestinations", list_destinations),
    ):
        handlers.register(SERVICE, operation)(handler)
