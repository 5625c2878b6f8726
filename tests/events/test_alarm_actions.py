"""Alarm actions (alarmEventActions) through the whole runtime: a state change, the outbox, a
real peer. A dedicated thinghub points boto3's chain at moto (SNS, SQS); iotTopicPublish goes
to the Mosquitto broker on 127.0.0.1:1883; iotEvents comes back into thinghub's own engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RunningServer, make_client
from tests.events.alarm_support import (
    command,
    create_alarm_model,
    create_temperature_input,
    reading,
    state_of,
)
from tests.events.harness import (
    advance,
    clock_now,
    detector_model,
    event,
    keys,
    set_var,
    snapshot,
    state,
    unique,
    wait_for,
)
from tests.events.peered import SqsInbox, moto_client, start_peered_server
from tests.peers import MotoServer, MqttSubscription, moto_server_fixture, unique_topic

moto = moto_server_fixture(scope="module")

ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(scope="module")
def peered(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_peered_server(tmp_path_factory.mktemp("alarm-actions"), moto.url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def control(peered: RunningServer) -> Any:
    return make_client(peered, "iotevents")


@pytest.fixture(scope="module")
def data(peered: RunningServer) -> Any:
    return make_client(peered, "iotevents-data")


def _topic_inbox(moto: MotoServer) -> tuple[str, SqsInbox]:
    """An SNS topic and a queue that receives what is published to it, unwrapped."""
    sns, sqs = moto_client(moto.url, "sns"), moto_client(moto.url, "sqs")
    topic = sns.create_topic(Name=unique("alarms"))["TopicArn"]
    inbox = SqsInbox.create(sqs, unique("alarm-subscriber"))
    inbox.subscribe_to(sns, topic)
    return topic, inbox


def test_sns_gets_the_default_payload_on_every_state_change(
    moto: MotoServer, peered: RunningServer, control: Any, data: Any
) -> None:
    topic, inbox = _topic_inbox(moto)
    temperature = create_temperature_input(control)
    model = create_alarm_model(
        control, temperature, severity=3, actions=[{"sns": {"targetArn": topic}}]
    )
    reading(data, temperature, 20)  # created NORMAL: no change, nothing sent
    reading(data, temperature, 40, message_id="reading-40", time_ms=1558129816420)
    (text,) = inbox.wait()
    sent = json.loads(text)
    expected = {
        "eventTime": 1558129816420,  # the message's timestamp
        "payload": {
            "alarmModelName": model,
            "alarmModelVersion": "1",
            "keyValue": "d1",
            "severity": 3,
            "alarmState": {
                "stateName": "ACTIVE",
                "ruleEvaluation": {
                    "simpleRuleEvaluation": {
                        "inputPropertyValue": "40",
                        "operator": "GREATER",
                        "thresholdValue": "30",
                    }
                },
            },
            "stateUpdateTime": sent["payload"]["stateUpdateTime"],
        },
    }
    assert sent == expected
    assert json.dumps(sent) == json.dumps(expected)  # the same key order at every level
    assert sent["payload"]["stateUpdateTime"] == pytest.approx(clock_now(peered) * 1000, abs=1)

    # Still breached: no change, nothing sent. Then a customer action and a snooze ending.
    reading(data, temperature, 45)
    assert command(data, "acknowledge", model, note="on my way") is None
    assert command(data, "snooze", model, snoozeDuration=60) is None
    advance(peered, 60)
    assert state_of(data, model) == "NORMAL"
    documents = [json.loads(body) for body in inbox.wait(count=4)]
    states = [d["payload"]["alarmState"] for d in documents]
    assert [s["stateName"] for s in states] == [
        "ACTIVE",
        "ACKNOWLEDGED",
        "SNOOZE_DISABLED",
        "NORMAL",
    ]
    assert states[1]["customerAction"] == {
        "actionName": "ACKNOWLEDGE",
        "acknowledgeActionConfiguration": {"note": "on my way"},
    }
    assert states[3]["systemEvent"] == {
        "eventType": "STATE_CHANGE",
        "stateChangeConfiguration": {"triggerType": "SNOOZE_TIMEOUT"},
    }
    # The snooze ending happened at its due time.
    assert documents[3]["eventTime"] == documents[3]["payload"]["stateUpdateTime"]


def test_sqs_with_a_custom_payload_reading_the_alarm_inputs(
    moto: MotoServer, control: Any, data: Any
) -> None:
    inbox = SqsInbox.create(moto_client(moto.url, "sqs"), unique("alarm-queue"))
    temperature = create_temperature_input(control)
    text = {
        "contentExpression": f"'${{$input.{temperature}.deviceId}} is at "
        f"${{$input.{temperature}.sensor.temperature}} degrees'",
        "type": "STRING",
    }
    model = create_alarm_model(
        control,
        temperature,
        acknowledge=False,
        actions=[{"sqs": {"queueUrl": inbox.url, "payload": text}}],
    )
    reading(data, temperature, 40, "s1")
    reading(data, temperature, 25.5, "s1")
    assert state_of(data, model, "s1") == "NORMAL"
    assert inbox.wait(count=2) == ["s1 is at 40 degrees", "s1 is at 25.5 degrees"]


def test_mqtt_publish_to_a_topic_expression(control: Any, data: Any) -> None:
    base = unique_topic("thinghub-alarms")
    temperature = create_temperature_input(control)
    create_alarm_model(
        control,
        temperature,
        actions=[
            {"iotTopicPublish": {"mqttTopic": f"'{base}/${{$input.{temperature}.deviceId}}'"}}
        ],
    )
    with MqttSubscription(f"{base}/m1") as subscription:
        reading(data, temperature, 40, "m1")
        (message,) = subscription.messages(1)
    assert (message.topic, message.qos) == (f"{base}/m1", 1)
    document = json.loads(message.payload)
    assert document["payload"]["keyValue"] == "m1"
    assert document["payload"]["alarmState"]["stateName"] == "ACTIVE"


def test_an_iot_events_action_feeds_the_alarm_state_to_a_detector(control: Any, data: Any) -> None:
    temperature = create_temperature_input(control)
    states = unique("AlarmStates")
    control.create_input(
        inputName=states,
        inputDefinition={
            "attributes": [
                {"jsonPath": "payload.keyValue"},
                {"jsonPath": "payload.alarmState.stateName"},
            ]
        },
    )
    watcher = unique("watcher")
    control.create_detector_model(
        **detector_model(
            watcher,
            "Watching",
            [
                state(
                    "Watching",
                    on_input=[
                        event(
                            "seen",
                            f'currentInput("{states}")',
                            set_var("alarm", f"$input.{states}.payload.alarmState.stateName"),
                        )
                    ],
                )
            ],
            key="payload.keyValue",
        )
    )
    create_alarm_model(control, temperature, actions=[{"iotEvents": {"inputName": states}}])
    reading(data, temperature, 40, "w1")
    watched = wait_for(lambda: "w1" in keys(data, watcher) or None)
    assert watched
    assert snapshot(data, watcher, "w1") == ("Watching", {"alarm": '"ACTIVE"'})
