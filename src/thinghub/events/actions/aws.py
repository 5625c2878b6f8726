"""boto3 clients for the AWS sinks: built lazily, one per service, called off the event loop.

Region, credentials and endpoints come from boto3's standard chain (environment, shared
config files, instance metadata), so ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``
(e.g. ``AWS_ENDPOINT_URL_SNS``, ``AWS_ENDPOINT_URL_IOTSITEWISE``) work as in any AWS SDK.
The ``[aws]`` config section overrides the chain key by key.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.config
from botocore.exceptions import BotoCoreError, ClientError

from thinghub.config import DEFAULT_REGION
from thinghub.events.actions.errors import from_botocore, transient
from thinghub.events.actions.settings import AwsSettings

_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")


# One attempt per call: the outbox retries, with its own backoff, across restarts. A peer that
# does not answer must not hold a delivery (or a shutdown) for botocore's default 60 s.
_CONFIG = botocore.config.Config(
    retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30
)


@dataclass(frozen=True)
class AwsCall:
    """One SDK call: `getattr(client(service), method)(**params)`, then `check(response)`."""

    service: str  # boto3 service name: sns, sqs, lambda, firehose, dynamodb, iotsitewise
    method: str  # boto3 method name, e.g. "send_message"
    params: dict[str, Any]
    check: Callable[[dict[str, Any]], None] | None = None  # raises DeliveryError
    region: str | None = None  # the resource's region when it differs from the session's

    @property
    def what(self) -> str:
        return f"{self.service} {self.method}"


class AwsClients:
    def __init__(self, settings: AwsSettings, executor: ThreadPoolExecutor) -> None:
        self._settings = settings
        self._executor = executor
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are
        self._session: boto3.session.Session | None = None
        self._clients: dict[tuple[str, str | None], Any] = {}

    async def call(self, call: AwsCall) -> dict[str, Any]:
        """Run the call on the sinks' thread pool; failures come back as DeliveryError."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, call)

    def _call(self, call: AwsCall) -> dict[str, Any]:
        try:
            client = self.client(call.service, call.region)
        except (BotoCoreError, ValueError) as exc:
            # No region or an invalid endpoint URL: the operator's to fix; keep the item.
            raise transient(f"{call.what}: cannot set up the client: {exc}") from exc
        try:
            response: dict[str, Any] = getattr(client, call.method)(**call.params)
        except (BotoCoreError, ClientError) as exc:
            raise from_botocore(exc, call.what) from exc
        if call.check is not None:
            call.check(response)
        return response

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = self._new_client(service, region)
        return client

    def _new_client(self, service: str, region: str | None) -> Any:
        session = self._session_locked()
        kwargs: dict[str, Any] = {}
        if region:
            kwargs["region_name"] = region
        if self._settings.endpoint_url:
            kwargs["endpoint_url"] = self._settings.endpoint_url
        client = session.client(service, config=_CONFIG, **kwargs)
        if service == "iotsitewise" and not _is_aws_host(client.meta.endpoint_url):
            # SiteWise data calls prepend "data." to the host; a self-hosted or test endpoint
            # (an IP address, localhost) has no such name.
            client.close()
            config = _CONFIG.merge(botocore.config.Config(inject_host_prefix=False))
            client = session.client(service, config=config, **kwargs)
        return client

    def _session_locked(self) -> boto3.session.Session:
        if self._session is None:
            settings = self._settings
            credentials = {
                "aws_access_key_id": settings.access_key_id,
                "aws_secret_access_key": settings.secret_access_key,
                "aws_session_token": settings.session_token,
            }
            session = boto3.session.Session(region_name=settings.region, **credentials)
            if session.region_name is None:
                # No region anywhere in the chain: thinghub's own default, like the server's.
                session = boto3.session.Session(region_name=DEFAULT_REGION, **credentials)
            self._session = session
        return self._session

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()


def _is_aws_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.endswith(_AWS_DOMAINS)
