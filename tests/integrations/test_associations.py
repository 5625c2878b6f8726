"""Account associations over HTTP with stock boto3: CRUD, errors, relinking, deletion (and
AWS.DeactivateUser), General Authorization, and destinations still in use."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.integrations.test_oauth_support import (
    CALLBACK_PATH,
    OAuthHub,
    lambda_arn,
    oauth_hub_fixture,
    query_of,
)

hub = oauth_hub_fixture()

MATERIAL_SECRET = {
    "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf",
    "versionId": "c" * 32,
}


def _general_destination(hub: OAuthHub, function: str = "general-connector") -> str:
    created = hub.mi.create_connector_destination(
        CloudConnectorId=hub.connector(function),
        AuthType="OAUTH",  # the model's only value; the materials decide (spec 11.6)
        AuthConfig={
            "GeneralAuthorization": [
                {"AuthMaterialName": "api-key", "SecretsManager": MATERIAL_SECRET}
            ]
        },
    )
    return str(created["Id"])


def _events(hub: OAuthHub, operation: str) -> list[dict[str, Any]]:
    return [e for e in hub.records() if e["payload"]["operationName"] == operation]


def test_create_get_update_list_delete(hub: OAuthHub) -> None:
    destination = hub.destination()
    created = hub.associate(destination, Name="kitchen", Description="first link")
    association_id = created["AccountAssociationId"]
    assert len(association_id) == 32 and association_id.isalnum()

    got = hub.state(association_id)
    assert got["AccountAssociationId"] == association_id
    assert got["AssociationState"] == "ASSOCIATION_IN_PROGRESS"
    assert got["ConnectorDestinationId"] == destination
    assert got["Arn"] == created["Arn"]
    assert got["OAuthAuthorizationUrl"] == created["OAuthAuthorizationUrl"]
    assert (got["Name"], got["Description"]) == ("kitchen", "first link")
    assert "Tags" not in got and "ErrorMessage" not in got

    updated = hub.mi.update_account_association(AccountAssociationId=association_id, Name="pantry")
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = hub.state(association_id)
    assert (got["Name"], got["Description"]) == ("pantry", "first link")

    items = hub.mi.list_account_associations(ConnectorDestinationId=destination)["Items"]
    assert items == [
        {
            "AccountAssociationId": association_id,
            "AssociationState": "ASSOCIATION_IN_PROGRESS",
            "ConnectorDestinationId": destination,
            "Name": "pantry",
            "Description": "first link",
            "Arn": created["Arn"],
        }
    ]

    deleted = hub.mi.delete_account_association(AccountAssociationId=association_id)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException) as caught:
        hub.state(association_id)
    assert caught.value.response["ResourceType"] == "AccountAssociation"
    assert caught.value.response["ResourceId"] == association_id
    # The pending authorization died with the association.
    page = hub.approve(created["OAuthAuthorizationUrl"], hub.user())
    assert page.status_code == 400 and "Linking failed" in page.text


def test_tags_follow_the_association(hub: OAuthHub) -> None:
    created = hub.associate(hub.destination(), Tags={"a": "1", "b": "2"})
    arn = created["Arn"]
    assert hub.state(created["AccountAssociationId"])["Tags"] == {"a": "1", "b": "2"}
    hub.mi.delete_account_association(AccountAssociationId=created["AccountAssociationId"])
    again = hub.associate(hub.destination())
    assert again["Arn"] != arn


def test_list_paginates_and_filters(hub: OAuthHub) -> None:
    destination = hub.destination()
    ids = [hub.associate(destination)["AccountAssociationId"] for _ in range(3)]
    hub.associate(hub.destination())  # another destination's
    paginator = hub.mi.get_paginator("list_account_associations")
    pages = list(
        paginator.paginate(ConnectorDestinationId=destination, PaginationConfig={"PageSize": 2})
    )
    assert [len(page["Items"]) for page in pages] == [2, 1]
    assert [item["AccountAssociationId"] for page in pages for item in page["Items"]] == ids
    everything = hub.mi.list_account_associations(MaxResults=1000)["Items"]
    assert set(ids) < {item["AccountAssociationId"] for item in everything}


def test_unknown_ids_are_not_found(hub: OAuthHub) -> None:
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException) as caught:
        hub.associate("0123456789abcdef")
    assert caught.value.response["ResourceType"] == "ConnectorDestination"
    for call in (
        hub.mi.get_account_association,
        hub.mi.delete_account_association,
        hub.mi.update_account_association,
        hub.mi.start_account_association_refresh,
    ):
        with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
            call(AccountAssociationId="doesnotexist")


def test_invalid_input_is_rejected_by_the_model(hub: OAuthHub) -> None:
    association_id = hub.associate(hub.destination())["AccountAssociationId"]
    with pytest.raises(hub.mi.exceptions.ValidationException):
        # Model patterns are searched, not anchored: only text without any allowed
        # character breaks them.
        hub.mi.update_account_association(AccountAssociationId=association_id, Name="///")
    with pytest.raises(hub.mi.exceptions.ValidationException):
        hub.mi.get_account_association(AccountAssociationId="---")


def test_other_accounts_do_not_see_the_association(hub: OAuthHub) -> None:
    destination = hub.destination()
    association_id = hub.associate(destination)["AccountAssociationId"]
    with pytest.raises(hub.other.exceptions.ResourceNotFoundException):
        hub.other.get_account_association(AccountAssociationId=association_id)
    with pytest.raises(hub.other.exceptions.ResourceNotFoundException):
        hub.other.create_account_association(ConnectorDestinationId=destination)
    assert hub.other.list_account_associations()["Items"] == []


def test_destination_in_use_cannot_be_deleted(hub: OAuthHub) -> None:
    destination = hub.destination()
    association_id = hub.associate(destination)["AccountAssociationId"]
    with pytest.raises(hub.mi.exceptions.ValidationException) as caught:
        hub.mi.delete_connector_destination(Identifier=destination)
    assert "account association" in caught.value.response["Error"]["Message"]
    hub.mi.delete_account_association(AccountAssociationId=association_id)
    hub.mi.delete_connector_destination(Identifier=destination)
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
        hub.mi.get_connector_destination(Identifier=destination)


def test_refresh_while_in_progress_replaces_the_authorization(hub: OAuthHub) -> None:
    created = hub.associate(hub.destination())
    association_id = created["AccountAssociationId"]
    refreshed = hub.mi.start_account_association_refresh(AccountAssociationId=association_id)
    new_url = refreshed["OAuthAuthorizationUrl"]
    assert query_of(new_url)["state"] != query_of(created["OAuthAuthorizationUrl"])["state"]
    assert hub.state(association_id)["OAuthAuthorizationUrl"] == new_url

    stale = hub.approve(created["OAuthAuthorizationUrl"], hub.user())
    assert stale.status_code == 400
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_IN_PROGRESS"

    user = hub.user()
    hub.approve(new_url, user)
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert hub.stored(association_id)["UserId"] == user


def test_relinking_a_linked_association_keeps_its_id(hub: OAuthHub) -> None:
    association_id, first_user, _ = hub.link()
    url = hub.mi.start_account_association_refresh(AccountAssociationId=association_id)[
        "OAuthAuthorizationUrl"
    ]
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_IN_PROGRESS"
    second_user = hub.user()
    hub.approve(url, second_user)
    got = hub.state(association_id)
    assert got["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert hub.stored(association_id)["UserId"] == second_user != first_user


def test_relinking_a_failed_association_clears_the_error(hub: OAuthHub) -> None:
    created = hub.associate(hub.destination())
    association_id = created["AccountAssociationId"]
    hub.deny(created["OAuthAuthorizationUrl"], hub.user())
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_FAILED"
    url = hub.mi.start_account_association_refresh(AccountAssociationId=association_id)[
        "OAuthAuthorizationUrl"
    ]
    got = hub.state(association_id)
    assert got["AssociationState"] == "ASSOCIATION_IN_PROGRESS"
    assert "ErrorMessage" not in got
    hub.approve(url, hub.user())
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_SUCCEEDED"


def test_delete_deactivates_the_user_at_the_vendor(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link()
    access, refresh = hub.tokens(association_id)
    assert hub.acme.get("/api/me", token=access).status_code == 200

    hub.mi.delete_account_association(AccountAssociationId=association_id)

    # The connector revoked the grant: neither token works any more.
    assert hub.acme.get("/api/me", token=access).status_code == 401
    assert hub.acme.refresh(refresh).json()["error"] == "invalid_grant"
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
        hub.state(association_id)


def test_delete_proceeds_when_deactivation_fails(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link(function="unlink-failing-connector")
    assert hub.state(association_id)["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    hub.mi.delete_account_association(AccountAssociationId=association_id)
    assert any(
        e["payload"]["connectorId"] and e["header"]["auth"]["type"] == "OAuth2.0"
        for e in _events(hub, "AWS.DeactivateUser")
    )
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
        hub.state(association_id)


def test_association_is_deleting_while_the_user_is_deactivated(hub: OAuthHub) -> None:
    association_id, _, _ = hub.link(function="slow-unlink-connector")
    deleting = threading.Thread(
        target=hub.mi.delete_account_association, kwargs={"AccountAssociationId": association_id}
    )
    deleting.start()
    try:
        seen = hub.wait_state(association_id, "ASSOCIATION_DELETING", timeout=5)
        assert seen["AssociationState"] == "ASSOCIATION_DELETING"
    finally:
        deleting.join(30)
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException):
        hub.state(association_id)


def test_general_authorization_activates_in_the_background(hub: OAuthHub) -> None:
    destination = _general_destination(hub)
    got = hub.mi.get_connector_destination(Identifier=destination)
    assert got["AuthConfig"]["GeneralAuthorization"][0]["AuthMaterialName"] == "api-key"
    created = hub.associate(destination, GeneralAuthorization={"AuthMaterialName": "api-key"})
    association_id = created["AccountAssociationId"]
    assert created["OAuthAuthorizationUrl"] == ""
    assert created["AssociationState"] == "ASSOCIATION_IN_PROGRESS"

    got = hub.wait_state(association_id, "ASSOCIATION_SUCCEEDED", "ASSOCIATION_FAILED")
    assert got["AssociationState"] == "ASSOCIATION_SUCCEEDED", got
    assert got["GeneralAuthorization"] == {"AuthMaterialName": "api-key"}
    assert got["OAuthAuthorizationUrl"] == ""
    assert hub.stored(association_id)["UserId"] == "general-user"
    activation = _events(hub, "AWS.ActivateUser")[-1]
    assert activation["header"]["auth"] == {
        "type": "GeneralAuthorization",
        "secretsManager": MATERIAL_SECRET,
    }

    refreshed = hub.mi.start_account_association_refresh(AccountAssociationId=association_id)
    assert refreshed["OAuthAuthorizationUrl"] == ""
    got = hub.wait_state(association_id, "ASSOCIATION_SUCCEEDED", "ASSOCIATION_FAILED")
    assert got["AssociationState"] == "ASSOCIATION_SUCCEEDED"

    before = len(_events(hub, "AWS.DeactivateUser"))
    hub.mi.delete_account_association(AccountAssociationId=association_id)
    deactivation = _events(hub, "AWS.DeactivateUser")[before:]
    assert [e["header"]["auth"]["type"] for e in deactivation] == ["GeneralAuthorization"]


def test_general_authorization_defaults_to_the_only_material(hub: OAuthHub) -> None:
    created = hub.associate(_general_destination(hub))
    got = hub.wait_state(
        created["AccountAssociationId"], "ASSOCIATION_SUCCEEDED", "ASSOCIATION_FAILED"
    )
    assert got["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert got["GeneralAuthorization"] == {"AuthMaterialName": "api-key"}


def test_general_authorization_refused_by_the_connector_fails(hub: OAuthHub) -> None:
    # The Acme connector speaks OAuth only and answers 400.
    created = hub.associate(_general_destination(hub, "acme-connector"))
    got = hub.wait_state(
        created["AccountAssociationId"], "ASSOCIATION_SUCCEEDED", "ASSOCIATION_FAILED"
    )
    assert got["AssociationState"] == "ASSOCIATION_FAILED"
    assert "non_2xx" in got["ErrorMessage"]


def test_unknown_material_is_a_validation_error(hub: OAuthHub) -> None:
    destination = _general_destination(hub)
    with pytest.raises(hub.mi.exceptions.ValidationException):
        hub.associate(destination, GeneralAuthorization={"AuthMaterialName": "nope"})
    # An OAuth destination has no materials either.
    with pytest.raises(hub.mi.exceptions.ValidationException):
        hub.associate(hub.destination(), GeneralAuthorization={"AuthMaterialName": "api-key"})


def test_connector_in_use_by_a_destination_cannot_be_deleted(hub: OAuthHub) -> None:
    connector_id = hub.mi.create_cloud_connector(
        Name="short-lived", EndpointConfig={"lambda": {"arn": lambda_arn("acme-connector")}}
    )["Id"]
    destination = hub.mi.create_connector_destination(
        CloudConnectorId=connector_id,
        AuthConfig={
            "oAuth": {
                "authUrl": f"{hub.acme.url}/oauth/authorize",
                "tokenUrl": f"{hub.acme.url}/oauth/token",
                "tokenEndpointAuthenticationScheme": "HTTP_BASIC",
            }
        },
        SecretsManager=hub.secret(),
    )["Id"]
    created = hub.associate(destination)
    # A connector still used by a destination cannot be deleted: the link keeps working.
    with pytest.raises(hub.mi.exceptions.ValidationException) as refused:
        hub.mi.delete_cloud_connector(Identifier=connector_id)
    assert "still used by 1 connector destination" in refused.value.response["Error"]["Message"]
    hub.approve(created["OAuthAuthorizationUrl"], hub.user())
    got = hub.state(created["AccountAssociationId"])
    assert got["AssociationState"] == "ASSOCIATION_SUCCEEDED"


def test_callback_page_is_plain_html_without_aws_auth(hub: OAuthHub) -> None:
    started = time.monotonic()
    page = hub.browser.get(f"{hub.server.url}{CALLBACK_PATH}?state=x")
    assert page.status_code == 400
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in page.text
    assert time.monotonic() - started < 5
