"""Hand-built signed requests, for what an SDK would never send (bad JSON, wrong methods...)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import REGION


def signed(
    url: str,
    method: str,
    path: str,
    *,
    service: str = "iotmanagedintegrations",
    body: bytes = b"",
    query: str = "",
    access_key: str = "test",
    secret_key: str = "test",
    headers: dict[str, str] | None = None,
    when: dt.datetime | None = None,
    region: str = REGION,
) -> httpx.Response:
    """Sign with botocore's own signer (optionally at another time) and send with httpx."""
    full = f"{url}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=full, data=body, headers=dict(headers or {}))
    if body:
        request.headers["Content-Type"] = "application/json"
    signer = SigV4Auth(Credentials(access_key, secret_key), service, region)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(request)
    prepared = request.prepare()
    return send(prepared.method, prepared.url, dict(prepared.headers.items()), body)


def send(method: str, url: str, headers: dict[str, Any], body: bytes) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.request(method, url, headers=headers, content=body)
