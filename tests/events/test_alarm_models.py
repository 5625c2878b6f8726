"""Alarm models over HTTP with stock boto3: create, versions, describe, list, delete, tags,
routing, and the validation that refuses a model that could never work."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.events.alarm_support import (
    alarm_request,
    create_alarm_model,
    create_temperature_input,
)
from tests.events.test_control_support import (
    ACCOUNT,
    ROLE_ARN,
    advance_clock,
    create_motor_model,
    create_pressure_input,
    error_of,
    other_account_client,
    unique,
)

NOTIFICATION = {
    "notificationActions": [
        {
            "action": {"lambdaAction": {"functionArn": "arn:aws:lambda:us-east-1:1:function:n"}},
            "emailConfigurations": [
                {
                    "from": "alarms@example.com",
                    "content": {"subject": "Too hot", "additionalMessage": "Check the fan"},
                    "recipients": {"to": [{"ssoIdentity": {"identityStoreId": "d-1"}}]},
                }
            ],
        }
    ]
}


def _routings(client: Any, input_name: str) -> list[dict[str, str]]:
    response = client.list_input_routings(
        inputIdentifier={"iotEventsInputIdentifier": {"inputName": input_name}}
    )
    return list(response["routedResources"])


# ----- create, describe -----------------------------------------------------------------------


def test_create_answers_activating_version_1(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    request = alarm_request(input_name, severity=2)
    name = request["alarmModelName"]
    response = iotevents.create_alarm_model(**request)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["alarmModelArn"] == f"arn:aws:iotevents:us-east-1:{ACCOUNT}:alarmModel/{name}"
    assert response["alarmModelVersion"] == "1"
    assert response["status"] == "ACTIVATING"
    assert response["creationTime"] == response["lastUpdateTime"]


def test_describe_echoes_the_model_as_given_and_active(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    actions = [{"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:alarms"}}]
    request = alarm_request(
        input_name,
        alarmModelDescription="Too hot",
        severity=3,
        actions=actions,
        alarmNotification=copy.deepcopy(NOTIFICATION),
    )
    created = iotevents.create_alarm_model(**request)
    described = iotevents.describe_alarm_model(alarmModelName=request["alarmModelName"])
    described.pop("ResponseMetadata")
    assert described == {
        "creationTime": created["creationTime"],
        "alarmModelArn": created["alarmModelArn"],
        "alarmModelVersion": "1",
        "lastUpdateTime": created["lastUpdateTime"],
        "status": "ACTIVE",
        "alarmModelName": request["alarmModelName"],
        "alarmModelDescription": "Too hot",
        "roleArn": ROLE_ARN,
        "key": "deviceId",
        "severity": 3,
        "alarmRule": request["alarmRule"],
        "alarmNotification": NOTIFICATION,
        "alarmEventActions": {"alarmActions": actions},
        "alarmCapabilities": request["alarmCapabilities"],
    }


def test_members_left_out_stay_out(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    name = create_alarm_model(iotevents, input_name, key=None, acknowledge=None, disabled=None)
    described = iotevents.describe_alarm_model(alarmModelName=name)
    for member in ("key", "severity", "alarmCapabilities", "alarmEventActions", "statusMessage"):
        assert member not in described


def test_a_name_is_taken_once(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    name = create_alarm_model(iotevents, input_name)
    with pytest.raises(iotevents.exceptions.ResourceAlreadyExistsException) as caught:
        iotevents.create_alarm_model(**alarm_request(input_name, name))
    assert caught.value.response["resourceId"] == name
    assert caught.value.response["resourceArn"].endswith(f":alarmModel/{name}")
    assert error_of(caught)[2] == 409


def test_unknown_models_and_versions_are_not_found(iotevents: Any) -> None:
    for call in (
        lambda: iotevents.describe_alarm_model(alarmModelName=unique("nope")),
        lambda: iotevents.list_alarm_model_versions(alarmModelName=unique("nope")),
        lambda: iotevents.delete_alarm_model(alarmModelName=unique("nope")),
        lambda: iotevents.update_alarm_model(**_update_request(unique("In"), unique("nope"))),
    ):
        with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
            call()
        assert "does not exist" in error_of(caught)[1]
    input_name = create_temperature_input(iotevents)
    name = create_alarm_model(iotevents, input_name)
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException) as caught:
        iotevents.describe_alarm_model(alarmModelName=name, alarmModelVersion="7")
    assert error_of(caught)[1] == f"Alarm model {name} has no version 7"


def test_another_account_does_not_see_the_model(server: RunningServer, iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    name = create_alarm_model(iotevents, input_name)
    other = other_account_client(server)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.describe_alarm_model(alarmModelName=name)
    names = [s["alarmModelName"] for s in other.list_alarm_models()["alarmModelSummaries"]]
    assert name not in names


# ----- update, versions -----------------------------------------------------------------------


def _update_request(input_name: str, name: str, **extra: Any) -> dict[str, Any]:
    request = alarm_request(input_name, name, threshold="35", **extra)
    for member in ("key", "tags"):
        request.pop(member, None)
    return request


def test_update_makes_a_new_version_and_the_old_one_inactive(
    server: RunningServer, iotevents: Any
) -> None:
    input_name = create_temperature_input(iotevents)
    actions = [{"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:alarms"}}]
    name = create_alarm_model(
        iotevents, input_name, severity=1, alarmModelDescription="first", actions=actions
    )
    advance_clock(server, 1)
    updated = iotevents.update_alarm_model(**_update_request(input_name, name, severity=5))
    assert (updated["alarmModelVersion"], updated["status"]) == ("2", "ACTIVATING")

    latest = iotevents.describe_alarm_model(alarmModelName=name)
    assert (latest["alarmModelVersion"], latest["status"]) == ("2", "ACTIVE")
    assert latest["alarmRule"]["simpleRule"]["threshold"] == "35"
    assert latest["severity"] == 5
    # The key cannot change; members the update leaves out keep their previous values.
    assert latest["key"] == "deviceId"
    assert latest["alarmModelDescription"] == "first"
    assert latest["alarmEventActions"] == {"alarmActions": actions}

    first = iotevents.describe_alarm_model(alarmModelName=name, alarmModelVersion="1")
    assert (first["status"], first["severity"]) == ("INACTIVE", 1)
    assert first["lastUpdateTime"] == updated["creationTime"]

    versions = iotevents.list_alarm_model_versions(alarmModelName=name)
    summaries = versions["alarmModelVersionSummaries"]
    assert [(v["alarmModelVersion"], v["status"]) for v in summaries] == [
        ("1", "INACTIVE"),
        ("2", "ACTIVE"),
    ]
    assert set(summaries[1]) == {
        "alarmModelArn",
        "alarmModelVersion",
        "roleArn",
        "alarmModelName",
        "creationTime",
        "lastUpdateTime",
        "status",
    }
    page = iotevents.list_alarm_model_versions(alarmModelName=name, maxResults=1)
    assert [v["alarmModelVersion"] for v in page["alarmModelVersionSummaries"]] == ["1"]
    rest = iotevents.list_alarm_model_versions(
        alarmModelName=name, maxResults=1, nextToken=page["nextToken"]
    )
    assert [v["alarmModelVersion"] for v in rest["alarmModelVersionSummaries"]] == ["2"]


def test_an_empty_action_list_removes_the_actions(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    actions = [{"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:alarms"}}]
    name = create_alarm_model(iotevents, input_name, actions=actions)
    iotevents.update_alarm_model(**_update_request(input_name, name, actions=[]))
    latest = iotevents.describe_alarm_model(alarmModelName=name)
    assert latest["alarmEventActions"] == {"alarmActions": []}


# ----- list, delete ---------------------------------------------------------------------------


def test_list_alarm_models_pages_in_creation_order(server: RunningServer) -> None:
    from tests.events.test_control_support import regional_client

    client = regional_client(server)
    input_name = create_temperature_input(client)
    names = [
        create_alarm_model(client, input_name, alarmModelDescription=f"model {n}") for n in range(3)
    ]
    create_alarm_model(client, input_name, name=unique("plain"))
    summaries = client.list_alarm_models()["alarmModelSummaries"]
    assert [s["alarmModelName"] for s in summaries][:3] == names
    assert summaries[0]["alarmModelDescription"] == "model 0"
    assert "alarmModelDescription" not in summaries[3]
    assert set(summaries[0]) == {"alarmModelName", "alarmModelDescription", "creationTime"}
    first = client.list_alarm_models(maxResults=2)
    assert len(first["alarmModelSummaries"]) == 2
    rest = client.list_alarm_models(maxResults=2, nextToken=first["nextToken"])
    assert len(rest["alarmModelSummaries"]) == 2
    assert "nextToken" not in rest


def test_delete_removes_the_model_its_versions_and_tags(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    name = create_alarm_model(iotevents, input_name, tags=[{"key": "site", "value": "plant-1"}])
    iotevents.update_alarm_model(**_update_request(input_name, name))
    arn = iotevents.describe_alarm_model(alarmModelName=name)["alarmModelArn"]
    response = iotevents.delete_alarm_model(alarmModelName=name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException):
        iotevents.describe_alarm_model(alarmModelName=name, alarmModelVersion="1")
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException):
        iotevents.list_tags_for_resource(resourceArn=arn)
    # The name is free again, and starts from version 1.
    recreated = iotevents.create_alarm_model(**alarm_request(input_name, name))
    assert recreated["alarmModelVersion"] == "1"


# ----- tags -----------------------------------------------------------------------------------


def test_alarm_models_are_taggable(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    name = create_alarm_model(iotevents, input_name, tags=[{"key": "site", "value": "plant-1"}])
    arn = iotevents.describe_alarm_model(alarmModelName=name)["alarmModelArn"]
    assert iotevents.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "site", "value": "plant-1"}
    ]
    iotevents.tag_resource(resourceArn=arn, tags=[{"key": "owner", "value": "ops"}])
    iotevents.untag_resource(resourceArn=arn, tagKeys=["site"])
    assert iotevents.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "owner", "value": "ops"}
    ]
    with pytest.raises(iotevents.exceptions.InvalidRequestException):
        iotevents.create_alarm_model(
            **alarm_request(input_name, tags=[{"key": "aws:reserved", "value": "x"}])
        )


# ----- routing --------------------------------------------------------------------------------


def test_an_alarm_model_routes_its_rule_inputs_beside_detector_models(iotevents: Any) -> None:
    readings = create_temperature_input(iotevents)
    limits = create_temperature_input(iotevents)
    detector = create_motor_model(iotevents, create_pressure_input(iotevents))
    name = create_alarm_model(iotevents, readings, threshold=f"$input.{limits}.limit")
    arn = iotevents.describe_alarm_model(alarmModelName=name)["alarmModelArn"]
    assert _routings(iotevents, readings) == [{"name": name, "arn": arn}]
    assert _routings(iotevents, limits) == [{"name": name, "arn": arn}]
    assert detector["detectorModelName"] not in {r["name"] for r in _routings(iotevents, limits)}

    # A routed input is in use until its last model is gone.
    with pytest.raises(iotevents.exceptions.ResourceInUseException) as caught:
        iotevents.delete_input(inputName=limits)
    assert name in error_of(caught)[1]
    iotevents.update_alarm_model(**_update_request(readings, name))  # threshold 35: no limits
    assert _routings(iotevents, limits) == []
    iotevents.delete_input(inputName=limits)
    iotevents.delete_alarm_model(alarmModelName=name)
    assert _routings(iotevents, readings) == []


def test_alarm_models_do_not_count_against_detector_models_per_input(iotevents: Any) -> None:
    pressure = create_pressure_input(iotevents)
    for _ in range(10):
        iotevents.create_alarm_model(
            **{
                **alarm_request(pressure, key="motorid"),
                "alarmRule": {
                    "simpleRule": {
                        "inputProperty": f"$input.{pressure}.sensorData.pressure",
                        "comparisonOperator": "GREATER",
                        "threshold": "70",
                    }
                },
            }
        )
    create_motor_model(iotevents, pressure)  # the first detector model on this input


# ----- validation -----------------------------------------------------------------------------

INVALID = [
    (
        "no simple rule",
        lambda i: {"alarmRule": {}},
        "alarmRule must contain a simpleRule",
    ),
    (
        "input property that is no reference",
        lambda i: {"inputProperty": "temperature"},
        "alarmRule.simpleRule.inputProperty must be an input attribute reference such as "
        "$input.<InputName>.<attribute>, not 'temperature'",
    ),
    (
        "input property that is a whole input",
        lambda i: {"inputProperty": f"$input.{i}"},
        "alarmRule.simpleRule.inputProperty must be an input attribute reference",
    ),
    (
        "input property that is an expression",
        lambda i: {"inputProperty": f"$input.{i}.sensor.temperature * 2"},
        "alarmRule.simpleRule.inputProperty must be an input attribute reference",
    ),
    (
        "input that does not exist",
        lambda i: {"inputProperty": "$input.NoSuchInput.sensor.temperature"},
        "alarmRule.simpleRule.inputProperty: Input NoSuchInput does not exist",
    ),
    (
        "attribute the input does not declare",
        lambda i: {"inputProperty": f"$input.{i}.sensor.humidity"},
        "alarmRule.simpleRule.inputProperty: Input {i} does not define the attribute "
        "sensor.humidity",
    ),
    (
        "threshold that is text",
        lambda i: {"threshold": "'hot'"},
        "alarmRule.simpleRule.threshold must be a number or an input attribute reference "
        "such as $input.<InputName>.<attribute>, not ''hot''",
    ),
    (
        "threshold that is a variable",
        lambda i: {"threshold": "$variable.limit"},
        "alarmRule.simpleRule.threshold must be a number or an input attribute reference",
    ),
    (
        "threshold on an input that does not exist",
        lambda i: {"threshold": "$input.NoSuchInput.limit"},
        "alarmRule.simpleRule.threshold: Input NoSuchInput does not exist",
    ),
    (
        "action with two types",
        lambda i: {
            "alarmEventActions": {
                "alarmActions": [
                    {"sns": {"targetArn": "arn:aws:sns:us-east-1:1:t"}},
                    {
                        "sqs": {"queueUrl": "https://sqs/q"},
                        "lambda": {"functionArn": "arn:aws:lambda:us-east-1:1:function:f"},
                    },
                ]
            }
        },
        "alarmEventActions.alarmActions[1] must have exactly one action type",
    ),
    (
        "action without a type",
        lambda i: {"alarmEventActions": {"alarmActions": [{}]}},
        "alarmEventActions.alarmActions[0] must have exactly one action type",
    ),
    (
        "action field that does not parse",
        lambda i: {
            "alarmEventActions": {
                "alarmActions": [
                    {
                        "dynamoDB": {
                            "hashKeyField": "'id'",
                            "hashKeyValue": "'a'",
                            "tableName": "my table",
                        }
                    }
                ]
            }
        },
        "alarmEventActions.alarmActions[0].dynamoDB.tableName: Syntax error at line 1",
    ),
    (
        "empty custom payload",
        lambda i: {
            "alarmEventActions": {
                "alarmActions": [
                    {
                        "sns": {
                            "targetArn": "arn:aws:sns:us-east-1:1:t",
                            "payload": {"contentExpression": " ", "type": "STRING"},
                        }
                    }
                ]
            }
        },
        "alarmEventActions.alarmActions[0].sns.payload.contentExpression: Customized Payloads "
        "must be non-empty",
    ),
    (
        "DynamoDBv2 with a STRING payload",
        lambda i: {
            "alarmEventActions": {
                "alarmActions": [
                    {
                        "dynamoDBv2": {
                            "tableName": "'t'",
                            "payload": {"contentExpression": "'x'", "type": "STRING"},
                        }
                    }
                ]
            }
        },
        "alarmEventActions.alarmActions[0].dynamoDBv2.payload.type must be JSON",
    ),
    (
        "payload reading an input that does not exist",
        lambda i: {
            "alarmEventActions": {
                "alarmActions": [
                    {
                        "sqs": {
                            "queueUrl": "https://sqs/q",
                            "payload": {
                                "contentExpression": "'${$input.Gone.x}'",
                                "type": "STRING",
                            },
                        }
                    }
                ]
            }
        },
        "alarmEventActions.alarmActions[0].sqs.payload.contentExpression: Input Gone does not "
        "exist",
    ),
    (
        "notification without its Lambda",
        lambda i: {"alarmNotification": {"notificationActions": [{"action": {}}]}},
        "alarmNotification.notificationActions[0].action must contain a lambdaAction",
    ),
]


def _invalid_request(input_name: str, change: dict[str, Any]) -> dict[str, Any]:
    request = alarm_request(input_name)
    rule = request["alarmRule"]["simpleRule"]
    for member, value in change.items():
        if member in rule:
            rule[member] = value
        else:
            request[member] = value
    return request


@pytest.mark.parametrize(
    ("case", "change", "message"), INVALID, ids=[case for case, _, _ in INVALID]
)
def test_invalid_alarm_models_are_refused_naming_the_member(
    iotevents: Any, case: str, change: Any, message: str
) -> None:
    input_name = create_temperature_input(iotevents)
    request = _invalid_request(input_name, change(input_name))
    with pytest.raises(iotevents.exceptions.InvalidRequestException) as caught:
        iotevents.create_alarm_model(**request)
    _, text, status = error_of(caught)
    assert status == 400
    assert message.replace("{i}", input_name) in text
    with pytest.raises(iotevents.exceptions.ResourceNotFoundException):
        iotevents.describe_alarm_model(alarmModelName=request["alarmModelName"])
    # An update is validated the same way, and leaves the model as it was.
    name = create_alarm_model(iotevents, input_name)
    update = _invalid_request(input_name, change(input_name))
    update["alarmModelName"] = name
    update.pop("key", None)
    with pytest.raises(iotevents.exceptions.InvalidRequestException) as caught:
        iotevents.update_alarm_model(**update)
    assert message.replace("{i}", input_name) in error_of(caught)[1]
    assert iotevents.describe_alarm_model(alarmModelName=name)["alarmModelVersion"] == "1"


def test_every_problem_is_reported_at_once(iotevents: Any) -> None:
    input_name = create_temperature_input(iotevents)
    request = _invalid_request(
        input_name, {"inputProperty": "$input.Gone.t", "threshold": "$variable.x"}
    )
    with pytest.raises(iotevents.exceptions.InvalidRequestException) as caught:
        iotevents.create_alarm_model(**request)
    message = error_of(caught)[1]
    assert "inputProperty: Input Gone does not exist" in message
    assert "; alarmRule.simpleRule.threshold must be a number" in message


@pytest.mark.parametrize(
    "threshold", ["30", "-5", "30.5", "1e3", "{i}.limit", "{i}.`limit`", "{i}.sensor"]
)
def test_thresholds_that_are_numbers_or_declared_attributes_are_accepted(
    iotevents: Any, threshold: str
) -> None:
    input_name = create_temperature_input(iotevents)
    text = threshold.replace("{i}", f"$input.{input_name}")
    # `sensor` is an object holding the declared sensor.temperature: a declared path's parent
    # is not declared itself.
    if threshold == "{i}.sensor":
        with pytest.raises(iotevents.exceptions.InvalidRequestException):
            create_alarm_model(iotevents, input_name, threshold=text)
        return
    name = create_alarm_model(iotevents, input_name, threshold=text)
    described = iotevents.describe_alarm_model(alarmModelName=name)
    assert described["alarmRule"]["simpleRule"]["threshold"] == text
