"""Connector handlers for the tests, run by thinghub's local worker processes.

Each is an ordinary AWS Lambda handler. Those that count attempts append a line to the file
named by ``event["payload"]["counter"]``, so a test can see how often it was called.
"""

from __future__ import annotations

import ctypes
import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

# Read at import time: a Lambda environment is in place before the module loads.
IMPORT_TIME_ACCESS_KEY = os.environ.get("AWS_ACCESS_KEY_ID")

ENV_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
)


def ok(**payload: Any) -> dict[str, Any]:
    return {"header": {"responseCode": 200}, "payload": {"responseMessage": "ok", **payload}}


def count(event: dict[str, Any]) -> int:
    """Record this attempt; how many there were so far, this one included."""
    path = Path(event["payload"]["counter"])
    with path.open("a") as file:
        file.write("x\n")
    return len(path.read_text().splitlines())


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What the handler sees: its event, context, environment and process."""
    print("echo handler: stdout must not disturb thinghub")  # goes to stderr, not the channel
    return ok(
        event=event,
        context={
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        env={name: os.environ.get(name) for name in ENV_NAMES},
        importTimeAccessKey=IMPORT_TIME_ACCESS_KEY,
        pid=os.getpid(),
    )


def as_json_text(event: dict[str, Any], context: Any) -> str:
    return json.dumps(ok(text=True))


def sleep(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(event["payload"]["seconds"])
    return ok(pid=os.getpid())


def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails until attempt number ``payload.failures + 1``."""
    attempt = count(event)
    if attempt <= event["payload"]["failures"]:
        raise RuntimeError(f"attempt {attempt} fails")
    return ok(attempt=attempt)


def always_raises(event: dict[str, Any], context: Any) -> dict[str, Any]:
    count(event)
    raise ValueError("the acme cloud is down")


def hang(event: dict[str, Any], context: Any) -> dict[str, Any]:
    count(event)
    while True:  # busy, never yields: only killing the process ends it
        pass


def exit_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Kills its own process on the first attempt, succeeds afterwards."""
    if count(event) == 1:
        os._exit(3)
    return ok(pid=os.getpid())


def segfault(event: dict[str, Any], context: Any) -> dict[str, Any]:
    count(event)
    ctypes.string_at(0)  # reads address 0: SIGSEGV
    return ok()


def refuse(event: dict[str, Any], context: Any) -> dict[str, Any]:
    count(event)
    return {"header": {"responseCode": 401}, "payload": {"responseMessage": "token expired"}}


def malformed(event: dict[str, Any], context: Any) -> Any:
    count(event)
    return event["payload"]["answer"]


def fetch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """GETs a URL, e.g. one served by the very event loop that awaits this handler."""
    with urllib.request.urlopen(event["payload"]["url"], timeout=5) as response:
        return ok(body=response.read().decode())


def not_a_function(event: dict[str, Any], context: Any) -> None:
    raise AssertionError("never called")


NOT_CALLABLE = "a handler must be callable"
