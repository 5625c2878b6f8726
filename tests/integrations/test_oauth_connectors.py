"""Not tests: connector Lambda handlers that misbehave on purpose, run by thinghub's local
handler workers (standard library only: every worker imports this module).

Each handler appends the event it got to the JSON-lines file named by ``OAUTH_TEST_RECORD``
(when set), so tests can see what thinghub sent.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


def _record(event: Any) -> None:
    path = os.environ.get("OAUTH_TEST_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")


def raising_connector(event: Any, context: Any) -> Any:
    _record(event)
    raise RuntimeError("the connector crashed")


def failing_connector(event: Any, context: Any) -> Any:
    _record(event)
    return {"header": {"responseCode": 503}, "payload": {"responseMessage": "Vendor unavailable"}}


def bad_user_connector(event: Any, context: Any) -> Any:
    _record(event)
    return {"header": {"responseCode": 200}, "payload": {"responseMessage": "ok", "userId": "!!"}}


def unlink_failing_connector(event: Any, context: Any) -> Any:
    """Activates any user, but fails every AWS.DeactivateUser."""
    _record(event)
    if event["payload"]["operationName"] == "AWS.DeactivateUser":
        raise RuntimeError("cannot deactivate")
    payload = {"responseMessage": "ok", "userId": "sticky-user"}
    return {"header": {"responseCode": 200}, "payload": payload}


def slow_unlink_connector(event: Any, context: Any) -> Any:
    """Activates any user; takes its time over AWS.DeactivateUser (deletion is observable)."""
    _record(event)
    if event["payload"]["operationName"] == "AWS.DeactivateUser":
        time.sleep(2.0)
    payload = {"responseMessage": "ok", "userId": "slow-user"}
    return {"header": {"responseCode": 200}, "payload": payload}


def general_connector(event: Any, context: Any) -> Any:
    """Accepts General Authorization only; the user id names the material's secret."""
    _record(event)
    auth = event.get("header", {}).get("auth", {})
    if auth.get("type") != "GeneralAuthorization" or "secretsManager" not in auth:
        return {"header": {"responseCode": 400}, "payload": {"responseMessage": "no material"}}
    payload: dict[str, Any] = {"responseMessage": "ok"}
    if event["payload"]["operationName"] == "AWS.ActivateUser":
        payload["userId"] = "general-user"
    return {"header": {"responseCode": 200}, "payload": payload}
