"""String literals: escapes and ``${...}`` substitution templates (spec 5.2, 5.7).

Both quote styles are string literals with the same rules: ``\\\\``, ``\\'``, ``\\"``, ``\\n``
and ``\\t`` are escapes (any other backslash pair is kept as written), and each ``${...}``
holds a whole expression, which may itself contain strings and templates. The parts are
rendered with `render_value`: numbers in decimal form, booleans as true/false, strings raw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from thinghub.events.expressions.errors import ExpressionSyntaxError
from thinghub.events.expressions.values import UNDEFINED, render_value

if TYPE_CHECKING:
    from thinghub.events.expressions.evaluation import Evaluation
    from thinghub.events.expressions.nodes import Closure

__all__ = ["Span", "make_template_closure", "split_string_literal"]

_ESCAPES: Final = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}

Span = tuple[int, int]  # start and end offset of a ${...} part's expression in the source


def split_string_literal(source: str, start: int, end: int) -> list[str | Span]:
    """Split the string token ``source[start:end]`` (quotes included) into its parts.

    Literal text comes back unescaped; each ``${...}`` comes back as the span of its
    expression text, for the compiler to parse.
    """
    stop = end - 1
    parts: list[str | Span] = []
    text: list[str] = []
    i = start + 1
    while i < stop:
        char = source[i]
        if char == "\\" and i + 1 < stop:
            following = source[i + 1]
            text.append(_ESCAPES.get(following, "\\" + following))
            i += 2
        elif char == "$" and source.startswith("{", i + 1) and i + 1 < stop:
            close = _substitution_end(source, i + 2, stop)
            if close < 0:
                raise ExpressionSyntaxError("unterminated substitution '${'", source, i)
            if not source[i + 2 : close].strip():
                raise ExpressionSyntaxError("empty substitution '${}'", source, i)
            if text:
                parts.append("".join(text))
                text = []
            parts.append((i + 2, close))
            i = close + 1
        else:
            text.append(char)
            i += 1
    if text or not parts:
        parts.append("".join(text))
    return parts


def _substitution_end(source: str, i: int, stop: int) -> int:
    """Offset of the "}" closing a ${ whose expression starts at `i`, or -1."""
    while i < stop:
        char = source[i]
        if char == "}":
            return i
        if char in "'\"":
            i = _string_end(source, i, stop)
            if i < 0:
                return -1
        elif char == "`":
            close = source.find("`", i + 1, stop)
            if close < 0:
                return -1
            i = close + 1
        elif char == "{":
            return -1
        else:
            i += 1
    return -1


def _string_end(source: str, i: int, stop: int) -> int:
    """Offset just after the string literal starting at `i` (nested in a template), or -1."""
    quote = source[i]
    i += 1
    while i < stop:
        char = source[i]
        if char == "\\":
            i += 2
        elif char == quote:
            return i + 1
        elif char == "$" and source.startswith("{", i + 1):
            close = _substitution_end(source, i + 2, stop)
            i = close + 1 if close >= 0 else i + 1
        else:
            i += 1
    return -1


def make_template_closure(parts: list[str | Closure]) -> Closure:
    """The closure of an interpolated string: literal text and part closures, in order."""
    pieces = tuple(parts)

    def evaluate(env: Evaluation) -> Any:
        out: list[str] = []
        for piece in pieces:
            if type(piece) is str:
                out.append(piece)
                continue
            value = piece(env)  # type: ignore[operator]
            if type(value) is str:
                out.append(value)
            elif value is UNDEFINED:
                return UNDEFINED  # one undefined part makes the whole string invalid
            else:
                out.append(render_value(value))
        return "".join(out)

    return evaluate
