"""Notification configurations: which destination receives each event type (spec 7.2).

CRUD only; delivery is elsewhere. A resource of kind ``notification-configuration`` whose id is
its ``EventType`` (one configuration per event type per account and region: a duplicate is a
ConflictException). Its attrs: ``EventType``, ``DestinationName`` and, when given, ``Tags``;
index field ``DestinationName``, so DeleteDestination can refuse while a configuration names
the destination. An unknown ``DestinationName`` is a ValidationException (CreateNotification-
Configuration models no ResourceNotFoundException; spec 8.2).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import notification_destinations as destinations
from thinghub.integrations import notifications
from thinghub.integrations.errors import existing, invalid, not_found
from thinghub.integrations.listing import list_page
from thinghub.store import AlreadyExists, Resource
from thinghub.wire.errors import ServiceError

SERVICE = "iot-managed-integrations"
KIND = "notification-configuration"
RESOURCE_TYPE = "NotificationConfiguration"
INDEX_DESTINATION = "DestinationName"


def configurations_using(
    ctx: RequestContext, destination_name: str, conn: Connection | None = None
) -> int:
    """How many configurations of the caller's scope name the destination."""
    return ctx.hub.store.count(ctx.scope, KIND, {INDEX_DESTINATION: destination_name}, conn)


def _summary(resource: Resource) -> dict[str, Any]:
    return {"EventType": resource.id, "DestinationName": resource.attrs["DestinationName"]}


def _index(attrs: dict[str, Any]) -> dict[str, str]:
    return {INDEX_DESTINATION: attrs["DestinationName"]}


def _check_destination(ctx: RequestContext, name: str, conn: Connection) -> None:
    if ctx.hub.store.get(ctx.scope, destinations.KIND, name, conn=conn) is None:
        raise invalid(f"Destination {name} does not exist")


def create_notification_configuration(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    event_type = params["EventType"]
    attrs: dict[str, Any] = {"EventType": event_type, "DestinationName": params["DestinationName"]}
    if "Tags" in params:
        attrs["Tags"] = params["Tags"]
    with store.transaction() as conn:
        _check_destination(ctx, attrs["DestinationName"], conn)
        try:
            store.create(
                ctx.scope,
                KIND,
                event_type,
                attrs=attrs,
                now=ctx.now,
                index=_index(attrs),
                conn=conn,
            )
        except AlreadyExists:
            raise _conflict(event_type) from None
    return {"EventType": event_type}


def _conflict(event_type: str) -> ServiceError:
    return ServiceError(
        "ConflictException", f"A notification configuration for {event_type} already exists"
    )


def get_notification_configuration(ctx: RequestContext, params: Params) -> Result:
    event_type = params["EventType"]
    resource = existing(ctx.hub.store, ctx.scope, KIND, event_type, RESOURCE_TYPE)
    return destinations.detail(resource, _summary(resource))


def update_notification_configuration(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    event_type = params["EventType"]
    with store.transaction() as conn:
        resource = existing(store, ctx.scope, KIND, event_type, RESOURCE_TYPE, conn=conn)
        _check_destination(ctx, params["DestinationName"], conn)
        attrs = {**resource.attrs, "DestinationName": params["DestinationName"]}
        store.update(
            ctx.scope,
            KIND,
            event_type,
            attrs=attrs,
            now=ctx.now,
            index=_index(attrs),
            expected_version=resource.version,
            conn=conn,
        )
    return None


def delete_notification_configuration(ctx: RequestContext, params: Params) -> Result:
    event_type = params["EventType"]
    if ctx.hub.store.delete(ctx.scope, KIND, event_type) is None:
        raise not_found(RESOURCE_TYPE, event_type)
    return None


def list_notification_configurations(ctx: RequestContext, params: Params) -> Result:
    return list_page(ctx, KIND, params, {}, _summary, "NotificationConfigurationList")


def register(handlers: Handlers) -> None:
    for operation, handler in (
        (
            "CreateNotificationConfiguration",
            notifications.changes_routes(create_notification_configuration),
        ),
        ("GetNotificationConfiguration", get_notification_configuration),
        (
            "UpdateNotificationConfiguration",
            notifications.changes_routes(update_notification_configuration),
        ),
        (
            "DeleteNotificationConfiguration",
            notifications.changes_routes(delete_notification_configuration),
        ),
        ("ListNotificationConfigurations", list_notification_configurations),
    ):
        handlers.register(SERVICE, operation)(handler)
