"""The one error the expression compiler raises: a syntax error with its position."""

from __future__ import annotations


def line_column(source: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset into `source`."""
    line_start = source.rfind("\n", 0, position) + 1
    return source.count("\n", 0, position) + 1, position - line_start + 1


class ExpressionSyntaxError(ValueError):
    """An expression that does not compile: bad syntax, unknown function, bad static argument."""

    def __init__(self, message: str, source: str, position: int) -> None:
        self.message = message
        self.source = source
        self.position = position
        self.line, self.column = line_column(source, position)
        super().__init__(f"Syntax error at line {self.line}, column {self.column}: {message}")

    def __reduce__(self) -> tuple[type[ExpressionSyntaxError], tuple[str, str, int]]:
        # The constructor takes three arguments: pickling (logging, xdist) needs them spelled out.
        return (type(self), (self.message, self.source, self.position))
