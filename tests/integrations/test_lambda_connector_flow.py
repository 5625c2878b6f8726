"""The whole linking and discovery flow with the connector behind the AWS Lambda Invoke API.

No `[functions]` entry names the connector, so thinghub calls Lambda `Invoke` through boto3;
`AWS_ENDPOINT_URL_LAMBDA` points at a Lambda-Invoke-compatible endpoint that runs the
unmodified reference handler, which calls thinghub back with `SendConnectorEvent`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from examples.acme_connector import handler as acme_handler

from tests.conftest import REGION, RunningServer, make_client, start_server
from tests.examples.conftest import AcmeCloud, start_acme_cloud
from tests.peers import RecordedRequest, StubHttpServer, StubResponse, wait_until

FUNCTION = "acme-remote-connector"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:000000000000:function:{FUNCTION}"


class LambdaEndpoint:
    """Lambda's Invoke API, running the reference handler for every invocation."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.stub = StubHttpServer(self._invoke)

    def _invoke(self, request: RecordedRequest) -> StubResponse:
        if "/2015-03-31/functions/" not in request.path:
            return StubResponse.json(404, {"message": "not found"})
        event = request.json()
        self.operations.append(event["payload"]["operationName"])
        result = acme_handler.lambda_handler(event, None)
        return StubResponse.json(200, result)


@pytest.fixture(scope="module")
def flow(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, AcmeCloud, LambdaEndpoint]]:
    tmp = tmp_path_factory.mktemp("lambda-flow")
    secrets = tmp / "secrets.toml"
    secrets.write_text('"acme" = { client_id = "acme-client", client_secret = "acme-secret" }\n')
    config = tmp / "thinghub.toml"
    # A generous attempt timeout: the handler runs in this (busy, parallel) test process.
    config.write_text(f'[secrets]\nfile = "{secrets}"\n\n[connectors]\ntimeout_seconds = 10.0\n')
    acme = start_acme_cloud("--auto-approve", log=tmp / "acme.log")
    endpoint = LambdaEndpoint()
    with endpoint.stub, pytest.MonkeyPatch.context() as env:
        env.setenv("ACME_CLOUD_URL", acme.url)
        env.delenv("ACME_EVENT_MODE", raising=False)
        env.delenv("ACME_WEBHOOK_URL", raising=False)
        env.setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint.stub.url)
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        server = start_server(tmp / "data", "--config", str(config))
        # The handler runs in this process (inside the stub): it calls thinghub from here.
        env.setenv("AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS", server.url)
        try:
            yield server, acme, endpoint
        finally:
            server.stop()
            acme.stop()


def test_link_and_discover_through_lambda_invoke(
    flow: tuple[RunningServer, AcmeCloud, LambdaEndpoint],
) -> None:
    server, acme, endpoint = flow
    mi = make_client(server, "iot-managed-integrations")
    connector = mi.create_cloud_connector(
        Name="acme remote", EndpointConfig={"lambda": {"arn": LAMBDA_ARN}}
    )["Id"]
    destination = mi.create_connector_destination(
        CloudConnectorId=connector,
        AuthType="OAUTH",
        AuthConfig={
            "oAuth": {
                "authUrl": f"{acme.url}/oauth/authorize",
                "tokenUrl": f"{acme.url}/oauth/token",
                "scope": "devices:read devices:write",
                "tokenEndpointAuthenticationScheme": "REQUEST_BODY_CREDENTIALS",
            }
        },
        SecretsManager={
            "arn": f"arn:aws:secretsmanager:{REGION}:000000000000:secret:acme-AbCdEf",
            "versionId": "a" * 32,
        },
    )["Id"]
    association = mi.create_account_association(ConnectorDestinationId=destination)
    assert association["AssociationState"] == "ASSOCIATION_IN_PROGRESS"

    # The end user's browser: vendor consent (auto-approved), then thinghub's callback.
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(association["OAuthAuthorizationUrl"] + "&user=alice")
    assert page.status_code == 200, page.text
    linked = mi.get_account_association(AccountAssociationId=association["AccountAssociationId"])
    assert linked["AssociationState"] == "ASSOCIATION_SUCCEEDED"
    assert endpoint.operations == ["AWS.ActivateUser"]

    discovery = mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=association["AccountAssociationId"]
    )["Id"]
    wait_until(
        lambda: mi.get_device_discovery(Identifier=discovery)["Status"],
        lambda status: status == "SUCCEEDED",
    )
    devices = mi.list_discovered_devices(Identifier=discovery)["Items"]
    assert len(devices) == 4  # alice's plug, fan, light and thermometer at the vendor
    assert "Bedroom Fan" in {d["ConnectorDeviceName"] for d in devices}
    assert endpoint.operations == ["AWS.ActivateUser", "AWS.DiscoverDevices"]
    request = endpoint.stub.requests[-1]
    assert request.path.startswith("/2015-03-31/functions/")
    assert json.loads(request.body)["payload"]["deviceDiscoveryId"] == discovery

    material = devices[0]["AuthenticationMaterial"]
    thing = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial=material,
        AuthenticationMaterialType="DISCOVERED_DEVICE",
    )
    got = mi.get_managed_thing(Identifier=thing["Id"])
    assert got["ConnectorDeviceId"] == devices[0]["ConnectorDeviceId"]
