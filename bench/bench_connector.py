"""The cloud connector of bench/device_events.py: a Lambda handler that ACKs everything.

thinghub's connector worker processes import it (``[functions]`` in the benchmark's config,
with this directory on ``[connectors] python_path``). AWS.ActivateUser answers the benchmark's
user id (spec 4.3), whatever the auth material; every other operation is acknowledged with 200
and nothing else: the benchmark reports the discovered devices and the device events itself,
with SendConnectorEvent, as a connector would.
"""

from __future__ import annotations

from typing import Any

USER_ID = "bench-user"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = event.get("payload") or {}
    operation = payload.get("operationName")
    connector_id = payload.get("connectorId")
    answer: dict[str, Any] = {"responseMessage": f"{operation} received by {connector_id}"}
    if operation == "AWS.ActivateUser":
        answer["userId"] = USER_ID
    return {"header": {"responseCode": 200}, "payload": answer}
