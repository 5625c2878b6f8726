"""A local handler worker process: imports one handler, then runs it once per request.

Started by `pool` as ``python -m thinghub.connectors.worker`` with the function's environment
already in place, so handler modules see it at import time, as on AWS Lambda. The standard
library only: every worker imports this module before anything else.

Protocol on the original stdin/stdout (each frame: 4-byte big-endian length, then JSON):

- thinghub sends ``{"handler", "path", "function"}``; the worker answers ``{"ready": true}``
  or ``{"error": {...}}`` (and exits) when the handler cannot be imported;
- then per invocation thinghub sends ``{"event", "requestId", "timeoutMs"}`` and the worker
  answers ``{"result": value}`` or ``{"error": {"errorType", "errorMessage", "stackTrace"}}``.

The handler's own print()s and reads must not corrupt the channel: fd 1 is pointed at stderr
and fd 0 at /dev/null before any handler code runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import logging
import os
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")

Handler = Callable[[Any, "LambdaContext"], Any]


class LambdaContext:
    """What AWS Lambda's Python runtime passes as `context` (same attribute names and types)."""

    def __init__(self, function: dict[str, Any], request_id: str, timeout_ms: int) -> None:
        self.function_name: str = function["name"]
        self.function_version: str = function["version"]
        self.invoked_function_arn: str = function["arn"]
        self.memory_limit_in_mb: str = function["memory"]  # a string, as on Lambda
        self.log_group_name: str = function["logGroup"]
        self.log_stream_name: str = function["logStream"]
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def read_frame(stream: BinaryIO) -> Any:
    """The next message, or None at end of input."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    body = stream.read(length)
    if len(body) < length:
        return None
    return json.loads(body)


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def error_document(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def load_handler(init: dict[str, Any]) -> Handler:
    for entry in reversed(init["path"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module_name, function_name = init["handler"]
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise _InitError(exc, "Runtime.ImportModuleError") from exc
    handler = getattr(module, function_name, None)
    if not callable(handler):
        message = f"handler {function_name!r} missing on module {module_name!r}"
        raise _InitError(AttributeError(message), "Runtime.HandlerNotFound")
    return handler


class _InitError(Exception):
    def __init__(self, cause: BaseException, error_type: str) -> None:
        super().__init__(str(cause))
        self.document = error_document(cause, error_type)


def run(handler: Handler, function: dict[str, Any], request: dict[str, Any]) -> bytes:
    """One invocation; the reply frame's body."""
    context = LambdaContext(function, request["requestId"], request["timeoutMs"])
    try:
        result = handler(request["event"], context)
    except Exception as exc:
        # Lambda logs an unhandled error before reporting it; so does this worker.
        print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return json.dumps({"error": error_document(exc)}).encode()
    try:
        return json.dumps({"result": result}).encode()
    except (TypeError, ValueError) as exc:
        return json.dumps({"error": error_document(exc, "Runtime.MarshalError")}).encode()


def _private_channel() -> tuple[BinaryIO, BinaryIO]:
    """The protocol streams, moved off fds 0 and 1 (which handler code may use)."""
    inbound = os.fdopen(os.dup(0), "rb")
    outbound = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return inbound, outbound


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when thinghub dies, however it dies.

    Closing the channel ends an idle worker anyway; this also ends one stuck in a handler.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main() -> None:
    _die_with_parent()
    inbound, outbound = _private_channel()
    # Lambda's runtime gives the root logger a handler, so handler logging shows up.
    logging.basicConfig(format="[%(levelname)s] %(name)s: %(message)s", stream=sys.stderr)
    init = read_frame(inbound)
    if init is None:
        return
    try:
        handler = load_handler(init)
    except _InitError as exc:
        print(f"[ERROR] {exc.document['errorType']}: {exc}", file=sys.stderr)
        write_frame(outbound, json.dumps({"error": exc.document}).encode())
        return
    write_frame(outbound, b'{"ready": true}')
    function = init["function"]
    while (request := read_frame(inbound)) is not None:
        write_frame(outbound, run(handler, function, request))


if __name__ == "__main__":
    main()
