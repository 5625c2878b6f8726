"""Reading an action's evaluated fields: presence, and the conversions the sinks need."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.errors import permanent
from thinghub.events.expressions.values import render_value


def given(delivery: ActionDelivery, name: str) -> bool:
    value = delivery.fields.get(name)
    return value is not None and value != ""


def required(delivery: ActionDelivery, name: str) -> Any:
    """A field that must be set; its absence is the item's fault (permanent)."""
    if not given(delivery, name):
        raise permanent(f"{delivery.type}: {name} is required")
    return delivery.fields[name]


def required_text(delivery: ActionDelivery, name: str) -> str:
    return as_text(required(delivery, name))


def optional_text(delivery: ActionDelivery, name: str, default: str) -> str:
    return as_text(delivery.fields[name]) if given(delivery, name) else default


def as_text(value: Any) -> str:
    """A value as an expression renders it: numbers in decimal form, true/false, strings raw."""
    return render_value(value)


def as_bool(delivery: ActionDelivery, name: str, default: bool) -> bool:
    """A boolean member; literal JSON booleans, or the strings 'TRUE'/'FALSE' (any case)."""
    if not given(delivery, name):
        return default
    value = delivery.fields[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    raise permanent(f"{delivery.type}: {name} must be TRUE or FALSE, not {value!r}")


def as_number(delivery: ActionDelivery, name: str, value: Any) -> Decimal:
    """A numeric value (int, Decimal, float or numeric text) as an exact Decimal."""
    if isinstance(value, bool):
        raise permanent(f"{delivery.type}: {name} must be a number, not a Boolean")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as the same float
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise permanent(f"{delivery.type}: {name} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise permanent(f"{delivery.type}: {name} must be a finite number, not {value!r}")
    return number


def as_integer(delivery: ActionDelivery, name: str, value: Any) -> int:
    number = as_number(delivery, name, value)
    if number != number.to_integral_value():
        raise permanent(f"{delivery.type}: {name} must be a whole number, not {value!r}")
    return int(number)
