"""What the detector runtime needs from the control plane: plain functions, no HTTP.

Every lookup is an indexed probe of the store (a primary-key get, or the `routes` index of the
scope's detector models), cheap enough for the message path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from thinghub.events.control.kinds import (
    DETECTOR_MODEL,
    DETECTOR_MODEL_VERSION,
    INPUT,
    ROUTES,
    version_id,
)
from thinghub.store import Resource, ResourceStore, Scope

__all__ = [
    "DetectorModelVersion",
    "ModelChangeListener",
    "active_detector_model",
    "detector_model_version",
    "detector_models_for_input",
    "input_definition",
    "input_exists",
    "routed_model_names",
    "subscribe",
    "unsubscribe",
]


@dataclass(frozen=True, slots=True)
class DetectorModelVersion:
    """One version of a detector model, as stored at create/update time."""

    name: str
    version: str  # "1", "2", ...
    arn: str
    key: str | None
    evaluation_method: str  # "BATCH" | "SERIAL"
    role_arn: str
    definition: dict[str, Any]  # the detectorModelDefinition exactly as given
    created_at: float  # epoch seconds: when this version was created
    updated_at: float  # epoch seconds: its last status change


def version_of(resource: Resource) -> DetectorModelVersion:
    """The runtime's view of a stored `DETECTOR_MODEL_VERSION` resource."""
    attrs = resource.attrs
    return DetectorModelVersion(
        name=attrs["detectorModelName"],
        version=attrs["detectorModelVersion"],
        arn=attrs["detectorModelArn"],
        key=attrs.get("key"),
        evaluation_method=attrs["evaluationMethod"],
        role_arn=attrs["roleArn"],
        definition=attrs["detectorModelDefinition"],
        created_at=attrs["creationTime"],
        updated_at=attrs["lastUpdateTime"],
    )


def detector_models_for_input(store: ResourceStore, scope: Scope, input_name: str) -> list[str]:
    """Names of the detector models whose active version routes `input_name`, oldest first.

    An input routes to at most `detector_models_per_input` models (10), so one page holds them.
    """
    return routed_model_names(store, scope, DETECTOR_MODEL, input_name)


def routed_model_names(store: ResourceStore, scope: Scope, kind: str, input_name: str) -> list[str]:
    """Names of the models of `kind` (detector or alarm) whose active version routes
    `input_name`, oldest first."""
    names: list[str] = []
    token = None
    while True:
        page, token = store.list_page(
            scope, kind, max_results=50, next_token=token, filters={ROUTES: input_name}
        )
        names.extend(model.id for model in page)
        if token is None:
            return names


def active_detector_model(
    store: ResourceStore, scope: Scope, name: str
) -> DetectorModelVersion | None:
    """The version of detector model `name` that runs now, or None if there is no such model.

    Activation is synchronous, so the active version is always the latest one.
    """
    model = store.get(scope, DETECTOR_MODEL, name)
    if model is None:
        return None
    return detector_model_version(store, scope, name, model.attrs["latestVersion"])


def detector_model_version(
    store: ResourceStore, scope: Scope, name: str, version: str
) -> DetectorModelVersion | None:
    """A given version of detector model `name` (active or superseded), or None."""
    resource = store.get(scope, DETECTOR_MODEL_VERSION, version_id(name, version))
    return None if resource is None else version_of(resource)


def input_exists(store: ResourceStore, scope: Scope, name: str) -> bool:
    """Whether the input `name` exists in the scope."""
    return store.get(scope, INPUT, name) is not None


def input_definition(store: ResourceStore, scope: Scope, name: str) -> dict[str, Any] | None:
    """The input's `inputDefinition` (`{"attributes": [{"jsonPath": ...}]}`), or None."""
    resource = store.get(scope, INPUT, name)
    return None if resource is None else resource.attrs["inputDefinition"]


# --- change notifications ----------------------------------------------------------------------

ModelChangeListener = Callable[[Connection, Scope, str, DetectorModelVersion | None], None]
"""Called as `listener(conn, scope, model_name, new_active_version_or_None)` inside the
transaction that creates, updates (new version) or deletes (None) a detector model, so the
runtime can drop the detectors of the previous version in the same commit."""

_listeners: list[ModelChangeListener] = []


def subscribe(listener: ModelChangeListener) -> None:
    """Call `listener` on every detector model change (subscribing twice is harmless)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: ModelChangeListener) -> None:
    """Stop calling `listener` (a stopped runtime; unknown listeners are ignored)."""
    if listener in _listeners:
        _listeners.remove(listener)


def notify(conn: Connection, scope: Scope, name: str, version: DetectorModelVersion | None) -> None:
    """Tell every listener that detector model `name` now runs `version` (None: deleted)."""
    for listener in _listeners:
        listener(conn, scope, name, version)
