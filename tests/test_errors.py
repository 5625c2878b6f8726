"""Errors as AWS sends them: bad bodies, unknown routes and methods, constraint messages."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from tests.conftest import RunningServer
from tests.rawhttp import signed


def _error(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return (
        response.status_code,
        response.headers["x-amzn-errortype"],
        body.get("message", body.get("Message", "")),
    )


def test_malformed_json_is_a_validation_error(server: RunningServer) -> None:
    response = signed(server.url, "POST", "/cloud-connectors", body=b'{"Name": ')
    status, code, message = _error(response)
    assert (status, code) == (400, "ValidationException")
    assert "not valid JSON" in message


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_body_that_is_not_an_object_is_rejected(server: RunningServer, body: bytes) -> None:
    status, code, message = _error(signed(server.url, "POST", "/cloud-connectors", body=body))
    assert (status, code) == (400, "ValidationException")
    assert "must be a JSON object" in message


def test_iot_events_uses_its_own_validation_error(server: RunningServer) -> None:
    response = signed(server.url, "POST", "/inputs", service="iotevents", body=b"{oops")
    status, code, _ = _error(response)
    assert (status, code) == (400, "InvalidRequestException")
    assert response.json()["message"]  # IoT Events error shapes name it `message`


def test_unknown_route_is_404(server: RunningServer) -> None:
    status, code, message = _error(signed(server.url, "GET", "/no/such/thing"))
    assert (status, code) == (404, "UnknownOperationException")
    assert "/no/such/thing" in message


def test_wrong_method_is_405_with_allow(server: RunningServer) -> None:
    response = signed(server.url, "PATCH", "/cloud-connectors")
    status, code, _ = _error(response)
    assert (status, code) == (405, "MethodNotAllowedException")
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


def test_unserved_service_is_named(server: RunningServer) -> None:
    status, code, message = _error(signed(server.url, "GET", "/", service="s3"))
    assert (status, code) == (404, "UnknownServiceException")
    assert "'s3'" in message


def test_error_carries_request_id(server: RunningServer) -> None:
    response = signed(server.url, "GET", "/no/such/thing")
    assert len(response.headers["x-amzn-requestid"]) == 36


def test_constraint_messages_name_member_and_constraint(mi: Any, iotevents: Any) -> None:
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.list_cloud_connectors(MaxResults=5000)
    assert caught.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 5000 at 'MaxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000"
    )
    with pytest.raises(iotevents.exceptions.InvalidRequestException) as caught_ie:
        iotevents.describe_input(inputName="9-not valid")
    message = caught_ie.value.response["Error"]["Message"]
    assert (
        "at 'inputName' failed to satisfy constraint: Member must satisfy regular expression"
        in (message)
    )


def test_several_problems_are_all_reported(server: RunningServer) -> None:
    from tests.conftest import make_client

    client = make_client(server, "iotevents-data", validate=False)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.batch_put_message(
            messages=[{"messageId": "bad id!", "inputName": "", "payload": b"x"}]
        )
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("3 validation errors detected: ")
    assert "'messages.1.member.messageId'" in message
    assert (
        "'messages.1.member.inputName'" in message
        and "length greater than or equal to 1" in message
    )


def test_enum_violation_lists_the_allowed_values(server: RunningServer) -> None:
    from tests.conftest import make_client

    client = make_client(server, "iot-managed-integrations", validate=False)
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.list_cloud_connectors(Type="NOPE")
    assert (
        "Member must satisfy enum value set: [LISTED, UNLISTED]"
        in (caught.value.response["Error"]["Message"])
    )


def test_unimplemented_operation_names_itself(mi: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        mi.list_ota_tasks()
    error = caught.value.response["Error"]
    assert "iot-managed-integrations:ListOtaTasks" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
