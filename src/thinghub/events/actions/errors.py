"""Delivery failures, and which of them are worth another try."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)


class DeliveryError(Exception):
    """An action could not be delivered.

    `retryable` is True for transient causes (the peer is unreachable, throttles or fails
    internally): the outbox keeps the item and tries again. False means the item itself is at
    fault (unknown table, invalid value, missing field): another try would fail the same way.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def permanent(message: str) -> DeliveryError:
    return DeliveryError(message, retryable=False)


def transient(message: str) -> DeliveryError:
    return DeliveryError(message, retryable=True)


# Error codes that mean "not now" across the services the actions call. Everything else that
# a service answers with a 4xx status is a fault of the request and is permanent.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "TransactionInProgressException",
        "PriorRequestNotComplete",
        "ConflictingOperationException",
        "ResourceConflictException",
        "ResourceNotReadyException",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalFailureException",
        "InternalError",
        "InternalServerError",
        "InternalServerException",
        "ServiceException",
        "KMSThrottlingException",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)


def is_retryable_code(code: str) -> bool:
    return code in RETRYABLE_CODES


def from_botocore(exc: Exception, what: str) -> DeliveryError:
    """Classify a botocore failure of `what` (e.g. "sqs SendMessage")."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        retryable = is_retryable_code(code) or status >= 500 or status == 429
        message = error.get("Message") or str(exc)
        return DeliveryError(f"{what}: {code or status}: {message}", retryable=retryable)
    if isinstance(exc, ParamValidationError):
        return permanent(f"{what}: {exc}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        # An operator fixes the configuration; the items should survive until then.
        return transient(f"{what}: {exc}")
    if isinstance(exc, BotoCoreError):
        # Connection refused/reset, timeouts, DNS, TLS: the peer may come back.
        return transient(f"{what}: {exc}")
    return permanent(f"{what}: {type(exc).__name__}: {exc}")
