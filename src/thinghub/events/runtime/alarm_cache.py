"""Compiled alarm models, by account: compiled once per version, looked up per message.

As for detector models (`models_cache`): routing and active versions are cached for a second
at most, so a change made on another node sharing the database is picked up promptly; local
changes invalidate at once.
"""

from __future__ import annotations

import time

from thinghub.events.control.alarm_catalog import (
    AlarmModelVersion,
    active_alarm_model,
    alarm_models_for_input,
)
from thinghub.events.runtime.alarm_model import CompiledAlarmModel, compile_alarm_model
from thinghub.events.runtime.compiled_versions import CompiledVersions
from thinghub.store import ResourceStore, Scope

ROUTING_TTL_SECONDS = 1.0


class AlarmModelCache:
    def __init__(self, store: ResourceStore) -> None:
        self._store = store
        self._routes: dict[tuple[Scope, str], tuple[float, tuple[CompiledAlarmModel, ...]]] = {}
        self._active: dict[tuple[Scope, str], tuple[float, CompiledAlarmModel | None]] = {}
        self._compiled: CompiledVersions[AlarmModelVersion, CompiledAlarmModel] = CompiledVersions()

    def invalidate(self, scope: Scope, name: str) -> None:
        """Forget routing and active versions after a local control-plane change, and the
        compiled versions of the model `name` that changed (a model deleted and created again
        within one tick of the clock has the same version and creation time)."""
        self._routes.clear()
        self._active.clear()
        self._compiled.forget(scope, name)

    def for_input(self, scope: Scope, input_name: str) -> tuple[CompiledAlarmModel, ...]:
        """The active alarm models that read this input."""
        now = time.monotonic()
        cached = self._routes.get((scope, input_name))
        if cached is not None and now - cached[0] < ROUTING_TTL_SECONDS:
            return cached[1]
        names = alarm_models_for_input(self._store, scope, input_name)
        models = tuple(m for m in (self.active(scope, name) for name in names) if m is not None)
        self._routes[(scope, input_name)] = (now, models)
        return models

    def active(self, scope: Scope, name: str) -> CompiledAlarmModel | None:
        """The compiled active version of alarm model `name`, or None when there is none."""
        now = time.monotonic()
        cached = self._active.get((scope, name))
        if cached is not None and now - cached[0] < ROUTING_TTL_SECONDS:
            return cached[1]
        version = active_alarm_model(self._store, scope, name)
        model: CompiledAlarmModel | None = None
        if version is not None:
            model = self._compiled.get(scope, version, compile_alarm_model)
        self._active[(scope, name)] = (now, model)
        return model
