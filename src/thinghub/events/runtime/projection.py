"""What of a message a detector model may read: only the input's declared attributes.

Spec 2.2: only attributes declared in the input definition are available to expressions; a
declared object path brings everything below it. Anything else reads as undefined. (The model
`key` is read from the raw message, so it need not be declared.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from thinghub.events.runtime.model import key_path

Projection = Callable[[Any], Any]


def _identity(payload: Any) -> Any:
    return payload


def projection(json_paths: Iterable[str] | None) -> Projection:
    """A function keeping only the declared paths of a payload (all of it when none declared)."""
    paths = [p for p in (key_path(text) for text in json_paths or ()) if p]
    if not paths:
        return _identity
    # A path that lies below another declared path adds nothing.
    paths.sort(key=len)
    kept: list[tuple[str, ...]] = []
    for path in paths:
        if not any(path[: len(prefix)] == prefix for prefix in kept):
            kept.append(path)

    def project(payload: Any) -> Any:
        if not isinstance(payload, dict):
            return {}
        out: dict[str, Any] = {}
        for path in kept:
            node: Any = payload
            for segment in path:
                if not isinstance(node, dict) or segment not in node:
                    break
                node = node[segment]
            else:
                target = out
                for segment in path[:-1]:
                    target = target.setdefault(segment, {})
                target[path[-1]] = node
        return out

    return project
