"""Acme's device API (Bearer tokens), webhook subscriptions, and the admin endpoints.

The admin endpoints stand in for the physical world and for operators; they need no
authentication, so bind the simulator to a loopback address.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import webhooks
from .devices import apply_command, public_device, validate_patch
from .errors import AcmeError
from .store import AcmeStore, new_id


async def read_json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError:
        raise AcmeError(400, "invalid_request", "the body must be JSON") from None


class DeviceApi:
    def __init__(self, store: AcmeStore) -> None:
        self.store = store

    def _grant(self, request: Request, scope: str) -> dict[str, Any]:
        """The grant behind the request's Bearer token (RFC 6750 errors otherwise)."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise AcmeError(
                401,
                "unauthorized",
                "a Bearer access token is required",
                {"WWW-Authenticate": 'Bearer realm="acme"'},
            )
        entry = self.store.access_tokens.get(header[7:].strip())
        if entry is None or entry["expiresAt"] <= self.store.now():
            reason = "expired" if entry is not None else "unknown or revoked"
            raise AcmeError(
                401,
                "invalid_token",
                f"the access token is {reason}",
                {"WWW-Authenticate": 'Bearer realm="acme", error="invalid_token"'},
            )
        grant: dict[str, Any] = self.store.grants[entry["grantId"]]
        if scope not in grant["scope"].split():
            challenge = f'Bearer realm="acme", error="insufficient_scope", scope="{scope}"'
            raise AcmeError(
                403,
                "insufficient_scope",
                f"the token lacks scope {scope}",
                {"WWW-Authenticate": challenge},
            )
        return grant

    def _device(self, grant: dict[str, Any], device_id: str) -> dict[str, Any]:
        device = self.store.devices.get(device_id)
        # Another user's device is as invisible as a missing one.
        if device is None or device["userId"] != grant["userId"]:
            raise AcmeError(404, "device_not_found", f"no device {device_id}")
        return dict(device)

    async def me(self, request: Request) -> Response:
        grant = self._grant(request, "devices:read")
        user = self.store.users[grant["userId"]]
        return JSONResponse({"userId": user["id"], "name": user["name"], "email": user["email"]})

    async def list_devices(self, request: Request) -> Response:
        grant = self._grant(request, "devices:read")
        devices = [
            public_device(device)
            for device in self.store.devices.values()
            if device["userId"] == grant["userId"]
        ]
        return JSONResponse({"userId": grant["userId"], "devices": devices})

    async def get_device(self, request: Request) -> Response:
        grant = self._grant(request, "devices:read")
        device = self._device(grant, request.path_params["device_id"])
        return JSONResponse({"userId": grant["userId"], "device": public_device(device)})

    async def command(self, request: Request) -> Response:
        grant = self._grant(request, "devices:write")
        device = self._device(grant, request.path_params["device_id"])
        patch = apply_command(device, await read_json(request))
        stored = self.store.devices[device["id"]]
        stored["state"].update(patch)
        self.store.save()
        return JSONResponse({"userId": grant["userId"], "device": public_device(stored)})

    # ----- webhook subscriptions -----------------------------------------------------------------

    async def register_webhook(self, request: Request) -> Response:
        """Subscribe to the user's device changes; one subscription per (user, url)."""
        grant = self._grant(request, "devices:read")
        body = await read_json(request)
        url, secret = body.get("url"), body.get("secret")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise AcmeError(400, "invalid_request", "url must be an http(s) URL")
        if secret is not None and not isinstance(secret, str):
            raise AcmeError(400, "invalid_request", "secret must be a string")
        existing = next(
            (
                hook
                for hook in self.store.webhooks.values()
                if hook["userId"] == grant["userId"] and hook["url"] == url
            ),
            None,
        )
        # Re-registering (say after the user linked again) moves the hook to the new grant.
        hook = existing or {"id": new_id("wh"), "createdAt": self.store.now()}
        hook.update(userId=grant["userId"], grantId=grant["id"], url=url, secret=secret)
        self.store.webhooks[hook["id"]] = hook
        self.store.save()
        return JSONResponse(_public_hook(hook), status_code=200 if existing else 201)

    async def list_webhooks(self, request: Request) -> Response:
        grant = self._grant(request, "devices:read")
        hooks = [
            _public_hook(hook)
            for hook in self.store.webhooks.values()
            if hook["userId"] == grant["userId"]
        ]
        return JSONResponse({"webhooks": hooks})

    async def delete_webhook(self, request: Request) -> Response:
        grant = self._grant(request, "devices:read")
        hook = self.store.webhooks.get(request.path_params["webhook_id"])
        if hook is None or hook["userId"] != grant["userId"]:
            raise AcmeError(404, "webhook_not_found", "no such webhook")
        del self.store.webhooks[hook["id"]]
        self.store.save()
        return Response(status_code=204)


class AdminApi:
    def __init__(self, store: AcmeStore) -> None:
        self.store = store

    async def set_device_state(self, request: Request) -> Response:
        """The physical device changed: store it, then notify the user's webhooks (awaited, so
        when this answers, the notifications were delivered or gave up)."""
        device = self.store.devices.get(request.path_params["device_id"])
        if device is None:
            raise AcmeError(404, "device_not_found", "no such device")
        patch = validate_patch(device, await read_json(request), physical=True)
        changed = {name: value for name, value in patch.items() if device["state"][name] != value}
        device["state"].update(changed)
        self.store.save()
        deliveries = await self._notify(device, changed) if changed else []
        return JSONResponse(
            {"device": public_device(device), "changed": changed, "deliveries": deliveries}
        )

    async def _notify(self, device: dict[str, Any], changed: dict[str, Any]) -> list[Any]:
        hooks = [
            hook for hook in self.store.webhooks.values() if hook["userId"] == device["userId"]
        ]
        event_id = f"evt-{uuid.uuid4().hex}"
        body = json.dumps(
            {
                "id": event_id,
                "type": webhooks.EVENT_TYPE,
                "occurredAt": self.store.now(),
                "userId": device["userId"],
                "device": public_device(device),
                "changed": changed,
            }
        ).encode()
        timeout = self.store.settings.webhook_timeout
        results = await asyncio.gather(
            *(
                asyncio.to_thread(
                    webhooks.deliver, hook["url"], body, event_id, hook["secret"], timeout=timeout
                )
                for hook in hooks
            )
        )
        self.store.deliveries.extend(results)
        return list(results)

    async def revoke_user_tokens(self, request: Request) -> Response:
        """Revoke every grant of a user: refreshing fails from now on (invalid_grant)."""
        user_id = request.path_params["user_id"]
        if user_id not in self.store.users:
            raise AcmeError(404, "user_not_found", "no such user")
        grants = [
            grant_id
            for grant_id, grant in self.store.grants.items()
            if grant["userId"] == user_id and not grant["revoked"]
        ]
        for grant_id in grants:
            self.store.revoke_grant(grant_id)
        self.store.save()
        return JSONResponse({"revokedGrants": len(grants)})

    async def list_webhooks(self, request: Request) -> Response:
        hooks = [
            {**_public_hook(hook), "userId": hook["userId"], "grantId": hook["grantId"]}
            for hook in self.store.webhooks.values()
        ]
        return JSONResponse({"webhooks": hooks, "deliveries": list(self.store.deliveries)})

    async def clock(self, request: Request) -> Response:
        """GET reads Acme's clock; POST ``{"advanceSeconds": N}`` moves it forward."""
        if request.method == "POST":
            advance = (await read_json(request)).get("advanceSeconds")
            if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
                raise AcmeError(400, "invalid_request", "advanceSeconds must be a number >= 0")
            self.store.clock_offset += advance
            self.store.save()
        return JSONResponse({"epochSeconds": self.store.now()})

    async def reset(self, request: Request) -> Response:
        self.store.reset()
        return Response(status_code=204)


def _public_hook(hook: dict[str, Any]) -> dict[str, Any]:
    return {"id": hook["id"], "url": hook["url"], "createdAt": hook["createdAt"]}
