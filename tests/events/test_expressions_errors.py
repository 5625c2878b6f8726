"""Syntax errors: the message, the 0-based position and the 1-based line and column."""

from __future__ import annotations

import pickle

import pytest

from thinghub.events.expressions import (
    ExpressionSyntaxError,
    compile_condition,
    compile_expression,
    compile_template,
)


def error(text: str) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("$input.X.a >", 12, "unexpected end of expression"),
        ("$input.X.a > ", 12, "unexpected end of expression"),
        ("(1 + 2", 6, "unexpected end of expression"),
        ("((1)", 4, "unexpected end of expression"),
        ("1 + 2)", 5, "unexpected ')'"),
        ("(1 + 2))", 7, "unexpected ')'"),
        ("()", 1, "unexpected ')'"),
        ("1 + && 2", 4, "unexpected '&&'"),
        ("&& 1", 0, "unexpected '&&'"),
        ("1 ||| 2", 4, "unexpected '|'"),
        ("1 2", 2, "unexpected number 2"),
        ("'a' 'b'", 4, "unexpected string 'b'"),
        ("$variable.a $variable.b", 12, "unexpected reference $variable.b"),
        ("a = b", 2, "unexpected character '='"),
        ("1 % 2", 2, "unexpected character '%'"),
        ("'abc", 0, "unterminated string literal"),
        ('x == "abc', 5, "unterminated string literal"),
        ("$input.X.a.", 10, "unexpected character '.'"),
        ("$input.", 0, "malformed reference '$input.'"),
        ("$variable", 0, "malformed reference '$variable'"),
        ("$input.X.`a", 8, "unexpected character '.'"),
        ("$inputs.X", 0, "malformed reference '$inputs.X'"),
        ("foo(1)", 0, "unknown function 'foo'"),
        ("1 + foo", 4, "unexpected name foo (strings need quotes, references a $)"),
        ("timeout(1)", 8, "timeout() expects a timer name in quotes"),
        ("'${1 +'", 1, "unterminated substitution '${'"),
        ("'x ${}'", 3, "empty substitution '${}'"),
        ("'x ${ }'", 3, "empty substitution '${}'"),
        ("'${1 +}'", 6, "unexpected end of expression"),
        ("'${foo()}'", 3, "unknown function 'foo'"),
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("1 +\n  * 2", 6, "unexpected '*'"),
    ],
)
def test_syntax_error_positions(text: str, position: int, message: str) -> None:
    caught = error(text)
    assert (caught.message, caught.position) == (message, position)


def test_message_line_and_column() -> None:
    caught = error("$variable.a == 1 && && true")
    assert caught.position == 20
    assert (caught.line, caught.column) == (1, 21)
    assert str(caught) == "Syntax error at line 1, column 21: unexpected '&&'"


def test_line_and_column_on_later_lines() -> None:
    caught = error("$variable.a == 1\n  && (2 >\n 3")
    assert caught.message == "unexpected end of expression"
    assert (caught.line, caught.column) == (3, 3)
    caught = error("true &&\n\tfoo(1)")
    assert (caught.position, caught.line, caught.column) == (9, 2, 2)


def test_errors_inside_nested_templates_point_into_the_full_source() -> None:
    text = "'a' + '${'b${$variable.x ==}'}'"
    caught = error(text)
    assert caught.position == text.index("}")
    assert caught.message == "unexpected end of expression"


def test_error_is_a_value_error_and_survives_pickling() -> None:
    caught = error("1 +")
    assert isinstance(caught, ValueError)
    copy = pickle.loads(pickle.dumps(caught))
    assert (copy.message, copy.position, copy.line, copy.column) == (
        caught.message,
        caught.position,
        caught.line,
        caught.column,
    )
    assert str(copy) == str(caught)


def test_every_compile_function_raises_it() -> None:
    for compile_function in (compile_expression, compile_condition, compile_template):
        with pytest.raises(ExpressionSyntaxError):
            compile_function("1 +")


def test_too_deep_nesting_is_refused_at_compile_time() -> None:
    caught = error("!" * 400 + "true")
    assert caught.message == "expression nested too deeply"


def test_long_unterminated_string_fails_fast() -> None:
    # Possessive matching: no exponential backtracking over many "${" in a broken string.
    caught = error("'" + "${1}" * 200 + "${")
    assert caught.message in {"unterminated string literal", "unterminated substitution '${'"}
