"""What the alarm runtime needs from the control plane: plain functions, no HTTP.

The alarm-model counterpart of `catalog`: indexed lookups of the active version and of the
models an input feeds, and the change notifications that let the runtime drop the alarms of a
superseded or deleted model in the same commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from thinghub.events.control.catalog import routed_model_names
from thinghub.events.control.kinds import ALARM_MODEL, ALARM_MODEL_VERSION, version_id
from thinghub.store import Resource, ResourceStore, Scope

__all__ = [
    "AlarmModelChangeListener",
    "AlarmModelVersion",
    "active_alarm_model",
    "alarm_models_for_input",
    "notify",
    "subscribe",
    "unsubscribe",
    "version_of",
]


@dataclass(frozen=True, slots=True)
class AlarmModelVersion:
    """One version of an alarm model, as stored at create/update time."""

    name: str
    version: str  # "1", "2", ...
    arn: str
    key: str | None
    severity: int | None
    simple_rule: dict[str, Any]  # {inputProperty, comparisonOperator, threshold}
    alarm_actions: list[dict[str, Any]]  # alarmEventActions.alarmActions exactly as given
    disabled_on_initialization: bool
    acknowledge_flow: bool
    created_at: float  # this version's creation time: tells a re-created model's version apart


# Defaults when alarmCapabilities leaves them out: the API reference says alarms start
# DISABLED; the acknowledge flow is on, as the console creates it (docs/iot-events.md).
DEFAULT_DISABLED_ON_INITIALIZATION = True
DEFAULT_ACKNOWLEDGE_FLOW = True


def version_of(resource: Resource) -> AlarmModelVersion:
    """The runtime's view of a stored `ALARM_MODEL_VERSION` resource."""
    attrs = resource.attrs
    capabilities = attrs.get("alarmCapabilities") or {}
    initialization = capabilities.get("initializationConfiguration") or {}
    acknowledge = capabilities.get("acknowledgeFlow") or {}
    return AlarmModelVersion(
        name=attrs["alarmModelName"],
        version=attrs["alarmModelVersion"],
        arn=attrs["alarmModelArn"],
        key=attrs.get("key"),
        severity=attrs.get("severity"),
        simple_rule=attrs["alarmRule"]["simpleRule"],
        alarm_actions=list((attrs.get("alarmEventActions") or {}).get("alarmActions") or []),
        disabled_on_initialization=bool(
            initialization.get("disabledOnInitialization", DEFAULT_DISABLED_ON_INITIALIZATION)
        ),
        acknowledge_flow=bool(acknowledge.get("enabled", DEFAULT_ACKNOWLEDGE_FLOW)),
        created_at=attrs["creationTime"],
    )


def alarm_models_for_input(store: ResourceStore, scope: Scope, input_name: str) -> list[str]:
    """Names of the alarm models whose active version routes `input_name`, oldest first."""
    return routed_model_names(store, scope, ALARM_MODEL, input_name)


def active_alarm_model(store: ResourceStore, scope: Scope, name: str) -> AlarmModelVersion | None:
    """The version of alarm model `name` that runs now (always the latest), or None."""
    model = store.get(scope, ALARM_MODEL, name)
    if model is None:
        return None
    resource = store.get(scope, ALARM_MODEL_VERSION, version_id(name, model.attrs["latestVersion"]))
    return None if resource is None else version_of(resource)


# --- change notifications ----------------------------------------------------------------------

AlarmModelChangeListener = Callable[[Connection, Scope, str, AlarmModelVersion | None], None]
"""Called as `listener(conn, scope, model_name, new_version_or_None)` inside the transaction
that creates, updates or deletes (None) an alarm model."""

_listeners: list[AlarmModelChangeListener] = []


def subscribe(listener: AlarmModelChangeListener) -> None:
    """Call `listener` on every alarm model change (subscribing twice is harmless)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: AlarmModelChangeListener) -> None:
    """Stop calling `listener` (a stopped runtime; unknown listeners are ignored)."""
    if listener in _listeners:
        _listeners.remove(listener)


def notify(conn: Connection, scope: Scope, name: str, version: AlarmModelVersion | None) -> None:
    """Tell every listener that alarm model `name` now runs `version` (None: deleted)."""
    for listener in _listeners:
        listener(conn, scope, name, version)
