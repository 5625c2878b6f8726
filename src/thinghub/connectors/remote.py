"""Connectors that are not local handlers: AWS Lambda's ``Invoke`` API through boto3.

boto3's standard chain decides where calls go and how they are signed (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_LAMBDA``, credentials, ...), with the ``[aws]`` config section on top, so
real Lambda, ``sam local start-lambda`` or any Lambda emulator work unchanged. Calls run on a
thread pool of their own: never on the event loop, never starving other thread users.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from thinghub.connectors.responses import AttemptFailed, function_error_message
from thinghub.events.actions.settings import AwsSettings

# Lambda answers these while a function is being created, updated, throttled or unwell; a
# missing function, a denied call or a malformed request will fail the same way next time.
_RETRYABLE_STATUS = frozenset({408, 409, 429})


class LambdaInvoker:
    def __init__(self, aws: AwsSettings, timeout: float, threads: int = 16) -> None:
        self._aws = aws
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="thinghub-connector")
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are
        self._clients: dict[str, Any] = {}

    async def invoke(self, function_name: str, region: str, event: Any) -> Any:
        """The function's result (decoded JSON); AttemptFailed when there is none.

        `region` is where the function lives: its ARN's region when the name is an ARN.
        """
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._executor, self._invoke, function_name, region, event)
        try:
            # botocore's read timeout normally fires first; this guards against a peer that
            # trickles bytes (each read within the timeout, the whole answer far beyond it).
            return await asyncio.wait_for(call, self._timeout + 0.5)
        except TimeoutError:
            raise AttemptFailed(
                "timeout", f"Lambda {function_name} did not answer in {self._timeout:g} s"
            ) from None

    def _invoke(self, function_name: str, region: str, event: Any) -> Any:
        what = f"Lambda Invoke {function_name}"
        try:
            client = self._client(region)
            response = client.invoke(
                FunctionName=function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(event).encode(),
            )
            body = response["Payload"].read()
        except ReadTimeoutError:
            raise AttemptFailed(
                "timeout", f"{what}: no answer within {self._timeout:g} s"
            ) from None
        except (BotoConnectionError, HTTPClientError) as exc:
            raise AttemptFailed("invocation_error", f"{what}: {exc}") from None
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            retry = status >= 500 or status in _RETRYABLE_STATUS
            raise AttemptFailed("invocation_error", f"{what}: {exc}", retry=retry) from None
        except (BotoCoreError, ValueError) as exc:
            # No credentials, no region, an invalid endpoint URL: the operator's to fix.
            raise AttemptFailed("invocation_error", f"{what}: {exc}", retry=False) from None
        try:
            result = json.loads(body) if body else None
        except ValueError:
            raise AttemptFailed(
                "bad_response", f"{what}: the payload is not JSON", retry=False
            ) from None
        if response.get("FunctionError"):
            raise AttemptFailed("function_error", f"{what}: {function_error_message(result)}")
        return result

    def _client(self, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._clients[region] = self._new_client(region)
        return client

    def _new_client(self, region: str) -> Any:
        aws = self._aws
        session = boto3.session.Session(
            aws_access_key_id=aws.access_key_id,
            aws_secret_access_key=aws.secret_access_key,
            aws_session_token=aws.session_token,
            region_name=region,
        )
        config = botocore.config.Config(
            connect_timeout=self._timeout,
            read_timeout=self._timeout,
            retries={"total_max_attempts": 1},  # the invoker retries, with the spec's backoff
        )
        kwargs = {"endpoint_url": aws.endpoint_url} if aws.endpoint_url else {}
        return session.client("lambda", config=config, **kwargs)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
