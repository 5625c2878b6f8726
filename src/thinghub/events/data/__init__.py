"""The `iotevents-data` API: messages in, detectors and alarms out."""

from __future__ import annotations

from thinghub.api import Handlers
from thinghub.events.data import alarms, detectors, messages

SERVICE = "iotevents-data"


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("BatchPutMessage", messages.batch_put_message),
        ("DescribeDetector", detectors.describe_detector),
        ("ListDetectors", detectors.list_detectors),
        ("BatchUpdateDetector", detectors.batch_update_detector),
        ("BatchDeleteDetector", detectors.batch_delete_detector),
        *alarms.HANDLERS,
    ):
        handlers.register(SERVICE, operation)(handler)
