"""The ASGI application: every API request goes sigv4 → route → parse → handler → serialize.

Raw ASGI on purpose: this is the hot path, and a framework layer costs more than all of
thinghub's own work per request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from thinghub import __version__
from thinghub.api import Registered, RequestContext
from thinghub.clock import ManualClock
from thinghub.hub import HttpHandler, HttpRequest, Hub
from thinghub.idempotency import ClientTokens, request_hash
from thinghub.store import InvalidPageToken
from thinghub.store.ids import UniqueIds
from thinghub.throttling import Throttle
from thinghub.wire.errors import RouteNotFound, ServiceError, ValidationFailure
from thinghub.wire.protocol import (
    JSON_HEADERS,
    CompiledOperation,
    CompiledService,
    Headers,
    MalformedBody,
    Response,
    query_values,
)
from thinghub.wire.sigv4 import AuthError, SigV4Verifier

log = logging.getLogger("thinghub.api")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 16 * 1024 * 1024
INTERNAL_PREFIX = "/_thinghub/"


def _plain_error(status: int, code: str, message: str, request_id: str) -> Response:
    """An AWS-shaped error outside any service model (auth, unknown service)."""
    headers: Headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", code.encode("latin-1")),
        (b"x-amzn-requestid", request_id.encode("latin-1")),
    ]
    return status, headers, orjson.dumps({"message": message})


class ThinghubApp:
    """One endpoint for all three APIs; the SigV4 credential scope names the service."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.verifier = SigV4Verifier(
            hub.identities, max_skew_seconds=hub.settings.max_clock_skew_seconds
        )
        self._client_tokens: ClientTokens | None = None
        self._request_ids = UniqueIds()
        throttling = hub.settings.throttling
        self._throttle = Throttle(throttling) if throttling is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.hub.start()
                    self._client_tokens = ClientTokens(self.hub.store)
                    await self.hub.start_workers()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.hub.stop_workers()
                self.hub.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = self._request_ids.uuid()
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw_path.decode("latin-1")
        message = await receive()
        body: bytes | None = message.get("body", b"")
        if message.get("more_body", False):
            body = await _read_rest(body or b"", receive)
        if body is None:
            response = _plain_error(
                413,
                "RequestEntityTooLargeException",
                f"The request body exceeds {MAX_BODY_BYTES} bytes",
                request_id,
            )
        elif path.startswith(INTERNAL_PREFIX):
            response = await self._internal(scope, path, body, request_id)
        else:
            response = await self._api(scope, path, body, request_id)
        status, headers, payload = response
        headers.append((b"content-length", str(len(payload)).encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _api(self, scope: Scope, path: str, body: bytes, request_id: str) -> Response:
        method: str = scope["method"]
        query = scope["query_string"].decode("latin-1")
        headers = scope["headers"]
        try:
            verified = self.verifier.verify(method, path, query, headers, body)
        except AuthError as exc:
            return _plain_error(403, exc.code, exc.message, request_id)
        service = self.hub.services.get(verified.service)
        if service is None:
            served = ", ".join(sorted(self.hub.services))
            message = f"thinghub does not serve {verified.service!r}; it serves {served}"
            return _plain_error(404, "UnknownServiceException", message, request_id)
        operation: CompiledOperation | None = None
        try:
            operation, labels = service.router.match(method, path)
            if self._throttle is not None:  # before parsing: a throttled request costs little
                self._throttle.check(verified.identity.account_id, service.name, operation.name)
            params = operation.parse(labels, query, headers, body)
            registered = self.hub.handlers.get(service.name, operation.name)
            if registered is None:
                raise _not_implemented(service, operation)
            ctx = RequestContext(
                self.hub,
                verified.identity.account_id,
                verified.region,
                service.name,
                operation.name,
                request_id,
            )
            member = operation.idempotency_member
            if member is not None and params.get(member) is not None:
                return await self._idempotent(service, operation, registered, ctx, params)
            # The common path stays flat: no extra coroutine for a synchronous handler.
            result = registered.handler(ctx, params)
            if registered.is_async:
                result = await result  # type: ignore[misc]
            status, out_headers, payload = operation.serialize(result)  # type: ignore[arg-type]
            out_headers.append(_request_id_header(request_id))
            return status, out_headers, payload
        except ServiceError as exc:
            return service.render_error(exc, request_id)
        except ValidationFailure as exc:
            return _invalid(service, operation, exc.message, request_id)
        except MalformedBody as exc:
            return _invalid(service, operation, exc.message, request_id)
        except InvalidPageToken:
            return _invalid(service, operation, "The nextToken is invalid or expired", request_id)
        except RouteNotFound as exc:
            code = "UnknownOperationException" if exc.status == 404 else "MethodNotAllowedException"
            status, out_headers, payload = _plain_error(exc.status, code, exc.message, request_id)
            if exc.allowed:
                out_headers.append((b"allow", ", ".join(exc.allowed).encode("latin-1")))
            return status, out_headers, payload
        except Exception:
            log.exception("request %s failed", request_id)
            code = operation.internal_error if operation else "InternalFailureException"
            error = ServiceError(
                code, f"An internal error occurred (request id {request_id})", status=500
            )
            return service.render_error(error, request_id)

    async def _idempotent(
        self,
        service: CompiledService,
        operation: CompiledOperation,
        registered: Registered,
        ctx: RequestContext,
        params: dict[str, Any],
    ) -> Response:
        """Run a handler under its ClientToken: a retry replays the first answer."""
        member = operation.idempotency_member
        tokens = self._client_tokens
        assert member is not None and tokens is not None
        token = params[member]
        conflict = service.pick_error(
            operation.error_codes, ("ConflictException", operation.validation_error)
        )
        digest = request_hash(params, member)
        replay = tokens.claim(ctx.scope, operation.name, token, digest, ctx.now, conflict)
        if replay is not None:
            status, payload = replay
            return status, [*JSON_HEADERS, _request_id_header(ctx.request_id)], payload
        try:
            result = registered.handler(ctx, params)
            if registered.is_async:
                result = await result  # type: ignore[misc]
            status, headers, payload = operation.serialize(result)  # type: ignore[arg-type]
        except BaseException:
            tokens.release(ctx.scope, operation.name, token)
            raise
        tokens.complete(ctx.scope, operation.name, token, status, payload)
        headers.append(_request_id_header(ctx.request_id))
        return status, headers, payload

    async def _internal(self, scope: Scope, path: str, body: bytes, request_id: str) -> Response:
        """thinghub's own endpoints: health, the manual clock, and the services' pages."""
        method: str = scope["method"]
        route = self.hub.routes.get((method, path))
        if route is not None:
            return await _serve_page(route, scope, method, path, body, request_id)
        if path == "/_thinghub/health" and method in ("GET", "HEAD"):
            document = {"status": "ok", "version": __version__, "clock": self.hub.settings.clock}
            return 200, list(JSON_HEADERS), orjson.dumps(document)
        clock = self.hub.clock
        if path == "/_thinghub/clock" and isinstance(clock, ManualClock):
            if method == "GET":
                return 200, list(JSON_HEADERS), orjson.dumps(_clock_document(clock.now()))
            if method == "POST":
                return await _advance_clock(clock, body, request_id)
            return _plain_error(
                405,
                "MethodNotAllowedException",
                f"Method {method} is not allowed on {path}",
                request_id,
            )
        return _plain_error(404, "NotFoundException", f"No such endpoint: {path}", request_id)


def _not_implemented(service: CompiledService, operation: CompiledOperation) -> ServiceError:
    code = (
        "UnsupportedOperationException"
        if "UnsupportedOperationException" in service.errors
        else "NotImplementedException"
    )
    message = f"thinghub does not implement {service.name}:{operation.name} yet"
    return ServiceError(code, message, status=501)


async def _serve_page(
    route: HttpHandler, scope: Scope, method: str, path: str, body: bytes, request_id: str
) -> Response:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    request = HttpRequest(
        method, path, query_values(scope["query_string"].decode("latin-1")), headers, body
    )
    try:
        page = await route(request)
    except Exception:
        log.exception("page %s %s failed (request %s)", method, path, request_id)
        return _plain_error(
            500, "InternalFailure", f"Internal error (request id {request_id})", request_id
        )
    out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in page.headers.items()]
    return page.status, out, page.body


def _request_id_header(request_id: str) -> tuple[bytes, bytes]:
    return (b"x-amzn-requestid", request_id.encode("latin-1"))


def _invalid(
    service: CompiledService, operation: CompiledOperation | None, message: str, request_id: str
) -> Response:
    code = (
        operation.validation_error
        if operation
        else service.pick_error(frozenset(), ("ValidationException", "InvalidRequestException"))
    )
    return service.render_error(ServiceError(code, message), request_id)


def _clock_document(now: float) -> dict[str, Any]:
    import datetime as dt

    iso = dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z")
    return {"epochSeconds": now, "time": iso}


async def _advance_clock(clock: ManualClock, body: bytes, request_id: str) -> Response:
    try:
        document = orjson.loads(body or b"{}")
        seconds = document["advanceSeconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        message = 'Send {"advanceSeconds": N} with N a number >= 0'
        return _plain_error(400, "ValidationException", message, request_id)
    now = await clock.advance(float(seconds))
    return 200, list(JSON_HEADERS), orjson.dumps(_clock_document(now))


async def _read_rest(first: bytes, receive: Receive) -> bytes | None:
    """The rest of a body sent in several messages, or None past MAX_BODY_BYTES."""
    chunks = [first]
    size = len(first)
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
