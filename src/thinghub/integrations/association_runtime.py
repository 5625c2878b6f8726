"""What account linking needs at run time, built once per hub: settings, the token vault,
the secret reader, per-association locks and the background tasks it started."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from thinghub.background import BackgroundTasks
from thinghub.events.actions.settings import aws_settings
from thinghub.integrations.oauth_settings import OAuthSettings, oauth_settings
from thinghub.integrations.secrets import SecretReader
from thinghub.integrations.token_vault import TokenVault
from thinghub.store import Scope

if TYPE_CHECKING:
    from thinghub.connectors.invoker import ConnectorInvoker
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.oauth")

COMPONENT = "account_associations"
CALLBACK_PATH = "/_thinghub/oauth/callback"


class AssociationRuntime:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.settings: OAuthSettings = oauth_settings(hub.settings)
        self.vault = TokenVault(
            key_text=self.settings.token_key,
            key_file=self.settings.token_key_file,
            previous=self.settings.previous_token_keys,
        )
        self.secrets = SecretReader(self.settings.secrets_file, aws_settings(hub.settings))
        # One refresh at a time per association on this node; entries vanish when unused.
        self._locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._tasks = BackgroundTasks()

    @property
    def redirect_uri(self) -> str:
        """thinghub's OAuth callback, as browsers reach it (read per flow: the port of
        ``--port 0`` and the public URL are only known once thinghub listens)."""
        return f"{self.hub.public_url}{CALLBACK_PATH}"

    @property
    def invoker(self) -> ConnectorInvoker:
        invoker: ConnectorInvoker = self.hub.components["connectors"]
        return invoker

    def lock(self, scope: Scope, association_id: str) -> asyncio.Lock:
        key = (scope.account_id, scope.region, association_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` in the background; it is cancelled at shutdown."""
        self._tasks.spawn(work, name)

    async def idle(self) -> None:
        """Wait for the background tasks started so far."""
        await self._tasks.idle()

    async def close(self) -> None:
        await self._tasks.cancel()
        self.secrets.close()


def runtime(hub: Hub) -> AssociationRuntime:
    component: AssociationRuntime = hub.components[COMPONENT]
    return component
