"""The request envelope thinghub sends a connector (spec 4.2)."""

from __future__ import annotations

from typing import Any

ACTIVATE_USER = "AWS.ActivateUser"
DISCOVER_DEVICES = "AWS.DiscoverDevices"
SEND_COMMAND = "AWS.SendCommand"
DEACTIVATE_USER = "AWS.DeactivateUser"

OAUTH = "OAuth2.0"
GENERAL_AUTHORIZATION = "GeneralAuthorization"


def envelope(
    operation: str,
    connector_id: str,
    token: str | None,
    extra: dict[str, Any] | None = None,
    *,
    auth: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``{"header": {"auth": ...}, "payload": {"operationName", ..., **extra}}``.

    `auth` (a General Authorization ``{"secretsManager": {...}}``, type added when missing)
    wins over `token` (an OAuth access token); with neither the header carries no auth.
    """
    header: dict[str, Any] = {}
    if auth is not None:
        header["auth"] = {**auth, "type": auth.get("type", GENERAL_AUTHORIZATION)}
    elif token is not None:
        header["auth"] = {"token": token, "type": OAUTH}
    # The docs show "1.0.0" only in ActivateUser examples and "1.0" everywhere else.
    payload: dict[str, Any] = {
        "operationName": operation,
        "operationVersion": "1.0.0" if operation == ACTIVATE_USER else "1.0",
        "connectorId": connector_id,
    }
    for key, value in (extra or {}).items():
        if key in payload:
            raise ValueError(f"the envelope sets payload.{key} itself")
        payload[key] = value
    return {"header": header, "payload": payload}
