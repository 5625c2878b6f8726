"""A connector the way real ones are written: a module-level boto3 client, no endpoint."""

from __future__ import annotations

from typing import Any

import boto3

# Created at import, from the environment thinghub gives the worker (endpoint, credentials).
CLIENT = boto3.client("iot-managed-integrations")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    connectors = CLIENT.list_cloud_connectors(MaxResults=100)["Items"]
    return {
        "header": {"responseCode": 200},
        "payload": {
            "responseMessage": "listed",
            "connectorIds": [item["Id"] for item in connectors],
            "endpoint": CLIENT.meta.endpoint_url,
            "region": CLIENT.meta.region_name,
        },
    }
