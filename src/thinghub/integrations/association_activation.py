"""Finishing and undoing a link: code exchange, AWS.ActivateUser, AWS.DeactivateUser.

Each flow (an OAuth authorization, or a General Authorization activation) is identified by the
``OAuthFlow`` digest it was started with. Its result is written only while the association is
still ASSOCIATION_IN_PROGRESS with that same flow, so a flow superseded by
StartAccountAssociationRefresh, or an association being deleted, is never overwritten.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from thinghub.connectors.envelope import ACTIVATE_USER, DEACTIVATE_USER, envelope
from thinghub.connectors.responses import ConnectorError
from thinghub.integrations import (
    association_schedule,
    cloud_connectors,
    connector_errors,
    oauth_client,
)
from thinghub.integrations.association_records import (
    ATTR_CONNECTOR,
    ATTR_DESTINATION,
    ATTR_FLOW,
    ATTR_GENERAL_AUTHORIZATION,
    ATTR_STATE,
    ATTR_TOKENS,
    ATTR_USER_ID,
    FAILED,
    IN_PROGRESS,
    KIND,
    SUCCEEDED,
    TOKEN_ACCESS,
    TOKEN_EXPIRES_AT,
    TOKEN_REFRESH,
    transition,
    with_state,
)
from thinghub.integrations.association_runtime import runtime
from thinghub.integrations.association_tokens import (
    client_credentials,
    next_due,
    open_token,
    sealed_tokens,
)
from thinghub.integrations.connector_destinations import KIND as DESTINATION_KIND
from thinghub.integrations.connector_destinations import auth_materials, oauth_config
from thinghub.integrations.oauth_client import OAuthEndpoints, OAuthFailure
from thinghub.integrations.oauth_state import PendingFlow
from thinghub.integrations.secrets import SecretError
from thinghub.store import Resource, Scope

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.oauth")

# ThirdPartyUserId in the model: 1-64 characters, pattern searched (not anchored) as the wire
# layer does for SendConnectorEvent's UserId, so every id stored here is one it accepts.
_USER_ID = re.compile(r"[a-zA-Z0-9_.,@-]+")
_MAX_USER_ID = 64


@dataclass(frozen=True)
class Outcome:
    """How a browser flow ended: for the callback page to render or redirect."""

    ok: bool
    error: str | None = None  # OAuth-style error code for the redirect
    description: str | None = None
    redirect_url: str | None = None  # the destination's oAuthCompleteRedirectUrl
    known: bool = True  # False: no association's flow (unknown, used or stale state)


class StepFailed(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def _redirect_url(hub: Hub, scope: Scope, association: Resource) -> str | None:
    destination = hub.store.get(scope, DESTINATION_KIND, association.attrs[ATTR_DESTINATION])
    url = (oauth_config(destination) or {}).get("oAuthCompleteRedirectUrl") if destination else None
    return str(url) if url else None


def fail_flow(hub: Hub, scope: Scope, association_id: str, digest: str, message: str) -> bool:
    """ASSOCIATION_IN_PROGRESS (this flow) → ASSOCIATION_FAILED; whether it happened."""

    def failed(attrs: dict[str, Any]) -> dict[str, Any] | None:
        if attrs.get(ATTR_STATE) != IN_PROGRESS or attrs.get(ATTR_FLOW) != digest:
            return None
        attrs.pop(ATTR_FLOW, None)
        return with_state(attrs, FAILED, message)

    _, applied = transition(hub, scope, association_id, failed, hub.clock.now())
    if applied:
        log.warning("account association %s failed: %s", association_id, message)
    return applied


async def complete_oauth(
    hub: Hub,
    flow: PendingFlow,
    code: str | None,
    error: str | None,
    error_description: str | None,
) -> Outcome:
    """The callback's work once its state was consumed."""
    scope, association_id = flow.scope, flow.association_id
    association = hub.store.get(scope, KIND, association_id)
    if association is None:
        return Outcome(
            False, "invalid_request", "The account association no longer exists", known=False
        )
    attrs = association.attrs
    if attrs.get(ATTR_STATE) != IN_PROGRESS or attrs.get(ATTR_FLOW) != flow.digest:
        return Outcome(
            False, "invalid_request", "This authorization link is no longer valid", known=False
        )
    redirect_url = _redirect_url(hub, scope, association)
    try:
        if flow.expires_at <= hub.clock.now():
            raise StepFailed("invalid_request", "The authorization request expired")
        if error:
            described = f"{error} {error_description}" if error_description else error
            raise StepFailed(error, f"The authorization server refused {described}")
        if not code:
            raise StepFailed("invalid_request", "The authorization server sent no code")
        tokens = await _exchange(hub, scope, association, code, flow.redirect_uri)
        user_id = await _activate(hub, scope, association, {"token": tokens.access_token})
    except StepFailed as failure:
        fail_flow(hub, scope, association_id, flow.digest, failure.message)
        return Outcome(False, failure.error, failure.message, redirect_url)

    rt = runtime(hub)
    now = hub.clock.now()
    sealed = sealed_tokens(rt, scope, association_id, tokens, now)

    def succeeded(current: dict[str, Any]) -> dict[str, Any] | None:
        if current.get(ATTR_STATE) != IN_PROGRESS or current.get(ATTR_FLOW) != flow.digest:
            return None
        current.pop(ATTR_FLOW, None)
        current[ATTR_TOKENS] = sealed
        current[ATTR_USER_ID] = user_id
        return with_state(current, SUCCEEDED)

    _, applied = transition(hub, scope, association_id, succeeded, now)
    if not applied:
        return Outcome(
            False,
            "invalid_request",
            "The account association changed while it was being linked",
            redirect_url,
        )
    destination = hub.store.get(scope, DESTINATION_KIND, attrs[ATTR_DESTINATION])
    oauth = oauth_config(destination) if destination is not None else None
    association_schedule.set_due(hub.store, scope, association_id, next_due(rt, sealed, oauth), now)
    log.info("account association %s linked", association_id)
    return Outcome(True, redirect_url=redirect_url)


async def _exchange(
    hub: Hub, scope: Scope, association: Resource, code: str, redirect_uri: str
) -> oauth_client.TokenSet:
    rt = runtime(hub)
    destination = hub.store.get(scope, DESTINATION_KIND, association.attrs[ATTR_DESTINATION])
    oauth = oauth_config(destination) if destination is not None else None
    if destination is None or oauth is None:
        raise StepFailed("server_error", "The connector destination no longer exists")
    try:
        credentials = await client_credentials(rt, destination)
    except SecretError as exc:
        raise StepFailed(
            "server_error", f"The client credentials are unusable {exc.message}"
        ) from None
    try:
        return await oauth_client.exchange_code(
            OAuthEndpoints.of(oauth),
            credentials,
            code,
            redirect_uri,
            rt.settings.http_timeout_seconds,
        )
    except OAuthFailure as failure:
        raise StepFailed(
            failure.error, f"The token exchange failed {failure.error} {failure.description}"
        ) from None


async def _activate(hub: Hub, scope: Scope, association: Resource, auth: dict[str, Any]) -> str:
    """AWS.ActivateUser; the third-party user id it answered."""
    connector_id = association.attrs[ATTR_CONNECTOR]
    connector = hub.store.get(scope, cloud_connectors.KIND, connector_id)
    if connector is None:
        raise StepFailed("server_error", f"The cloud connector {connector_id} no longer exists")
    event = envelope(ACTIVATE_USER, connector_id, auth.get("token"), auth=auth.get("auth"))
    try:
        answer = await runtime(hub).invoker.invoke(
            connector.attrs["EndpointConfig"]["lambda"]["arn"],
            event,
            account_id=scope.account_id,
            region=scope.region,
        )
    except ConnectorError as exc:
        connector_errors.notify(
            hub, scope, connector_id, ACTIVATE_USER, exc, accountAssociationId=association.id
        )
        raise StepFailed("server_error", f"AWS.ActivateUser failed {exc}") from None
    user_id = answer.payload.get("userId")
    if (
        not isinstance(user_id, str)
        or not 1 <= len(user_id) <= _MAX_USER_ID
        or not _USER_ID.search(user_id)
    ):
        raise StepFailed("server_error", "AWS.ActivateUser answered no valid userId")
    return user_id


async def activate_general(hub: Hub, scope: Scope, association_id: str, digest: str) -> None:
    """General Authorization: AWS.ActivateUser with the chosen material (in the background,
    spec 11.7 [CHOICE]), then ASSOCIATION_SUCCEEDED or ASSOCIATION_FAILED."""
    association = hub.store.get(scope, KIND, association_id)
    if association is None or association.attrs.get(ATTR_FLOW) != digest:
        return
    name = association.attrs[ATTR_GENERAL_AUTHORIZATION]["AuthMaterialName"]
    destination = hub.store.get(scope, DESTINATION_KIND, association.attrs[ATTR_DESTINATION])
    materials = auth_materials(destination) if destination is not None else []
    material = next((m for m in materials if m["AuthMaterialName"] == name), None)
    try:
        if material is None:
            raise StepFailed("server_error", f"The AuthMaterialName {name} no longer exists")
        auth = {"secretsManager": material["SecretsManager"]}
        user_id = await _activate(hub, scope, association, {"auth": auth})
    except StepFailed as failure:
        fail_flow(hub, scope, association_id, digest, failure.message)
        return

    def succeeded(current: dict[str, Any]) -> dict[str, Any] | None:
        if current.get(ATTR_STATE) != IN_PROGRESS or current.get(ATTR_FLOW) != digest:
            return None
        current.pop(ATTR_FLOW, None)
        current[ATTR_USER_ID] = user_id
        return with_state(current, SUCCEEDED)

    transition(hub, scope, association_id, succeeded, hub.clock.now())


async def deactivate(hub: Hub, scope: Scope, association: Resource) -> None:
    """AWS.DeactivateUser for a linked user; a failure is logged, never raised (spec 3.9)."""
    attrs = association.attrs
    connector_id = attrs[ATTR_CONNECTOR]
    connector = hub.store.get(scope, cloud_connectors.KIND, connector_id)
    if connector is None:
        return
    try:
        if ATTR_GENERAL_AUTHORIZATION in attrs:
            if not attrs.get(ATTR_USER_ID):
                return  # never activated: nothing to undo
            event = _general_deactivation(hub, scope, association, connector_id)
            if event is None:
                return
        else:
            token = await _token_for_deactivation(hub, scope, association)
            if token is None:
                return
            event = envelope(DEACTIVATE_USER, connector_id, token)
        await runtime(hub).invoker.invoke(
            connector.attrs["EndpointConfig"]["lambda"]["arn"],
            event,
            account_id=scope.account_id,
            region=scope.region,
        )
    except ConnectorError as exc:
        log.warning(
            "AWS.DeactivateUser for account association %s failed (%s); deleting it anyway",
            association.id,
            exc,
        )
        connector_errors.notify(
            hub, scope, connector_id, DEACTIVATE_USER, exc, accountAssociationId=association.id
        )
    except Exception:
        # Whatever went wrong (a token that no longer opens, say), the deletion goes on.
        log.exception("AWS.DeactivateUser for account association %s failed", association.id)


def _general_deactivation(
    hub: Hub, scope: Scope, association: Resource, connector_id: str
) -> dict[str, Any] | None:
    name = association.attrs[ATTR_GENERAL_AUTHORIZATION]["AuthMaterialName"]
    destination = hub.store.get(scope, DESTINATION_KIND, association.attrs[ATTR_DESTINATION])
    for material in auth_materials(destination) if destination is not None else []:
        if material["AuthMaterialName"] == name:
            auth = {"secretsManager": material["SecretsManager"]}
            return envelope(DEACTIVATE_USER, connector_id, None, auth=auth)
    return None


async def _token_for_deactivation(hub: Hub, scope: Scope, association: Resource) -> str | None:
    """The user's access token, refreshed (but not stored: the association is going) when it
    expired; None when the user never linked."""
    rt = runtime(hub)
    tokens = association.attrs.get(ATTR_TOKENS)
    if not tokens:
        return None
    access = open_token(rt, scope, association.id, tokens[TOKEN_ACCESS], TOKEN_ACCESS)
    expires_at = tokens.get(TOKEN_EXPIRES_AT)
    if expires_at is None or expires_at > hub.clock.now() or TOKEN_REFRESH not in tokens:
        return access
    destination = hub.store.get(scope, DESTINATION_KIND, association.attrs[ATTR_DESTINATION])
    oauth = oauth_config(destination) if destination is not None else None
    if destination is None or oauth is None:
        return access
    try:
        refresh_token = open_token(rt, scope, association.id, tokens[TOKEN_REFRESH], TOKEN_REFRESH)
        answer = await oauth_client.refresh(
            OAuthEndpoints.of(oauth),
            await client_credentials(rt, destination),
            refresh_token,
            rt.settings.http_timeout_seconds,
        )
        return answer.access_token
    except (OAuthFailure, SecretError) as exc:
        log.info(
            "account association %s: no fresh token to deactivate with: %s", association.id, exc
        )
        return access
