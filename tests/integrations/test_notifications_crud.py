"""Notification destinations and notification configurations (CRUD) over HTTP with boto3."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import botocore.config
import httpx
import pytest

from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY, RunningServer, make_client

STREAM = "arn:aws:kinesis:us-east-1:000000000000:stream/notifications"
OTHER_STREAM = "arn:aws:kinesis:us-east-1:000000000000:stream/other-notifications"
ROLE = "arn:aws:iam::000000000000:role/notify"
EVENT_TYPES = [
    "DEVICE_COMMAND",
    "DEVICE_COMMAND_REQUEST",
    "DEVICE_DISCOVERY_STATUS",
    "DEVICE_EVENT",
    "DEVICE_LIFE_CYCLE",
    "DEVICE_STATE",
    "DEVICE_OTA",
    "DEVICE_WSS",
    "CONNECTOR_ASSOCIATION",
    "ACCOUNT_ASSOCIATION",
    "CONNECTOR_ERROR_REPORT",
]


def _fresh(
    server: RunningServer, access_key: str = "test", secret_key: str = "test", region: str = ""
) -> Any:
    """A client in a region of its own: notification configurations are one per event type per
    account and region, so every test gets an empty account-region."""
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region or f"nt{uuid.uuid4().hex[:10]}-1",
    )
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return session.client("iot-managed-integrations", endpoint_url=server.url, config=config)


@pytest.fixture
def client(server: RunningServer) -> Any:
    return _fresh(server)


def _destination(client: Any, name: str, **extra: Any) -> str:
    response = client.create_destination(
        Name=name,
        DeliveryDestinationArn=extra.pop("arn", STREAM),
        DeliveryDestinationType="KINESIS",
        RoleArn=ROLE,
        **extra,
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert response["Name"] == name
    return name


def _configuration(client: Any, event_type: str, destination: str) -> None:
    response = client.create_notification_configuration(
        EventType=event_type, DestinationName=destination
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert response["EventType"] == event_type


def _clock(server: RunningServer) -> float:
    return float(httpx.get(f"{server.url}/_thinghub/clock").json()["epochSeconds"])


def _all(client: Any, operation: str, member: str, page_size: int) -> list[dict[str, Any]]:
    pages = client.get_paginator(operation).paginate(PaginationConfig={"PageSize": page_size})
    return [item for page in pages for item in page[member]]


# --- destinations ---------------------------------------------------------------------------


def test_destination_create_get_update_delete(server: RunningServer, client: Any) -> None:
    _destination(client, "main stream", Description="All events", Tags={"team": "iot"})
    got = client.get_destination(Name="main stream")
    assert got["Name"] == "main stream"
    assert got["DeliveryDestinationArn"] == STREAM
    assert got["DeliveryDestinationType"] == "KINESIS"
    assert got["RoleArn"] == ROLE
    assert got["Description"] == "All events"
    assert got["Tags"] == {"team": "iot"}
    now = _clock(server)
    assert got["CreatedAt"].timestamp() == pytest.approx(now)
    assert got["UpdatedAt"] == got["CreatedAt"]

    other_role = "arn:aws:iam::000000000000:role/notify-v2"
    response = client.update_destination(
        Name="main stream",
        DeliveryDestinationArn=OTHER_STREAM,
        DeliveryDestinationType="KINESIS",
        RoleArn=other_role,
        Description="Moved",
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    got = client.get_destination(Name="main stream")
    assert (got["DeliveryDestinationArn"], got["RoleArn"], got["Description"]) == (
        OTHER_STREAM,
        other_role,
        "Moved",
    )
    assert got["Tags"] == {"team": "iot"}

    client.update_destination(Name="main stream", Description="Only this")
    got = client.get_destination(Name="main stream")
    assert (got["DeliveryDestinationArn"], got["Description"]) == (OTHER_STREAM, "Only this")

    assert (
        client.delete_destination(Name="main stream")["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.get_destination(Name="main stream")
    assert caught.value.response["ResourceId"] == "main stream"
    assert caught.value.response["ResourceType"] == "Destination"
    assert client.list_destinations()["DestinationList"] == []


def test_duplicate_destination_name_conflicts(client: Any) -> None:
    _destination(client, "dup")
    with pytest.raises(client.exceptions.ConflictException) as caught:
        _destination(client, "dup", arn=OTHER_STREAM)
    assert "dup" in caught.value.response["Error"]["Message"]
    assert client.get_destination(Name="dup")["DeliveryDestinationArn"] == STREAM


def test_same_client_token_replays_create_destination(client: Any) -> None:
    token = uuid.uuid4().hex
    _destination(client, "idem", ClientToken=token)
    _destination(client, "idem", ClientToken=token)
    assert [d["Name"] for d in client.list_destinations()["DestinationList"]] == ["idem"]


def test_unknown_destination_is_not_found(client: Any) -> None:
    for call in (client.get_destination, client.delete_destination, client.update_destination):
        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            call(Name="nowhere")
        assert caught.value.response["ResourceId"] == "nowhere"
        assert caught.value.response["ResourceType"] == "Destination"


def test_list_destinations_pages_through_every_destination(client: Any) -> None:
    names = [_destination(client, f"d{i}", Description=f"number {i}") for i in range(7)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = client.list_destinations(**kwargs)
        seen += [item["Name"] for item in page["DestinationList"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert (seen, pages) == (names, 3)
    items = _all(client, "list_destinations", "DestinationList", 2)
    assert [i["Name"] for i in items] == names
    assert items[0] == {
        "Name": "d0",
        "Description": "number 0",
        "DeliveryDestinationArn": STREAM,
        "DeliveryDestinationType": "KINESIS",
        "RoleArn": ROLE,
    }


def test_bad_destination_members_are_rejected(server: RunningServer) -> None:
    raw = make_client(server, "iot-managed-integrations", validate=False)
    with pytest.raises(raw.exceptions.ValidationException):
        raw.create_destination(
            Name="bad", DeliveryDestinationArn=STREAM, DeliveryDestinationType="SQS", RoleArn=ROLE
        )
    with pytest.raises(raw.exceptions.ValidationException):
        raw.create_destination(
            Name="bad",
            DeliveryDestinationArn="not-an-arn-at-all!!",
            DeliveryDestinationType="KINESIS",
            RoleArn=ROLE,
        )


# --- notification configurations -------------------------------------------------------------


def test_configuration_create_get_update_delete(server: RunningServer, client: Any) -> None:
    _destination(client, "first")
    _destination(client, "second")
    client.create_notification_configuration(
        EventType="DEVICE_STATE", DestinationName="first", Tags={"k": "v"}
    )
    got = client.get_notification_configuration(EventType="DEVICE_STATE")
    assert (got["EventType"], got["DestinationName"], got["Tags"]) == (
        "DEVICE_STATE",
        "first",
        {"k": "v"},
    )
    assert got["CreatedAt"].timestamp() == pytest.approx(_clock(server))
    assert got["UpdatedAt"] == got["CreatedAt"]

    response = client.update_notification_configuration(
        EventType="DEVICE_STATE", DestinationName="second"
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    got = client.get_notification_configuration(EventType="DEVICE_STATE")
    assert (got["DestinationName"], got["Tags"]) == ("second", {"k": "v"})
    listed = client.list_notification_configurations()["NotificationConfigurationList"]
    assert listed == [{"EventType": "DEVICE_STATE", "DestinationName": "second"}]

    response = client.delete_notification_configuration(EventType="DEVICE_STATE")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.get_notification_configuration(EventType="DEVICE_STATE")
    assert caught.value.response["ResourceId"] == "DEVICE_STATE"
    assert caught.value.response["ResourceType"] == "NotificationConfiguration"
    # Free again: the event type can be configured anew.
    _configuration(client, "DEVICE_STATE", "first")


def test_one_configuration_per_event_type(client: Any) -> None:
    _destination(client, "a")
    _destination(client, "b")
    _configuration(client, "DEVICE_EVENT", "a")
    with pytest.raises(client.exceptions.ConflictException) as caught:
        _configuration(client, "DEVICE_EVENT", "b")
    assert "DEVICE_EVENT" in caught.value.response["Error"]["Message"]
    assert client.get_notification_configuration(EventType="DEVICE_EVENT")["DestinationName"] == "a"
    _configuration(client, "DEVICE_COMMAND", "a")


def test_unknown_destination_name_is_a_validation_error(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        _configuration(client, "DEVICE_OTA", "ghost")
    assert "ghost" in caught.value.response["Error"]["Message"]
    _destination(client, "real")
    _configuration(client, "DEVICE_OTA", "real")
    with pytest.raises(client.exceptions.ValidationException):
        client.update_notification_configuration(EventType="DEVICE_OTA", DestinationName="ghost")
    assert (
        client.get_notification_configuration(EventType="DEVICE_OTA")["DestinationName"] == "real"
    )


def test_unknown_configuration_is_not_found(client: Any) -> None:
    _destination(client, "exists")
    calls = (
        lambda: client.get_notification_configuration(EventType="DEVICE_WSS"),
        lambda: client.delete_notification_configuration(EventType="DEVICE_WSS"),
        lambda: client.update_notification_configuration(
            EventType="DEVICE_WSS", DestinationName="exists"
        ),
    )
    for call in calls:
        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            call()
        assert caught.value.response["ResourceId"] == "DEVICE_WSS"
        assert caught.value.response["ResourceType"] == "NotificationConfiguration"


def test_bad_event_type_is_rejected(server: RunningServer) -> None:
    raw = make_client(server, "iot-managed-integrations", validate=False)
    with pytest.raises(raw.exceptions.ValidationException):
        raw.create_notification_configuration(EventType="DEVICE_NOPE", DestinationName="x")
    with pytest.raises(raw.exceptions.ValidationException):
        raw.get_notification_configuration(EventType="DEVICE_NOPE")


def test_deleting_a_destination_in_use_is_refused(client: Any) -> None:
    _destination(client, "busy")
    _destination(client, "spare")
    _configuration(client, "ACCOUNT_ASSOCIATION", "busy")
    _configuration(client, "CONNECTOR_ERROR_REPORT", "busy")
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.delete_destination(Name="busy")
    assert "busy" in caught.value.response["Error"]["Message"]

    client.update_notification_configuration(
        EventType="ACCOUNT_ASSOCIATION", DestinationName="spare"
    )
    with pytest.raises(client.exceptions.ValidationException):
        client.delete_destination(Name="busy")
    client.delete_notification_configuration(EventType="CONNECTOR_ERROR_REPORT")
    client.delete_destination(Name="busy")
    with pytest.raises(client.exceptions.ValidationException):
        client.delete_destination(Name="spare")
    assert client.get_destination(Name="spare")["Name"] == "spare"


def test_list_configurations_pages_through_every_event_type(client: Any) -> None:
    _destination(client, "all")
    for event_type in EVENT_TYPES:
        _configuration(client, event_type, "all")
    first = client.list_notification_configurations(MaxResults=5)
    assert len(first["NotificationConfigurationList"]) == 5
    assert "NextToken" in first
    items = _all(client, "list_notification_configurations", "NotificationConfigurationList", 4)
    assert items == [{"EventType": e, "DestinationName": "all"} for e in EVENT_TYPES]
    last = client.list_notification_configurations(MaxResults=11)
    assert "NextToken" not in last


def test_tampered_next_token_is_a_validation_error(client: Any) -> None:
    for i in range(3):
        _destination(client, f"t{i}")
    token = client.list_destinations(MaxResults=1)["NextToken"]
    with pytest.raises(client.exceptions.ValidationException):
        client.list_notification_configurations(MaxResults=1, NextToken=token)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(client.exceptions.ValidationException):
        client.list_destinations(MaxResults=1, NextToken=forged)


def test_accounts_cannot_see_each_others_notifications(server: RunningServer) -> None:
    region = f"nt{uuid.uuid4().hex[:10]}-1"
    mine = _fresh(server, region=region)
    other = _fresh(server, OTHER_ACCESS_KEY, OTHER_SECRET_KEY, region=region)
    _destination(mine, "shared-name")
    _configuration(mine, "DEVICE_LIFE_CYCLE", "shared-name")

    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_destination(Name="shared-name")
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_destination(Name="shared-name")
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_notification_configuration(EventType="DEVICE_LIFE_CYCLE")
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_notification_configuration(EventType="DEVICE_LIFE_CYCLE")
    assert other.list_destinations()["DestinationList"] == []
    assert other.list_notification_configurations()["NotificationConfigurationList"] == []
    # Another account's destination does not exist for this one.
    with pytest.raises(other.exceptions.ValidationException):
        _configuration(other, "DEVICE_LIFE_CYCLE", "shared-name")

    # Names and event types are unique per account only.
    _destination(other, "shared-name", arn=OTHER_STREAM)
    _configuration(other, "DEVICE_LIFE_CYCLE", "shared-name")
    assert mine.get_destination(Name="shared-name")["DeliveryDestinationArn"] == STREAM
    assert other.get_destination(Name="shared-name")["DeliveryDestinationArn"] == OTHER_STREAM
    other.delete_notification_configuration(EventType="DEVICE_LIFE_CYCLE")
    other.delete_destination(Name="shared-name")
    assert mine.get_notification_configuration(EventType="DEVICE_LIFE_CYCLE")[
        "DestinationName"
    ] == ("shared-name")
