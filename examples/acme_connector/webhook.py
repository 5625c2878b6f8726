"""Acme's device-change webhooks -> SendConnectorEvent DEVICE_EVENT.

`lambda_handler` takes the HTTP event of a Lambda function URL or an API Gateway HTTP API
(payload format 2.0; 1.0 works too): Acme POSTs a notification there (see
examples/acme_cloud/webhooks.py), the handler checks its signature and reports the device's
attributes to managed integrations. Answers 2xx when done, 401 for a bad signature, and 502
when SendConnectorEvent failed (so Acme retries).

``python -m examples.acme_connector.webhook --port 8791`` serves the same handler over plain
HTTP for local use; the first line printed is its URL (give it to the connector as
``ACME_WEBHOOK_URL``).

Environment: ``ACME_WEBHOOK_SECRET`` (verify signatures when set), ``ACME_CONNECTOR_ID``
(used when the URL carries no ``connectorId``), and boto3's usual settings.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from . import mapping
from .events import send_connector_event

log = logging.getLogger("acme_connector")

EVENT_TYPE = "device.state_changed"
SIGNATURE_HEADER = "x-acme-signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def http_response(status: int, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(document),
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    secret = os.environ.get("ACME_WEBHOOK_SECRET")
    if secret and not hmac.compare_digest(
        headers.get(SIGNATURE_HEADER, ""), signature(secret, raw)
    ):
        return http_response(401, {"error": "bad signature"})
    query = event.get("queryStringParameters") or {}
    connector_id = query.get("connectorId") or os.environ.get("ACME_CONNECTOR_ID")
    if not connector_id:
        return http_response(400, {"error": "no connectorId in the URL or ACME_CONNECTOR_ID"})
    try:
        notification = json.loads(raw)
        device, user_id = notification["device"], notification["userId"]
    except (ValueError, KeyError, TypeError):
        return http_response(400, {"error": "not an Acme notification"})
    if notification.get("type") != EVENT_TYPE or mapping.kind_of(device) is None:
        return http_response(202, {"ignored": True})
    try:
        send_connector_event(
            connector_id,
            "DEVICE_EVENT",
            UserId=user_id,
            ConnectorDeviceId=device["id"],
            StatusCode=200,
            MatterEndpoint=mapping.matter_endpoint(device),
        )
    except (BotoCoreError, ClientError) as exc:
        log.warning("DEVICE_EVENT for %s failed: %s", device["id"], exc)
        return http_response(502, {"error": "SendConnectorEvent failed"})
    return http_response(200, {"reported": device["id"]})


# ----- a local HTTP front for the handler -------------------------------------------------------


class _FunctionUrl(BaseHTTPRequestHandler):
    """Turns each request into a function URL event (payload 2.0) for `lambda_handler`."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        try:
            body, encoded = raw.decode(), False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
        event = {
            "version": "2.0",
            "rawPath": url.path,
            "rawQueryString": url.query,
            "queryStringParameters": dict(parse_qsl(url.query)) or None,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "requestContext": {"http": {"method": "POST", "path": url.path}},
            "body": body,
            "isBase64Encoded": encoded,
        }
        result = lambda_handler(event, None)
        payload = result.get("body", "").encode()
        self.send_response(result.get("statusCode", 200))
        for name, value in result.get("headers", {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s " + format, self.address_string(), *args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m examples.acme_connector.webhook",
        description="Serve the Acme webhook handler over HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8791, help="0 picks a free port (printed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = ThreadingHTTPServer((args.host, args.port), _FunctionUrl)
    server.daemon_threads = True
    print(f"acme-webhook listening on http://{args.host}:{server.server_address[1]}", flush=True)

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
