"""Numbers of seconds from sections of the config file (``[integrations]``, ``[deliveries]``)."""

from __future__ import annotations

from thinghub.config import ConfigError, Settings


def seconds_setting(
    settings: Settings,
    key: str,
    default: float,
    *,
    section: str = "integrations",
    at_least: float | None = None,
) -> float:
    """A number of seconds from ``[section]`` (> 0, or >= `at_least`); ConfigError if not."""
    table = settings.raw.get(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{section}] must be a table")
    value = table.get(key, default)
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not number or (value <= 0 if at_least is None else value < at_least):
        bound = "> 0" if at_least is None else f">= {at_least:g}"
        raise ConfigError(f"[{section}] {key} must be a number of seconds {bound}, not {value!r}")
    return float(value)
