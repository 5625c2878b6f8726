"""What a customer of managed integrations does, through stock boto3 against thinghub: set up
the connector, link an end user's vendor account, discover the devices, make them managed
things, command them and read their state. Nothing here knows thinghub's internals; the same
calls work against AWS."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.session
import httpx

from thinghub.demo.commands import Command
from thinghub.demo.household import DEVICES, Device
from thinghub.demo.workspace import (
    CONNECTOR_ARN,
    REGION,
    SECRET_ARN,
    SECRET_VERSION,
    DemoError,
)
from thinghub.identities import DEFAULT_IDENTITY
from thinghub.wire.models import models_path

LINK_TIMEOUT = 60.0  # the first connector call starts a worker process: slow on a busy machine
DISCOVERY_TIMEOUT = 60.0
POLL = 0.1


@dataclass
class Thing:
    """A managed thing made from one of the vendor's devices."""

    id: str
    name: str
    device: Device
    capabilities: dict[str, dict[str, Any]] = field(default_factory=dict)  # by capability id


def client(endpoint: str, service: str = "iot-managed-integrations") -> Any:
    """A client of one of thinghub's APIs for the default identity (what a user would build).
    botocore no longer ships the IoT Events models: thinghub's copies are on its data path, as
    ``AWS_DATA_PATH="$(thinghub models-path)"`` would put them."""
    core = botocore.session.Session()
    core.set_config_variable("data_path", str(models_path()))
    session = boto3.session.Session(
        aws_access_key_id=DEFAULT_IDENTITY.access_key,
        aws_secret_access_key=DEFAULT_IDENTITY.secret_key,
        region_name=REGION,
        botocore_session=core,
    )
    config = botocore.config.Config(
        retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30
    )
    return session.client(service, endpoint_url=endpoint, config=config)


class Customer:
    def __init__(self, endpoint: str, acme_url: str) -> None:
        self.mi = client(endpoint)
        self.acme_url = acme_url

    # ----- connector and account linking ------------------------------------------------------

    def create_connector(self) -> tuple[str, str]:
        """A cloud connector for the Acme connector's Lambda function, and an OAuth destination
        pointing at Acme's authorization server; (connector id, destination id)."""
        suffix = uuid.uuid4().hex[:6]
        connector = self.mi.create_cloud_connector(
            Name=f"acme-{suffix}",
            Description="The Acme cloud, through the reference connector in examples/",
            EndpointConfig={"lambda": {"arn": CONNECTOR_ARN}},
        )["Id"]
        destination = self.mi.create_connector_destination(
            Name=f"acme-oauth-{suffix}",
            CloudConnectorId=connector,
            AuthType="OAUTH",
            AuthConfig={
                "oAuth": {
                    "authUrl": f"{self.acme_url}/oauth/authorize",
                    "tokenUrl": f"{self.acme_url}/oauth/token",
                    "tokenEndpointAuthenticationScheme": "HTTP_BASIC",
                    "scope": "devices:read devices:write",
                }
            },
            SecretsManager={"arn": SECRET_ARN, "versionId": SECRET_VERSION},
        )["Id"]
        return str(connector), str(destination)

    def start_linking(self, destination_id: str) -> tuple[str, str]:
        """CreateAccountAssociation: (association id, the URL to send the end user to)."""
        created = self.mi.create_account_association(
            ConnectorDestinationId=destination_id, Name="alice-at-acme"
        )
        return str(created["AccountAssociationId"]), str(created["OAuthAuthorizationUrl"])

    def consent(self, authorization_url: str, user: str) -> None:
        """The end user's browser: Acme's consent page approves at once (``--auto-approve``)
        and redirects to thinghub's OAuth callback, which finishes the linking."""
        with httpx.Client(follow_redirects=True, timeout=30) as browser:
            answer = browser.get(f"{authorization_url}&user={user}")
        if answer.status_code >= 400:
            raise DemoError(f"the OAuth redirect ended in {answer.status_code}: {answer.text}")

    def wait_linked(self, association_id: str) -> str:
        """Wait for the association to leave ASSOCIATION_IN_PROGRESS; its final state."""
        deadline = time.monotonic() + LINK_TIMEOUT
        while True:
            got = self.mi.get_account_association(AccountAssociationId=association_id)
            state = str(got["AssociationState"])
            if state != "ASSOCIATION_IN_PROGRESS":
                if state != "ASSOCIATION_SUCCEEDED":
                    raise DemoError(f"linking ended in {state}: {got.get('ErrorMessage', '')}")
                return state
            if time.monotonic() > deadline:
                raise DemoError("linking did not finish in time")
            time.sleep(POLL)

    # ----- discovery and managed things -------------------------------------------------------

    def discover(self, association_id: str) -> tuple[str, list[dict[str, Any]]]:
        """StartDeviceDiscovery through the connector; (discovery id, the discovered devices)."""
        discovery = str(
            self.mi.start_device_discovery(
                DiscoveryType="CLOUD", AccountAssociationId=association_id
            )["Id"]
        )
        deadline = time.monotonic() + DISCOVERY_TIMEOUT
        while True:
            status = str(self.mi.get_device_discovery(Identifier=discovery)["Status"])
            if status == "SUCCEEDED":
                break
            if status not in ("RUNNING",):
                raise DemoError(f"device discovery ended in {status}")
            if time.monotonic() > deadline:
                raise DemoError("device discovery did not finish in time")
            time.sleep(POLL)
        pages = self.mi.get_paginator("list_discovered_devices").paginate(Identifier=discovery)
        return discovery, [item for page in pages for item in page["Items"]]

    def create_thing(self, discovered: dict[str, Any]) -> Thing:
        """CreateManagedThing from a discovered device (its authentication material)."""
        thing_id = str(
            self.mi.create_managed_thing(
                Role="DEVICE",
                AuthenticationMaterial=discovered["AuthenticationMaterial"],
                AuthenticationMaterialType="DISCOVERED_DEVICE",
            )["Id"]
        )
        device = _device(discovered["ConnectorDeviceId"])
        thing = Thing(thing_id, discovered.get("ConnectorDeviceName") or device.name, device)
        reported = self.mi.get_managed_thing_capabilities(Identifier=thing_id)
        for endpoint in _capability_endpoints(reported):
            for capability in endpoint.get("capabilities", []):
                thing.capabilities[str(capability.get("id"))] = capability
        return thing

    # ----- commands and state -----------------------------------------------------------------

    def send(self, thing: Thing, command: Command) -> str:
        """SendManagedThingCommand; the trace id."""
        answer = self.mi.send_managed_thing_command(
            ManagedThingId=thing.id, Endpoints=command.endpoints(thing.capabilities)
        )
        return str(answer["TraceId"])

    def state(self, thing: Thing) -> list[dict[str, Any]]:
        """GetManagedThingState's endpoints."""
        endpoints: list[dict[str, Any]] = self.mi.get_managed_thing_state(
            ManagedThingId=thing.id
        ).get("Endpoints", [])
        return endpoints

    def close(self) -> None:
        self.mi.close()


def _device(connector_device_id: str) -> Device:
    for device in DEVICES:
        if device.id == connector_device_id:
            return device
    raise DemoError(f"Acme reported a device the demo does not know: {connector_device_id}")


def _capability_endpoints(reported: dict[str, Any]) -> list[dict[str, Any]]:
    """The endpoints of GetManagedThingCapabilities (``CapabilityReport.endpoints``)."""
    report = reported.get("CapabilityReport") or {}
    endpoints: list[dict[str, Any]] = report.get("endpoints") or []
    return endpoints
