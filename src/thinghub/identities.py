"""Who may call thinghub: SigV4 access keys, each bound to one account."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

DEFAULT_ACCESS_KEY = "test"
DEFAULT_SECRET_KEY = "test"
DEFAULT_ACCOUNT_ID = "000000000000"

_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True, slots=True)
class Identity:
    """An access key pair and the account whose resources it may touch."""

    access_key: str
    secret_key: str
    account_id: str

    def __post_init__(self) -> None:
        if not self.access_key or not self.secret_key:
            raise ValueError("an identity needs a non-empty access key and secret key")
        if not _ACCOUNT_ID.match(self.account_id):
            raise ValueError(f"account id {self.account_id!r} must be 12 digits")


DEFAULT_IDENTITY = Identity(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, DEFAULT_ACCOUNT_ID)


class IdentityRegistry:
    """Looks identities up by access key."""

    def __init__(self, identities: Iterable[Identity]) -> None:
        self._by_key: dict[str, Identity] = {}
        for identity in identities:
            if identity.access_key in self._by_key:
                raise ValueError(f"access key {identity.access_key!r} is defined twice")
            self._by_key[identity.access_key] = identity

    def get(self, access_key: str) -> Identity | None:
        return self._by_key.get(access_key)

    def __iter__(self) -> Iterator[Identity]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)
