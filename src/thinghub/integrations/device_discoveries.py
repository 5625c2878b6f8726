"""Device discoveries (spec 3.5): ask a cloud connector for an end user's devices.

StartDeviceDiscovery commits a RUNNING discovery, then invokes ``AWS.DiscoverDevices``; the
connector answers with SendConnectorEvent(DEVICE_DISCOVERY) (`connector_events`), possibly
while this handler still awaits its ACK. A discovery ends SUCCEEDED (devices reported), FAILED
(the connector failed or reported a failure) or TIMED_OUT (nothing reported within
``[integrations] discovery_timeout_seconds``, 300 by default), on thinghub's clock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.background import keep_deadlines
from thinghub.config import Settings
from thinghub.connectors.envelope import DISCOVER_DEVICES, envelope
from thinghub.connectors.responses import ConnectorError
from thinghub.idempotency import request_hash
from thinghub.integrations import (
    association_records,
    connector_errors,
    discovery_devices,
    discovery_links,
    notifications,
)
from thinghub.integrations.errors import existing, invalid
from thinghub.integrations.listing import DEFAULT_PAGE_SIZE, list_page
from thinghub.integrations.settings import seconds_setting
from thinghub.store import (
    ClientTokenInFlight,
    ClientTokenMismatch,
    NotFound,
    Resource,
    ResourceStore,
    Scope,
    VersionConflict,
    arn,
    new_id,
)
from thinghub.wire.errors import ServiceError

if TYPE_CHECKING:
    from thinghub.connectors.invoker import ConnectorInvoker
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.integrations")

SERVICE = "iot-managed-integrations"
KIND = "device-discovery"
RESOURCE_TYPE = "DeviceDiscovery"

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
CLOUD = "CLOUD"

DEFAULT_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 1.0  # deadlines set by other nodes sharing the database are noticed within this

# Deadlines of RUNNING discoveries of every account and region, in the one scope the timeout
# sweep can read without knowing the scopes (no API caller has it: account ids are 12 digits).
DEADLINES = association_records.GLOBAL_SCOPE
DEADLINE_KIND = "device-discovery-deadline"

# Members of hub (not cloud) discoveries: thinghub has no hub controllers.
_HUB_MEMBERS = (
    "ControllerIdentifier",
    "AuthenticationMaterial",
    "AuthenticationMaterialType",
    "CustomProtocolDetail",
    "Protocol",
    "EndDeviceIdentifier",
)


def discovery_arn(scope: Scope, discovery_id: str) -> str:
    return arn(
        "iotmanagedintegrations", scope.region, scope.account_id, f"device-discovery/{discovery_id}"
    )


def timeout_seconds(settings: Settings) -> float:
    return seconds_setting(settings, "discovery_timeout_seconds", DEFAULT_TIMEOUT_SECONDS)


def get_discovery(
    store: ResourceStore, scope: Scope, discovery_id: str, conn: Connection | None = None
) -> Resource:
    """The discovery, or ResourceNotFoundException."""
    resource = existing(store, scope, KIND, discovery_id, RESOURCE_TYPE, conn=conn)
    return resource


def _index(attrs: dict[str, Any]) -> dict[str, str]:
    return {
        "DiscoveryType": attrs["DiscoveryType"],
        "Status": attrs["Status"],
        "AccountAssociationId": attrs["AccountAssociationId"],
    }


def _deadline_id(scope: Scope, discovery_id: str) -> str:
    return f"{scope.account_id}/{scope.region}/{discovery_id}"


def status_notification(scope: Scope, discovery: Resource) -> notifications.Notification:
    attrs = discovery.attrs
    payload: dict[str, Any] = {
        "deviceDiscoveryId": discovery.id,
        "discoveryType": attrs["DiscoveryType"],
        "status": attrs["Status"],
        "startedAt": notifications.timestamp(attrs["StartedAt"]),
    }
    if attrs.get("AccountAssociationId"):
        payload["accountAssociationId"] = attrs["AccountAssociationId"]
    if attrs.get("FinishedAt") is not None:
        payload["finishedAt"] = notifications.timestamp(attrs["FinishedAt"])
    if attrs.get("StatusReason"):
        payload["statusReason"] = attrs["StatusReason"]
    return notifications.Notification(
        notifications.DEVICE_DISCOVERY_STATUS,
        payload,
        discovery.id,
        (discovery_arn(scope, discovery.id),),
    )


def finish(
    hub: Hub,
    scope: Scope,
    discovery: Resource,
    status: str,
    finished_at: float,
    conn: Connection,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Resource:
    """End a RUNNING discovery in the caller's transaction; its deadline goes with it."""
    store = hub.store
    attrs = {**discovery.attrs, "Status": status, "FinishedAt": finished_at}
    if reason is not None:
        attrs["StatusReason"] = reason[:1000]
    updated = store.update(
        scope,
        KIND,
        discovery.id,
        attrs=attrs,
        now=finished_at,
        index=_index(attrs),
        expected_version=expected_version,
        conn=conn,
    )
    store.delete(DEADLINES, DEADLINE_KIND, _deadline_id(scope, discovery.id), conn=conn)
    notifications.notify(hub, scope, [status_notification(scope, updated)], finished_at, conn)
    return updated


# ----- handlers -------------------------------------------------------------------------------


async def start_device_discovery(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    association_id = _check_start(params)
    token = params.get("ClientToken")
    if token is not None:
        # The model gives StartDeviceDiscovery a ClientToken without the idempotency trait, so
        # the wire layer leaves it alone; spec 8.3 asks for the same semantics anyway.
        replay = _claim(ctx, token, request_hash(params, "ClientToken"))
        if replay is not None:
            return replay
    try:
        result, discovery, connector, event = await _start(ctx, params, association_id, token)
    except BaseException:
        if token is not None:
            store.release_client_token(ctx.scope, ctx.operation, token)
        raise
    await _discover(ctx, discovery, connector, event)
    return result


def _check_start(params: Params) -> str:
    if params["DiscoveryType"] != CLOUD:
        raise invalid(
            f"DiscoveryType {params['DiscoveryType']} needs a hub controller; "
            f"thinghub runs {CLOUD} discoveries only"
        )
    given = [member for member in _HUB_MEMBERS if params.get(member) is not None]
    if given:
        raise invalid(f"{', '.join(given)} does not apply to {CLOUD} discoveries")
    # The deprecated ConnectorAssociationIdentifier named the same thing (spec 1.10).
    association_id = params.get("AccountAssociationId") or params.get(
        "ConnectorAssociationIdentifier"
    )
    if not association_id:
        raise invalid(f"A {CLOUD} discovery needs AccountAssociationId")
    return str(association_id)


def _claim(ctx: RequestContext, token: str, digest: str) -> Result:
    try:
        claim = ctx.hub.store.claim_client_token(
            ctx.scope, ctx.operation, token, digest, now=ctx.now
        )
    except ClientTokenMismatch:
        raise ServiceError(
            "ConflictException",
            f"ClientToken {token} was already used with different parameters for {ctx.operation}",
        ) from None
    except ClientTokenInFlight:
        raise ServiceError(
            "ConflictException", f"A request with ClientToken {token} is still in progress"
        ) from None
    return claim.response if claim.state == "replay" else None


async def _start(
    ctx: RequestContext, params: Params, association_id: str, token: str | None
) -> tuple[dict[str, Any], Resource, discovery_links.ConnectorView, dict[str, Any]]:
    store = ctx.hub.store
    association = discovery_links.existing_association(store, ctx.scope, association_id)
    discovery_links.usable(association)
    connector = discovery_links.connector_of(store, ctx.scope, association)
    # Before anything is stored: an association whose tokens cannot be refreshed fails the
    # request rather than leaving a discovery behind.
    auth = await discovery_links.connector_auth(ctx.hub, ctx.scope, association_id)

    now = ctx.now
    discovery_id = new_id("alnum_lower")
    attrs: dict[str, Any] = {
        "DiscoveryType": CLOUD,
        "Status": RUNNING,
        "StartedAt": now,
        "AccountAssociationId": association_id,
        "ConnectorId": connector.id,
        "Deadline": now + timeout_seconds(ctx.hub.settings),
    }
    if params.get("ConnectorAssociationIdentifier"):
        attrs["ConnectorAssociationId"] = params["ConnectorAssociationIdentifier"]
    wanted = params.get("ConnectorDeviceIdList")
    if wanted:
        attrs["ConnectorDeviceIdList"] = list(dict.fromkeys(wanted))
    extra: dict[str, Any] = {"deviceDiscoveryId": discovery_id}
    if wanted:
        extra["connectorDeviceIdList"] = attrs["ConnectorDeviceIdList"]
    event = envelope(
        DISCOVER_DEVICES, connector.id, auth.get("token"), extra, auth=auth.get("auth")
    )
    result = {"Id": discovery_id, "StartedAt": now}
    discovery_arn_ = discovery_arn(ctx.scope, discovery_id)
    # Committed before the connector is invoked: it may report devices before it ACKs.
    with store.transaction() as conn:
        discovery = store.create(
            ctx.scope,
            KIND,
            discovery_id,
            attrs=attrs,
            now=now,
            arn=discovery_arn_,
            index=_index(attrs),
            tags=params.get("Tags") or {},
            conn=conn,
        )
        notifications.notify(
            ctx.hub, ctx.scope, [status_notification(ctx.scope, discovery)], now, conn
        )
        store.create(
            DEADLINES,
            DEADLINE_KIND,
            _deadline_id(ctx.scope, discovery_id),
            attrs={
                "AccountId": ctx.scope.account_id,
                "Region": ctx.scope.region,
                "DeviceDiscoveryId": discovery_id,
                "Due": attrs["Deadline"],
            },
            now=now,
            conn=conn,
        )
        if token is not None:
            store.complete_client_token(
                ctx.scope, ctx.operation, token, response=result, status_code=201, conn=conn
            )
    return result, discovery, connector, event


async def _discover(
    ctx: RequestContext,
    discovery: Resource,
    connector: discovery_links.ConnectorView,
    event: dict[str, Any],
) -> None:
    """Invoke AWS.DiscoverDevices; a connector that gives no ACK fails the discovery."""
    invoker: ConnectorInvoker = ctx.hub.components["connectors"]
    try:
        await invoker.invoke(
            connector.lambda_arn, event, account_id=ctx.account_id, region=ctx.region
        )
    except ConnectorError as exc:
        reason = f"AWS.DiscoverDevices failed: {exc}"
        log.warning("discovery %s: %s", discovery.id, reason)
        report = connector_errors.report(
            ctx.scope, connector.id, DISCOVER_DEVICES, exc, deviceDiscoveryId=discovery.id
        )
        _fail(ctx, discovery.id, reason, report)


def _fail(
    ctx: RequestContext, discovery_id: str, reason: str, report: notifications.Notification
) -> None:
    store = ctx.hub.store
    with store.transaction() as conn:
        notifications.notify(ctx.hub, ctx.scope, [report], ctx.now, conn)
        current = store.get(ctx.scope, KIND, discovery_id, conn=conn)
        # Devices reported before the failed ACK still count: only a RUNNING discovery fails.
        if current is not None and current.attrs["Status"] == RUNNING:
            finish(ctx.hub, ctx.scope, current, FAILED, ctx.now, conn, reason=reason)


def get_device_discovery(ctx: RequestContext, params: Params) -> Result:
    discovery = get_discovery(ctx.hub.store, ctx.scope, params["Identifier"])
    result: dict[str, Any] = {"Id": discovery.id, "Arn": discovery.arn, **discovery.attrs}
    tags = ctx.hub.store.list_tags(ctx.scope, str(discovery.arn))
    if tags:
        result["Tags"] = tags
    return result


def list_device_discoveries(ctx: RequestContext, params: Params) -> Result:
    filters = {
        field: params[member]
        for member, field in (("TypeFilter", "DiscoveryType"), ("StatusFilter", "Status"))
        if member in params
    }
    return list_page(ctx, KIND, params, filters, _summary)


def _summary(resource: Resource) -> dict[str, Any]:
    attrs = resource.attrs
    return {"Id": resource.id, "DiscoveryType": attrs["DiscoveryType"], "Status": attrs["Status"]}


def list_discovered_devices(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    discovery = get_discovery(store, ctx.scope, params["Identifier"])
    items, token = store.list_page(
        ctx.scope,
        discovery_devices.DISCOVERED_KIND,
        max_results=params.get("MaxResults", DEFAULT_PAGE_SIZE),
        next_token=params.get("NextToken"),
        filters={"DeviceDiscoveryId": discovery.id},
        binding=ctx.operation,
    )
    result: dict[str, Any] = {
        "Items": [discovery_devices.listed_item(store, ctx.scope, r) for r in items]
    }
    if token:
        result["NextToken"] = token
    return result


# ----- timeouts -------------------------------------------------------------------------------


def _deadlines(store: ResourceStore) -> list[Resource]:
    found: list[Resource] = []
    token = None
    while True:
        page, token = store.list_page(
            DEADLINES, DEADLINE_KIND, max_results=1000, next_token=token, binding="deadlines"
        )
        found += page
        if token is None:
            return found


def expire_due(hub: Hub, now: float) -> int:
    """Time out every RUNNING discovery whose deadline passed; how many did."""
    store = hub.store
    expired = 0
    for deadline in _deadlines(store):
        if deadline.attrs["Due"] > now:
            continue
        scope = Scope(deadline.attrs["AccountId"], deadline.attrs["Region"])
        with store.transaction() as conn:
            discovery = store.get(scope, KIND, deadline.attrs["DeviceDiscoveryId"], conn=conn)
            if discovery is None or discovery.attrs["Status"] != RUNNING:
                store.delete(DEADLINES, DEADLINE_KIND, deadline.id, conn=conn)
                continue
            try:
                finish(
                    hub,
                    scope,
                    discovery,
                    TIMED_OUT,
                    float(deadline.attrs["Due"]),  # when it timed out, however late we look
                    conn,
                    reason="the connector reported no devices in time",
                    expected_version=discovery.version,
                )
            except (VersionConflict, NotFound):
                continue  # it changed meanwhile (devices arrived); the next sweep looks again
        expired += 1
    if expired:
        log.info("%d device discoveries timed out", expired)
    return expired


def next_due(store: ResourceStore) -> float | None:
    dues = [float(d.attrs["Due"]) for d in _deadlines(store)]
    return min(dues, default=None)


def start(hub: Hub) -> None:
    """Time discoveries out on thinghub's clock."""
    timeout_seconds(hub.settings)  # a bad setting stops start-up, not the first discovery
    keep_deadlines(
        hub,
        "device-discovery-timeouts",
        lambda now: expire_due(hub, now),
        lambda: next_due(hub.store),
        POLL_SECONDS,
    )


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("StartDeviceDiscovery", start_device_discovery),
        ("GetDeviceDiscovery", get_device_discovery),
        ("ListDeviceDiscoveries", list_device_discoveries),
        ("ListDiscoveredDevices", list_discovered_devices),
    ):
        handlers.register(SERVICE, operation)(handler)
