"""Compiled model versions (detector models, alarm models), kept by version and creation time.

A model deleted and created again starts at version "1" again, so the version alone cannot tell
the new model from the old one, whose compiled form another node may still hold: the version's
creation time does. A local change also forgets the model's compiled versions at once, for a
model re-created within one tick of the clock (the manual clock never ticks by itself).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from thinghub.store import Scope

MAX_COMPILED = 4096


class Version(Protocol):
    """A stored model version (detector model, alarm model), as far as the cache needs it."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def created_at(self) -> float: ...


V = TypeVar("V", bound=Version)
T = TypeVar("T")


class CompiledVersions(Generic[V, T]):
    """Compiled versions by (scope, name, version, created_at); the least recently used go
    first beyond `limit`."""

    def __init__(self, limit: int = MAX_COMPILED) -> None:
        self._limit = limit
        self._compiled: OrderedDict[tuple[Scope, str, str, float], T] = OrderedDict()

    def get(self, scope: Scope, version: V, compile: Callable[[V], T]) -> T:
        """`version` compiled, by `compile` the first time."""
        key = (scope, version.name, version.version, version.created_at)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = compile(version)
            if len(self._compiled) > self._limit:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key)
        return compiled

    def forget(self, scope: Scope, name: str) -> None:
        """Drop every compiled version of model `name` (it changed here)."""
        for key in [k for k in self._compiled if k[0] == scope and k[1] == name]:
            del self._compiled[key]
