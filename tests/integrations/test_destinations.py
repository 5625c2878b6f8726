"""Connector destinations over HTTP with stock boto3 (the suite's shared thinghub)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY, RunningServer, make_client

LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:acme-connector"
SECRET = {
    "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme-oauth-AbCdEf",
    "versionId": "0" * 32,
}
OAUTH = {
    "authUrl": "https://auth.acme.example/oauth/authorize",
    "tokenUrl": "https://auth.acme.example/oauth/token",
    "tokenEndpointAuthenticationScheme": "HTTP_BASIC",
    "scope": "devices:read devices:write",
    "oAuthCompleteRedirectUrl": "https://customer.example/done",
    "proactiveRefreshTokenRenewal": {"enabled": True, "DaysBeforeRenewal": 30},
}
MATERIAL = {
    "AuthMaterialName": "api-key",
    "SecretsManager": {
        "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf",
        "versionId": "1" * 32,
    },
}


def _connector(mi: Any) -> str:
    created = mi.create_cloud_connector(
        Name=f"acme-{uuid.uuid4().hex[:8]}", EndpointConfig={"lambda": {"arn": LAMBDA}}
    )
    return str(created["Id"])


def _destination(mi: Any, connector_id: str | None = None, **extra: Any) -> str:
    params: dict[str, Any] = {
        "CloudConnectorId": connector_id or _connector(mi),
        "AuthType": "OAUTH",
        "AuthConfig": {"oAuth": OAUTH},
        "SecretsManager": SECRET,
        **extra,
    }
    created = mi.create_connector_destination(**params)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(created["Id"])


def test_create_and_get_round_trip(mi: Any) -> None:
    connector_id = _connector(mi)
    destination_id = _destination(mi, connector_id, Name="acme eu", Description="Acme EU")
    got = mi.get_connector_destination(Identifier=destination_id)
    assert got["Id"] == destination_id
    assert got["Name"] == "acme eu"
    assert got["Description"] == "Acme EU"
    assert got["CloudConnectorId"] == connector_id
    assert got["AuthType"] == "OAUTH"
    assert got["AuthConfig"] == {"oAuth": OAUTH}
    assert got["SecretsManager"] == SECRET
    assert got["OAuthCompleteRedirectUrl"] == "https://customer.example/done"


def test_minimal_destination_defaults_auth_type(mi: Any) -> None:
    oauth = {k: OAUTH[k] for k in ("authUrl", "tokenUrl", "tokenEndpointAuthenticationScheme")}
    created = mi.create_connector_destination(
        CloudConnectorId=_connector(mi), AuthConfig={"oAuth": oauth}
    )
    got = mi.get_connector_destination(Identifier=created["Id"])
    assert got["AuthType"] == "OAUTH"
    assert got["AuthConfig"] == {"oAuth": oauth}
    for member in ("Name", "Description", "SecretsManager", "OAuthCompleteRedirectUrl"):
        assert member not in got


def test_update_changes_only_what_it_may(mi: Any) -> None:
    destination_id = _destination(mi, Name="before")
    new_secret = {**SECRET, "versionId": "2" * 32}
    answer = mi.update_connector_destination(
        Identifier=destination_id,
        Name="after",
        Description="moved",
        SecretsManager=new_secret,
        AuthConfig={
            "oAuthUpdate": {
                "oAuthCompleteRedirectUrl": "https://customer.example/v2",
                "proactiveRefreshTokenRenewal": {"enabled": False},
            }
        },
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = mi.get_connector_destination(Identifier=destination_id)
    assert (got["Name"], got["Description"]) == ("after", "moved")
    assert got["SecretsManager"] == new_secret
    oauth = got["AuthConfig"]["oAuth"]
    assert oauth["oAuthCompleteRedirectUrl"] == "https://customer.example/v2"
    assert oauth["proactiveRefreshTokenRenewal"] == {"enabled": False}
    # authUrl, tokenUrl, scope and the scheme are immutable.
    assert {k: oauth[k] for k in ("authUrl", "tokenUrl", "scope")} == {
        k: OAUTH[k] for k in ("authUrl", "tokenUrl", "scope")
    }
    assert got["OAuthCompleteRedirectUrl"] == "https://customer.example/v2"


def test_general_authorization_materials(mi: Any) -> None:
    created = mi.create_connector_destination(
        CloudConnectorId=_connector(mi), AuthConfig={"GeneralAuthorization": [MATERIAL]}
    )
    destination_id = created["Id"]
    got = mi.get_connector_destination(Identifier=destination_id)
    assert got["AuthConfig"] == {"GeneralAuthorization": [MATERIAL]}
    assert "AuthType" not in got

    second = {**MATERIAL, "AuthMaterialName": "second"}
    changed = {**MATERIAL, "SecretsManager": {**MATERIAL["SecretsManager"], "versionId": "9" * 32}}
    mi.update_connector_destination(
        Identifier=destination_id,
        AuthConfig={
            "GeneralAuthorizationUpdate": {
                "AuthMaterialsToAdd": [second],
                "AuthMaterialsToUpdate": [changed],
            }
        },
    )
    got = mi.get_connector_destination(Identifier=destination_id)
    assert got["AuthConfig"]["GeneralAuthorization"] == [changed, second]

    for update in (
        {"AuthMaterialsToAdd": [second]},  # already there
        {"AuthMaterialsToUpdate": [{**MATERIAL, "AuthMaterialName": "missing"}]},
        {"AuthMaterialsToAdd": [{**MATERIAL, "AuthMaterialName": n} for n in ("x", "y")]},
    ):
        with pytest.raises(mi.exceptions.ValidationException):
            mi.update_connector_destination(
                Identifier=destination_id, AuthConfig={"GeneralAuthorizationUpdate": update}
            )
    with pytest.raises(mi.exceptions.ValidationException):
        mi.update_connector_destination(
            Identifier=destination_id,
            AuthConfig={"oAuthUpdate": {"oAuthCompleteRedirectUrl": "https://x.example/"}},
        )


def test_invalid_auth_config_is_rejected(mi: Any) -> None:
    connector_id = _connector(mi)
    with pytest.raises(mi.exceptions.ValidationException):
        mi.create_connector_destination(CloudConnectorId=connector_id, AuthConfig={})
    with pytest.raises(mi.exceptions.ValidationException):
        mi.create_connector_destination(
            CloudConnectorId=connector_id, AuthConfig={"GeneralAuthorization": [MATERIAL] * 2}
        )


def test_validation_by_the_model(server: RunningServer) -> None:
    raw = make_client(server, "iot-managed-integrations", validate=False)
    connector_id = _connector(raw)
    for oauth in (
        {**OAUTH, "tokenEndpointAuthenticationScheme": "DIGEST"},
        {**OAUTH, "proactiveRefreshTokenRenewal": {"enabled": True, "DaysBeforeRenewal": 7}},
        {k: v for k, v in OAUTH.items() if k != "tokenUrl"},
    ):
        with pytest.raises(raw.exceptions.ValidationException):
            raw.create_connector_destination(
                CloudConnectorId=connector_id, AuthConfig={"oAuth": oauth}
            )
    with pytest.raises(raw.exceptions.ValidationException):
        raw.create_connector_destination(
            CloudConnectorId=connector_id,
            AuthConfig={"oAuth": OAUTH},
            SecretsManager={"arn": "not-an-arn-at-all-really", "versionId": "short"},
        )


def test_unknown_connector_and_destination_are_not_found(mi: Any) -> None:
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        mi.create_connector_destination(
            CloudConnectorId="doesnotexist", AuthConfig={"oAuth": OAUTH}
        )
    assert caught.value.response["ResourceType"] == "CloudConnector"
    assert caught.value.response["ResourceId"] == "doesnotexist"
    for call in (
        mi.get_connector_destination,
        mi.update_connector_destination,
        mi.delete_connector_destination,
    ):
        with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
            call(Identifier="doesnotexist")
        assert caught.value.response["ResourceType"] == "ConnectorDestination"


def test_delete(mi: Any) -> None:
    destination_id = _destination(mi)
    answer = mi.delete_connector_destination(Identifier=destination_id)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(mi.exceptions.ResourceNotFoundException):
        mi.get_connector_destination(Identifier=destination_id)


def test_list_filters_by_connector_and_paginates(mi: Any) -> None:
    connector_id = _connector(mi)
    ids = [_destination(mi, connector_id, Name=f"d{i}") for i in range(3)]
    _destination(mi)  # another connector's
    listed = mi.list_connector_destinations(CloudConnectorId=connector_id)
    assert listed["ConnectorDestinationList"] == [
        {"Id": i, "Name": f"d{n}", "CloudConnectorId": connector_id} for n, i in enumerate(ids)
    ]
    assert "NextToken" not in listed
    paginator = mi.get_paginator("list_connector_destinations")
    pages = list(
        paginator.paginate(CloudConnectorId=connector_id, PaginationConfig={"PageSize": 2})
    )
    assert [len(p["ConnectorDestinationList"]) for p in pages] == [2, 1]
    with pytest.raises(mi.exceptions.ValidationException):
        mi.list_connector_destinations(CloudConnectorId="other", NextToken=pages[0]["NextToken"])


def test_accounts_do_not_share_destinations(mi: Any, server: RunningServer) -> None:
    other = make_client(
        server, "iot-managed-integrations", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )
    connector_id = _connector(mi)
    destination_id = _destination(mi, connector_id)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_connector_destination(Identifier=destination_id)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.create_connector_destination(
            CloudConnectorId=connector_id, AuthConfig={"oAuth": OAUTH}
        )
    ids = [d["Id"] for d in other.list_connector_destinations()["ConnectorDestinationList"]]
    assert destination_id not in ids


def test_same_client_token_gives_the_same_destination(mi: Any) -> None:
    connector_id = _connector(mi)
    token = uuid.uuid4().hex
    first = _destination(mi, connector_id, ClientToken=token)
    second = _destination(mi, connector_id, ClientToken=token)
    assert first == second
    listed = mi.list_connector_destinations(CloudConnectorId=connector_id)
    assert [d["Id"] for d in listed["ConnectorDestinationList"]] == [first]
