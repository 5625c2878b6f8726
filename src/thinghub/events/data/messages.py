"""BatchPutMessage: a 200 means every accepted message's evaluation is committed."""

from __future__ import annotations

from typing import Any

from thinghub.api import Params, RequestContext, Result
from thinghub.events.control.catalog import input_exists
from thinghub.events.data.runtime import error_entry, invalid, runtime_of
from thinghub.events.runtime import codec
from thinghub.events.runtime.engine import Message

DEFAULT_MAX_MESSAGES = 10  # per call, as AWS; `[iotevents] max_batch_messages` raises it


async def batch_put_message(ctx: RequestContext, params: Params) -> Result:
    entries: list[dict[str, Any]] = params["messages"]
    settings = ctx.hub.settings.raw.get("iotevents", {})
    limit = int(settings.get("max_batch_messages", DEFAULT_MAX_MESSAGES))
    if len(entries) > limit:
        raise invalid(
            f"A BatchPutMessage request takes at most {limit} messages, got {len(entries)}"
        )
    seen: set[str] = set()
    for entry in entries:
        if entry["messageId"] in seen:
            raise invalid(
                f"messageId {entry['messageId']} appears twice in the request; "
                "message ids must be unique within a batch"
            )
        seen.add(entry["messageId"])
    max_bytes = settings.get("max_message_bytes")
    now_ms = int(ctx.now * 1000)
    errors: list[dict[str, str]] = []
    accepted: list[Message] = []
    known_inputs: dict[str, bool] = {}
    for entry in entries:
        message_id, input_name, raw = entry["messageId"], entry["inputName"], entry["payload"]
        exists = known_inputs.get(input_name)
        if exists is None:
            exists = known_inputs[input_name] = input_exists(ctx.hub.store, ctx.scope, input_name)
        if not exists:
            errors.append(
                error_entry(
                    message_id, "ResourceNotFoundException", f"Input {input_name} does not exist"
                )
            )
            continue
        if max_bytes is not None and len(raw) > int(max_bytes):
            errors.append(
                error_entry(
                    message_id, "InvalidRequestException", f"The payload exceeds {max_bytes} bytes"
                )
            )
            continue
        try:
            payload = codec.loads(raw)
        except ValueError:
            errors.append(
                error_entry(message_id, "InvalidRequestException", "The payload is not valid JSON")
            )
            continue
        event_time = (entry.get("timestamp") or {}).get("timeInMillis") or now_ms
        accepted.append(Message(message_id, input_name, payload, int(event_time)))
    if accepted:
        await runtime_of(ctx).put_messages(ctx.scope, accepted)
    return {"BatchPutMessageErrorEntries": errors}
