"""A connector's answer: the response envelope, or why there is none.

Success is an answer without function error whose ``header.responseCode`` is 2xx (spec 4.2).
Only failures to get an answer (the function raised, the invocation failed, it timed out) are
worth retrying; a well-formed non-2xx answer or a malformed one is the connector's final word.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

ErrorKind = Literal["timeout", "function_error", "invocation_error", "bad_response", "non_2xx"]


@dataclass(frozen=True)
class ConnectorResponse:
    response_code: int
    payload: dict[str, Any]
    raw: dict[str, Any]  # the whole response envelope


class ConnectorError(Exception):
    """The connector gave no successful answer; `kind` says why, `attempts` how often we tried."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        attempts: int,
        response_code: int | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.attempts = attempts
        self.response_code = response_code
        self.raw = raw  # the response envelope, for non_2xx

    def __str__(self) -> str:
        return f"{self.kind} after {self.attempts} attempt(s): {self.message}"


class AttemptFailed(Exception):
    """One attempt got no answer; the invoker decides whether to try again."""

    def __init__(self, kind: ErrorKind, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.retry = retry


def function_error_message(error: Any) -> str:
    """Lambda's error document (``errorType``, ``errorMessage``) as one line."""
    if isinstance(error, dict):
        kind, message = error.get("errorType"), error.get("errorMessage")
        if kind and message:
            return f"{kind}: {message}"
        if kind or message:
            return str(kind or message)
    return f"the function failed: {str(error)[:500]}"


def read_response(value: Any, attempts: int) -> ConnectorResponse:
    """The response envelope from what the function returned; ConnectorError if unusable."""
    if isinstance(value, str | bytes):
        # A handler may return the envelope as JSON text rather than as an object.
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad("the function returned text that is not JSON", attempts) from None
    if not isinstance(value, dict):
        raise _bad(f"the function returned {type(value).__name__}, not an object", attempts)
    header = value.get("header")
    if not isinstance(header, dict):
        raise _bad("the response has no header object", attempts)
    code = _response_code(header.get("responseCode"))
    if code is None:
        raise _bad(f"header.responseCode {header.get('responseCode')!r} is no status", attempts)
    payload = value.get("payload", {})
    if not isinstance(payload, dict):
        raise _bad("the response payload is not an object", attempts)
    if not 200 <= code <= 299:
        message = payload.get("responseMessage") or f"the connector answered {code}"
        raise ConnectorError(
            "non_2xx", str(message), attempts=attempts, response_code=code, raw=value
        )
    return ConnectorResponse(code, payload, value)


def _response_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)  # lenient: "200" is as clear as 200
    return None


def _bad(message: str, attempts: int) -> ConnectorError:
    return ConnectorError("bad_response", message, attempts=attempts)
