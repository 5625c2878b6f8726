"""Settings of the simulated Acme cloud: OAuth clients, token lifetimes, files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 8790
DEFAULT_CLIENT_ID = "acme-client"
DEFAULT_CLIENT_SECRET = "acme-secret"

# Scopes Acme knows; a grant that asked for none gets all of them.
SCOPES = ("devices:read", "devices:write")


@dataclass(frozen=True)
class OAuthClient:
    """A registered OAuth client. With a prefix, redirect URIs must start with it."""

    client_id: str
    client_secret: str
    redirect_uri_prefix: str | None = None

    @classmethod
    def parse(cls, text: str) -> OAuthClient:
        """``id:secret[:redirect_uri_prefix]`` (the prefix may itself contain colons)."""
        parts = text.split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{text!r} is not of the form id:secret[:redirect_uri_prefix]")
        prefix = parts[2] if len(parts) == 3 and parts[2] else None
        return cls(parts[0], parts[1], prefix)

    def allows_redirect(self, redirect_uri: str) -> bool:
        if not redirect_uri.startswith(("http://", "https://")):
            return False
        return self.redirect_uri_prefix is None or redirect_uri.startswith(self.redirect_uri_prefix)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    auto_approve: bool = False
    clients: tuple[OAuthClient, ...] = field(
        default_factory=lambda: (OAuthClient(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),)
    )
    access_token_ttl: float = 3600.0
    refresh_token_ttl: float = 30 * 86400.0  # 0: refresh tokens never expire
    code_ttl: float = 60.0
    rotate_refresh_tokens: bool = False
    seed_file: Path | None = None
    state_file: Path | None = None
    webhook_timeout: float = 5.0
    access_log: bool = False

    def client(self, client_id: str) -> OAuthClient | None:
        return next((c for c in self.clients if c.client_id == client_id), None)
