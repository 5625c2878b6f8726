"""``$input.<Input>.<path>`` and ``$variable.<name>``: parsing the token and reading the value.

A path that does not exist is UNDEFINED: a missing key or input, an index past the end, a key
applied to something that is not an object, an index applied to something that is not an
array. JSON null stays None. A float (from a payload decoded without `parse_payload`, or a
variable the runtime stored as float) is read as the Decimal of its shortest text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from thinghub.events.expressions.values import UNDEFINED

if TYPE_CHECKING:
    from thinghub.events.expressions.evaluation import Evaluation
    from thinghub.events.expressions.nodes import Closure

__all__ = ["input_reader", "parse_input_reference", "parse_variable_reference", "variable_reader"]

Path = tuple[str | int, ...]

_SEGMENT: Final = re.compile(r"\.(?:([a-zA-Z][a-zA-Z0-9_]*)|`([^`]+)`)|\[([0-9]+)\]")
# Subscripting these fails in ways we map to "undefined": a missing key (KeyError), a key on a
# list, str, number, bool or None (TypeError).
_MISSES: Final = (KeyError, TypeError)


def _segments(text: str) -> list[str | int]:
    segments: list[str | int] = []
    for match in _SEGMENT.finditer(text):
        name, quoted, index = match.groups()
        segments.append(int(index) if index is not None else name or quoted)
    return segments


def parse_input_reference(token: str) -> tuple[str, Path]:
    """``$input.Name.a.`b c`[2]`` -> ("Name", ("a", "b c", 2)); the grammar checked the form."""
    segments = _segments(token[len("$input") :])
    return str(segments[0]), tuple(segments[1:])


def parse_variable_reference(token: str) -> str:
    return str(_segments(token[len("$variable") :])[0])


def variable_reader(name: str) -> Closure:
    def read(env: Evaluation) -> Any:
        value = env.variables.get(name, UNDEFINED)
        return Decimal(repr(value)) if type(value) is float else value

    return read


def input_reader(name: str, path: Path) -> Closure:
    """The closure reading one input path; short all-key paths get an unrolled version."""
    if any(type(segment) is int for segment in path) or len(path) > 3:
        return _general_reader(name, path)
    if not path:

        def read(env: Evaluation) -> Any:
            return env.inputs.get(name, UNDEFINED)

    elif len(path) == 1:
        (first,) = path

        def read(env: Evaluation) -> Any:
            try:
                value = env.inputs[name][first]
            except _MISSES:
                return UNDEFINED
            return Decimal(repr(value)) if type(value) is float else value

    elif len(path) == 2:
        first, second = path

        def read(env: Evaluation) -> Any:
            try:
                value = env.inputs[name][first][second]
            except _MISSES:
                return UNDEFINED
            return Decimal(repr(value)) if type(value) is float else value

    else:
        first, second, third = path

        def read(env: Evaluation) -> Any:
            try:
                value = env.inputs[name][first][second][third]
            except _MISSES:
                return UNDEFINED
            return Decimal(repr(value)) if type(value) is float else value

    return read


def _general_reader(name: str, path: Path) -> Closure:
    def read(env: Evaluation) -> Any:
        value = env.inputs.get(name, UNDEFINED)
        for segment in path:
            if type(segment) is int:
                # Only arrays take an index: "abc"[0] must not read a character.
                if type(value) is not list or segment >= len(value):
                    return UNDEFINED
                value = value[segment]
            else:
                try:
                    value = value[segment]
                except _MISSES:
                    return UNDEFINED
        return Decimal(repr(value)) if type(value) is float else value

    return read
