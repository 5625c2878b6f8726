"""Alarms over HTTP with stock boto3: every state transition of spec 11.2 driven by readings,
customer actions and snooze endings on the manual clock; DescribeAlarm, ListAlarms, the batch
error entries; messages shared with detector models."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, make_client, start_server
from tests.events.alarm_support import (
    alarm,
    alarm_request,
    command,
    create_alarm_model,
    create_temperature_input,
    reading,
    state_of,
)
from tests.events.harness import advance, clock_now, detector_model, event, set_var, snapshot, state
from tests.events.test_control_support import error_of, unique


@pytest.fixture
def temperature(iotevents: Any) -> str:
    return create_temperature_input(iotevents)


def _states(
    data: Any, input_name: str, model: str, steps: list[tuple[Any, str]], key: str = "d1"
) -> None:
    """Send each reading and check the state it leads to."""
    for value, expected in steps:
        reading(data, input_name, value, key)
        assert state_of(data, model, key) == expected, (value, expected)


def _bring_to(data: Any, input_name: str, model: str, target: str) -> None:
    """Bring alarm d1 from nothing to `target`."""
    reading(data, input_name, 20)
    if target == "DISABLED":
        command(data, "disable", model)
    elif target in ("ACTIVE", "ACKNOWLEDGED", "LATCHED"):
        reading(data, input_name, 40)
        if target == "ACKNOWLEDGED":
            command(data, "acknowledge", model)
        elif target == "LATCHED":
            reading(data, input_name, 20)
    elif target == "SNOOZE_DISABLED":
        command(data, "snooze", model, snoozeDuration=600)
    assert state_of(data, model) == target


# ----- creation -------------------------------------------------------------------------------


def test_an_alarm_starts_disabled_by_default_and_ignores_readings(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature, disabled=None)
    reading(iotevents_data, temperature, 40)
    found = alarm(iotevents_data, model)
    assert found["alarmState"] == {"stateName": "DISABLED"}  # nothing evaluated
    _states(iotevents_data, temperature, model, [(50, "DISABLED")])
    assert command(iotevents_data, "enable", model, note="commissioned") is None
    assert alarm(iotevents_data, model)["alarmState"] == {
        "stateName": "NORMAL",
        "customerAction": {
            "actionName": "ENABLE",
            "enableActionConfiguration": {"note": "commissioned"},
        },
    }
    # Enabled, the alarm waits for the next reading.
    _states(iotevents_data, temperature, model, [(40, "ACTIVE")])


def test_an_alarm_enabled_on_initialization_evaluates_its_first_reading(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature, disabled=False, severity=4)
    reading(iotevents_data, temperature, 40)
    found = alarm(iotevents_data, model)
    assert found["alarmState"] == {
        "stateName": "ACTIVE",
        "ruleEvaluation": {
            "simpleRuleEvaluation": {
                "inputPropertyValue": "40",
                "operator": "GREATER",
                "thresholdValue": "30",
            }
        },
    }
    assert found["alarmModelName"] == model
    assert found["alarmModelVersion"] == "1"
    assert found["keyValue"] == "d1"
    assert found["severity"] == 4
    assert found["creationTime"] == found["lastUpdateTime"]


# ----- the rule, with and without the acknowledge flow ----------------------------------------


def test_acknowledge_flow_on_latches_until_acknowledged(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature, acknowledge=True)
    _states(
        iotevents_data,
        temperature,
        model,
        [(20, "NORMAL"), (40, "ACTIVE"), (45, "ACTIVE"), (20, "LATCHED"), (10, "LATCHED")],
    )
    # LATCHED and breached again: ACTIVE; back in range: LATCHED; acknowledged: NORMAL.
    _states(iotevents_data, temperature, model, [(31, "ACTIVE"), (30, "LATCHED")])
    assert command(iotevents_data, "acknowledge", model, note="fan replaced") is None
    assert alarm(iotevents_data, model)["alarmState"]["customerAction"] == {
        "actionName": "ACKNOWLEDGE",
        "acknowledgeActionConfiguration": {"note": "fan replaced"},
    }
    assert state_of(iotevents_data, model) == "NORMAL"
    # Acknowledged while breached: it stays ACKNOWLEDGED, then NORMAL once back in range.
    _states(iotevents_data, temperature, model, [(40, "ACTIVE")])
    assert command(iotevents_data, "acknowledge", model) is None
    _states(iotevents_data, temperature, model, [(50, "ACKNOWLEDGED"), (20, "NORMAL")])


def test_acknowledge_flow_off_returns_to_normal_by_itself(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature, acknowledge=False)
    _states(iotevents_data, temperature, model, [(40, "ACTIVE"), (20, "NORMAL"), (40, "ACTIVE")])
    # Acknowledging an ACTIVE alarm is still possible.
    assert command(iotevents_data, "acknowledge", model) is None
    _states(iotevents_data, temperature, model, [(40, "ACKNOWLEDGED"), (20, "NORMAL")])


def test_acknowledge_flow_is_on_when_the_model_does_not_say(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature, acknowledge=None)
    _states(iotevents_data, temperature, model, [(40, "ACTIVE"), (20, "LATCHED")])


@pytest.mark.parametrize(
    ("operator", "threshold", "steps"),
    [
        ("GREATER_OR_EQUAL", "30", [(29, "NORMAL"), (30, "ACTIVE")]),
        ("LESS", "5", [(5, "NORMAL"), (4.5, "ACTIVE")]),
        ("LESS_OR_EQUAL", "-2.5", [(-2.4, "NORMAL"), (-2.5, "ACTIVE")]),
        ("EQUAL", "30", [(31, "NORMAL"), (30.0, "ACTIVE")]),
        ("NOT_EQUAL", "30", [(30, "NORMAL"), (31, "ACTIVE")]),
    ],
)
def test_comparison_operators(
    iotevents: Any,
    iotevents_data: Any,
    temperature: str,
    operator: str,
    threshold: str,
    steps: list[tuple[Any, str]],
) -> None:
    model = create_alarm_model(iotevents, temperature, operator=operator, threshold=threshold)
    _states(iotevents_data, temperature, model, steps)


def test_a_reading_that_is_not_a_number_changes_nothing(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    _states(
        iotevents_data, temperature, model, [(40, "ACTIVE"), ("20", "ACTIVE"), (None, "ACTIVE")]
    )
    evaluation = alarm(iotevents_data, model)["alarmState"]["ruleEvaluation"]
    assert evaluation["simpleRuleEvaluation"]["inputPropertyValue"] == "40"


def test_a_threshold_from_an_input_attribute(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    limits = create_temperature_input(iotevents)
    model = create_alarm_model(iotevents, temperature, threshold=f"$input.{limits}.limit")
    reading(iotevents_data, temperature, 40)
    assert alarm(iotevents_data, model)["alarmState"] == {"stateName": "NORMAL"}  # no limit yet
    reading(iotevents_data, limits, None, limit=45)
    _states(iotevents_data, temperature, model, [(40, "NORMAL"), (46, "ACTIVE")])
    assert alarm(iotevents_data, model)["alarmState"]["ruleEvaluation"] == {
        "simpleRuleEvaluation": {
            "inputPropertyValue": "46",
            "operator": "GREATER",
            "thresholdValue": "45",
        }
    }
    reading(iotevents_data, limits, None, limit=50)  # a new limit applies from the next reading
    assert state_of(iotevents_data, model) == "ACTIVE"
    _states(iotevents_data, temperature, model, [(46, "LATCHED")])


# ----- disable, enable, reset -----------------------------------------------------------------


@pytest.mark.parametrize(
    "start", ["NORMAL", "ACTIVE", "ACKNOWLEDGED", "LATCHED", "SNOOZE_DISABLED"]
)
def test_disable_from_any_state_and_enable_again(
    iotevents: Any, iotevents_data: Any, temperature: str, start: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    _bring_to(iotevents_data, temperature, model, start)
    assert command(iotevents_data, "disable", model, note="maintenance") is None
    assert state_of(iotevents_data, model) == "DISABLED"
    _states(iotevents_data, temperature, model, [(50, "DISABLED"), (10, "DISABLED")])
    assert command(iotevents_data, "enable", model) is None
    assert state_of(iotevents_data, model) == "NORMAL"


@pytest.mark.parametrize(
    "start", ["DISABLED", "NORMAL", "ACTIVE", "ACKNOWLEDGED", "LATCHED", "SNOOZE_DISABLED"]
)
def test_reset_from_any_state_is_normal(
    iotevents: Any, iotevents_data: Any, temperature: str, start: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    _bring_to(iotevents_data, temperature, model, start)
    assert command(iotevents_data, "reset", model, note="start over") is None
    found = alarm(iotevents_data, model)
    assert found["alarmState"]["stateName"] == "NORMAL"
    assert found["alarmState"]["customerAction"] == {
        "actionName": "RESET",
        "resetActionConfiguration": {"note": "start over"},
    }
    # A reset alarm waits for the next reading, even while the last one was breaching.
    _states(iotevents_data, temperature, model, [(40, "ACTIVE")])


# ----- snooze ---------------------------------------------------------------------------------


def test_snooze_ends_on_the_manual_clock(
    server: RunningServer, iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    _bring_to(iotevents_data, temperature, model, "ACTIVE")
    snoozed_at = clock_now(server)
    assert command(iotevents_data, "snooze", model, snoozeDuration=120, note="later") is None
    assert alarm(iotevents_data, model)["alarmState"]["customerAction"] == {
        "actionName": "SNOOZE",
        "snoozeActionConfiguration": {"snoozeDuration": 120, "note": "later"},
    }
    _states(iotevents_data, temperature, model, [(50, "SNOOZE_DISABLED"), (10, "SNOOZE_DISABLED")])
    advance(server, 119)
    assert state_of(iotevents_data, model) == "SNOOZE_DISABLED"
    advance(server, 5)
    found = alarm(iotevents_data, model)
    assert found["alarmState"]["stateName"] == "NORMAL"
    assert found["alarmState"]["systemEvent"] == {
        "eventType": "STATE_CHANGE",
        "stateChangeConfiguration": {"triggerType": "SNOOZE_TIMEOUT"},
    }
    assert "customerAction" not in found["alarmState"]
    # The snooze ended at its due time, not when the clock noticed.
    assert found["lastUpdateTime"].timestamp() == pytest.approx(snoozed_at + 120, abs=0.01)
    _states(iotevents_data, temperature, model, [(40, "ACTIVE")])


def test_snoozing_again_restarts_the_snooze_and_enable_ends_it(
    server: RunningServer, iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    _bring_to(iotevents_data, temperature, model, "SNOOZE_DISABLED")  # 600 s
    advance(server, 500)
    assert command(iotevents_data, "snooze", model, snoozeDuration=300) is None
    advance(server, 200)  # the first snooze would have ended here
    assert state_of(iotevents_data, model) == "SNOOZE_DISABLED"
    advance(server, 100)
    assert state_of(iotevents_data, model) == "NORMAL"
    # ENABLE ends a snooze early, and the old due time does nothing later.
    assert command(iotevents_data, "snooze", model, snoozeDuration=60) is None
    assert command(iotevents_data, "enable", model) is None
    _states(iotevents_data, temperature, model, [(40, "ACTIVE")])
    advance(server, 60)
    assert state_of(iotevents_data, model) == "ACTIVE"


def test_a_snooze_survives_a_restart(tmp_path: Path) -> None:
    running = start_server(tmp_path, "--clock", "manual")
    try:
        control, data = make_client(running, "iotevents"), make_client(running, "iotevents-data")
        temperature = create_temperature_input(control)
        model = create_alarm_model(control, temperature)
        reading(data, temperature, 40)
        assert command(data, "snooze", model, snoozeDuration=60) is None
    finally:
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(15) == 0
    restarted = start_server(tmp_path, "--clock", "manual")
    try:
        data = make_client(restarted, "iotevents-data")
        assert state_of(data, model) == "SNOOZE_DISABLED"
        advance(restarted, 61)
        assert state_of(data, model) == "NORMAL"
    finally:
        restarted.stop()


# ----- batch requests and their errors --------------------------------------------------------


def test_entries_that_do_not_apply_are_error_entries_and_the_rest_apply(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    for device in ("d1", "d2"):
        reading(iotevents_data, temperature, 40, device)
    gone = unique("gone")
    answer = iotevents_data.batch_acknowledge_alarm(
        acknowledgeActionRequests=[
            {"requestId": "ok", "alarmModelName": model, "keyValue": "d1"},
            {"requestId": "no-model", "alarmModelName": gone, "keyValue": "d1"},
            {"requestId": "no-alarm", "alarmModelName": model, "keyValue": "d9"},
            {"requestId": "no-key", "alarmModelName": model},
            {"requestId": "twice", "alarmModelName": model, "keyValue": "d2"},
        ]
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["errorEntries"] == [
        {
            "requestId": "no-model",
            "errorCode": "ResourceNotFoundException",
            "errorMessage": f"Alarm model {gone} does not exist",
        },
        {
            "requestId": "no-alarm",
            "errorCode": "ResourceNotFoundException",
            "errorMessage": f"Alarm d9 of alarm model {model} does not exist",
        },
        {
            "requestId": "no-key",
            "errorCode": "ResourceNotFoundException",
            "errorMessage": f"Alarm (no key) of alarm model {model} does not exist",
        },
    ]
    assert state_of(iotevents_data, model, "d1") == "ACKNOWLEDGED"
    assert state_of(iotevents_data, model, "d2") == "ACKNOWLEDGED"
    # Acknowledging an acknowledged alarm does not apply.
    (entry,) = command(iotevents_data, "acknowledge", model, "d2")
    assert entry["errorCode"] == "InvalidRequestException"
    assert entry["errorMessage"] == (
        f"Alarm d2 of alarm model {model}: it is ACKNOWLEDGED; only an ACTIVE or LATCHED alarm "
        "can be acknowledged"
    )


@pytest.mark.parametrize(
    ("action", "start", "entry", "message"),
    [
        ("acknowledge", "NORMAL", {}, "only an ACTIVE or LATCHED alarm can be acknowledged"),
        ("enable", "ACTIVE", {}, "only a DISABLED or SNOOZE_DISABLED alarm can be enabled"),
        (
            "snooze",
            "DISABLED",
            {"snoozeDuration": 60},
            "a DISABLED alarm cannot be snoozed; enable it first",
        ),
        ("snooze", "ACTIVE", {"snoozeDuration": 0}, "snoozeDuration must be at least 1 second"),
    ],
)
def test_commands_that_do_not_apply_change_nothing(
    iotevents: Any,
    iotevents_data: Any,
    temperature: str,
    action: str,
    start: str,
    entry: dict[str, Any],
    message: str,
) -> None:
    model = create_alarm_model(iotevents, temperature)
    _bring_to(iotevents_data, temperature, model, start)
    before = alarm(iotevents_data, model)
    (error,) = command(iotevents_data, action, model, **entry)
    assert error["errorCode"] == "InvalidRequestException"
    assert message in error["errorMessage"]
    assert alarm(iotevents_data, model) == before


def test_a_batch_is_refused_whole_for_repeated_ids_or_too_many_entries(
    iotevents_data: Any,
) -> None:
    entry = {"requestId": "same", "alarmModelName": "m", "keyValue": "k"}
    with pytest.raises(iotevents_data.exceptions.InvalidRequestException) as caught:
        iotevents_data.batch_reset_alarm(resetActionRequests=[entry, entry])
    assert "requestId same appears twice" in error_of(caught)[1]
    many = [{**entry, "requestId": f"r{n}"} for n in range(11)]
    with pytest.raises(iotevents_data.exceptions.InvalidRequestException) as caught:
        iotevents_data.batch_disable_alarm(disableActionRequests=many)
    assert error_of(caught)[1] == "disableActionRequests takes at most 10 requests, got 11"


# ----- describe and list ----------------------------------------------------------------------


def test_list_alarms_pages_through_every_key(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    for device in ("d1", "d2", "d3"):
        reading(iotevents_data, temperature, 40 if device == "d2" else 20, device)
    summaries = iotevents_data.list_alarms(alarmModelName=model)["alarmSummaries"]
    assert [(s["keyValue"], s["stateName"]) for s in summaries] == [
        ("d1", "NORMAL"),
        ("d2", "ACTIVE"),
        ("d3", "NORMAL"),
    ]
    assert set(summaries[0]) == {
        "alarmModelName",
        "alarmModelVersion",
        "keyValue",
        "stateName",
        "creationTime",
        "lastUpdateTime",
    }
    first = iotevents_data.list_alarms(alarmModelName=model, maxResults=2)
    assert len(first["alarmSummaries"]) == 2
    rest = iotevents_data.list_alarms(
        alarmModelName=model, maxResults=2, nextToken=first["nextToken"]
    )
    assert [s["keyValue"] for s in rest["alarmSummaries"]] == ["d3"]
    assert "nextToken" not in rest


def test_unknown_models_and_keys_are_not_found(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    reading(iotevents_data, temperature, 20)
    gone = unique("gone")
    for call, text in (
        (lambda: iotevents_data.list_alarms(alarmModelName=gone), f"Alarm model {gone}"),
        (lambda: iotevents_data.describe_alarm(alarmModelName=gone), f"Alarm model {gone}"),
        (
            lambda: iotevents_data.describe_alarm(alarmModelName=model, keyValue="d9"),
            f"Alarm d9 of alarm model {model} does not exist",
        ),
        (
            lambda: iotevents_data.describe_alarm(alarmModelName=model),
            f"Alarm (no key) of alarm model {model} does not exist",
        ),
    ):
        with pytest.raises(iotevents_data.exceptions.ResourceNotFoundException) as caught:
            call()
        assert text in error_of(caught)[1]


def test_a_model_without_key_has_one_alarm(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature, key=None)
    reading(iotevents_data, temperature, 40, "d1")
    reading(iotevents_data, temperature, 45, "d2")
    reading(iotevents_data, temperature, 50, None)
    (summary,) = iotevents_data.list_alarms(alarmModelName=model)["alarmSummaries"]
    assert "keyValue" not in summary
    found = alarm(iotevents_data, model, None)
    assert "keyValue" not in found and "severity" not in found
    assert found["alarmState"]["ruleEvaluation"]["simpleRuleEvaluation"]["inputPropertyValue"] == (
        "50"
    )
    assert command(iotevents_data, "acknowledge", model, None) is None
    assert state_of(iotevents_data, model, None) == "ACKNOWLEDGED"
    (error,) = command(iotevents_data, "reset", model, "d1")
    assert error["errorCode"] == "ResourceNotFoundException"


def test_a_message_without_the_key_reaches_no_alarm(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    reading(iotevents_data, temperature, 40, None)
    assert iotevents_data.list_alarms(alarmModelName=model)["alarmSummaries"] == []


# ----- messages: de-duplication, detectors, model changes -------------------------------------


def test_a_repeated_message_id_is_ignored(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    message_id = uuid.uuid4().hex
    reading(iotevents_data, temperature, 40, message_id=message_id)
    assert command(iotevents_data, "reset", model) is None
    reading(iotevents_data, temperature, 40, message_id=message_id)  # within five minutes
    assert state_of(iotevents_data, model) == "NORMAL"


def test_one_message_feeds_detector_models_and_alarm_models(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    detector = unique("counter")
    iotevents.create_detector_model(
        **detector_model(
            detector,
            "Counting",
            [
                state(
                    "Counting",
                    on_input=[
                        event(
                            "count",
                            f"$input.{temperature}.sensor.temperature > 0",
                            set_var("last", f"$input.{temperature}.sensor.temperature"),
                        )
                    ],
                )
            ],
            key="deviceId",
        )
    )
    iotevents_data.batch_put_message(
        messages=[
            {
                "messageId": uuid.uuid4().hex,
                "inputName": temperature,
                "payload": json.dumps({"deviceId": "d1", "sensor": {"temperature": t}}).encode(),
            }
            for t in (20, 40)
        ]
    )
    assert snapshot(iotevents_data, detector, "d1") == ("Counting", {"last": "40"})
    assert state_of(iotevents_data, model) == "ACTIVE"


def test_an_update_deletes_the_alarms_which_come_back_with_data(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    reading(iotevents_data, temperature, 40)
    request = alarm_request(temperature, model, threshold="45")
    request.pop("key")
    iotevents.update_alarm_model(**request)
    assert iotevents_data.list_alarms(alarmModelName=model)["alarmSummaries"] == []
    with pytest.raises(iotevents_data.exceptions.ResourceNotFoundException):
        alarm(iotevents_data, model)
    _states(iotevents_data, temperature, model, [(40, "NORMAL"), (46, "ACTIVE")])
    assert alarm(iotevents_data, model)["alarmModelVersion"] == "2"


def test_deleting_a_model_deletes_its_alarms(
    iotevents: Any, iotevents_data: Any, temperature: str
) -> None:
    model = create_alarm_model(iotevents, temperature)
    reading(iotevents_data, temperature, 40)
    iotevents.delete_alarm_model(alarmModelName=model)
    with pytest.raises(iotevents_data.exceptions.ResourceNotFoundException):
        iotevents_data.list_alarms(alarmModelName=model)
    # Re-created under the same name, it starts afresh, with the new definition.
    create_alarm_model(iotevents, temperature, name=model, threshold="100")
    assert iotevents_data.list_alarms(alarmModelName=model)["alarmSummaries"] == []
    _states(iotevents_data, temperature, model, [(40, "NORMAL")])
