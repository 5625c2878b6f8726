"""The built-in functions (spec 5.6) with AWS's documented examples, and nothing else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from thinghub.events.expressions import (
    UNDEFINED,
    ExpressionSyntaxError,
    SimpleEvaluation,
    compile_condition,
    compile_expression,
)


def value(text: str, evaluation: SimpleEvaluation | None = None) -> Any:
    return compile_expression(text).evaluate(evaluation or SimpleEvaluation())


def typed(result: Any) -> tuple[str, Any]:
    return ("undefined", None) if result is UNDEFINED else (type(result).__name__, result)


# --- timeout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ['timeout("awake")', "timeout('awake')"])
def test_timeout_is_true_once_after_expiry(text: str) -> None:
    expression = compile_expression(text)
    assert expression.references.timers == frozenset({"awake"})
    evaluation = SimpleEvaluation(trigger_type="Timer", expired_timers={"awake"})
    assert expression.evaluate(evaluation) is True
    assert expression.evaluate(evaluation) is False  # one-shot: the runtime consumed it
    assert compile_condition(text)(SimpleEvaluation()) is False


def test_timeout_of_another_timer_is_false() -> None:
    evaluation = SimpleEvaluation(trigger_type="Timer", expired_timers={"other"})
    assert value('timeout("awake")', evaluation) is False
    assert evaluation.expired_timers == {"other"}


def test_timeout_accepts_a_reference_to_the_timer_name() -> None:
    expression = compile_expression("timeout($variable.timer)")
    assert expression.references.timers == frozenset()
    evaluation = SimpleEvaluation(variables={"timer": "awake"}, expired_timers={"awake"})
    assert expression.evaluate(evaluation) is True
    assert expression.evaluate(SimpleEvaluation(variables={"timer": 5})) is UNDEFINED


@pytest.mark.parametrize(
    "text",
    ["timeout(1)", "timeout(true)", "timeout(1.5)", "timeout('a' + 'b')", "timeout('${1}')"],
)
def test_timeout_needs_a_timer_name_in_quotes(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text)
    assert caught.value.message == "timeout() expects a timer name in quotes"
    assert caught.value.position == len("timeout(")


# --- triggerType and currentInput --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "trigger", "expected"),
    [
        ('triggerType("Message")', "Message", True),
        ('triggerType("Message")', "Timer", False),
        ('triggerType("Timer")', "Timer", True),
        ('triggerType("Timer")', "Message", False),
        ('triggerType("MESSAGE")', "Message", True),  # the analyzer's own spelling
        ("triggerType('timer')", "Timer", True),
        ("triggerType($variable.kind)", "Timer", True),
    ],
)
def test_trigger_type(text: str, trigger: str, expected: bool) -> None:
    evaluation = SimpleEvaluation(trigger_type=trigger, variables={"kind": "TIMER"})
    assert value(text, evaluation) is expected


def test_trigger_type_rejects_other_kinds() -> None:
    with pytest.raises(ExpressionSyntaxError, match='expects "Message" or "Timer"'):
        compile_expression('triggerType("Input")')
    with pytest.raises(ExpressionSyntaxError, match='expects "Message" or "Timer"'):
        compile_expression("triggerType(1)")
    assert value("triggerType($variable.n)", SimpleEvaluation(variables={"n": 1})) is UNDEFINED


def test_current_input_documented_example() -> None:
    text = 'currentInput("Command") && $input.Command.value == "Abort"'
    expression = compile_expression(text)
    assert expression.references.inputs == frozenset({"Command"})
    message = SimpleEvaluation(inputs={"Command": {"value": "Abort"}}, current_input="Command")
    assert expression.evaluate(message) is True
    other = SimpleEvaluation(inputs={"Command": {"value": "Abort"}}, current_input="Other")
    assert expression.evaluate(other) is False
    timer = SimpleEvaluation(
        inputs={"Command": {"value": "Abort"}}, trigger_type="Timer", current_input=None
    )
    assert expression.evaluate(timer) is False


def test_current_input_is_case_sensitive_and_checks_its_argument() -> None:
    assert value('currentInput("command")', SimpleEvaluation(current_input="Command")) is False
    with pytest.raises(ExpressionSyntaxError, match="expects an input name"):
        compile_expression("currentInput(5)")


# --- isNull and isUndefined --------------------------------------------------------------------


def test_is_null_and_is_undefined_documented_example() -> None:
    evaluation = SimpleEvaluation(inputs={"MyInput": {"a": None}})
    assert value("isNull($input.MyInput.a)", evaluation) is True
    assert value("isUndefined($input.MyInput.a)", evaluation) is False
    assert value("isNull($input.MyInput.b)", evaluation) is False
    assert value("isUndefined($input.MyInput.b)", evaluation) is True
    assert value("isUndefined($variable.never)", evaluation) is True
    assert value("isNull(1)", evaluation) is False
    assert value("isUndefined(1 + 'a')", evaluation) is True  # an invalid operation
    assert value("isUndefined(0)", evaluation) is False


# --- convert -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("convert(String, true)", ("str", "true")),
        ("convert(String, false)", ("str", "false")),
        ("convert(String, 12.50)", ("str", "12.5")),
        ("convert(String, 30.0)", ("str", "30.0")),
        ("convert(String, 10)", ("str", "10")),  # Integer: undocumented, converts like Decimal
        ("convert(String, 'x')", ("str", "x")),
        ("convert(Boolean, 'true')", ("bool", True)),
        ("convert(Boolean, 'false')", ("bool", False)),
        ("convert(Boolean, 'TRUE')", ("bool", True)),
        ("convert(Boolean, true)", ("bool", True)),
        ("convert(Decimal, '12.5')", ("Decimal", Decimal("12.5"))),
        ("convert(Decimal, '-3')", ("Decimal", Decimal("-3"))),
        ("convert(Decimal, '1e3')", ("Decimal", Decimal("1E+3"))),
        ("convert(Decimal, '.5')", ("Decimal", Decimal("0.5"))),
        ("convert(Decimal, 7)", ("Decimal", Decimal("7"))),
        ("convert(Decimal, 2.5)", ("Decimal", Decimal("2.5"))),
        ("convert('Decimal', '2.5')", ("Decimal", Decimal("2.5"))),
        ('convert("String", 2.5)', ("str", "2.5")),
        ("convert(Decimal, '12.5') + 1", ("Decimal", Decimal("13.5"))),
    ],
)
def test_convert(text: str, expected: tuple[str, Any]) -> None:
    assert typed(value(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "convert(Decimal, 'abc')",
        "convert(Decimal, '')",
        "convert(Decimal, ' 1')",
        "convert(Decimal, '1.2.3')",
        "convert(Decimal, 'NaN')",
        "convert(Decimal, 'Infinity')",
        "convert(Decimal, true)",
        "convert(Boolean, 'yes')",
        "convert(Boolean, '1')",
        "convert(Boolean, 1)",
        "convert(Boolean, 1.0)",
        "convert(String, $variable.never)",
        "convert(Decimal, $variable.never)",
    ],
)
def test_failed_conversions_are_undefined(text: str) -> None:
    assert value(text) is UNDEFINED
    # ... and make a condition false instead of raising.
    assert compile_condition(f"{text} == {text}")(SimpleEvaluation()) is False


def test_convert_type_from_an_expression() -> None:
    expression = compile_expression("convert($variable.kind, '1.5')")
    assert typed(expression.evaluate(SimpleEvaluation(variables={"kind": "Decimal"}))) == (
        "Decimal",
        Decimal("1.5"),
    )
    assert expression.evaluate(SimpleEvaluation(variables={"kind": "Integer"})) is UNDEFINED
    assert expression.evaluate(SimpleEvaluation(variables={"kind": 3})) is UNDEFINED


@pytest.mark.parametrize(
    "text", ["convert(Integer, 1)", "convert('Number', 1)", "convert(1, 1)", "convert(string, 1)"]
)
def test_convert_type_keyword_is_checked_at_compile_time(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text)
    assert caught.value.message == "convert() type must be String, Boolean or Decimal"
    assert caught.value.position == len("convert(")


def test_a_bare_word_is_only_allowed_as_convert_type() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression("convert(String, Decimal)")
    assert caught.value.position == len("convert(String, ")
    with pytest.raises(ExpressionSyntaxError):
        compile_expression("startsWith(String, 'S')")


# --- string matching ---------------------------------------------------------------------------

OFFLINE = SimpleEvaluation(inputs={"MyInput": {"status": "offline", "value": "offline", "n": 5}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('startsWith($input.MyInput.status, "off")', True),
        ('endsWith($input.MyInput.status, "line")', True),
        ('contains($input.MyInput.value, "fli")', True),
        ('startsWith($input.MyInput.status, "line")', False),
        ('endsWith($input.MyInput.status, "off")', False),
        ('contains($input.MyInput.value, "xyz")', False),
        ('startsWith($input.MyInput.status, "")', True),
        ("contains('abc', 'abc')", True),
        ("startsWith('Off', 'off')", False),  # case-sensitive
    ],
)
def test_string_functions(text: str, expected: bool) -> None:
    assert value(text, OFFLINE) is expected


@pytest.mark.parametrize(
    "text",
    [
        'startsWith($input.MyInput.n, "5")',
        "endsWith('5', 5)",
        "contains($input.MyInput.missing, 'a')",
        "contains(true, 'true')",
        "startsWith($input.MyInput.status, $variable.never)",
    ],
)
def test_string_functions_do_not_convert(text: str) -> None:
    assert value(text, OFFLINE) is UNDEFINED


# --- bit manipulation --------------------------------------------------------------------------

BITS = SimpleEvaluation(inputs={"MyInput": {"value1": 13, "value2": 5, "value": 13}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bitor($input.MyInput.value1, $input.MyInput.value2)", 13),
        ("bitand($input.MyInput.value1, $input.MyInput.value2)", 5),
        ("bitxor($input.MyInput.value1, $input.MyInput.value2)", 8),
        ("bitnot($input.MyInput.value)", -14),
        ("bitor(13, 5)", 13),
        ("bitand(13, 5)", 5),
        ("bitxor(13, 5)", 8),
        ("bitnot(13)", -14),
        # negative numbers are 64-bit two's complement
        ("bitand(-1, 255)", 255),
        ("bitor(-8, 3)", -5),
        ("bitxor(-1, 5)", -6),
        ("bitnot(-1)", 0),
        ("bitnot(0)", -1),
        ("bitand(-16, -4)", -16),
        ("-8 | 3", -5),
        ("-1 & 255", 255),
        ("-1 ^ 5", -6),
        ("~-14", 13),
        # wider values wrap to 64 bits first
        ("bitnot(9223372036854775807)", -9223372036854775808),
        ("bitor(18446744073709551615, 0)", -1),
        ("bitand(18446744073709551621, 7)", 5),
        ("~9223372036854775808", 9223372036854775807),
        ("9223372036854775808 | 0", -9223372036854775808),
    ],
)
def test_bit_functions_and_operators(text: str, expected: int) -> None:
    assert typed(value(text, BITS)) == ("int", expected)


@pytest.mark.parametrize(
    "text",
    [
        "bitor(1.0, 1)",
        "bitand(1, 1.5)",
        "bitxor('1', 1)",
        "bitnot(true)",
        "bitnot(1.0)",
        "bitor($input.MyInput.missing, 1)",
        "1.0 | 1",
        "true & true",
        "~2.5",
    ],
)
def test_bit_operations_need_integers(text: str) -> None:
    assert value(text, BITS) is UNDEFINED


# --- only AWS's functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("foo(1)", "foo"),
        ("abs(-1)", "abs"),
        ("sqrt(4)", "sqrt"),
        ("substring('abc', 1)", "substring"),
        ("timestamp()", "timestamp"),
        ("isNumeric(1)", "isNumeric"),
        ("isString('a')", "isString"),
        ("isBoolean(true)", "isBoolean"),
        ("isnull(1)", "isnull"),  # names are case-sensitive
        ("1 + max(1, 2)", "max"),
    ],
)
def test_unknown_functions_are_syntax_errors(text: str, name: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text)
    assert caught.value.message == f"unknown function '{name}'"
    assert caught.value.position == text.index(name)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timeout()", "timeout() takes 1 argument (0 given)"),
        ('timeout("a", "b")', "timeout() takes 1 argument (2 given)"),
        ("convert(String)", "convert() takes 2 arguments (1 given)"),
        ("bitnot(1, 2)", "bitnot() takes 1 argument (2 given)"),
        ("bitor(1)", "bitor() takes 2 arguments (1 given)"),
        ("contains('a')", "contains() takes 2 arguments (1 given)"),
        ("isNull()", "isNull() takes 1 argument (0 given)"),
    ],
)
def test_argument_counts_are_checked(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text)
    assert caught.value.message == message
    assert caught.value.position == 0
