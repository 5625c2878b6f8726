"""Opaque, tamper-proof page tokens.

A token carries the cursor (the `seq` of the last row returned) and, optionally, an expiry,
authenticated with HMAC-SHA256 over the payload and a caller-chosen binding string. The binding
is not in the token, so a token replayed against a different operation, scope or filter set
fails verification instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import struct

from thinghub.store.errors import InvalidPageToken

__all__ = ["InvalidPageToken", "PageTokens"]

_VERSION = 1
_FLAG_EXPIRES = 0x80
_MAC_LEN = 16
_MAX_TOKEN_LEN = 200  # far above anything we issue; rejects junk before decoding it


class PageTokens:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("page token key must be at least 16 bytes")
        self._key = key

    def _mac(self, payload: bytes, binding: str) -> bytes:
        # The 0x00 separator keeps (payload, binding) pairs unambiguous.
        msg = payload + b"\x00" + binding.encode()
        return hmac.digest(self._key, msg, hashlib.sha256)[:_MAC_LEN]

    def encode(self, cursor: int, binding: str, *, expires_at: float | None = None) -> str:
        """A URL-safe token (alphabet [A-Za-z0-9_-]) for `cursor` bound to `binding`.

        `expires_at` (epoch seconds, thinghub's clock) makes `decode(..., now=...)` reject the
        token after that instant.
        """
        if cursor < 0:
            raise ValueError("cursor must be non-negative")
        header = _VERSION
        body = cursor.to_bytes(max(1, (cursor.bit_length() + 7) // 8), "big")
        if expires_at is not None:
            header |= _FLAG_EXPIRES
            body = struct.pack(">I", min(math.ceil(expires_at), 0xFFFFFFFF)) + body
        payload = bytes([header]) + body
        raw = payload + self._mac(payload, binding)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(self, token: str, binding: str, *, now: float | None = None) -> int:
        """The cursor in `token`; InvalidPageToken unless it was made by us for `binding`."""
        if not token or len(token) > _MAX_TOKEN_LEN:
            raise InvalidPageToken("invalid page token")
        try:
            stripped = token.rstrip("=")
            raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise InvalidPageToken("invalid page token") from exc
        # Re-encoding must give back the same text, so only one spelling of a token is valid.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != stripped:
            raise InvalidPageToken("invalid page token")
        if len(raw) < 2 + _MAC_LEN:
            raise InvalidPageToken("invalid page token")
        payload, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
        if not hmac.compare_digest(mac, self._mac(payload, binding)):
            raise InvalidPageToken("invalid page token")
        header, body = payload[0], payload[1:]
        if header & ~_FLAG_EXPIRES != _VERSION:
            raise InvalidPageToken("invalid page token")
        if header & _FLAG_EXPIRES:
            if len(body) < 5:
                raise InvalidPageToken("invalid page token")
            (expires_at,) = struct.unpack(">I", body[:4])
            body = body[4:]
            if now is not None and now > expires_at:
                raise InvalidPageToken("expired page token")
        return int.from_bytes(body, "big")
