"""The errors managed integrations answers, with the members its model gives them."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from thinghub.store import Resource, ResourceStore, Scope
from thinghub.wire.errors import ServiceError


def not_found(resource_type: str, resource_id: str) -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException",
        f"{resource_type} {resource_id} does not exist",
        ResourceId=resource_id,
        ResourceType=resource_type,
    )


def invalid(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def existing(
    store: ResourceStore,
    scope: Scope,
    kind: str,
    resource_id: str,
    resource_type: str,
    conn: Connection | None = None,
) -> Resource:
    """The resource, or ResourceNotFoundException naming it."""
    resource = store.get(scope, kind, resource_id, conn=conn)
    if resource is None:
        raise not_found(resource_type, resource_id)
    return resource
