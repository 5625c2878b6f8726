"""Running a ConnectorInvoker in a test: real worker processes, a fresh event loop per test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from thinghub.config import Settings
from thinghub.connectors.envelope import DISCOVER_DEVICES, envelope
from thinghub.connectors.invoker import ConnectorInvoker
from thinghub.identities import Identity

T = TypeVar("T")

ACCOUNT = "123456789012"
REGION = "us-east-1"
IDENTITY = Identity("connector-key", "connector-secret", ACCOUNT)
ENDPOINT = "http://thinghub.invalid:8780"
HANDLERS = "tests.connectors.handlers"

# Fast enough for tests, still far longer than any well-behaved test handler needs.
FAST = {"timeout_seconds": 1.0, "backoff_seconds": 0.01, "backoff_max_seconds": 0.05}


def config(functions: dict[str, str], **connectors: Any) -> dict[str, Any]:
    return {"connectors": {**FAST, **connectors}, "functions": functions}


def run(
    raw: dict[str, Any],
    body: Callable[[ConnectorInvoker], Awaitable[T]],
    *,
    endpoint: str = ENDPOINT,
    identities: tuple[Identity, ...] = (IDENTITY,),
) -> T:
    """`body(invoker)` on a new event loop; the invoker is closed afterwards."""
    by_account = {identity.account_id: identity for identity in identities}

    async def main() -> T:
        invoker = ConnectorInvoker(
            Settings(raw=raw), api_endpoint=lambda: endpoint, credentials_for=by_account.get
        )
        try:
            return await body(invoker)
        finally:
            await invoker.close()

    return asyncio.run(main())


def event(counter: Path | None = None, **payload: Any) -> dict[str, Any]:
    """A DiscoverDevices request; `counter` is where counting handlers record attempts."""
    extra = {"deviceDiscoveryId": "d1", **payload}
    if counter is not None:
        extra["counter"] = str(counter)
    return envelope(DISCOVER_DEVICES, "c1", "token-1", extra)


def attempts(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0
