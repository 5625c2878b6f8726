"""The ``[integrations]`` section of the config file."""

from __future__ import annotations

from thinghub.config import ConfigError, Settings


def seconds_setting(settings: Settings, key: str, default: float) -> float:
    """A positive number of seconds from ``[integrations]``; ConfigError if it is not one."""
    section = settings.raw.get("integrations", {})
    if not isinstance(section, dict):
        raise ConfigError("[integrations] must be a table")
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"[integrations] {key} must be a number of seconds > 0, not {value!r}")
    return float(value)
