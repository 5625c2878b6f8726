"""The managed integrations service (`iot-managed-integrations`): one module per resource family."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from thinghub.api import Handlers
from thinghub.integrations import (
    account_associations,
    cloud_connectors,
    connector_destinations,
    connector_events,
    device_discoveries,
    device_events,
    managed_things,
    matter,
    notification_configurations,
    notification_destinations,
    notifications,
    tags,
    thing_commands,
    thing_state,
)

if TYPE_CHECKING:
    from thinghub.hub import Hub
    from thinghub.identities import Identity


def register(handlers: Handlers) -> None:
    for family in (
        cloud_connectors,
        connector_destinations,
        account_associations,
        device_discoveries,
        managed_things,
        connector_events,
        notification_destinations,
        notification_configurations,
        thing_state,
        thing_commands,
        tags,
    ):
        family.register(handlers)


def start(hub: Hub) -> None:
    """Build what the service needs at run time: the connector invoker."""
    from thinghub.connectors.invoker import ConnectorInvoker

    def credentials_for(account_id: str) -> Identity | None:
        return next((i for i in hub.identities if i.account_id == account_id), None)

    invoker = ConnectorInvoker(
        hub.settings, api_endpoint=lambda: hub.endpoint_url, credentials_for=credentials_for
    )
    hub.components["connectors"] = invoker
    hub.add_async_closer(invoker.close)
    # Off the event loop: the first request that names a capability should not wait for it
    # (milliseconds from the disk cache, seconds the first time on a machine).
    threading.Thread(target=matter.load, name="matter-catalogue", daemon=True).start()
    notifications.start(hub)
    thing_state.start(hub)
    thing_commands.start(hub)
    device_events.start(hub)
    account_associations.start(hub)
    device_discoveries.start(hub)
