"""ConnectorInvoker: call a connector (a Lambda function ARN) the way spec 4.1 says.

Each attempt has `timeout_seconds` (2 s); a failure to get an answer (function error,
invocation error, timeout) is retried `retries` (5) times after ``backoff_seconds * 2**n``
(capped at `backoff_max_seconds`). An answer is final: a non-2xx ``header.responseCode`` or a
malformed envelope raises at once. Functions in the ``[functions]`` table run as local
handlers in worker processes (`pool`); all others through Lambda's Invoke API (`remote`).

Everything waits asynchronously: a connector may call SendConnectorEvent on this very
thinghub while thinghub awaits its answer (during AWS.DiscoverDevices, say).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

from thinghub.config import Settings
from thinghub.connectors.environment import handler_environment
from thinghub.connectors.functions import FunctionRef, LocalFunction, parse_function
from thinghub.connectors.pool import WorkerPool
from thinghub.connectors.remote import LambdaInvoker
from thinghub.connectors.responses import (
    AttemptFailed,
    ConnectorError,
    ConnectorResponse,
    read_response,
)
from thinghub.connectors.settings import ConnectorSettings, connector_settings
from thinghub.events.actions.settings import aws_settings
from thinghub.identities import Identity

log = logging.getLogger("thinghub.connectors")


# Lambda runs an asynchronous (Event) invocation up to three times when the function fails.
ASYNC_ATTEMPTS = 3


class ConnectorInvoker:
    def __init__(
        self,
        settings: Settings,
        *,
        api_endpoint: Callable[[], str],
        credentials_for: Callable[[str], Identity | None],
    ) -> None:
        """`api_endpoint()`: thinghub's own URL, asked each time a local worker starts.
        `credentials_for(account_id)`: the identity a local handler of that account gets.
        """
        self.settings: ConnectorSettings = connector_settings(settings)
        self._aws = aws_settings(settings)
        self._api_endpoint = api_endpoint
        self._credentials_for = credentials_for
        self._pool = WorkerPool(self.settings, self._environment)
        self._remote = LambdaInvoker(self._aws, self.settings.timeout_seconds)
        self._closed = False

    async def invoke(
        self, lambda_arn: str, event: dict[str, Any], *, account_id: str, region: str
    ) -> ConnectorResponse:
        """The connector's successful answer to `event`; ConnectorError otherwise."""
        if self._closed:
            raise ConnectorError("invocation_error", "the connector invoker is closed", attempts=0)
        try:
            ref = parse_function(lambda_arn)
        except ValueError as exc:
            raise ConnectorError("invocation_error", str(exc), attempts=0) from None
        handler = self.settings.functions.find(ref)
        local = LocalFunction(handler, ref, account_id, region) if handler else None
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                result = await self._attempt(lambda_arn, ref, local, event, region)
            except AttemptFailed as failure:
                if not failure.retry or attempt == attempts:
                    raise ConnectorError(failure.kind, failure.message, attempts=attempt) from None
                pause = self.settings.backoff(attempt - 1)
                log.warning(
                    "connector %s, attempt %d of %d: %s (%s); retrying in %.2f s",
                    lambda_arn,
                    attempt,
                    attempts,
                    failure.message,
                    failure.kind,
                    pause,
                )
                await asyncio.sleep(pause)
                continue
            return read_response(result, attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def is_local(self, lambda_arn: str) -> bool:
        """Whether `[functions]` maps the ARN to a local handler."""
        try:
            ref = parse_function(lambda_arn)
        except ValueError:
            return False
        return self.settings.functions.find(ref) is not None

    async def invoke_event(
        self, lambda_arn: str, event: Any, *, account_id: str, region: str
    ) -> None:
        """An asynchronous invocation (Lambda's InvocationType Event) of a local handler: the
        caller is not told the function's result. As Lambda does for Event invocations, a
        failing function is tried twice more; then the failure is logged and the event dropped.
        """
        ref = parse_function(lambda_arn)
        handler = self.settings.functions.find(ref)
        if handler is None:
            raise ValueError(f"{lambda_arn} is not a local function")
        local = LocalFunction(handler, ref, account_id, region)
        for attempt in range(1, ASYNC_ATTEMPTS + 1):
            try:
                await self._pool.invoke(local, event, str(uuid.uuid4()))
                return
            except AttemptFailed as failure:
                log.warning(
                    "%s (event invocation), attempt %d of %d: %s (%s)",
                    lambda_arn,
                    attempt,
                    ASYNC_ATTEMPTS,
                    failure.message,
                    failure.kind,
                )
                if attempt < ASYNC_ATTEMPTS:
                    await asyncio.sleep(self.settings.backoff(attempt - 1))
        log.error("%s: event dropped after %d failed attempts", lambda_arn, ASYNC_ATTEMPTS)

    async def _attempt(
        self,
        lambda_arn: str,
        ref: FunctionRef,
        local: LocalFunction | None,
        event: dict[str, Any],
        region: str,
    ) -> Any:
        if local is not None:
            return await self._pool.invoke(local, event, str(uuid.uuid4()))
        # A function ARN names its region; otherwise [aws] region, else the connector's.
        where = ref.region or self._aws.region or region
        return await self._remote.invoke(lambda_arn, where, event)

    def _environment(self, function: LocalFunction) -> dict[str, str]:
        return handler_environment(
            os.environ,
            function,
            endpoint=self._api_endpoint(),
            identity=self._credentials_for(function.account_id),
        )

    @property
    def pool(self) -> WorkerPool:
        """The local handler workers (for health reporting and tests)."""
        return self._pool

    async def close(self) -> None:
        self._closed = True
        await self._pool.close()
        self._remote.close()
