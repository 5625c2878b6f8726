"""CONNECTOR_ERROR_REPORT notifications: a connector that failed for good (spec 7.2).

Reported when an invocation gives no successful answer after its retries (error, timeout,
non-2xx ACK), or when a command's response never arrives in time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from thinghub.connectors.responses import ConnectorError
from thinghub.integrations import notifications
from thinghub.store import Scope, arn

if TYPE_CHECKING:
    from thinghub.hub import Hub


def report(
    scope: Scope,
    connector_id: str,
    operation: str,
    error: ConnectorError | str,
    *,
    managed_thing_id: str | None = None,
    **context: Any,
) -> notifications.Notification:
    """The record of one connector failure; `context` adds ids such as traceId."""
    code: str
    if isinstance(error, ConnectorError):
        code, message = error.kind, str(error)
    else:
        code, message = "error", error
    payload: dict[str, Any] = {
        "cloudConnectorId": connector_id,
        "operationName": operation,
        "errorCode": code,
        "errorMessage": message[:1000],
    }
    if managed_thing_id is not None:
        payload["managedThingId"] = managed_thing_id
    payload.update({key: value for key, value in context.items() if value is not None})
    resources = [_arn(scope, f"cloud-connector/{connector_id}")]
    if managed_thing_id is not None:
        resources.append(_arn(scope, f"managed-thing/{managed_thing_id}"))
    return notifications.Notification(
        notifications.CONNECTOR_ERROR_REPORT,
        payload,
        managed_thing_id or connector_id,
        tuple(resources),
    )


def _arn(scope: Scope, resource: str) -> str:
    return arn("iotmanagedintegrations", scope.region, scope.account_id, resource)


def notify(
    hub: Hub,
    scope: Scope,
    connector_id: str,
    operation: str,
    error: ConnectorError | str,
    **context: Any,
) -> None:
    """Record one connector failure in a transaction of its own (nothing else changed)."""
    notification = report(scope, connector_id, operation, error, **context)
    with hub.store.transaction() as conn:
        notifications.notify(hub, scope, [notification], hub.clock.now(), conn)
