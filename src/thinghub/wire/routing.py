"""URI templates to operations: a segment trie matched on the raw (still encoded) path.

botocore percent-encodes labels (an ARN arrives as `arn%3Aaws%3A...%2F...`), so the path is
split on literal `/` before any decoding; each label value is decoded on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

from thinghub.wire.errors import RouteNotFound

T = TypeVar("T")


@dataclass
class _Node(Generic[T]):
    literals: dict[str, _Node[T]] = field(default_factory=dict)
    label: tuple[str, _Node[T]] | None = None
    greedy: tuple[str, dict[str, T]] | None = None  # {Name+}: the rest of the path
    methods: dict[str, T] = field(default_factory=dict)


class Router(Generic[T]):
    """Maps (method, raw path) to a target and its decoded path labels."""

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()

    def add(self, method: str, uri_template: str, target: T) -> None:
        path = uri_template.split("?", 1)[0]
        node = self._root
        segments = path.split("/")[1:]
        for index, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if index != len(segments) - 1:
                    raise ValueError(f"greedy label must be last in {uri_template}")
                name = segment[1:-2]
                if node.greedy is None:
                    node.greedy = (name, {})
                node.greedy[1][method] = target
                return
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if node.label is None:
                    node.label = (name, _Node())
                elif node.label[0] != name:
                    raise ValueError(
                        f"conflicting labels {node.label[0]} and {name} in {uri_template}"
                    )
                node = node.label[1]
            else:
                node = node.literals.setdefault(segment, _Node())
        if method in node.methods:
            raise ValueError(f"duplicate route {method} {uri_template}")
        node.methods[method] = target

    def match(self, method: str, raw_path: str) -> tuple[T, dict[str, str]]:
        """The target for this request, or RouteNotFound (404 unknown path, 405 wrong method)."""
        segments = raw_path.split("/")[1:] if raw_path.startswith("/") else raw_path.split("/")
        labels: dict[str, str] = {}
        other_methods: list[str] = []
        target = self._walk(self._root, segments, 0, method, labels, other_methods)
        if target is not None:
            return target, labels
        if other_methods:
            allowed = tuple(sorted(set(other_methods)))
            raise RouteNotFound(
                f"Method {method} is not allowed on {raw_path}; allowed: {', '.join(allowed)}",
                405,
                allowed,
            )
        raise RouteNotFound(f"No operation matches the path {raw_path}", 404)

    def _walk(
        self,
        node: _Node[T],
        segments: list[str],
        index: int,
        method: str,
        labels: dict[str, str],
        other_methods: list[str],
    ) -> T | None:
        """Depth-first, literals before labels; a path whose method differs is remembered."""
        if index == len(segments):
            target = node.methods.get(method)
            if target is None:
                other_methods.extend(node.methods)
            return target
        segment = segments[index]
        child = node.literals.get(segment)
        if child is not None:
            found = self._walk(child, segments, index + 1, method, labels, other_methods)
            if found is not None:
                return found
        if node.label is not None:
            # An empty label still routes, so validation can name the missing member.
            name, child = node.label
            found = self._walk(child, segments, index + 1, method, labels, other_methods)
            if found is not None:
                labels[name] = unquote(segment)
                return found
        if node.greedy is not None and segment:
            name, methods = node.greedy
            target = methods.get(method)
            if target is None:
                other_methods.extend(methods)
                return None
            labels[name] = unquote("/".join(segments[index:]))
            return target
        return None
