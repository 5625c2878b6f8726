"""Check request parameters against every constraint of a botocore input shape.

botocore's own client-side validation checks types, required members and minimums, but not
patterns, maximums or enums; a server built from the model (thinghub, AWS) checks them all.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape


def violations(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every way `params` breaks the operation's input shape; empty when they fit."""
    model = botocore.session.get_session().get_service_model(service)
    found: list[str] = []
    _check(model.operation_model(operation).input_shape, params, operation, found)
    return found


def _check(shape: Shape, value: Any, path: str, found: list[str]) -> None:
    meta = shape.metadata
    if meta.get("document"):
        return
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            found.append(f"{path}: not a structure")
            return
        for name in shape.required_members:
            if name not in value:
                found.append(f"{path}.{name}: required")
        for name, member in value.items():
            if name not in shape.members:
                found.append(f"{path}.{name}: unknown member")
            else:
                _check(shape.members[name], member, f"{path}.{name}", found)
        return
    if isinstance(shape, ListShape):
        _length(meta, value, path, found)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", found)
        return
    if isinstance(shape, MapShape):
        _length(meta, value, path, found)
        for key, item in value.items():
            _check(shape.key, key, f"{path} key {key!r}", found)
            _check(shape.value, item, f"{path}[{key!r}]", found)
        return
    if shape.type_name == "string":
        if not isinstance(value, str):
            found.append(f"{path}: {value!r} is not a string")
            return
        _length(meta, value, path, found)
        if "enum" in meta and value not in meta["enum"]:
            found.append(f"{path}: {value!r} not in {meta['enum']}")
        # Smithy patterns are ECMA-262 and unanchored: a search, not a full match.
        if "pattern" in meta and not regex.search(meta["pattern"], value):
            found.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            found.append(f"{path}: {value!r} is not an integer")
        elif not meta.get("min", value) <= value <= meta.get("max", value):
            found.append(f"{path}: {value} outside {meta.get('min')}..{meta.get('max')}")


def _length(meta: dict[str, Any], value: Any, path: str, found: list[str]) -> None:
    if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
        found.append(f"{path}: length {len(value)} outside {meta.get('min')}..{meta.get('max')}")
