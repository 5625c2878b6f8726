"""Token refresh on thinghub's manual clock: scheduled refresh, proactive renewal, refusal
(REFRESH_TOKEN_EXPIRED), a refresh token past its expiry, and authorizations that expire.

Acme here issues access tokens for 70 days and rotating refresh tokens for 90 days, so a
proactive renewal 30 days before the refresh token expires (day 60) comes before the access
token's own refresh (day 70 less the margin)."""

from __future__ import annotations

import pytest

from tests.integrations.test_oauth_support import AUTHORIZATION_TTL, OAuthHub, oauth_hub_fixture

DAY = 86400
ACCESS_TTL = 70 * DAY
REFRESH_TTL = 90 * DAY

hub = oauth_hub_fixture(
    "--access-token-ttl",
    str(ACCESS_TTL),
    "--refresh-token-ttl",
    str(REFRESH_TTL),
    "--rotate-refresh-tokens",
)

PROACTIVE = {"proactiveRefreshTokenRenewal": {"enabled": True, "DaysBeforeRenewal": 30}}


def _obtained_at(hub: OAuthHub, association_id: str) -> float:
    return float(hub.stored(association_id)["Tokens"]["ObtainedAt"])


def test_tokens_record_their_lifetimes(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link()
    tokens = hub.stored(association_id)["Tokens"]
    assert tokens["ExpiresAt"] == pytest.approx(tokens["ObtainedAt"] + ACCESS_TTL, abs=2)
    assert tokens["RefreshTokenExpiresAt"] == pytest.approx(
        tokens["ObtainedAt"] + REFRESH_TTL, abs=2
    )
    assert tokens["TokenType"] == "Bearer"
    assert tokens["Scope"] == "devices:read devices:write"


def test_access_token_is_refreshed_before_it_expires(hub: OAuthHub) -> None:
    association_id, user, _ = hub.link()
    access, refresh = hub.tokens(association_id)
    obtained = _obtained_at(hub, association_id)

    hub.advance(ACCESS_TTL - 600)  # not due yet: the margin is 300 s
    assert _obtained_at(hub, association_id) == obtained

    hub.advance(400)
    assert _obtained_at(hub, association_id) > obtained
    new_access, new_refresh = hub.tokens(association_id)
    assert (new_access, new_refresh) != (access, refresh)  # Acme rotates refresh tokens
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert hub.acme.get("/api/me", token=new_access).json()["userId"] == user
    # The rotated-out refresh token is dead at Acme; the stored one works.
    assert hub.acme.refresh(refresh).json()["error"] == "invalid_grant"


def test_proactive_renewal_runs_before_the_refresh_token_expires(hub: OAuthHub) -> None:
    proactive, _, _ = hub.link(**PROACTIVE)
    plain, _, _ = hub.link()
    proactive_obtained = _obtained_at(hub, proactive)
    plain_obtained = _obtained_at(hub, plain)

    hub.advance(61 * DAY)

    assert _obtained_at(hub, proactive) > proactive_obtained
    assert _obtained_at(hub, plain) == plain_obtained
    tokens = hub.stored(proactive)["Tokens"]
    assert tokens["RefreshTokenExpiresAt"] == pytest.approx(
        tokens["ObtainedAt"] + REFRESH_TTL, abs=2
    )


def test_refused_refresh_moves_to_refresh_token_expired_then_relinks(hub: OAuthHub) -> None:
    association_id, user, _ = hub.link()
    revoked = hub.acme.post(f"/admin/users/{user}/revoke-tokens").json()
    assert revoked == {"revokedGrants": 1}

    hub.advance(ACCESS_TTL)

    got = hub.state(association_id)
    assert got["AssociationState"] == "REFRESH_TOKEN_EXPIRED"
    assert got["ErrorMessage"].startswith("Refreshing the access token failed invalid_grant")
    listed = hub.mi.list_account_associations(ConnectorDestinationId=got["ConnectorDestinationId"])
    assert listed["Items"][0]["ErrorMessage"] == got["ErrorMessage"]

    # The end user links again: same association, new tokens.
    url = hub.mi.start_account_association_refresh(AccountAssociationId=association_id)[
        "OAuthAuthorizationUrl"
    ]
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_IN_PROGRESS"
    hub.approve(url, user)
    got = hub.state(association_id)
    assert got["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert "ErrorMessage" not in got
    access, _ = hub.tokens(association_id)
    assert hub.acme.get("/api/me", token=access).status_code == 200


def test_refresh_token_past_its_expiry_needs_a_new_link(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link()
    calls = len(hub.proxy.requests)

    hub.advance(REFRESH_TTL + DAY)  # one step past both expiries

    got = hub.state(association_id)
    assert got["AssociationState"] == "REFRESH_TOKEN_EXPIRED"
    assert got["ErrorMessage"] == "The refresh token expired"
    assert len(hub.proxy.requests) == calls  # known expiry: the vendor was not even asked


def test_unused_authorization_expires(hub: OAuthHub) -> None:
    created = hub.associate(hub.destination())
    association_id = created["AccountAssociationId"]

    hub.advance(AUTHORIZATION_TTL - 10)
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_IN_PROGRESS"

    hub.advance(20)
    got = hub.state(association_id)
    assert got["AssociationState"] == "ASSOCIATION_FAILED"
    assert got["ErrorMessage"] == "The authorization request expired"
    page = hub.approve(created["OAuthAuthorizationUrl"], hub.user())
    assert page.status_code == 400


def test_delete_after_a_refresh_revokes_the_current_grant(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link()
    hub.advance(ACCESS_TTL)  # refreshed: new access token, rotated refresh token
    access, refresh = hub.tokens(association_id)
    hub.mi.delete_account_association(AccountAssociationId=association_id)
    # AWS.DeactivateUser got the current token, and Acme revoked the whole grant.
    assert hub.acme.get("/api/me", token=access).status_code == 401
    assert hub.acme.refresh(refresh).json()["error"] == "invalid_grant"


def test_expired_access_token_is_refreshed_on_demand(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link(token_url=f"{hub.proxy.url}/oauth/token")
    obtained = _obtained_at(hub, association_id)
    hub.proxy.failing = 503
    try:
        hub.advance(ACCESS_TTL)  # the scheduled refresh fails for now (retried later)
    finally:
        hub.proxy.failing = None
    assert _obtained_at(hub, association_id) == obtained
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_SUCCEEDED"

    # A caller needing the token (device discovery) gets it refreshed on the spot.
    hub.mi.start_device_discovery(DiscoveryType="CLOUD", AccountAssociationId=association_id)
    assert _obtained_at(hub, association_id) > obtained
    access, _ = hub.tokens(association_id)
    assert hub.acme.get("/api/me", token=access).status_code == 200
