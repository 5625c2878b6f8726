"""Connector handlers for discovery tests, run by thinghub's local worker processes.

Not tests: thinghub imports this module as the Lambda handler of test connectors. Account
linking (AWS.ActivateUser) goes to the real Acme connector, so associations link through the
real OAuth flow; discovery does what each test needs.
"""

from __future__ import annotations

from typing import Any

from examples.acme_connector import handler as acme


def _respond(code: int, message: str) -> dict[str, Any]:
    return {"header": {"responseCode": code}, "payload": {"responseMessage": message}}


def ack_connector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ACKs AWS.DiscoverDevices and reports nothing: the test reports devices itself."""
    if event["payload"]["operationName"] != "AWS.DiscoverDevices":
        return acme.lambda_handler(event, context)
    return _respond(200, "discovering")


def broken_connector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answers AWS.DiscoverDevices with a well-formed failure (final: not retried)."""
    if event["payload"]["operationName"] != "AWS.DiscoverDevices":
        return acme.lambda_handler(event, context)
    return _respond(503, "Acme is down for maintenance")


def silent_connector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ACKs AWS.DiscoverDevices and AWS.SendCommand and never reports back: the test does, or
    lets the command time out."""
    if event["payload"]["operationName"] in ("AWS.DiscoverDevices", "AWS.SendCommand"):
        return _respond(200, "received")
    return acme.lambda_handler(event, context)


def refusing_connector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Refuses AWS.ActivateUser (a final failure: not retried)."""
    if event["payload"]["operationName"] == "AWS.ActivateUser":
        return _respond(403, "this user may not use the connector")
    return acme.lambda_handler(event, context)
