"""The running hub: settings, clock, storage, the compiled APIs and their handlers."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from thinghub.api import Handlers
from thinghub.clock import Clock, make_clock
from thinghub.config import Settings
from thinghub.identities import IdentityRegistry
from thinghub.registry import register_all, start_all
from thinghub.store import ResourceStore, create_engine, default_database_url, migrate
from thinghub.store.checkpoints import WalCheckpointer
from thinghub.store.engine import is_sqlite_file
from thinghub.wire.models import load_service_models
from thinghub.wire.protocol import CompiledService

log = logging.getLogger("thinghub")

# A background worker: a coroutine that runs until cancelled (timers, deliveries, ...).
Worker = Callable[["Hub"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A plain HTTP request to one of thinghub's own pages (not an AWS API call)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class Hub:
    """Everything a request may need, built once at start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock: Clock = make_clock(settings.clock)
        self.identities = IdentityRegistry(settings.identities)
        # Compile the three models before serving: routing tables, validators, serializers.
        self.services: dict[str, CompiledService] = {
            signing_name: CompiledService(model)
            for signing_name, model in load_service_models().items()
        }
        self.handlers = Handlers()
        register_all(self.handlers)
        self.database_url = settings.database or default_database_url(settings.data_dir)
        self._engine: Engine | None = None
        self._store: ResourceStore | None = None
        self._checkpointer: WalCheckpointer | None = None
        self.components: dict[str, Any] = {}  # per-service runtime state, made by start_all
        self._workers: list[tuple[str, Worker]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.routes: dict[tuple[str, str], HttpHandler] = {}
        # Where thinghub is reached: set by `serve` once bound (local handlers call it back),
        # and the public URL browsers use (OAuth callbacks), which may differ behind a proxy.
        self.endpoint_url = f"http://{settings.host}:{settings.port}"

    @property
    def public_url(self) -> str:
        return (self.settings.public_url or self.endpoint_url).rstrip("/")

    def add_route(self, method: str, path: str, handler: HttpHandler) -> None:
        """Serve `handler` at `path` (under /_thinghub/), without AWS authentication."""
        if not path.startswith("/_thinghub/"):
            raise ValueError(f"thinghub's own pages live under /_thinghub/, not {path}")
        self.routes[(method, path)] = handler

    def add_async_closer(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Await `closer()` at shutdown, after the workers stopped."""
        self._closers.append(closer)

    def add_worker(self, name: str, worker: Worker) -> None:
        """Run `worker(hub)` in the background while thinghub serves."""
        self._workers.append((name, worker))

    async def start_workers(self) -> None:
        for name, worker in self._workers:
            self._tasks.append(asyncio.create_task(self._supervise(name, worker), name=name))

    async def stop_workers(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:
                log.exception("closing a component failed")
        self._closers.clear()

    async def _supervise(self, name: str, worker: Worker) -> None:
        """Keep a worker running: a crash is logged and the worker restarted after a pause."""
        while True:
            try:
                await worker(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background worker %s failed; restarting in 1 s", name)
                await asyncio.sleep(1.0)

    @property
    def store(self) -> ResourceStore:
        if self._store is None:
            raise RuntimeError("the hub is not started")
        return self._store

    def start(self) -> None:
        """Open the database and bring its schema up to date (once; later calls do nothing)."""
        if self._engine is not None:
            return
        self._engine = create_engine(self.database_url)
        migrate(self._engine)
        self._store = ResourceStore(self._engine)
        start_all(self)
        if is_sqlite_file(self._engine):
            self._checkpointer = WalCheckpointer(self._engine)
            self._checkpointer.start()
        log.info("storage ready at %s", _redact(self.database_url))

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the hub is not started")
        return self._engine

    def stop(self) -> None:
        """Close the database; every answered request was already committed."""
        try:
            for component in reversed(list(self.components.values())):
                close = getattr(component, "close", None)
                if close is not None and not inspect.iscoroutinefunction(close):
                    close()  # async closers were awaited by stop_workers
            self.components.clear()
            if self._store is not None:
                self._store.close()
        finally:
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
                self._store = None


def _redact(url: str) -> str:
    """A database URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{rest.split('@', 1)[1]}"
    return url
