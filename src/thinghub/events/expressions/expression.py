"""Compiled expressions: what the rest of thinghub holds and calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thinghub.events.expressions.evaluation import Evaluation

__all__ = ["Expression", "References", "Template"]


@dataclass(frozen=True, slots=True)
class References:
    """What an expression reads.

    `inputs` names every input of a ``$input.X...`` reference or a ``currentInput("X")`` call;
    `input_paths` holds (input, path) for each reference, path segments being keys (str) and
    array indexes (int); `timers` names the literal arguments of ``timeout("...")``.
    """

    inputs: frozenset[str] = frozenset()
    input_paths: frozenset[tuple[str, tuple[str | int, ...]]] = frozenset()
    variables: frozenset[str] = frozenset()
    timers: frozenset[str] = frozenset()


class Expression:
    """A compiled expression. Immutable; safe to share between threads and detector models.

    ``evaluate(env)`` returns the value (int, Decimal, str, bool, None for JSON null, a
    dict/list for an object path) or UNDEFINED; it never raises for data problems.
    ``condition(env)`` is True exactly when the value is Boolean true (spec 4.3).
    """

    __slots__ = ("condition", "evaluate", "references", "source")

    source: str
    references: References
    evaluate: Callable[[Evaluation], Any]
    condition: Callable[[Evaluation], bool]

    def __init__(
        self,
        source: str,
        references: References,
        evaluate: Callable[[Evaluation], Any],
        condition: Callable[[Evaluation], bool],
    ) -> None:
        # The closures are stored on the instance, so expr.evaluate(env) is one plain call.
        setattr_ = object.__setattr__
        setattr_(self, "source", source)
        setattr_(self, "references", references)
        setattr_(self, "evaluate", evaluate)
        setattr_(self, "condition", condition)

    def __setattr__(self, name: str, value: object) -> None:
        # Compiled expressions are cached and shared, so nobody may change one.
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r})"


class Template(Expression):
    """An interpolated string literal (``'${$input.T.temperature * 9 / 5 + 32} in Fahrenheit'``).

    `parts` are its literal text and its ``${...}`` expressions, in order; evaluating gives the
    String, or UNDEFINED when a part is undefined.
    """

    __slots__ = ("parts",)

    parts: tuple[str | Expression, ...]

    def __init__(
        self,
        source: str,
        references: References,
        evaluate: Callable[[Evaluation], Any],
        condition: Callable[[Evaluation], bool],
        parts: tuple[str | Expression, ...],
    ) -> None:
        super().__init__(source, references, evaluate, condition)
        object.__setattr__(self, "parts", parts)
