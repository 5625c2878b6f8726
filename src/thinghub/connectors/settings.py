"""The ``[connectors]`` and ``[functions]`` config sections.

```toml
[connectors]
workers = 2                  # local handler worker processes (at most this many run at once)
python_path = ["examples"]   # prepended to the workers' sys.path (relative: to the working dir)
timeout_seconds = 2.0        # per attempt (spec 4.1)
retries = 5                  # after the first attempt (spec 4.1: 6 attempts in all)
backoff_seconds = 0.1        # before retry n (0-based): backoff_seconds * 2**n ...
backoff_max_seconds = 1.0    # ... but never longer than this
init_timeout_seconds = 10.0  # starting a worker and importing its handler (not per attempt)

[functions]                  # function name or ARN -> local handler "package.module:function"
"acme-connector" = "acme.connector:handler"
"arn:aws:lambda:us-east-1:123456789012:function:other" = "other.lambda_function.handler"
```

A function with no ``[functions]`` entry is called through AWS Lambda's Invoke API (boto3's
standard chain and the ``[aws]`` section decide where that goes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinghub.config import ConfigError, Settings
from thinghub.connectors.functions import FunctionTable, HandlerSpec, parse_function


@dataclass(frozen=True)
class ConnectorSettings:
    workers: int = 2
    python_path: tuple[str, ...] = ()  # absolute paths
    timeout_seconds: float = 2.0
    retries: int = 5
    backoff_seconds: float = 0.1
    backoff_max_seconds: float = 1.0
    init_timeout_seconds: float = 10.0
    functions: FunctionTable = field(default_factory=lambda: FunctionTable({}))

    def backoff(self, retry: int) -> float:
        """The pause before retry `retry` (0 for the first retry)."""
        return float(min(self.backoff_seconds * 2**retry, self.backoff_max_seconds))


def connector_settings(settings: Settings) -> ConnectorSettings:
    section = _table(settings.raw, "connectors")
    known = {
        "workers",
        "python_path",
        "timeout_seconds",
        "retries",
        "backoff_seconds",
        "backoff_max_seconds",
        "init_timeout_seconds",
    }
    unknown = set(section) - known
    if unknown:
        raise ConfigError(f"unknown keys in [connectors]: {', '.join(sorted(unknown))}")
    defaults = ConnectorSettings()
    return ConnectorSettings(
        workers=_integer(section, "workers", defaults.workers, minimum=1),
        python_path=_paths(section.get("python_path", [])),
        timeout_seconds=_seconds(section, "timeout_seconds", defaults.timeout_seconds, zero=False),
        retries=_integer(section, "retries", defaults.retries, minimum=0),
        backoff_seconds=_seconds(section, "backoff_seconds", defaults.backoff_seconds),
        backoff_max_seconds=_seconds(section, "backoff_max_seconds", defaults.backoff_max_seconds),
        init_timeout_seconds=_seconds(
            section, "init_timeout_seconds", defaults.init_timeout_seconds, zero=False
        ),
        functions=_functions(_table(settings.raw, "functions")),
    )


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    section = raw.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table")
    return section


def _integer(section: dict[str, Any], key: str, default: int, *, minimum: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"[connectors] {key} must be an integer >= {minimum}, not {value!r}")
    return value


def _seconds(section: dict[str, Any], key: str, default: float, *, zero: bool = True) -> float:
    value = section.get(key, default)
    valid = isinstance(value, int | float) and not isinstance(value, bool)
    if not valid or value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigError(f"[connectors] {key} must be a number of seconds {bound}, not {value!r}")
    return float(value)


def _paths(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"[connectors] python_path must be a list of strings, not {value!r}")
    # Resolved now: workers may be started long after, and must not depend on their own cwd.
    return tuple(os.fspath(Path(item).resolve()) for item in value)


def _functions(section: dict[str, Any]) -> FunctionTable:
    entries = {}
    for key, value in section.items():
        if not isinstance(value, str):
            raise ConfigError(f"[functions] {key!r} must be a handler string, not {value!r}")
        try:
            ref, handler = parse_function(key), HandlerSpec.parse(value)
        except ValueError as exc:
            raise ConfigError(f"[functions] {exc}") from None
        if ref in entries:
            raise ConfigError(f"[functions] {key!r} names a function named before")
        entries[ref] = handler
    return FunctionTable(entries)
