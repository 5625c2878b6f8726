"""SendManagedThingCommand (spec 3.8) and the life of a command until its outcome.

1. The command is validated against the thing's capabilities and translated to the Matter
   model (`thing_model.translate`); it is stored PENDING with a deadline and answered 202 with
   its TraceId.
2. AWS.SendCommand is invoked in the background with the user's token, the thing's
   connectorDeviceId, the traceId and the Matter endpoints.
3. The connector's DEVICE_COMMAND_RESPONSE (`finish_from_response`), a failed invocation or
   the deadline (``[integrations] command_timeout_seconds``, default 60, on thinghub's clock)
   ends it, once: SUCCEEDED or FAILED, with a DEVICE_COMMAND record; failures of the connector
   also with a CONNECTOR_ERROR_REPORT.

ReadState actions are answered from the stored state (spec 6.3 [CHOICE]): a command made only
of them ends at once, SUCCEEDED, its DEVICE_COMMAND record carrying the values read. A command
still PENDING when thinghub stops is not re-sent after the restart: its deadline ends it as
FAILED, which is reported like any other timeout.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.background import BackgroundTasks, keep_deadlines
from thinghub.connectors.envelope import SEND_COMMAND, envelope
from thinghub.connectors.invoker import ConnectorInvoker
from thinghub.connectors.responses import ConnectorError
from thinghub.integrations import (
    connector_errors,
    discovery_links,
    managed_things,
    notifications,
    thing_state,
)
from thinghub.integrations.errors import invalid
from thinghub.integrations.settings import seconds_setting
from thinghub.integrations.thing_model import (
    Translated,
    customer_endpoints,
    model_of,
    translate,
)
from thinghub.store import Resource, Scope
from thinghub.store.device_commands import (
    FAILED,
    PENDING,
    SUCCEEDED,
    CommandRecord,
    CommandStore,
)

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.integrations")

SERVICE = "iot-managed-integrations"
COMPONENT = "thing-commands"
DEFAULT_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 1.0


class CommandRuntime:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = CommandStore(hub.engine)
        self.timeout = seconds_setting(
            hub.settings, "command_timeout_seconds", DEFAULT_TIMEOUT_SECONDS
        )
        self.tasks = BackgroundTasks()

    def close(self) -> None:
        self.store.close()


def runtime(hub: Hub) -> CommandRuntime:
    found: CommandRuntime = hub.components[COMPONENT]
    return found


# ----- outcome --------------------------------------------------------------------------------


def finish(
    hub: Hub,
    scope: Scope,
    command: CommandRecord,
    status: str,
    outcome: dict[str, Any],
    now: float,
    conn: Connection,
    extra: list[notifications.Notification] | None = None,
) -> bool:
    """End a PENDING command with a DEVICE_COMMAND record (and `extra` records); False when it
    had ended already, and then nothing is recorded."""
    if not runtime(hub).store.finish(scope, command.trace_id, status, outcome, now, conn):
        return False
    payload: dict[str, Any] = {
        "managedThingId": command.managed_thing_id,
        "traceId": command.trace_id,
        "status": status,
        **outcome,
        "request": command.request.get("endpoints", []),
    }
    if command.request.get("connectorDeviceId"):
        payload["connectorDeviceId"] = command.request["connectorDeviceId"]
    record = managed_things.thing_record(
        scope, command.managed_thing_id, notifications.DEVICE_COMMAND, payload
    )
    notifications.notify(hub, scope, [record, *(extra or [])], now, conn)
    return True


def command_of(hub: Hub, scope: Scope, trace_id: str, conn: Connection) -> CommandRecord | None:
    return runtime(hub).store.get(scope, trace_id, conn)


# ----- SendManagedThingCommand ----------------------------------------------------------------


async def send_managed_thing_command(ctx: RequestContext, params: Params) -> Result:
    hub = ctx.hub
    store = hub.store
    thing = managed_things.get_thing(store, ctx.scope, params["ManagedThingId"])
    association_id = _association_of(thing, params.get("AccountAssociationId"))
    association = discovery_links.existing_association(store, ctx.scope, association_id)
    discovery_links.usable(association, "ValidationException")
    connector = discovery_links.connector_of(store, ctx.scope, association)
    model = model_of(thing)
    endpoints = _with_action_trace_ids(params["Endpoints"])
    translated = translate(model, endpoints)
    auth: dict[str, Any] = {}
    if translated.matter_endpoints:
        # Before anything is stored: an association whose tokens cannot be refreshed fails
        # the request rather than leaving a command behind.
        auth = await discovery_links.connector_auth(hub, ctx.scope, association_id)

    trace_id = uuid.uuid4().hex
    rt = runtime(hub)
    now = hub.clock.now()
    request = {
        "endpoints": endpoints,
        "matterEndpoints": translated.matter_endpoints,
        "connectorDeviceId": thing.attrs.get("ConnectorDeviceId"),
        "accountAssociationId": association_id,
    }
    with store.transaction() as conn:
        due = now + rt.timeout if translated.matter_endpoints else None
        rt.store.add(ctx.scope, trace_id, thing.id, connector.id, request, now, due, conn)
        if not translated.matter_endpoints:
            command = rt.store.get(ctx.scope, trace_id, conn)
            assert command is not None
            outcome = {"statusCode": 200, "endpoints": _reads(hub, ctx.scope, thing, translated)}
            finish(hub, ctx.scope, command, SUCCEEDED, outcome, now, conn)
    if translated.matter_endpoints:
        event = envelope(
            SEND_COMMAND,
            connector.id,
            auth.get("token"),
            {
                "connectorDeviceId": thing.attrs.get("ConnectorDeviceId"),
                "traceId": trace_id,
                "endpoints": translated.matter_endpoints,
            },
            auth=auth.get("auth"),
        )
        rt.tasks.spawn(_invoke(hub, ctx.scope, trace_id, connector, event), f"command {trace_id}")
    return {"TraceId": trace_id}


def _association_of(thing: Resource, requested: str | None) -> str:
    linked = thing.attrs.get("AccountAssociationId")
    if not thing.attrs.get("ConnectorDeviceId") or not linked:
        raise invalid(
            f"Managed thing {thing.id} is not a cloud device of an account association: "
            "thinghub sends commands through cloud connectors only"
        )
    if requested and requested != linked:
        raise invalid(
            f"Managed thing {thing.id} is not registered to account association {requested}"
        )
    return str(linked)


def _with_action_trace_ids(endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request with an actionTraceId on every action (spec 3.8: generated if absent)."""
    result = []
    for endpoint in endpoints:
        capabilities = []
        for capability in endpoint["capabilities"]:
            actions = [
                {**action, "actionTraceId": action.get("actionTraceId") or uuid.uuid4().hex}
                for action in capability["actions"]
            ]
            capabilities.append({**capability, "actions": actions})
        result.append({**endpoint, "capabilities": capabilities})
    return result


def _reads(hub: Hub, scope: Scope, thing: Resource, translated: Translated) -> list[dict[str, Any]]:
    """ReadState answers: the stored values of the properties asked for."""
    if not translated.reads:
        return []
    model = model_of(thing)
    values = thing_state.states(hub).read(scope, thing.id)
    wanted = []
    for binding, names in translated.reads:
        for value in values:
            if (value.endpoint_id, value.cluster_id) != (binding.endpoint_id, binding.cluster_id):
                continue
            if names is None or binding.property_name(value.attribute_id) in names:
                wanted.append(value)
    return customer_endpoints(model, wanted, notifications.timestamp)


async def _invoke(
    hub: Hub,
    scope: Scope,
    trace_id: str,
    connector: discovery_links.ConnectorView,
    event: dict[str, Any],
) -> None:
    invoker: ConnectorInvoker = hub.components["connectors"]
    try:
        await invoker.invoke(
            connector.lambda_arn, event, account_id=scope.account_id, region=scope.region
        )
    except ConnectorError as exc:
        log.warning("command %s: AWS.SendCommand failed: %s", trace_id, exc)
        _fail(hub, scope, trace_id, f"AWS.SendCommand failed: {exc}", exc)


def _fail(hub: Hub, scope: Scope, trace_id: str, reason: str, error: ConnectorError | str) -> bool:
    now = hub.clock.now()
    with hub.store.transaction() as conn:
        command = command_of(hub, scope, trace_id, conn)
        if command is None or command.status != PENDING:
            return False
        report = connector_errors.report(
            scope,
            command.connector_id,
            SEND_COMMAND,
            error,
            managed_thing_id=command.managed_thing_id,
            traceId=trace_id,
        )
        outcome = {"statusCode": 500, "message": reason[:1000]}
        return finish(hub, scope, command, FAILED, outcome, now, conn, [report])


# ----- deadlines ------------------------------------------------------------------------------


def expire_due(hub: Hub, now: float) -> int:
    """Fail every PENDING command whose deadline passed; how many did."""
    expired = 0
    rt = runtime(hub)
    while True:
        due = rt.store.due(now)
        if not due:
            return expired
        for command in due:
            reason = "no DEVICE_COMMAND_RESPONSE from the connector in time"
            if _fail(hub, command.scope, command.trace_id, reason, reason):
                expired += 1
        if len(due) < 100:
            return expired


def register(handlers: Handlers) -> None:
    handlers.register(SERVICE, "SendManagedThingCommand")(send_managed_thing_command)


def start(hub: Hub) -> None:
    rt = hub.components[COMPONENT] = CommandRuntime(hub)
    hub.add_async_closer(rt.tasks.cancel)
    keep_deadlines(
        hub, "command-timeouts", lambda now: expire_due(hub, now), rt.store.next_due, POLL_SECONDS
    )
