"""Valid request values generated from the service models, for model-wide tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from thinghub.wire.patterns import compile_pattern

# Tried in order against a string shape's pattern and length limits; the first fit wins.
CANDIDATES = (
    "a1",
    "abc",
    "abc123",
    "Abc",
    "1",
    "12",
    "0x0006",
    "matter.OnOff@1.4",
    "aws.OnOff@1.4",
    "1.0",
    "1.0.0",
    "abcdefghij123456=",
    "abcdefghijklmnop=_1",
    "arn:aws:iotmanagedintegrations:us-east-1:000000000000:managed-thing/abc123",
    "arn:aws:iotevents:us-east-1:000000000000:input/abc",
    "arn:aws:iam::000000000000:role/thinghub",
    "arn:aws:lambda:us-east-1:000000000000:function:connector",
    "arn:aws:kinesis:us-east-1:000000000000:stream/abc",
    "arn:aws:secretsmanager:us-east-1:000000000000:secret:abcdefgh",
    "arn:aws:iotmanagedintegrations:us-east-1:000000000000:account-association/abc123def456",
    "arn:aws:iotmanagedintegrations:us-east-1:000000000000:credential-locker/abc123",
    "arn:aws:iotmanagedintegrations:us-east-1:000000000000:device-discovery/abc123",
    "arn:aws:iotmanagedintegrations:us-east-1:000000000000:ota-task/abc123",
    "arn:aws:iotmanagedintegrations:a:0:provisioning-profile/a1",
    "arn:aws:kms:us-east-1:000000000000:key/abc-123",
    "managed-thing",
    "https://example.com/path",
    "example.com",
    "user@example.com",
    "a b",
    "ABC",
    "A1B2C3D4E5F6",
    "aa:bb:cc:dd:ee:ff",
    "1234",
    "127.0.0.1",
    "$.a",
    "2020-01-01T00:00:00Z",
    "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----",
)


def fitting_string(shape: Shape) -> str:
    meta = shape.metadata
    if getattr(shape, "enum", None):
        return str(shape.enum[0])
    low, high = meta.get("min", 0), meta.get("max", 10_000)
    pattern = meta.get("pattern")
    search = compile_pattern(pattern) if pattern else None
    for base in CANDIDATES:
        for candidate in (base, base + "a" * max(0, low - len(base)), base * max(1, low)):
            if low <= len(candidate) <= high and (search is None or search(candidate)):
                return candidate
    raise LookupError(f"no candidate fits {shape.name}: pattern {pattern!r}, length {low}-{high}")


def valid_value(shape: Shape, depth: int = 0) -> Any:
    """A value satisfying every constraint of `shape` (required members only)."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if shape.is_document_type:
            return {}
        if shape.is_tagged_union:
            name, ref = next(iter(shape.members.items()))
            return {name: valid_value(ref, depth + 1)}
        return {
            name: valid_value(shape.members[name], depth + 1) for name in shape.required_members
        }
    if kind == "list":
        assert isinstance(shape, ListShape)
        return [
            valid_value(shape.member, depth + 1)
            for _ in range(max(1, shape.metadata.get("min", 1)))
        ]
    if kind == "map":
        assert isinstance(shape, MapShape)
        return {fitting_string(shape.key): valid_value(shape.value, depth + 1)}
    if kind == "string":
        return fitting_string(shape)
    if kind in ("integer", "long", "float", "double"):
        low, high = shape.metadata.get("min", 1), shape.metadata.get("max", 10**9)
        return min(max(low, 1), high)
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if kind == "blob":
        return b"{}"
    raise NotImplementedError(kind)
