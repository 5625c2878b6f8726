"""Settings: defaults, then the TOML config file, then command-line flags."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from thinghub.identities import DEFAULT_IDENTITY, Identity
from thinghub.throttling import ThrottlingConfig, parse_config

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8780
DEFAULT_DATA_DIR = Path(".thinghub")
DEFAULT_REGION = "us-east-1"


class ConfigError(ValueError):
    """The config file or a flag is invalid; the message says where."""


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    database: str | None = None  # None: SQLite file in data_dir
    clock: str = "system"
    public_url: str | None = None  # how browsers reach thinghub (OAuth callbacks)
    identities: tuple[Identity, ...] = (DEFAULT_IDENTITY,)
    max_clock_skew_seconds: float = 900.0
    access_log: bool = False
    throttling: ThrottlingConfig | None = None  # None: off (the default)
    raw: dict[str, Any] = field(default_factory=dict)  # the whole file, for later sections

    def with_flags(self, **flags: Any) -> Settings:
        """Override with every flag that was given (None means not given)."""
        return replace(self, **{k: v for k, v in flags.items() if v is not None})


_SERVER_KEYS = {"host", "port", "data_dir", "database", "clock", "access_log", "public_url"}


def load_settings(path: Path | None) -> Settings:
    """Settings from a TOML file (or the defaults when no file is given)."""
    if path is None:
        return Settings()
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    server = raw.get("server", {})
    unknown = set(server) - _SERVER_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown keys in [server]: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = dict(server)
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])
    auth = raw.get("auth", {})
    identities = _identities(path, raw.get("identities", []), auth.get("default_identity", True))
    if "max_clock_skew_seconds" in auth:
        values["max_clock_skew_seconds"] = float(auth["max_clock_skew_seconds"])
    try:
        throttling = parse_config(raw.get("throttling"))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return Settings(identities=identities, throttling=throttling, raw=raw, **values)


def _identities(path: Path, entries: list[Any], keep_default: bool) -> tuple[Identity, ...]:
    identities = [DEFAULT_IDENTITY] if keep_default else []
    for index, entry in enumerate(entries):
        where = f"{path}: [[identities]] #{index + 1}"
        try:
            identities.append(
                Identity(entry["access_key"], entry["secret_key"], str(entry["account_id"]))
            )
        except KeyError as exc:
            raise ConfigError(f"{where} lacks {exc.args[0]}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if not identities:
        raise ConfigError(f"{path}: no identities: define [[identities]] or keep the default one")
    return tuple(identities)
