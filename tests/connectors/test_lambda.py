"""Connectors that are not local handlers: Lambda's Invoke API, here a real HTTP stub."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.connectors.support import ACCOUNT, REGION, config, event, run
from tests.peers import (
    RecordedRequest,
    StubHttpServer,
    StubResponse,
    aws_environment,
    free_port,
)
from thinghub.connectors.responses import ConnectorError

ARN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:acme-connector"
OK = {"header": {"responseCode": 200}, "payload": {"responseMessage": "ok"}}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubHttpServer]:
    with StubHttpServer(lambda request: StubResponse.json(200, OK)) as server:
        aws_environment(monkeypatch, None, lambda_=server.url)
        yield server


def test_invoke_sends_the_event_as_a_signed_request_response_call(stub: StubHttpServer) -> None:
    sent = event()
    response = run(
        config({}), lambda invoker: invoker.invoke(ARN, sent, account_id=ACCOUNT, region=REGION)
    )
    assert (response.response_code, response.payload) == (200, OK["payload"])
    [request] = stub.requests
    assert request.method == "POST"
    assert request.path == f"/2015-03-31/functions/{urllib.parse.quote(ARN, safe='')}/invocations"
    assert request.headers["x-amz-invocation-type"] == "RequestResponse"
    # The ARN's region, not the connector's, and Lambda's signing name.
    assert "/eu-west-1/lambda/aws4_request" in request.headers["authorization"]
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert request.json() == sent


def test_a_bare_function_name_is_invoked_in_the_connectors_region(stub: StubHttpServer) -> None:
    run(
        config({}),
        lambda invoker: invoker.invoke(
            "acme:live", event(), account_id=ACCOUNT, region="ap-south-1"
        ),
    )
    [request] = stub.requests
    assert request.path == "/2015-03-31/functions/acme%3Alive/invocations"
    assert "/ap-south-1/lambda/aws4_request" in request.headers["authorization"]


def test_the_aws_section_can_name_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with StubHttpServer(lambda request: StubResponse.json(200, OK)) as server:
        aws_environment(monkeypatch, None)
        raw = {
            **config({}),
            "aws": {"endpoint_url": server.url, "access_key_id": "ak", "secret_access_key": "sk"},
        }
        run(raw, lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION))
        [request] = server.requests
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=ak/")


def test_a_function_error_is_retried_then_reported(stub: StubHttpServer) -> None:
    error = {"errorMessage": "acme is down", "errorType": "RuntimeError", "stackTrace": []}
    stub.respond = lambda request: StubResponse.json(
        200, error, **{"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"}
    )
    with pytest.raises(ConnectorError) as caught:
        run(
            config({}, retries=2),
            lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION),
        )
    assert (caught.value.kind, caught.value.attempts) == ("function_error", 3)
    assert caught.value.message.endswith("RuntimeError: acme is down")
    assert len(stub.requests) == 3


def test_a_function_error_then_success(stub: StubHttpServer) -> None:
    def respond(request: RecordedRequest) -> StubResponse:
        if len(stub.requests) == 1:
            return StubResponse.json(
                200, {"errorMessage": "cold"}, **{"X-Amz-Function-Error": "Unhandled"}
            )
        return StubResponse.json(200, OK)

    stub.respond = respond
    response = run(
        config({}), lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION)
    )
    assert response.response_code == 200
    assert len(stub.requests) == 2


def test_a_slow_function_times_out_and_is_retried(stub: StubHttpServer) -> None:
    def respond(request: RecordedRequest) -> StubResponse:
        if len(stub.requests) == 1:
            time.sleep(1.0)  # beyond the 0.3 s timeout
        return StubResponse.json(200, OK)

    stub.respond = respond
    started = time.monotonic()
    response = run(
        config({}, timeout_seconds=0.3),
        lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION),
    )
    assert response.response_code == 200
    assert len(stub.requests) == 2
    assert time.monotonic() - started < 1.0


def test_a_function_that_always_times_out(stub: StubHttpServer) -> None:
    def respond(request: RecordedRequest) -> StubResponse:
        time.sleep(0.6)
        return StubResponse.json(200, OK)

    stub.respond = respond
    with pytest.raises(ConnectorError) as caught:
        run(
            config({}, timeout_seconds=0.3, retries=1),
            lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION),
        )
    assert (caught.value.kind, caught.value.attempts) == ("timeout", 2)
    # The stub may record the second request after the client gave up on it (a busy machine).
    deadline = time.monotonic() + 5
    while len(stub.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Each attempt is one HTTP request: botocore's own retries are off.
    assert [r.headers["amz-sdk-request"] for r in stub.requests] == ["attempt=1", "attempt=1"]


def test_throttling_is_retried(stub: StubHttpServer) -> None:
    def respond(request: RecordedRequest) -> StubResponse:
        if len(stub.requests) == 1:
            return StubResponse.aws_error(429, "TooManyRequestsException", "Rate exceeded")
        return StubResponse.json(200, OK)

    stub.respond = respond
    run(config({}), lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION))
    assert len(stub.requests) == 2


def test_a_missing_function_is_not_retried(stub: StubHttpServer) -> None:
    stub.respond = lambda request: StubResponse.aws_error(
        404, "ResourceNotFoundException", "Function not found: " + ARN
    )
    with pytest.raises(ConnectorError) as caught:
        run(
            config({}),
            lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION),
        )
    assert (caught.value.kind, caught.value.attempts) == ("invocation_error", 1)
    assert "ResourceNotFoundException" in caught.value.message
    assert len(stub.requests) == 1


def test_nobody_listening_is_an_invocation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    aws_environment(monkeypatch, None, lambda_=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConnectorError) as caught:
        run(
            config({}, retries=2),
            lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION),
        )
    assert (caught.value.kind, caught.value.attempts) == ("invocation_error", 3)


def test_a_non_2xx_answer_is_final(stub: StubHttpServer) -> None:
    answer = {"header": {"responseCode": 500}, "payload": {"responseMessage": "acme failed"}}
    stub.respond = lambda request: StubResponse.json(200, answer)
    with pytest.raises(ConnectorError) as caught:
        run(
            config({}),
            lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION),
        )
    assert (caught.value.kind, caught.value.attempts, caught.value.response_code) == (
        "non_2xx",
        1,
        500,
    )
    assert len(stub.requests) == 1


def test_a_json_string_payload_holding_the_envelope_is_accepted(stub: StubHttpServer) -> None:
    stub.respond = lambda request: StubResponse(200, json.dumps(json.dumps(OK)).encode())
    response = run(
        config({}), lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION)
    )
    assert response.raw == OK


def test_a_payload_that_is_not_json_is_a_bad_response(stub: StubHttpServer) -> None:
    stub.respond = lambda request: StubResponse(200, b"<html>")
    with pytest.raises(ConnectorError) as caught:
        run(
            config({}),
            lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION),
        )
    assert (caught.value.kind, caught.value.attempts) == ("bad_response", 1)
