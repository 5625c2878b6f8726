"""Per-account, per-operation request throttling with token buckets.

Off unless the config file says `[throttling] enabled = true`: a self-hosted hub must not slow
its owner down. When on, every (account, service, operation) has its own bucket; a request that
finds it empty is answered `429 ThrottlingException`, which the AWS SDKs retry.

```toml
[throttling]
enabled = true

[throttling.classes]            # optional: the rates of whole classes of operations
read = { rate = 100, burst = 200 }

[throttling.operations]         # optional: one operation, in every service that has it ...
SendConnectorEvent = { rate = 5, burst = 5 }
"iotevents:ListInputs" = { rate = 2 }   # ... or in one service; burst defaults to 2 x rate
```
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from thinghub.wire.errors import ServiceError
from thinghub.wire.models import SERVICE_NAMES, load_service_model

# Operations named in the config are checked against this: boto3 service name -> operations.
Catalogue = Mapping[str, Collection[str]]


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # tokens added per second
    burst: int  # bucket capacity: how many requests may arrive at once after a quiet spell

    def __str__(self) -> str:
        return f"{self.rate:g} requests/s, burst {self.burst}"


# The classes every operation falls in, and their rates when throttling is on.
MUTATING, READ, DATA = "mutating", "read", "data"
DEFAULT_CLASSES: Mapping[str, Limit] = {
    MUTATING: Limit(10.0, 20),
    READ: Limit(50.0, 100),
    DATA: Limit(100.0, 200),
}
_READ_PREFIXES = ("Get", "List", "Describe")
# Device traffic rather than management: high volume by design.
_DATA_OPERATIONS = {
    "iot-managed-integrations": frozenset({"SendConnectorEvent", "SendManagedThingCommand"}),
}


def operation_class(service: str, operation: str) -> str:
    """`data` for device traffic, `read` for Get/List/Describe, `mutating` for everything else.

    Everything that is neither data nor a read counts as mutating (Create, Update, Delete, Put,
    Reset, Start, Register, Deregister, Tag, Untag, ...): the strictest class is the safe guess.
    """
    if operation in _DATA_OPERATIONS.get(service, ()):
        return DATA
    # IoT Events data's Batch* operations carry device messages and detector updates.
    if service == "iotevents-data" and operation.startswith("Batch"):
        return DATA
    if operation.startswith(_READ_PREFIXES):
        return READ
    return MUTATING


@dataclass(frozen=True, slots=True)
class ThrottlingConfig:
    """The validated `[throttling]` section of an enabled configuration."""

    classes: Mapping[str, Limit]
    operations: Mapping[str, Limit]  # keyed "Operation" or "service:Operation"

    def limit_for(self, service: str, operation: str) -> Limit:
        """A service-qualified override, else a plain one, else the operation's class."""
        limit = self.operations.get(f"{service}:{operation}") or self.operations.get(operation)
        return limit or self.classes[operation_class(service, operation)]


def served_operations() -> dict[str, frozenset[str]]:
    """Every operation of the three served APIs, by boto3 service name."""
    return {name: frozenset(load_service_model(name).operation_names) for name in SERVICE_NAMES}


_SECTION_KEYS = {"enabled", "classes", "operations"}
_LIMIT_KEYS = {"rate", "burst"}


def parse_config(section: Any, catalogue: Catalogue | None = None) -> ThrottlingConfig | None:
    """The `[throttling]` table validated, or None when throttling is off.

    Raises ValueError with a message naming the offending key. A disabled section is still
    checked, so a mistake shows when it is written rather than when throttling is turned on.
    """
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ValueError("[throttling] must be a table")
    unknown = set(section) - _SECTION_KEYS
    if unknown:
        raise ValueError(f"unknown keys in [throttling]: {', '.join(sorted(unknown))}")
    enabled = section.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ValueError(f"[throttling] enabled must be true or false, not {enabled!r}")
    classes = dict(DEFAULT_CLASSES)
    for name, value in _table(section, "classes").items():
        if name not in DEFAULT_CLASSES:
            known = ", ".join(DEFAULT_CLASSES)
            raise ValueError(f"unknown class in [throttling.classes]: {name} (known: {known})")
        classes[name] = _limit(value, f"[throttling.classes] {name}")
    operations = _table(section, "operations")
    if operations:
        catalogue = served_operations() if catalogue is None else catalogue
    overrides = {}
    for key, value in operations.items():
        where = f"[throttling.operations] {key!r}"
        _check_operation(key, catalogue or {}, where)
        overrides[key] = _limit(value, where)
    return ThrottlingConfig(classes, overrides) if enabled else None


def _table(section: dict[str, Any], name: str) -> dict[str, Any]:
    value = section.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"[throttling.{name}] must be a table")
    return value


def _check_operation(key: str, catalogue: Catalogue, where: str) -> None:
    service, sep, operation = key.rpartition(":")
    if sep:
        if service not in catalogue:
            served = ", ".join(sorted(catalogue))
            raise ValueError(f"{where}: unknown service {service!r} (served: {served})")
        if operation not in catalogue[service]:
            raise ValueError(f"{where}: {service} has no operation {operation!r}")
    elif not any(operation in names for names in catalogue.values()):
        raise ValueError(f"{where}: no served API has an operation of that name")


def _limit(value: Any, where: str) -> Limit:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a table like {{ rate = 5, burst = 10 }}, not {value!r}")
    unknown = set(value) - _LIMIT_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(sorted(unknown))} (use rate, burst)")
    if "rate" not in value:
        raise ValueError(f"{where} lacks rate (requests per second)")
    rate = value["rate"]
    # bool is an int in Python but never a rate; inf and nan would break the bucket arithmetic.
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ValueError(f"{where}: rate must be a number of requests per second, not {rate!r}")
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{where}: rate must be a finite number > 0, not {rate!r}")
    burst = value.get("burst", max(1, math.ceil(2 * rate)))
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise ValueError(f"{where}: burst must be an integer >= 1, not {burst!r}")
    return Limit(float(rate), burst)


class _Bucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, limit: Limit, now: float) -> None:
        self.rate = limit.rate
        self.burst = float(limit.burst)
        self.tokens = self.burst  # a new bucket starts full: the first burst is always served
        self.stamp = now

    def take(self, now: float) -> bool:
        # Refill for the time since the last request instead of on a timer: no task, and exact.
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if tokens < 1.0:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1.0
        return True


class Throttle:
    """The buckets of a running hub.

    Only the event loop's thread calls it, so it needs no lock. Memory stays bounded: accounts
    come from the configured identities (only authenticated requests reach it) and operations
    from the service models, so there is at most one bucket per identity account and operation.
    """

    def __init__(
        self, config: ThrottlingConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # Real elapsed time on purpose: thinghub's manual clock must not refill or drain buckets.
        self._config = config
        self._clock = clock
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}

    def allow(self, account: str, service: str, operation: str) -> bool:
        """Take a token for one request; False when the bucket is empty."""
        now = self._clock()
        key = (account, service, operation)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._config.limit_for(service, operation), now)
        return bucket.take(now)

    def check(self, account: str, service: str, operation: str) -> None:
        """Raise the AWS `ThrottlingException` (429) when the request is over its limit."""
        if not self.allow(account, service, operation):
            limit = self._config.limit_for(service, operation)
            raise ServiceError(
                "ThrottlingException",
                f"Rate exceeded: {service}:{operation} allows {limit} per account",
                status=429,
            )
