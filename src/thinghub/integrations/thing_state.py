"""Managed thing state (spec 6.5): stored from DEVICE_EVENT and DEVICE_COMMAND_RESPONSE
attribute reports, served by GetManagedThingState with names from the Matter catalogue.

`report` stores a MatterEndpoint's attribute values in the caller's transaction and returns
the DEVICE_STATE notification when something changed (spec 11.14: DEVICE_STATE only when the
stored state changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import managed_things, notifications
from thinghub.integrations.thing_model import (
    ThingModel,
    customer_endpoints,
    model_of,
)
from thinghub.store import Resource, Scope
from thinghub.store.device_state import (
    DeviceStateStore,
    PropertyValue,
    Reported,
    StateBatch,
    StateChange,
)

if TYPE_CHECKING:
    from thinghub.hub import Hub

SERVICE = "iot-managed-integrations"
COMPONENT = "thing-state"


def states(hub: Hub) -> DeviceStateStore:
    store: DeviceStateStore = hub.components[COMPONENT]
    return store


def report(
    hub: Hub,
    scope: Scope,
    thing: Resource,
    model: ThingModel,
    values: list[Reported],
    now: float,
    conn: Connection,
    *,
    trace_id: str | None = None,
) -> tuple[list[dict[str, Any]], notifications.Notification | None]:
    """Store reported attribute values (`thing_model.normalized_values`); (the changed
    properties as customer-model endpoints, the DEVICE_STATE notification or None when nothing
    changed)."""
    batch = StateBatch(states(hub), conn, now)
    change, endpoints, notification = state_change(
        batch, scope, thing, model, values, now, trace_id=trace_id
    )
    batch.apply(change)
    batch.write()
    return endpoints, notification


def state_change(
    batch: StateBatch,
    scope: Scope,
    thing: Resource,
    model: ThingModel,
    values: list[Reported],
    now: float,
    *,
    trace_id: str | None = None,
) -> tuple[StateChange, list[dict[str, Any]], notifications.Notification | None]:
    """What `report` does, but left for the caller to apply to `batch`: (the change, the
    changed properties as customer-model endpoints, the DEVICE_STATE notification or None)."""
    change = batch.diff(scope, thing.id, values)
    if not change.changed:
        return change, [], None
    endpoints = customer_endpoints(
        model,
        (
            PropertyValue(v.endpoint_id, v.cluster_id, v.attribute_id, v.value, now, now)
            for v in change.changed
        ),
        notifications.timestamp,
    )
    payload = managed_things.thing_payload(thing)
    if trace_id:
        payload["traceId"] = trace_id
    payload["endpoints"] = endpoints
    notification = managed_things.thing_record(scope, thing.id, notifications.DEVICE_STATE, payload)
    return change, endpoints, notification


def get_managed_thing_state(ctx: RequestContext, params: Params) -> Result:
    thing = managed_things.get_thing(ctx.hub.store, ctx.scope, params["ManagedThingId"])
    values = states(ctx.hub).read(ctx.scope, thing.id)
    model = model_of(thing)
    return {"Endpoints": customer_endpoints(model, values, notifications.timestamp)}


def register(handlers: Handlers) -> None:
    handlers.register(SERVICE, "GetManagedThingState")(get_managed_thing_state)


def start(hub: Hub) -> None:
    hub.components[COMPONENT] = DeviceStateStore(hub.engine)
