"""The pieces of account linking that need no server: config, the token vault, the secrets
file, the authorization URL and the ErrorMessage rules."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from pathlib import Path

import pytest

from thinghub.config import ConfigError, Settings
from thinghub.integrations.association_records import error_message
from thinghub.integrations.oauth_client import OAuthEndpoints, authorization_url
from thinghub.integrations.oauth_settings import oauth_settings
from thinghub.integrations.secrets import SecretError, SecretReader
from thinghub.integrations.token_vault import TokenVault, VaultError, new_key_text, parse_key

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme-oauth-AbCdEf"


def _settings(raw: dict[str, object], data_dir: Path = Path("/tmp/th")) -> Settings:
    return Settings(data_dir=data_dir, raw=raw)


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    defaults = oauth_settings(_settings({}, tmp_path), environ={})
    assert defaults.authorization_ttl_seconds == 3600
    assert defaults.token_key is None
    assert defaults.token_key_file == tmp_path / "token.key"
    assert not defaults.key_configured

    key = new_key_text()
    raw = {
        "oauth": {"authorization_ttl_seconds": 60, "refresh_margin_seconds": 0},
        "secrets": {"file": str(tmp_path / "s.json")},
        "security": {"token_key": key, "other_key_of_someone_else": 1},
    }
    chosen = oauth_settings(_settings(raw, tmp_path), environ={})
    assert chosen.authorization_ttl_seconds == 60
    assert chosen.refresh_margin_seconds == 0
    assert chosen.secrets_file == tmp_path / "s.json"
    assert chosen.token_key == key and chosen.key_configured

    from_env = oauth_settings(_settings({}, tmp_path), environ={"THINGHUB_TOKEN_KEY": key})
    assert from_env.token_key == key


@pytest.mark.parametrize(
    "raw",
    [
        {"oauth": {"nonsense": 1}},
        {"oauth": {"http_timeout_seconds": 0}},
        {"oauth": {"retry_seconds": "soon"}},
        {"secrets": {"file": 3}},
        {"secrets": {"path": "x"}},
        {"security": {"token_key": ""}},
        {"security": {"previous_token_keys": "one"}},
        {"oauth": "not a table"},
    ],
)
def test_bad_settings_are_config_errors(raw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        oauth_settings(_settings(raw), environ={})


def test_keys_parse_from_base64_or_hex() -> None:
    key = os.urandom(32)
    for text in (
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        key.hex(),
    ):
        assert parse_key(text, "key") == key
    for text in ("short", base64.b64encode(os.urandom(16)).decode(), "z" * 64):
        with pytest.raises(ConfigError):
            parse_key(text, "key")


def test_vault_binds_tokens_to_their_place(tmp_path: Path) -> None:
    vault = TokenVault(key_text=new_key_text(), key_file=tmp_path / "unused")
    sealed = vault.seal("acme_at_secret", "000000000000/us-east-1/abc/AccessToken")
    assert "acme_at_secret" not in sealed
    assert sealed != vault.seal("acme_at_secret", "000000000000/us-east-1/abc/AccessToken")
    assert vault.open(sealed, "000000000000/us-east-1/abc/AccessToken") == "acme_at_secret"
    with pytest.raises(VaultError):
        vault.open(sealed, "000000000000/us-east-1/other/AccessToken")
    with pytest.raises(VaultError):
        vault.open(sealed[:-4] + "AAAA", "000000000000/us-east-1/abc/AccessToken")
    assert not (tmp_path / "unused").exists()


def test_vault_names_a_foreign_key_and_opens_rotated_ones(tmp_path: Path) -> None:
    old_key, new_key = new_key_text(), new_key_text()
    sealed = TokenVault(key_text=old_key, key_file=tmp_path / "k").seal("token", "here")
    with pytest.raises(VaultError, match="sealed with key"):
        TokenVault(key_text=new_key, key_file=tmp_path / "k").open(sealed, "here")
    rotated = TokenVault(key_text=new_key, key_file=tmp_path / "k", previous=(old_key,))
    assert rotated.open(sealed, "here") == "token"


def test_vault_creates_one_private_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "token.key"
    vaults = [TokenVault(key_text=None, key_file=key_file) for _ in range(8)]
    sealed: list[str] = []
    threads = [threading.Thread(target=lambda v=v: sealed.append(v.seal("t", "c"))) for v in vaults]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["token.key"]
    # Every vault ended up with the same key.
    assert {vaults[0].open(s, "c") for s in sealed} == {"t"}


def test_secrets_file_matches_arn_name_and_name_without_suffix(tmp_path: Path) -> None:
    toml_file = tmp_path / "secrets.toml"
    toml_file.write_text('"acme-oauth" = { clientId = "id-1", clientSecret = "s-1" }\n')
    credentials = asyncio.run(SecretReader(toml_file).client_credentials(ARN, None))
    assert (credentials.client_id, credentials.client_secret) == ("id-1", "s-1")
    assert "s-1" not in repr(credentials)

    json_file = tmp_path / "secrets.json"
    json_file.write_text(
        json.dumps(
            {
                ARN: json.dumps({"client_id": "id-2", "client_secret": "s-2"}),
                "acme-oauth-AbCdEf": {"clientId": "not", "clientSecret": "chosen"},
            }
        )
    )
    credentials = asyncio.run(SecretReader(json_file).client_credentials(ARN, "v" * 32))
    assert credentials.client_id == "id-2"


@pytest.mark.parametrize(
    "content",
    ['"acme-oauth" = { clientId = "only-id" }', '"acme-oauth" = "not json"', "not = [toml"],
)
def test_unusable_secret_entries(tmp_path: Path, content: str) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(content + "\n")
    with pytest.raises(SecretError) as caught:
        asyncio.run(SecretReader(path).client_credentials(ARN, None))
    assert caught.value.problem == "invalid"


def test_authorization_url_keeps_the_auth_urls_own_query() -> None:
    endpoints = OAuthEndpoints(
        "https://auth.example/authorize?tenant=7", "https://auth.example/token", "HTTP_BASIC", None
    )
    url = authorization_url(endpoints, "client", "https://hub.example/cb", "s1")
    assert url.startswith("https://auth.example/authorize?tenant=7&")
    assert "scope=" not in url
    assert "redirect_uri=https%3A%2F%2Fhub.example%2Fcb" in url


def test_error_messages_fit_the_model_pattern() -> None:
    assert error_message("Token exchange failed: invalid_client (401)!") == (
        "Token exchange failed invalid_client 401"
    )
    assert error_message("???") == "Unknown error"
    assert len(error_message("x" * 5000)) == 4096
