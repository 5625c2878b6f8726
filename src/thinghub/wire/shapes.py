"""Compile botocore shapes, once, into request converters/validators and response serializers.

A converter takes the decoded JSON (or a query/path/header string already turned into the
right type), checks every constraint of the shape and returns the value handlers see:
timestamps as float epoch seconds, blobs as bytes, unknown structure members dropped.
Problems are collected AWS-style ("Value 'x' at 'a.b' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from thinghub.wire.patterns import compile_pattern

Problems = list[str]
Converter = Callable[[Any, str, Problems], Any]
Serializer = Callable[[Any], Any]

_MAX_VALUE_REPR = 60


def describe_value(value: Any, sensitive: bool = False) -> str:
    """How AWS quotes an offending value in a validation message."""
    if sensitive:
        return "Value"
    if value is None:
        return "Value null"
    text = f"'{value}'" if isinstance(value, str) else repr(value)
    if len(text) > _MAX_VALUE_REPR:
        text = text[: _MAX_VALUE_REPR - 4] + "...'"
    return f"Value {text}"


def problem(value: Any, path: str, constraint: str, sensitive: bool = False) -> str:
    return (
        f"{describe_value(value, sensitive)} at '{path}' failed to satisfy constraint: "
        f"Member must {constraint}"
    )


def child_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def parse_timestamp(value: Any) -> float:
    """Epoch seconds from a JSON number, an ISO 8601 string or an RFC 1123 date."""
    if isinstance(value, bool):
        raise ValueError("boolean is not a timestamp")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = parsedate_to_datetime(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    raise ValueError("not a timestamp")


def epoch_seconds(value: Any) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    return float(value)


def http_date(value: Any) -> str:
    return format_datetime(dt.datetime.fromtimestamp(epoch_seconds(value), dt.UTC), usegmt=True)


class ShapeCompiler:
    """Compiles shapes of one service model, memoised by shape name (shapes may recurse)."""

    def __init__(self) -> None:
        self._converters: dict[str, Converter] = {}
        self._serializers: dict[str, Serializer | None] = {}

    # ----- requests -------------------------------------------------------------------------

    def converter(self, shape: Shape) -> Converter:
        name = shape.name
        if name in self._converters:
            return self._converters[name]
        # Forward reference for recursive shapes: filled in once compiled.
        cell: list[Converter] = []
        self._converters[name] = lambda v, p, e: cell[0](v, p, e)
        compiled = self._compile_converter(shape)
        cell.append(compiled)
        self._converters[name] = compiled
        return compiled

    def _compile_converter(self, shape: Shape) -> Converter:
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            if shape.is_document_type:
                return _document
            return self._structure(shape)
        if kind == "list":
            assert isinstance(shape, ListShape)
            return self._list(shape)
        if kind == "map":
            assert isinstance(shape, MapShape)
            return self._map(shape)
        if kind == "string":
            return _string(shape)
        if kind in ("integer", "long"):
            return _number(shape, integral=True)
        if kind in ("float", "double"):
            return _number(shape, integral=False)
        if kind == "boolean":
            return _boolean(shape)
        if kind == "timestamp":
            return _timestamp(shape)
        if kind == "blob":
            return _blob(shape)
        raise NotImplementedError(f"shape type {kind} of {shape.name}")

    def _structure(self, shape: StructureShape) -> Converter:
        members = {
            name: (self.converter(ref), bool(ref.metadata.get("sensitive")))
            for name, ref in shape.members.items()
        }
        required = tuple(shape.required_members)
        union = shape.is_tagged_union

        def convert(value: Any, path: str, problems: Problems) -> Any:
            if not isinstance(value, dict):
                problems.append(problem(value, path or "body", "be a structure (JSON object)"))
                return None
            out: dict[str, Any] = {}
            for key, item in value.items():
                entry = members.get(key)
                if entry is None or item is None:
                    continue  # unknown members are ignored, as AWS does; null means absent
                out[key] = entry[0](item, child_path(path, key), problems)
            for key in required:
                if key not in out:
                    problems.append(problem(None, child_path(path, key), "not be null"))
            if union and len(out) != 1:
                problems.append(
                    f"Value at '{path or 'body'}' failed to satisfy constraint: "
                    f"Member must have exactly one member set, found {len(out)}"
                )
            return out

        return convert

    def _list(self, shape: ListShape) -> Converter:
        item = self.converter(shape.member)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def convert(value: Any, path: str, problems: Problems) -> Any:
            if not isinstance(value, list):
                problems.append(problem(value, path, "be a list (JSON array)"))
                return None
            _check_length(value, len(value), low, high, path, problems, False)
            return [item(v, f"{path}.{i}.member", problems) for i, v in enumerate(value, 1)]

        return convert

    def _map(self, shape: MapShape) -> Converter:
        key_conv = self.converter(shape.key)
        value_conv = self.converter(shape.value)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def convert(value: Any, path: str, problems: Problems) -> Any:
            if not isinstance(value, dict):
                problems.append(problem(value, path, "be a map (JSON object)"))
                return None
            _check_length(value, len(value), low, high, path, problems, False)
            return {
                key_conv(k, f"{path}.key", problems): value_conv(v, f"{path}.{k}", problems)
                for k, v in value.items()
            }

        return convert

    # ----- responses ------------------------------------------------------------------------

    def serializer(self, shape: Shape) -> Serializer | None:
        """A function making `value` JSON-ready, or None when it already is (no conversion)."""
        name = shape.name
        if name in self._serializers:
            return self._serializers[name]
        self._serializers[name] = None  # recursion guard: a recursive subtree is passed through
        compiled = self._compile_serializer(shape)
        self._serializers[name] = compiled
        return compiled

    def _compile_serializer(self, shape: Shape) -> Serializer | None:
        kind = shape.type_name
        if kind == "timestamp":
            return epoch_seconds
        if kind == "blob":
            return lambda v: base64.b64encode(v).decode("ascii")
        if kind == "list":
            assert isinstance(shape, ListShape)
            item = self.serializer(shape.member)
            if item is None:
                return None
            return lambda v: [item(x) for x in v]
        if kind == "map":
            assert isinstance(shape, MapShape)
            value = self.serializer(shape.value)
            if value is None:
                return None
            return lambda v: {k: value(x) for k, x in v.items()}
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            if shape.is_document_type:
                return None
            return self.structure_serializer(shape, force=False)
        return None

    def structure_serializer(self, shape: StructureShape, *, force: bool) -> Serializer | None:
        """Serialize the body members of a structure.

        With `force`, keys that are not members are dropped even when no member needs
        conversion (used for operation outputs so internal fields never leak).
        """
        fields: list[tuple[str, str, Serializer | None]] = []
        needs = False
        for name, ref in shape.members.items():
            if ref.serialization.get("location"):
                continue  # header / status code members are not in the body
            wire = ref.serialization.get("name", name)
            ser = self.serializer(ref)
            needs = needs or ser is not None or wire != name
            fields.append((name, wire, ser))
        if not needs and not force:
            return None
        plan = tuple(fields)

        def serialize(value: Any) -> Any:
            out: dict[str, Any] = {}
            for name, wire, ser in plan:
                item = value.get(name)
                if item is not None:
                    out[wire] = ser(item) if ser is not None else item
            return out

        return serialize


def _check_length(
    value: Any,
    size: int,
    low: int | None,
    high: int | None,
    path: str,
    problems: Problems,
    sensitive: bool,
) -> None:
    if low is not None and size < low:
        problems.append(
            problem(value, path, f"have length greater than or equal to {low}", sensitive)
        )
    if high is not None and size > high:
        problems.append(
            problem(value, path, f"have length less than or equal to {high}", sensitive)
        )


def _document(value: Any, path: str, problems: Problems) -> Any:
    return value


def _string(shape: Shape) -> Converter:
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    enum = tuple(shape.enum) if getattr(shape, "enum", None) else ()
    enum_set = frozenset(enum)
    enum_text = "[" + ", ".join(enum) + "]"
    pattern_text = meta.get("pattern")
    search = compile_pattern(pattern_text) if pattern_text else None
    sensitive = bool(meta.get("sensitive"))

    def convert(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, str):
            problems.append(problem(value, path, "be a string", sensitive))
            return None
        if low is not None or high is not None:
            _check_length(value, len(value), low, high, path, problems, sensitive)
        if enum_set and value not in enum_set:
            problems.append(problem(value, path, f"satisfy enum value set: {enum_text}", sensitive))
        if search is not None and not search(value):
            problems.append(
                problem(
                    value, path, f"satisfy regular expression pattern: {pattern_text}", sensitive
                )
            )
        return value

    return convert


def _number(shape: Shape, *, integral: bool) -> Converter:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    kind = "an integer" if integral else "a number"

    def convert(value: Any, path: str, problems: Problems) -> Any:
        ok = isinstance(value, int) if integral else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            problems.append(problem(value, path, f"be {kind}"))
            return None
        if low is not None and value < low:
            problems.append(problem(value, path, f"have value greater than or equal to {low}"))
        if high is not None and value > high:
            problems.append(problem(value, path, f"have value less than or equal to {high}"))
        return value

    return convert


def _boolean(shape: Shape) -> Converter:
    def convert(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, bool):
            problems.append(problem(value, path, "be a boolean"))
            return None
        return value

    return convert


def _timestamp(shape: Shape) -> Converter:
    def convert(value: Any, path: str, problems: Problems) -> Any:
        try:
            return parse_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            problems.append(problem(value, path, "be a timestamp (epoch seconds or ISO 8601)"))
            return None

    return convert


def _blob(shape: Shape) -> Converter:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    sensitive = bool(shape.metadata.get("sensitive"))

    def convert(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, str):
            problems.append(problem(value, path, "be a base64-encoded string", sensitive))
            return None
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            problems.append(problem(value, path, "be a base64-encoded string", sensitive))
            return None
        _check_length(value, len(data), low, high, path, problems, sensitive)
        return data

    return convert
