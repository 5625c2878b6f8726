"""What discoveries and managed things need to know about an account association.

One place reads the account associations' records (`association_records`, owned by the
account associations work) and finds the Lambda function of their cloud connector, so the
other modules see one small view and never that family's attribute names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from thinghub.integrations import account_associations, association_records, cloud_connectors
from thinghub.integrations.errors import existing, not_found
from thinghub.store import Resource, ResourceStore, Scope
from thinghub.wire.errors import ServiceError

if TYPE_CHECKING:
    from thinghub.hub import Hub

ASSOCIATION_TYPE = association_records.RESOURCE_TYPE
SUCCEEDED = association_records.SUCCEEDED
DELETING = association_records.DELETING


@dataclass(frozen=True, slots=True)
class AssociationView:
    id: str
    arn: str | None
    state: str
    destination_id: str | None
    connector_id: str | None
    user_id: str | None  # the third-party user, from AWS.ActivateUser


@dataclass(frozen=True, slots=True)
class ConnectorView:
    id: str
    lambda_arn: str


def association(
    store: ResourceStore, scope: Scope, association_id: str, conn: Connection | None = None
) -> AssociationView | None:
    resource = store.get(scope, association_records.KIND, association_id, conn=conn)
    return None if resource is None else _view(resource)


def existing_association(
    store: ResourceStore, scope: Scope, association_id: str, conn: Connection | None = None
) -> AssociationView:
    """The association, or ResourceNotFoundException."""
    found = association(store, scope, association_id, conn)
    if found is None:
        raise not_found(ASSOCIATION_TYPE, association_id)
    return found


def _view(resource: Resource) -> AssociationView:
    attrs = resource.attrs
    return AssociationView(
        id=resource.id,
        arn=resource.arn,
        state=str(attrs.get(association_records.ATTR_STATE, "")),
        destination_id=attrs.get(association_records.ATTR_DESTINATION),
        connector_id=attrs.get(association_records.ATTR_CONNECTOR),
        user_id=attrs.get(association_records.ATTR_USER_ID),
    )


def connector_of(store: ResourceStore, scope: Scope, view: AssociationView) -> ConnectorView:
    """The cloud connector an association speaks through (ResourceNotFoundException if it was
    deleted since)."""
    connector_id = view.connector_id or ""
    connector = existing(
        store, scope, cloud_connectors.KIND, connector_id, cloud_connectors.RESOURCE_TYPE
    )
    return ConnectorView(connector.id, str(connector.attrs["EndpointConfig"]["lambda"]["arn"]))


def usable(view: AssociationView, error: str = "ConflictException") -> None:
    """`error` (an operation without ConflictException gives its own) unless the association
    is linked (spec 3.5: ASSOCIATION_SUCCEEDED)."""
    if view.state != SUCCEEDED:
        raise ServiceError(
            error,
            f"AccountAssociation {view.id} is {view.state or 'not linked'}, "
            f"not {SUCCEEDED}: link it first",
        )


async def connector_auth(hub: Hub, scope: Scope, association_id: str) -> dict[str, Any]:
    """How to speak for the association's user: ``{"token"}`` (an OAuth access token,
    refreshed when needed) or ``{"auth"}`` (General Authorization); ServiceError if unusable."""
    return await account_associations.connector_auth(hub, scope, association_id)
