"""Not tests: a thinghub wired to real peers for the account-linking tests.

`oauth_hub_fixture()` gives a test module a module-scoped `OAuthHub`:

- the Acme cloud (``python -m examples.acme_cloud``, consent page on, users ``u01``..``u60``),
  and a recording proxy in front of its token endpoint (to see how thinghub authenticates);
- a moto server as Secrets Manager (``AWS_ENDPOINT_URL_SECRETSMANAGER``);
- ``thinghub serve`` on the manual clock, its ``[functions]`` running the Acme connector and the
  misbehaving connectors of `test_oauth_connectors` as local handlers, a local secrets file
  (``[secrets] file``) and a short authorization lifetime.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from tests.conftest import (
    OTHER_ACCESS_KEY,
    OTHER_SECRET_KEY,
    REGION,
    TEST_CONFIG,
    RunningServer,
    make_client,
    start_server,
)
from tests.examples.conftest import AcmeCloud, start_acme_cloud
from tests.peers import (
    MotoServer,
    RecordedRequest,
    StubHttpServer,
    StubResponse,
    aws_environment,
    start_moto_server,
)
from thinghub.integrations.token_vault import TokenVault

ACCOUNT = "000000000000"
CLIENT_ID = "acme-client"
CLIENT_SECRET = "acme-secret"
COMPLETE_URL = "https://customer.example/linked?app=demo"
AUTHORIZATION_TTL = 600
USERS = [f"u{n:02d}" for n in range(1, 61)]
HANDLERS = "tests.integrations.test_oauth_connectors"
# A secret only the local secrets file knows (moto has no secret of that name).
LOCAL_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:local-acme-AbCdEf"
LOCAL_SECRET_VERSION = "a" * 32
CALLBACK_PATH = "/_thinghub/oauth/callback"

FUNCTIONS = {
    "acme-connector": "examples.acme_connector.handler:lambda_handler",
    "raising-connector": f"{HANDLERS}:raising_connector",
    "failing-connector": f"{HANDLERS}:failing_connector",
    "bad-user-connector": f"{HANDLERS}:bad_user_connector",
    "general-connector": f"{HANDLERS}:general_connector",
    "unlink-failing-connector": f"{HANDLERS}:unlink_failing_connector",
    "slow-unlink-connector": f"{HANDLERS}:slow_unlink_connector",
}


def lambda_arn(function: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


class TokenProxy:
    """Forwards every request to Acme and records it (thinghub's token requests); while
    `failing` is set, answers that HTTP status itself instead."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.failing: int | None = None
        self.http = httpx.Client(timeout=10)
        self.stub = StubHttpServer(self._forward)

    def _forward(self, request: RecordedRequest) -> StubResponse:
        if self.failing is not None:
            return StubResponse(self.failing, b"down for maintenance")
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        answer = self.http.request(
            request.method, self.target + request.path, headers=headers, content=request.body
        )
        keep = {"content-type": answer.headers.get("content-type", "application/json")}
        return StubResponse(answer.status_code, answer.content, keep)

    @property
    def url(self) -> str:
        return self.stub.url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.stub.requests


@dataclass
class OAuthHub:
    server: RunningServer
    acme: AcmeCloud
    moto: MotoServer
    proxy: TokenProxy
    record_file: Path
    mi: Any
    other: Any  # a client of another account
    sm: Any
    browser: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    _users: Iterator[str] = field(default_factory=lambda: iter(USERS))

    # ----- peers ---------------------------------------------------------------------------------

    def user(self) -> str:
        """An Acme user no other test of the module uses."""
        return next(self._users)

    def advance(self, seconds: float) -> None:
        """Move thinghub's manual clock; the background pass runs before this returns."""
        answer = httpx.post(
            f"{self.server.url}/_thinghub/clock", json={"advanceSeconds": seconds}, timeout=60
        )
        assert answer.status_code == 200, answer.text

    def secret(
        self,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        text: str | None = None,
    ) -> dict[str, str]:
        """A Secrets Manager secret holding client credentials: ``{"arn", "versionId"}``."""
        created = self.sm.create_secret(
            Name=f"acme-{uuid.uuid4().hex[:10]}",
            SecretString=text
            if text is not None
            else json.dumps({"clientId": client_id, "clientSecret": client_secret}),
        )
        return {"arn": created["ARN"], "versionId": created["VersionId"]}

    def records(self) -> list[dict[str, Any]]:
        if not self.record_file.exists():
            return []
        return [json.loads(line) for line in self.record_file.read_text().splitlines()]

    # ----- resources ---------------------------------------------------------------------------

    def connector(self, function: str = "acme-connector") -> str:
        created = self.mi.create_cloud_connector(
            Name=f"{function}-{uuid.uuid4().hex[:8]}",
            EndpointConfig={"lambda": {"arn": lambda_arn(function)}},
        )
        return str(created["Id"])

    def destination(
        self,
        *,
        function: str = "acme-connector",
        scheme: str = "HTTP_BASIC",
        secret: dict[str, str] | None = None,
        complete_url: str | None = COMPLETE_URL,
        token_url: str | None = None,
        **oauth: Any,
    ) -> str:
        config: dict[str, Any] = {
            "authUrl": f"{self.acme.url}/oauth/authorize",
            "tokenUrl": token_url or f"{self.acme.url}/oauth/token",
            "tokenEndpointAuthenticationScheme": scheme,
            "scope": "devices:read devices:write",
            **oauth,
        }
        if complete_url is not None:
            config["oAuthCompleteRedirectUrl"] = complete_url
        created = self.mi.create_connector_destination(
            Name=f"acme-{uuid.uuid4().hex[:8]}",
            CloudConnectorId=self.connector(function),
            AuthType="OAUTH",
            AuthConfig={"oAuth": config},
            SecretsManager=secret or self.secret(),
        )
        return str(created["Id"])

    def associate(self, destination_id: str, **extra: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.mi.create_account_association(
            ConnectorDestinationId=destination_id, **extra
        )
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
        return created

    def state(self, association_id: str) -> dict[str, Any]:
        got: dict[str, Any] = self.mi.get_account_association(AccountAssociationId=association_id)
        return got

    def wait_state(self, association_id: str, *states: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.state(association_id)
            if got["AssociationState"] in states or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    # ----- the end user's browser ----------------------------------------------------------------

    def browse(
        self, url: str, method: str = "GET", data: dict[str, str] | None = None
    ) -> httpx.Response:
        """Follow redirects among Acme, the proxy and thinghub; stop at anything else (the
        customer's completion page) and return that redirect."""
        ours = (self.acme.url, self.server.url, self.proxy.url)
        response = self.browser.request(method, url, data=data)
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = str(response.url.join(response.headers["location"]))
            if not location.startswith(ours):
                return response
            response = self.browser.get(location)
        raise AssertionError("too many redirects")

    def approve(self, authorization_url: str, user: str) -> httpx.Response:
        """The end user signs in as `user` and approves (Acme's ``auto_approve``)."""
        return self.browse(f"{authorization_url}&auto_approve=1&user={user}")

    def deny(self, authorization_url: str, user: str) -> httpx.Response:
        """The end user opens the consent page and presses Deny."""
        page = self.browse(authorization_url)
        assert page.status_code == 200 and "Deny" in page.text, page.text
        form = {**query_of(authorization_url), "user": user, "decision": "deny"}
        return self.browse(f"{self.acme.url}/oauth/authorize", "POST", form)

    def link(self, **destination: Any) -> tuple[str, str, httpx.Response]:
        """A destination and an association on it, linked by a fresh user:
        (association id, user, the browser's last response)."""
        user = self.user()
        created = self.associate(self.destination(**destination))
        final = self.approve(created["OAuthAuthorizationUrl"], user)
        return created["AccountAssociationId"], user, final

    # ----- thinghub's database -----------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def stored(self, association_id: str) -> dict[str, Any]:
        """The association's attrs as stored."""
        with sqlite3.connect(f"file:{self.data_dir / 'thinghub.db'}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT attrs FROM resources WHERE kind = 'account-association' AND id = ?",
                (association_id,),
            ).fetchone()
        assert row is not None, association_id
        attrs: dict[str, Any] = json.loads(row[0])
        return attrs

    def tokens(self, association_id: str) -> tuple[str, str]:
        """The association's (access, refresh) token, opened with the data dir's key file."""
        vault = TokenVault(key_text=None, key_file=self.data_dir / "token.key")
        sealed = self.stored(association_id)["Tokens"]
        where = f"{ACCOUNT}/{REGION}/{association_id}"
        return (
            vault.open(sealed["AccessToken"], f"{where}/AccessToken"),
            vault.open(sealed["RefreshToken"], f"{where}/RefreshToken"),
        )


def config_text(secrets_file: Path) -> str:
    functions = "\n".join(f'"{name}" = "{handler}"' for name, handler in FUNCTIONS.items())
    return f"""{TEST_CONFIG}
[connectors]
timeout_seconds = 10.0
retries = 1
backoff_seconds = 0.01
backoff_max_seconds = 0.05

[functions]
{functions}

[oauth]
authorization_ttl_seconds = {AUTHORIZATION_TTL}

[secrets]
file = "{secrets_file}"
"""


def oauth_hub_fixture(*acme_args: str) -> Any:
    """A module-scoped fixture; assign it: ``hub = oauth_hub_fixture()``. `acme_args` are
    extra options of the Acme cloud (token lifetimes, rotation)."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthHub]:
        tmp = tmp_path_factory.mktemp("oauth")
        seed = tmp / "seed.json"
        seed.write_text(json.dumps({"users": [{"id": user} for user in USERS]}))
        secrets_file = tmp / "secrets.toml"
        secrets_file.write_text(
            f'"local-acme" = {{ client_id = "{CLIENT_ID}", client_secret = "{CLIENT_SECRET}" }}\n'
        )
        config = tmp / "thinghub.toml"
        config.write_text(config_text(secrets_file))
        record_file = tmp / "connector-events.jsonl"
        with contextlib.ExitStack() as stack:
            moto = start_moto_server()
            stack.callback(moto.stop)
            acme = start_acme_cloud("--seed-file", str(seed), *acme_args, log=tmp / "acme.log")
            stack.callback(acme.stop)
            proxy = TokenProxy(acme.url)
            stack.enter_context(proxy.stub)
            with pytest.MonkeyPatch.context() as env:
                aws_environment(env, None, secretsmanager=moto.url)
                env.setenv("ACME_CLOUD_URL", acme.url)
                env.setenv("OAUTH_TEST_RECORD", str(record_file))
                env.delenv("ACME_EVENT_MODE", raising=False)
                env.delenv("ACME_WEBHOOK_URL", raising=False)
                server = start_server(tmp / "data", "--clock", "manual", "--config", str(config))
            stack.callback(server.stop)
            sm = boto3.client(
                "secretsmanager",
                endpoint_url=moto.url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            hub = OAuthHub(
                server,
                acme,
                moto,
                proxy,
                record_file,
                make_client(server, "iot-managed-integrations"),
                make_client(
                    server,
                    "iot-managed-integrations",
                    access_key=OTHER_ACCESS_KEY,
                    secret_key=OTHER_SECRET_KEY,
                ),
                sm,
            )
            stack.callback(hub.browser.close)
            yield hub

    return fixture
