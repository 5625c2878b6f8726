"""OAuth tokens encrypted at rest: AES-256-GCM, each ciphertext bound to where it is stored.

Sealed text is ``v1.<key id>.<base64url(nonce | ciphertext | tag)>``. The associated data names
the account, region, association and field, so a ciphertext copied into another row (or
another field) does not decrypt. The key id (a digest of the key, never the key) tells which
key sealed a token, so a wrong or rotated key is reported as such instead of as corruption.

Where the key comes from (`oauth_settings`), first match wins:

1. ``[security] token_key`` in the config, or the environment variable ``THINGHUB_TOKEN_KEY``:
   32 bytes as base64 (standard or URL-safe) or as 64 hex digits;
2. ``[security] token_key_file``: a file holding such a key;
3. ``<data_dir>/token.key``, created with mode 0600 the first time a token is sealed.

[CHOICE] Several nodes sharing one PostgreSQL database must be given the same key (1 or 2):
the key is deliberately never stored in the database, because a key next to the ciphertexts
would protect nothing against a leaked database dump. A node started on PostgreSQL without a
configured key logs a warning, and a token sealed by another node's key fails to open with a
message naming both key ids. Rotate a key by moving the old one to ``previous_token_keys``:
tokens sealed with it still open, and every refresh re-seals with the new key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from thinghub.config import ConfigError

log = logging.getLogger("thinghub.oauth")

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12


class VaultError(Exception):
    """A sealed token cannot be opened (wrong key, altered, or moved to another record)."""


def parse_key(text: str, where: str) -> bytes:
    """32 key bytes from base64 (either alphabet) or hex text; ConfigError otherwise."""
    text = text.strip()
    candidates: list[bytes] = []
    if len(text) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(text))
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(decode(text + "=" * (-len(text) % 4)))
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise ConfigError(f"{where} must be {KEY_BYTES} bytes as base64 or {2 * KEY_BYTES} hex digits")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"thinghub token key\x00" + key).hexdigest()[:16]


def new_key_text() -> str:
    """A fresh key in the form the config and key files take."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


class TokenVault:
    """Seals and opens token strings. The key is loaded (or the key file made) on first use."""

    def __init__(
        self,
        *,
        key_text: str | None,
        key_file: Path,
        previous: tuple[str, ...] = (),
    ) -> None:
        self._key_text = key_text
        self._key_file = key_file
        self._previous = tuple(parse_key(k, "[security] previous_token_keys") for k in previous)
        if key_text is not None:
            parse_key(key_text, "[security] token_key")  # fail at start-up, not at first use
        self._lock = threading.Lock()
        self._current: tuple[str, AESGCM] | None = None
        self._by_id: dict[str, AESGCM] = {key_id(k): AESGCM(k) for k in self._previous}

    def seal(self, plaintext: str, context: str) -> str:
        kid, cipher = self._current_key()
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = cipher.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{VERSION}.{kid}.{body}"

    def open(self, sealed: str, context: str) -> str:
        version, _, rest = sealed.partition(".")
        kid, _, body = rest.partition(".")
        if version != VERSION or not kid or not body:
            raise VaultError("not a sealed token")
        current_id, _ = self._current_key()
        cipher = self._by_id.get(kid)
        if cipher is None:
            raise VaultError(
                f"the token was sealed with key {kid}, but this node has key {current_id} "
                "(configure the same [security] token_key on every node)"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError):
            raise VaultError("the sealed token was altered or belongs elsewhere") from None
        return plain.decode("utf-8")

    def _current_key(self) -> tuple[str, AESGCM]:
        current = self._current
        if current is not None:
            return current
        with self._lock:
            if self._current is None:
                key = self._load_key()
                kid = key_id(key)
                self._current = (kid, AESGCM(key))
                self._by_id[kid] = self._current[1]
            return self._current

    def _load_key(self) -> bytes:
        if self._key_text is not None:
            return parse_key(self._key_text, "[security] token_key")
        path = self._key_file
        try:
            return parse_key(path.read_text(), f"key file {path}")
        except FileNotFoundError:
            pass
        return _create_key_file(path)


def _create_key_file(path: Path) -> bytes:
    """Write a new key with mode 0600; if another process won the race, use its key.

    The key is written to a temporary file first and linked into place, so nobody ever reads
    a half-written key file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = new_key_text()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
        os.link(temporary, path)
    except FileExistsError:
        return parse_key(path.read_text(), f"key file {path}")
    finally:
        temporary.unlink(missing_ok=True)
    log.info("created the token encryption key %s (keep it: tokens sealed with it need it)", path)
    return parse_key(text, f"key file {path}")
