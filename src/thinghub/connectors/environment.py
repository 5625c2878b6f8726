"""The environment of a local handler: what an AWS Lambda function would see, pointed home.

Unmodified handler code calling ``boto3.client("iot-managed-integrations")`` must reach this
thinghub, signed with credentials of the connector's account. botocore derives the
service-specific endpoint variable from the service id "IoT Managed Integrations" (spaces to
underscores, upper case); only that one is set, so the handler's other AWS calls still go
wherever thinghub's own environment sends them.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping

from thinghub.connectors.functions import LocalFunction
from thinghub.identities import Identity

SERVICE_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS"
MEMORY_MB = "128"  # reported only; nothing limits a worker's memory

# Settings that would override or defeat the ones a handler is given.
_CREDENTIAL_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
_ENDPOINT_BLOCKERS = ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",)


def handler_environment(
    base: Mapping[str, str],
    function: LocalFunction,
    *,
    endpoint: str,
    identity: Identity | None,
) -> dict[str, str]:
    """`base` (thinghub's own environment) with the function's variables on top.

    Without an identity the handler keeps whatever credentials thinghub's environment has.
    """
    env = {key: value for key, value in base.items() if key not in _ENDPOINT_BLOCKERS}
    if identity is not None:
        for key in _CREDENTIAL_VARIABLES:
            env.pop(key, None)
        env["AWS_ACCESS_KEY_ID"] = identity.access_key
        env["AWS_SECRET_ACCESS_KEY"] = identity.secret_key
    env.update(lambda_variables(function))
    env[SERVICE_ENDPOINT_VARIABLE] = endpoint
    return env


def lambda_variables(function: LocalFunction) -> dict[str, str]:
    """The variables AWS Lambda defines for every function (those that make sense here)."""
    name = function.ref.name
    return {
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": MEMORY_MB,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(function.version),
        "_HANDLER": str(function.handler),
    }


def log_stream_name(version: str) -> str:
    """One per worker, in Lambda's format: ``2024/05/01/[$LATEST]<32 hex digits>``."""
    day = datetime.datetime.now(datetime.UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{uuid.uuid4().hex}"
