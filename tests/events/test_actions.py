"""Every external action delivered to a real peer, checked by reading back what arrived.

moto (a real server process) stands in for SNS, SQS, Firehose/S3 and DynamoDB; local HTTP
stubs for Lambda (moto's needs docker) and IoT SiteWise (moto has none); Mosquitto on
127.0.0.1:1883 for iotTopicPublish.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import suppress
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.peers import (
    MotoServer,
    MqttSubscription,
    RecordedRequest,
    StubHttpServer,
    StubResponse,
    aws_environment,
    free_port,
    moto_server_fixture,
    unique_topic,
)
from thinghub.config import ConfigError, Settings
from thinghub.events.actions import ActionDelivery, ActionSinks, DeliveryError, payload_text

moto = moto_server_fixture()

EVENT_TIME_MS = 1558129816420
ACCOUNT = "123456789012"  # moto's default account


def default_payload() -> dict[str, Any]:
    """The spec 7.3 document, with the exact-number variables the runtime produces."""
    return {
        "eventTime": EVENT_TIME_MS,
        "payload": {
            "actionExecutionId": "5d7444df-a655-3587-a609-dbd7a0f55267",
            "detector": {
                "detectorModelName": "motorDetectorModel",
                "keyValue": "Fulton-A32",
                "detectorModelVersion": "1",
            },
            "eventTriggerDetails": {
                "inputName": "PressureInput",
                "messageId": "00001",
                "triggerType": "Message",
            },
            "state": {
                "stateName": "Dangerous",
                "variables": {
                    "pressureThresholdBreached": 3,
                    "rangeHigh": Decimal("30.0"),
                    "fahrenheit": Decimal("50.018"),
                    "alarmed": True,
                },
                "timers": {},
            },
        },
        "eventName": "Pressure Threshold Breached",
    }


DEFAULT_TEXT = (
    '{"eventTime":1558129816420,"payload":{"actionExecutionId":'
    '"5d7444df-a655-3587-a609-dbd7a0f55267","detector":{"detectorModelName":'
    '"motorDetectorModel","keyValue":"Fulton-A32","detectorModelVersion":"1"},'
    '"eventTriggerDetails":{"inputName":"PressureInput","messageId":"00001",'
    '"triggerType":"Message"},"state":{"stateName":"Dangerous","variables":'
    '{"pressureThresholdBreached":3,"rangeHigh":30.0,"fahrenheit":50.018,"alarmed":true},'
    '"timers":{}}},"eventName":"Pressure Threshold Breached"}'
)


def action(
    kind: str, fields: dict[str, Any], payload: Any = None, payload_type: str = "JSON"
) -> ActionDelivery:
    return ActionDelivery(
        type=kind,
        fields=fields,
        payload=default_payload() if payload is None else payload,
        payload_type=payload_type,
        event_time_ms=EVENT_TIME_MS,
    )


def deliver(delivery: ActionDelivery, settings: Settings | None = None) -> None:
    """One delivery through fresh sinks (each test's environment is its own)."""

    async def run() -> None:
        sinks = ActionSinks(settings or Settings())
        try:
            await sinks.deliver(delivery)
        finally:
            await sinks.close()

    asyncio.run(run())


def delivery_error(delivery: ActionDelivery, settings: Settings | None = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        deliver(delivery, settings)
    return caught.value


@pytest.fixture
def aws(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    """boto3's standard chain pointed at moto; a session for the test's own checks."""
    aws_environment(monkeypatch, moto.url)
    yield boto3.session.Session()
    moto.reset()


# ----- payload text and the outbox form -------------------------------------------------------


def test_payload_text_is_compact_json_with_exact_numbers_or_the_custom_text() -> None:
    assert payload_text(action("sns", {})) == DEFAULT_TEXT
    custom = action("sns", {}, "Temperature 50.018 in Fahrenheit", "STRING")
    assert payload_text(custom) == "Temperature 50.018 in Fahrenheit"
    text = '{"sensor_id":"Sensor_1","temperature":"50.018"}'
    assert payload_text(action("sns", {}, text)) == text


def test_delivery_survives_the_outbox_as_json_text_with_exact_decimals() -> None:
    delivery = ActionDelivery(
        type="iotSiteWise",
        fields={
            "value.doubleValue": Decimal("50.0180"),
            "assetId": "a1",
            "propertyId": "p1",
            "useBase64": True,
            "odd": {"$decimal": "not a number"},
        },
        payload={**default_payload(), "list": [Decimal("1E+3"), 1.5, None, "x"]},
        payload_type="JSON",
        event_time_ms=EVENT_TIME_MS,
    )
    stored = json.dumps(delivery.to_json())
    assert '{"$decimal": "50.0180"}' in stored
    back = ActionDelivery.from_json(json.loads(stored))
    assert back == delivery
    value = back.fields["value.doubleValue"]
    assert isinstance(value, Decimal) and str(value) == "50.0180"
    assert str(back.payload["payload"]["state"]["variables"]["rangeHigh"]) == "30.0"
    assert back.fields["odd"] == {"$decimal": "not a number"}
    assert payload_text(back) == payload_text(delivery)


# ----- SNS, SQS ---------------------------------------------------------------------------


def _queue(aws: boto3.session.Session, name: str) -> tuple[Any, str]:
    sqs = aws.client("sqs")
    return sqs, sqs.create_queue(QueueName=name)["QueueUrl"]


def _receive(sqs: Any, url: str, count: int = 1) -> list[str]:
    """The bodies of `count` messages (or of all that came within a few seconds)."""
    bodies: list[str] = []
    deadline = time.monotonic() + 5
    while len(bodies) < count and time.monotonic() < deadline:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        bodies += [message["Body"] for message in response.get("Messages", [])]
    return bodies


def test_sns_publishes_the_payload_text_to_the_target(aws: boto3.session.Session) -> None:
    sns = aws.client("sns")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    sqs, url = _queue(aws, "alarm-subscriber")
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    deliver(action("sns", {"targetArn": topic}))
    deliver(action("sns", {"targetArn": topic}, "Pressure at 50.018", "STRING"))
    assert sorted(_receive(sqs, url, 2)) == sorted([DEFAULT_TEXT, "Pressure at 50.018"])


@pytest.mark.parametrize("use_base64", [False, True, None])
def test_sqs_sends_the_payload_text_base64_when_asked(
    aws: boto3.session.Session, use_base64: bool | None
) -> None:
    sqs, url = _queue(aws, f"events-{use_base64}")
    fields: dict[str, Any] = {"queueUrl": url}
    if use_base64 is not None:
        fields["useBase64"] = use_base64
    deliver(action("sqs", fields))
    (body,) = _receive(sqs, url)
    expected = DEFAULT_TEXT
    if use_base64:
        expected = base64.b64encode(DEFAULT_TEXT.encode()).decode()
    assert body == expected


def test_aws_section_of_the_config_file_overrides_the_chain(
    aws: boto3.session.Session, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, url = _queue(aws, "configured")
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")  # the config's region wins
    settings = Settings(
        raw={
            "aws": {
                "region": "us-east-1",
                "access_key_id": "from-config",
                "secret_access_key": "from-config",
                "endpoint_url": moto.url,
            }
        }
    )
    deliver(action("sqs", {"queueUrl": url}, "configured", "STRING"), settings)
    assert _receive(sqs, url) == ["configured"]


# ----- Lambda (stub service) ------------------------------------------------------------------

FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:onAlarm"


@pytest.fixture
def lambda_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubHttpServer]:
    with StubHttpServer(lambda request: StubResponse(202)) as stub:
        aws_environment(monkeypatch, None, lambda_=stub.url)
        yield stub


def test_lambda_is_invoked_asynchronously_with_the_payload_as_event(
    lambda_service: StubHttpServer,
) -> None:
    deliver(action("lambda", {"functionArn": FUNCTION_ARN}))
    deliver(action("lambda", {"functionArn": FUNCTION_ARN}, "not json", "STRING"))
    deliver(action("lambda", {"functionArn": FUNCTION_ARN}, '{"a":1.50}', "STRING"))
    first, second, third = lambda_service.requests
    quoted = urllib.parse.quote(FUNCTION_ARN, safe="")
    assert first.method == "POST"
    assert first.path == f"/2015-03-31/functions/{quoted}/invocations"
    assert first.headers["x-amz-invocation-type"] == "Event"
    assert first.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert first.body == DEFAULT_TEXT.encode()
    assert second.body == b'"not json"'  # Lambda takes JSON only: the text as a JSON string
    assert third.body == b'{"a":1.50}'


def test_without_a_region_anywhere_the_calls_use_thinghubs_default(
    lambda_service: StubHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    deliver(action("lambda", {"functionArn": FUNCTION_ARN}))
    (request,) = lambda_service.requests
    assert "/us-east-1/lambda/aws4_request" in request.headers["authorization"]


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (404, "ResourceNotFoundException", False),
        (400, "InvalidRequestContentException", False),
        (429, "TooManyRequestsException", True),
        (500, "ServiceException", True),
    ],
)
def test_lambda_errors_are_classified(
    lambda_service: StubHttpServer, status: int, code: str, retryable: bool
) -> None:
    lambda_service.respond = lambda request: StubResponse.aws_error(status, code, "no")
    error = delivery_error(action("lambda", {"functionArn": FUNCTION_ARN}))
    assert error.retryable is retryable
    assert code in str(error)


# ----- Firehose (moto, delivering to S3) -----------------------------------------------------


@pytest.mark.parametrize("separator", [None, "\n", "\r\n", ","])
def test_firehose_puts_the_payload_followed_by_the_separator(
    aws: boto3.session.Session, separator: str | None
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="records")
    aws.client("firehose").create_delivery_stream(
        DeliveryStreamName="events",
        ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
            "BucketARN": "arn:aws:s3:::records",
            "Prefix": "out/",
        },
    )
    fields: dict[str, Any] = {"deliveryStreamName": "events"}
    if separator is not None:
        fields["separator"] = separator
    deliver(action("firehose", fields, "reading=50.018", "STRING"))
    (record,) = s3.list_objects_v2(Bucket="records", Prefix="out/")["Contents"]
    data = s3.get_object(Bucket="records", Key=record["Key"])["Body"].read()
    assert data == b"reading=50.018" + (separator or "").encode()


def test_firehose_to_a_missing_stream_is_permanent(aws: boto3.session.Session) -> None:
    error = delivery_error(action("firehose", {"deliveryStreamName": "nope"}))
    assert not error.retryable


# ----- DynamoDB -------------------------------------------------------------------------------

_deserialize = TypeDeserializer().deserialize


def _table(aws: boto3.session.Session, name: str, hash_type: str, range_type: str | None) -> Any:
    ddb = aws.client("dynamodb")
    schema = [{"AttributeName": "id", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "id", "AttributeType": hash_type}]
    if range_type is not None:
        schema.append({"AttributeName": "at", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "at", "AttributeType": range_type})
    ddb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb


def _item(ddb: Any, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return None if item is None else {name: _deserialize(value) for name, value in item.items()}


def test_dynamodb_insert_stores_a_json_payload_as_a_map(aws: boto3.session.Session) -> None:
    ddb = _table(aws, "greenhouse", "S", None)
    deliver(
        action(
            "dynamoDB",
            {"tableName": "greenhouse", "hashKeyField": "id", "hashKeyValue": "Fulton-A32"},
        )
    )
    raw = ddb.get_item(TableName="greenhouse", Key={"id": {"S": "Fulton-A32"}})["Item"]
    assert set(raw) == {"id", "payload"}
    assert "M" in raw["payload"]
    variables = raw["payload"]["M"]["payload"]["M"]["state"]["M"]["variables"]["M"]
    assert variables["rangeHigh"] == {"N": "30.0"}
    assert variables["alarmed"] == {"BOOL": True}
    item = _item(ddb, "greenhouse", {"id": {"S": "Fulton-A32"}})
    assert item is not None
    assert json.loads(DEFAULT_TEXT, parse_float=Decimal) == item["payload"]


def test_dynamodb_number_and_range_keys_and_a_string_payload_as_raw_binary(
    aws: boto3.session.Session,
) -> None:
    ddb = _table(aws, "readings", "N", "S")
    fields = {
        "tableName": "readings",
        "hashKeyField": "id",
        "hashKeyValue": Decimal("42.5"),
        "hashKeyType": "NUMBER",
        "rangeKeyField": "at",
        "rangeKeyValue": 1558129816,  # an Integer; the range key type defaults to STRING
        "payloadField": "reading",
    }
    deliver(action("dynamoDB", fields, "50.018 in Fahrenheit", "STRING"))
    item = _item(ddb, "readings", {"id": {"N": "42.5"}, "at": {"S": "1558129816"}})
    assert item is not None
    assert set(item) == {"id", "at", "reading_raw"}
    assert bytes(item["reading_raw"]) == b"50.018 in Fahrenheit"


def test_dynamodb_json_payload_that_does_not_parse_goes_to_raw(
    aws: boto3.session.Session,
) -> None:
    ddb = _table(aws, "broken", "S", None)
    fields = {"tableName": "broken", "hashKeyField": "id", "hashKeyValue": "k"}
    deliver(action("dynamoDB", fields, '{"temperature": ', "JSON"))
    item = _item(ddb, "broken", {"id": {"S": "k"}})
    assert item is not None
    assert bytes(item["payload_raw"]) == b'{"temperature": '


def test_dynamodb_update_sets_only_the_payload_field(aws: boto3.session.Session) -> None:
    ddb = _table(aws, "devices", "S", None)
    ddb.put_item(TableName="devices", Item={"id": {"S": "d1"}, "owner": {"S": "ana"}})
    fields = {
        "tableName": "devices",
        "hashKeyField": "id",
        "hashKeyValue": "d1",
        "operation": "UPDATE",
        "payloadField": "last",
    }
    deliver(action("dynamoDB", fields, '{"temperature": 21.50, "ok": true}'))
    item = _item(ddb, "devices", {"id": {"S": "d1"}})
    assert item == {
        "id": "d1",
        "owner": "ana",
        "last": {"temperature": Decimal("21.50"), "ok": True},
    }


def test_dynamodb_delete_removes_the_item_with_both_keys(aws: boto3.session.Session) -> None:
    ddb = _table(aws, "history", "S", "N")
    for at in ("1", "2"):
        ddb.put_item(TableName="history", Item={"id": {"S": "d1"}, "at": {"N": at}})
    fields = {
        "tableName": "history",
        "hashKeyField": "id",
        "hashKeyValue": "d1",
        "rangeKeyField": "at",
        "rangeKeyValue": "2",
        "rangeKeyType": "NUMBER",
        "operation": "DELETE",
    }
    deliver(action("dynamoDB", fields))
    assert _item(ddb, "history", {"id": {"S": "d1"}, "at": {"N": "2"}}) is None
    assert _item(ddb, "history", {"id": {"S": "d1"}, "at": {"N": "1"}}) is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"tableName": "missing", "hashKeyField": "id", "hashKeyValue": "x"},  # no such table
        {"tableName": "t", "hashKeyField": "id", "hashKeyValue": 1},  # N key given as S
        {"tableName": "t", "hashKeyField": "id", "hashKeyValue": "x", "hashKeyType": "NUMBER"},
        {"tableName": "t", "hashKeyField": "id", "hashKeyValue": "1", "hashKeyType": "BINARY"},
        {"tableName": "t", "hashKeyField": "id", "hashKeyValue": "1", "operation": "UPSERT"},
        {"tableName": "t", "hashKeyField": "id"},  # no key value
    ],
)
def test_dynamodb_faults_of_the_action_are_permanent(
    aws: boto3.session.Session, fields: dict[str, Any]
) -> None:
    _table(aws, "t", "N", None)
    assert not delivery_error(action("dynamoDB", fields)).retryable


def test_dynamodb_v2_stores_each_top_level_field(aws: boto3.session.Session) -> None:
    ddb = _table(aws, "events", "S", None)
    deliver(action("dynamoDBv2", {"tableName": "events"}, '{"id": "e1", "t": 21.50, "n": 3}'))
    deliver(action("dynamoDBv2", {"tableName": "events"}, {**default_payload(), "id": "e2"}))
    assert _item(ddb, "events", {"id": {"S": "e1"}}) == {
        "id": "e1",
        "t": Decimal("21.50"),
        "n": 3,
    }
    item = _item(ddb, "events", {"id": {"S": "e2"}})
    assert item is not None
    assert set(item) == {"id", "eventTime", "payload", "eventName"}
    assert item["payload"]["state"]["variables"]["fahrenheit"] == Decimal("50.018")


@pytest.mark.parametrize(
    ("payload", "payload_type"),
    [("plain text", "STRING"), ("[1, 2]", "JSON"), ("{", "JSON"), ('{"other": 1}', "JSON")],
)
def test_dynamodb_v2_payloads_that_are_not_items_are_permanent(
    aws: boto3.session.Session, payload: str, payload_type: str
) -> None:
    _table(aws, "events", "S", None)
    error = delivery_error(action("dynamoDBv2", {"tableName": "events"}, payload, payload_type))
    assert not error.retryable


# ----- IoT SiteWise (stub service) ------------------------------------------------------------


ASSET_ID = "a8d7c1e2-0f4b-4c59-9b1e-3d2f6a7b8c90"  # SiteWise ids are UUIDs
PROPERTY_ID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.fixture
def sitewise(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubHttpServer]:
    with StubHttpServer(lambda request: StubResponse.json(200, {"errorEntries": []})) as stub:
        aws_environment(monkeypatch, None, iotsitewise=stub.url)
        yield stub


def _entry(request: RecordedRequest) -> dict[str, Any]:
    assert request.method == "POST"
    assert request.path == "/properties"
    (entry,) = request.json()["entries"]
    return entry


def test_sitewise_defaults_timestamp_quality_and_entry_id(sitewise: StubHttpServer) -> None:
    fields = {
        "assetId": ASSET_ID,
        "propertyId": PROPERTY_ID,
        "value.doubleValue": Decimal("50.018"),
    }
    deliver(action("iotSiteWise", fields))
    (request,) = sitewise.requests
    host = request.headers["host"]
    assert host == sitewise.url.removeprefix("http://")  # no "data." host prefix locally
    entry = _entry(request)
    assert str(uuid.UUID(entry.pop("entryId"))) != ""
    assert entry == {
        "assetId": ASSET_ID,
        "propertyId": PROPERTY_ID,
        "propertyValues": [
            {
                "value": {"doubleValue": 50.018},
                "timestamp": {"timeInSeconds": 1558129816, "offsetInNanos": 420000000},
                "quality": "GOOD",
            }
        ],
    }


@pytest.mark.parametrize(
    ("member", "value", "wire"),
    [
        ("booleanValue", "TRUE", True),
        ("booleanValue", "FALSE", False),
        ("integerValue", Decimal("30.0"), 30),
        ("integerValue", "12", 12),
        ("stringValue", Decimal("50.018"), "50.018"),
        ("doubleValue", 7, 7.0),
    ],
)
def test_sitewise_value_is_typed_by_its_member(
    sitewise: StubHttpServer, member: str, value: Any, wire: Any
) -> None:
    fields = {
        "entryId": "entry-7",
        "propertyAlias": "/plant/line1/temperature",
        f"value.{member}": value,
        "timestamp.timeInSeconds": "1700000000",
        "timestamp.offsetInNanos": 5,
        "quality": "UNCERTAIN",
    }
    deliver(action("iotSiteWise", fields))
    (request,) = sitewise.requests
    (value_sent,) = _entry(request)["propertyValues"]
    assert _entry(request)["entryId"] == "entry-7"
    assert _entry(request)["propertyAlias"] == "/plant/line1/temperature"
    assert value_sent == {
        "value": {member: wire},
        "timestamp": {"timeInSeconds": 1700000000, "offsetInNanos": 5},
        "quality": "UNCERTAIN",
    }
    assert type(value_sent["value"][member]) is type(wire)


@pytest.mark.parametrize(
    ("code", "retryable"),
    [("ThrottlingException", True), ("ResourceNotFoundException", False)],
)
def test_sitewise_entry_errors_fail_the_delivery(
    sitewise: StubHttpServer, code: str, retryable: bool
) -> None:
    answer = {
        "errorEntries": [
            {"entryId": "e", "errors": [{"errorCode": code, "errorMessage": "m", "timestamps": []}]}
        ]
    }
    sitewise.respond = lambda request: StubResponse.json(200, answer)
    fields = {"entryId": "e", "propertyAlias": "/a", "value.integerValue": 1}
    error = delivery_error(action("iotSiteWise", fields))
    assert error.retryable is retryable
    assert code in str(error)


@pytest.mark.parametrize(
    "fields",
    [
        {"assetId": "a", "value.integerValue": 1},  # no propertyId
        {"propertyAlias": "/a"},  # no value
        {"propertyAlias": "/a", "value.integerValue": 1, "value.stringValue": "1"},
        {"propertyAlias": "/a", "value.integerValue": Decimal("1.5")},
        {"propertyAlias": "/a", "value.booleanValue": "yes"},
    ],
)
def test_sitewise_invalid_actions_are_permanent_and_send_nothing(
    sitewise: StubHttpServer, fields: dict[str, Any]
) -> None:
    assert not delivery_error(action("iotSiteWise", fields)).retryable
    assert sitewise.requests == []


def test_sitewise_throttled_request_is_retryable(sitewise: StubHttpServer) -> None:
    sitewise.respond = lambda request: StubResponse.aws_error(429, "ThrottlingException", "slow")
    fields = {"propertyAlias": "/a", "value.integerValue": 1}
    assert delivery_error(action("iotSiteWise", fields)).retryable


# ----- MQTT (Mosquitto) -----------------------------------------------------------------------


def test_iot_topic_publish_reaches_the_broker_at_qos_1() -> None:
    topic = unique_topic()
    with MqttSubscription(topic) as subscription:

        async def run() -> None:
            sinks = ActionSinks(Settings(raw={"mqtt": {"client_id": "thinghub-test-actions"}}))
            try:
                await sinks.deliver(action("iotTopicPublish", {"mqttTopic": topic}))
                await sinks.deliver(
                    action("iotTopicPublish", {"mqttTopic": topic}, "Heating/Off", "STRING")
                )
            finally:
                await sinks.close()

        asyncio.run(run())
        first, second = subscription.messages(2)
    assert (first.topic, first.payload, first.qos) == (topic, DEFAULT_TEXT.encode(), 1)
    assert (second.topic, second.payload) == (topic, b"Heating/Off")


def test_iot_topic_publish_many_concurrent_deliveries_each_wait_for_their_puback() -> None:
    topic = unique_topic()
    texts = [f"message {n}" for n in range(50)]
    with MqttSubscription(topic) as subscription:

        async def run() -> None:
            sinks = ActionSinks(Settings())
            try:
                await asyncio.gather(
                    *(
                        sinks.deliver(action("iotTopicPublish", {"mqttTopic": topic}, t, "STRING"))
                        for t in texts
                    )
                )
            finally:
                await sinks.close()

        asyncio.run(run())
        received = subscription.messages(len(texts))
    assert sorted(message.payload.decode() for message in received) == sorted(texts)


def test_iot_topic_publish_with_wildcards_is_permanent() -> None:
    error = delivery_error(action("iotTopicPublish", {"mqttTopic": "a/#"}, "x", "STRING"))
    assert not error.retryable


def test_iot_topic_publish_to_a_broker_that_refuses_is_retryable() -> None:
    settings = Settings(raw={"mqtt": {"port": free_port(), "connect_timeout": 0.5}})
    error = delivery_error(action("iotTopicPublish", {"mqttTopic": "t"}, "x", "STRING"), settings)
    assert error.retryable


class FakeBroker:
    """Just enough of an MQTT 3.1.1 broker to misbehave on purpose: it can withhold PUBACKs
    and drop every connection (which Mosquitto, shared by all tests, must not be asked to)."""

    def __init__(self) -> None:
        self.acknowledge = True
        self.published: list[tuple[str, bytes]] = []
        self.connections = 0
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def settings(self, **mqtt: Any) -> Settings:
        return Settings(raw={"mqtt": {"port": self.port, "connect_timeout": 5, **mqtt}})

    def drop_connections(self) -> None:
        for sock in self._sockets:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()

    def close(self) -> None:
        self.drop_connections()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with suppress(OSError, ValueError):
            stream = sock.makefile("rb")
            while True:
                kind, body = self._packet(stream)
                if kind == 0x1:  # CONNECT
                    self.connections += 1
                    sock.sendall(b"\x20\x02\x00\x00")  # CONNACK, accepted
                elif kind == 0x3:  # PUBLISH, QoS 1: topic, packet id, payload
                    size = int.from_bytes(body[:2], "big")
                    topic, packet_id = body[2 : 2 + size].decode(), body[2 + size : 4 + size]
                    self.published.append((topic, body[4 + size :]))
                    if self.acknowledge:
                        sock.sendall(b"\x40\x02" + packet_id)  # PUBACK
                elif kind == 0xC:  # PINGREQ
                    sock.sendall(b"\xd0\x00")
                elif kind == 0xE:  # DISCONNECT
                    return

    @staticmethod
    def _packet(stream: Any) -> tuple[int, bytes]:
        header = stream.read(1)
        if not header:
            raise ValueError("closed")
        length, shift = 0, 0
        while True:
            byte = stream.read(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return header[0] >> 4, stream.read(length)


@pytest.fixture
def broker() -> Iterator[FakeBroker]:
    fake = FakeBroker()
    yield fake
    fake.close()


def test_iot_topic_publish_without_puback_is_retryable(broker: FakeBroker) -> None:
    broker.acknowledge = False
    settings = broker.settings(publish_timeout=0.3)
    error = delivery_error(action("iotTopicPublish", {"mqttTopic": "t"}, "x", "STRING"), settings)
    assert error.retryable and "PUBACK" in str(error)
    assert broker.published[0] == ("t", b"x")


def test_iot_topic_publish_reconnects_after_the_connection_drops(broker: FakeBroker) -> None:
    async def run() -> None:
        sinks = ActionSinks(broker.settings())
        try:
            await sinks.deliver(action("iotTopicPublish", {"mqttTopic": "a"}, "one", "STRING"))
            broker.drop_connections()
            await sinks.deliver(action("iotTopicPublish", {"mqttTopic": "b"}, "two", "STRING"))
        finally:
            await sinks.close()

    asyncio.run(run())
    assert broker.published == [("a", b"one"), ("b", b"two")]
    assert broker.connections == 2


# ----- classification and dispatch --------------------------------------------------------


def test_sqs_missing_queue_is_permanent(aws: boto3.session.Session, moto: MotoServer) -> None:
    url = f"{moto.url}/{ACCOUNT}/no-such-queue"
    error = delivery_error(action("sqs", {"queueUrl": url}))
    assert not error.retryable
    assert "NonExistentQueue" in str(error) or "QueueDoesNotExist" in str(error)


def test_a_peer_that_refuses_connections_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    aws_environment(monkeypatch, None, sqs=closed, sns=closed)
    url = f"{closed}/{ACCOUNT}/q"
    assert delivery_error(action("sqs", {"queueUrl": url})).retryable
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:t"
    assert delivery_error(action("sns", {"targetArn": topic})).retryable


def test_missing_required_fields_are_permanent(monkeypatch: pytest.MonkeyPatch) -> None:
    aws_environment(monkeypatch, f"http://127.0.0.1:{free_port()}")
    for kind in ("sns", "sqs", "lambda", "firehose", "dynamoDB", "dynamoDBv2", "iotTopicPublish"):
        assert not delivery_error(action(kind, {})).retryable, kind


@pytest.mark.parametrize("kind", ["iotEvents", "email"])
def test_iot_events_and_unknown_types_are_not_delivered_here(kind: str) -> None:
    with pytest.raises(ValueError, match=kind):
        deliver(action(kind, {"inputName": "in"}))


@pytest.mark.parametrize(
    "raw",
    [
        {"mqtt": {"port": "1883"}},
        {"mqtt": {"tls": "yes"}},
        {"mqtt": {"keepalive": True}},
        {"aws": {"region": 1}},
        {"aws": {"access_key_id": "only-the-id"}},
        {"aws": "us-east-1"},
    ],
)
def test_bad_config_sections_fail_at_construction(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        ActionSinks(Settings(raw=raw))
