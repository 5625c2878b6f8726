"""The local function behind the ``too-hot`` detector's lambda action.

Runs as a standard Lambda handler: thinghub's worker gives it an environment in which stock
boto3 reaches thinghub with the account's credentials.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3

log = logging.getLogger("automations")

FAN_CONTROL = "matter.FanControl@"
HIGH = "High"


def _client() -> Any:
    # A fresh session: the default one would keep credentials resolved before this environment.
    return boto3.session.Session().client("iot-managed-integrations")


def _things_of(mi: Any, association_id: str) -> list[str]:
    things: list[str] = []
    token: str | None = None
    while True:
        page = mi.list_managed_thing_account_associations(
            AccountAssociationId=association_id, **({"NextToken": token} if token else {})
        )
        things += [item["ManagedThingId"] for item in page.get("Items", [])]
        token = page.get("NextToken")
        if not token:
            return things


def _fan_endpoints(mi: Any, thing_id: str) -> list[dict[str, Any]]:
    report = mi.get_managed_thing_capabilities(Identifier=thing_id).get("CapabilityReport") or {}
    endpoints = []
    for endpoint in report.get("endpoints", []):
        for capability in endpoint.get("capabilities", []):
            if capability["id"].startswith(FAN_CONTROL):
                action = {"name": "UpdateState", "parameters": {"FanMode": HIGH}}
                endpoints.append(
                    {
                        "endpointId": endpoint["id"],
                        "capabilities": [
                            {
                                "id": capability["id"],
                                "name": capability["name"],
                                "version": capability["version"],
                                "actions": [action],
                            }
                        ],
                    }
                )
    return endpoints


def fan_high(event: Any, context: Any) -> dict[str, Any]:
    """``{"sensor": <managed thing id>, "accountAssociationId": ...}``: every fan of that
    association to High; the TraceIds of the commands sent."""
    association_id = event.get("accountAssociationId") if isinstance(event, dict) else None
    if not association_id:
        log.warning("fan_high: no accountAssociationId in %r", event)
        return {"commands": {}}
    mi = _client()
    commands: dict[str, str] = {}
    for thing_id in _things_of(mi, association_id):
        endpoints = _fan_endpoints(mi, thing_id)
        if endpoints:
            answer = mi.send_managed_thing_command(ManagedThingId=thing_id, Endpoints=endpoints)
            commands[thing_id] = answer["TraceId"]
    log.info("too hot at %s: fans to High: %s", event.get("sensor"), commands)
    return {"commands": commands}
