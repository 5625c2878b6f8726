"""From source text to closures: parse once with the Lark grammar, then build closures.

The syntax tree lives only while compiling. Each sub-expression becomes a `Node` holding a
closure; constant sub-expressions are folded, so ``-5`` or ``9 / 5`` cost nothing at run time.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from lark import Token, Tree

from thinghub.events.expressions import functions, operators
from thinghub.events.expressions.errors import ExpressionSyntaxError
from thinghub.events.expressions.evaluation import Evaluation
from thinghub.events.expressions.expression import Expression, References, Template
from thinghub.events.expressions.grammar import parse
from thinghub.events.expressions.nodes import Closure, Collector, Condition, Node, constant, fold
from thinghub.events.expressions.references import (
    input_reader,
    parse_input_reference,
    parse_variable_reference,
    variable_reader,
)
from thinghub.events.expressions.templates import make_template_closure, split_string_literal

__all__ = ["compile_condition", "compile_expression", "compile_template", "literal_or_expression"]

# Deeper nesting is refused at compile time: evaluating it would risk Python's recursion limit,
# and evaluate() must never raise. Real expressions stay far below (conditions are at most 512
# characters, values 1024).
MAX_DEPTH: Final = 256

_BINARY: Final = frozenset(
    {
        "logical_or", "logical_and", "bit_or", "bit_xor", "bit_and", "eq", "ne",
        "lt", "le", "gt", "ge", "add", "sub", "mul", "div",
    }
)  # fmt: skip
_UNARY: Final = frozenset({"not_", "neg", "invert"})


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.collector = Collector()

    def compile(self, start: int, end: int, depth: int) -> Node:
        return self._node(parse(self.source, start, end), start, depth)

    def _node(self, item: Tree[Token] | Token, base: int, depth: int) -> Node:
        offset = (item.start_pos or 0) if isinstance(item, Token) else item.meta.start_pos
        position = base + offset
        if depth > MAX_DEPTH:
            raise ExpressionSyntaxError("expression nested too deeply", self.source, position)
        if isinstance(item, Token):
            return self._token(item, base, depth)
        rule = str(item.data)
        children = item.children
        if rule in _BINARY:
            left = self._node(children[0], base, depth + 1)
            right = self._node(children[1], base, depth + 1)
            return operators.binary(rule, left, right, position)
        if rule in _UNARY:
            return operators.unary(rule, self._node(children[0], base, depth + 1), position)
        if rule == "call":
            return self._call(children, base, depth)
        if rule == "word":
            raise self._unexpected_word(children[0], base)
        raise AssertionError(f"grammar rule {rule} has no compiler")  # pragma: no cover

    def _unexpected_word(self, item: Tree[Token] | Token, base: int) -> ExpressionSyntaxError:
        assert isinstance(item, Token)
        return ExpressionSyntaxError(
            f"unexpected name {item.value} (strings need quotes, references a $)",
            self.source,
            base + (item.start_pos or 0),
        )

    def _call(self, children: list[Tree[Token] | Token], base: int, depth: int) -> Node:
        name_token = children[0]
        assert isinstance(name_token, Token)
        name = str(name_token.value)
        position = base + (name_token.start_pos or 0)
        args: list[Node] = []
        for index, child in enumerate(children[1:]):
            if isinstance(child, Tree) and child.data == "word":
                # A bare word is only the type keyword of convert(String|Boolean|Decimal, x).
                word = child.children[0]
                if not (name == "convert" and index == 0):
                    raise self._unexpected_word(word, base)
                assert isinstance(word, Token)
                args.append(constant(str(word.value), base + (word.start_pos or 0), "word"))
            else:
                args.append(self._node(child, base, depth + 1))
        return functions.call(name, args, position, self.source, self.collector)

    def _token(self, token: Token, base: int, depth: int) -> Node:
        position = base + (token.start_pos or 0)
        kind = token.type
        text = str(token.value)
        if kind == "INTEGER":
            return constant(int(text), position)
        if kind == "DECIMAL":
            return constant(Decimal(text), position)
        if kind == "TRUE":
            return constant(True, position)
        if kind == "FALSE":
            return constant(False, position)
        if kind == "STRING":
            return self._string(position, base + (token.end_pos or 0), depth)
        if kind == "INPUT_REF":
            name, path = parse_input_reference(text)
            self.collector.inputs.add(name)
            self.collector.input_paths.add((name, path))
            return Node(input_reader(name, path), position, kind="reference")
        if kind == "VARIABLE_REF":
            variable = parse_variable_reference(text)
            self.collector.variables.add(variable)
            return Node(variable_reader(variable), position, kind="reference")
        raise AssertionError(f"token {kind} has no compiler")  # pragma: no cover

    def _string(self, start: int, end: int, depth: int) -> Node:
        self.collector.quoted = True
        split = split_string_literal(self.source, start, end)
        if len(split) == 1 and isinstance(split[0], str):
            return constant(split[0], start, kind="string")
        parts: list[str | Expression] = []
        closures: list[str | Closure] = []
        all_constant = True
        for part in split:
            if isinstance(part, str):
                parts.append(part)
                closures.append(part)
                continue
            inner = _Compiler(self.source)
            node = inner.compile(part[0], part[1], depth + 1)
            self.collector.merge(inner.collector)
            parts.append(_expression(self.source[part[0] : part[1]], node, inner.collector))
            closures.append(node.evaluate)
            all_constant = all_constant and node.constant
        node = Node(make_template_closure(closures), start, kind="template", value=tuple(parts))
        return fold(node) if all_constant else node


def _references(collector: Collector) -> References:
    return References(
        inputs=frozenset(collector.inputs),
        input_paths=frozenset(collector.input_paths),
        variables=frozenset(collector.variables),
        timers=frozenset(collector.timers),
    )


def _expression(source: str, node: Node, collector: Collector) -> Expression:
    references = _references(collector)
    if node.kind == "template":
        return Template(source, references, node.evaluate, node.as_condition(), node.value)
    return Expression(source, references, node.evaluate, node.as_condition())


@lru_cache(maxsize=8192)
def _compile(text: str) -> tuple[Expression, bool]:
    # Expressions are immutable, so models that repeat an expression share one compilation.
    compiler = _Compiler(text)
    node = compiler.compile(0, len(text), 0)
    return _expression(text, node, compiler.collector), compiler.collector.quoted


def compile_expression(text: str) -> Expression:
    """Compile `text`; raises ExpressionSyntaxError with the offending position."""
    return _compile(text)[0]


def compile_condition(text: str) -> Condition:
    """A function that is True only when `text` evaluates to Boolean true (spec 4.3)."""
    return _compile(text)[0].condition


def compile_template(text: str) -> Expression:
    """Compile a payload's ``contentExpression`` (spec 5.7).

    The content is an ordinary expression, typically one quoted string with ``${...}`` parts
    (the result is then a `Template`), or a concatenation. Evaluating gives the String;
    UNDEFINED when a part is undefined. A result that is not a String is returned as it is, so
    that the runtime can report a JSON payload that is not a string expression, or render a
    STRING payload with `render_value`.
    """
    return _compile(text)[0]


def _constant_text(text: str) -> Expression:
    def evaluate(env: Evaluation) -> Any:
        return text

    def condition(env: Evaluation) -> bool:
        return False

    return Expression(text, References(), evaluate, condition)


def literal_or_expression(text: str) -> Expression:
    """An action field that AWS examples write as plain text: ``hvac/Heating/Off`` (spec 5.9).

    The text is an expression when it parses and contains a reference, a quoted literal or
    ``${``; anything else (``IoTEvents/Output``, ``arn:aws:sns:...``, ``123``) stands for itself.
    """
    try:
        expression, quoted = _compile(text)
    except ExpressionSyntaxError:
        return _constant_text(text)
    references = expression.references
    if quoted or references.inputs or references.variables or references.timers:
        return expression
    return _constant_text(text)
