"""External actions through the whole runtime: message in, evaluation, outbox, real peer.

A dedicated thinghub per module points boto3's chain at moto (SNS, SQS, DynamoDB) and Lambda
at a local stub that the tests can take down and bring back; iotTopicPublish goes to the
Mosquitto broker on 127.0.0.1:1883. What arrives is read back from the peers.
"""

from __future__ import annotations

import base64
import json
import signal
import sqlite3
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.conftest import RunningServer, make_client
from tests.events.harness import (
    advance,
    clock_now,
    create_input,
    detector_model,
    event,
    message,
    send,
    set_timer,
    snapshot,
    state,
    transition,
    unique,
    wait_for,
)
from tests.events.motor import motor_model, pressure_input
from tests.events.peered import SqsInbox, moto_client, start_peered_server
from tests.peers import (
    MotoServer,
    MqttSubscription,
    RecordedRequest,
    free_port,
    moto_server_fixture,
    unique_topic,
)

moto = moto_server_fixture(scope="module")

ACCOUNT = "123456789012"  # moto's default account
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:onAlarm"
SPEC_EVENT_TIME = 1558129816420  # the spec 7.3 sample's eventTime, sent as the message timestamp


class LambdaStub:
    """Lambda's Invoke on a fixed local port, which can be down (connection refused) and come
    back on the same port; every invocation is recorded and answered 202 (async accepted)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None

    def up(self) -> None:
        if self._server is not None:
            return
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                headers = {name.lower(): value for name, value in self.headers.items()}
                recorded.append(
                    RecordedRequest("POST", self.path, headers, self.rfile.read(length))
                )
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, key: str) -> list[dict[str, Any]]:
        """The invocations' events (payloads) sent by detector `key`."""
        found = [json.loads(request.body) for request in self.requests]
        return [e for e in found if e["payload"]["detector"].get("keyValue") == key]


@pytest.fixture(scope="module")
def lambda_stub() -> Iterator[LambdaStub]:
    stub = LambdaStub()
    yield stub
    stub.down()


@pytest.fixture(scope="module")
def peered(
    moto: MotoServer, lambda_stub: LambdaStub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    server = start_peered_server(
        tmp_path_factory.mktemp("peered"), moto.url, lambda_=lambda_stub.url
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def control(peered: RunningServer) -> Any:
    return make_client(peered, "iotevents")


@pytest.fixture(scope="module")
def data(peered: RunningServer) -> Any:
    return make_client(peered, "iotevents-data")


def _pressure_input(control: Any) -> str:
    return create_input(control, unique("Pressure"), "motorid", "sensorData.pressure")


def _alarm_model(control: Any, name: str, *actions: dict[str, Any]) -> str:
    """A model on input `name` that runs `actions` on every reading over 70."""
    model = unique("alarm")
    control.create_detector_model(
        **detector_model(
            model,
            "Watching",
            [
                state(
                    "Watching",
                    on_input=[event("alarm", f"$input.{name}.sensorData.pressure > 70", *actions)],
                )
            ],
            key="motorid",
        )
    )
    return model


def _reading(motor: str, pressure: int) -> dict[str, Any]:
    return {"motorid": motor, "sensorData": {"pressure": pressure, "temperature": 39}}


def _pending_attempts(data_dir: Path) -> list[int]:
    """The failure counts of the undelivered action items in thinghub's outbox."""
    with sqlite3.connect(data_dir / "thinghub.db") as db:
        rows = db.execute("SELECT attempts FROM outbox WHERE channel = 'iotevents-action'")
        return [row[0] for row in rows]


# ----- the default payload (spec 7.3) -----------------------------------------------------------


def test_motor_example_sns_payloads_are_the_documented_default_payload(
    moto: MotoServer, control: Any, data: Any
) -> None:
    # This module's thinghub is its own: the guide's names and message id, verbatim.
    sns, sqs = moto_client(moto.url, "sns"), moto_client(moto.url, "sqs")
    inboxes = {}
    for topic in ("underPressureAction", "pressureCleared"):
        arn = sns.create_topic(Name=topic)["TopicArn"]
        inboxes[topic] = SqsInbox.create(sqs, f"{topic}-subscriber")
        inboxes[topic].subscribe_to(sns, arn)
    input_name, model = "PressureInput", "motorDetectorModel"
    control.create_input(**pressure_input(input_name))
    control.create_detector_model(
        **motor_model(
            model,
            input_name,
            f"arn:aws:sns:us-east-1:{ACCOUNT}:underPressureAction",
            f"arn:aws:sns:us-east-1:{ACCOUNT}:pressureCleared",
        )
    )
    send(data, input_name, _reading("Fulton-A32", 80), message_id="00001", time_ms=SPEC_EVENT_TIME)

    (text,) = inboxes["underPressureAction"].wait()
    sent = json.loads(text)
    execution_id = sent["payload"]["actionExecutionId"]
    assert str(uuid.UUID(execution_id)) == execution_id
    # Field for field, value types and key order as documented.
    expected = {
        "eventTime": SPEC_EVENT_TIME,
        "payload": {
            "actionExecutionId": execution_id,
            "detector": {
                "detectorModelName": model,
                "keyValue": "Fulton-A32",
                "detectorModelVersion": "1",
            },
            "eventTriggerDetails": {
                "inputName": input_name,
                "messageId": "00001",
                "triggerType": "Message",
            },
            "state": {
                "stateName": "Dangerous",
                "variables": {"pressureThresholdBreached": 3},
                "timers": {},
            },
        },
        "eventName": "Pressure Threshold Breached",
    }
    assert sent == expected
    assert json.dumps(sent) == json.dumps(expected)  # the same key order at every level
    assert '"pressureThresholdBreached":3' in text.replace(" ", "")  # an Integer, not 3.0

    # Back under 70 three times: BackToNormal, whose onExit reports from the OLD state with
    # the value `Pressure Okay` wrote in the same evaluation.
    for number in (2, 3, 4):
        send(data, input_name, _reading("Fulton-A32", 60), message_id=f"0000{number}")
    assert snapshot(data, model, "Fulton-A32") == ("Normal", {"pressureThresholdBreached": "0"})
    (text,) = inboxes["pressureCleared"].wait()
    cleared = json.loads(text)
    assert cleared["eventName"] == "Normal Pressure Restored"
    assert json.dumps(cleared["payload"]["state"]) == json.dumps(
        {"stateName": "Dangerous", "variables": {"pressureThresholdBreached": 0}, "timers": {}}
    )
    assert cleared["payload"]["eventTriggerDetails"]["messageId"] == "00004"
    assert isinstance(cleared["eventTime"], int)
    assert inboxes["underPressureAction"].drain() == [inboxes["underPressureAction"].bodies[0]]


def test_default_payload_of_a_timer_trigger_names_the_timer(
    moto: MotoServer, peered: RunningServer, control: Any, data: Any
) -> None:
    inbox = SqsInbox.create(moto_client(moto.url, "sqs"), unique("timer-events"))
    name = _pressure_input(control)
    report = {"sqs": {"queueUrl": inbox.url}}
    model = unique("timer_payload")
    control.create_detector_model(
        **detector_model(
            model,
            "Armed",
            [
                state(
                    "Armed",
                    on_enter=[event("arm", "true", set_timer("t", "60"), report)],
                    transitions=[transition("expired", 'timeout("t")', "Expired", report)],
                ),
                state(
                    "Expired",
                    transitions=[transition("again", f"$input.{name}.motorid == 'x'", "Armed")],
                ),
            ],
            key="motorid",
        )
    )
    due_ms = (clock_now(peered) + 60) * 1000
    send(data, name, _reading("t1", 10))
    (armed,) = inbox.wait()
    # Timers in the default payload: name -> expiry in epoch milliseconds (spec 6, Recommended).
    assert list(json.loads(armed)["payload"]["state"]["timers"]) == ["t"]
    assert json.loads(armed)["payload"]["state"]["timers"]["t"] == pytest.approx(due_ms, abs=1)
    advance(peered, 60)
    _, expired = inbox.wait(count=2)
    document = json.loads(expired)
    assert document["eventName"] == "expired"
    assert document["eventTime"] == pytest.approx(due_ms, abs=1)  # the expiry time
    assert document["payload"]["eventTriggerDetails"] == {"triggerType": "Timer", "timerName": "t"}
    assert document["payload"]["state"] == {"stateName": "Armed", "variables": {}, "timers": {}}


# ----- MQTT ---------------------------------------------------------------------------------


def test_iot_topic_publish_with_a_topic_expression_and_a_plain_topic(
    control: Any, data: Any
) -> None:
    plain = f"{unique_topic('thinghub-e2e')}/Heating/Off"  # a literal topic, as AWS examples
    motor = f"m{uuid.uuid4().hex[:12]}"
    name = _pressure_input(control)
    custom = {
        "contentExpression": f"'Heating off for ${{$input.{name}.motorid}}'",
        "type": "STRING",
    }
    model = _alarm_model(
        control,
        name,
        # spec 5.9: a string expression with a reference is evaluated
        {"iotTopicPublish": {"mqttTopic": f"'motors/${{$input.{name}.motorid}}/alarm'"}},
        {"iotTopicPublish": {"mqttTopic": plain}},
        {"iotTopicPublish": {"mqttTopic": plain, "payload": custom}},
    )
    with (
        MqttSubscription(f"motors/{motor}/alarm") as by_expression,
        MqttSubscription(plain) as by_literal,
    ):
        send(data, name, _reading(motor, 80))
        (alarm,) = by_expression.messages(1)
        first, second = by_literal.messages(2)
    assert (alarm.topic, alarm.qos) == (f"motors/{motor}/alarm", 1)
    document = json.loads(alarm.payload)
    assert document["eventName"] == "alarm"
    assert document["payload"]["detector"] == {
        "detectorModelName": model,
        "keyValue": motor,
        "detectorModelVersion": "1",
    }
    # One detector's actions are delivered in order: the default payload, then the custom one.
    assert json.loads(first.payload)["payload"]["state"]["stateName"] == "Watching"
    assert second.payload == f"Heating off for {motor}".encode()


# ----- SQS, custom payloads -------------------------------------------------------------------


def test_sqs_base64_and_custom_string_and_json_payloads(
    moto: MotoServer, control: Any, data: Any
) -> None:
    inbox = SqsInbox.create(moto_client(moto.url, "sqs"), unique("events"))
    name = _pressure_input(control)
    pressure, motor = f"$input.{name}.sensorData.pressure", f"$input.{name}.motorid"
    as_text = {"contentExpression": f"'Pressure ${{{pressure}}} on ${{{motor}}}'", "type": "STRING"}
    as_json = {"contentExpression": '\'{\\"p\\": ${' + pressure + "}}'", "type": "JSON"}
    _alarm_model(
        control,
        name,
        {"sqs": {"queueUrl": inbox.url, "useBase64": True}},
        {"sqs": {"queueUrl": inbox.url, "payload": as_text}},
        {"sqs": {"queueUrl": inbox.url, "payload": as_json}},
    )
    send(data, name, _reading("q1", 80))
    bodies = inbox.wait(count=3)
    encoded = next(b for b in bodies if not b.startswith(("Pressure", "{")))
    document = json.loads(base64.b64decode(encoded, validate=True))
    assert document["eventName"] == "alarm"
    assert document["payload"]["detector"]["keyValue"] == "q1"
    assert sorted(b for b in bodies if b != encoded) == ["Pressure 80 on q1", '{"p": 80}']


# ----- Lambda ---------------------------------------------------------------------------------


def test_lambda_is_invoked_asynchronously_with_the_default_payload(
    lambda_stub: LambdaStub, control: Any, data: Any
) -> None:
    lambda_stub.up()
    name = _pressure_input(control)
    model = _alarm_model(control, name, {"lambda": {"functionArn": FUNCTION_ARN}})
    send(data, name, _reading("l1", 80))
    wait_for(lambda: lambda_stub.events("l1") or None)
    (request,) = [
        r
        for r in lambda_stub.requests
        if json.loads(r.body)["payload"]["detector"]["keyValue"] == "l1"
    ]
    quoted = urllib.parse.quote(FUNCTION_ARN, safe="")
    assert request.path == f"/2015-03-31/functions/{quoted}/invocations"
    assert request.headers["x-amz-invocation-type"] == "Event"
    (invoked,) = lambda_stub.events("l1")
    assert invoked["eventName"] == "alarm"
    assert invoked["payload"]["detector"]["detectorModelName"] == model
    assert invoked["payload"]["eventTriggerDetails"]["inputName"] == name


# ----- DynamoDB -------------------------------------------------------------------------------


def test_dynamodb_insert_writes_the_payload_under_the_key(
    moto: MotoServer, control: Any, data: Any
) -> None:
    table = unique("readings")
    ddb = moto_client(moto.url, "dynamodb")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "motorid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "motorid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    name = _pressure_input(control)
    # Every DynamoDB field is an expression (spec 5.9): literals are quoted.
    insert = {
        "tableName": f"'{table}'",
        "hashKeyField": "'motorid'",
        "hashKeyValue": f"$input.{name}.motorid",
    }
    _alarm_model(control, name, {"dynamoDB": insert})
    send(data, name, _reading("d1", 80))

    def stored() -> dict[str, Any] | None:
        item: dict[str, Any] | None = ddb.get_item(
            TableName=table, Key={"motorid": {"S": "d1"}}
        ).get("Item")
        return item

    deserialize = TypeDeserializer().deserialize
    row = {attribute: deserialize(value) for attribute, value in wait_for(stored).items()}
    assert set(row) == {"motorid", "payload"}  # INSERT: the key, and the whole payload
    assert row["payload"]["eventName"] == "alarm"
    assert row["payload"]["payload"]["detector"]["keyValue"] == "d1"
    assert row["payload"]["payload"]["state"]["stateName"] == "Watching"


# ----- durability: outages and restarts ---------------------------------------------------------


def test_deliveries_are_retried_while_the_peer_is_down_and_none_is_lost(
    lambda_stub: LambdaStub, peered: RunningServer, control: Any, data: Any
) -> None:
    lambda_stub.down()
    name = _pressure_input(control)
    _alarm_model(control, name, {"lambda": {"functionArn": FUNCTION_ARN}})
    motors = [f"outage-{n}" for n in range(3)]
    data.batch_put_message(messages=[message(name, _reading(m, 90)) for m in motors])

    # Each detector's invocation failed (connection refused) and is owed, to be retried.
    wait_for(lambda: sum(a > 0 for a in _pending_attempts(peered.data_dir)) >= 3 or None)
    assert not any(lambda_stub.events(m) for m in motors)
    lambda_stub.up()
    for motor in motors:
        wait_for(lambda motor=motor: lambda_stub.events(motor) or None, timeout=15)
    assert [len(lambda_stub.events(m)) for m in motors] == [1, 1, 1]


def test_an_action_pending_across_a_restart_is_delivered_afterwards(tmp_path: Path) -> None:
    stub = LambdaStub()  # down for now
    running = start_peered_server(tmp_path, None, lambda_=stub.url)
    try:
        control = make_client(running, "iotevents")
        name = _pressure_input(control)
        model = _alarm_model(control, name, {"lambda": {"functionArn": FUNCTION_ARN}})
        send(make_client(running, "iotevents-data"), name, _reading("r1", 99))
        wait_for(lambda: any(_pending_attempts(tmp_path)) or None)
    finally:
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(15) == 0
    assert _pending_attempts(tmp_path) != []  # still owed after the shutdown

    stub.up()
    restarted = start_peered_server(tmp_path, None, lambda_=stub.url)
    try:
        (invoked,) = wait_for(lambda: stub.events("r1") or None, timeout=15)
        assert invoked["payload"]["detector"]["detectorModelName"] == model
        wait_for(lambda: _pending_attempts(tmp_path) == [] or None)
    finally:
        restarted.stop()
        stub.down()
