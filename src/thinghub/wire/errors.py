"""AWS errors as the services raise them and as the wire renders them."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error answered to the client in AWS form.

    `code` is the error shape name (e.g. `ResourceNotFoundException`); when the service model
    defines that shape, the HTTP status and the name of the message member come from the model.
    Extra `fields` become members of the error body (e.g. `ResourceId`, `ResourceType`).
    """

    def __init__(
        self, code: str, message: str, *, status: int | None = None, **fields: Any
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


class ValidationFailure(Exception):
    """The request breaks its input shape; answered as the operation's validation error."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(self.message)

    @property
    def message(self) -> str:
        count = len(self.problems)
        noun = "error" if count == 1 else "errors"
        return f"{count} validation {noun} detected: " + "; ".join(self.problems)


class RouteNotFound(Exception):
    """No operation of the service has this path (404) or this method on this path (405)."""

    def __init__(self, message: str, status: int, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.allowed = allowed
