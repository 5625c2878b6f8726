"""SendConnectorEvent for devices (spec 5.2): DEVICE_EVENT, DEVICE_COMMAND_REQUEST and
DEVICE_COMMAND_RESPONSE.

Correlation: the thing is the managed thing with that ConnectorDeviceId registered to an
account association of this connector whose user (from AWS.ActivateUser) is UserId. When the
connector has no live association for UserId (deleted, being deleted, never linked), the event
is accepted and dropped: connectors keep sending briefly after AWS.DeactivateUser. When the user
is linked but no managed thing has that ConnectorDeviceId, ResourceNotFoundException.

Records (spec 7.2, 11.14): DEVICE_EVENT for every device event (its properties and events by
name), DEVICE_STATE when the stored state changed, DEVICE_COMMAND_REQUEST for device-originated
commands (no state change), DEVICE_COMMAND when a command response ends a command. A response
for a command that has ended already changes nothing (202; the first outcome stands).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from thinghub.api import Params, RequestContext
from thinghub.group_commit import GroupCommit
from thinghub.integrations import (
    association_records,
    capabilities,
    cloud_connectors,
    managed_things,
    notifications,
    thing_commands,
    thing_state,
)
from thinghub.integrations.errors import invalid, not_found
from thinghub.integrations.thing_model import (
    ThingModel,
    customer_endpoints,
    customer_events,
    model_of,
    normalized_values,
)
from thinghub.store import OutboxItemIn, Resource, Scope
from thinghub.store.device_commands import FAILED, PENDING, SUCCEEDED
from thinghub.store.device_state import PropertyValue, StateBatch, StateChange

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.integrations")

COMPONENT = "device-events"
DEVICE_EVENT = "DEVICE_EVENT"
DEVICE_COMMAND_REQUEST = "DEVICE_COMMAND_REQUEST"
DEVICE_COMMAND_RESPONSE = "DEVICE_COMMAND_RESPONSE"
OPERATIONS = (DEVICE_EVENT, DEVICE_COMMAND_REQUEST, DEVICE_COMMAND_RESPONSE)


async def handle(ctx: RequestContext, connector_id: str, params: Params) -> None:
    """A device operation; the caller has checked that the account owns the connector, but for
    DEVICE_EVENT, checked here."""
    operation = params["Operation"]
    if operation == DEVICE_EVENT:
        await _group_commit(ctx.hub).submit(
            lambda batch: _device_event(ctx, connector_id, params, batch)
        )
    elif operation == DEVICE_COMMAND_RESPONSE:
        _require(params, operation, "TraceId", "UserId")
        _command_response(ctx, connector_id, params)
    else:
        _require(params, operation, "ConnectorDeviceId", "UserId", "MatterEndpoint")
        _command_request(ctx, connector_id, params)


class DeviceBatch:
    """The device events of one group commit (`thinghub.group_commit`): they read in its
    transaction and stage their writes here; `write` then stores every state row with one
    statement and queues every record with another. An event stages only once it has
    succeeded, so one that fails leaves nothing behind (no savepoint needed)."""

    def __init__(self, hub: Hub, conn: Connection) -> None:
        self.hub = hub
        self.conn = conn
        self.now = hub.clock.now()
        self.states = StateBatch(thing_state.states(hub), conn, self.now)
        self._items: list[OutboxItemIn] = []
        self._live: dict[tuple[Scope, str, str], frozenset[str]] = {}
        self._owned: set[tuple[str, str, str]] = set()

    def check_owner(self, ctx: RequestContext, connector_id: str) -> None:
        """The caller's account owns the connector (read once per batch)."""
        key = (ctx.account_id, ctx.region, connector_id)
        if key not in self._owned:
            cloud_connectors.check_owner(ctx, connector_id, self.conn)
            self._owned.add(key)

    def live_associations(self, scope: Scope, connector_id: str, user_id: str) -> frozenset[str]:
        """Ids of the user's live account associations through the connector (read once per
        batch: the events of a batch do not change associations)."""
        key = (scope, connector_id, user_id)
        live = self._live.get(key)
        if live is None:
            live = self._live[key] = _live_associations(
                self.hub, scope, connector_id, user_id, self.conn
            )
        return live

    def stage(self, change: StateChange, items: list[OutboxItemIn]) -> None:
        self.states.apply(change)
        self._items.extend(items)

    def write(self) -> None:
        self.states.write()
        notifications.queue(self.hub, self._items, self.now, self.conn)


def _flush(hub: Hub, work: list[Callable[[DeviceBatch], None]]) -> list[BaseException | None]:
    """A group commit of device events: each applied in arrival order (one that fails stages
    nothing and gets its error), then everything staged is written and committed at once."""

    def attempt(conn: Connection) -> list[BaseException | None]:
        failures: list[BaseException | None] = []
        batch = DeviceBatch(hub, conn)
        for apply in work:
            try:
                apply(batch)
                failures.append(None)
            except sa.exc.DBAPIError:
                raise  # the transaction itself failed (PostgreSQL aborts it): the whole flush
            except Exception as exc:
                failures.append(exc)
        batch.write()
        return failures

    # Events change nothing before `write`, so a flush PostgreSQL aborted (a deadlock with
    # another node) simply runs again.
    return hub.store.run_transaction(attempt)


def _group_commit(hub: Hub) -> GroupCommit[Callable[[DeviceBatch], None]]:
    batcher: GroupCommit[Callable[[DeviceBatch], None]] = hub.components[COMPONENT]
    return batcher


def start(hub: Hub) -> None:
    hub.components[COMPONENT] = GroupCommit(lambda work: _flush(hub, work))


def _require(params: Params, operation: str, *members: str) -> None:
    missing = [member for member in members if not params.get(member)]
    if missing:
        raise invalid(f"A {operation} event needs {', '.join(missing)}")


def _status(params: Params) -> int:
    return int(params.get("StatusCode", 200))


def _live_associations(
    hub: Hub, scope: Scope, connector_id: str, user_id: str, conn: Connection
) -> frozenset[str]:
    """Ids of the user's account associations through the connector that are not going away."""
    # By the selective value (a user), with the connector checked on what it finds.
    associations = hub.store.find(
        scope, association_records.KIND, association_records.ATTR_USER_ID, user_id, conn=conn
    )
    return frozenset(
        a.id
        for a in associations
        if a.attrs.get(association_records.ATTR_CONNECTOR) == connector_id
        and a.attrs.get(association_records.ATTR_STATE) != association_records.DELETING
    )


def _find_thing(
    ctx: RequestContext,
    device_id: str,
    live: frozenset[str],
    conn: Connection,
) -> Resource | None:
    """The thing the event is about; None: the user has no live association (drop it)."""
    if not live:
        return None
    things = ctx.hub.store.find(
        ctx.scope, managed_things.KIND, "ConnectorDeviceId", device_id, conn=conn
    )
    for thing in things:
        if thing.attrs.get("AccountAssociationId") in live:
            return thing
    raise not_found(managed_things.RESOURCE_TYPE, device_id)


def _thing_of(
    ctx: RequestContext, connector_id: str, params: Params, conn: Connection
) -> Resource | None:
    live = _live_associations(ctx.hub, ctx.scope, connector_id, params["UserId"], conn)
    return _find_thing(ctx, params["ConnectorDeviceId"], live, conn)


def _matter_endpoint(params: Params) -> Mapping[str, Any]:
    endpoint: Mapping[str, Any] = params["MatterEndpoint"]
    for cluster in endpoint.get("clusters", []):
        capabilities.matter_id(str(cluster["id"]))  # a readable error for a bad id
    return endpoint


def _common(thing: Resource, params: Params) -> dict[str, Any]:
    payload = managed_things.thing_payload(thing)
    payload["statusCode"] = _status(params)
    for member, key in (("TraceId", "traceId"), ("Message", "message")):
        if params.get(member):
            payload[key] = params[member]
    return payload


def _device_event(
    ctx: RequestContext, connector_id: str, params: Params, batch: DeviceBatch
) -> None:
    batch.check_owner(ctx, connector_id)
    _require(params, DEVICE_EVENT, "ConnectorDeviceId", "UserId", "MatterEndpoint")
    endpoint = _matter_endpoint(params)
    user_id = params["UserId"]
    live = batch.live_associations(ctx.scope, connector_id, user_id)
    thing = _find_thing(ctx, params["ConnectorDeviceId"], live, batch.conn)
    if thing is None:
        log.info("DEVICE_EVENT for user %s of %s dropped: not linked", user_id, connector_id)
        return
    model = model_of(thing)
    now = batch.now
    values = normalized_values(model, endpoint)
    change, changed_endpoints, state = thing_state.state_change(
        batch.states, ctx.scope, thing, model, values, now, trace_id=params.get("TraceId")
    )
    payload = _common(thing, params)
    if len(change.changed) == len(values):
        # Every reported value changed (the usual case): the same endpoints, built once.
        payload["endpoints"] = changed_endpoints
    else:
        reported = (
            PropertyValue(v.endpoint_id, v.cluster_id, v.attribute_id, v.value, now, now)
            for v in values
        )
        payload["endpoints"] = customer_endpoints(model, reported, notifications.timestamp)
    payload["events"] = customer_events(model, endpoint)
    payload["matterEndpoint"] = endpoint
    records = [
        managed_things.thing_record(ctx.scope, thing.id, notifications.DEVICE_EVENT, payload)
    ]
    if state is not None:
        records.append(state)
    batch.stage(change, notifications.outbox_items(ctx.hub, ctx.scope, records, now, batch.conn))


def _command_request(ctx: RequestContext, connector_id: str, params: Params) -> None:
    hub = ctx.hub
    endpoint = _matter_endpoint(params)
    if not any(cluster.get("commands") for cluster in endpoint.get("clusters", [])):
        raise invalid("A DEVICE_COMMAND_REQUEST event needs MatterEndpoint clusters with commands")
    with hub.store.transaction() as conn:
        thing = _thing_of(ctx, connector_id, params, conn)
        if thing is None:
            return
        model = model_of(thing)
        payload = _common(thing, params)
        payload["commands"] = _named_commands(model, endpoint)
        payload["matterEndpoint"] = endpoint
        record = managed_things.thing_record(
            ctx.scope, thing.id, notifications.DEVICE_COMMAND_REQUEST, payload
        )
        notifications.notify(hub, ctx.scope, [record], hub.clock.now(), conn)


def _named_commands(model: ThingModel, endpoint: Mapping[str, Any]) -> list[dict[str, Any]]:
    endpoint_id = str(endpoint["id"])
    named = []
    for cluster in endpoint.get("clusters", []):
        binding = model.by_cluster(endpoint_id, capabilities.matter_id(str(cluster["id"])))
        for command_key, fields in (cluster.get("commands") or {}).items():
            command_id = capabilities.matter_id(str(command_key))
            command = binding.cluster.commands.get(command_id) if binding.cluster else None
            parameters = fields
            if command is not None and isinstance(fields, dict):
                parameters = {}
                for key, value in fields.items():
                    field = command.fields.get(capabilities.matter_id(str(key)))
                    parameters[field.name if field else str(key)] = value
            named.append(
                {
                    "endpointId": endpoint_id,
                    "capabilityId": binding.capability_id,
                    "name": binding.command_name(command_id),
                    "parameters": parameters,
                }
            )
    return named


def _command_response(ctx: RequestContext, connector_id: str, params: Params) -> None:
    hub = ctx.hub
    trace_id = params["TraceId"]
    status_code = _status(params)
    with hub.store.transaction() as conn:
        command = thing_commands.command_of(hub, ctx.scope, trace_id, conn)
        if command is None:
            raise not_found("Command", trace_id)
        if command.connector_id != connector_id:
            raise invalid(f"Command {trace_id} was not sent through connector {connector_id}")
        device_id = params.get("ConnectorDeviceId")
        if device_id and device_id != command.request.get("connectorDeviceId"):
            raise invalid(f"Command {trace_id} was not sent to device {device_id}")
        thing = hub.store.get(ctx.scope, managed_things.KIND, command.managed_thing_id, conn=conn)
        if thing is None:
            log.info("response to %s dropped: its managed thing is gone", trace_id)
            return
        association = thing.attrs.get("AccountAssociationId")
        user = _user_of(ctx, association, conn)
        if user is not None and user != params["UserId"]:
            raise invalid(f"UserId {params['UserId']} is not the user of command {trace_id}")
        if command.status != PENDING:
            log.info("response to %s ignored: the command is %s already", trace_id, command.status)
            return
        now = hub.clock.now()
        model = model_of(thing)
        endpoints: list[dict[str, Any]] = []
        records: list[notifications.Notification] = []
        if params.get("MatterEndpoint"):
            endpoint = _matter_endpoint(params)
            values = normalized_values(model, endpoint)
            endpoints, state = thing_state.report(
                hub, ctx.scope, thing, model, values, now, conn, trace_id=trace_id
            )
            if state is not None:
                records.append(state)
        # The state first, then the outcome: a consumer that sees DEVICE_COMMAND has the state.
        notifications.notify(hub, ctx.scope, records, now, conn)
        if status_code < 200 or 300 <= status_code < 400:
            # Spec 5.3: 1xx/3xx are progress, not an outcome: state is kept, the command waits.
            return
        outcome: dict[str, Any] = {"statusCode": status_code, "endpoints": endpoints}
        if params.get("Message"):
            outcome["message"] = params["Message"]
        if params.get("MatterEndpoint"):
            outcome["matterEndpoint"] = params["MatterEndpoint"]
        status = SUCCEEDED if status_code < 300 else FAILED
        if not thing_commands.finish(hub, ctx.scope, command, status, outcome, now, conn):
            log.info("response to %s ignored: the command ended meanwhile", trace_id)


def _user_of(ctx: RequestContext, association_id: str | None, conn: Connection) -> str | None:
    if not association_id:
        return None
    association = ctx.hub.store.get(ctx.scope, association_records.KIND, association_id, conn=conn)
    if association is None:
        return None
    user = association.attrs.get(association_records.ATTR_USER_ID)
    return None if user is None else str(user)
