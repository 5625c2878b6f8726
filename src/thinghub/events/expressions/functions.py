"""The built-in functions, exactly AWS's documented list (spec 5.6), checked at compile time.

An unknown name, a wrong argument count or a statically wrong argument (``timeout(1)``,
``convert(Integer, x)``) is an ExpressionSyntaxError; data problems at run time give UNDEFINED.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from thinghub.events.expressions import operators
from thinghub.events.expressions.errors import ExpressionSyntaxError
from thinghub.events.expressions.evaluation import Evaluation
from thinghub.events.expressions.nodes import Collector, Node, fold
from thinghub.events.expressions.values import UNDEFINED, decimal_text

__all__ = ["FUNCTIONS", "call"]


class _Call:
    """One call being compiled: its arguments and where to report problems."""

    __slots__ = ("args", "collector", "name", "position", "source")

    def __init__(
        self, name: str, args: list[Node], position: int, source: str, collector: Collector
    ) -> None:
        self.name = name
        self.args = args
        self.position = position
        self.source = source
        self.collector = collector

    def error(self, message: str, node: Node | None = None) -> ExpressionSyntaxError:
        position = self.position if node is None else node.position
        return ExpressionSyntaxError(message, self.source, position)


def _static_string(node: Node) -> str | None:
    return node.value if node.constant and type(node.value) is str else None


# --- timers and triggers -----------------------------------------------------------------------


def _timeout(call: _Call) -> Node:
    (arg,) = call.args
    if arg.kind == "string":
        name: str = arg.value
        call.collector.timers.add(name)

        def evaluate(env: Evaluation) -> Any:
            return env.timeout(name) is True

        return Node(evaluate, call.position, condition=evaluate, boolish=True)
    if arg.kind == "reference":
        # The guide allows a reference "to a string with double quotes" as the timer name.
        read = arg.evaluate

        def evaluate_named(env: Evaluation) -> Any:
            timer = read(env)
            return env.timeout(timer) is True if type(timer) is str else UNDEFINED

        return Node(evaluate_named, call.position, boolish=True)
    raise call.error("timeout() expects a timer name in quotes", arg)


_TRIGGER_TYPES: Final = {"message": "Message", "timer": "Timer"}


def _trigger_type(call: _Call) -> Node:
    (arg,) = call.args
    literal = _static_string(arg)
    if literal is not None:
        # Case-insensitive: the analyzer's own messages write triggerType("MESSAGE").
        wanted = _TRIGGER_TYPES.get(literal.lower())
        if wanted is None:
            raise call.error('triggerType() expects "Message" or "Timer"', arg)

        def evaluate(env: Evaluation) -> Any:
            return env.trigger_type == wanted

        return Node(evaluate, call.position, condition=evaluate, boolish=True)
    if arg.constant:
        raise call.error('triggerType() expects "Message" or "Timer"', arg)
    read = arg.evaluate

    def evaluate_dynamic(env: Evaluation) -> Any:
        kind = read(env)
        if type(kind) is not str:
            return UNDEFINED
        return env.trigger_type.lower() == kind.lower()

    return Node(evaluate_dynamic, call.position, boolish=True)


def _current_input(call: _Call) -> Node:
    (arg,) = call.args
    literal = _static_string(arg)
    if literal is not None:
        call.collector.inputs.add(literal)

        def evaluate(env: Evaluation) -> Any:
            return env.current_input == literal

        return Node(evaluate, call.position, condition=evaluate, boolish=True)
    if arg.constant:
        raise call.error("currentInput() expects an input name in quotes", arg)
    read = arg.evaluate

    def evaluate_dynamic(env: Evaluation) -> Any:
        name = read(env)
        return env.current_input == name if type(name) is str else UNDEFINED

    return Node(evaluate_dynamic, call.position, boolish=True)


# --- null and undefined ------------------------------------------------------------------------


def _is_null(call: _Call) -> Node:
    (arg,) = call.args
    read = arg.evaluate

    def evaluate(env: Evaluation) -> Any:
        return read(env) is None

    node = Node(evaluate, call.position, condition=evaluate, boolish=True)
    return fold(node) if arg.constant else node


def _is_undefined(call: _Call) -> Node:
    (arg,) = call.args
    read = arg.evaluate

    def evaluate(env: Evaluation) -> Any:
        return read(env) is UNDEFINED

    node = Node(evaluate, call.position, condition=evaluate, boolish=True)
    return fold(node) if arg.constant else node


# --- convert -----------------------------------------------------------------------------------

# What String -> Decimal accepts: a plain decimal number, optionally signed, with an exponent.
_DECIMAL_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _to_string(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is Decimal:
        return decimal_text(value)
    if kind is int:
        return str(value)  # not documented; an Integer converts like a Decimal, as its digits
    return UNDEFINED


def _to_boolean(value: Any) -> Any:
    kind = type(value)
    if kind is bool:
        return value
    if kind is str:
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return UNDEFINED


def _to_decimal(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return value
    if kind is int:
        return Decimal(value)
    if kind is str and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    return UNDEFINED


_CONVERTERS: Final[dict[str, Callable[[Any], Any]]] = {
    "String": _to_string,
    "Boolean": _to_boolean,
    "Decimal": _to_decimal,
}


def _convert(call: _Call) -> Node:
    kind, arg = call.args
    read = arg.evaluate
    if kind.constant:
        converter = _CONVERTERS.get(kind.value) if type(kind.value) is str else None
        if converter is None:
            raise call.error("convert() type must be String, Boolean or Decimal", kind)
        convert = converter

        def evaluate(env: Evaluation) -> Any:
            return convert(read(env))

        node = Node(evaluate, call.position)
        return fold(node) if arg.constant else node
    read_kind = kind.evaluate

    def evaluate_dynamic(env: Evaluation) -> Any:
        name = read_kind(env)
        converter = _CONVERTERS.get(name) if type(name) is str else None
        return UNDEFINED if converter is None else converter(read(env))

    return Node(evaluate_dynamic, call.position)


# --- strings -----------------------------------------------------------------------------------


def _string_test(test: Callable[[str, str], bool]) -> Callable[[_Call], Node]:
    def build(call: _Call) -> Node:
        first, second = call.args
        read_first = first.evaluate
        read_second = second.evaluate

        def evaluate(env: Evaluation) -> Any:
            a = read_first(env)
            b = read_second(env)
            if type(a) is str and type(b) is str:
                return test(a, b)
            return UNDEFINED  # no conversions: a non-string argument makes the result undefined

        node = Node(evaluate, call.position, boolish=True)
        return fold(node) if first.constant and second.constant else node

    return build


# --- bits --------------------------------------------------------------------------------------


def _bits(op: str) -> Callable[[_Call], Node]:
    def build(call: _Call) -> Node:
        if op == "invert":
            return operators.unary(op, call.args[0], call.position)
        return operators.binary(op, call.args[0], call.args[1], call.position)

    return build


FUNCTIONS: Final[dict[str, tuple[int, Callable[[_Call], Node]]]] = {
    "timeout": (1, _timeout),
    "convert": (2, _convert),
    "isNull": (1, _is_null),
    "isUndefined": (1, _is_undefined),
    "triggerType": (1, _trigger_type),
    "currentInput": (1, _current_input),
    "startsWith": (2, _string_test(str.startswith)),
    "endsWith": (2, _string_test(str.endswith)),
    "contains": (2, _string_test(lambda text, part: part in text)),
    "bitor": (2, _bits("bit_or")),
    "bitand": (2, _bits("bit_and")),
    "bitxor": (2, _bits("bit_xor")),
    "bitnot": (1, _bits("invert")),
}


def call(name: str, args: list[Node], position: int, source: str, collector: Collector) -> Node:
    """Compile a call of the built-in `name`; `position` is where the name starts."""
    entry = FUNCTIONS.get(name)
    if entry is None:
        raise ExpressionSyntaxError(f"unknown function '{name}'", source, position)
    arity, build = entry
    if len(args) != arity:
        plural = "" if arity == 1 else "s"
        raise ExpressionSyntaxError(
            f"{name}() takes {arity} argument{plural} ({len(args)} given)", source, position
        )
    return build(_Call(name, args, position, source, collector))
