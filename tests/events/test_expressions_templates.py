"""Substitution templates (spec 5.7), value rendering (4.5), payload decoding (2.2) and the
literal-or-expression heuristic for action fields (5.9)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from thinghub.events.expressions import (
    UNDEFINED,
    Expression,
    ExpressionSyntaxError,
    SimpleEvaluation,
    Template,
    compile_expression,
    compile_template,
    literal_or_expression,
    parse_payload,
    render_value,
    to_json_literal,
)

GREENHOUSE = SimpleEvaluation(
    inputs={
        "GreenhouseInput": parse_payload(
            '{"temperature": 10.01, "sensors": [{"sensor1": "Sensor_1"}], "date": "2000-01-01"}'
        )
    },
    variables={"SensorID": 10, "TableName": "Greenhouse Temperature Table"},
)


def value(text: str, evaluation: SimpleEvaluation = GREENHOUSE) -> Any:
    return compile_expression(text).evaluate(evaluation)


# --- the documented examples -------------------------------------------------------------------


def test_documented_fahrenheit_template() -> None:
    text = "'${$input.GreenhouseInput.temperature * 9 / 5 + 32} in Fahrenheit'"
    assert compile_template(text).evaluate(GREENHOUSE) == "50.018 in Fahrenheit"


# The guide prints the expression and its result JSON-escaped, as they appear in a model file.
DOCUMENTED_JSON_EXPRESSION = (
    r"""'{\"sensor_id\":\"${$input.GreenhouseInput.sensors[0].sensor1}\",\"temperature\":"""
    r"""\"${$input.GreenhouseInput.temperature*9/5+32}\"}'"""
)
DOCUMENTED_JSON_RESULT = r"""{\"sensor_id\":\"Sensor_1\",\"temperature\":\"50.018\"}"""


def test_documented_json_template_as_printed() -> None:
    result = compile_template(DOCUMENTED_JSON_EXPRESSION).evaluate(GREENHOUSE)
    # \" in a string literal is a quote, so the payload is JSON; escaped again, it is the
    # documented text character for character.
    assert result == '{"sensor_id":"Sensor_1","temperature":"50.018"}'
    assert json.dumps(result)[1:-1] == DOCUMENTED_JSON_RESULT
    assert json.loads(result) == {"sensor_id": "Sensor_1", "temperature": "50.018"}


def test_documented_json_template_as_read_from_a_model_file() -> None:
    model = json.loads('{"contentExpression": "' + DOCUMENTED_JSON_EXPRESSION + '"}')
    result = compile_template(model["contentExpression"]).evaluate(GREENHOUSE)
    assert result == '{"sensor_id":"Sensor_1","temperature":"50.018"}'


def test_documented_concatenation() -> None:
    text = "'Greenhouse Temperature Table ' + $input.GreenhouseInput.date"
    assert compile_template(text).evaluate(GREENHOUSE) == "Greenhouse Temperature Table 2000-01-01"


# --- template behaviour ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'${10}'", "10"),
        ("'${30.0}'", "30.0"),
        ("'${1.50}'", "1.5"),
        ("'${20 / 2.0}'", "10.0"),
        ("'${1e3}'", "1000.0"),
        ("'${-0.25}'", "-0.25"),
        ("'${true}/${false}'", "true/false"),
        ("'${'raw'}'", "raw"),
        ("'<${$variable.SensorID}>'", "<10>"),
        ("'${$variable.TableName}'", "Greenhouse Temperature Table"),
        ('"${$variable.SensorID + 1}"', "11"),  # double quotes interpolate too
        ("'${$variable.SensorID}${$variable.SensorID}'", "1010"),
        ("'a ${1 + 1} b ${2 * 3} c'", "a 2 b 6 c"),
        ("'${'x' + '${1 + 1}'}'", "x2"),  # nested template, same quote style
        ("'${\"in ${'deep ${3}'}\"}'", "in deep 3"),
        ("'cost: $5 {not a template}'", "cost: $5 {not a template}"),
        ("'${$input.GreenhouseInput.sensors[0]}'", '{"sensor1":"Sensor_1"}'),
        ("'${ $variable.SensorID }'", "10"),
        ("'\\${1}'", "\\${1}"),  # a backslash before $ is kept and stops the substitution
        ("'${'}'}'", "}"),  # a brace inside a nested string does not end the part
        ("'${'a' == 'a'}'", "true"),
    ],
)
def test_templates(text: str, expected: str) -> None:
    assert value(text) == expected


def test_a_null_part_renders_as_null() -> None:
    evaluation = SimpleEvaluation(inputs={"I": {"a": None}})
    assert value("'{\"a\": ${$input.I.a}}'", evaluation) == '{"a": null}'


def test_an_undefined_part_makes_the_template_undefined() -> None:
    assert value("'sensor ${$variable.missing}'") is UNDEFINED
    assert value("'sensor ${1 + 'a'}'") is UNDEFINED
    assert value("'a' + $variable.missing") is UNDEFINED


def test_a_template_is_a_template_object_with_its_parts() -> None:
    template = compile_expression("'Temp ${$input.GreenhouseInput.temperature} at ${$variable.x}'")
    assert isinstance(template, Template)
    literal_parts = [part for part in template.parts if isinstance(part, str)]
    expression_parts = [part for part in template.parts if isinstance(part, Expression)]
    assert literal_parts == ["Temp ", " at "]
    assert [part.source for part in expression_parts] == [
        "$input.GreenhouseInput.temperature",
        "$variable.x",
    ]
    assert expression_parts[1].references.variables == frozenset({"x"})
    assert template.references.inputs == frozenset({"GreenhouseInput"})
    assert template.references.variables == frozenset({"x"})


def test_a_plain_string_is_not_a_template() -> None:
    expression = compile_expression("'no substitutions'")
    assert not isinstance(expression, Template)
    assert expression.evaluate(GREENHOUSE) == "no substitutions"


def test_content_expression_results_that_are_not_strings_are_returned_as_they_are() -> None:
    # The runtime rejects these for JSON payloads and renders them for STRING payloads.
    assert compile_template("$variable.SensorID").evaluate(GREENHOUSE) == 10
    assert compile_template("1 < 2").evaluate(GREENHOUSE) is True


# --- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "interpolated", "json_literal"),
    [
        (10, "10", "10"),
        (-3, "-3", "-3"),
        (Decimal("30.0"), "30.0", "30.0"),
        (Decimal("19.572"), "19.572", "19.572"),
        (Decimal("1.50"), "1.5", "1.5"),
        (Decimal("1E+1"), "10.0", "10.0"),
        (Decimal("0.000001"), "0.000001", "0.000001"),
        (Decimal("-0.0"), "-0.0", "-0.0"),
        (30.0, "30.0", "30.0"),
        (0.1, "0.1", "0.1"),
        (False, "false", "false"),
        (True, "true", "true"),
        ("01", "01", '"01"'),
        ('say "hi"\n', 'say "hi"\n', '"say \\"hi\\"\\n"'),
        ("é", "é", '"é"'),
        (None, "null", "null"),
        ({"a": [1, Decimal("2.0"), None]}, '{"a":[1,2.0,null]}', '{"a":[1,2.0,null]}'),
    ],
)
def test_render_value_and_to_json_literal(given: Any, interpolated: str, json_literal: str) -> None:
    assert render_value(given) == interpolated
    assert to_json_literal(given) == json_literal


def test_describe_detector_renderings() -> None:
    # The HVAC DescribeDetector output: "10", "30.0", "false" and "\"01\"".
    variables = parse_payload('{"sensorCount": 10, "rangeHigh": 30.0, "resetMe": false}')
    variables["sensorId"] = "01"
    rendered = {name: to_json_literal(v) for name, v in variables.items()}
    assert rendered == {
        "sensorCount": "10",
        "rangeHigh": "30.0",
        "resetMe": "false",
        "sensorId": '"01"',
    }
    assert to_json_literal(variables) == (
        '{"sensorCount":10,"rangeHigh":30.0,"resetMe":false,"sensorId":"01"}'
    )


def test_undefined_has_no_rendering() -> None:
    with pytest.raises(ValueError):
        render_value(UNDEFINED)
    with pytest.raises(ValueError):
        to_json_literal(UNDEFINED)


# --- payloads ----------------------------------------------------------------------------------


def test_parse_payload_keeps_integers_and_decimals_apart() -> None:
    payload = parse_payload(b'{"i": 10, "d": 30.0, "e": 1e3, "n": -0.5, "b": true, "z": null}')
    assert [(type(v).__name__, v) for v in payload.values()] == [
        ("int", 10),
        ("Decimal", Decimal("30.0")),
        ("Decimal", Decimal("1E+3")),
        ("Decimal", Decimal("-0.5")),
        ("bool", True),
        ("NoneType", None),
    ]
    assert to_json_literal(payload["d"]) == "30.0"


@pytest.mark.parametrize("raw", ["{", '{"a": NaN}', '{"a": Infinity}', "", b"\xff"])
def test_parse_payload_rejects_what_is_not_json(raw: str | bytes) -> None:
    with pytest.raises(ValueError):
        parse_payload(raw)


# --- literal or expression (spec 5.9) ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "hvac/Heating/Off",
        "IoTEvents/Output",
        "Device_stolen",
        "temperatureSensor/spike",
        "arn:aws:sns:us-west-2:123456789012:heatOff",
        "https://sqs.us-east-1.amazonaws.com/123456789012/queue",
        "$aws/things/thing/shadow/update",
        "123",
        "true",
        "1 + 2",
        "a-b",
        "hvac/${$variable.area}/on",  # not an expression without quotes: AWS would send it raw
        "",
    ],
)
def test_plain_text_stands_for_itself(text: str) -> None:
    expression = literal_or_expression(text)
    assert expression.evaluate(GREENHOUSE) == text
    assert expression.references.inputs == frozenset()
    assert expression.references.variables == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'my/topic'", "my/topic"),
        ('"my/topic"', "my/topic"),
        ("$variable.TableName", "Greenhouse Temperature Table"),
        ("'hvac/${$variable.SensorID}/on'", "hvac/10/on"),
        ("'table-' + $input.GreenhouseInput.date", "table-2000-01-01"),
        ("$variable.SensorID", 10),
    ],
)
def test_expressions_with_a_reference_or_a_quoted_literal_are_evaluated(
    text: str, expected: Any
) -> None:
    assert literal_or_expression(text).evaluate(GREENHOUSE) == expected


def test_template_syntax_errors_point_into_the_template() -> None:
    text = "'a ${$variable.x +} b'"
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_template(text)
    assert caught.value.message == "unexpected end of expression"
    assert caught.value.position == text.index("}")
