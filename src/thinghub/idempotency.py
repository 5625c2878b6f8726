"""ClientToken idempotency for every operation whose model marks an idempotency token.

Same token and same request → the first response again (same ids, same status), without
running the handler; same token with a different request → ConflictException.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from thinghub.store import ClientTokenInFlight, ClientTokenMismatch, ResourceStore, Scope
from thinghub.wire.errors import ServiceError


def request_hash(params: dict[str, Any], token_member: str) -> str:
    """A stable digest of the request without its token."""
    rest = {k: v for k, v in params.items() if k != token_member}
    encoded = orjson.dumps(rest, option=orjson.OPT_SORT_KEYS, default=_bytes_as_text)
    return hashlib.sha256(encoded).hexdigest()


def _bytes_as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


class ClientTokens:
    """Claims a token before the handler runs and records its response afterwards."""

    def __init__(self, store: ResourceStore) -> None:
        self._store = store

    def claim(
        self, scope: Scope, operation: str, token: str, digest: str, now: float, conflict: str
    ) -> tuple[int, bytes] | None:
        """The recorded (status, body) to replay, or None when the caller should proceed."""
        try:
            claim = self._store.claim_client_token(scope, operation, token, digest, now=now)
        except ClientTokenMismatch:
            raise ServiceError(
                conflict,
                f"ClientToken {token} was already used with different parameters for {operation}",
            ) from None
        except ClientTokenInFlight:
            raise ServiceError(
                conflict, f"A request with ClientToken {token} is still in progress"
            ) from None
        if claim.state == "replay":
            body = str((claim.response or {}).get("body", "")).encode("utf-8")
            return int(claim.status_code or 200), body
        return None

    def complete(self, scope: Scope, operation: str, token: str, status: int, body: bytes) -> None:
        # The exact bytes are kept, so a replay is byte-for-byte the first answer.
        self._store.complete_client_token(
            scope, operation, token, response={"body": body.decode("utf-8")}, status_code=status
        )

    def release(self, scope: Scope, operation: str, token: str) -> None:
        self._store.release_client_token(scope, operation, token)
