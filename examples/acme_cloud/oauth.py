"""Acme's OAuth 2.0 authorization server: the authorization-code grant (RFC 6749, with
optional PKCE, RFC 7636), refresh tokens, and token revocation (RFC 7009).

Choices a real vendor could make differently, documented in examples/README.md:

- clients authenticate at the token endpoint with HTTP Basic *or* form fields (never both);
- a replayed authorization code revokes the grant issued from it (RFC 6749 4.1.2);
- revoking either token of a grant revokes the whole grant (and its webhooks);
- a token holder may revoke its own grant by presenting the token as a Bearer credential
  (so a connector, which never sees the client secret, can unlink a user).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .config import SCOPES, OAuthClient
from .errors import AcmeError
from .store import AcmeStore, new_id, new_token

FORM_TYPE = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded body; a parameter given twice is an error (RFC 6749 3.1)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise AcmeError(400, "invalid_request", f"the body must be {FORM_TYPE}")
    pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise AcmeError(400, "invalid_request", f"parameter {name} given more than once")
        form[name] = value
    return form


def no_store(document: dict[str, Any], status: int = 200) -> JSONResponse:
    """Token responses must not be cached (RFC 6749 5.1)."""
    return JSONResponse(
        document, status, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


def redirect(redirect_uri: str, params: dict[str, str | None]) -> RedirectResponse:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    separator = "&" if "?" in redirect_uri else "?"
    # 302, not Starlette's default 307: a consent form's POST must become a GET.
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)


def parse_scope(text: str | None) -> str:
    """The granted scope: what was asked for, or every scope when nothing was."""
    requested = (text or "").split()
    unknown = [scope for scope in requested if scope not in SCOPES]
    if unknown:
        raise AcmeError(400, "invalid_scope", f"unknown scope {unknown[0]}")
    return " ".join(dict.fromkeys(requested)) if requested else " ".join(SCOPES)


class OAuthEndpoints:
    def __init__(self, store: AcmeStore) -> None:
        self.store = store
        self.settings = store.settings

    # ----- /oauth/authorize ----------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """GET shows the consent page (or approves at once); POST is the consent form."""
        if request.method == "POST":
            params = await read_form(request)
        else:
            params = dict(request.query_params)
        client = self.settings.client(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        # Never redirect to an unverified URI (RFC 6749 4.1.2.1): tell the user instead.
        if client is None:
            return _error_page("Unknown client_id.")
        if not client.allows_redirect(redirect_uri):
            return _error_page("This redirect_uri is not registered for the client.")
        state = params.get("state")
        if params.get("response_type") != "code":
            return redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        try:
            scope = parse_scope(params.get("scope"))
            challenge = _code_challenge(params)
        except AcmeError as exc:
            return redirect(
                redirect_uri,
                {"error": exc.error, "error_description": exc.description, "state": state},
            )
        if request.method == "POST":
            decision = params.get("decision")
        elif self.settings.auto_approve or params.get("auto_approve") in ("1", "true"):
            decision = "approve"
        else:
            return self._consent_page(client, params, scope)
        if decision != "approve":
            return redirect(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "the user denied access",
                    "state": state,
                },
            )
        user_id = params.get("user") or params.get("login_hint") or next(iter(self.store.users))
        if user_id not in self.store.users:
            return redirect(
                redirect_uri,
                {"error": "access_denied", "error_description": "unknown user", "state": state},
            )
        code = new_token("acme_code")
        self.store.purge_expired_codes()
        self.store.codes[code] = {
            "clientId": client.client_id,
            "userId": user_id,
            "redirectUri": redirect_uri,
            "scope": scope,
            "expiresAt": self.store.now() + self.settings.code_ttl,
            "used": False,
            "grantId": None,
            "codeChallenge": challenge[0] if challenge else None,
            "codeChallengeMethod": challenge[1] if challenge else None,
        }
        self.store.save()
        return redirect(redirect_uri, {"code": code, "state": state})

    def _consent_page(self, client: OAuthClient, params: dict[str, str], scope: str) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in params.items()
            if name not in ("user", "decision", "auto_approve")
        )
        chosen = params.get("user") or params.get("login_hint")
        options = "".join(
            f'<option value="{html.escape(user_id)}"{" selected" if user_id == chosen else ""}>'
            f"{html.escape(user['name'])} ({html.escape(user_id)})</option>"
            for user_id, user in self.store.users.items()
        )
        page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Acme - authorize</title></head>
<body>
<h1>Acme</h1>
<p>The application <b>{html.escape(client.client_id)}</b> asks to access your Acme devices
(scope: <code>{html.escape(scope)}</code>).</p>
<form method="post" action="/oauth/authorize">
{hidden}
<label>Signed in as <select name="user">{options}</select></label>
<p><button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button></p>
</form>
</body></html>
"""
        return HTMLResponse(page)

    # ----- /oauth/token --------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = await read_form(request)
        client = self._authenticate_client(request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form)
        if grant_type == "refresh_token":
            return self._refresh(client, form)
        raise AcmeError(400, "unsupported_grant_type", f"grant_type {grant_type!r} not supported")

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> OAuthClient:
        """HTTP Basic or client_id/client_secret form fields (RFC 6749 2.3.1), not both."""
        challenge = {"WWW-Authenticate": 'Basic realm="acme"'}
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:
            if "client_secret" in form:
                raise AcmeError(
                    400, "invalid_request", "use one client authentication method, not two"
                )
            if form.get("client_id", basic[0]) != basic[0]:
                raise AcmeError(401, "invalid_client", "client_id differs from Basic", challenge)
            client_id, secret = basic
        elif "client_id" in form and "client_secret" in form:
            client_id, secret = form["client_id"], form["client_secret"]
        else:
            raise AcmeError(401, "invalid_client", "client authentication required", challenge)
        client = self.settings.client(client_id)
        if client is None or not hmac.compare_digest(
            client.client_secret.encode(), secret.encode()
        ):
            raise AcmeError(401, "invalid_client", "unknown client or wrong secret", challenge)
        return client

    def _exchange_code(self, client: OAuthClient, form: dict[str, str]) -> Response:
        store = self.store
        store.purge_expired_codes()
        entry = store.codes.get(form.get("code", ""))
        if entry is None or entry["expiresAt"] <= store.now():
            raise AcmeError(400, "invalid_grant", "unknown or expired authorization code")
        if entry["used"]:
            # A replayed code may be stolen: revoke what it already gave (RFC 6749 4.1.2).
            if entry["grantId"]:
                store.revoke_grant(entry["grantId"])
            store.save()
            raise AcmeError(400, "invalid_grant", "authorization code already used")
        if entry["clientId"] != client.client_id:
            raise AcmeError(400, "invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != entry["redirectUri"]:
            raise AcmeError(400, "invalid_grant", "redirect_uri differs from the authorization")
        if entry["codeChallenge"] is not None and not _verify_pkce(entry, form):
            raise AcmeError(400, "invalid_grant", "code_verifier does not match")
        grant_id = new_id("grant")
        store.grants[grant_id] = {
            "id": grant_id,
            "clientId": client.client_id,
            "userId": entry["userId"],
            "scope": entry["scope"],
            "createdAt": store.now(),
            "revoked": False,
        }
        entry["used"], entry["grantId"] = True, grant_id
        refresh_token = self._issue_refresh_token(grant_id)
        response = self._token_response(grant_id, refresh_token)
        store.save()
        return response

    def _refresh(self, client: OAuthClient, form: dict[str, str]) -> Response:
        store = self.store
        presented = form.get("refresh_token", "")
        entry = store.refresh_tokens.get(presented)
        if entry is None:
            raise AcmeError(400, "invalid_grant", "unknown or revoked refresh token")
        grant = store.grants[entry["grantId"]]
        if grant["clientId"] != client.client_id:
            raise AcmeError(400, "invalid_grant", "the token was issued to another client")
        if entry["expiresAt"] is not None and entry["expiresAt"] <= store.now():
            del store.refresh_tokens[presented]
            store.save()
            raise AcmeError(400, "invalid_grant", "refresh token expired")
        if "scope" in form:
            narrower = parse_scope(form["scope"]).split()
            if not set(narrower) <= set(grant["scope"].split()):
                raise AcmeError(400, "invalid_scope", "scope exceeds the original grant")
        refresh_token = presented
        if self.settings.rotate_refresh_tokens:
            del store.refresh_tokens[presented]
            refresh_token = self._issue_refresh_token(entry["grantId"])
        response = self._token_response(entry["grantId"], refresh_token)
        store.save()
        return response

    def _issue_refresh_token(self, grant_id: str) -> str:
        token = new_token("acme_rt")
        ttl = self.settings.refresh_token_ttl
        self.store.refresh_tokens[token] = {
            "grantId": grant_id,
            "expiresAt": self.store.now() + ttl if ttl > 0 else None,
        }
        return token

    def _token_response(self, grant_id: str, refresh_token: str) -> Response:
        access_token = new_token("acme_at")
        ttl = self.settings.access_token_ttl
        self.store.access_tokens[access_token] = {
            "grantId": grant_id,
            "expiresAt": self.store.now() + ttl,
        }
        document: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(ttl),
            "refresh_token": refresh_token,
            "scope": self.store.grants[grant_id]["scope"],
        }
        expires_at = self.store.refresh_tokens[refresh_token]["expiresAt"]
        if expires_at is not None:
            # Not in RFC 6749, but common; it lets a hub renew before the refresh token lapses.
            document["refresh_token_expires_in"] = int(expires_at - self.store.now())
        return no_store(document)

    # ----- /oauth/revoke -------------------------------------------------------------------------

    async def revoke(self, request: Request) -> Response:
        """RFC 7009: 200 whether or not the token was known; revokes the token's whole grant."""
        form = await read_form(request)
        authorization = request.headers.get("authorization", "")
        store = self.store
        if authorization.lower().startswith("bearer "):
            bearer = authorization[7:].strip()
            if form.setdefault("token", bearer) != bearer:
                raise AcmeError(400, "invalid_request", "a bearer may only revoke its own token")
            client_id = None
        else:
            client_id = self._authenticate_client(request, form).client_id
        token = form.get("token")
        if not token:
            raise AcmeError(400, "invalid_request", "token is required")
        entry = store.access_tokens.get(token) or store.refresh_tokens.get(token)
        if entry is not None:
            grant = store.grants[entry["grantId"]]
            if client_id is not None and grant["clientId"] != client_id:
                raise AcmeError(400, "invalid_request", "the token was issued to another client")
            store.revoke_grant(entry["grantId"])
            store.save()
        return Response(status_code=200)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise AcmeError(401, "invalid_client", "malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise AcmeError(401, "invalid_client", "malformed Basic credentials")
    # RFC 6749 2.3.1: both parts are form-url-encoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def _code_challenge(params: dict[str, str]) -> tuple[str, str] | None:
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method", "plain")
    if challenge is None:
        if "code_challenge_method" in params:
            raise AcmeError(400, "invalid_request", "code_challenge_method without code_challenge")
        return None
    if method not in ("plain", "S256"):
        raise AcmeError(400, "invalid_request", "code_challenge_method must be plain or S256")
    return challenge, method


def _verify_pkce(entry: dict[str, Any], form: dict[str, str]) -> bool:
    verifier = form.get("code_verifier", "")
    if entry["codeChallengeMethod"] == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        verifier = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return bool(verifier) and hmac.compare_digest(verifier, entry["codeChallenge"])


def _error_page(message: str) -> HTMLResponse:
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Acme - error</title></head>'
        f"<body><h1>Acme</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(page, status_code=400)
