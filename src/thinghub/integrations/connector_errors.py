"""CONNECTOR_ERROR_REPORT notifications: a connector that failed for good (spec 7.2).

Reported when an invocation gives no successful answer after its retries (error, timeout,
non-2xx ACK), or when a command's response never arrives in time.
"""

from __future__ import annotations

from typing import Any

from thinghub.connectors.responses import ConnectorError
from thinghub.integrations import notifications
from thinghub.store import Scope, arn


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
