"""A small client for the Acme cloud's API (standard library only, so it runs on Lambda as is)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8790"
DEFAULT_TIMEOUT = 5.0


class VendorError(Exception):
    """Acme refused (`status` is its HTTP status) or could not be reached (status 503)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"Acme answered {status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class AcmeApi:
    """Acme's API on behalf of one user, whose OAuth access token this holds."""

    def __init__(self, token: str, base_url: str | None = None, timeout: float | None = None):
        self.token = token
        self.base_url = (base_url or os.environ.get("ACME_CLOUD_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout or float(os.environ.get("ACME_HTTP_TIMEOUT") or DEFAULT_TIMEOUT)

    def me(self) -> dict[str, Any]:
        """``{"userId", "name", "email"}``."""
        return self._call("GET", "/api/me")

    def devices(self) -> dict[str, Any]:
        """``{"userId", "devices": [...]}``, each ``{"id", "name", "type", "model", "serial",
        "brand", "state"}``."""
        return self._call("GET", "/api/devices")

    def device(self, device_id: str) -> dict[str, Any]:
        """``{"userId", "device"}``."""
        return self._call("GET", f"/api/devices/{_segment(device_id)}")

    def command(self, device_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``{"userId", "device"}`` with the device's new state."""
        return self._call("POST", f"/api/devices/{_segment(device_id)}/commands", body)

    def register_webhook(self, url: str, secret: str | None) -> dict[str, Any]:
        return self._call("POST", "/api/webhooks", {"url": url, "secret": secret})

    def revoke(self) -> None:
        """Revoke this token's grant (RFC 7009, the token as its own credential)."""
        form = urllib.parse.urlencode({"token": self.token, "token_type_hint": "access_token"})
        self._request("POST", "/oauth/revoke", form.encode(), "application/x-www-form-urlencoded")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        return json.loads(self._request(method, path, data, "application/json") or b"{}")

    def _request(self, method: str, path: str, data: bytes | None, content_type: str) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            raise _vendor_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise VendorError(503, "unreachable", f"Acme cloud unreachable: {reason}") from None


def _vendor_error(exc: urllib.error.HTTPError) -> VendorError:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return VendorError(
        exc.code,
        str(body.get("error", "error")),
        str(body.get("error_description", exc.reason)),
    )


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")
