"""How data-plane handlers reach the hub's detector runtime."""

from __future__ import annotations

from typing import cast

from thinghub.api import RequestContext
from thinghub.events.runtime.service import EventsRuntime
from thinghub.wire.errors import ServiceError


def runtime_of(ctx: RequestContext) -> EventsRuntime:
    return cast(EventsRuntime, ctx.hub.components["events"])


def error_entry(message_id: str, code: str, message: str) -> dict[str, str]:
    return {"messageId": message_id, "errorCode": code, "errorMessage": message}


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidRequestException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)
