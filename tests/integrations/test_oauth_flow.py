"""Account linking end to end: stock boto3 → thinghub → the Acme cloud's OAuth server and the
Acme connector, with the client secret in Secrets Manager (moto) or the local secrets file."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.integrations.test_oauth_support import (
    CALLBACK_PATH,
    CLIENT_ID,
    CLIENT_SECRET,
    LOCAL_SECRET_ARN,
    LOCAL_SECRET_VERSION,
    OAuthHub,
    oauth_hub_fixture,
    query_of,
)

hub = oauth_hub_fixture()


def _completion(response: Any) -> dict[str, str]:
    """The query of the redirect to the customer's completion page."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("https://customer.example/linked?"), location
    return query_of(location)


@pytest.mark.parametrize(
    ("scheme", "sends_basic"), [("HTTP_BASIC", True), ("REQUEST_BODY_CREDENTIALS", False)]
)
def test_linking_succeeds_with_either_token_endpoint_scheme(
    hub: OAuthHub, scheme: str, sends_basic: bool
) -> None:
    user = hub.user()
    destination = hub.destination(scheme=scheme, token_url=f"{hub.proxy.url}/oauth/token")
    created = hub.associate(destination, Name="living room", Tags={"team": "oauth"})
    association_id = created["AccountAssociationId"]
    assert created["AssociationState"] == "ASSOCIATION_IN_PROGRESS"
    assert created["Arn"] == (
        f"arn:aws:iotmanagedintegrations:us-east-1:000000000000:account-association/"
        f"{association_id}"
    )
    before = len(hub.proxy.requests)

    final = hub.approve(created["OAuthAuthorizationUrl"], user)

    # The browser ends at the customer's page, without error parameters.
    assert _completion(final) == {"app": "demo"}
    got = hub.state(association_id)
    assert got["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert "ErrorMessage" not in got
    assert got["Name"] == "living room"
    assert got["Tags"] == {"team": "oauth"}
    assert hub.stored(association_id)["UserId"] == user

    # Exactly one token request, authenticated the way the destination says.
    (token_request,) = hub.proxy.requests[before:]
    form = dict(parse_qsl(token_request.body.decode()))
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == f"{hub.server.url}{CALLBACK_PATH}"
    authorization = token_request.headers.get("authorization", "")
    if sends_basic:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        assert authorization == f"Basic {expected}"
        assert "client_secret" not in form
    else:
        assert not authorization
        assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)

    # The connector was called with the user's access token.
    access, _ = hub.tokens(association_id)
    assert hub.acme.get("/api/me", token=access).json()["userId"] == user


def test_authorization_url_names_the_client_the_callback_and_a_fresh_state(hub: OAuthHub) -> None:
    destination = hub.destination()
    first = hub.associate(destination)["OAuthAuthorizationUrl"]
    second = hub.associate(destination)["OAuthAuthorizationUrl"]
    assert first.startswith(f"{hub.acme.url}/oauth/authorize?")
    query = query_of(first)
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{hub.server.url}{CALLBACK_PATH}"
    assert query["scope"] == "devices:read devices:write"
    assert len(query["state"]) >= 40
    assert query["state"] != query_of(second)["state"]


def test_replayed_callback_is_refused_and_changes_nothing(hub: OAuthHub) -> None:
    user = hub.user()
    created = hub.associate(hub.destination())
    authorize = hub.browser.get(f"{created['OAuthAuthorizationUrl']}&auto_approve=1&user={user}")
    callback = authorize.headers["location"]
    assert callback.startswith(f"{hub.server.url}{CALLBACK_PATH}?")
    assert _completion(hub.browser.get(callback)) == {"app": "demo"}

    replay = hub.browser.get(callback)

    assert replay.status_code == 400
    assert replay.headers["content-type"].startswith("text/html")
    assert "already used" in replay.text
    assert hub.state(created["AccountAssociationId"])["AssociationState"] == (
        "ASSOCIATION_SUCCEEDED"
    )


@pytest.mark.parametrize("query", ["state=forged-state&code=abc", "code=abc", ""])
def test_callback_with_unknown_or_missing_state_is_an_error_page(hub: OAuthHub, query: str) -> None:
    created = hub.associate(hub.destination())
    page = hub.browser.get(f"{hub.server.url}{CALLBACK_PATH}?{query}")
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "Linking failed" in page.text
    got = hub.state(created["AccountAssociationId"])
    assert got["AssociationState"] == "ASSOCIATION_IN_PROGRESS"


def test_vendor_consent_denied_fails_the_association(hub: OAuthHub) -> None:
    created = hub.associate(hub.destination())
    final = hub.deny(created["OAuthAuthorizationUrl"], hub.user())
    query = _completion(final)
    assert query["app"] == "demo"
    assert query["error"] == "access_denied"
    assert "denied" in query["error_description"]
    got = hub.state(created["AccountAssociationId"])
    assert got["AssociationState"] == "ASSOCIATION_FAILED"
    assert "access_denied" in got["ErrorMessage"]


def test_token_endpoint_rejecting_the_client_fails_the_association(hub: OAuthHub) -> None:
    destination = hub.destination(secret=hub.secret(client_secret="not-the-secret"))
    created = hub.associate(destination)
    final = hub.approve(created["OAuthAuthorizationUrl"], hub.user())
    assert _completion(final)["error"] == "invalid_client"
    got = hub.state(created["AccountAssociationId"])
    assert got["AssociationState"] == "ASSOCIATION_FAILED"
    assert got["ErrorMessage"].startswith("The token exchange failed invalid_client")


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("raising-connector", "function_error"),
        ("failing-connector", "non_2xx"),
        ("bad-user-connector", "no valid userId"),
    ],
)
def test_activate_user_failure_fails_the_association(
    hub: OAuthHub, function: str, expected: str
) -> None:
    created = hub.associate(hub.destination(function=function))
    final = hub.approve(created["OAuthAuthorizationUrl"], hub.user())
    query = _completion(final)
    assert query["error"] == "server_error"
    assert "ActivateUser" in query["error_description"]
    got = hub.state(created["AccountAssociationId"])
    assert got["AssociationState"] == "ASSOCIATION_FAILED"
    assert expected in got["ErrorMessage"]
    # The model's ErrorMessage pattern allows no punctuation.
    assert all(c.isalnum() or c in "-_ " for c in got["ErrorMessage"])


def test_without_a_completion_url_the_browser_gets_a_page(hub: OAuthHub) -> None:
    created = hub.associate(hub.destination(complete_url=None))
    final = hub.approve(created["OAuthAuthorizationUrl"], hub.user())
    assert final.status_code == 200
    assert "Account linked" in final.text
    failed = hub.associate(hub.destination(complete_url=None))
    page = hub.deny(failed["OAuthAuthorizationUrl"], hub.user())
    assert page.status_code == 400
    assert "access_denied" in page.text


def test_local_secrets_file_supplies_the_client_credentials(hub: OAuthHub) -> None:
    secret = {"arn": LOCAL_SECRET_ARN, "versionId": LOCAL_SECRET_VERSION}
    association_id, user, final = hub.link(secret=secret, scheme="REQUEST_BODY_CREDENTIALS")
    assert _completion(final) == {"app": "demo"}
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert hub.stored(association_id)["UserId"] == user


def test_missing_or_malformed_secret_is_a_validation_error(hub: OAuthHub) -> None:
    missing = {
        "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:nowhere-AbCdEf",
        "versionId": "b" * 32,
    }
    for secret in (missing, hub.secret(text="not json"), hub.secret(text='{"clientId": "x"}')):
        destination = hub.destination(secret=secret)
        with pytest.raises(hub.mi.exceptions.ValidationException) as caught:
            hub.associate(destination)
        assert "secret" in caught.value.response["Error"]["Message"]


def test_tokens_are_encrypted_at_rest(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link()
    access, refresh = hub.tokens(association_id)
    assert access.startswith("acme_at_") and refresh.startswith("acme_rt_")
    stored = hub.stored(association_id)["Tokens"]
    assert stored["AccessToken"].startswith("v1.")
    database = b"".join(
        path.read_bytes() for path in hub.data_dir.iterdir() if path.name.startswith("thinghub.db")
    )
    assert access.encode() not in database
    assert refresh.encode() not in database
    key_file = hub.data_dir / "token.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_same_client_token_gives_the_same_association(hub: OAuthHub) -> None:
    destination = hub.destination()
    token = uuid.uuid4().hex
    first = hub.associate(destination, ClientToken=token)
    second = hub.associate(destination, ClientToken=token)
    assert first["AccountAssociationId"] == second["AccountAssociationId"]
    assert first["OAuthAuthorizationUrl"] == second["OAuthAuthorizationUrl"]
    listed = hub.mi.list_account_associations(ConnectorDestinationId=destination)["Items"]
    assert [item["AccountAssociationId"] for item in listed] == [first["AccountAssociationId"]]
    with pytest.raises(hub.mi.exceptions.ConflictException):
        hub.associate(destination, ClientToken=token, Name="other")
