"""TagResource / UntagResource / ListTagsForResource over HTTP with stock boto3."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY, RunningServer, make_client


def _thing(mi: Any, **extra: Any) -> tuple[str, str]:
    created = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial=f"barcode-{uuid.uuid4().hex}",
        AuthenticationMaterialType="ZIGBEE_QR_BAR_CODE",
        **extra,
    )
    return created["Id"], created["Arn"]


def test_tag_list_untag_a_managed_thing(mi: Any) -> None:
    thing_id, arn = _thing(mi, Tags={"team": "blue"})
    assert mi.list_tags_for_resource(ResourceArn=arn)["tags"] == {"team": "blue"}

    mi.tag_resource(ResourceArn=arn, Tags={"team": "red", "floor": "2", "empty": ""})
    assert mi.list_tags_for_resource(ResourceArn=arn)["tags"] == {
        "team": "red",
        "floor": "2",
        "empty": "",
    }
    assert mi.get_managed_thing(Identifier=thing_id)["Tags"]["team"] == "red"

    mi.untag_resource(ResourceArn=arn, TagKeys=["floor", "empty", "never-there"])
    assert mi.list_tags_for_resource(ResourceArn=arn)["tags"] == {"team": "red"}


def test_the_list_output_uses_a_lower_case_tags_key(mi: Any) -> None:
    _, arn = _thing(mi, Tags={"k": "v"})
    seen: list[tuple[str, bytes]] = []

    def capture(http_response: Any, **kwargs: Any) -> None:
        seen.append((http_response.url, http_response.content))

    event = "after-call.iot-managed-integrations.ListTagsForResource"
    mi.meta.events.register(event, capture)
    try:
        mi.list_tags_for_resource(ResourceArn=arn)
    finally:
        mi.meta.events.unregister(event, capture)
    url, body = seen[0]
    assert "/tags/arn%3Aaws%3Aiotmanagedintegrations%3A" in url  # percent-encoded ARN
    assert json.loads(body) == {"tags": {"k": "v"}}


def test_tags_go_with_the_deleted_thing(mi: Any) -> None:
    thing_id, arn = _thing(mi, Tags={"k": "v"})
    mi.delete_managed_thing(Identifier=thing_id)
    with pytest.raises(mi.exceptions.ResourceNotFoundException):
        mi.list_tags_for_resource(ResourceArn=arn)


def test_unknown_resources_are_not_found(mi: Any) -> None:
    _, arn = _thing(mi)
    region, account = arn.split(":")[3:5]
    base = f"arn:aws:iotmanagedintegrations:{region}:{account}"
    for missing in (
        f"{base}:managed-thing/doesnotexist",
        f"{base}:account-association/doesnotexist",
        f"{base}:ota-task/abc",
        f"{base}:credential-locker/abc",
        f"{base}:provisioning-profile/abc",
    ):
        with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
            mi.list_tags_for_resource(ResourceArn=missing)
        assert caught.value.response["ResourceId"] == missing
        with pytest.raises(mi.exceptions.ResourceNotFoundException):
            mi.tag_resource(ResourceArn=missing, Tags={"k": "v"})
        with pytest.raises(mi.exceptions.ResourceNotFoundException):
            mi.untag_resource(ResourceArn=missing, TagKeys=["k"])


def test_another_accounts_or_regions_resource_is_not_found(server: RunningServer, mi: Any) -> None:
    _, arn = _thing(mi, Tags={"k": "v"})
    other = make_client(
        server, "iot-managed-integrations", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.list_tags_for_resource(ResourceArn=arn)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.tag_resource(ResourceArn=arn, Tags={"k": "stolen"})
    elsewhere = arn.replace(":us-east-1:", ":eu-west-1:")
    with pytest.raises(mi.exceptions.ResourceNotFoundException):
        mi.list_tags_for_resource(ResourceArn=elsewhere)
    assert mi.list_tags_for_resource(ResourceArn=arn)["tags"] == {"k": "v"}


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-arn",
        "arn:aws:iot:us-east-1:000000000000:thing/abc",
        "arn:aws:iotmanagedintegrations:us-east-1:000000000000:device-discovery/abc",
        "xarn:aws:iotmanagedintegrations:us-east-1:000000000000:managed-thing/abc",
        "arn:aws:iotmanagedintegrations:us-east-1:000000000000:managed-thing/abc/def",
    ],
)
def test_malformed_arns_are_invalid_requests(mi: Any, bad: str) -> None:
    with pytest.raises(mi.exceptions.InvalidRequestException):
        mi.list_tags_for_resource(ResourceArn=bad)
    with pytest.raises(mi.exceptions.InvalidRequestException):
        mi.tag_resource(ResourceArn=bad, Tags={"k": "v"})
    with pytest.raises(mi.exceptions.InvalidRequestException):
        mi.untag_resource(ResourceArn=bad, TagKeys=["k"])


def test_reserved_keys_and_too_many_tags_are_invalid_requests(mi: Any) -> None:
    _, arn = _thing(mi, Tags={f"k{i}": "v" for i in range(45)})
    with pytest.raises(mi.exceptions.InvalidRequestException) as caught:
        mi.tag_resource(ResourceArn=arn, Tags={"aws:owner": "me"})
    assert "reserved" in caught.value.response["Error"]["Message"]
    mi.tag_resource(ResourceArn=arn, Tags={f"k{i}": "w" for i in range(40, 50)})
    with pytest.raises(mi.exceptions.InvalidRequestException) as caught:
        mi.tag_resource(ResourceArn=arn, Tags={"one-too-many": "v"})
    assert "50" in caught.value.response["Error"]["Message"]
    assert len(mi.list_tags_for_resource(ResourceArn=arn)["tags"]) == 50
