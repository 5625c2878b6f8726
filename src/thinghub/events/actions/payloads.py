"""The text an action sends, and its JSON document when the payload is JSON."""

from __future__ import annotations

from typing import Any

from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.expressions.values import parse_payload, to_json_literal


def payload_text(delivery: ActionDelivery) -> str:
    """Exactly what the action sends.

    A custom payload (STRING, or JSON text) goes as is; the default payload document is
    compact JSON in its own key order, numbers exact (`30.0` stays `30.0`, never a float).
    """
    if isinstance(delivery.payload, str):
        return delivery.payload
    return to_json_literal(delivery.payload)


class NotJson(ValueError):
    """A payload that is not a JSON document (a STRING payload, or JSON text that doesn't parse)."""


def payload_document(delivery: ActionDelivery) -> Any:
    """The payload as JSON values (fractions as Decimal, whole numbers as int).

    Raises NotJson for a STRING payload and for JSON text that does not parse: IoT Events
    runs the action anyway and only logs a warning (spec 5.7), so the caller decides.
    """
    if delivery.payload_type != "JSON":
        raise NotJson("the payload type is STRING")
    if not isinstance(delivery.payload, str):
        return delivery.payload
    try:
        return parse_payload(delivery.payload)
    except ValueError as exc:
        raise NotJson(f"the payload is not valid JSON: {exc}") from None
