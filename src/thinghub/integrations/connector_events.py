"""SendConnectorEvent (spec 5): what a cloud connector reports, signed by its own account.

DEVICE_DISCOVERY is handled here; DEVICE_EVENT, DEVICE_COMMAND_RESPONSE and
DEVICE_COMMAND_REQUEST in `device_events`.
"""

from __future__ import annotations

import logging
from typing import Any

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import (
    capabilities,
    cloud_connectors,
    device_discoveries,
    device_events,
    discovery_devices,
    discovery_links,
)
from thinghub.integrations.errors import invalid

log = logging.getLogger("thinghub.integrations")

SERVICE = "iot-managed-integrations"
DEVICE_DISCOVERY = "DEVICE_DISCOVERY"


async def send_connector_event(ctx: RequestContext, params: Params) -> Result:
    connector_id = params["ConnectorId"]
    if params["Operation"] == device_events.DEVICE_EVENT:
        # Checked in the device events' shared transaction, once for all that arrive together.
        await device_events.handle(ctx, connector_id, params)
        return {"ConnectorId": connector_id}
    cloud_connectors.check_owner(ctx, connector_id)
    if params["Operation"] == DEVICE_DISCOVERY:
        _device_discovery(ctx, connector_id, params)
    else:
        await device_events.handle(ctx, connector_id, params)
    return {"ConnectorId": connector_id}


def _success(status_code: int) -> bool | None:
    """Spec 5.3: 2xx ends the discovery, 1xx/3xx report devices and keep it RUNNING (None),
    anything else fails it."""
    if 200 <= status_code <= 299:
        return True
    if status_code < 400:
        return None
    return False


def _device_discovery(ctx: RequestContext, connector_id: str, params: Params) -> None:
    missing = [m for m in ("DeviceDiscoveryId", "UserId") if not params.get(m)]
    status_code = int(params.get("StatusCode", 200))
    outcome = _success(status_code)
    if outcome is not False and params.get("Devices") is None:
        missing.append("Devices")
    if missing:
        raise invalid(
            f"A {DEVICE_DISCOVERY} event needs {', '.join(missing)}"
            + (" (an empty list when the user has no devices)" if "Devices" in missing else "")
        )
    devices: list[dict[str, Any]] = params.get("Devices") or []
    _check_devices(devices)

    store = ctx.hub.store
    discovery_id = params["DeviceDiscoveryId"]
    with store.transaction() as conn:
        discovery = device_discoveries.get_discovery(store, ctx.scope, discovery_id, conn)
        attrs = discovery.attrs
        if attrs.get("ConnectorId") != connector_id:
            raise invalid(
                f"DeviceDiscovery {discovery_id} was not started through connector {connector_id}"
            )
        association = discovery_links.association(
            store, ctx.scope, attrs["AccountAssociationId"], conn
        )
        if association is None or association.state == discovery_links.DELETING:
            # Spec 5.2: connectors keep sending briefly after AWS.DeactivateUser; accepted
            # and dropped.
            log.info("discovery %s: association gone, event dropped", discovery_id)
            return
        if association.user_id is not None and association.user_id != params["UserId"]:
            raise invalid(
                f"UserId {params['UserId']} is not the user of DeviceDiscovery {discovery_id}"
            )
        status = attrs["Status"]
        if status in (device_discoveries.FAILED, device_discoveries.TIMED_OUT):
            raise invalid(f"DeviceDiscovery {discovery_id} is {status}; it takes no more devices")
        now = ctx.now
        if outcome is False:
            if status == device_discoveries.RUNNING:
                reason = f"the connector reported status {status_code}"
                if params.get("Message"):
                    reason += f": {params['Message']}"
                device_discoveries.finish(
                    ctx.hub,
                    ctx.scope,
                    discovery,
                    device_discoveries.FAILED,
                    now,
                    conn,
                    reason=reason,
                )
            return
        wanted = attrs.get("ConnectorDeviceIdList")
        if wanted:
            # Connectors may ignore the filter (spec 4.4); the service applies it regardless.
            devices = [d for d in devices if d["ConnectorDeviceId"] in wanted]
        discovery_devices.record_devices(store, ctx.scope, discovery, devices, now, conn)
        # Later events of a SUCCEEDED discovery (a connector paging its devices) are merged.
        if outcome and status == device_discoveries.RUNNING:
            device_discoveries.finish(
                ctx.hub, ctx.scope, discovery, device_discoveries.SUCCEEDED, now, conn
            )
    log.info(
        "discovery %s: %d devices reported (status %d)", discovery_id, len(devices), status_code
    )


def _check_devices(devices: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for position, device in enumerate(devices):
        device_id = device["ConnectorDeviceId"]
        if device_id in seen:
            raise invalid(f"Devices lists ConnectorDeviceId {device_id} more than once")
        seen.add(device_id)
        capabilities.check_matter_report(
            device["CapabilityReport"], f"Devices[{position}].CapabilityReport"
        )


def register(handlers: Handlers) -> None:
    handlers.register(SERVICE, "SendConnectorEvent")(send_connector_event)
