"""Delivery of the external actions of detector models (spec 7.2) to their real sinks.

The runtime stores each external action as an `ActionDelivery` in the outbox; a delivery
worker hands it to `ActionSinks.deliver`, which raises `DeliveryError` with `retryable` set
when the item should be tried again. `payload_text` is the exact text an action sends.
"""

from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.errors import DeliveryError
from thinghub.events.actions.payloads import payload_text
from thinghub.events.actions.sinks import ActionSinks

__all__ = ["ActionDelivery", "ActionSinks", "DeliveryError", "payload_text"]
