"""Static data types of a detector model's expressions (the analyzer's `data-type` checks).

The language has four types (Integer, Decimal, String, Boolean; Integer and Decimal are
compatible). Literals have a type; operators and functions expect types of their operands. A
reference (`$input.X.a`, `$variable.v`) takes the type its context expects, and the checker
infers one type per reference across the whole model, as AWS's analyzer does:

* an operator applied to operands of known, wrong types is an ERROR;
* a condition, duration or JSON payload whose type is known and wrong is an ERROR;
* a reference used as two incompatible types in one expression is an ERROR, in different
  expressions a WARNING; a reference with one type gets an INFO naming it.

Only what is certain is reported: an operand of unknown type is never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from lark import Token, Tree

from thinghub.events.control.findings import ERROR, INFO, WARNING, Finding, Location
from thinghub.events.expressions.grammar import parse
from thinghub.events.expressions.references import (
    parse_input_reference,
    parse_variable_reference,
)
from thinghub.events.expressions.templates import split_string_literal

DATA_TYPE = "data-type"

INTEGER, DECIMAL, STRING, BOOLEAN = "Integer", "Decimal", "String", "Boolean"
NUMBER = "Number"  # an Integer or a Decimal, not known which

_NUMERIC: Final = frozenset({INTEGER, DECIMAL, NUMBER})
_OPERATORS: Final = {
    "logical_or": "||",
    "logical_and": "&&",
    "bit_or": "|",
    "bit_xor": "^",
    "bit_and": "&",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "not_": "!",
    "neg": "-",
    "invert": "~",
}
_COMPARISONS: Final = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
_ARITHMETIC: Final = frozenset({"sub", "mul", "div"})
_BITWISE: Final = frozenset({"bit_or", "bit_xor", "bit_and"})
_BOOLEAN_FUNCTIONS: Final = frozenset(
    {"timeout", "triggerType", "currentInput", "isNull", "isUndefined"}
)
_STRING_TESTS: Final = frozenset({"startsWith", "endsWith", "contains"})
_BIT_FUNCTIONS: Final = frozenset({"bitor", "bitand", "bitxor", "bitnot"})
_IDENTIFIER: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def family(kind: str) -> str:
    """Compatibility class: Integer, Decimal and Number are all numbers."""
    return NUMBER if kind in _NUMERIC else kind


def _shown(kinds: set[str]) -> str:
    if kinds & {INTEGER, DECIMAL}:
        kinds = kinds - {NUMBER}
    # A number of unknown kind shows as Decimal: every Integer widens to it.
    names = sorted({DECIMAL if kind == NUMBER else kind for kind in kinds})
    return ", ".join(names)


@dataclass(frozen=True, slots=True)
class Typed:
    """The static type of a sub-expression (None: unknown) and the reference it is, if any."""

    kind: str | None
    symbol: str | None = None


@dataclass(slots=True)
class _Use:
    kind: str
    expression: int  # index into TypeChecker._expressions


@dataclass(slots=True)
class _Expression:
    text: str
    where: Location
    kinds_by_symbol: dict[str, set[str]] = field(default_factory=dict)


def symbol_of_input(name: str, path: tuple[str | int, ...]) -> str:
    """`$input.Name.a.b[0]`, backticking segments that are not plain identifiers."""
    parts = [f"$input.{name}"]
    for segment in path:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif segment[:1].isalpha() and set(segment) <= _IDENTIFIER:
            parts.append(f".{segment}")
        else:
            parts.append(f".`{segment}`")
    return "".join(parts)


class TypeChecker:
    """Collects types over every expression of one definition, then reports."""

    def __init__(self, report: Callable[[Finding], None]) -> None:
        self._report = report
        self._uses: dict[str, list[_Use]] = {}
        self._expressions: list[_Expression] = []
        self._current = -1
        self._source = ""
        self._where = Location()
        self._json_template = False

    # --- per expression -------------------------------------------------------------------------

    def check(
        self,
        text: str,
        where: Location,
        *,
        expect: str | None = None,
        wrong: str = "",
        json_template: bool = False,
    ) -> Typed:
        """Type one expression that already compiled; `expect` is the type its field needs.

        `wrong` is the message when the type is known and is not `expect`.
        """
        self._expressions.append(_Expression(text, where))
        self._current = len(self._expressions) - 1
        self._source = text
        self._where = where
        self._json_template = json_template
        typed = self._infer(parse(text), 0)
        if expect is not None:
            self._expect(typed, expect, wrong)
        return typed

    def assign(self, variable: str, typed: Typed) -> None:
        """`setVariable`: the variable takes the value's type, where the value's type is known."""
        if typed.kind is not None:
            self._use(f"$variable.{variable}", typed.kind)

    # --- model-wide ---------------------------------------------------------------------------

    def finish(self) -> None:
        """Report every reference's inferred type, or its conflicting uses."""
        for symbol in sorted(self._uses):
            uses = self._uses[symbol]
            kinds = {use.kind for use in uses}
            families = {family(kind) for kind in kinds}
            if len(families) == 1:
                self._report(
                    Finding(DATA_TYPE, INFO, f"Inferred data types [{_shown(kinds)}] for {symbol}")
                )
                continue
            clashing = [
                expression
                for expression in self._expressions
                if len({family(k) for k in expression.kinds_by_symbol.get(symbol, ())}) > 1
            ]
            for expression in clashing:
                self._report(
                    Finding(
                        DATA_TYPE,
                        ERROR,
                        f"Incompatible data types [{_shown(expression.kinds_by_symbol[symbol])}] "
                        f"found for {symbol} in the following expression: {expression.text}",
                        expression.where,
                    )
                )
            if not clashing:
                first = self._expressions[uses[0].expression].where
                self._report(
                    Finding(
                        DATA_TYPE,
                        WARNING,
                        f"Incompatible data types [{_shown(kinds)}] used with {symbol}. "
                        "This may lead to a runtime error.",
                        first,
                    )
                )

    # --- inference ----------------------------------------------------------------------------

    def _use(self, symbol: str, kind: str) -> None:
        self._uses.setdefault(symbol, []).append(_Use(kind, self._current))
        self._expressions[self._current].kinds_by_symbol.setdefault(symbol, set()).add(kind)

    def _expect(self, typed: Typed, kind: str, wrong: str) -> None:
        if typed.kind is None:
            if typed.symbol is not None:
                self._use(typed.symbol, kind)
        elif family(typed.kind) != family(kind) and wrong:
            self._report(Finding(DATA_TYPE, ERROR, wrong, self._where))

    def _operands(
        self,
        operands: list[Typed],
        kind: str,
        operator: str,
        text: str,
        record: str | None = None,
    ) -> bool:
        """Require `kind` of every operand; False (and one ERROR) when a known type differs.

        A reference operand is recorded as `record` (default `kind`), a more precise type when
        the other operand tells it (`$variable.n + 1`: an Integer).
        """
        wrong: set[str] = set()
        for typed in operands:
            if typed.kind is None:
                if typed.symbol is not None:
                    self._use(typed.symbol, record or kind)
            elif family(typed.kind) != family(kind) or (kind == INTEGER and typed.kind == DECIMAL):
                wrong.add(typed.kind)
        if wrong:
            self._report(
                Finding(
                    DATA_TYPE,
                    ERROR,
                    f"The data types [{_shown(wrong)}] that you entered for the operator "
                    f"[{operator}] aren't compatible for the following expression: '{text}'",
                    self._where,
                )
            )
        return not wrong

    def _text(self, item: Tree[Token] | Token, base: int) -> str:
        if isinstance(item, Token):
            return str(item.value)
        return self._source[base + item.meta.start_pos : base + item.meta.end_pos]

    def _infer(self, item: Tree[Token] | Token, base: int) -> Typed:
        if isinstance(item, Token):
            return self._token(item, base)
        rule = str(item.data)
        children = item.children
        if rule == "call":
            return self._call(children, self._text(item, base), base)
        operator = _OPERATORS.get(rule)
        if operator is None:
            return Typed(None)  # a bare word: only convert()'s first argument, handled there
        text = self._text(item, base)
        if len(children) == 1:
            return self._unary(rule, self._infer(children[0], base), operator, text)
        left = self._infer(children[0], base)
        right = self._infer(children[1], base)
        return self._binary(rule, left, right, operator, text)

    def _unary(self, rule: str, operand: Typed, operator: str, text: str) -> Typed:
        if rule == "not_":
            self._operands([operand], BOOLEAN, operator, text)
            return Typed(BOOLEAN)
        if rule == "invert":
            self._operands([operand], INTEGER, operator, text)
            return Typed(INTEGER)
        ok = self._operands([operand], NUMBER, operator, text)
        return Typed(operand.kind if ok and operand.kind is not None else NUMBER)

    def _binary(self, rule: str, left: Typed, right: Typed, operator: str, text: str) -> Typed:
        if rule in ("logical_or", "logical_and"):
            self._operands([left, right], BOOLEAN, operator, text)
            return Typed(BOOLEAN)
        if rule in _COMPARISONS:
            self._compare(left, right, operator, text, ordering=rule not in ("eq", "ne"))
            return Typed(BOOLEAN)
        if rule in _BITWISE:
            self._operands([left, right], INTEGER, operator, text)
            return Typed(INTEGER)
        if rule == "add" and STRING in (left.kind, right.kind):
            self._operands([left, right], STRING, operator, text)
            return Typed(STRING)
        if rule == "add" and left.kind is None and right.kind is None:
            return Typed(None)  # a sum of two references: numbers or strings
        hint = next((t.kind for t in (left, right) if t.kind in (INTEGER, DECIMAL)), NUMBER)
        if not self._operands([left, right], NUMBER, operator, text, record=hint):
            return Typed(None)
        if left.kind == INTEGER and right.kind == INTEGER:
            return Typed(INTEGER)
        if DECIMAL in (left.kind, right.kind):
            return Typed(DECIMAL)
        return Typed(NUMBER)

    def _compare(self, left: Typed, right: Typed, operator: str, text: str, ordering: bool) -> None:
        if left.kind is not None and right.kind is not None:
            families = {family(left.kind), family(right.kind)}
            if len(families) > 1 or (ordering and BOOLEAN in families):
                self._report(
                    Finding(
                        DATA_TYPE,
                        ERROR,
                        f"The data types [{_shown({left.kind, right.kind})}] used with operands "
                        f"of the comparison operator [{operator}] are not compatible in the "
                        f"following expression: {text}",
                        self._where,
                    )
                )
            return
        # One side is known: the reference on the other side must be of the same type.
        for known, other in ((left, right), (right, left)):
            if known.kind is not None and other.symbol is not None:
                self._use(other.symbol, known.kind)

    def _call(self, children: list[Tree[Token] | Token], text: str, base: int) -> Typed:
        name = str(children[0].value) if isinstance(children[0], Token) else ""
        args = children[1:]
        if name == "convert":
            kind = args[0].children[0] if isinstance(args[0], Tree) else None
            for arg in args[1:]:
                self._infer(arg, base)
            if isinstance(kind, Token) and str(kind.value) in (STRING, BOOLEAN, DECIMAL):
                return Typed(str(kind.value))
            if not isinstance(args[0], Tree) or args[0].data != "word":
                self._infer(args[0], base)
            return Typed(None)
        typed_args = [self._infer(arg, base) for arg in args]
        if name in _STRING_TESTS:
            self._operands(typed_args, STRING, name, text)
            return Typed(BOOLEAN)
        if name in _BIT_FUNCTIONS:
            self._operands(typed_args, INTEGER, name, text)
            return Typed(INTEGER)
        if name in _BOOLEAN_FUNCTIONS:
            return Typed(BOOLEAN)
        return Typed(None)

    def _token(self, token: Token, base: int) -> Typed:
        kind = token.type
        if kind == "INTEGER":
            return Typed(INTEGER)
        if kind == "DECIMAL":
            return Typed(DECIMAL)
        if kind in ("TRUE", "FALSE"):
            return Typed(BOOLEAN)
        if kind == "INPUT_REF":
            return Typed(None, symbol_of_input(*parse_input_reference(str(token.value))))
        if kind == "VARIABLE_REF":
            return Typed(None, f"$variable.{parse_variable_reference(str(token.value))}")
        if kind == "STRING":
            self._template(base + (token.start_pos or 0), base + (token.end_pos or 0))
        return Typed(STRING)

    def _template(self, start: int, end: int) -> None:
        parts = split_string_literal(self._source, start, end)
        json_template = self._json_template
        self._json_template = False  # only the outermost literal is the JSON document
        for index, part in enumerate(parts):
            if isinstance(part, str):
                continue
            typed = self._infer(parse(self._source, part[0], part[1]), part[0])
            before = parts[index - 1] if index > 0 else ""
            after = parts[index + 1] if index + 1 < len(parts) else ""
            quoted = (
                isinstance(before, str)
                and isinstance(after, str)
                and before.endswith('"')
                and after.startswith('"')
            )
            if json_template and not quoted and typed.kind == STRING:
                inner = self._source[part[0] : part[1]]
                self._report(
                    Finding(
                        DATA_TYPE,
                        WARNING,
                        f"Your interpolated expression {{{inner}}} must evaluate to either an "
                        "integer or a Boolean value at runtime. Otherwise, your payload "
                        f"expression {{{self._source}}} won't be parseable at runtime as valid "
                        "JSON.",
                        self._where,
                    )
                )
