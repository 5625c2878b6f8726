"""Cloud connectors over HTTP with stock boto3, built on the shared storage primitives."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY, RunningServer, make_client

LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:acme-connector"


def _create(mi: Any, name: str = "acme", **extra: Any) -> str:
    response = mi.create_cloud_connector(
        Name=name, EndpointConfig={"lambda": {"arn": extra.pop("arn", LAMBDA)}}, **extra
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(response["Id"])


def test_create_get_update_delete(mi: Any) -> None:
    connector_id = _create(mi, Description="Acme cloud")
    got = mi.get_cloud_connector(Identifier=connector_id)
    assert got["Id"] == connector_id
    assert got["Name"] == "acme"
    assert got["Description"] == "Acme cloud"
    assert got["EndpointConfig"] == {"lambda": {"arn": LAMBDA}}
    assert (got["EndpointType"], got["Type"]) == ("LAMBDA", "UNLISTED")

    mi.update_cloud_connector(Identifier=connector_id, Name="acme v2")
    assert mi.get_cloud_connector(Identifier=connector_id)["Name"] == "acme v2"

    mi.delete_cloud_connector(Identifier=connector_id)
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        mi.get_cloud_connector(Identifier=connector_id)
    assert caught.value.response["ResourceId"] == connector_id
    assert caught.value.response["ResourceType"] == "CloudConnector"


def test_unknown_connector_is_not_found_for_every_operation(mi: Any) -> None:
    for call in (mi.get_cloud_connector, mi.delete_cloud_connector, mi.update_cloud_connector):
        with pytest.raises(mi.exceptions.ResourceNotFoundException):
            call(Identifier="doesnotexist")


def test_same_client_token_and_request_gives_the_same_connector(mi: Any) -> None:
    token = uuid.uuid4().hex
    first = _create(mi, name="idem", ClientToken=token)
    second = _create(mi, name="idem", ClientToken=token)
    assert first == second
    names = [i["Id"] for i in mi.list_cloud_connectors(MaxResults=1000)["Items"]]
    assert names.count(first) == 1


def test_same_client_token_with_another_request_conflicts(mi: Any) -> None:
    token = uuid.uuid4().hex
    _create(mi, name="first", ClientToken=token)
    with pytest.raises(mi.exceptions.ConflictException) as caught:
        _create(mi, name="second", ClientToken=token)
    assert token in caught.value.response["Error"]["Message"]


def test_list_pages_through_every_connector_once(server: RunningServer) -> None:
    # A fresh account-region keeps this listing free of other tests' connectors.
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-3"
    )
    regional = session.client("iot-managed-integrations", endpoint_url=server.url)
    created = [_create(regional, name=f"c{i}") for i in range(7)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = regional.list_cloud_connectors(**kwargs)
        seen += [item["Id"] for item in page["Items"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == created
    assert pages == 3
    paginated = regional.get_paginator("list_cloud_connectors").paginate(
        PaginationConfig={"PageSize": 2}
    )
    assert [i["Id"] for page in paginated for i in page["Items"]] == created


def test_list_filters_by_lambda_arn(mi: Any) -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:function:filtered-" + uuid.uuid4().hex[:8]
    wanted = _create(mi, name="filtered", arn=arn)
    _create(mi, name="unfiltered")
    items = mi.list_cloud_connectors(LambdaArn=arn)["Items"]
    assert [i["Id"] for i in items] == [wanted]
    assert mi.list_cloud_connectors(Type="LISTED", MaxResults=1000)["Items"] == []


def test_tampered_next_token_is_a_validation_error(mi: Any) -> None:
    _create(mi, name="t1")
    _create(mi, name="t2")
    token = mi.list_cloud_connectors(MaxResults=1)["NextToken"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(mi.exceptions.ValidationException):
        mi.list_cloud_connectors(MaxResults=1, NextToken=forged)
    with pytest.raises(mi.exceptions.ValidationException):
        mi.list_cloud_connectors(MaxResults=1, NextToken=token, Type="LISTED")


def test_accounts_cannot_see_each_others_connectors(server: RunningServer, mi: Any) -> None:
    mine = _create(mi, name="private")
    other = make_client(
        server, "iot-managed-integrations", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_cloud_connector(Identifier=mine)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_cloud_connector(Identifier=mine)
    assert mine not in [i["Id"] for i in other.list_cloud_connectors(MaxResults=1000)["Items"]]
    assert mi.get_cloud_connector(Identifier=mine)["Name"] == "private"


def test_bad_lambda_arn_is_rejected(mi: Any) -> None:
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.create_cloud_connector(Name="x", EndpointConfig={"lambda": {"arn": "!!!"}})
    assert "'EndpointConfig.lambda.arn'" in caught.value.response["Error"]["Message"]
