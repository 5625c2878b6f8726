"""The errors the IoT Events control plane answers, as its model spells them."""

from __future__ import annotations

from thinghub.wire.errors import ServiceError


def invalid_request(message: str) -> ServiceError:
    return ServiceError("InvalidRequestException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


def already_exists(message: str, resource_id: str, resource_arn: str) -> ServiceError:
    return ServiceError(
        "ResourceAlreadyExistsException", message, resourceId=resource_id, resourceArn=resource_arn
    )


def in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUseException", message)


def limit_exceeded(message: str) -> ServiceError:
    return ServiceError("LimitExceededException", message)
