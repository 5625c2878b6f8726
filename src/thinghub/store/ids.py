"""Random resource ids and ARNs."""

from __future__ import annotations

import itertools
import os
import secrets
import string
from dataclasses import dataclass
from typing import Literal

_ALNUM_LOWER = string.digits + string.ascii_lowercase
# Bytes below this bound map uniformly onto the 36 symbols (7 * 36 = 252).
_ALNUM_BOUND = 252


def new_id(alphabet: Literal["hex", "alnum_lower"] = "hex", length: int = 32) -> str:
    """A cryptographically random id of `length` characters from `alphabet`."""
    if length < 1:
        raise ValueError("length must be positive")
    if alphabet == "hex":
        return secrets.token_hex((length + 1) // 2)[:length]
    if alphabet == "alnum_lower":
        out: list[str] = []
        while len(out) < length:
            # Rejection sampling keeps the distribution uniform; ~2% of bytes are dropped.
            out.extend(
                _ALNUM_LOWER[b % 36] for b in secrets.token_bytes(length) if b < _ALNUM_BOUND
            )
        return "".join(out[:length])
    raise ValueError(f"unknown alphabet {alphabet!r}")


class UniqueIds:
    """Ids of 32 hex digits for records and requests: a random 80-bit prefix per instance and
    a 48-bit counter starting at a random value. Unique, not secret (never use one as a
    token), and a fraction of the cost of uuid4, which reads the OS's random source each time.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """A new prefix and counter (a forked child must not repeat its parent's ids)."""
        head = secrets.token_hex(10)
        self._prefix = head
        # The same digits laid out as a version 4 UUID (version and variant digits set).
        self._uuid_prefix = f"{head[:8]}-{head[8:12]}-4{head[13:16]}-a{head[17:20]}-"
        self._next = itertools.count(secrets.randbelow(1 << 32)).__next__

    def new(self) -> str:
        return f"{self._prefix}{self._next() & 0xFFFFFFFFFFFF:012x}"

    def uuid(self) -> str:
        """The next id as a UUID (version 4 layout), as AWS request ids are."""
        return f"{self._uuid_prefix}{self._next() & 0xFFFFFFFFFFFF:012x}"


unique_ids = UniqueIds()
os.register_at_fork(after_in_child=unique_ids.reseed)


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account_id: str
    resource: str

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:{self.service}:{self.region}:{self.account_id}:{self.resource}"
        )


def arn(service: str, region: str, account_id: str, resource: str, partition: str = "aws") -> str:
    """`arn:aws:{service}:{region}:{account}:{resource}`."""
    return f"arn:{partition}:{service}:{region}:{account_id}:{resource}"


def parse_arn(value: str) -> Arn:
    """Split an ARN into its parts; the resource part may itself contain ':' and '/'."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"malformed ARN {value!r}")
    _, partition, service, region, account_id, resource = parts
    if not partition or not service or not resource:
        raise ValueError(f"malformed ARN {value!r}")
    return Arn(partition, service, region, account_id, resource)
