"""Tags on inputs and detector models, and the account's logging options."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.events.test_control_support import (
    create_motor_model,
    create_pressure_input,
    error_of,
    other_account_client,
    regional_client,
)


def _input_arn(client: Any, name: str) -> str:
    return str(client.describe_input(inputName=name)["input"]["inputConfiguration"]["inputArn"])


def _tags(client: Any, arn: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}


def test_tag_list_overwrite_and_untag_an_input(iotevents: Any) -> None:
    arn = _input_arn(iotevents, create_pressure_input(iotevents))
    assert _tags(iotevents, arn) == {}
    iotevents.tag_resource(
        resourceArn=arn, tags=[{"key": "site", "value": "Fulton"}, {"key": "empty", "value": ""}]
    )
    iotevents.tag_resource(resourceArn=arn, tags=[{"key": "site", "value": "Dayton"}])
    assert _tags(iotevents, arn) == {"site": "Dayton", "empty": ""}
    iotevents.untag_resource(resourceArn=arn, tagKeys=["site", "absent"])
    assert _tags(iotevents, arn) == {"empty": ""}


def test_detector_models_are_taggable_and_tags_go_with_them(iotevents: Any) -> None:
    input_name = create_pressure_input(iotevents)
    model = create_motor_model(iotevents, input_name, tags=[{"key": "team", "value": "ops"}])
    arn = model["detectorModelArn"]
    assert _tags(iotevents, arn) == {"team": "ops"}
    iotevents.tag_resource(resourceArn=arn, tags=[{"key": "tier", "value": "1"}])
    assert _tags(iotevents, arn) == {"team": "ops", "tier": "1"}
    iotevents.delete_detector_model(detectorModelName=model["detectorModelName"])
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException):
        iotevents.list_tags_for_resource(resourceArn=arn)
    again = create_motor_model(iotevents, input_name, name=model["detectorModelName"])
    assert _tags(iotevents, again["detectorModelArn"]) == {}


def test_at_most_fifty_tags(iotevents: Any) -> None:
    arn = _input_arn(iotevents, create_pressure_input(iotevents))
    iotevents.tag_resource(
        resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)]
    )
    with pytest.raises(iotevents.exceptions.LimitExceededException) as caught:
        iotevents.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": "v"}])
    assert error_of(caught)[2] == 410
    # Overwriting existing keys adds nothing.
    iotevents.tag_resource(resourceArn=arn, tags=[{"key": "k1", "value": "w"}])
    with pytest.raises(iotevents.exceptions.InvalidRequestException):
        create_pressure_input(iotevents, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])


def test_aws_prefix_is_reserved(iotevents: Any) -> None:
    arn = _input_arn(iotevents, create_pressure_input(iotevents))
    with pytest.raises(iotevents.exceptions.InvalidRequestException) as caught:
        iotevents.tag_resource(resourceArn=arn, tags=[{"key": "aws:owner", "value": "me"}])
    assert "aws:" in error_of(caught)[1]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iotevents:us-east-1:000000000000:input/NoSuchInput",
        "arn:aws:iotevents:us-east-1:000000000000:detectorModel/no-such-model",
        "arn:aws:sns:us-east-1:000000000000:topic",
        "not-an-arn",
    ],
)
def test_unknown_resource_is_not_found(iotevents: Any, arn: str) -> None:
    for call in (
        lambda: iotevents.list_tags_for_resource(resourceArn=arn),
        lambda: iotevents.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}]),
        lambda: iotevents.untag_resource(resourceArn=arn, tagKeys=["k"]),
    ):
        with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
            call()
        assert error_of(caught)[2] == 404


def test_another_accounts_resource_is_not_found(server: RunningServer, iotevents: Any) -> None:
    arn = _input_arn(iotevents, create_pressure_input(iotevents))
    other = other_account_client(server)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.list_tags_for_resource(resourceArn=arn)
    assert _tags(iotevents, arn) == {}


OPTIONS = {
    "roleArn": "arn:aws:iam::123456789012:role/IoTEventsLogging",
    "level": "DEBUG",
    "enabled": True,
    "detectorDebugOptions": [{"detectorModelName": "motorDetectorModel", "keyValue": "Fulton-A32"}],
}


def test_logging_options_are_not_set_until_put(server: RunningServer) -> None:
    client = regional_client(server)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.describe_logging_options()
    assert error_of(caught)[2] == 404
    answer = client.put_logging_options(loggingOptions=OPTIONS)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client.describe_logging_options()["loggingOptions"] == OPTIONS
    changed = {"roleArn": OPTIONS["roleArn"], "level": "ERROR", "enabled": False}
    client.put_logging_options(loggingOptions=changed)
    assert client.describe_logging_options()["loggingOptions"] == changed


def test_logging_options_are_per_account_and_region(server: RunningServer) -> None:
    region = regional_client(server).meta.region_name
    mine = regional_client(server, region)
    mine.put_logging_options(loggingOptions=OPTIONS)
    from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY

    other = regional_client(
        server, region, access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.describe_logging_options()
    elsewhere = regional_client(server)
    with pytest.raises(elsewhere.exceptions.ResourceNotFoundException):
        elsewhere.describe_logging_options()


def test_bad_logging_level_is_invalid(server: RunningServer) -> None:
    from tests.conftest import make_client

    client = make_client(server, "iotevents", validate=False)
    with pytest.raises(client.exceptions.InvalidRequestException) as caught:
        client.put_logging_options(loggingOptions={**OPTIONS, "level": "LOUD"})
    assert "'loggingOptions.level'" in error_of(caught)[1]
