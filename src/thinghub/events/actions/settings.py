"""The config file sections the action sinks read: ``[aws]`` and ``[mqtt]``.

Both sections are optional and may hold keys other components read, so unknown keys are left
alone; a known key with the wrong type is a ConfigError.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from thinghub.config import ConfigError, Settings

T = TypeVar("T")


@dataclass(frozen=True)
class AwsSettings:
    """Overrides of boto3's standard chain; None leaves the chain's answer in place."""

    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    endpoint_url: str | None = None  # one endpoint for every service (beats AWS_ENDPOINT_URL_*)


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = ""  # empty: "thinghub-<random>" per process
    keepalive: int = 60
    tls: bool = False
    ca_file: str | None = None  # with tls: the CA bundle (default: the system's)
    cert_file: str | None = None  # with tls: a client certificate (mutual TLS)
    key_file: str | None = None
    connect_timeout: float = 5.0  # how long a delivery waits for the broker connection
    publish_timeout: float = 10.0  # how long a delivery waits for the PUBACK


def aws_settings(settings: Settings) -> AwsSettings:
    section = _section(settings, "aws")
    if section.get("access_key_id") and not section.get("secret_access_key"):
        raise ConfigError("[aws] access_key_id needs secret_access_key")
    return AwsSettings(
        region=_get(section, "aws", "region", str, None),
        access_key_id=_get(section, "aws", "access_key_id", str, None),
        secret_access_key=_get(section, "aws", "secret_access_key", str, None),
        session_token=_get(section, "aws", "session_token", str, None),
        endpoint_url=_get(section, "aws", "endpoint_url", str, None),
    )


def mqtt_settings(settings: Settings) -> MqttSettings:
    section = _section(settings, "mqtt")
    defaults = MqttSettings()
    client_id = _get(section, "mqtt", "client_id", str, "")
    return MqttSettings(
        host=_get(section, "mqtt", "host", str, defaults.host),
        port=_get(section, "mqtt", "port", int, defaults.port),
        username=_get(section, "mqtt", "username", str, None),
        password=_get(section, "mqtt", "password", str, None),
        client_id=client_id or f"thinghub-{uuid.uuid4().hex[:12]}",
        keepalive=_get(section, "mqtt", "keepalive", int, defaults.keepalive),
        tls=_get(section, "mqtt", "tls", bool, defaults.tls),
        ca_file=_get(section, "mqtt", "ca_file", str, None),
        cert_file=_get(section, "mqtt", "cert_file", str, None),
        key_file=_get(section, "mqtt", "key_file", str, None),
        connect_timeout=float(_get(section, "mqtt", "connect_timeout", float, 5.0)),
        publish_timeout=float(_get(section, "mqtt", "publish_timeout", float, 10.0)),
    )


def _section(settings: Settings, name: str) -> dict[str, Any]:
    section = settings.raw.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table")
    return section


def _get(section: dict[str, Any], where: str, key: str, kind: type[T], default: T) -> T:
    value = section.get(key)
    if value is None:
        return default
    # TOML integers are fine where a float is expected; bools are never numbers.
    accepted: tuple[type, ...] = (int, float) if kind is float else (kind,)
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, accepted):
        raise ConfigError(f"[{where}] {key} must be a {kind.__name__}, not {value!r}")
    return value  # type: ignore[return-value]
