"""The OAuth 2.0 client side of account linking (RFC 6749 authorization-code grant), on Authlib.

The wire details are spec 3.3's [CHOICE]: the authorization URL carries ``response_type=code``,
``client_id``, ``redirect_uri``, ``state`` and (when configured) ``scope``; the token endpoint
authenticates the client with HTTP Basic (``HTTP_BASIC`` → ``client_secret_basic``) or with
form fields (``REQUEST_BODY_CREDENTIALS`` → ``client_secret_post``). No PKCE: the model has no
place to configure it and a confidential client does not need it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

from thinghub.integrations.secrets import ClientCredentials

AUTH_METHODS = {
    "HTTP_BASIC": "client_secret_basic",
    "REQUEST_BODY_CREDENTIALS": "client_secret_post",
}
# Errors after which the same request can never succeed (RFC 6749 5.2): the grant is gone.
PERMANENT_ERRORS = frozenset({"invalid_grant"})

_ssl_context: ssl.SSLContext | None = None


@dataclass(frozen=True)
class TokenSet:
    """A token endpoint's answer; lifetimes in seconds as the endpoint reported them."""

    access_token: str
    token_type: str
    refresh_token: str | None
    expires_in: float | None
    refresh_expires_in: float | None  # non-standard ``refresh_token_expires_in``, if given
    scope: str | None

    def __repr__(self) -> str:  # never log a token
        return f"TokenSet(token_type={self.token_type!r}, expires_in={self.expires_in!r})"


class OAuthFailure(Exception):
    """The token endpoint refused, or gave no usable answer.

    `error` is the RFC 6749 error code (or one of ours: ``temporarily_unavailable``,
    ``server_error``, ``invalid_response``); `permanent` means retrying cannot help.
    """

    def __init__(self, error: str, description: str, *, permanent: bool = False) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.permanent = permanent


@dataclass(frozen=True)
class OAuthEndpoints:
    """What one connector destination says about the vendor's authorization server."""

    auth_url: str
    token_url: str
    scheme: str  # HTTP_BASIC | REQUEST_BODY_CREDENTIALS
    scope: str | None

    @classmethod
    def of(cls, oauth: dict[str, Any]) -> OAuthEndpoints:
        return cls(
            oauth["authUrl"],
            oauth["tokenUrl"],
            oauth.get("tokenEndpointAuthenticationScheme", "HTTP_BASIC"),
            oauth.get("scope") or None,
        )


def authorization_url(
    endpoints: OAuthEndpoints, client_id: str, redirect_uri: str, state: str
) -> str:
    """The vendor's authorization URL for one end user (the authUrl's own query is kept)."""
    return str(
        prepare_grant_uri(
            endpoints.auth_url,
            client_id=client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=endpoints.scope,
            state=state,
        )
    )


async def exchange_code(
    endpoints: OAuthEndpoints,
    credentials: ClientCredentials,
    code: str,
    redirect_uri: str,
    timeout: float,
) -> TokenSet:
    async with _client(endpoints, credentials, timeout) as client:
        return await _call(
            client.fetch_token(
                endpoints.token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
            )
        )


async def refresh(
    endpoints: OAuthEndpoints,
    credentials: ClientCredentials,
    refresh_token: str,
    timeout: float,
) -> TokenSet:
    async with _client(endpoints, credentials, timeout) as client:
        return await _call(client.refresh_token(endpoints.token_url, refresh_token=refresh_token))


def _client(
    endpoints: OAuthEndpoints, credentials: ClientCredentials, timeout: float
) -> AsyncOAuth2Client:
    global _ssl_context
    if _ssl_context is None:
        # Building an SSL context costs tens of milliseconds: build it once, share it.
        _ssl_context = httpx.create_ssl_context()
    return AsyncOAuth2Client(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        token_endpoint_auth_method=AUTH_METHODS.get(endpoints.scheme, "client_secret_basic"),
        timeout=timeout,
        verify=_ssl_context,
    )


async def _call(request: Any) -> TokenSet:
    try:
        document = await request
    except OAuthError as exc:
        error = str(exc.error or "invalid_request")
        description = str(exc.description or "the token endpoint refused the request")
        raise OAuthFailure(error, description, permanent=error in PERMANENT_ERRORS) from None
    except httpx.HTTPStatusError as exc:
        raise OAuthFailure(
            "server_error", f"the token endpoint answered HTTP {exc.response.status_code}"
        ) from None
    except httpx.HTTPError as exc:
        raise OAuthFailure(
            "temporarily_unavailable", f"the token endpoint is unreachable: {exc!r}"
        ) from None
    except ValueError:
        raise OAuthFailure("invalid_response", "the token endpoint did not answer JSON") from None
    return _token_set(document)


def _token_set(document: Any) -> TokenSet:
    if not isinstance(document, dict):
        raise OAuthFailure("invalid_response", "the token endpoint answered no JSON object")
    access_token = document.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthFailure("invalid_response", "the token endpoint answered no access_token")
    refresh_token = document.get("refresh_token")
    scope = document.get("scope")
    return TokenSet(
        access_token=access_token,
        token_type=str(document.get("token_type") or "Bearer"),
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_in=_seconds(document.get("expires_in")),
        refresh_expires_in=_seconds(document.get("refresh_token_expires_in")),
        scope=scope if isinstance(scope, str) else None,
    )


def _seconds(value: Any) -> float | None:
    """A lifetime as a positive number; some servers send it as a string."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
