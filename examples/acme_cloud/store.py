"""All of Acme's state, in memory, optionally mirrored to a JSON file after every change.

The ASGI app runs every endpoint on one event loop and never awaits in the middle of a
change, so the store needs no lock.
"""

from __future__ import annotations

import collections
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from .config import Settings
from .devices import DEFAULT_SEED, load_seed

STATE_VERSION = 1
_PERSISTED = ("users", "devices", "codes", "grants", "access_tokens", "refresh_tokens", "webhooks")


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class AcmeStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock_offset = 0.0  # moved by POST /admin/clock
        self.users: dict[str, Any] = {}
        self.devices: dict[str, Any] = {}
        self.codes: dict[str, Any] = {}  # code -> {clientId, userId, redirectUri, ...}
        self.grants: dict[str, Any] = {}  # grant id -> {clientId, userId, scope, revoked}
        self.access_tokens: dict[str, Any] = {}  # token -> {grantId, expiresAt}
        self.refresh_tokens: dict[str, Any] = {}  # token -> {grantId, expiresAt | None}
        self.webhooks: dict[str, Any] = {}  # id -> {userId, grantId, url, secret, ...}
        # Recent webhook deliveries, for GET /admin/webhooks; not persisted.
        self.deliveries: collections.deque[dict[str, Any]] = collections.deque(maxlen=100)
        state_file = settings.state_file
        if state_file is not None and state_file.exists():
            self._load(json.loads(state_file.read_text()))
        else:
            self.reset()

    def now(self) -> float:
        return time.time() + self.clock_offset

    def reset(self) -> None:
        """Back to the seed: no grants, codes or webhooks; the clock back to real time."""
        self.users, self.devices = load_seed(_read_seed(self.settings.seed_file))
        self.codes, self.grants, self.access_tokens, self.refresh_tokens = {}, {}, {}, {}
        self.webhooks = {}
        self.deliveries.clear()
        self.clock_offset = 0.0
        self.save()

    def save(self) -> None:
        """Write the state file (atomically), when there is one."""
        path = self.settings.state_file
        if path is None:
            return
        document = {"version": STATE_VERSION, "clockOffset": self.clock_offset}
        document.update({name: getattr(self, name) for name in _PERSISTED})
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(document, indent=1, sort_keys=True))
        os.replace(temporary, path)

    def _load(self, document: dict[str, Any]) -> None:
        if document.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state file version {document.get('version')!r}")
        self.clock_offset = float(document.get("clockOffset", 0.0))
        for name in _PERSISTED:
            setattr(self, name, dict(document.get(name, {})))

    # ----- grants and tokens ---------------------------------------------------------------------

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke a grant: its tokens stop working and its webhooks are dropped."""
        grant = self.grants.get(grant_id)
        if grant is None:
            return
        grant["revoked"] = True
        for table in (self.access_tokens, self.refresh_tokens):
            for token in [t for t, entry in table.items() if entry["grantId"] == grant_id]:
                del table[token]
        for webhook_id in [w for w, hook in self.webhooks.items() if hook["grantId"] == grant_id]:
            del self.webhooks[webhook_id]

    def purge_expired_codes(self) -> None:
        """Forget codes past their expiry; expired access tokens stay, so they can be revoked."""
        now = self.now()
        for code in [c for c, entry in self.codes.items() if entry["expiresAt"] <= now]:
            del self.codes[code]


def _read_seed(path: Path | None) -> Any:
    if path is None:
        return DEFAULT_SEED
    return json.loads(path.read_text())
