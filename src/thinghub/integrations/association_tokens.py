"""An association's OAuth tokens: sealed storage, refresh, and the access token for callers.

Refresh policy ([CHOICE], spec 3.4):

- an access token is refreshed ``refresh_margin_seconds`` (at most half its lifetime) before
  it expires, by the background worker, or on demand when a caller finds it (nearly) expired;
- with ``proactiveRefreshTokenRenewal`` enabled, also ``DaysBeforeRenewal`` (default 30) days
  before the refresh token expires when the vendor reported that lifetime
  (``refresh_token_expires_in``), else every ``DaysBeforeRenewal`` days;
- a refresh the vendor refuses for good (``invalid_grant``), a refresh token past its known
  expiry, or an expired access token without a refresh token move the association to
  REFRESH_TOKEN_EXPIRED with an ErrorMessage; the end user must link again
  (StartAccountAssociationRefresh);
- any other failure (vendor unreachable, secret unreadable) leaves the association as it is
  and is retried ``retry_seconds`` later.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from thinghub.integrations import association_schedule, oauth_client
from thinghub.integrations.association_records import (
    ATTR_DESTINATION,
    ATTR_GENERAL_AUTHORIZATION,
    ATTR_STATE,
    ATTR_TOKENS,
    KIND,
    REFRESH_TOKEN_EXPIRED,
    RESOURCE_TYPE,
    SUCCEEDED,
    TOKEN_ACCESS,
    TOKEN_EXPIRES_AT,
    TOKEN_OBTAINED_AT,
    TOKEN_REFRESH,
    TOKEN_REFRESH_EXPIRES_AT,
    TOKEN_SCOPE,
    TOKEN_TYPE,
    transition,
    with_state,
)
from thinghub.integrations.association_runtime import AssociationRuntime, runtime
from thinghub.integrations.connector_destinations import KIND as DESTINATION_KIND
from thinghub.integrations.connector_destinations import oauth_config
from thinghub.integrations.errors import existing, not_found
from thinghub.integrations.oauth_client import OAuthEndpoints, OAuthFailure, TokenSet
from thinghub.integrations.secrets import ClientCredentials, SecretError
from thinghub.store import Resource, Scope
from thinghub.wire.errors import ServiceError

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.oauth")

DAY = 86400.0
DEFAULT_DAYS_BEFORE_RENEWAL = 30
# On demand, an access token this close to its expiry is refreshed before it is handed out.
EXPIRY_LEEWAY_SECONDS = 30.0


class NotUsable(ServiceError):
    """The association cannot give an access token (not linked, or linking must be redone)."""


def seal_context(scope: Scope, association_id: str, field: str) -> str:
    return f"{scope.account_id}/{scope.region}/{association_id}/{field}"


def sealed_tokens(
    rt: AssociationRuntime,
    scope: Scope,
    association_id: str,
    tokens: TokenSet,
    now: float,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``Tokens`` attr for `tokens`; a refresh answer without a new refresh token keeps
    the previous one (RFC 6749 6)."""
    sealed: dict[str, Any] = {
        TOKEN_ACCESS: rt.vault.seal(
            tokens.access_token, seal_context(scope, association_id, TOKEN_ACCESS)
        ),
        TOKEN_TYPE: tokens.token_type,
        TOKEN_OBTAINED_AT: now,
    }
    if tokens.scope:
        sealed[TOKEN_SCOPE] = tokens.scope
    if tokens.expires_in is not None:
        sealed[TOKEN_EXPIRES_AT] = now + tokens.expires_in
    if tokens.refresh_token is not None:
        sealed[TOKEN_REFRESH] = rt.vault.seal(
            tokens.refresh_token, seal_context(scope, association_id, TOKEN_REFRESH)
        )
        if tokens.refresh_expires_in is not None:
            sealed[TOKEN_REFRESH_EXPIRES_AT] = now + tokens.refresh_expires_in
    elif previous and TOKEN_REFRESH in previous:
        sealed[TOKEN_REFRESH] = previous[TOKEN_REFRESH]
        if TOKEN_REFRESH_EXPIRES_AT in previous:
            sealed[TOKEN_REFRESH_EXPIRES_AT] = previous[TOKEN_REFRESH_EXPIRES_AT]
    return sealed


def open_token(
    rt: AssociationRuntime, scope: Scope, association_id: str, sealed: str, field: str
) -> str:
    return rt.vault.open(sealed, seal_context(scope, association_id, field))


async def client_credentials(rt: AssociationRuntime, destination: Resource) -> ClientCredentials:
    """The OAuth client credentials the destination's secret holds."""
    reference = destination.attrs.get("SecretsManager")
    if not reference:
        raise SecretError(
            "invalid", f"ConnectorDestination {destination.id} names no SecretsManager secret"
        )
    return await rt.secrets.client_credentials(reference["arn"], reference.get("versionId"))


def next_due(
    rt: AssociationRuntime, tokens: dict[str, Any], oauth: dict[str, Any] | None
) -> float | None:
    """When the worker should next refresh these tokens (None: never on its own)."""
    obtained = float(tokens[TOKEN_OBTAINED_AT])
    dues: list[float] = []
    expires_at = tokens.get(TOKEN_EXPIRES_AT)
    if expires_at is not None:
        margin = min(rt.settings.refresh_margin_seconds, (expires_at - obtained) / 2)
        dues.append(expires_at - margin)
    renewal = (oauth or {}).get("proactiveRefreshTokenRenewal") or {}
    if renewal.get("enabled") and TOKEN_REFRESH in tokens:
        days = renewal.get("DaysBeforeRenewal") or DEFAULT_DAYS_BEFORE_RENEWAL
        refresh_expires = tokens.get(TOKEN_REFRESH_EXPIRES_AT)
        due = refresh_expires - days * DAY if refresh_expires else obtained + days * DAY
        # Already renewed past that point (the vendor did not extend the refresh token's
        # lifetime): renewing again would not help either.
        if due > obtained:
            dues.append(due)
    return min(dues) if dues else None


def _expiring(tokens: dict[str, Any], now: float) -> bool:
    expires_at = tokens.get(TOKEN_EXPIRES_AT)
    return expires_at is not None and now >= expires_at - EXPIRY_LEEWAY_SECONDS


def usable_tokens(resource: Resource, code: str = "ConflictException") -> dict[str, Any]:
    """The association's tokens, or NotUsable (`code`) saying why there are none."""
    attrs = resource.attrs
    if ATTR_GENERAL_AUTHORIZATION in attrs:
        raise NotUsable(
            "ValidationException",
            f"AccountAssociation {resource.id} uses General Authorization, not OAuth tokens",
        )
    tokens = attrs.get(ATTR_TOKENS)
    if attrs.get(ATTR_STATE) != SUCCEEDED or not tokens:
        raise NotUsable(
            code,
            f"AccountAssociation {resource.id} is {attrs.get(ATTR_STATE)}, not {SUCCEEDED}",
        )
    return dict(tokens)


async def access_token(
    hub: Hub, scope: Scope, association_id: str, *, unusable: str = "ConflictException"
) -> str:
    """A valid access token of the association, refreshed first if it (nearly) expired.

    ResourceNotFoundException if there is no such association; `unusable` (a ServiceError
    code, ConflictException by default) if it is not ASSOCIATION_SUCCEEDED or its refresh
    token is no longer accepted; ServiceUnavailableException if the vendor or the secret
    cannot be reached right now.
    """
    rt = runtime(hub)
    resource = existing(hub.store, scope, KIND, association_id, RESOURCE_TYPE)
    tokens = usable_tokens(resource, unusable)
    if not _expiring(tokens, hub.clock.now()):
        return open_token(rt, scope, association_id, tokens[TOKEN_ACCESS], TOKEN_ACCESS)
    async with rt.lock(scope, association_id):
        return await refresh(hub, scope, association_id, scheduled=False, unusable=unusable)


async def refresh(
    hub: Hub,
    scope: Scope,
    association_id: str,
    *,
    scheduled: bool,
    unusable: str = "ConflictException",
) -> str:
    """Refresh the association's tokens if they are due (`scheduled`: by the worker's
    schedule; otherwise: about to expire); the access token. Call it holding `rt.lock`."""
    rt = runtime(hub)
    store = hub.store
    now = hub.clock.now()
    resource = existing(store, scope, KIND, association_id, RESOURCE_TYPE)
    tokens = usable_tokens(resource, unusable)
    destination = store.get(scope, DESTINATION_KIND, resource.attrs[ATTR_DESTINATION])
    oauth = oauth_config(destination) if destination is not None else None
    due = next_due(rt, tokens, oauth)
    needed = (due is not None and due <= now) if scheduled else _expiring(tokens, now)
    if not needed:
        # Someone refreshed since the caller looked: nothing to do but keep the schedule.
        if scheduled:
            association_schedule.set_due(store, scope, association_id, due, now)
        return open_token(rt, scope, association_id, tokens[TOKEN_ACCESS], TOKEN_ACCESS)

    sealed_refresh = tokens.get(TOKEN_REFRESH)
    refresh_expires = tokens.get(TOKEN_REFRESH_EXPIRES_AT)
    if sealed_refresh is None:
        if not _expiring(tokens, now):  # proactive renewal without a refresh token: skip
            association_schedule.set_due(store, scope, association_id, None, now)
            return open_token(rt, scope, association_id, tokens[TOKEN_ACCESS], TOKEN_ACCESS)
        raise expire(
            hub, scope, resource, "The access token expired and there is no refresh token", unusable
        )
    if refresh_expires is not None and refresh_expires <= now:
        raise expire(hub, scope, resource, "The refresh token expired", unusable)
    if destination is None or oauth is None:
        raise _retry_later(hub, scope, association_id, "its connector destination is gone")
    try:
        credentials = await client_credentials(rt, destination)
    except SecretError as exc:
        raise _retry_later(hub, scope, association_id, exc.message) from None
    refresh_token = open_token(rt, scope, association_id, sealed_refresh, TOKEN_REFRESH)
    try:
        answer = await oauth_client.refresh(
            OAuthEndpoints.of(oauth), credentials, refresh_token, rt.settings.http_timeout_seconds
        )
    except OAuthFailure as failure:
        if not failure.permanent:
            raise _retry_later(hub, scope, association_id, str(failure)) from None
        return _refused(hub, scope, association_id, sealed_refresh, failure, unusable)

    now = hub.clock.now()
    new_tokens = sealed_tokens(rt, scope, association_id, answer, now, tokens)

    def store_tokens(attrs: dict[str, Any]) -> dict[str, Any] | None:
        current = attrs.get(ATTR_TOKENS) or {}
        if attrs.get(ATTR_STATE) != SUCCEEDED or current.get(TOKEN_REFRESH) != sealed_refresh:
            return None  # relinked, refreshed elsewhere or being deleted meanwhile
        attrs[ATTR_TOKENS] = new_tokens
        return attrs

    current, applied = transition(hub, scope, association_id, store_tokens, now)
    if not applied:
        if current is None:
            raise not_found(RESOURCE_TYPE, association_id)
        latest = usable_tokens(current, unusable)
        return open_token(rt, scope, association_id, latest[TOKEN_ACCESS], TOKEN_ACCESS)
    association_schedule.set_due(store, scope, association_id, next_due(rt, new_tokens, oauth), now)
    log.info("refreshed the tokens of account association %s", association_id)
    return answer.access_token


def _refused(
    hub: Hub,
    scope: Scope,
    association_id: str,
    sealed_refresh: str,
    failure: OAuthFailure,
    unusable: str,
) -> str:
    """The vendor refused the refresh token for good. Unless another node rotated it in the
    meantime (then use its result), the end user must link again."""
    rt = runtime(hub)
    message = f"Refreshing the access token failed {failure.error} {failure.description}"

    def expired(attrs: dict[str, Any]) -> dict[str, Any] | None:
        tokens = attrs.get(ATTR_TOKENS) or {}
        if attrs.get(ATTR_STATE) != SUCCEEDED or tokens.get(TOKEN_REFRESH) != sealed_refresh:
            return None
        return with_state(attrs, REFRESH_TOKEN_EXPIRED, message)

    current, applied = transition(hub, scope, association_id, expired, hub.clock.now())
    if applied or current is None:
        association_schedule.clear(hub.store, scope, association_id)
        log.warning("account association %s: %s", association_id, message)
        raise NotUsable(unusable, f"AccountAssociation {association_id} is {REFRESH_TOKEN_EXPIRED}")
    latest = usable_tokens(current, unusable)
    return open_token(rt, scope, association_id, latest[TOKEN_ACCESS], TOKEN_ACCESS)


def expire(hub: Hub, scope: Scope, resource: Resource, message: str, unusable: str) -> NotUsable:
    """Move a linked association to REFRESH_TOKEN_EXPIRED; the error to raise."""

    def expired(attrs: dict[str, Any]) -> dict[str, Any] | None:
        if attrs.get(ATTR_STATE) != SUCCEEDED:
            return None
        return with_state(attrs, REFRESH_TOKEN_EXPIRED, message)

    transition(hub, scope, resource.id, expired, hub.clock.now())
    association_schedule.clear(hub.store, scope, resource.id)
    log.warning("account association %s: %s", resource.id, message)
    return NotUsable(unusable, f"AccountAssociation {resource.id} is {REFRESH_TOKEN_EXPIRED}")


def _retry_later(hub: Hub, scope: Scope, association_id: str, reason: str) -> ServiceError:
    rt = runtime(hub)
    now = hub.clock.now()
    association_schedule.set_due(
        hub.store, scope, association_id, now + rt.settings.retry_seconds, now
    )
    log.warning("account association %s: refresh failed (%s), will retry", association_id, reason)
    return ServiceError(
        "ServiceUnavailableException",
        f"The tokens of AccountAssociation {association_id} cannot be refreshed right now",
    )
