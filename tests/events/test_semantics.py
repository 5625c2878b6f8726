"""Run-time semantics of detector models (spec 2.3, 3.2, 4.2-4.5, 5.5, 6, 7.3) over HTTP.

Each test builds a small model whose variables record what ran and what each condition saw,
drives it with BatchPutMessage (and the manual clock for timers) and reads the verdict back
with DescribeDetector. Names are unique per test: the session server is shared.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.events.harness import (
    advance,
    clear_timer,
    clock_now,
    create_input,
    detector,
    detector_model,
    event,
    keys,
    send,
    set_timer,
    set_var,
    snapshot,
    state,
    transition,
    unique,
    wait_for,
)

# ----- variable visibility and the order of groups (spec 4.3) ---------------------------------


def _visibility(model: str, name: str, method: str) -> dict[str, Any]:
    """`write` increments x; `read` and the transition `go` test x == 1 in the same group."""
    return detector_model(
        model,
        "Counting",
        [
            state(
                "Counting",
                on_enter=[event("init", "true", set_var("x", "0"), set_var("seen", "0"))],
                on_input=[
                    event("write", f'currentInput("{name}")', set_var("x", "$variable.x + 1")),
                    event("read", "$variable.x == 1", set_var("seen", "1")),
                ],
                transitions=[transition("go", "$variable.x == 1", "Done")],
            ),
            state("Done", transitions=[transition("back", f"$input.{name}.id == ''", "Counting")]),
        ],
        key="id",
        method=method,
    )


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # BATCH: the whole onInput group (events and transitions) sees x as it was (0).
        ("BATCH", ("Counting", {"x": "1", "seen": "0"})),
        # SERIAL: each condition sees the writes of the events before it, transitions too.
        ("SERIAL", ("Done", {"x": "1", "seen": "1"})),
    ],
)
def test_batch_and_serial_variable_visibility(
    iotevents: Any, iotevents_data: Any, method: str, expected: tuple[str, dict[str, str]]
) -> None:
    name = create_input(iotevents, unique("Visibility"), "id")
    model = unique(f"visibility_{method.lower()}")
    iotevents.create_detector_model(**_visibility(model, name, method))
    # On creation the onEnter group (x = 0) runs first; its write is visible to onInput.
    send(iotevents_data, name, {"id": "k"})
    assert snapshot(iotevents_data, model, "k") == expected


def test_batch_writes_become_visible_to_the_next_message(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Visibility"), "id")
    model = unique("visibility_next")
    iotevents.create_detector_model(**_visibility(model, name, "BATCH"))
    send(iotevents_data, name, {"id": "k"})
    send(iotevents_data, name, {"id": "k"})
    assert snapshot(iotevents_data, model, "k") == ("Done", {"x": "2", "seen": "1"})


def test_first_true_transition_wins_and_every_true_event_runs(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Choice"), "id", "v")
    model = unique("first_match")
    v = f"$input.{name}.v"
    iotevents.create_detector_model(
        **detector_model(
            model,
            "Start",
            [
                state(
                    "Start",
                    on_input=[
                        event("a", f"{v} > 0", set_var("a", "1")),
                        event("b", f"{v} > 1", set_var("b", "1")),
                    ],
                    transitions=[
                        transition("never", f"{v} < 0", "Never", set_var("chosen", "'never'")),
                        transition("first", f"{v} > 0", "First", set_var("chosen", "'first'")),
                        transition("second", f"{v} > 1", "Second", set_var("chosen", "'second'")),
                    ],
                ),
                state("Never"),
                state("First"),
                state("Second"),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "v": 5})
    assert snapshot(iotevents_data, model, "k") == (
        "First",
        {"a": "1", "b": "1", "chosen": '"first"'},
    )


def test_transition_actions_run_before_on_exit_and_on_exit_before_on_enter(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Order"), "id", "go")
    model = unique("group_order")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "Idle",
            [
                state(
                    "Idle",
                    # No condition: an absent condition is true.
                    on_enter=[event("born", None, set_var("trail", "'enter Idle'"))],
                    transitions=[
                        transition(
                            "go",
                            f"$input.{name}.go == true",
                            "Busy",
                            set_var("trail", "$variable.trail + ', transition'"),
                        )
                    ],
                    # Appends only if the transition's action already ran.
                    on_exit=[
                        event(
                            "leave",
                            "endsWith($variable.trail, 'transition')",
                            set_var("trail", "$variable.trail + ', exit'"),
                        )
                    ],
                ),
                state(
                    "Busy",
                    on_enter=[
                        event(
                            "arrive",
                            "endsWith($variable.trail, 'exit')",
                            set_var("trail", "$variable.trail + ', enter Busy'"),
                        )
                    ],
                ),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "go": False})
    assert snapshot(iotevents_data, model, "k") == ("Idle", {"trail": '"enter Idle"'})
    send(iotevents_data, name, {"id": "k", "go": True})
    assert snapshot(iotevents_data, model, "k") == (
        "Busy",
        {"trail": '"enter Idle, transition, exit, enter Busy"'},
    )


def test_self_transition_runs_on_exit_and_on_enter_again(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Loop"), "id", "again")
    model = unique("self_transition")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "Init",
            [
                state(
                    "Init",
                    transitions=[
                        transition(
                            "start",
                            f"$input.{name}.again == false",
                            "Loop",
                            set_var("enters", "0"),
                            set_var("exits", "0"),
                        )
                    ],
                ),
                state(
                    "Loop",
                    on_enter=[event("entered", "true", set_var("enters", "$variable.enters + 1"))],
                    transitions=[transition("again", f"$input.{name}.again == true", "Loop")],
                    on_exit=[event("left", "true", set_var("exits", "$variable.exits + 1"))],
                ),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "again": False})
    assert snapshot(iotevents_data, model, "k") == ("Loop", {"enters": "1", "exits": "0"})
    send(iotevents_data, name, {"id": "k", "again": True})
    assert snapshot(iotevents_data, model, "k") == ("Loop", {"enters": "2", "exits": "1"})
    send(iotevents_data, name, {"id": "k", "again": False})  # no transition: nothing runs
    assert snapshot(iotevents_data, model, "k") == ("Loop", {"enters": "2", "exits": "1"})


def test_no_cascading_the_new_states_on_input_waits_for_the_next_trigger(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Cascade"), "id", "v")
    model = unique("no_cascade")
    v = f"$input.{name}.v"
    iotevents.create_detector_model(
        **detector_model(
            model,
            "A",
            [
                state("A", transitions=[transition("toB", f"{v} > 0", "B")]),
                state(
                    "B",
                    on_input=[event("inB", "true", set_var("seenInB", v))],
                    transitions=[transition("toC", f"{v} > 0", "C")],
                ),
                state("C"),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "v": 1})
    assert snapshot(iotevents_data, model, "k") == ("B", {})
    send(iotevents_data, name, {"id": "k", "v": 2})
    assert snapshot(iotevents_data, model, "k") == ("C", {"seenInB": "2"})


# ----- instance creation (spec 4.2) -------------------------------------------------------------


def test_creation_runs_on_enter_with_the_message_then_on_input(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Create"), "id", "level")
    model = unique("creation")
    level = f"$input.{name}.level"
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_enter=[event("high", f"{level} > 5", set_var("enteredWith", level))],
                    on_input=[
                        event("count", "true", set_var("afterEnter", "$variable.enteredWith + 1"))
                    ],
                )
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "hot", "level": 7})
    assert snapshot(iotevents_data, model, "hot") == (
        "S",
        {"enteredWith": "7", "afterEnter": "8"},
    )
    send(iotevents_data, name, {"id": "cold", "level": 3})
    assert snapshot(iotevents_data, model, "cold") == ("S", {})
    # onEnter ran once, at creation; later messages only run onInput.
    send(iotevents_data, name, {"id": "hot", "level": 9})
    assert snapshot(iotevents_data, model, "hot") == (
        "S",
        {"enteredWith": "7", "afterEnter": "8"},
    )


# ----- inputs: retention, currentInput, undefined and null (spec 2.3, 5.5, 5.6) --------------


def test_inputs_are_retained_per_detector_and_replaced_whole(
    iotevents: Any, iotevents_data: Any
) -> None:
    pressure = create_input(iotevents, unique("CranePressure"), "craneid", "pressure", "extra")
    temperature = create_input(iotevents, unique("CraneTemperature"), "craneid", "temperature")
    model = unique("crane")
    p, t = f"$input.{pressure}", f"$input.{temperature}"
    iotevents.create_detector_model(
        **detector_model(
            model,
            "Normal",
            [
                state(
                    "Normal",
                    on_input=[
                        event(
                            "fromPressure", f'currentInput("{pressure}")', set_var("last", "'P'")
                        ),
                        event(
                            "fromTemperature",
                            f'currentInput("{temperature}")',
                            set_var("last", "'T'"),
                            set_var("pressureThen", f"{p}.pressure"),
                        ),
                    ],
                    # The Cranes condition: each message carries only one of the two inputs.
                    transitions=[
                        transition(
                            "overheated",
                            f"{p}.pressure > 70 && {t}.temperature > 30",
                            "Alarm",
                        )
                    ],
                ),
                state(
                    "Alarm",
                    on_input=[
                        event(
                            "replaced",
                            f'currentInput("{pressure}") && isUndefined({p}.extra)',
                            set_var("extraGone", "true"),
                        )
                    ],
                ),
            ],
            key="craneid",
        )
    )
    send(iotevents_data, pressure, {"craneid": "c1", "pressure": 80, "extra": 1})
    assert snapshot(iotevents_data, model, "c1") == ("Normal", {"last": '"P"'})
    send(iotevents_data, temperature, {"craneid": "c1", "temperature": 40})
    assert snapshot(iotevents_data, model, "c1") == (
        "Alarm",
        {"last": '"T"', "pressureThen": "80"},
    )
    # A new message on an input replaces the retained one: `extra` is no longer there.
    send(iotevents_data, pressure, {"craneid": "c1", "pressure": 75})
    assert snapshot(iotevents_data, model, "c1")[1]["extraGone"] == "true"
    # Retention is per detector: another crane has seen no pressure yet.
    send(iotevents_data, temperature, {"craneid": "c2", "temperature": 40})
    assert snapshot(iotevents_data, model, "c2") == ("Normal", {"last": '"T"'})


def test_undefined_and_null_operands_make_conditions_false(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Nulls"), "id", "v", "ok", "missing")
    model = unique("undefined_null")
    i = f"$input.{name}"
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_input=[
                        event("undefinedOperand", f"{i}.missing > 3", set_var("undefinedGt", "1")),
                        event("nullOperand", f"{i}.v > 3", set_var("nullGt", "1")),
                        event("nullArithmetic", f"{i}.v + 1 == 4", set_var("nullPlus", "1")),
                        event("isNull", f"isNull({i}.v)", set_var("isNull", "1")),
                        event("notUndefined", f"isUndefined({i}.v)", set_var("nullUndef", "1")),
                        event("isUndefined", f"isUndefined({i}.missing)", set_var("undef", "1")),
                        event("orUndefined", f"{i}.missing > 3 || {i}.ok == 1", set_var("or", "1")),
                        event(
                            "andUndefined", f"{i}.missing > 3 && {i}.ok == 1", set_var("and", "1")
                        ),
                    ],
                    transitions=[transition("undefinedMove", f"{i}.missing < 3", "Moved")],
                ),
                state("Moved"),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "v": None, "ok": 1})
    assert snapshot(iotevents_data, model, "k") == ("S", {"isNull": "1", "undef": "1", "or": "1"})


def test_the_templates_initialisation_idiom_fires_once(iotevents: Any, iotevents_data: Any) -> None:
    # AWS's alarm templates initialise with `$variable.x != $variable.x` (spec 5.5): true while
    # the variable is undefined, false once it is set.
    name = create_input(iotevents, unique("Idiom"), "id", "limit")
    model = unique("init_idiom")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_input=[
                        event(
                            "init",
                            f"$input.{name}.limit > 0 && "
                            "$variable.threshold != $variable.threshold",
                            set_var("threshold", f"$input.{name}.limit"),
                        )
                    ],
                )
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "limit": 10})
    send(iotevents_data, name, {"id": "k", "limit": 20})
    assert snapshot(iotevents_data, model, "k") == ("S", {"threshold": "10"})


def test_set_variable_to_undefined_or_null_leaves_it_unchanged(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Unchanged"), "id", "value")
    model = unique("set_undefined")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_enter=[event("init", "true", set_var("x", "5"))],
                    on_input=[
                        event(
                            "overwrite",
                            f'currentInput("{name}")',
                            set_var("x", f"$input.{name}.value"),
                        )
                    ],
                )
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k"})  # no value at all: undefined
    assert snapshot(iotevents_data, model, "k") == ("S", {"x": "5"})
    send(iotevents_data, name, {"id": "k", "value": None})  # variables cannot be null
    assert snapshot(iotevents_data, model, "k") == ("S", {"x": "5"})
    send(iotevents_data, name, {"id": "k", "value": 7})
    assert snapshot(iotevents_data, model, "k") == ("S", {"x": "7"})


def test_undeclared_payload_fields_read_as_undefined(iotevents: Any, iotevents_data: Any) -> None:
    name = create_input(iotevents, unique("Declared"), "id", "declared")
    model = unique("undeclared")
    i = f"$input.{name}"
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_input=[
                        event("declared", f"{i}.declared == 1", set_var("declared", "1")),
                        event("hidden", f"isUndefined({i}.hidden)", set_var("hiddenUndef", "1")),
                    ],
                )
            ],
            key="id",  # the key itself is read from the raw payload (spec 2.2 item 3)
        )
    )
    send(iotevents_data, name, {"id": "k", "declared": 1, "hidden": 2})
    assert snapshot(iotevents_data, model, "k") == ("S", {"declared": "1", "hiddenUndef": "1"})


# ----- keys and routing (spec 3.2, 3.3, 4.4) ------------------------------------------------


def _counter(model: str, name: str, key: str | None) -> dict[str, Any]:
    return detector_model(
        model,
        "S",
        [
            state(
                "S",
                on_enter=[event("init", "true", set_var("count", "0"))],
                on_input=[
                    event("count", f"$input.{name}.n > 0", set_var("count", "$variable.count + 1"))
                ],
            )
        ],
        key=key,
    )


def test_a_model_without_key_has_one_singleton_detector(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Singleton"), "device", "n")
    model = unique("singleton")
    iotevents.create_detector_model(**_counter(model, name, None))
    send(iotevents_data, name, {"device": "a", "n": 1})
    send(iotevents_data, name, {"device": "b", "n": 1})
    send(iotevents_data, name, {"n": 1})
    assert keys(iotevents_data, model) == [None]  # one summary, without keyValue
    found = detector(iotevents_data, model)
    assert "keyValue" not in found
    assert {v["name"]: v["value"] for v in found["state"]["variables"]} == {"count": "3"}


def test_a_message_without_the_key_reaches_no_detector(iotevents: Any, iotevents_data: Any) -> None:
    name = create_input(iotevents, unique("Keyed"), "device.id", "n")
    model = unique("keyed")
    iotevents.create_detector_model(**_counter(model, name, "device.id"))
    send(iotevents_data, name, {"n": 1})  # accepted, no error entry ...
    send(iotevents_data, name, {"device": {"name": "x"}, "n": 1})
    assert keys(iotevents_data, model) == []  # ... and no detector
    send(iotevents_data, name, {"device": {"id": "d1"}, "n": 1})
    assert keys(iotevents_data, model) == ["d1"]
    assert snapshot(iotevents_data, model, "d1") == ("S", {"count": "1"})


def test_numeric_keys_are_strings(iotevents: Any, iotevents_data: Any) -> None:
    name = create_input(iotevents, unique("NumericKey"), "motorid", "n")
    model = unique("numeric_key")
    iotevents.create_detector_model(**_counter(model, name, "motorid"))
    send(iotevents_data, name, {"motorid": 100009, "n": 1})
    send(iotevents_data, name, {"motorid": "100009", "n": 1})  # the same detector
    assert keys(iotevents_data, model) == ["100009"]
    found = detector(iotevents_data, model, "100009")
    assert found["keyValue"] == "100009"
    assert found["state"]["variables"] == [{"name": "count", "value": "2"}]


def test_one_message_drives_every_model_that_reads_its_input(
    iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Shared"), "line", "machine", "n")
    by_line, by_machine = unique("by_line"), unique("by_machine")
    iotevents.create_detector_model(**_counter(by_line, name, "line"))
    iotevents.create_detector_model(**_counter(by_machine, name, "machine"))
    send(iotevents_data, name, {"line": "L1", "machine": "M7", "n": 1})
    send(iotevents_data, name, {"line": "L1", "machine": "M8", "n": 1})
    assert keys(iotevents_data, by_line) == ["L1"]
    assert set(keys(iotevents_data, by_machine)) == {"M7", "M8"}
    assert snapshot(iotevents_data, by_line, "L1") == ("S", {"count": "2"})
    assert snapshot(iotevents_data, by_machine, "M8") == ("S", {"count": "1"})


def test_a_backticked_key_path_reads_a_key_with_spaces(iotevents: Any, iotevents_data: Any) -> None:
    name = create_input(iotevents, unique("Backticks"), "sensor.`device id`", "n")
    model = unique("backticked_key")
    iotevents.create_detector_model(**_counter(model, name, "sensor.`device id`"))
    send(iotevents_data, name, {"sensor": {"device id": "dev-1"}, "n": 1})
    assert keys(iotevents_data, model) == ["dev-1"]


def test_a_model_sees_only_the_inputs_its_expressions_reference(
    iotevents: Any, iotevents_data: Any
) -> None:
    read = create_input(iotevents, unique("Read"), "id", "n")
    in_action = create_input(iotevents, unique("InAction"), "id", "label")
    ignored = create_input(iotevents, unique("Ignored"), "id", "n")
    model = unique("routing")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_input=[
                        event(
                            "count",
                            f"$input.{read}.n > 0",
                            # a reference in an action routes its input too (spec 3.3)
                            set_var("label", f"$input.{in_action}.label"),
                        )
                    ],
                )
            ],
            key="id",
        )
    )
    send(iotevents_data, ignored, {"id": "k1", "n": 1})
    assert keys(iotevents_data, model) == []
    send(iotevents_data, in_action, {"id": "k2", "label": "x"})
    assert keys(iotevents_data, model) == ["k2"]


# ----- timers (spec 4.3 timer triggers, 5.6 timeout(), 6) ------------------------------------


@pytest.mark.parametrize(
    ("method", "second_check"),
    [
        ("BATCH", "1"),  # every condition of the group reads the same timeout() value
        ("SERIAL", "0"),  # true only the first time it is checked
    ],
)
def test_timer_trigger_type_and_one_shot_timeout(
    server: RunningServer, iotevents: Any, iotevents_data: Any, method: str, second_check: str
) -> None:
    name = create_input(iotevents, unique("Trigger"), "id", "n", "stop")
    model = unique(f"trigger_{method.lower()}")
    counters = ("messages", "timers", "first", "second")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_enter=[
                        event(
                            "arm",
                            "true",
                            set_timer("t", "60"),
                            *(set_var(counter, "0") for counter in counters),
                        )
                    ],
                    on_input=[
                        event(
                            "byMessage",
                            'triggerType("Message")',
                            set_var("messages", "$variable.messages + 1"),
                        ),
                        event(
                            "byTimer",
                            'triggerType("Timer")',
                            set_var("timers", "$variable.timers + 1"),
                            # the last message's values stay readable on a timer trigger
                            set_var("nOnTimer", f"$input.{name}.n"),
                        ),
                        event(
                            "firstCheck", 'timeout("t")', set_var("first", "$variable.first + 1")
                        ),
                        event(
                            "secondCheck", 'timeout("t")', set_var("second", "$variable.second + 1")
                        ),
                        event(
                            "currentOnTimer",
                            f'triggerType("Timer") && currentInput("{name}")',
                            set_var("currentOnTimer", "1"),
                        ),
                    ],
                    transitions=[transition("stop", f"$input.{name}.stop == true", "Stopped")],
                ),
                state("Stopped"),
            ],
            key="id",
            method=method,
        )
    )
    send(iotevents_data, name, {"id": "k", "n": 4, "stop": False})
    found = detector(iotevents_data, model, "k")
    assert [timer["name"] for timer in found["state"]["timers"]] == ["t"]
    advance(server, 60)
    state_name, variables = snapshot(iotevents_data, model, "k")
    assert (state_name, variables) == (
        "S",
        {
            "messages": "1",
            "timers": "1",
            "first": "1",
            "second": second_check,
            "nOnTimer": "4",
        },
    )
    assert detector(iotevents_data, model, "k")["state"]["timers"] == []
    send(iotevents_data, name, {"id": "k", "n": 5, "stop": False})  # timeout() is spent
    assert snapshot(iotevents_data, model, "k")[1] == {**variables, "messages": "2"}


def test_batch_update_detector_timers_replace_the_running_ones(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Updated"), "id")
    model = unique("updated_timer")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_enter=[event("arm", "true", set_timer("own", "60"))],
                    transitions=[
                        transition("never", f"$input.{name}.id == 'never'", "S"),
                        transition("own", 'timeout("own")', "Own"),
                        transition("expired", 'timeout("check")', "Checked"),
                    ],
                ),
                state("Own"),
                state("Checked"),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k"})
    update = {"stateName": "S", "variables": [], "timers": [{"name": "check", "seconds": 90}]}
    answer = iotevents_data.batch_update_detector(
        detectors=[
            {"messageId": "u1", "detectorModelName": model, "keyValue": "k", "state": update}
        ]
    )
    assert answer["batchUpdateDetectorErrorEntries"] == []
    advance(server, 89)  # "own" (60 s) was not in the update's list: cleared, it never fires
    assert snapshot(iotevents_data, model, "k")[0] == "S"
    advance(server, 1)
    assert snapshot(iotevents_data, model, "k")[0] == "Checked"


def test_a_timer_re_armed_on_expiry_fires_every_period_within_one_advance(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Tick"), "id")
    model = unique("periodic")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_enter=[event("arm", "true", set_timer("tick", "60"), set_var("ticks", "0"))],
                    on_input=[
                        event(
                            "tick",
                            'timeout("tick")',
                            set_timer("tick", "60"),
                            set_var("ticks", "$variable.ticks + 1"),
                        )
                    ],
                    transitions=[transition("never", f"$input.{name}.id == 'never'", "S")],
                )
            ],
            key="id",
        )
    )
    start = clock_now(server)
    send(iotevents_data, name, {"id": "k"})
    advance(server, 180)  # the same as three steps of 60 s
    found = detector(iotevents_data, model, "k")
    (timer,) = found["state"]["timers"]
    assert (found["state"]["variables"], timer["timestamp"].timestamp()) == (
        [{"name": "ticks", "value": "3"}],
        pytest.approx(start + 240, abs=0.01),
    )


def _timer_model(model: str, name: str, duration: str) -> dict[str, Any]:
    return detector_model(
        model,
        "Waiting",
        [
            state(
                "Waiting",
                on_enter=[event("arm", "true", set_timer("t", duration))],
                on_input=[event("disarm", f"$input.{name}.clear == true", clear_timer("t"))],
                transitions=[transition("expired", 'timeout("t")', "Expired")],
            ),
            state("Expired"),
        ],
        key="id",
    )


def test_duration_expression_is_floored_and_short_durations_set_no_timer(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Duration"), "id", "seconds", "clear")
    model = unique("duration")
    iotevents.create_detector_model(**_timer_model(model, name, f"$input.{name}.seconds"))
    now = clock_now(server)
    send(iotevents_data, name, {"id": "floored", "seconds": 90.99})
    send(iotevents_data, name, {"id": "short", "seconds": 30})  # below 60 s: not set
    (timer,) = detector(iotevents_data, model, "floored")["state"]["timers"]
    assert timer["name"] == "t"
    assert timer["timestamp"].timestamp() == pytest.approx(now + 90, abs=0.01)
    assert detector(iotevents_data, model, "short")["state"]["timers"] == []
    advance(server, 89)
    assert snapshot(iotevents_data, model, "floored")[0] == "Waiting"
    advance(server, 1)
    assert snapshot(iotevents_data, model, "floored")[0] == "Expired"


@pytest.mark.parametrize(
    "timer",
    [
        {"timerName": "t", "seconds": 30},
        {"timerName": "t", "durationExpression": "30"},
        {"timerName": "t", "durationExpression": "59.9"},  # floored to 59
    ],
)
def test_timers_shorter_than_60_seconds_are_rejected_at_create(
    iotevents: Any, timer: dict[str, Any]
) -> None:
    name = create_input(iotevents, unique("ShortTimer"), "id", "clear")
    document = _timer_model(unique("short_timer"), name, "60")
    arm = document["detectorModelDefinition"]["states"][0]["onEnter"]["events"][0]
    arm["actions"] = [{"setTimer": timer}]
    with pytest.raises(iotevents.exceptions.InvalidRequestException):
        iotevents.create_detector_model(**document)
    arm["actions"] = [set_timer("t", "60.5")]  # 60 s after flooring: accepted
    iotevents.create_detector_model(**document)


def test_clear_timer_prevents_the_expiry(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Clear"), "id", "clear")
    model = unique("clear_timer")
    iotevents.create_detector_model(**_timer_model(model, name, "60"))
    send(iotevents_data, name, {"id": "cleared", "clear": False})
    send(iotevents_data, name, {"id": "running", "clear": False})
    send(iotevents_data, name, {"id": "cleared", "clear": True})
    assert detector(iotevents_data, model, "cleared")["state"]["timers"] == []
    advance(server, 120)
    assert snapshot(iotevents_data, model, "cleared")[0] == "Waiting"
    assert snapshot(iotevents_data, model, "running")[0] == "Expired"


def test_each_expiry_is_its_own_evaluation_in_expiry_order(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("TwoTimers"), "id", "stop")
    model = unique("two_timers")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_enter=[
                        event(
                            "arm",
                            "true",
                            set_timer("late", "90"),
                            set_timer("early", "60"),
                            set_var("trail", "''"),
                        )
                    ],
                    on_input=[
                        event("late", 'timeout("late")', set_var("trail", "$variable.trail + 'L'")),
                        event(
                            "early", 'timeout("early")', set_var("trail", "$variable.trail + 'E'")
                        ),
                        event("both", 'timeout("early") && timeout("late")', set_var("both", "1")),
                    ],
                    transitions=[transition("stop", f"$input.{name}.stop == true", "Stopped")],
                ),
                state("Stopped"),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "stop": False})
    advance(server, 100)  # both fall due in one step: two evaluations, earliest first
    assert snapshot(iotevents_data, model, "k") == ("S", {"trail": '"EL"'})


def test_a_timer_set_in_one_state_expires_in_another(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Handover"), "id", "move")
    model = unique("timer_handover")
    iotevents.create_detector_model(
        **detector_model(
            model,
            "A",
            [
                state(
                    "A",
                    on_enter=[event("arm", "true", set_timer("t", "60"))],
                    transitions=[transition("move", f"$input.{name}.move == true", "B")],
                ),
                state("B", transitions=[transition("expired", 'timeout("t")', "C")]),
                state("C"),
            ],
            key="id",
        )
    )
    send(iotevents_data, name, {"id": "k", "move": False})
    send(iotevents_data, name, {"id": "k", "move": True})
    assert snapshot(iotevents_data, model, "k")[0] == "B"
    advance(server, 60)
    assert snapshot(iotevents_data, model, "k")[0] == "C"


def test_reset_timer_reuses_the_duration_evaluated_when_it_was_set(
    server: RunningServer, iotevents: Any, iotevents_data: Any
) -> None:
    name = create_input(iotevents, unique("Reset"), "id", "seconds", "command")
    model = unique("reset_duration")
    i = f"$input.{name}"
    iotevents.create_detector_model(
        **detector_model(
            model,
            "S",
            [
                state(
                    "S",
                    on_enter=[event("arm", "true", set_timer("t", f"{i}.seconds"))],
                    on_input=[
                        event(
                            "reset",
                            f"{i}.command == 'reset'",
                            {"resetTimer": {"timerName": "t"}},
                        ),
                        event("set", f"{i}.command == 'set'", set_timer("t", f"{i}.seconds")),
                    ],
                    transitions=[transition("expired", 'timeout("t")', "Expired")],
                ),
                state("Expired"),
            ],
            key="id",
        )
    )

    def due() -> float:
        (timer,) = detector(iotevents_data, model, "k")["state"]["timers"]
        return float(timer["timestamp"].timestamp())

    send(iotevents_data, name, {"id": "k", "seconds": 120, "command": ""})
    now = advance(server, 30)
    send(iotevents_data, name, {"id": "k", "seconds": 300, "command": "reset"})
    assert due() == pytest.approx(now + 120, abs=0.01)  # not re-evaluated: still 120 s
    now = advance(server, 30)
    send(iotevents_data, name, {"id": "k", "seconds": 200, "command": "set"})
    assert due() == pytest.approx(now + 200, abs=0.01)  # setTimer again: the new duration
    advance(server, 199)
    assert snapshot(iotevents_data, model, "k")[0] == "S"
    advance(server, 1)
    assert snapshot(iotevents_data, model, "k")[0] == "Expired"


# ----- iotEvents action: feeding another input of the same engine (spec 7.2, 7.3) ------------


def test_iot_events_action_feeds_the_default_payload_to_another_input(
    iotevents: Any, iotevents_data: Any
) -> None:
    pressure = create_input(iotevents, unique("ChainPressure"), "motorid", "pressure")
    relay = create_input(
        iotevents,
        unique("ChainRelay"),
        "eventName",
        "payload.detector.keyValue",
        "payload.state.stateName",
        "payload.state.variables.level",
        "payload.eventTriggerDetails.triggerType",
    )
    source, sink = unique("chain_source"), unique("chain_sink")
    iotevents.create_detector_model(
        **detector_model(
            source,
            "Normal",
            [
                state(
                    "Normal",
                    transitions=[
                        transition(
                            "Overpressurized",
                            f"$input.{pressure}.pressure > 70",
                            "Dangerous",
                            set_var("level", f"$input.{pressure}.pressure"),
                        )
                    ],
                ),
                state(
                    "Dangerous",
                    on_enter=[event("alarm", "true", {"iotEvents": {"inputName": relay}})],
                ),
            ],
            key="motorid",
        )
    )
    r = f"$input.{relay}"
    iotevents.create_detector_model(
        **detector_model(
            sink,
            "Watching",
            [
                state(
                    "Watching",
                    on_input=[
                        event(
                            "relay",
                            f'currentInput("{relay}") && triggerType("Message")',
                            set_var("from", f"{r}.payload.state.stateName"),
                            set_var("event", f"{r}.eventName"),
                            set_var("level", f"{r}.payload.state.variables.level"),
                            set_var("key", f"{r}.payload.detector.keyValue"),
                            set_var("trigger", f"{r}.payload.eventTriggerDetails.triggerType"),
                        )
                    ],
                    transitions=[
                        transition(
                            "alerted", f"{r}.payload.state.stateName == 'Dangerous'", "Alerted"
                        )
                    ],
                ),
                state("Alerted"),
            ],
            key="payload.detector.keyValue",
        )
    )
    motor = random.randrange(10**8, 10**9)  # a numeric key: keyValue is still a string
    send(iotevents_data, pressure, {"motorid": motor, "pressure": 80})
    assert snapshot(iotevents_data, source, str(motor))[0] == "Dangerous"

    def relayed() -> tuple[str, dict[str, str]] | None:
        return snapshot(iotevents_data, sink, str(motor)) if keys(iotevents_data, sink) else None

    assert wait_for(relayed) == (
        "Alerted",
        {
            "from": '"Dangerous"',
            "event": '"alarm"',
            "level": "80",
            "key": f'"{motor}"',
            "trigger": '"Message"',
        },
    )
