"""A thinghub wired to the Acme cloud and connector, and helpers to link accounts through it.

Not tests: `linked_hub_fixture()` gives a test module a module-scoped `LinkedHub`: the Acme
cloud (``python -m examples.acme_cloud --auto-approve``) and a `thinghub serve` on the manual
clock whose ``[functions]`` run the Acme connector (and the test connectors of
`test_discovery_handlers`) as local handlers. `LinkedHub.link()` links an account association
through the real OAuth flow: authorization URL, Acme's consent, thinghub's callback, token
exchange and AWS.ActivateUser.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    OTHER_ACCESS_KEY,
    OTHER_ACCOUNT,
    OTHER_SECRET_KEY,
    REGION,
    RunningServer,
    make_client,
    start_server,
)
from tests.examples.conftest import AcmeCloud, start_acme_cloud
from tests.peers import MotoServer, start_moto_server

ACCOUNT = "000000000000"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:acme-oauth-AbCdEf"
SECRET_VERSION = "0" * 32
HANDLERS = "tests.integrations.test_discovery_handlers"
DISCOVERY_TIMEOUT = 300

ACME_DEVICES = {"acme-plug-001", "acme-fan-001", "acme-light-001", "acme-sensor-001"}


def lambda_arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:lambda:{REGION}:{account}:function:{name}"


def config_text(secrets_file: Path, discovery_timeout: float, command_timeout: float = 60) -> str:
    return f"""
[[identities]]
access_key = "{OTHER_ACCESS_KEY}"
secret_key = "{OTHER_SECRET_KEY}"
account_id = "{OTHER_ACCOUNT}"

[connectors]
timeout_seconds = 10.0
retries = 1
backoff_seconds = 0.01
backoff_max_seconds = 0.05

[functions]
"acme-connector" = "examples.acme_connector.handler:lambda_handler"
"ack-connector" = "{HANDLERS}:ack_connector"
"broken-connector" = "{HANDLERS}:broken_connector"
"silent-connector" = "{HANDLERS}:silent_connector"
"refusing-connector" = "{HANDLERS}:refusing_connector"
"fan-high" = "examples.automations.handler:fan_high"

[secrets]
file = "{secrets_file}"

[integrations]
discovery_timeout_seconds = {discovery_timeout}
command_timeout_seconds = {command_timeout}
"""


@dataclass(frozen=True)
class Linked:
    """A cloud connector, a destination on it and an account association linked through it."""

    connector_id: str
    destination_id: str
    association_id: str


@dataclass
class LinkedHub:
    server: RunningServer
    acme: AcmeCloud
    config: Path
    clock: str
    env: dict[str, str] = field(default_factory=dict)  # for the thinghub process
    mi: Any = None  # the default account's client
    other: Any = None  # the second account's client
    moto: MotoServer | None = None

    def __post_init__(self) -> None:
        self._clients()

    def _clients(self) -> None:
        self.mi = make_client(self.server, "iot-managed-integrations")
        self.other = make_client(
            self.server,
            "iot-managed-integrations",
            access_key=OTHER_ACCESS_KEY,
            secret_key=OTHER_SECRET_KEY,
        )

    def restart(self, pause: float = 0.0) -> None:
        """Stop thinghub, wait `pause` seconds, start it again on the same data."""
        self.server.stop()
        time.sleep(pause)
        self.server = start_thinghub(
            self.server.data_dir, self.config, self.acme, self.clock, self.env
        )
        self._clients()

    def advance(self, seconds: float) -> None:
        """Move thinghub's manual clock (due timeouts run before this returns)."""
        answer = httpx.post(f"{self.server.url}/_thinghub/clock", json={"advanceSeconds": seconds})
        assert answer.status_code == 200, answer.text

    def manage(self, discovery_id: str, only: set[str] | None = None) -> dict[str, str]:
        """Managed things for the devices a discovery found (or `only` those): the managed
        thing id of each ConnectorDeviceId."""
        things = {}
        for found in all_discovered(self.mi, discovery_id):
            if only is not None and found["ConnectorDeviceId"] not in only:
                continue
            things[found["ConnectorDeviceId"]] = self.mi.create_managed_thing(
                Role="DEVICE",
                AuthenticationMaterial=found["AuthenticationMaterial"],
                AuthenticationMaterialType="DISCOVERED_DEVICE",
            )["Id"]
        return things

    def connector(self, function: str = "acme-connector") -> str:
        name = f"{function}-{uuid.uuid4().hex[:8]}"
        created = self.mi.create_cloud_connector(
            Name=name, EndpointConfig={"lambda": {"arn": lambda_arn(function)}}
        )
        return str(created["Id"])

    def link(
        self, function: str = "acme-connector", user: str = "alice", *, expect: str = "SUCCEEDED"
    ) -> Linked:
        """A new connector, destination and association for `function`, linked as `user`
        (or ending in ``ASSOCIATION_<expect>``)."""
        connector_id = self.connector(function)
        destination_id = self.mi.create_connector_destination(
            Name=f"acme-{uuid.uuid4().hex[:8]}",
            CloudConnectorId=connector_id,
            AuthType="OAUTH",
            AuthConfig={
                "oAuth": {
                    "authUrl": f"{self.acme.url}/oauth/authorize",
                    "tokenUrl": f"{self.acme.url}/oauth/token",
                    "tokenEndpointAuthenticationScheme": "HTTP_BASIC",
                }
            },
            SecretsManager={"arn": SECRET_ARN, "versionId": SECRET_VERSION},
        )["Id"]
        created = self.mi.create_account_association(ConnectorDestinationId=destination_id)
        association_id = created["AccountAssociationId"]
        # The end user's browser: Acme approves at once and redirects to thinghub's callback.
        url = created["OAuthAuthorizationUrl"] + f"&user={user}"
        with httpx.Client(follow_redirects=True, timeout=30) as browser:
            browser.get(url)
        deadline = time.monotonic() + 30
        while True:
            state = self.mi.get_account_association(AccountAssociationId=association_id)
            if state["AssociationState"] == f"ASSOCIATION_{expect}":
                break
            assert state["AssociationState"] == "ASSOCIATION_IN_PROGRESS", state
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
        return Linked(connector_id, destination_id, association_id)


def start_thinghub(
    data_dir: Path,
    config: Path,
    acme: AcmeCloud,
    clock: str,
    extra_env: dict[str, str] | None = None,
) -> RunningServer:
    # The Acme connector finds its cloud through the environment the workers inherit.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ACME_CLOUD_URL", acme.url)
        env.delenv("ACME_EVENT_MODE", raising=False)
        for name, value in (extra_env or {}).items():
            env.setenv(name, value)
        return start_server(data_dir, "--clock", clock, "--config", str(config))


def linked_hub_fixture(
    clock: str = "manual",
    discovery_timeout: float = DISCOVERY_TIMEOUT,
    *,
    kinesis: bool = False,
    command_timeout: float = 60,
    kinesis_url: str | None = None,
    extra_config: str = "",
) -> Any:
    """A module-scoped fixture; assign it: ``hub = linked_hub_fixture()``. With `kinesis`, a
    moto server (`LinkedHub.moto`) receives thinghub's Kinesis notifications; `kinesis_url`
    points them somewhere else (a Kinesis that is not there yet). `extra_config` is appended
    to the config file."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkedHub]:
        tmp = tmp_path_factory.mktemp("linked")
        acme = start_acme_cloud("--auto-approve", log=tmp / "acme.log")
        secrets_file = tmp / "secrets.toml"
        secrets_file.write_text(
            f'"{SECRET_ARN}" = {{ clientId = "acme-client", clientSecret = "acme-secret" }}\n'
        )
        config = tmp / "thinghub.toml"
        config.write_text(
            config_text(secrets_file, discovery_timeout, command_timeout) + extra_config
        )
        moto = start_moto_server() if kinesis else None
        url = moto.url if moto is not None else kinesis_url
        env = {} if url is None else kinesis_environment(url)
        try:
            linked = LinkedHub(
                start_thinghub(tmp / "data", config, acme, clock, env), acme, config, clock, env
            )
        except Exception:
            acme.stop()
            if moto is not None:
                moto.stop()
            raise
        linked.moto = moto
        try:
            yield linked
        finally:
            linked.server.stop()
            acme.stop()
            if moto is not None:
                moto.stop()

    return fixture


def wait_for_status(mi: Any, discovery_id: str, *statuses: str) -> dict[str, Any]:
    """GetDeviceDiscovery until its status is one of `statuses` (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        got: dict[str, Any] = mi.get_device_discovery(Identifier=discovery_id)
        if got["Status"] in statuses or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def all_discovered(mi: Any, discovery_id: str) -> list[dict[str, Any]]:
    paginator = mi.get_paginator("list_discovered_devices")
    return [item for page in paginator.paginate(Identifier=discovery_id) for item in page["Items"]]


def matter_report(
    clusters: tuple[str, ...] = ("0x0202",), device_type: str = "Fan", node: str = "n1"
) -> dict[str, Any]:
    """A small MatterCapabilityReport: one endpoint with the given clusters."""
    return {
        "version": "1.0.0",
        "nodeId": node,
        "endpoints": [
            {
                "id": "1",
                "deviceTypes": [device_type],
                "clusters": [
                    {
                        "id": cluster,
                        "revision": 1,
                        "attributes": [{"id": "0x0000", "value": 1}],
                        "commands": ["0x00"],
                        "events": [],
                    }
                    for cluster in clusters
                ],
            }
        ],
    }


def device(
    device_id: str,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    **report: Any,
) -> dict[str, Any]:
    """One entry of a DEVICE_DISCOVERY event's Devices; `report` goes to `matter_report`."""
    entry: dict[str, Any] = {
        "ConnectorDeviceId": device_id,
        "CapabilityReport": matter_report(**report),
    }
    if name is not None:
        entry["ConnectorDeviceName"] = name
    if metadata is not None:
        entry["DeviceMetadata"] = metadata
    return entry


def kinesis_environment(url: str) -> dict[str, str]:
    """What a thinghub process needs to put records into a Kinesis at `url`."""
    return {
        "AWS_ENDPOINT_URL_KINESIS": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
