"""Model-wide: every operation of the three APIs routes, validates and answers AWS-style."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from tests.conftest import make_client
from tests.shapegen import valid_value
from thinghub.wire.models import SERVICE_NAMES, load_service_model

MODELS = {name: load_service_model(name) for name in SERVICE_NAMES}
OPERATIONS = [(service, op) for service, model in MODELS.items() for op in model.operation_names]
NOT_ROUTED = {"UnknownOperationException", "MethodNotAllowedException"}
VALIDATION = {"ValidationException", "InvalidRequestException"}


def _clients(server: Any) -> dict[str, Any]:
    return {name: make_client(server, name, validate=False) for name in SERVICE_NAMES}


@pytest.fixture(scope="module")
def clients(server: Any) -> dict[str, Any]:
    return _clients(server)


def _snake(client: Any, operation: str) -> str:
    for python_name, api_name in client.meta.method_to_api_mapping.items():
        if api_name == operation:
            return str(python_name)
    raise LookupError(operation)


def _valid_params(service: str, operation: str) -> dict[str, Any]:
    shape = MODELS[service].operation_model(operation).input_shape
    return valid_value(shape) if shape is not None else {}


def test_the_three_models_have_121_operations() -> None:
    assert len(OPERATIONS) == 121


@pytest.mark.parametrize(
    ("service", "operation"), OPERATIONS, ids=[f"{s}:{o}" for s, o in OPERATIONS]
)
def test_every_operation_routes(clients: dict[str, Any], service: str, operation: str) -> None:
    client = clients[service]
    params = _valid_params(service, operation)
    try:
        getattr(client, _snake(client, operation))(**params)
    except botocore.exceptions.ClientError as exc:
        error = exc.response["Error"]
        assert error["Code"] not in NOT_ROUTED, error
        assert error["Code"] not in VALIDATION or "validation error" not in error["Message"], error
        if error["Code"] in ("NotImplementedException", "UnsupportedOperationException"):
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 501
            assert f"{service}:{operation}" in error["Message"]


REQUIRED = [
    (service, op, member, MODELS[service].operation_model(op).input_shape.members[member])
    for service, op in OPERATIONS
    if MODELS[service].operation_model(op).input_shape is not None
    for member in MODELS[service].operation_model(op).input_shape.required_members
]


@pytest.mark.parametrize(
    ("service", "operation", "member", "ref"),
    REQUIRED,
    ids=[f"{s}:{o}.{m}" for s, o, m, _ in REQUIRED],
)
def test_missing_required_member_is_named(
    clients: dict[str, Any], service: str, operation: str, member: str, ref: Any
) -> None:
    client = clients[service]
    params = _valid_params(service, operation)
    if ref.serialization.get("location") == "uri":
        params[member] = ""  # an empty path label is how a missing one reaches the wire
    else:
        del params[member]
    expected = MODELS[service].operation_model(operation)
    codes = {shape.name for shape in expected.error_shapes} & VALIDATION
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        getattr(client, _snake(client, operation))(**params)
    error = caught.value.response["Error"]
    assert error["Code"] in (codes or VALIDATION), error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        f"Value null at '{member}' failed to satisfy constraint: Member must not be null"
        in (error["Message"])
    ), error
    # botocore raises the modelled exception class, not a bare ClientError.
    assert type(caught.value).__name__ == error["Code"]
