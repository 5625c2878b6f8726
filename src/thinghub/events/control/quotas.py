"""IoT Events quotas (spec §10): AWS's values by default, each one settable in the config file.

```toml
[iotevents.quotas]
states_per_detector_model = 40
inputs_per_account = 50       # unset: no limit
```
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from thinghub.config import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class Quotas:
    # Checked in every detector model definition (AWS's analyzer reports them as errors).
    states_per_detector_model: int = 20
    events_per_state: int = 20
    transition_events_per_state: int = 20
    actions_per_event: int = 10
    variables_per_detector_model: int = 50
    definition_bytes: int = 512 * 1024
    content_expression_bytes: int = 1024
    min_timer_seconds: int = 60
    # Resource counts.
    detector_models_per_input: int = 10
    versions_per_detector_model: int = 500
    versions_per_alarm_model: int = 500
    tags_per_resource: int = 50
    # Adjustable per-account counts: a self-hosted hub has no capacity reason to cap them, so
    # they are off unless configured (AWS's defaults were 50 each).
    inputs_per_account: int | None = None
    detector_models_per_account: int | None = None
    alarm_models_per_account: int | None = None
    # How long analysis results stay retrievable.
    analysis_retention_seconds: int = 24 * 3600


DEFAULT_QUOTAS = Quotas()
_NAMES = {f.name for f in fields(Quotas)}
_by_settings: dict[int, tuple[Settings, Quotas]] = {}


def quotas_of(settings: Settings) -> Quotas:
    """The quotas configured in `[iotevents.quotas]`, parsed once per settings object."""
    cached = _by_settings.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    section = settings.raw.get("iotevents", {})
    values = dict(section.get("quotas", {}))
    # The detector runtime reads `[iotevents] min_timer_seconds`: the same setting for both.
    if "min_timer_seconds" in section:
        values.setdefault("min_timer_seconds", section["min_timer_seconds"])
    quotas = _parse(values)
    _by_settings[id(settings)] = (settings, quotas)
    return quotas


def _parse(section: dict[str, Any]) -> Quotas:
    unknown = set(section) - _NAMES
    if unknown:
        raise ConfigError(f"unknown keys in [iotevents.quotas]: {', '.join(sorted(unknown))}")
    for key, value in section.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"[iotevents.quotas] {key} must be a positive integer")
    return Quotas(**section)
