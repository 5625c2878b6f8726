"""The rest-json protocol of one service, compiled from its model at start-up.

`CompiledService.operation_for` routes a request; `CompiledOperation.parse` turns it into the
params dict a handler receives; `CompiledOperation.serialize` turns the handler's dict into the
response botocore expects; `CompiledService.render_error` answers errors as AWS does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

from thinghub.wire.errors import ServiceError, ValidationFailure
from thinghub.wire.routing import Router
from thinghub.wire.shapes import (
    Converter,
    Problems,
    Serializer,
    ShapeCompiler,
    http_date,
    parse_timestamp,
    problem,
)

Headers = list[tuple[bytes, bytes]]
Response = tuple[int, Headers, bytes]

JSON_HEADERS: Headers = [(b"content-type", b"application/json")]

_VALIDATION_CODES = ("ValidationException", "InvalidRequestException")
_INTERNAL_CODES = ("InternalServerException", "InternalFailureException")


@dataclass(frozen=True, slots=True)
class ErrorShape:
    code: str
    status: int
    message_member: str


@dataclass(frozen=True, slots=True)
class _Bound:
    """A member bound to a part of the HTTP request other than the JSON body."""

    name: str
    wire: str
    type_name: str
    shape: Shape


def query_values(raw_query: str) -> dict[str, list[str]]:
    """Query parameters by name, in order, form-decoded (`+` is a space, as SigV4 signs it)."""
    values: dict[str, list[str]] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in part or "+" in part:
            key, value = unquote_plus(key), unquote_plus(value)
        values.setdefault(key, []).append(value)
    return values


def _text_to_value(type_name: str, text: str, path: str, problems: Problems) -> Any:
    """Typed value of a path, query or header string (before shape constraints are checked)."""
    try:
        if type_name in ("integer", "long"):
            return int(text)
        if type_name in ("float", "double"):
            return float(text)
        if type_name == "boolean":
            if text in ("true", "false"):
                return text == "true"
            raise ValueError(text)
        if type_name == "timestamp":
            return parse_timestamp(text)
    except (ValueError, OverflowError):
        kind = {"boolean": "a boolean", "timestamp": "a timestamp"}.get(type_name, "a number")
        problems.append(problem(text, path, f"be {kind}"))
        return None
    return text


class CompiledOperation:
    """One operation: how to parse its request and serialize its response."""

    def __init__(
        self, service: CompiledService, model: OperationModel, compiler: ShapeCompiler
    ) -> None:
        http = model.http
        self.service = service
        self.name: str = model.name
        self.method: str = http["method"]
        self.uri: str = http["requestUri"]
        self.status: int = int(http.get("responseCode", 200))
        self.error_codes = frozenset(shape.name for shape in model.error_shapes)
        self.validation_error = service.pick_error(self.error_codes, _VALIDATION_CODES)
        self.internal_error = service.pick_error(self.error_codes, _INTERNAL_CODES)
        self.idempotency_member: str | None = next(iter(model.idempotent_members), None)
        self._compile_input(model.input_shape, compiler)
        self._compile_output(model.output_shape, compiler)

    # ----- request ----------------------------------------------------------------------

    def _compile_input(self, shape: StructureShape | None, compiler: ShapeCompiler) -> None:
        self._convert: Converter | None = compiler.converter(shape) if shape else None
        self._labels: tuple[_Bound, ...] = ()
        self._query: tuple[_Bound, ...] = ()
        self._query_map: str | None = None
        self._headers: tuple[_Bound, ...] = ()
        self._header_maps: tuple[tuple[str, bytes], ...] = ()
        self._payload: _Bound | None = None
        self._body_members: frozenset[str] = frozenset()
        if shape is None:
            return
        labels, query, headers, header_maps, body = [], [], [], [], []
        payload = shape.serialization.get("payload")
        for name, ref in shape.members.items():
            where = ref.serialization.get("location")
            bound = _Bound(name, ref.serialization.get("name", name), ref.type_name, ref)
            if where == "uri":
                labels.append(bound)
            elif where == "querystring":
                if ref.type_name == "map":
                    self._query_map = name
                else:
                    query.append(bound)
            elif where == "header":
                headers.append(_Bound(name, bound.wire.lower(), ref.type_name, ref))
            elif where == "headers":
                header_maps.append((name, bound.wire.lower().encode("latin-1")))
            elif name == payload:
                self._payload = bound
            else:
                body.append(name)
        self._labels, self._query = tuple(labels), tuple(query)
        self._headers, self._header_maps = tuple(headers), tuple(header_maps)
        self._body_members = frozenset(body)

    def parse(
        self,
        labels: dict[str, str],
        raw_query: str,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
    ) -> dict[str, Any]:
        """The handler's params, or ValidationFailure naming every broken constraint."""
        if self._convert is None:
            return {}
        problems: Problems = []
        params = self._body(body, problems)
        for bound in self._labels:
            text = labels.get(bound.wire)
            if text:
                params[bound.name] = _text_to_value(bound.type_name, text, bound.name, problems)
        if (self._query or self._query_map) and raw_query:
            self._parse_query(raw_query, params, problems)
        if self._headers or self._header_maps:
            self._parse_headers(headers, params, problems)
        converted = self._convert(params, "", problems)
        if problems:
            raise ValidationFailure(problems)
        return converted

    def _body(self, body: bytes, problems: Problems) -> dict[str, Any]:
        if self._payload is not None:
            return self._payload_body(body, problems)
        if not self._body_members or not body.strip():
            return {}
        document = _json_object(body)
        if len(document) and not document.keys() <= self._body_members:
            # Keys bound elsewhere (path, query) or unknown must not shadow real bindings.
            document = {k: v for k, v in document.items() if k in self._body_members}
        return document

    def _payload_body(self, body: bytes, problems: Problems) -> dict[str, Any]:
        bound = self._payload
        assert bound is not None
        if not body:
            return {}
        if bound.type_name == "blob":
            return {bound.name: base64.b64encode(body).decode("ascii")}
        if bound.type_name == "string":
            return {bound.name: body.decode("utf-8", errors="replace")}
        return {bound.name: _json_object(body)}

    def _parse_query(self, raw_query: str, params: dict[str, Any], problems: Problems) -> None:
        values = query_values(raw_query)
        for bound in self._query:
            found = values.pop(bound.wire, None)
            if found is None:
                continue
            if bound.type_name == "list":
                member_type = bound.shape.member.type_name
                params[bound.name] = [
                    _text_to_value(member_type, v, bound.name, problems) for v in found
                ]
            else:
                params[bound.name] = _text_to_value(bound.type_name, found[0], bound.name, problems)
        if self._query_map and values:
            params[self._query_map] = {k: v[0] for k, v in values.items()}

    def _parse_headers(
        self, headers: Sequence[tuple[bytes, bytes]], params: dict[str, Any], problems: Problems
    ) -> None:
        by_name = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
        for bound in self._headers:
            text = by_name.get(bound.wire)
            if text is None:
                continue
            if bound.shape.serialization.get("jsonvalue"):
                try:
                    params[bound.name] = orjson.loads(base64.b64decode(text))
                except (binascii.Error, ValueError):
                    problems.append(problem(text, bound.name, "be base64-encoded JSON"))
            elif bound.type_name == "list":
                member_type = bound.shape.member.type_name
                params[bound.name] = [
                    _text_to_value(member_type, v.strip(), bound.name, problems)
                    for v in text.split(",")
                ]
            else:
                params[bound.name] = _text_to_value(bound.type_name, text, bound.name, problems)
        for name, prefix in self._header_maps:
            found = {
                k[len(prefix) :].decode("latin-1"): v.decode("latin-1")
                for k, v in headers
                if k.startswith(prefix)
            }
            if found:
                params[name] = found

    # ----- response ---------------------------------------------------------------------

    def _compile_output(self, shape: StructureShape | None, compiler: ShapeCompiler) -> None:
        self._has_output = shape is not None
        self._serialize_body: Serializer | None = None
        self._out_headers: tuple[tuple[str, bytes, str, bool], ...] = ()
        self._out_header_maps: tuple[tuple[str, str], ...] = ()
        self._out_status: str | None = None
        if shape is None:
            return
        self._serialize_body = compiler.structure_serializer(shape, force=True)
        headers, header_maps = [], []
        for name, ref in shape.members.items():
            where = ref.serialization.get("location")
            wire = ref.serialization.get("name", name)
            if where == "header":
                jsonvalue = bool(ref.serialization.get("jsonvalue"))
                headers.append((name, wire.lower().encode("latin-1"), ref.type_name, jsonvalue))
            elif where == "headers":
                header_maps.append((name, wire.lower()))
            elif where == "statusCode":
                self._out_status = name
        self._out_headers, self._out_header_maps = tuple(headers), tuple(header_maps)

    def serialize(self, result: dict[str, Any] | None) -> Response:
        """Status, headers and body for a handler's result."""
        status = self.status
        headers = list(JSON_HEADERS)
        if result is None or not self._has_output:
            return status, headers, b"" if status == 204 or not self._has_output else b"{}"
        if self._out_status is not None and result.get(self._out_status) is not None:
            status = int(result[self._out_status])
        for name, wire, type_name, jsonvalue in self._out_headers:
            value = result.get(name)
            if value is not None:
                headers.append((wire, _header_text(value, type_name, jsonvalue).encode("latin-1")))
        for name, prefix in self._out_header_maps:
            for key, value in (result.get(name) or {}).items():
                headers.append(((prefix + key).lower().encode("latin-1"), str(value).encode()))
        if status == 204:
            return status, headers, b""
        assert self._serialize_body is not None
        return status, headers, orjson.dumps(self._serialize_body(result))


def _header_text(value: Any, type_name: str, jsonvalue: bool) -> str:
    if jsonvalue:
        return base64.b64encode(orjson.dumps(value)).decode("ascii")
    if type_name == "timestamp":
        return http_date(value)
    if type_name == "boolean":
        return "true" if value else "false"
    if type_name == "blob":
        return base64.b64encode(value).decode("ascii")
    if type_name == "list":
        return ",".join(str(v) for v in value)
    return str(value)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        kind = type(document).__name__.replace("NoneType", "null")
        raise MalformedBody(f"The request body must be a JSON object, not {kind}")
    return document


class MalformedBody(Exception):
    """The body cannot be read at all (not JSON, not an object)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CompiledService:
    """Every operation of one service model, its router and its error shapes."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.name: str = model.service_name
        self.signing_name: str = model.signing_name
        self.api_version: str = model.api_version
        self.errors: dict[str, ErrorShape] = {}
        for shape in model.error_shapes:
            members = getattr(shape, "members", {})
            message_member = next((m for m in ("message", "Message") if m in members), "message")
            status = int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
            code = shape.error_code or shape.name
            self.errors[code] = ErrorShape(code, status, message_member)
        compiler = ShapeCompiler()
        self.operations: dict[str, CompiledOperation] = {}
        self.router: Router[CompiledOperation] = Router()
        for name in model.operation_names:
            operation = CompiledOperation(self, model.operation_model(name), compiler)
            self.operations[name] = operation
            self.router.add(operation.method, operation.uri, operation)

    def pick_error(self, preferred_in: frozenset[str], candidates: Sequence[str]) -> str:
        """The first candidate the operation models, else the first the service models."""
        for code in candidates:
            if code in preferred_in:
                return code
        for code in candidates:
            if code in self.errors:
                return code
        return candidates[0]

    def render_error(self, error: ServiceError, request_id: str) -> Response:
        """An AWS rest-json error: x-amzn-ErrorType header, JSON body, status from the model."""
        shape = self.errors.get(error.code)
        status = error.status or (shape.status if shape else 400)
        member = shape.message_member if shape else "message"
        body: dict[str, Any] = {member: error.message}
        body.update({k: v for k, v in error.fields.items() if v is not None})
        headers: Headers = [
            (b"content-type", b"application/json"),
            (b"x-amzn-errortype", error.code.encode("latin-1")),
            (b"x-amzn-requestid", request_id.encode("latin-1")),
        ]
        return status, headers, orjson.dumps(body)


ErrorRenderer = Callable[[ServiceError, str], Response]
