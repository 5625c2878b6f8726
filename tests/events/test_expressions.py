"""The expression language: literals, references, operators, precedence and type rules.

Spec sections 2.2 (paths, JSON types), 4.3 (condition results), 5.2-5.5.
"""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import pytest

from thinghub.events.expressions import (
    UNDEFINED,
    References,
    SimpleEvaluation,
    compile_condition,
    compile_expression,
    parse_payload,
)

GREENHOUSE = parse_payload(
    b'{"temperature": 10.01, "sensors": [{"sensor1": "Sensor_1"}, {"sensor1": "Sensor_2"}],'
    b' "date": "2000-01-01", "grid": [[1, 2], [3, 4]], "a": null, "nested": {"n": null},'
    b' "motor pressure": 81, "_value": 7, "x-y": "hyphen", "count": 10, "ratio": 30.0,'
    b' "flag": true, "text": "abc"}'
)


def env(**variables: Any) -> SimpleEvaluation:
    return SimpleEvaluation(inputs={"G": GREENHOUSE}, variables=variables)


def value(text: str, evaluation: SimpleEvaluation | None = None) -> Any:
    return compile_expression(text).evaluate(evaluation if evaluation is not None else env())


def typed(result: Any) -> tuple[str, Any]:
    """The result with its type, so that 12 and 12.0 and True are told apart."""
    if result is UNDEFINED:
        return ("undefined", None)
    return (type(result).__name__, result)


# --- literals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123", ("int", 123)),
        ("0", ("int", 0)),
        ("007", ("int", 7)),
        ("123.12", ("Decimal", Decimal("123.12"))),
        ("30.0", ("Decimal", Decimal("30.0"))),
        ("1.5e3", ("Decimal", Decimal("1500"))),
        ("2E-2", ("Decimal", Decimal("0.02"))),
        ("true", ("bool", True)),
        ("false", ("bool", False)),
        ("'hello'", ("str", "hello")),
        ('"hello"', ("str", "hello")),
        ("''", ("str", "")),
        ('""', ("str", "")),
        ("'say \"hi\"'", ("str", 'say "hi"')),
        ('"it\'s"', ("str", "it's")),
        ("99999999999999999999", ("int", 99999999999999999999)),
    ],
)
def test_literals(text: str, expected: tuple[str, Any]) -> None:
    assert typed(value(text)) == expected


def test_decimal_literals_keep_their_digits() -> None:
    assert str(value("30.0")) == "30.0"
    assert str(value("0.1")) == "0.1"


@pytest.mark.parametrize("quote", ["'", '"'])
@pytest.mark.parametrize(
    ("escaped", "expected"),
    [
        ("\\\\", "\\"),
        ("\\'", "'"),
        ('\\"', '"'),
        ("\\n", "\n"),
        ("\\t", "\t"),
        ("\\d", "\\d"),  # not an escape: kept as written
        ("a\\\\nb", "a\\nb"),  # an escaped backslash followed by a plain n
    ],
)
def test_string_escapes_in_both_quote_styles(quote: str, escaped: str, expected: str) -> None:
    assert value(f"{quote}<{escaped}>{quote}") == f"<{expected}>"


def test_escaped_quote_does_not_end_the_string() -> None:
    assert value("'a\\'b' + 'c'") == "a'bc"
    assert value('"a\\"b" + "c"') == 'a"bc'


# --- references --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$input.G.temperature", ("Decimal", Decimal("10.01"))),
        ("$input.G.count", ("int", 10)),
        ("$input.G.ratio", ("Decimal", Decimal("30.0"))),
        ("$input.G.flag", ("bool", True)),
        ("$input.G.date", ("str", "2000-01-01")),
        ("$input.G.sensors[0].sensor1", ("str", "Sensor_1")),
        ("$input.G.sensors[1].sensor1", ("str", "Sensor_2")),
        ("$input.G.grid[1][0]", ("int", 3)),
        ("$input.G.`motor pressure`", ("int", 81)),
        ("$input.G.`_value`", ("int", 7)),
        ("$input.G.`x-y`", ("str", "hyphen")),
        ("$input.`G`.count", ("int", 10)),
        ("$input.G.a", ("NoneType", None)),
    ],
)
def test_input_references(text: str, expected: tuple[str, Any]) -> None:
    assert typed(value(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "$input.G.missing",
        "$input.Other.temperature",  # no message on that input yet
        "$input.G.sensors[2].sensor1",  # past the end
        "$input.G.text[0]",  # an index into a string is not a path
        "$input.G.sensors.sensor1",  # a key on an array
        "$input.G.count.more",  # a key on a number
        "$input.G.a.b",  # below null
        "$input.G.nested.n.deeper",
        "$input.G.temperature[0]",
        "$input.G.grid[0][5]",
        "$input.G.sensors[0].sensor1.x.y.z",
    ],
)
def test_missing_paths_are_undefined(text: str) -> None:
    assert value(text) is UNDEFINED


def test_an_object_path_gives_the_object() -> None:
    assert value("$input.G.sensors[0]") == {"sensor1": "Sensor_1"}
    assert value("$input.G") is GREENHOUSE


def test_variables() -> None:
    evaluation = env(count=3, name="pump", ratio=Decimal("1.5"), on=False)
    assert typed(value("$variable.count", evaluation)) == ("int", 3)
    assert typed(value("$variable.name", evaluation)) == ("str", "pump")
    assert typed(value("$variable.ratio", evaluation)) == ("Decimal", Decimal("1.5"))
    assert typed(value("$variable.on", evaluation)) == ("bool", False)
    assert value("$variable.never", evaluation) is UNDEFINED
    assert value("$variable.`count`", evaluation) == 3


def test_floats_from_outside_read_as_decimals() -> None:
    evaluation = SimpleEvaluation(inputs={"I": {"t": 0.1, "deep": {"a": {"b": 2.5}}}})
    evaluation.variables["f"] = 0.2
    assert typed(value("$input.I.t", evaluation)) == ("Decimal", Decimal("0.1"))
    assert typed(value("$input.I.deep.a.b", evaluation)) == ("Decimal", Decimal("2.5"))
    assert value("$input.I.t + $variable.f == 0.3", evaluation) is True


def test_long_paths() -> None:
    payload = {"a": {"b": {"c": {"d": {"e": [10, {"f": 11}]}}}}}
    evaluation = SimpleEvaluation(inputs={"I": payload})
    assert value("$input.I.a.b.c.d.e[1].f", evaluation) == 11
    assert value("$input.I.a.b.c.d.e[0]", evaluation) == 10
    assert value("$input.I.a.b.c.d.x", evaluation) is UNDEFINED


# --- operators ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!true", ("bool", False)),
        ("!false", ("bool", True)),
        ("~13", ("int", -14)),
        ("~-1", ("int", 0)),
        ("-5", ("int", -5)),
        ("-2.5", ("Decimal", Decimal("-2.5"))),
        ("--5", ("int", 5)),
        ("2 + 3", ("int", 5)),
        ("2 - 3", ("int", -1)),
        ("2 * 3", ("int", 6)),
        ("7 / 2", ("int", 3)),
        ("'my' + 'string'", ("str", "mystring")),
        ("13 | 5", ("int", 13)),
        ("13 & 5", ("int", 5)),
        ("13 ^ 5", ("int", 8)),
        ("1 < 2", ("bool", True)),
        ("2 < 2", ("bool", False)),
        ("2 <= 2", ("bool", True)),
        ("3 <= 2", ("bool", False)),
        ("3 > 2", ("bool", True)),
        ("2 > 2", ("bool", False)),
        ("2 >= 2", ("bool", True)),
        ("1 >= 2", ("bool", False)),
        ("2 == 2", ("bool", True)),
        ("2 == 3", ("bool", False)),
        ("2 != 3", ("bool", True)),
        ("2 != 2", ("bool", False)),
        ("true && true", ("bool", True)),
        ("true && false", ("bool", False)),
        ("false && true", ("bool", False)),
        ("false || true", ("bool", True)),
        ("false || false", ("bool", False)),
        ("true || false", ("bool", True)),
        ("'abc' < 'abd'", ("bool", True)),
        ("'b' > 'abc'", ("bool", True)),
        ("'abc' == 'abc'", ("bool", True)),
        ("\"abc\" == 'abc'", ("bool", True)),
        ("1 == 1.0", ("bool", True)),
        ("2 > 1.5", ("bool", True)),
        ("true == true", ("bool", True)),
        ("true != false", ("bool", True)),
    ],
)
def test_each_operator(text: str, expected: tuple[str, Any]) -> None:
    assert typed(value(text)) == expected


def test_operators_on_references() -> None:
    evaluation = env(a=7, b=2, d=Decimal("0.5"), s="x", t=True)
    cases = {
        "$variable.a + $variable.b": 9,
        "$variable.a - $variable.b": 5,
        "$variable.a * $variable.b": 14,
        "$variable.a / $variable.b": 3,
        "$variable.a | $variable.b": 7,
        "$variable.a & $variable.b": 2,
        "$variable.a ^ $variable.b": 5,
        "-$variable.a": -7,
        "~$variable.a": -8,
        "$variable.a * $variable.d": Decimal("3.5"),
        "$variable.s + $variable.s": "xx",
        "!$variable.t": False,
        "$variable.a > $variable.b": True,
        "$variable.a < $variable.b": False,
        "$variable.a == $variable.b": False,
        "$variable.t && $variable.t": True,
    }
    for text, expected in cases.items():
        assert typed(value(text, evaluation)) == typed(expected), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("7 / -2", -3),
        ("-7 / -2", 3),
        ("6 / 3", 2),
        ("-6 / 3", -2),
        ("1 / 3", 0),
        ("-1 / 3", 0),
        ("99 / 100", 0),
    ],
)
def test_integer_division_truncates_toward_zero(text: str, expected: int) -> None:
    assert typed(value(text)) == ("int", expected)


@pytest.mark.parametrize("text", ["1 / 0", "1.0 / 0", "1 / 0.0", "0 / 0.0", "0.0 / 0"])
def test_division_by_zero_is_undefined(text: str) -> None:
    assert value(text) is UNDEFINED


def test_decimal_arithmetic_is_exact() -> None:
    assert typed(value("$input.G.temperature * 9 / 5 + 32")) == ("Decimal", Decimal("50.018"))
    assert value("0.1 + 0.2 == 0.3") is True
    assert typed(value("10 / 4.0")) == ("Decimal", Decimal("2.5"))
    assert typed(value("1 + 1.0")) == ("Decimal", Decimal("2.0"))
    # The HVAC example's running average: ((20.0 * (10 - 1)) + 15.72) / 10 is 19.572.
    evaluation = env(averageTemperature=Decimal("20.0"), sensorCount=10)
    evaluation.inputs["T"] = {"sensorData": {"temperature": Decimal("15.72")}}
    average = value(
        "((($variable.averageTemperature * ($variable.sensorCount - 1))"
        " + $input.T.sensorData.temperature) / $variable.sensorCount)",
        evaluation,
    )
    assert typed(average) == ("Decimal", Decimal("19.572"))


def test_decimal_division_has_34_significant_digits() -> None:
    assert value("1 / 3.0") == Decimal("0." + "3" * 34)


def test_integers_are_not_limited_to_64_bits_outside_bit_operations() -> None:
    assert value("9223372036854775807 + 1") == 9223372036854775808


# --- precedence and associativity --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),  # * over +
        ("(1 + 2) * 3", 9),
        ("2 * 3 - 8 / 2", 2),
        ("10 - 4 - 3", 3),  # left-associative
        ("64 / 4 / 2", 8),
        ("2 * 3 / 4", 1),  # (2*3)/4, not 2*(3/4) = 0
        ("- 2 + 3", 1),  # unary minus binds tighter than +
        ("~0 + 1", 0),  # ~ binds tighter than +
        ("-2 * -3", 6),
        ("5 | 3 ^ 6", 5),  # ^ over |: 5 | 5, not (5|3)^6 = 1
        ("5 ^ 3 & 6", 7),  # & over ^: 5 ^ 2, not (5^3)&6 = 6
        ("1 | 2 & 3", 3),
        ("1 + 2 < 4", True),  # arithmetic over comparison
        ("1 < 2 == 2 < 3", True),  # relational over equality
        ("true || false && false", True),  # && over ||
        ("false && true || true", True),
        ("!false && false", False),  # ! over &&
        ("!(false && false)", True),
        ("2 > 1 && 3 > 2", True),
        ("1 == 1 || 1 / 0 == 1", True),
    ],
)
def test_precedence(text: str, expected: Any) -> None:
    assert typed(value(text)) == typed(expected)


def test_equality_binds_tighter_than_bitwise_and() -> None:
    # C order: 6 & (3 == 3) mixes Integer and Boolean, so the result is invalid.
    assert value("6 & 3 == 3") is UNDEFINED
    assert value("(6 & 3) == 2") is True


def test_whitespace_and_newlines_are_insignificant() -> None:
    assert value("  1+2\n*\t3  ") == 7
    assert value("$input.G.count>5&&$input.G.flag") is True


# --- type compatibility (spec 5.4) -------------------------------------------------------------

SAMPLES = {"Integer": "6", "Decimal": "2.5", "String": "'ab'", "Boolean": "true"}
TYPES = list(SAMPLES)
U = ("undefined", None)

# Every operator over every ordered pair of types. A cell left out is invalid (UNDEFINED).
MATRIX: dict[str, dict[tuple[str, str], tuple[str, Any]]] = {
    "+": {
        ("Integer", "Integer"): ("int", 12),
        ("Integer", "Decimal"): ("Decimal", Decimal("8.5")),
        ("Decimal", "Integer"): ("Decimal", Decimal("8.5")),
        ("Decimal", "Decimal"): ("Decimal", Decimal("5.0")),
        ("String", "String"): ("str", "abab"),
    },
    "-": {
        ("Integer", "Integer"): ("int", 0),
        ("Integer", "Decimal"): ("Decimal", Decimal("3.5")),
        ("Decimal", "Integer"): ("Decimal", Decimal("-3.5")),
        ("Decimal", "Decimal"): ("Decimal", Decimal("0.0")),
    },
    "*": {
        ("Integer", "Integer"): ("int", 36),
        ("Integer", "Decimal"): ("Decimal", Decimal("15.0")),
        ("Decimal", "Integer"): ("Decimal", Decimal("15.0")),
        ("Decimal", "Decimal"): ("Decimal", Decimal("6.25")),
    },
    "/": {
        ("Integer", "Integer"): ("int", 1),
        ("Integer", "Decimal"): ("Decimal", Decimal("2.4")),
        ("Decimal", "Integer"): ("Decimal", Decimal("0.4166666666666666666666666666666667")),
        ("Decimal", "Decimal"): ("Decimal", Decimal("1")),
    },
    "<": {
        ("Integer", "Integer"): ("bool", False),
        ("Integer", "Decimal"): ("bool", False),
        ("Decimal", "Integer"): ("bool", True),
        ("Decimal", "Decimal"): ("bool", False),
        ("String", "String"): ("bool", False),
    },
    "<=": {
        ("Integer", "Integer"): ("bool", True),
        ("Integer", "Decimal"): ("bool", False),
        ("Decimal", "Integer"): ("bool", True),
        ("Decimal", "Decimal"): ("bool", True),
        ("String", "String"): ("bool", True),
    },
    ">": {
        ("Integer", "Integer"): ("bool", False),
        ("Integer", "Decimal"): ("bool", True),
        ("Decimal", "Integer"): ("bool", False),
        ("Decimal", "Decimal"): ("bool", False),
        ("String", "String"): ("bool", False),
    },
    ">=": {
        ("Integer", "Integer"): ("bool", True),
        ("Integer", "Decimal"): ("bool", True),
        ("Decimal", "Integer"): ("bool", False),
        ("Decimal", "Decimal"): ("bool", True),
        ("String", "String"): ("bool", True),
    },
    "==": {
        ("Integer", "Integer"): ("bool", True),
        ("Integer", "Decimal"): ("bool", False),
        ("Decimal", "Integer"): ("bool", False),
        ("Decimal", "Decimal"): ("bool", True),
        ("String", "String"): ("bool", True),
        ("Boolean", "Boolean"): ("bool", True),
    },
    "!=": {
        ("Integer", "Integer"): ("bool", False),
        ("Integer", "Decimal"): ("bool", True),
        ("Decimal", "Integer"): ("bool", True),
        ("Decimal", "Decimal"): ("bool", False),
        ("String", "String"): ("bool", False),
        ("Boolean", "Boolean"): ("bool", False),
    },
    "&": {("Integer", "Integer"): ("int", 6)},
    "|": {("Integer", "Integer"): ("int", 6)},
    "^": {("Integer", "Integer"): ("int", 0)},
    "&&": {("Boolean", "Boolean"): ("bool", True)},
    # true || x is true without looking at x (short-circuit).
    "||": {("Boolean", kind): ("bool", True) for kind in TYPES},
}
CELLS = [(op, a, b) for op in MATRIX for a in TYPES for b in TYPES]


@pytest.mark.parametrize("form", ["literals", "references"])
@pytest.mark.parametrize(("op", "left", "right"), CELLS)
def test_type_compatibility(op: str, left: str, right: str, form: str) -> None:
    expected = MATRIX[op].get((left, right), U)
    if form == "literals":
        text = f"{SAMPLES[left]} {op} {SAMPLES[right]}"
        evaluation = env()
    else:  # the same through variables, so nothing is folded at compile time
        evaluation = env(l=value(SAMPLES[left]), r=value(SAMPLES[right]))
        text = f"$variable.l {op} $variable.r"
    assert typed(value(text, evaluation)) == expected


@pytest.mark.parametrize(("op", "operand"), [(op, kind) for op in "!-~" for kind in TYPES])
def test_unary_type_compatibility(op: str, operand: str) -> None:
    expected = {
        ("!", "Boolean"): ("bool", False),
        ("-", "Integer"): ("int", -6),
        ("-", "Decimal"): ("Decimal", Decimal("-2.5")),
        ("~", "Integer"): ("int", -7),
    }.get((op, operand), U)
    evaluation = env(v=value(SAMPLES[operand]))
    assert typed(value(f"{op}$variable.v", evaluation)) == expected
    assert typed(value(f"{op}{SAMPLES[operand]}")) == expected


def test_no_implicit_number_string_conversion() -> None:
    assert value("'1' + 1") is UNDEFINED
    assert value("'1' == 1") is UNDEFINED
    assert value("$input.G.date > 5") is UNDEFINED
    assert compile_condition("'1' == 1")(env()) is False
    assert compile_condition("'1' != 1")(env()) is False


# --- undefined and null (spec 5.5) -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "$variable.u + 1",
        "1 + $variable.u",
        "$variable.u * 2",
        "$variable.u / 2",
        "-$variable.u",
        "~$variable.u",
        "!$variable.u",
        "$variable.u > 1",
        "1 <= $variable.u",
        "$variable.u | 1",
        "$variable.u && true",
        "true && $variable.u",
        "$variable.u + 'x'",
        "$input.G.a + 1",  # null
        "-$input.G.a",
        "$input.G.a > 1",
        "$input.G.a == 1",  # null is not undefined: comparing it is invalid
        "$input.G.a != 1",
        "$input.G.a == $input.G.a",
        "$input.G.a && true",
        "1 || true",  # not a Boolean
        "false || 1",
        "'true' && true",
    ],
)
def test_invalid_operands_make_the_result_undefined(text: str) -> None:
    evaluation = env()
    assert value(text, evaluation) is UNDEFINED
    assert compile_condition(text)(evaluation) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$variable.u == 1", False),
        ("$variable.u != 1", True),
        ("1 == $variable.u", False),
        ("1 != $variable.u", True),
        ("$variable.u == 'x'", False),
        ("$variable.u != true", True),
        ("$variable.u == $variable.u", False),  # undefined equals nothing, not even itself
        ("$variable.u != $variable.u", True),  # the AWS templates' initialisation idiom
        ("$variable.u != $variable.v", True),
        ("$variable.u == $input.G.a", False),
        ("$variable.u || true", True),  # || treats undefined data as false
        ("$variable.u || false", False),
        ("$variable.u > 1 || true", True),
        ("true || $variable.u", True),
        ("false || $variable.u", False),
        ("$variable.u || $variable.v", False),
        ("$input.G.a || true", True),  # null counts as false for || too
        ("false && $variable.u", False),  # short-circuit
        ("!($variable.u || false)", True),
    ],
)
def test_undefined_rules(text: str, expected: bool) -> None:
    evaluation = env()
    assert typed(value(text, evaluation)) == ("bool", expected)
    assert compile_condition(text)(evaluation) is expected


def test_the_threshold_idiom_turns_false_once_the_variable_is_set() -> None:
    condition = compile_condition("$variable.threshold != $variable.threshold")
    assert condition(env()) is True
    assert condition(env(threshold=70)) is False


# --- conditions (spec 4.3) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("false", False),
        ("1", False),  # not a Boolean
        ("'true'", False),
        ("$variable.t", True),
        ("$variable.n", False),
        ("$variable.u", False),
        ("$input.G.a", False),
        ("$input.G.flag", True),
        ("!$variable.t", False),
        ("!$variable.n", False),
        ("!!$variable.t", True),
        ("$variable.n || true", False),
        ("$variable.t || $variable.n", True),
        ("$variable.f || $variable.n", False),
        ("$variable.f || $variable.t", True),
        ("$variable.t && $variable.n", False),
        ("$variable.t && $variable.t", True),
        ("($variable.n > 0) || $variable.t", True),
        ("($variable.n > 5) || ($variable.n < 0)", False),
        ("isUndefined($variable.u) && $variable.t", True),
        ("1 / 0 == 1", False),
    ],
)
def test_condition_is_true_only_for_boolean_true(text: str, expected: bool) -> None:
    evaluation = env(t=True, f=False, n=1)
    condition = compile_condition(text)
    assert condition(evaluation) is expected
    # The fast condition closure agrees with the value closure everywhere.
    assert (compile_expression(text).evaluate(evaluation) is True) is expected


CONSISTENCY_EXPRESSIONS = [
    "$variable.a > 1",
    "$variable.a == 1",
    "$variable.a != 1",
    "$variable.a == 'x'",
    "$variable.a != 'x'",
    "$variable.a == true",
    "$variable.a != true",
    "$variable.a >= 'b'",
    "1 < $variable.a",
    "$variable.a == $variable.b",
    "$variable.a != $variable.b",
    "$variable.a < $variable.b",
    "$variable.a || $variable.b",
    "$variable.a && $variable.b",
    "($variable.a == 1) || $variable.b",
    "!$variable.a",
    "!($variable.a > 1)",
    "$variable.a",
    "isNull($variable.a) || $variable.b",
    "startsWith($variable.a, 'x')",
]
CONSISTENCY_VALUES = [1, 2, Decimal("1.0"), "x", "b", True, False, None, UNDEFINED]


@pytest.mark.parametrize("text", CONSISTENCY_EXPRESSIONS)
def test_condition_closures_agree_with_values(text: str) -> None:
    expression = compile_expression(text)
    condition = compile_condition(text)
    for a in CONSISTENCY_VALUES:
        for b in CONSISTENCY_VALUES:
            variables = {name: v for name, v in (("a", a), ("b", b)) if v is not UNDEFINED}
            evaluation = SimpleEvaluation(variables=variables)
            assert condition(evaluation) is (expression.evaluate(evaluation) is True), (a, b)


class CountingEvaluation(SimpleEvaluation):
    def __init__(self, expired: set[str]) -> None:
        super().__init__(trigger_type="Timer", expired_timers=set(expired))
        self.checked: list[str] = []

    def timeout(self, timer_name: str) -> bool:
        self.checked.append(timer_name)
        return super().timeout(timer_name)


def test_logical_operators_short_circuit_left_to_right() -> None:
    evaluation = CountingEvaluation({"t"})
    assert compile_condition('$variable.f && timeout("t")')(evaluation) is False
    assert compile_condition('$variable.u && timeout("t")')(evaluation) is False
    assert compile_condition('true || timeout("t")')(evaluation) is True
    assert evaluation.checked == []  # timeout() was never asked, so not consumed
    assert compile_condition('$variable.u || timeout("t")')(evaluation) is True
    assert compile_condition('timeout("t") || timeout("t")')(evaluation) is False
    assert evaluation.checked == ["t", "t", "t"]


def test_expressions_are_immutable_shared_and_picklable_errors() -> None:
    first = compile_expression("$variable.a + 1")
    assert compile_expression("$variable.a + 1") is first  # compiled once, shared
    assert first.source == "$variable.a + 1"
    with pytest.raises(AttributeError):
        first.source = "$variable.a + 2"
    with pytest.raises(AttributeError):
        first.evaluate = first.condition
    assert first.source == "$variable.a + 1"
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED


def test_deeply_nested_expressions() -> None:
    evaluation = env(n=1, t=True)
    assert value("(" * 200 + "$variable.n" + ")" * 200, evaluation) == 1
    assert value("!" * 200 + "$variable.t", evaluation) is True
    assert value(" + ".join(["$variable.n"] * 200), evaluation) == 200


def test_references_are_extracted() -> None:
    expression = compile_expression(
        '$input.A.x.`b c`[2].d > 1 && currentInput("B") && $variable.v == $variable.w'
        " && timeout(\"t1\") || timeout('t2') && '${$input.C.y}' == 'q' && $input.A.z == 2"
        " && false && $variable.folded"
    )
    references = expression.references
    assert references.inputs == frozenset({"A", "B", "C"})
    assert references.input_paths == frozenset(
        {("A", ("x", "b c", 2, "d")), ("C", ("y",)), ("A", ("z",))}
    )
    assert references.variables == frozenset({"v", "w", "folded"})
    assert references.timers == frozenset({"t1", "t2"})
    assert compile_expression("1 + 2").references == References()
