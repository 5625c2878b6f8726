"""dynamoDB and dynamoDBv2: the item writes of the two DynamoDB actions.

dynamoDB puts the whole payload in one attribute (`payloadField`, default "payload"): a JSON
payload as its document (an object becomes a map), anything else — a STRING payload, or JSON
text that does not parse — as binary UTF-8 in `<payloadField>_raw` (API reference:
"writes non-JSON data ... as binary data"). The key attributes are typed S or N by
hashKeyType/rangeKeyType ('STRING' default, or 'NUMBER'). operation 'INSERT' (default) is
PutItem, 'UPDATE' is UpdateItem setting only the payload attribute, 'DELETE' is DeleteItem.

dynamoDBv2 puts every top-level field of the JSON payload in its own attribute (PutItem); the
payload must be a JSON object.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from thinghub.events.actions.aws import AwsCall
from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.errors import permanent
from thinghub.events.actions.fields import (
    as_number,
    as_text,
    given,
    optional_text,
    required,
    required_text,
)
from thinghub.events.actions.payloads import NotJson, payload_document, payload_text

_KEY_TYPES = {"STRING": "S", "NUMBER": "N"}
_OPERATIONS = ("INSERT", "UPDATE", "DELETE")
_serializer = TypeSerializer()


def dynamodb_call(delivery: ActionDelivery) -> AwsCall:
    table = required_text(delivery, "tableName")
    key = {_key_field(delivery, "hashKey"): _key_value(delivery, "hashKey")}
    if given(delivery, "rangeKeyField") or given(delivery, "rangeKeyValue"):
        key[_key_field(delivery, "rangeKey")] = _key_value(delivery, "rangeKey")
    operation = optional_text(delivery, "operation", "INSERT")
    if operation not in _OPERATIONS:
        raise permanent(f"dynamoDB: operation must be INSERT, UPDATE or DELETE, not {operation!r}")
    if operation == "DELETE":
        return AwsCall("dynamodb", "delete_item", {"TableName": table, "Key": key})
    name, value = _payload_attribute(delivery)
    if operation == "INSERT":
        return AwsCall("dynamodb", "put_item", {"TableName": table, "Item": {**key, name: value}})
    params = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": "SET #payload = :payload",
        "ExpressionAttributeNames": {"#payload": name},
        "ExpressionAttributeValues": {":payload": value},
    }
    return AwsCall("dynamodb", "update_item", params)


def dynamodb_v2_call(delivery: ActionDelivery) -> AwsCall:
    table = required_text(delivery, "tableName")
    try:
        document = payload_document(delivery)
    except NotJson as exc:
        raise permanent(f"dynamoDBv2: {exc}; the payload must be a JSON object") from None
    if not isinstance(document, dict) or not document:
        raise permanent("dynamoDBv2: the payload must be a non-empty JSON object")
    item = {str(name): attribute_value(value) for name, value in document.items()}
    return AwsCall("dynamodb", "put_item", {"TableName": table, "Item": item})


def attribute_value(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB AttributeValue (objects as M, arrays as L, numbers as N)."""
    try:
        return _serializer.serialize(_exact(value))
    except (TypeError, ValueError) as exc:
        raise permanent(f"DynamoDB cannot store {value!r}: {exc}") from None


def _exact(value: Any) -> Any:
    # TypeSerializer refuses floats (they would be inexact); their shortest text is exact.
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(key): _exact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    return value


def _key_field(delivery: ActionDelivery, prefix: str) -> str:
    return required_text(delivery, f"{prefix}Field")


def _key_value(delivery: ActionDelivery, prefix: str) -> dict[str, str]:
    kind = optional_text(delivery, f"{prefix}Type", "STRING")
    if kind not in _KEY_TYPES:
        raise permanent(f"dynamoDB: {prefix}Type must be STRING or NUMBER, not {kind!r}")
    name = f"{prefix}Value"
    value = required(delivery, name)
    if kind == "NUMBER":
        as_number(delivery, name, value)  # validates; DynamoDB takes the number as text
        text = value.strip() if isinstance(value, str) else as_text(value)
        return {"N": text}
    return {"S": as_text(value)}


def _payload_attribute(delivery: ActionDelivery) -> tuple[str, dict[str, Any]]:
    field = optional_text(delivery, "payloadField", "payload")
    try:
        return field, attribute_value(payload_document(delivery))
    except NotJson:
        return f"{field}_raw", {"B": payload_text(delivery).encode("utf-8")}
