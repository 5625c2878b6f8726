"""The config sections of account linking: ``[oauth]``, ``[secrets]`` and ``[security]``.

```toml
[oauth]
authorization_ttl_seconds = 3600  # how long an OAuthAuthorizationUrl (its state) stays valid
http_timeout_seconds = 10         # per request to a vendor's token endpoint
refresh_check_seconds = 30        # how often the refresh worker looks for due tokens
refresh_margin_seconds = 300      # refresh an access token this long before it expires
retry_seconds = 60                # after a refresh failed for a passing reason, try again

[secrets]
# Local stand-in for Secrets Manager, checked first: secret ARN or name -> client credentials.
file = "secrets.toml"             # TOML, or JSON when the name ends in .json

[security]
token_key = "<base64 of 32 random bytes>"  # encrypts OAuth tokens at rest (AES-256-GCM)
token_key_file = "/etc/thinghub/token.key"  # or read it from a file; default <data_dir>/token.key
previous_token_keys = ["<old key>"]        # still decrypt tokens sealed before a key rotation
```

The key may also come from the environment variable ``THINGHUB_TOKEN_KEY``. Without either a
key file is created in the data directory on first use (see `token_vault`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinghub.config import ConfigError, Settings

TOKEN_KEY_VARIABLE = "THINGHUB_TOKEN_KEY"
DEFAULT_KEY_FILE_NAME = "token.key"


@dataclass(frozen=True)
class OAuthSettings:
    authorization_ttl_seconds: float = 3600.0
    http_timeout_seconds: float = 10.0
    refresh_check_seconds: float = 30.0
    refresh_margin_seconds: float = 300.0
    retry_seconds: float = 60.0
    secrets_file: Path | None = None
    token_key: str | None = None
    token_key_file: Path = Path(DEFAULT_KEY_FILE_NAME)
    key_configured: bool = False  # token_key or token_key_file given, not the default file
    previous_token_keys: tuple[str, ...] = ()


_OAUTH_KEYS = {
    "authorization_ttl_seconds": False,  # name -> zero allowed
    "http_timeout_seconds": False,
    "refresh_check_seconds": False,
    "refresh_margin_seconds": True,
    "retry_seconds": False,
}


def oauth_settings(settings: Settings, environ: dict[str, str] | None = None) -> OAuthSettings:
    environ = dict(os.environ) if environ is None else environ
    raw = settings.raw
    oauth = _table(raw, "oauth")
    unknown = set(oauth) - set(_OAUTH_KEYS)
    if unknown:
        raise ConfigError(f"unknown keys in [oauth]: {', '.join(sorted(unknown))}")
    numbers = {
        key: _seconds(oauth, key, getattr(OAuthSettings, key), zero)
        for key, zero in _OAUTH_KEYS.items()
    }

    secrets = _table(raw, "secrets")
    unknown = set(secrets) - {"file"}
    if unknown:
        raise ConfigError(f"unknown keys in [secrets]: {', '.join(sorted(unknown))}")
    secrets_file = _path(secrets, "secrets", "file")

    # [security] may grow keys owned by others: only ours are read and checked here.
    security = _table(raw, "security")
    token_key = security.get("token_key", environ.get(TOKEN_KEY_VARIABLE) or None)
    if token_key is not None and (not isinstance(token_key, str) or not token_key):
        raise ConfigError("[security] token_key must be a non-empty string")
    key_file = _path(security, "security", "token_key_file")
    previous = security.get("previous_token_keys", [])
    if not isinstance(previous, list) or not all(isinstance(k, str) and k for k in previous):
        raise ConfigError("[security] previous_token_keys must be a list of key strings")
    return OAuthSettings(
        **numbers,
        secrets_file=secrets_file,
        token_key=token_key,
        token_key_file=key_file or settings.data_dir / DEFAULT_KEY_FILE_NAME,
        key_configured=token_key is not None or key_file is not None,
        previous_token_keys=tuple(previous),
    )


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    section = raw.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table")
    return section


def _seconds(section: dict[str, Any], key: str, default: float, zero: bool) -> float:
    value = section.get(key, default)
    valid = isinstance(value, int | float) and not isinstance(value, bool)
    if not valid or value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigError(f"[oauth] {key} must be a number of seconds {bound}, not {value!r}")
    return float(value)


def _path(section: dict[str, Any], name: str, key: str) -> Path | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"[{name}] {key} must be a path")
    # Resolved now, against the working directory thinghub was started in.
    return Path(value).expanduser().resolve()
