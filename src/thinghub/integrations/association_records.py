"""How an account association is stored: its kind, attributes, index and state changes.

A resource of kind ``account-association`` in the customer's scope, id = AccountAssociationId
(32 lowercase alphanumerics), ARN
``arn:aws:iotmanagedintegrations:{region}:{account}:account-association/{id}``. Its attrs:

| attr | meaning |
| --- | --- |
| ``ConnectorDestinationId`` | the destination it was created on |
| ``CloudConnectorId`` | that destination's connector (copied: a destination never changes it) |
| ``Name``, ``Description`` | as given (absent when not given) |
| ``AssociationState`` | one of `STATES` |
| ``ErrorMessage`` | why the last step failed (absent otherwise); model pattern ``[A-Za-z0-9-_ ]`` |
| ``OAuthAuthorizationUrl`` | the last authorization URL issued (``""`` for General Authorization) |
| ``GeneralAuthorization`` | ``{"AuthMaterialName"}`` when the association uses one |
| ``UserId`` | the third-party user id AWS.ActivateUser answered (absent until then) |
| ``OAuthFlow`` | digest of the state of the authorization flow in progress (internal) |
| ``Tokens`` | the OAuth tokens, see below (absent until the first successful link) |

``Tokens``: ``AccessToken`` and ``RefreshToken`` (sealed by `token_vault`, never plaintext),
``TokenType``, ``Scope``, ``ObtainedAt``, ``ExpiresAt`` and ``RefreshTokenExpiresAt`` (epoch
seconds on thinghub's clock; absent when the vendor did not say).

Index fields (exact-match filters for `ResourceStore.list_page`/`count`):
``ConnectorDestinationId``, ``CloudConnectorId`` and, once known, ``UserId``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from thinghub.integrations import notifications
from thinghub.store import NotFound, Resource, Scope, VersionConflict, arn

if TYPE_CHECKING:
    from thinghub.hub import Hub

KIND = "account-association"
RESOURCE_TYPE = "AccountAssociation"
SERVICE_ARN_NAME = "iotmanagedintegrations"

ATTR_DESTINATION = "ConnectorDestinationId"
ATTR_CONNECTOR = "CloudConnectorId"
ATTR_NAME = "Name"
ATTR_DESCRIPTION = "Description"
ATTR_STATE = "AssociationState"
ATTR_ERROR = "ErrorMessage"
ATTR_URL = "OAuthAuthorizationUrl"
ATTR_GENERAL_AUTHORIZATION = "GeneralAuthorization"
ATTR_USER_ID = "UserId"
ATTR_FLOW = "OAuthFlow"
ATTR_TOKENS = "Tokens"

TOKEN_ACCESS = "AccessToken"
TOKEN_REFRESH = "RefreshToken"
TOKEN_TYPE = "TokenType"
TOKEN_SCOPE = "Scope"
TOKEN_OBTAINED_AT = "ObtainedAt"
TOKEN_EXPIRES_AT = "ExpiresAt"
TOKEN_REFRESH_EXPIRES_AT = "RefreshTokenExpiresAt"

IN_PROGRESS = "ASSOCIATION_IN_PROGRESS"
FAILED = "ASSOCIATION_FAILED"
SUCCEEDED = "ASSOCIATION_SUCCEEDED"
DELETING = "ASSOCIATION_DELETING"
REFRESH_TOKEN_EXPIRED = "REFRESH_TOKEN_EXPIRED"
STATES = (IN_PROGRESS, FAILED, SUCCEEDED, DELETING, REFRESH_TOKEN_EXPIRED)

# Registries that must be found without knowing the account (the OAuth callback arrives with
# nothing but a state; the refresh worker serves every account) live in this one scope, which
# no API caller can have: account ids are 12 digits.
GLOBAL_SCOPE = Scope("thinghub", "global")

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_ -]+")
_MAX_ERROR = 4096


def association_arn(scope: Scope, association_id: str) -> str:
    return arn(
        SERVICE_ARN_NAME, scope.region, scope.account_id, f"account-association/{association_id}"
    )


def index_of(attrs: dict[str, Any]) -> dict[str, str]:
    index = {ATTR_DESTINATION: attrs[ATTR_DESTINATION], ATTR_CONNECTOR: attrs[ATTR_CONNECTOR]}
    if attrs.get(ATTR_USER_ID):
        index[ATTR_USER_ID] = attrs[ATTR_USER_ID]
    return index


def error_message(text: str) -> str:
    """`text` as the model's ErrorMessage allows it: letters, digits, ``-``, ``_``, spaces."""
    cleaned = " ".join(_NOT_ALLOWED.sub(" ", text).split())
    return cleaned[:_MAX_ERROR].strip() or "Unknown error"


def with_state(attrs: dict[str, Any], state: str, error: str | None = None) -> dict[str, Any]:
    """`attrs` in `state`, with ErrorMessage set (failures) or removed (everything else)."""
    attrs[ATTR_STATE] = state
    if error is None:
        attrs.pop(ATTR_ERROR, None)
    else:
        attrs[ATTR_ERROR] = error_message(error)
    return attrs


Change = Callable[[dict[str, Any]], dict[str, Any] | None]


def state_notifications(scope: Scope, association: Resource) -> list[notifications.Notification]:
    """ACCOUNT_ASSOCIATION (and its legacy twin CONNECTOR_ASSOCIATION) for the state it is in."""
    attrs = association.attrs
    payload: dict[str, Any] = {
        "accountAssociationId": association.id,
        "connectorDestinationId": attrs.get(ATTR_DESTINATION),
        "cloudConnectorId": attrs.get(ATTR_CONNECTOR),
        "associationState": attrs[ATTR_STATE],
    }
    if ATTR_ERROR in attrs:
        payload["errorMessage"] = attrs[ATTR_ERROR]
    resources = (association_arn(scope, association.id),)
    return [
        notifications.Notification(event_type, payload, association.id, resources)
        for event_type in (notifications.ACCOUNT_ASSOCIATION, notifications.CONNECTOR_ASSOCIATION)
    ]


def transition(
    hub: Hub,
    scope: Scope,
    association_id: str,
    change: Change,
    now: float,
    *,
    conn: Connection | None = None,
) -> tuple[Resource | None, bool]:
    """Read, `change` a copy of the attrs, write back if nobody wrote in between; repeat.

    `change` returns the new attrs, or None to leave the association as it is. Returns the
    association as it now is (None: it is gone) and whether `change` was applied. A change of
    AssociationState is notified in the same transaction.
    """
    if conn is None:
        with hub.store.transaction() as own:
            return transition(hub, scope, association_id, change, now, conn=own)
    store = hub.store
    for _ in range(16):
        current = store.get(scope, KIND, association_id, conn=conn)
        if current is None:
            return None, False
        attrs = change(copy.deepcopy(current.attrs))
        if attrs is None:
            return current, False
        try:
            updated = store.update(
                scope,
                KIND,
                association_id,
                attrs=attrs,
                now=now,
                index=index_of(attrs),
                expected_version=current.version,
                conn=conn,
            )
        except VersionConflict:
            continue
        except NotFound:
            return None, False
        if attrs[ATTR_STATE] != current.attrs[ATTR_STATE]:
            notifications.notify(hub, scope, state_notifications(scope, updated), now, conn)
        return updated, True
    raise RuntimeError(f"account association {association_id} keeps changing under us")
