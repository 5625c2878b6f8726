"""What the runtime stores for one external action, and its JSON form in the outbox.

The outbox keeps JSON text, and a JSON number read back by a stock parser is a float: `30.0`
would come back as `30.0` (float) and `50.018` as `50.01799999…`. So every `Decimal` travels as
``{"$decimal": "<exact text>"}``. A mapping whose only key is ``$decimal`` or ``$literal`` (which
the runtime never produces, but a payload could in theory hold) is wrapped as
``{"$literal": {...}}`` so that decoding is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_DECIMAL = "$decimal"
_LITERAL = "$literal"
_MARKERS = frozenset({_DECIMAL, _LITERAL})


@dataclass(frozen=True)
class ActionDelivery:
    """One external action, every expression already evaluated."""

    type: str  # sns | sqs | lambda | firehose | dynamoDB | dynamoDBv2 | iotSiteWise | ...
    fields: dict[str, Any]  # the action's members (SiteWise nested ones flattened "value.x")
    payload: Any  # str (custom payload) or dict (the default payload)
    payload_type: str  # "JSON" | "STRING"
    event_time_ms: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActionDelivery:
        """The delivery from its `to_json` form (Decimals restored exactly)."""
        return cls(
            type=str(data["type"]),
            fields=_decode(data.get("fields") or {}),
            payload=_decode(data.get("payload")),
            payload_type=str(data.get("payload_type", "JSON")),
            event_time_ms=int(data["event_time_ms"]),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (plain str/int/float/bool/None/list/dict) for the outbox."""
        return {
            "type": self.type,
            "fields": _encode(self.fields),
            "payload": _encode(self.payload),
            "payload_type": self.payload_type,
            "event_time_ms": self.event_time_ms,
        }


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {_DECIMAL: str(value)}
    if isinstance(value, dict):
        encoded = {str(key): _encode(item) for key, item in value.items()}
        if len(encoded) == 1 and next(iter(encoded)) in _MARKERS:
            return {_LITERAL: encoded}
        return encoded
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, item),) = value.items()
            if key == _DECIMAL:
                return Decimal(item)
            if key == _LITERAL:
                return {inner: _decode(v) for inner, v in item.items()}
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value
