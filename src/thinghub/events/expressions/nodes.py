"""What the compiler builds per sub-expression: closures, plus what is known statically.

Nodes exist only while compiling. An `Expression` keeps just the closures, so evaluation never
touches a syntax tree or a Lark object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from thinghub.events.expressions.values import UNDEFINED

if TYPE_CHECKING:
    from thinghub.events.expressions.evaluation import Evaluation

Closure = Callable[["Evaluation"], Any]
Condition = Callable[["Evaluation"], bool]


@dataclass(slots=True)
class Node:
    """A compiled sub-expression.

    `evaluate` gives the value (or UNDEFINED). `condition`, when set, gives exactly
    ``evaluate(env) is True`` but faster: comparisons and logic compile a variant that never
    builds UNDEFINED. `boolish` means the value is always True, False or UNDEFINED.
    """

    evaluate: Closure
    position: int
    condition: Condition | None = None
    constant: bool = False
    value: Any = None
    boolish: bool = False
    kind: str = "expression"  # "string" (a plain quoted literal), "reference", "word"

    def as_condition(self) -> Condition:
        if self.condition is not None:
            return self.condition
        if self.constant:
            result = self.value is True
            return lambda env: result
        evaluate = self.evaluate

        def condition(env: Evaluation) -> bool:
            return evaluate(env) is True

        return condition


def constant(value: Any, position: int, kind: str = "expression") -> Node:
    """A node whose value is known at compile time."""

    def evaluate(env: Evaluation) -> Any:
        return value

    return Node(
        evaluate,
        position,
        constant=True,
        value=value,
        boolish=type(value) is bool or value is UNDEFINED,
        kind=kind,
    )


def fold(node: Node) -> Node:
    """Replace a node built only from constants by its value (the closures ignore `env`)."""
    return constant(node.evaluate(None), node.position)  # type: ignore[arg-type]


@dataclass(slots=True)
class Collector:
    """What one expression refers to, gathered while it compiles."""

    inputs: set[str] = field(default_factory=set)
    input_paths: set[tuple[str, tuple[str | int, ...]]] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)
    timers: set[str] = field(default_factory=set)
    quoted: bool = False  # a quoted string literal occurs (the 5.9 literal-or-expression test)

    def merge(self, other: Collector) -> None:
        self.inputs |= other.inputs
        self.input_paths |= other.input_paths
        self.variables |= other.variables
        self.timers |= other.timers
        self.quoted = self.quoted or other.quoted
