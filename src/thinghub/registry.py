"""Every service registers its handlers here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thinghub import events, integrations
from thinghub.api import Handlers

if TYPE_CHECKING:
    from thinghub.hub import Hub


def register_all(handlers: Handlers) -> None:
    """Register the handler of every implemented operation; the rest answer NotImplemented."""
    integrations.register(handlers)
    events.register(handlers)


def start_all(hub: Hub) -> None:
    """Give each service its runtime state (engines, caches, workers) once storage is ready."""
    from thinghub.deliveries import Deliveries

    hub.components["deliveries"] = Deliveries.start(hub)
    integrations.start(hub)
    events.start(hub)
