"""Compiled detector models, by account: compiled once per version, looked up per message.

Routing (which models read an input) is cached for a second at most, so a model created or
updated on another node sharing the database is picked up promptly; local changes invalidate
at once. A version is compiled only once (see `compiled_versions`).
"""

from __future__ import annotations

import time

from thinghub.events.control.catalog import (
    DetectorModelVersion,
    active_detector_model,
    detector_models_for_input,
    input_definition,
)
from thinghub.events.runtime.compiled_versions import CompiledVersions
from thinghub.events.runtime.evaluation import Evaluator
from thinghub.events.runtime.model import compile_model
from thinghub.events.runtime.projection import Projection, projection
from thinghub.store import ResourceStore, Scope

ROUTING_TTL_SECONDS = 1.0


class ModelCache:
    def __init__(self, store: ResourceStore, min_timer_seconds: int = 60) -> None:
        self._store = store
        self._min_timer_seconds = min_timer_seconds
        self._routes: dict[tuple[Scope, str], tuple[float, tuple[Evaluator, ...]]] = {}
        self._active: dict[tuple[Scope, str], tuple[float, Evaluator | None]] = {}
        self._compiled: CompiledVersions[DetectorModelVersion, Evaluator] = CompiledVersions()
        self._projections: dict[tuple[Scope, str], tuple[float, Projection]] = {}

    def invalidate(self, scope: Scope, name: str) -> None:
        """Forget routing and active versions after a local control-plane change, and the
        compiled versions of the model `name` that changed."""
        self._routes.clear()
        self._active.clear()
        self._projections.clear()
        self._compiled.forget(scope, name)

    def _compile(self, version: DetectorModelVersion) -> Evaluator:
        model = compile_model(
            version.name,
            version.version,
            version.key,
            version.evaluation_method,
            version.definition,
        )
        return Evaluator(model, self._min_timer_seconds)

    def projection(self, scope: Scope, input_name: str) -> Projection:
        """What models may read of a message on this input (its declared attributes)."""
        now = time.monotonic()
        cached = self._projections.get((scope, input_name))
        if cached is not None and now - cached[0] < ROUTING_TTL_SECONDS:
            return cached[1]
        definition = input_definition(self._store, scope, input_name) or {}
        paths = [attribute["jsonPath"] for attribute in definition.get("attributes", ())]
        project = projection(paths)
        self._projections[(scope, input_name)] = (now, project)
        return project

    def for_input(self, scope: Scope, input_name: str) -> tuple[Evaluator, ...]:
        """The active models that read this input."""
        now = time.monotonic()
        cached = self._routes.get((scope, input_name))
        if cached is not None and now - cached[0] < ROUTING_TTL_SECONDS:
            return cached[1]
        names = detector_models_for_input(self._store, scope, input_name)
        evaluators = tuple(e for e in (self.active(scope, name) for name in names) if e is not None)
        self._routes[(scope, input_name)] = (now, evaluators)
        return evaluators

    def active(self, scope: Scope, name: str) -> Evaluator | None:
        """The evaluator of the model's active version, or None when there is no such model."""
        now = time.monotonic()
        cached = self._active.get((scope, name))
        if cached is not None and now - cached[0] < ROUTING_TTL_SECONDS:
            return cached[1]
        version = active_detector_model(self._store, scope, name)
        evaluator: Evaluator | None = None
        if version is not None:
            evaluator = self._compiled.get(scope, version, self._compile)
        self._active[(scope, name)] = (now, evaluator)
        return evaluator
