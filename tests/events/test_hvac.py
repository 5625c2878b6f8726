"""The AWS HVAC example end to end: the published model, inputs and messages, unchanged.

A dedicated thinghub sends its SNS actions to moto (region us-west-2, as the model's topic ARNs
say); an SQS queue subscribed to each topic with raw message delivery reads them back. States
and variables are read with DescribeDetector and compared with what the guide documents.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import RunningServer, make_client
from tests.events.harness import advance, clock_now, detector, snapshot
from tests.events.hvac import (
    BATCH_UPDATE,
    COOL_OFF_SNS,
    HEAT_OFF_SNS,
    SEED_EXAMPLE,
    SEED_INPUT,
    SEED_SET_DESIRED_TEMP,
    SPOOF_EXAMPLE,
    TEMPERATURE_EXAMPLE,
    TEMPERATURE_INPUT,
    area_detector_model,
)
from tests.events.peered import SqsInbox, moto_client, start_peered_server
from tests.peers import MotoServer, moto_server_fixture

moto = moto_server_fixture(scope="module")

MODEL = "areaDetectorModel"
TOPICS = ("heatOff", "coolOff", "heatOn", "coolOn")


@dataclass(frozen=True)
class Num:
    """A JSON number with its exact text: `30.0` and `30` stay different."""

    text: str


def parse(text: str) -> Any:
    return json.loads(text, parse_float=Num)


@dataclass
class Hvac:
    server: RunningServer
    data: Any
    inboxes: dict[str, SqsInbox]

    def put(self, message: tuple[str, str, str]) -> None:
        message_id, input_name, payload = message
        answer = self.data.batch_put_message(
            messages=[{"messageId": message_id, "inputName": input_name, "payload": payload}]
        )
        assert answer["BatchPutMessageErrorEntries"] == []

    def sns(self, topic: str, key: str, count: int) -> list[dict[str, Any]]:
        """The payloads published to `topic` by detector `key` (at least `count` of them)."""

        def sent_by_key(body: str) -> bool:
            return bool(parse(body)["payload"]["detector"]["keyValue"] == key)

        return [parse(body) for body in self.inboxes[topic].wait(sent_by_key, count)]


@pytest.fixture(scope="module")
def hvac(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hvac]:
    sns = moto_client(moto.url, "sns", "us-west-2")
    sqs = moto_client(moto.url, "sqs", "us-west-2")
    inboxes: dict[str, SqsInbox] = {}
    for topic in TOPICS:
        arn = sns.create_topic(Name=topic)["TopicArn"]
        assert arn == f"arn:aws:sns:us-west-2:123456789012:{topic}"
        inboxes[topic] = SqsInbox.create(sqs, f"{topic}-subscriber")
        inboxes[topic].subscribe_to(sns, arn)
    server = start_peered_server(
        tmp_path_factory.mktemp("hvac"), moto.url, config='[aws]\nregion = "us-west-2"\n'
    )
    try:
        iotevents = make_client(server, "iotevents")
        iotevents.create_input(**SEED_INPUT)
        iotevents.create_input(**TEMPERATURE_INPUT)
        created = iotevents.create_detector_model(**area_detector_model())
        assert created["detectorModelConfiguration"]["detectorModelVersion"] == "1"
        yield Hvac(server, make_client(server, "iotevents-data"), inboxes)
    finally:
        server.stop()


def _without_run_specifics(document: dict[str, Any]) -> dict[str, Any]:
    """The payload minus what differs per run: the execution id and the event time."""
    document = copy.deepcopy(document)
    assert isinstance(document.pop("eventTime"), int)
    uuid.UUID(document["payload"].pop("actionExecutionId"))
    return document


def _key_order(document: Any) -> Any:
    """Every object's key order, except the variables (an unordered map in the guide)."""
    if not isinstance(document, dict):
        return None
    return [
        (key, _key_order(value) if key != "variables" else None) for key, value in document.items()
    ]


# DescribeDetector after the seed message (00001): prepare's values plus initialize's.
SEEDED = {
    "sensorId": "0",
    "reportedTemperature": "0.1",
    "resetMe": "false",
    "rangeHigh": "30.0",
    "rangeLow": "15.0",
    "desiredTemperature": "20.0",
    "averageTemperature": "20.0",
    "allowedError": "0.7",
    "anomalousHigh": "60.0",
    "anomalousLow": "0.0",
    "sensorCount": "10",
    "noDelay": "false",
}


def test_documented_messages_states_variables_and_sns_payloads(hvac: Hvac) -> None:
    # Example 1: the seed message creates Area51 in `start`, which moves to `idle` at once.
    hvac.put(SEED_EXAMPLE)
    assert snapshot(hvac.data, MODEL, "Area51") == ("idle", SEEDED)

    # resetHeatCool (start's onExit) published the documented payloads. The guide's sample also
    # shows `enteringNewState: true`, which its own model cannot produce at that point (spec
    # 4.3): every other field must match, numbers with their exact text (`30.0`, `10`, `0.0`).
    for topic, documented in (("heatOff", HEAT_OFF_SNS), ("coolOff", COOL_OFF_SNS)):
        (sent,) = hvac.sns(topic, "Area51", 1)
        expected = parse(documented)
        del expected["payload"]["state"]["variables"]["enteringNewState"]
        assert _without_run_specifics(sent) == _without_run_specifics(expected)
        assert _key_order(sent) == _key_order(expected)

    # Example 2: a reading of 23.12 from sensor 05 updates the running average.
    hvac.put(TEMPERATURE_EXAMPLE)
    assert snapshot(hvac.data, MODEL, "Area51") == (
        "idle",
        {
            **SEEDED,
            "sensorId": '"05"',
            "reportedTemperature": "23.12",
            "averageTemperature": "20.312",
        },
    )

    # Example 3 reuses messageId 00001: within five minutes it is a duplicate and ignored.
    hvac.put(SEED_SET_DESIRED_TEMP)
    assert snapshot(hvac.data, MODEL, "Area51")[1]["desiredTemperature"] == "20.0"
    advance(hvac.server, 301)
    hvac.put(SEED_SET_DESIRED_TEMP)
    state_name, variables = snapshot(hvac.data, MODEL, "Area51")
    # changeDesired fires; the retained temperatureInput (spec 2.3) is averaged in once more;
    # BATCH transitions compare with the old desiredTemperature (20.0 + 0.7): still idle.
    assert state_name == "idle"
    assert variables == {
        **SEEDED,
        "sensorId": '"05"',
        "reportedTemperature": "23.12",
        "desiredTemperature": "23.0",
        "averageTemperature": "20.5928",
    }

    # BatchUpdateDetector (areaDM.BUD.json, 13 variables) puts Area51 back into `start` with
    # resetMe true; no event runs, so start's onEnter does not reset it.
    answer = hvac.data.batch_update_detector(**BATCH_UPDATE)
    assert answer["batchUpdateDetectorErrorEntries"] == []
    found = detector(hvac.data, MODEL, "Area51")
    assert found["state"]["stateName"] == "start"
    assert found["state"]["timers"] == []
    updated = {v["name"]: v["value"] for v in BATCH_UPDATE["detectors"][0]["state"]["variables"]}
    assert {v["name"]: v["value"] for v in found["state"]["variables"]} == updated

    # The next valid reading (the guide's spoofExample) takes the `reset` transition to idle.
    # `initialize` does not fire: the retained seed message is example 3, without sensorCount.
    hvac.put(SPOOF_EXAMPLE)
    state_name, variables = snapshot(hvac.data, MODEL, "Area51")
    assert state_name == "idle"
    average = variables.pop("averageTemperature")
    assert average.startswith("22.208333")  # (22 * 11 + 24.5) / 12
    assert variables == {k: v for k, v in updated.items() if k != "averageTemperature"}

    # resetHeatCool ran again, in the old state, after the transition's action.
    for topic in ("heatOff", "coolOff"):
        first, second = hvac.sns(topic, "Area51", 2)
        assert first["payload"]["eventTriggerDetails"]["messageId"] == "00001"
        assert second["eventName"] == "resetHeatCool"
        assert second["payload"]["eventTriggerDetails"] == {
            "inputName": "temperatureInput",
            "messageId": "54321",
            "triggerType": "Message",
        }
        assert second["payload"]["state"]["stateName"] == "start"
        sent_variables = second["payload"]["state"]["variables"]
        assert sent_variables.pop("averageTemperature").text.startswith("22.208333")
        assert sent_variables == {
            "desiredTemperature": 22,
            "allowedError": Num("1.0"),
            "rangeHigh": Num("30.0"),
            "rangeLow": Num("15.0"),
            "anomalousHigh": Num("60.0"),
            "anomalousLow": Num("0.0"),
            "sensorCount": 12,
            "noDelay": True,
            "goodToGo": True,
            "sensorId": 0,
            "reportedTemperature": Num("0.1"),
            "resetMe": True,
        }
    # The data-plane update itself sent nothing: exactly two of each, in order.
    assert len(hvac.sns("heatOff", "Area51", 2)) == 2
    assert len(hvac.sns("coolOff", "Area51", 2)) == 2


def test_temperature_spike_starts_cooling_with_its_minimum_run_timer(hvac: Hvac) -> None:
    _, seed_input, seed = SEED_EXAMPLE
    hvac.put(("spike-seed", seed_input, seed.replace("Area51", "Area52")))
    now = clock_now(hvac.server)
    spike = '{"sensorId": "07", "areaId": "Area52", "sensorData": {"temperature": 35.0} }'
    hvac.put(("spike-1", "temperatureInput", spike))

    # highTemperatureSpike: to `cooling`, whose onEnter starts the 180 s coolingTimer.
    found = detector(hvac.data, MODEL, "Area52")
    assert found["state"]["stateName"] == "cooling"
    (timer,) = found["state"]["timers"]
    assert timer["name"] == "coolingTimer"
    assert timer["timestamp"].timestamp() == pytest.approx(now + 180, abs=0.01)
    variables = {v["name"]: v["value"] for v in found["state"]["variables"]}
    assert variables["enteringNewState"] == "false"  # set true by the transition, then beenHere
    assert variables["goodToGo"] == "false"
    assert variables["averageTemperature"] == "21.5"

    # The coolOn payload is taken when the action runs: in `idle`, before the transition's
    # own setVariable (listed after it) made enteringNewState true.
    (cool_on,) = hvac.sns("coolOn", "Area52", 1)
    assert cool_on["eventName"] == "highTemperatureSpike"
    assert cool_on["payload"]["state"]["stateName"] == "idle"
    assert cool_on["payload"]["eventTriggerDetails"] == {
        "inputName": "temperatureInput",
        "messageId": "spike-1",
        "triggerType": "Message",
    }
    assert "enteringNewState" not in cool_on["payload"]["state"]["variables"]
    assert cool_on["payload"]["state"]["variables"]["sensorId"] == "07"

    # The minimum run is over: areWeThereYet sets goodToGo. The timer evaluation also reads the
    # retained reading (35.0 > rangeHigh): a self-transition, whose onEnter sets no new timer.
    advance(hvac.server, 180)
    found = detector(hvac.data, MODEL, "Area52")
    assert found["state"]["stateName"] == "cooling"
    assert found["state"]["timers"] == []
    variables = {v["name"]: v["value"] for v in found["state"]["variables"]}
    assert variables["goodToGo"] == "true"
    assert variables["averageTemperature"] == "22.85"
