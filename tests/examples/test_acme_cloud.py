"""The simulated Acme cloud over real HTTP: OAuth 2.0 server, device API, webhooks, admin."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.examples.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    AcmeCloud,
    basic,
    redirect_query,
    start_acme_cloud,
)
from tests.peers import StubHttpServer, StubResponse


def test_banner_names_the_url_and_the_default_client(acme: AcmeCloud) -> None:
    assert acme.banner[0] == f"acme-cloud listening on {acme.url}"
    assert acme.banner[1] == "oauth clients: acme-client:acme-secret; users: alice, bob"


# ----- /oauth/authorize -------------------------------------------------------------------------


def test_authorize_shows_a_consent_page_with_approve_and_deny(acme: AcmeCloud) -> None:
    response = acme.authorize(auto_approve=False, scope="devices:read")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<form method="post" action="/oauth/authorize">' in page
    assert 'name="decision" value="approve">Approve</button>' in page
    assert 'name="decision" value="deny">Deny</button>' in page
    assert f'name="redirect_uri" value="{REDIRECT_URI}"' in page
    assert 'name="state" value="state-123"' in page
    assert '<option value="alice">' in page and '<option value="bob">' in page


def _consent(acme: AcmeCloud, decision: str, user: str = "alice") -> httpx.Response:
    form = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "state": "s-1",
        "user": user,
        "decision": decision,
    }
    return acme.http.post(acme.url + "/oauth/authorize", data=form)


def test_approving_the_consent_form_redirects_with_a_code_and_the_state(acme: AcmeCloud) -> None:
    response = _consent(acme, "approve", user="bob")
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    query = redirect_query(response)
    assert query["state"] == "s-1" and query["code"].startswith("acme_code_")
    tokens = acme.exchange(query["code"]).json()
    assert acme.get("/api/me", tokens["access_token"]).json()["userId"] == "bob"


def test_denying_the_consent_form_redirects_with_access_denied(acme: AcmeCloud) -> None:
    response = _consent(acme, "deny")
    assert response.status_code == 302
    query = redirect_query(response)
    assert query["error"] == "access_denied" and query["state"] == "s-1"
    assert "code" not in query


def test_auto_approve_parameter_redirects_at_once(acme: AcmeCloud) -> None:
    response = acme.authorize(user="alice")
    assert response.status_code == 302
    assert set(redirect_query(response)) == {"code", "state"}


def test_redirect_uri_with_a_query_keeps_it(acme: AcmeCloud) -> None:
    response = acme.authorize(redirect_uri=REDIRECT_URI + "?tenant=7")
    assert response.headers["location"].startswith(REDIRECT_URI + "?tenant=7&")


def test_unknown_client_gets_an_error_page_and_no_redirect(acme: AcmeCloud) -> None:
    response = acme.authorize(client_id="nobody")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Unknown client_id" in response.text


def test_non_http_redirect_uri_gets_an_error_page(acme: AcmeCloud) -> None:
    response = acme.authorize(redirect_uri="javascript:alert(1)")
    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "devices:read admin"}, "invalid_scope"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"user": "mallory"}, "access_denied"),
    ],
)
def test_authorization_errors_redirect_with_the_error_and_state(
    acme: AcmeCloud, params: dict[str, Any], error: str
) -> None:
    response = acme.authorize(**params)
    assert response.status_code == 302
    query = redirect_query(response)
    assert query["error"] == error and query["state"] == "state-123"


# ----- /oauth/token -----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["basic", "body"])
def test_code_exchange_accepts_both_client_authentication_schemes(
    acme: AcmeCloud, scheme: str
) -> None:
    response = acme.exchange(acme.code(), scheme=scheme)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert set(tokens) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "scope",
        "refresh_token_expires_in",
    }
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "devices:read devices:write"
    assert tokens["refresh_token_expires_in"] == pytest.approx(30 * 86400, abs=5)
    assert acme.get("/api/me", tokens["access_token"]).json()["userId"] == "alice"


def test_basic_credentials_are_form_url_decoded() -> None:
    cloud = start_acme_cloud("--client", "odd id:s3cr+t/=", "--auto-approve")
    try:
        code = redirect_query(cloud.authorize(client_id="odd id"))["code"]
        # RFC 6749 2.3.1: the client encodes id and secret before base64.
        header = "Basic " + base64.b64encode(b"odd+id:s3cr%2Bt%2F%3D").decode()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        response = cloud.http.post(
            cloud.url + "/oauth/token", data=form, headers={"Authorization": header}
        )
        assert response.status_code == 200, response.text
    finally:
        cloud.stop()


@pytest.mark.parametrize("scheme", ["basic", "body"])
def test_wrong_client_secret_is_invalid_client(acme: AcmeCloud, scheme: str) -> None:
    response = acme.exchange(acme.code(), scheme=scheme, client_secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic realm="acme"'


def test_unknown_client_is_invalid_client(acme: AcmeCloud) -> None:
    response = acme.exchange(acme.code(), client_id="other-client")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_missing_client_authentication_is_invalid_client(acme: AcmeCloud) -> None:
    response = acme.exchange(acme.code(), scheme="none")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_two_client_authentication_methods_at_once_are_refused(acme: AcmeCloud) -> None:
    code = acme.code()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    response = acme.http.post(
        acme.url + "/oauth/token",
        data=form,
        headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET)},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_token_endpoint_wants_a_form_body(acme: AcmeCloud) -> None:
    response = acme.http.post(
        acme.url + "/oauth/token",
        json={"grant_type": "authorization_code", "code": acme.code()},
        headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET)},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_replayed_code_is_invalid_grant_and_revokes_the_first_tokens(acme: AcmeCloud) -> None:
    code = acme.code()
    first = acme.exchange(code).json()
    replay = acme.exchange(code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert acme.get("/api/me", first["access_token"]).status_code == 401
    assert acme.refresh(first["refresh_token"]).json()["error"] == "invalid_grant"


def test_unknown_code_is_invalid_grant(acme: AcmeCloud) -> None:
    response = acme.exchange("acme_code_made-up")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_redirect_uri_other_than_the_authorizations_is_invalid_grant(acme: AcmeCloud) -> None:
    response = acme.exchange(acme.code(), redirect_uri="https://hub.example/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(acme: AcmeCloud) -> None:
    code = acme.code()
    acme.advance_clock(61)
    response = acme.exchange(code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_unknown_grant_type_is_unsupported(acme: AcmeCloud) -> None:
    response = acme.token_request({"grant_type": "password", "username": "alice"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def _pkce_pair() -> tuple[str, str]:
    verifier = "v" * 50
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_pkce_s256_verifier_is_checked(acme: AcmeCloud) -> None:
    verifier, challenge = _pkce_pair()
    params = {"code_challenge": challenge, "code_challenge_method": "S256"}
    wrong = acme.exchange(acme.code(**params), code_verifier="x" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = acme.exchange(acme.code(**params), code_verifier=verifier)
    assert right.status_code == 200, right.text


# ----- refresh, forced refresh failure, expiry, revocation --------------------------------------


@pytest.mark.parametrize("scheme", ["basic", "body"])
def test_refresh_gives_a_new_working_access_token(acme: AcmeCloud, scheme: str) -> None:
    tokens = acme.tokens()
    response = acme.refresh(tokens["refresh_token"], scheme=scheme)
    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["access_token"] != tokens["access_token"]
    assert renewed["refresh_token"] == tokens["refresh_token"]  # no rotation by default
    assert acme.get("/api/me", renewed["access_token"]).status_code == 200


def test_refresh_by_another_client_is_invalid_grant() -> None:
    cloud = start_acme_cloud("--client", "acme-client:acme-secret", "--client", "b:b-secret")
    try:
        tokens = cloud.tokens()
        response = cloud.refresh(tokens["refresh_token"], client_id="b", client_secret="b-secret")
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    finally:
        cloud.stop()


def test_admin_revocation_makes_refresh_fail_for_good(acme: AcmeCloud) -> None:
    alice, bob = acme.tokens("alice"), acme.tokens("bob")
    response = acme.post("/admin/users/alice/revoke-tokens")
    assert response.json() == {"revokedGrants": 1}
    failed = acme.refresh(alice["refresh_token"])
    assert failed.status_code == 400 and failed.json()["error"] == "invalid_grant"
    assert acme.get("/api/me", alice["access_token"]).status_code == 401
    assert acme.refresh(bob["refresh_token"]).status_code == 200


def test_expired_access_token_is_invalid_token(acme: AcmeCloud) -> None:
    tokens = acme.tokens()
    acme.advance_clock(3601)
    response = acme.get("/api/devices", tokens["access_token"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert acme.refresh(tokens["refresh_token"]).status_code == 200


def test_expired_refresh_token_is_invalid_grant(acme: AcmeCloud) -> None:
    tokens = acme.tokens()
    acme.advance_clock(30 * 86400 + 1)
    response = acme.refresh(tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_revoking_a_refresh_token_revokes_the_grant(acme: AcmeCloud) -> None:
    tokens = acme.tokens()
    form = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    response = acme.token_request(form, path="/oauth/revoke")
    assert response.status_code == 200
    assert acme.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert acme.get("/api/me", tokens["access_token"]).status_code == 401


def test_revoking_with_body_credentials_and_an_access_token(acme: AcmeCloud) -> None:
    tokens = acme.tokens()
    response = acme.token_request({"token": tokens["access_token"]}, "body", path="/oauth/revoke")
    assert response.status_code == 200
    assert acme.get("/api/me", tokens["access_token"]).status_code == 401


def test_revoking_an_unknown_token_answers_200(acme: AcmeCloud) -> None:
    response = acme.token_request({"token": "never-issued"}, path="/oauth/revoke")
    assert response.status_code == 200


def test_revocation_needs_client_authentication(acme: AcmeCloud) -> None:
    tokens = acme.tokens()
    response = acme.token_request({"token": tokens["access_token"]}, "none", path="/oauth/revoke")
    assert response.status_code == 401
    assert acme.get("/api/me", tokens["access_token"]).status_code == 200


def test_a_token_holder_may_revoke_its_own_grant(acme: AcmeCloud) -> None:
    tokens = acme.tokens()
    other = acme.post("/oauth/revoke", tokens["access_token"], data={"token": "someone-else"})
    assert other.status_code == 400
    own = acme.post("/oauth/revoke", tokens["access_token"], data={"token": tokens["access_token"]})
    assert own.status_code == 200
    assert acme.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_rotating_refresh_tokens_retires_the_old_one() -> None:
    cloud = start_acme_cloud("--rotate-refresh-tokens", "--refresh-token-ttl", "0")
    try:
        tokens = cloud.tokens()
        assert "refresh_token_expires_in" not in tokens
        renewed = cloud.refresh(tokens["refresh_token"]).json()
        assert renewed["refresh_token"] != tokens["refresh_token"]
        assert cloud.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
        assert cloud.refresh(renewed["refresh_token"]).status_code == 200
    finally:
        cloud.stop()


# ----- a server with --auto-approve, a redirect prefix and short token lifetimes ----------------


@pytest.fixture(scope="module")
def strict_acme() -> Iterator[AcmeCloud]:
    cloud = start_acme_cloud(
        "--auto-approve",
        "--client",
        "hub:hub-secret:https://hub.example/",
        "--access-token-ttl",
        "5",
    )
    yield cloud
    cloud.stop()


def test_auto_approve_flag_redirects_without_asking(strict_acme: AcmeCloud) -> None:
    response = strict_acme.authorize(auto_approve=False, client_id="hub")
    assert response.status_code == 302
    code = redirect_query(response)["code"]
    tokens = strict_acme.exchange(code, client_id="hub", client_secret="hub-secret").json()
    assert tokens["expires_in"] == 5
    assert strict_acme.get("/api/me", tokens["access_token"]).json()["userId"] == "alice"


def test_redirect_uri_outside_the_registered_prefix_is_refused(strict_acme: AcmeCloud) -> None:
    response = strict_acme.authorize(client_id="hub", redirect_uri="https://evil.example/cb")
    assert response.status_code == 400 and "location" not in response.headers


def test_only_the_configured_clients_exist(strict_acme: AcmeCloud) -> None:
    assert strict_acme.authorize(client_id=CLIENT_ID).status_code == 400


# ----- device API -------------------------------------------------------------------------------


def test_device_api_without_a_token_is_401(acme: AcmeCloud) -> None:
    response = acme.get("/api/devices")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="acme"'
    assert acme.get("/api/me", "not-a-token").json()["error"] == "invalid_token"


def test_me_names_the_user_of_the_token(acme: AcmeCloud) -> None:
    token = acme.tokens("alice")["access_token"]
    assert acme.get("/api/me", token).json() == {
        "userId": "alice",
        "name": "Alice Example",
        "email": "alice@example.com",
    }


def test_devices_lists_only_the_users_devices(acme: AcmeCloud) -> None:
    token = acme.tokens("alice")["access_token"]
    listing = acme.get("/api/devices", token).json()
    assert listing["userId"] == "alice"
    assert [d["id"] for d in listing["devices"]] == [
        "acme-plug-001",
        "acme-fan-001",
        "acme-light-001",
        "acme-sensor-001",
    ]
    assert listing["devices"][1] == {
        "id": "acme-fan-001",
        "name": "Bedroom Fan",
        "type": "fan",
        "model": "AF-300",
        "serial": "AF300-0001",
        "brand": "Acme",
        "state": {"mode": "off"},
    }
    assert acme.get("/api/devices/acme-plug-101", token).status_code == 404  # bob's


@pytest.mark.parametrize(
    ("device", "command", "state"),
    [
        ("acme-plug-001", {"state": {"power": "on"}}, {"power": "on"}),
        ("acme-plug-001", {"action": "toggle"}, {"power": "on"}),
        ("acme-fan-001", {"action": "set", "state": {"mode": "high"}}, {"mode": "high"}),
        ("acme-light-001", {"state": {"brightness": 30}}, {"power": "on", "brightness": 30}),
    ],
)
def test_commands_change_state(
    acme: AcmeCloud, device: str, command: dict[str, object], state: dict[str, object]
) -> None:
    token = acme.tokens()["access_token"]
    response = acme.post(f"/api/devices/{device}/commands", token, json=command)
    assert response.status_code == 200, response.text
    assert response.json()["device"]["state"] == state
    assert acme.get(f"/api/devices/{device}", token).json()["device"]["state"] == state


@pytest.mark.parametrize(
    ("device", "command", "error"),
    [
        ("acme-fan-001", {"state": {"mode": "turbo"}}, "invalid_value"),
        ("acme-light-001", {"state": {"brightness": 0}}, "invalid_value"),
        ("acme-plug-001", {"state": {"colour": "red"}}, "unknown_field"),
        ("acme-fan-001", {"action": "toggle"}, "unsupported_action"),
        ("acme-sensor-001", {"state": {"temperature": 30}}, "read_only"),
    ],
)
def test_invalid_commands_are_400_and_change_nothing(
    acme: AcmeCloud, device: str, command: dict[str, object], error: str
) -> None:
    token = acme.tokens()["access_token"]
    before = acme.get(f"/api/devices/{device}", token).json()
    response = acme.post(f"/api/devices/{device}/commands", token, json=command)
    assert response.status_code == 400 and response.json()["error"] == error
    assert acme.get(f"/api/devices/{device}", token).json() == before


def test_commands_need_the_write_scope(acme: AcmeCloud) -> None:
    token = acme.tokens(scope="devices:read")["access_token"]
    assert acme.get("/api/devices", token).status_code == 200
    response = acme.post("/api/devices/acme-plug-001/commands", token, json={"action": "toggle"})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_commands_on_another_users_device_are_404(acme: AcmeCloud) -> None:
    token = acme.tokens("alice")["access_token"]
    response = acme.post("/api/devices/acme-plug-101/commands", token, json={"action": "toggle"})
    assert response.status_code == 404


# ----- webhooks and the physical world ----------------------------------------------------------


def test_a_physical_change_is_posted_signed_to_the_users_webhooks(acme: AcmeCloud) -> None:
    token = acme.tokens("alice")["access_token"]
    with StubHttpServer(lambda request: StubResponse(204)) as receiver:
        url = f"{receiver.url}/hooks/acme?connectorId=c1"
        created = acme.post("/api/webhooks", token, json={"url": url, "secret": "shh"})
        assert created.status_code == 201
        again = acme.post("/api/webhooks", token, json={"url": url, "secret": "shh"})
        assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
        response = acme.post("/admin/devices/acme-fan-001/state", json={"mode": "high"})
        assert response.status_code == 200
        result = response.json()
        assert result["changed"] == {"mode": "high"}
        assert result["deliveries"][0]["status"] == 204
        [request] = receiver.requests
    assert request.method == "POST" and request.path == "/hooks/acme?connectorId=c1"
    expected = "sha256=" + hmac.new(b"shh", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-acme-signature"] == expected
    notification = request.json()
    assert request.headers["x-acme-event-id"] == notification["id"]
    assert notification["type"] == "device.state_changed"
    assert notification["userId"] == "alice"
    assert notification["changed"] == {"mode": "high"}
    assert notification["device"]["id"] == "acme-fan-001"
    assert notification["device"]["state"] == {"mode": "high"}


def test_unchanged_state_and_other_users_devices_notify_nobody(acme: AcmeCloud) -> None:
    token = acme.tokens("alice")["access_token"]
    with StubHttpServer() as receiver:
        acme.post("/api/webhooks", token, json={"url": receiver.url})
        same = acme.post("/admin/devices/acme-fan-001/state", json={"mode": "off"}).json()
        assert same["changed"] == {} and same["deliveries"] == []
        acme.post("/admin/devices/acme-plug-101/state", json={"power": "off"})
        assert receiver.requests == []


def test_revoking_the_grant_drops_its_webhooks(acme: AcmeCloud) -> None:
    token = acme.tokens("alice")["access_token"]
    acme.post("/api/webhooks", token, json={"url": "http://127.0.0.1:9/x"})
    assert len(acme.get("/api/webhooks", token).json()["webhooks"]) == 1
    acme.post("/oauth/revoke", token, data={"token": token})
    assert acme.get("/admin/webhooks").json()["webhooks"] == []


def test_failed_deliveries_are_retried_then_recorded(acme: AcmeCloud) -> None:
    token = acme.tokens("alice")["access_token"]
    with StubHttpServer(lambda request: StubResponse(503)) as receiver:
        acme.post("/api/webhooks", token, json={"url": receiver.url})
        result = acme.post("/admin/devices/acme-plug-001/state", json={"power": "on"}).json()
        assert len(receiver.requests) == 3
    assert result["deliveries"][0]["status"] == 503
    assert result["deliveries"][0]["attempts"] == 3
    assert acme.get("/admin/webhooks").json()["deliveries"] == result["deliveries"]


def test_admin_may_set_sensed_values_but_they_are_validated(acme: AcmeCloud) -> None:
    ok = acme.post("/admin/devices/acme-sensor-001/state", json={"temperature": 25.25})
    assert ok.json()["device"]["state"] == {"temperature": 25.25}
    bad = acme.post("/admin/devices/acme-sensor-001/state", json={"temperature": 500})
    assert bad.status_code == 400
    assert acme.post("/admin/devices/nope/state", json={}).status_code == 404


# ----- seed and state files ---------------------------------------------------------------------


def test_seed_file_replaces_the_default_users_and_devices(tmp_path: Path) -> None:
    seed = {
        "users": [
            {
                "id": "carol",
                "devices": [{"id": "c-fan", "type": "fan", "state": {"mode": "auto"}}],
            }
        ]
    }
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    cloud = start_acme_cloud("--seed-file", str(tmp_path / "seed.json"))
    try:
        token = cloud.tokens("carol")["access_token"]
        [device] = cloud.get("/api/devices", token).json()["devices"]
        assert device == {
            "id": "c-fan",
            "name": "c-fan",
            "type": "fan",
            "model": "A-fan",
            "serial": "C-FAN",
            "brand": "Acme",
            "state": {"mode": "auto"},
        }
    finally:
        cloud.stop()


def test_state_file_keeps_devices_and_tokens_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "acme-state.json"
    cloud = start_acme_cloud("--state-file", str(state))
    try:
        tokens = cloud.tokens()
        cloud.post(
            "/api/devices/acme-fan-001/commands",
            tokens["access_token"],
            json={"state": {"mode": "medium"}},
        )
    finally:
        assert cloud.stop() == 0
    cloud = start_acme_cloud("--state-file", str(state))
    try:
        device = cloud.get("/api/devices/acme-fan-001", tokens["access_token"]).json()["device"]
        assert device["state"] == {"mode": "medium"}
        assert cloud.refresh(tokens["refresh_token"]).status_code == 200
    finally:
        cloud.stop()


def test_reset_returns_to_the_seed(acme: AcmeCloud) -> None:
    tokens = acme.tokens()
    acme.post("/admin/devices/acme-plug-001/state", json={"power": "on"})
    acme.reset()
    assert acme.get("/api/me", tokens["access_token"]).status_code == 401
    fresh = acme.tokens()["access_token"]
    plug = acme.get("/api/devices/acme-plug-001", fresh).json()["device"]
    assert plug["state"] == {"power": "off"}
