"""When each linked association's tokens are next due for a refresh, across all accounts.

One resource of kind ``oauth-refresh`` per association with tokens worth refreshing, in
`GLOBAL_SCOPE` (the worker serves every account), id ``{account}/{region}/{association}``,
attrs ``AccountId``, ``Region``, ``AccountAssociationId``, ``DueAt``. A node claims a due
entry by moving its ``DueAt`` a lease ahead with an optimistic version check, so with several
nodes on one database each refresh runs on exactly one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from thinghub.integrations.association_records import GLOBAL_SCOPE
from thinghub.store import (
    AlreadyExists,
    NotFound,
    ResourceStore,
    Scope,
    VersionConflict,
)

KIND = "oauth-refresh"
PAGE = 500


@dataclass(frozen=True)
class DueRefresh:
    scope: Scope
    association_id: str


def _key(scope: Scope, association_id: str) -> str:
    return f"{scope.account_id}/{scope.region}/{association_id}"


def set_due(
    store: ResourceStore, scope: Scope, association_id: str, due_at: float | None, now: float
) -> None:
    """Refresh the association at `due_at` (None: never, on a schedule)."""
    key = _key(scope, association_id)
    if due_at is None:
        store.delete(GLOBAL_SCOPE, KIND, key)
        return
    attrs = {
        "AccountId": scope.account_id,
        "Region": scope.region,
        "AccountAssociationId": association_id,
        "DueAt": due_at,
    }
    for _ in range(4):
        try:
            store.update(GLOBAL_SCOPE, KIND, key, attrs=attrs, now=now)
            return
        except NotFound:
            pass
        try:
            store.create(GLOBAL_SCOPE, KIND, key, attrs=attrs, now=now)
            return
        except AlreadyExists:
            continue  # created by someone else meanwhile: update it


def clear(store: ResourceStore, scope: Scope, association_id: str) -> None:
    store.delete(GLOBAL_SCOPE, KIND, _key(scope, association_id))


def take_due(store: ResourceStore, now: float, lease: float) -> list[DueRefresh]:
    """The entries due at `now`, each claimed for `lease` seconds by this caller."""
    claimed: list[DueRefresh] = []
    token: str | None = None
    while True:
        page, token = store.list_page(
            GLOBAL_SCOPE, KIND, max_results=PAGE, next_token=token, binding="due"
        )
        for entry in page:
            attrs = entry.attrs
            if attrs["DueAt"] > now:
                continue
            try:
                store.update(
                    GLOBAL_SCOPE,
                    KIND,
                    entry.id,
                    attrs={**attrs, "DueAt": now + lease},
                    now=now,
                    expected_version=entry.version,
                )
            except (VersionConflict, NotFound):
                continue  # claimed or cleared by someone else
            scope = Scope(attrs["AccountId"], attrs["Region"])
            claimed.append(DueRefresh(scope, attrs["AccountAssociationId"]))
        if token is None:
            return claimed
