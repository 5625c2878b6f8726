"""iotSiteWise: BatchPutAssetPropertyValue with one entry holding one property value.

The value's type is whichever of value.integerValue/doubleValue/stringValue/booleanValue is
set; booleanValue is 'TRUE'/'FALSE' in the action and a JSON boolean on the wire. The
timestamp defaults to the event time, quality to GOOD, entryId to a new UUID.
"""

from __future__ import annotations

import uuid
from typing import Any

from thinghub.events.actions.aws import AwsCall
from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.errors import DeliveryError, is_retryable_code, permanent
from thinghub.events.actions.fields import (
    as_bool,
    as_integer,
    as_number,
    given,
    optional_text,
    required,
    required_text,
)

_NANOS = 1_000_000_000
_VARIANTS = ("value.integerValue", "value.doubleValue", "value.stringValue", "value.booleanValue")


def sitewise_call(delivery: ActionDelivery) -> AwsCall:
    entry: dict[str, Any] = {"entryId": optional_text(delivery, "entryId", str(uuid.uuid4()))}
    if given(delivery, "propertyAlias"):
        entry["propertyAlias"] = required_text(delivery, "propertyAlias")
    if given(delivery, "assetId") or given(delivery, "propertyId"):
        entry["assetId"] = required_text(delivery, "assetId")
        entry["propertyId"] = required_text(delivery, "propertyId")
    if "propertyAlias" not in entry and "assetId" not in entry:
        raise permanent("iotSiteWise: give assetId and propertyId, or propertyAlias")
    entry["propertyValues"] = [
        {
            "value": _variant(delivery),
            "timestamp": _timestamp(delivery),
            "quality": optional_text(delivery, "quality", "GOOD"),
        }
    ]
    return AwsCall("iotsitewise", "batch_put_asset_property_value", {"entries": [entry]}, _check)


def _variant(delivery: ActionDelivery) -> dict[str, Any]:
    members = [name for name in _VARIANTS if given(delivery, name)]
    if len(members) != 1:
        raise permanent("iotSiteWise: set exactly one of " + ", ".join(_VARIANTS))
    (name,) = members
    value = delivery.fields[name]
    member = name.removeprefix("value.")
    if member == "integerValue":
        return {member: as_integer(delivery, name, value)}
    if member == "doubleValue":
        return {member: float(as_number(delivery, name, value))}
    if member == "booleanValue":
        return {member: as_bool(delivery, name, False)}
    return {member: required_text(delivery, name)}


def _timestamp(delivery: ActionDelivery) -> dict[str, int]:
    if not given(delivery, "timestamp.timeInSeconds"):
        seconds, millis = divmod(delivery.event_time_ms, 1000)
        return {"timeInSeconds": seconds, "offsetInNanos": millis * 1_000_000}
    name = "timestamp.timeInSeconds"
    exact = as_number(delivery, name, required(delivery, name))
    seconds = int(exact)  # whole seconds; a fraction becomes the offset unless one is given
    if given(delivery, "timestamp.offsetInNanos"):
        offset = as_integer(
            delivery, "timestamp.offsetInNanos", delivery.fields["timestamp.offsetInNanos"]
        )
    else:
        offset = int((exact - seconds) * _NANOS)
    return {"timeInSeconds": seconds, "offsetInNanos": offset}


def _check(response: dict[str, Any]) -> None:
    """SiteWise answers 200 and lists per-entry failures; those fail the delivery."""
    for entry in response.get("errorEntries") or ():
        errors = entry.get("errors") or []
        codes = [str(error.get("errorCode", "")) for error in errors]
        messages = "; ".join(f"{e.get('errorCode')}: {e.get('errorMessage')}" for e in errors)
        raise DeliveryError(
            f"iotsitewise batch_put_asset_property_value: entry {entry.get('entryId')}: {messages}",
            retryable=any(is_retryable_code(code) for code in codes),
        )
