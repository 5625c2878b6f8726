"""What a service handler sees: a request context and plain params, nothing of HTTP."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from thinghub.store import Scope

if TYPE_CHECKING:
    from thinghub.hub import Hub

Params = dict[str, Any]
Result = dict[str, Any] | None
Handler = Callable[["RequestContext", Params], Result | Awaitable[Result]]


class RequestContext:
    """The caller and the operation of one API request (a plain class: built per request)."""

    __slots__ = ("account_id", "hub", "operation", "region", "request_id", "scope", "service")

    def __init__(
        self,
        hub: Hub,
        account_id: str,
        region: str,
        service: str,
        operation: str,
        request_id: str,
    ) -> None:
        self.hub = hub
        self.account_id = account_id
        self.region = region
        self.service = service  # boto3 service name, e.g. "iotevents"
        self.operation = operation
        self.request_id = request_id
        # The account and region every resource of this request belongs to.
        self.scope = Scope(account_id, region)

    @property
    def now(self) -> float:
        return self.hub.clock.now()


@dataclass(frozen=True, slots=True)
class Registered:
    handler: Handler
    is_async: bool


class Handlers:
    """Handlers by (service, operation). Sync handlers run on the event loop and must be quick
    (database work only); anything that waits on the network must be `async def`."""

    def __init__(self) -> None:
        self._by_operation: dict[tuple[str, str], Registered] = {}

    def register(self, service: str, operation: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            key = (service, operation)
            if key in self._by_operation:
                raise ValueError(f"{service}:{operation} has two handlers")
            self._by_operation[key] = Registered(handler, inspect.iscoroutinefunction(handler))
            return handler

        return decorate

    def get(self, service: str, operation: str) -> Registered | None:
        return self._by_operation.get((service, operation))

    def __len__(self) -> int:
        return len(self._by_operation)
