"""External actions as durable outbox items, and their delivery.

An evaluation's actions are written to the outbox in the evaluation's own transaction; the
delivery worker hands them to the sinks and retries with backoff until each is delivered.
`iotEvents` actions are delivered into this engine: the message is evaluated and the outbox item
removed in one transaction, so it is evaluated exactly once.
"""

from __future__ import annotations

from typing import Any

import orjson

from thinghub.events.actions import ActionDelivery, payload_text
from thinghub.events.runtime import codec
from thinghub.events.runtime.evaluation import Dispatch
from thinghub.store import OutboxItemIn, Scope

ACTION_CHANNEL = "iotevents-action"
INPUT_CHANNEL = "iotevents-input"


def outbox_item(
    scope: Scope, model: str, key: str, dispatch: Dispatch, event_time_ms: int
) -> OutboxItemIn:
    """The outbox item of one external action; one partition per detector keeps its order."""
    delivery = ActionDelivery(
        type=dispatch.type,
        fields=dispatch.fields,
        payload=dispatch.payload,
        payload_type=dispatch.payload_type,
        event_time_ms=event_time_ms,
    )
    partition = f"{model}/{key}"
    if dispatch.type == "iotEvents":
        message = {
            "inputName": dispatch.fields["inputName"],
            "messageId": dispatch.action_execution_id,
            "payload": payload_text(delivery),
            "eventTimeMs": event_time_ms,
        }
        return OutboxItemIn(scope, INPUT_CHANNEL, codec.dumps(message), partition)
    return OutboxItemIn(scope, ACTION_CHANNEL, codec.dumps(delivery.to_json()), partition)


def action_of(payload: str) -> ActionDelivery:
    data: Any = codec.loads(payload)
    return ActionDelivery.from_json(data)


def input_message_of(payload: str) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(payload)
    return document
