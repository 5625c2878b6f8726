"""Validation at CreateDetectorModel / UpdateDetectorModel (spec §9.3).

AWS runs its analyzer when a model is published and refuses the model on any ERROR-level
result; thinghub does the same with its own analyzer, naming the field of each problem.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from thinghub.events.control.analyzer import ERROR, analyze
from thinghub.events.control.errors import invalid_request
from thinghub.events.control.kinds import DETECTOR_MODEL, INPUT
from thinghub.events.control.quotas import Quotas
from thinghub.events.control.routing import routed_resources
from thinghub.store import ResourceStore, Scope


class StoreResources:
    """The analyzer's view of the caller's inputs and routes, read from the store."""

    def __init__(self, store: ResourceStore, scope: Scope, conn: Connection | None = None) -> None:
        self._store = store
        self._scope = scope
        self._conn = conn

    def input_attributes(self, name: str) -> tuple[str, ...] | None:
        """The declared attribute paths of input `name`, or None if there is no such input."""
        resource = self._store.get(self._scope, INPUT, name, conn=self._conn)
        if resource is None:
            return None
        return tuple(a["jsonPath"] for a in resource.attrs["inputDefinition"]["attributes"])

    def routes(self, name: str) -> list[str]:
        """Names of the detector models the input `name` already feeds."""
        return [
            str(r.name)
            for r in routed_resources(self._store, self._scope, name, self._conn)
            if r.kind == DETECTOR_MODEL
        ]


def validate_definition(
    definition: dict[str, Any], resources: StoreResources, quotas: Quotas
) -> frozenset[str]:
    """The input names the definition routes; InvalidRequestException if it has any ERROR."""
    analysis = analyze(definition, resources, quotas)
    errors = [finding for finding in analysis.findings if finding.level == ERROR]
    if errors:
        raise invalid_request("; ".join(finding.problem() for finding in errors))
    return analysis.inputs
