"""SigV4 over HTTP: every API request must be signed by a known identity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.exceptions
import pytest

from tests.conftest import RunningServer, make_client
from tests.rawhttp import send, signed


def _code(response: Any) -> tuple[int, str]:
    return response.status_code, response.headers.get("x-amzn-errortype", "")


def test_wrong_secret_is_an_invalid_signature(server: RunningServer) -> None:
    client = make_client(server, "iot-managed-integrations", secret_key="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_cloud_connectors()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_unrecognized(server: RunningServer) -> None:
    client = make_client(server, "iotevents", access_key="nobody", secret_key="x")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_inputs()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("minutes", [-16, 16, -120])
def test_skewed_date_is_refused_with_a_clear_message(server: RunningServer, minutes: int) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    response = signed(server.url, "GET", "/cloud-connectors", when=when)
    assert _code(response) == (403, "InvalidSignatureException")
    message = response.json()["message"]
    assert when.strftime("%Y%m%dT%H%M%SZ") in message
    assert "15 min" in message


def test_date_within_fifteen_minutes_is_accepted(server: RunningServer) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14)
    response = signed(server.url, "GET", "/no-such-route", when=when)
    assert _code(response) == (404, "UnknownOperationException")


def test_unsigned_request_is_missing_a_token(server: RunningServer) -> None:
    response = send("GET", f"{server.url}/cloud-connectors", {}, b"")
    assert _code(response) == (403, "MissingAuthenticationTokenException")


def test_tampered_body_breaks_the_signature(server: RunningServer) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=f"{server.url}/inputs", data=b'{"inputName": "a"}')
    SigV4Auth(Credentials("test", "test"), "iotevents", "us-east-1").add_auth(request)
    prepared = request.prepare()
    response = send("POST", prepared.url, dict(prepared.headers.items()), b'{"inputName": "b"}')
    assert _code(response) == (403, "InvalidSignatureException")


def test_tampered_query_breaks_the_signature(server: RunningServer) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=f"{server.url}/inputs?maxResults=1")
    SigV4Auth(Credentials("test", "test"), "iotevents", "us-east-1").add_auth(request)
    prepared = request.prepare()
    url = prepared.url.replace("maxResults=1", "maxResults=2")
    assert _code(send("GET", url, dict(prepared.headers.items()), b"")) == (
        403,
        "InvalidSignatureException",
    )


def test_second_identity_signs_for_its_account(server: RunningServer) -> None:
    from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY

    response = signed(
        server.url,
        "GET",
        "/no-such-route",
        access_key=OTHER_ACCESS_KEY,
        secret_key=OTHER_SECRET_KEY,
    )
    assert _code(response) == (404, "UnknownOperationException")


def test_health_needs_no_authentication(server: RunningServer) -> None:
    response = send("GET", f"{server.url}/_thinghub/health", {}, b"")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
