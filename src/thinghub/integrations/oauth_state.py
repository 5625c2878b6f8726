"""The OAuth ``state`` of an authorization flow: unguessable, single use, bound, expiring.

A state is 32 random bytes (URL-safe base64). Its record is a resource of kind ``oauth-state``
in `GLOBAL_SCOPE` (the callback knows no account), keyed by the state's SHA-256 digest and
holding the association it belongs to, the redirect_uri the flow used and when it expires.
(The state itself is also inside the association's OAuthAuthorizationUrl, which
GetAccountAssociation must return.) The
association keeps the same digest as ``OAuthFlow``, so a state superseded by
StartAccountAssociationRefresh is recognised as stale. Consuming a state deletes its record;
DELETE ... RETURNING lets exactly one callback win, on one node or several.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from thinghub.integrations.association_records import GLOBAL_SCOPE
from thinghub.store import Resource, ResourceStore, Scope

KIND = "oauth-state"
PAGE = 500


@dataclass(frozen=True)
class PendingFlow:
    """A consumed (or expired) state: whose flow it was."""

    digest: str
    scope: Scope
    association_id: str
    redirect_uri: str
    expires_at: float


def digest_of(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def issue(
    store: ResourceStore,
    scope: Scope,
    association_id: str,
    redirect_uri: str,
    *,
    now: float,
    ttl: float,
    conn: Connection | None = None,
) -> tuple[str, str]:
    """A new state for the association's flow: (state, digest)."""
    state = secrets.token_urlsafe(32)
    digest = digest_of(state)
    store.create(
        GLOBAL_SCOPE,
        KIND,
        digest,
        attrs={
            "AccountId": scope.account_id,
            "Region": scope.region,
            "AccountAssociationId": association_id,
            "RedirectUri": redirect_uri,
            "ExpiresAt": now + ttl,
        },
        now=now,
        conn=conn,
    )
    return state, digest


def consume(store: ResourceStore, state: str) -> PendingFlow | None:
    """The flow of `state`, which can never be consumed again; None if unknown or used."""
    if not state or len(state) > 512:
        return None
    resource = store.delete(GLOBAL_SCOPE, KIND, digest_of(state))
    return None if resource is None else _flow(resource)


def discard(store: ResourceStore, digest: str | None, conn: Connection | None = None) -> None:
    """Forget a flow's state (superseded, or its association deleted)."""
    if digest:
        store.delete(GLOBAL_SCOPE, KIND, digest, conn=conn)


def take_expired(store: ResourceStore, now: float) -> list[PendingFlow]:
    """Delete and return every state past its expiry (each is returned by one caller only)."""
    expired: list[PendingFlow] = []
    token: str | None = None
    while True:
        page, token = store.list_page(
            GLOBAL_SCOPE, KIND, max_results=PAGE, next_token=token, binding="expiry"
        )
        for resource in page:
            if resource.attrs["ExpiresAt"] <= now:
                taken = store.delete(GLOBAL_SCOPE, KIND, resource.id)
                if taken is not None:
                    expired.append(_flow(taken))
        if token is None:
            return expired


def _flow(resource: Resource) -> PendingFlow:
    attrs = resource.attrs
    return PendingFlow(
        resource.id,
        Scope(attrs["AccountId"], attrs["Region"]),
        attrs["AccountAssociationId"],
        attrs["RedirectUri"],
        float(attrs["ExpiresAt"]),
    )
