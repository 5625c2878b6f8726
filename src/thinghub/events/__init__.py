"""IoT Events: inputs, detector models, the expression language and the detector runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thinghub.api import Handlers
from thinghub.events import control, data

if TYPE_CHECKING:
    from thinghub.hub import Hub


def register(handlers: Handlers) -> None:
    control.register(handlers)
    data.register(handlers)


def start(hub: Hub) -> None:
    """Build the detector runtime once storage is ready."""
    from thinghub.events.runtime.service import EventsRuntime

    hub.components["events"] = EventsRuntime.start(hub, hub.components["deliveries"])
