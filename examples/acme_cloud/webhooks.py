"""Webhook deliveries: Acme POSTs a signed JSON notification when a device changes by itself.

Body::

    {"id": "evt-...", "type": "device.state_changed", "occurredAt": <epoch seconds>,
     "userId": "alice", "device": {<as GET /api/devices shows it>}, "changed": {"mode": "high"}}

Headers: ``X-Acme-Event-Id`` and, when the subscription has a secret,
``X-Acme-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed with the secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from typing import Any

EVENT_TYPE = "device.state_changed"
SIGNATURE_HEADER = "X-Acme-Signature"
EVENT_ID_HEADER = "X-Acme-Event-Id"


def signature(secret: str, body: bytes) -> str:
    """The ``X-Acme-Signature`` value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    url: str,
    body: bytes,
    event_id: str,
    secret: str | None,
    *,
    timeout: float,
    attempts: int = 3,
) -> dict[str, Any]:
    """POST one notification (blocking), retrying network errors, 429 and 5xx answers."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "acme-webhooks/1.0",
        EVENT_ID_HEADER: event_id,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    result: dict[str, Any] = {"url": url, "eventId": event_id, "status": None, "attempts": 0}
    for attempt in range(attempts):
        result["attempts"] = attempt + 1
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                result["status"] = response.status
                result.pop("error", None)
                return result
        except urllib.error.HTTPError as exc:
            result["status"], result["error"] = exc.code, exc.reason
            if exc.code < 500 and exc.code != 429:
                return result  # the receiver refused it; retrying will not help
        except (urllib.error.URLError, OSError) as exc:
            result["error"] = str(getattr(exc, "reason", exc))
        if attempt + 1 < attempts:
            time.sleep(0.2 * 2**attempt)
    return result
