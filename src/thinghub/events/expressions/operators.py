"""The operators: their semantics (spec 5.3-5.5) and the closures that evaluate them.

Type rules, in short:

* arithmetic takes Integers and Decimals; Integer op Integer stays Integer (``/`` truncates
  toward zero), a Decimal operand makes the result a Decimal; ``+`` also joins two Strings;
* bitwise operators take Integers only, as 64-bit two's complement;
* ``< <= > >=`` compare two numbers or two Strings; ``== !=`` also compare two Booleans;
* any other pairing is invalid and gives UNDEFINED, and so does any undefined or null operand,
  except that ``==``/``!=`` with an undefined operand give false/true (undefined equals nothing,
  not even itself: the ``$variable.x != $variable.x`` initialisation idiom);
* ``&&`` and ``||`` short-circuit left to right and need Booleans; for ``||`` an undefined or
  null operand counts as false.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from thinghub.events.expressions.evaluation import Evaluation
from thinghub.events.expressions.nodes import Node, constant, fold
from thinghub.events.expressions.values import DECIMAL_CONTEXT, UNDEFINED, wrap64

__all__ = ["binary", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "unary"]

_DecimalError: Final = decimal.DecimalException
_add = DECIMAL_CONTEXT.add
_subtract = DECIMAL_CONTEXT.subtract
_multiply = DECIMAL_CONTEXT.multiply
_divide = DECIMAL_CONTEXT.divide
_minus = DECIMAL_CONTEXT.minus


# --- value semantics ---------------------------------------------------------------------------


def add(a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if (ta is int and tb is int) or (ta is str and tb is str):
        return a + b
    if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
        try:
            return _add(a, b)
        except _DecimalError:
            return UNDEFINED
    return UNDEFINED


def subtract(a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if ta is int and tb is int:
        return a - b
    if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
        try:
            return _subtract(a, b)
        except _DecimalError:
            return UNDEFINED
    return UNDEFINED


def multiply(a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if ta is int and tb is int:
        return a * b
    if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
        try:
            return _multiply(a, b)
        except _DecimalError:
            return UNDEFINED
    return UNDEFINED


def divide(a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if ta is int and tb is int:
        if b == 0:
            return UNDEFINED
        # AWS says only "rounded"; we truncate toward zero like Java's long division (7/-2 = -3).
        quotient = a // b
        if quotient < 0 and quotient * b != a:
            quotient += 1
        return quotient
    if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
        try:
            return _divide(a, b)
        except _DecimalError:  # x/0.0 and 0/0.0
            return UNDEFINED
    return UNDEFINED


def bitwise_and(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return wrap64(a) & wrap64(b)
    return UNDEFINED


def bitwise_or(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return wrap64(a) | wrap64(b)
    return UNDEFINED


def bitwise_xor(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return wrap64(a) ^ wrap64(b)
    return UNDEFINED


def bitwise_not(a: Any) -> Any:
    # Python's ~ on a 64-bit value is already the 64-bit two's complement result.
    return ~wrap64(a) if type(a) is int else UNDEFINED


def negate(a: Any) -> Any:
    kind = type(a)
    if kind is int:
        return -a
    if kind is Decimal:
        return _minus(a)
    return UNDEFINED


def logical_not(a: Any) -> Any:
    if a is True:
        return False
    if a is False:
        return True
    return UNDEFINED


_UNARY: Final[dict[str, Callable[[Any], Any]]] = {
    "neg": negate,
    "not_": logical_not,
    "invert": bitwise_not,
}

_ARITHMETIC: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "add": add,
    "sub": subtract,
    "mul": multiply,
    "div": divide,
    "bit_and": bitwise_and,
    "bit_or": bitwise_or,
    "bit_xor": bitwise_xor,
}


# --- comparison closures -----------------------------------------------------------------------
# Comparisons are the hot path of conditions, so each operator gets closures with the operator
# and the type tests inlined (no call per comparison). They are generated once, at import, from
# the templates below; `invalid` is UNDEFINED for values and False for condition closures.

_ORDERING_TEMPLATE: Final = """
def general(left, right, invalid):
    def compare(env):
        a = left(env)
        b = right(env)
        ta = type(a)
        tb = type(b)
        if (ta is int or ta is Decimal) and (tb is int or tb is Decimal) or ta is str and tb is str:
            return a OP b
        return invalid
    return compare


def number_constant(left, b, invalid):
    def compare(env):
        a = left(env)
        ta = type(a)
        if ta is int or ta is Decimal:
            return a OP b
        return invalid
    return compare


def string_constant(left, b, invalid):
    def compare(env):
        a = left(env)
        if type(a) is str:
            return a OP b
        return invalid
    return compare
"""

_EQUALITY_TEMPLATE: Final = """
def general(left, right, invalid):
    def compare(env):
        a = left(env)
        b = right(env)
        ta = type(a)
        tb = type(b)
        if (ta is int or ta is Decimal) and (tb is int or tb is Decimal) or (
            ta is tb and (ta is str or ta is bool)
        ):
            return a OP b
        if a is UNDEFINED or b is UNDEFINED:
            return MISSING
        return invalid
    return compare


def number_constant(left, b, invalid):
    def compare(env):
        a = left(env)
        ta = type(a)
        if ta is int or ta is Decimal:
            return a OP b
        if a is UNDEFINED:
            return MISSING
        return invalid
    return compare


def string_constant(left, b, invalid):
    def compare(env):
        a = left(env)
        if type(a) is str:
            return a OP b
        if a is UNDEFINED:
            return MISSING
        return invalid
    return compare


def boolean_constant(left, b, invalid):
    def compare(env):
        a = left(env)
        if type(a) is bool:
            return a OP b
        if a is UNDEFINED:
            return MISSING
        return invalid
    return compare
"""

_Factory = Callable[[Any, Any, Any], Callable[[Evaluation], Any]]


def _generate(template: str, op: str, missing: bool | None = None) -> dict[str, _Factory]:
    namespace: dict[str, Any] = {"Decimal": Decimal, "UNDEFINED": UNDEFINED}
    exec(template.replace("OP", op).replace("MISSING", str(missing)), namespace)
    return {name: value for name, value in namespace.items() if callable(value)}


_COMPARISONS: Final[dict[str, dict[str, _Factory]]] = {
    "lt": _generate(_ORDERING_TEMPLATE, "<"),
    "le": _generate(_ORDERING_TEMPLATE, "<="),
    "gt": _generate(_ORDERING_TEMPLATE, ">"),
    "ge": _generate(_ORDERING_TEMPLATE, ">="),
    "eq": _generate(_EQUALITY_TEMPLATE, "==", missing=False),
    "ne": _generate(_EQUALITY_TEMPLATE, "!=", missing=True),
}
# a < b is b > a: a constant on the left moves to the right, where the fast closures expect it.
_MIRRORED: Final = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


def _constant_kind(value: Any) -> str | None:
    kind = type(value)
    if kind is int or kind is Decimal:
        return "number_constant"
    if kind is str:
        return "string_constant"
    if kind is bool:
        return "boolean_constant"
    return None


def _comparison(op: str, left: Node, right: Node, position: int) -> Node:
    if left.constant and not right.constant:
        op, left, right = _MIRRORED[op], right, left
    factories = _COMPARISONS[op]
    factory = factories.get(_constant_kind(right.value) or "") if right.constant else None
    if factory is not None:
        value_closure = factory(left.evaluate, right.value, UNDEFINED)
        condition_closure = factory(left.evaluate, right.value, False)
    else:
        value_closure = factories["general"](left.evaluate, right.evaluate, UNDEFINED)
        condition_closure = factories["general"](left.evaluate, right.evaluate, False)
    node = Node(value_closure, position, condition=condition_closure, boolish=True)
    return fold(node) if left.constant and right.constant else node


# --- logical closures --------------------------------------------------------------------------


def _logical_and(left: Node, right: Node, position: int) -> Node:
    if left.constant and left.value is not True:
        # false && x is false without evaluating x; a non-Boolean left side is invalid.
        return constant(False if left.value is False else UNDEFINED, position)
    first = left.evaluate
    second = right.evaluate

    def evaluate(env: Evaluation) -> Any:
        a = first(env)
        if a is True:
            b = second(env)
            return b if type(b) is bool else UNDEFINED
        return False if a is False else UNDEFINED

    first_holds = left.as_condition()
    second_holds = right.as_condition()

    def condition(env: Evaluation) -> bool:
        return first_holds(env) and second_holds(env)

    node = Node(evaluate, position, condition=condition, boolish=True)
    return fold(node) if left.constant and right.constant else node


def _logical_or(left: Node, right: Node, position: int) -> Node:
    first = left.evaluate
    second = right.evaluate

    def evaluate(env: Evaluation) -> Any:
        a = first(env)
        if a is True:
            return True
        if a is False or a is UNDEFINED or a is None:
            b = second(env)
            if b is True:
                return True
            if b is False or b is UNDEFINED or b is None:
                return False
        return UNDEFINED

    second_holds = right.as_condition()
    if left.boolish:
        # True, False or UNDEFINED on the left: "left holds, or else right holds" is exact.
        first_holds = left.as_condition()

        def condition(env: Evaluation) -> bool:
            return first_holds(env) or second_holds(env)

    else:

        def condition(env: Evaluation) -> bool:
            a = first(env)
            if a is True:
                return True
            if a is False or a is UNDEFINED or a is None:
                return second_holds(env)
            return False

    node = Node(evaluate, position, condition=condition, boolish=True)
    return fold(node) if left.constant and right.constant else node


# --- entry points for the compiler -------------------------------------------------------------


def unary(op: str, operand: Node, position: int) -> Node:
    """``!`` (``not_``), ``-`` (``neg``) or ``~`` (``invert``) applied to `operand`."""
    semantics = _UNARY[op]
    inner = operand.evaluate

    def evaluate(env: Evaluation) -> Any:
        return semantics(inner(env))

    node = Node(evaluate, position)
    if op == "not_":
        node.boolish = True

        def condition(env: Evaluation) -> bool:
            return inner(env) is False

        node.condition = condition
    return fold(node) if operand.constant else node


def binary(op: str, left: Node, right: Node, position: int) -> Node:
    """A binary operator node; `op` is the grammar's rule name (``add``, ``lt``, ...)."""
    if op in _COMPARISONS:
        return _comparison(op, left, right, position)
    if op == "logical_and":
        return _logical_and(left, right, position)
    if op == "logical_or":
        return _logical_or(left, right, position)
    semantics = _ARITHMETIC[op]
    first = left.evaluate
    if right.constant:
        b = right.value

        def evaluate(env: Evaluation) -> Any:
            return semantics(first(env), b)

    else:
        second = right.evaluate

        def evaluate(env: Evaluation) -> Any:
            return semantics(first(env), second(env))

    node = Node(evaluate, position)
    return fold(node) if left.constant and right.constant else node
