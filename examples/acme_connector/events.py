"""SendConnectorEvent through stock boto3, so the same code reaches AWS or a thinghub.

boto3's standard chain decides where the call goes: on Lambda, the real service; as a thinghub
local handler, thinghub sets ``AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS`` and credentials.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import boto3

log = logging.getLogger("acme_connector")

OPERATION_VERSION = "1.0"

_clients: dict[tuple[str | None, ...], Any] = {}
_clients_lock = threading.Lock()


def _region() -> str:
    # Lambda always sets AWS_REGION; the fallback only matters for ad-hoc local runs.
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client() -> Any:
    """The managed integrations client, built once per configuration (as on a warm Lambda)."""
    key = (
        os.environ.get("AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS"),
        os.environ.get("AWS_ENDPOINT_URL"),
        os.environ.get("AWS_ACCESS_KEY_ID"),
        os.environ.get("AWS_SECRET_ACCESS_KEY"),
        _region(),
    )
    with _clients_lock:
        if key not in _clients:
            # A fresh session per configuration: boto3's default session would keep the
            # credentials it resolved first, whatever the environment says later.
            session = boto3.session.Session(region_name=_region())
            _clients[key] = session.client("iot-managed-integrations")
        return _clients[key]


def send_connector_event(connector_id: str, operation: str, **members: Any) -> None:
    """One SendConnectorEvent call; botocore's errors propagate."""
    client().send_connector_event(
        ConnectorId=connector_id,
        Operation=operation,
        OperationVersion=OPERATION_VERSION,
        **members,
    )


def emit(send: Callable[[], None]) -> None:
    """Run `send` now (default), or after the ACK with ``ACME_EVENT_MODE=thread``.

    Synchronous is what works on Lambda, which freezes the process once the handler returns;
    the thread mode exists to exercise a hub with events that arrive after the ACK.
    """
    if os.environ.get("ACME_EVENT_MODE", "sync") != "thread":
        send()
        return

    def run() -> None:
        try:
            send()
        except Exception:
            log.exception("SendConnectorEvent failed")

    threading.Thread(target=run, name="acme-event").start()
