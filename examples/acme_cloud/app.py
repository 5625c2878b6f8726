"""The Acme cloud as an ASGI app (Starlette)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import AdminApi, DeviceApi
from .config import Settings
from .errors import AcmeError
from .oauth import OAuthEndpoints
from .store import AcmeStore


def create_app(settings: Settings | None = None, store: AcmeStore | None = None) -> Starlette:
    """An Acme cloud; `store` (default: a new one from `settings`) holds all its state."""
    store = store or AcmeStore(settings or Settings())
    oauth, devices, admin = OAuthEndpoints(store), DeviceApi(store), AdminApi(store)
    routes = [
        Route("/health", _health),
        Route("/oauth/authorize", oauth.authorize, methods=["GET", "POST"]),
        Route("/oauth/token", oauth.token, methods=["POST"]),
        Route("/oauth/revoke", oauth.revoke, methods=["POST"]),
        Route("/api/me", devices.me),
        Route("/api/devices", devices.list_devices),
        Route("/api/devices/{device_id}", devices.get_device),
        Route("/api/devices/{device_id}/commands", devices.command, methods=["POST"]),
        Route("/api/webhooks", devices.list_webhooks),
        Route("/api/webhooks", devices.register_webhook, methods=["POST"]),
        Route("/api/webhooks/{webhook_id}", devices.delete_webhook, methods=["DELETE"]),
        Route("/admin/devices/{device_id}/state", admin.set_device_state, methods=["POST"]),
        Route("/admin/users/{user_id}/revoke-tokens", admin.revoke_user_tokens, methods=["POST"]),
        Route("/admin/webhooks", admin.list_webhooks),
        Route("/admin/clock", admin.clock, methods=["GET", "POST"]),
        Route("/admin/reset", admin.reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={AcmeError: _error})
    app.state.store = store
    return app


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AcmeError)
    return JSONResponse(exc.body(), exc.status, headers=exc.headers)
