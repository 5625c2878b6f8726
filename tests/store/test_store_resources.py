from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from thinghub.store import (
    AlreadyExists,
    NotFound,
    Resource,
    ResourceStore,
    Scope,
    VersionConflict,
    arn,
)
from thinghub.store.tables import resource_index

NOW = 1_700_000_000.25
KIND = "cloud-connector"


def _arn(scope: Scope, id: str) -> str:
    return arn("iotmanagedintegrations", scope.region, scope.account_id, f"cloud-connector/{id}")


def _create(store: ResourceStore, scope: Scope, id: str, **kw: Any) -> Resource:
    kw.setdefault("attrs", {"Id": id})
    kw.setdefault("now", NOW)
    return store.create(scope, KIND, id, **kw)


def test_create_and_get(store: ResourceStore, scope: Scope) -> None:
    attrs = {"Name": "héllo ✓", "Nested": {"List": [1, 2.5, None, True]}, "Big": 2**53}
    a = _arn(scope, "c1")
    created = _create(store, scope, "c1", attrs=attrs, arn=a, name="first")
    assert created == Resource(KIND, "c1", a, "first", attrs, NOW, NOW, 1)

    assert store.get(scope, KIND, "c1") == created
    assert store.get_by_name(scope, KIND, "first") == created
    assert store.get_by_arn(scope, a) == created
    assert isinstance(created.created_at, float)


def test_get_missing(store: ResourceStore, scope: Scope) -> None:
    _create(store, scope, "c1", name="n1", arn=_arn(scope, "c1"))
    assert store.get(scope, KIND, "nope") is None
    assert store.get(scope, "other-kind", "c1") is None
    assert store.get_by_name(scope, KIND, "nope") is None
    assert store.get_by_name(scope, "other-kind", "n1") is None
    assert store.get_by_arn(scope, _arn(scope, "nope")) is None


def test_duplicate_id_and_name(store: ResourceStore, scope: Scope) -> None:
    _create(store, scope, "c1", name="n1")
    with pytest.raises(AlreadyExists, match="'c1'"):
        _create(store, scope, "c1", name="other")
    with pytest.raises(AlreadyExists, match="'n1'"):
        _create(store, scope, "c2", name="n1")
    # Neither failed attempt left anything behind.
    assert store.get(scope, KIND, "c2") is None
    assert store.get_by_name(scope, KIND, "other") is None
    # Same id or name under another kind is fine, and unnamed resources never collide.
    store.create(scope, "iotevents:input", "c1", attrs={}, now=NOW, name="n1")
    _create(store, scope, "c3")
    _create(store, scope, "c4")
    assert store.count(scope, KIND) == 3


def test_failed_create_keeps_the_transaction_usable(store: ResourceStore, scope: Scope) -> None:
    # On PostgreSQL a failed statement would abort the whole transaction; create must not.
    with store.transaction() as conn:
        _create(store, scope, "c1", conn=conn)
        with pytest.raises(AlreadyExists):
            _create(store, scope, "c1", conn=conn)
        _create(store, scope, "c2", conn=conn)
    assert store.get(scope, KIND, "c1") is not None
    assert store.get(scope, KIND, "c2") is not None


def test_transaction_commits_together_and_rolls_back(store: ResourceStore, scope: Scope) -> None:
    a = _arn(scope, "c1")
    with store.transaction() as conn:
        _create(store, scope, "c1", arn=a, conn=conn)
        store.tag(scope, a, {"k": "v"}, conn=conn)
        # Reads on the same connection see the uncommitted writes.
        assert store.get(scope, KIND, "c1", conn=conn) is not None
        assert len(store.list_page(scope, KIND, max_results=5, next_token=None, conn=conn)[0]) == 1
    assert store.list_tags(scope, a) == {"k": "v"}

    with pytest.raises(RuntimeError), store.transaction() as conn:
        _create(store, scope, "c2", conn=conn)
        store.update(scope, KIND, "c1", attrs={"x": 1}, now=NOW + 1, conn=conn)
        raise RuntimeError("handler failed")
    assert store.get(scope, KIND, "c2") is None
    current = store.get(scope, KIND, "c1")
    assert current is not None and current.version == 1 and current.attrs == {"Id": "c1"}


def test_update_replaces_attrs_and_bumps_version(store: ResourceStore, scope: Scope) -> None:
    created = _create(store, scope, "c1", name="n1", attrs={"a": 1, "b": 2})
    updated = store.update(scope, KIND, "c1", attrs={"a": 3}, now=NOW + 5)
    assert updated == Resource(KIND, "c1", None, "n1", {"a": 3}, NOW, NOW + 5, 2)
    assert store.get(scope, KIND, "c1") == updated
    again = store.update(scope, KIND, "c1", attrs={}, now=NOW + 6, expected_version=2)
    assert again.version == 3
    assert created.version == 1


def test_version_conflict_and_not_found(store: ResourceStore, scope: Scope) -> None:
    _create(store, scope, "c1")
    store.update(scope, KIND, "c1", attrs={"v": 2}, now=NOW)
    with pytest.raises(VersionConflict):
        store.update(scope, KIND, "c1", attrs={"v": 3}, now=NOW, expected_version=1)
    current = store.get(scope, KIND, "c1")
    assert current is not None and current.attrs == {"v": 2} and current.version == 2
    with pytest.raises(NotFound):
        store.update(scope, KIND, "missing", attrs={}, now=NOW)
    with pytest.raises(NotFound):
        store.update(scope, KIND, "missing", attrs={}, now=NOW, expected_version=1)


def test_update_index(store: ResourceStore, scope: Scope) -> None:
    _create(store, scope, "c1", index={"status": "ACTIVE", "type": ["a", "b"]})
    assert store.count(scope, KIND, {"status": "ACTIVE"}) == 1
    assert store.count(scope, KIND, {"type": "b"}) == 1

    store.update(scope, KIND, "c1", attrs={}, now=NOW)  # index=None keeps the entries
    assert store.count(scope, KIND, {"status": "ACTIVE"}) == 1

    store.update(scope, KIND, "c1", attrs={}, now=NOW, index={"status": "DELETING"})
    assert store.count(scope, KIND, {"status": "ACTIVE"}) == 0
    assert store.count(scope, KIND, {"type": "b"}) == 0
    assert store.count(scope, KIND, {"status": "DELETING"}) == 1

    store.update(scope, KIND, "c1", attrs={}, now=NOW, index={})
    assert store.count(scope, KIND, {"status": "DELETING"}) == 0


def test_delete_removes_tags_and_index_rows(store: ResourceStore, scope: Scope) -> None:
    a = _arn(scope, "c1")
    marker = f"marker-{scope.account_id}"
    created = _create(
        store, scope, "c1", arn=a, name="n1", index={"m": marker}, tags={"k1": "v1", "k2": "v2"}
    )
    assert store.list_tags(scope, a) == {"k1": "v1", "k2": "v2"}

    assert store.delete(scope, KIND, "c1") == created
    assert store.get(scope, KIND, "c1") is None
    assert store.get_by_name(scope, KIND, "n1") is None
    assert store.get_by_arn(scope, a) is None
    assert store.list_tags(scope, a) == {}
    with store.engine.connect() as conn:
        left = conn.execute(
            sa.select(sa.func.count())
            .select_from(resource_index)
            .where(resource_index.c.field == "m", resource_index.c.value == marker)
        ).scalar_one()
    assert left == 0
    assert store.delete(scope, KIND, "c1") is None
    # The id and name are free again.
    _create(store, scope, "c1", name="n1")


def test_scopes_are_isolated(store: ResourceStore, new_account: Callable[[], str]) -> None:
    account_a, account_b = new_account(), new_account()
    scopes = [
        Scope(account_a, "us-east-1"),
        Scope(account_b, "us-east-1"),  # another account, same region
        Scope(account_a, "eu-west-1"),  # same account, another region
    ]
    for i, s in enumerate(scopes):
        # Identical kind, id, name and ARN string in every scope: no conflict.
        store.create(
            s,
            KIND,
            "shared",
            attrs={"owner": i},
            now=NOW,
            arn="arn:aws:x:::shared",
            name="shared-name",
            index={"color": "red"},
            tags={"owner": str(i)},
        )
        store.create(s, KIND, f"only-{i}", attrs={}, now=NOW)

    for i, s in enumerate(scopes):
        got = store.get(s, KIND, "shared")
        assert got is not None and got.attrs == {"owner": i}
        by_name = store.get_by_name(s, KIND, "shared-name")
        assert by_name is not None and by_name.attrs == {"owner": i}
        by_arn = store.get_by_arn(s, "arn:aws:x:::shared")
        assert by_arn is not None and by_arn.attrs == {"owner": i}
        assert store.list_tags(s, "arn:aws:x:::shared") == {"owner": str(i)}
        page, _ = store.list_page(s, KIND, max_results=100, next_token=None)
        assert [r.id for r in page] == ["shared", f"only-{i}"]
        assert store.count(s, KIND) == 2
        assert store.count(s, KIND, {"color": "red"}) == 1
        for j in range(len(scopes)):
            if j != i:
                assert store.get(s, KIND, f"only-{j}") is None

    # Writes in one scope leave the others alone.
    store.update(scopes[0], KIND, "shared", attrs={"owner": "changed"}, now=NOW + 1)
    store.untag(scopes[1], "arn:aws:x:::shared", ["owner"])
    store.delete(scopes[2], KIND, "shared")
    assert store.get(scopes[1], KIND, "shared") is not None
    assert store.get(scopes[1], KIND, "shared").attrs == {"owner": 1}  # type: ignore[union-attr]
    assert store.list_tags(scopes[0], "arn:aws:x:::shared") == {"owner": "0"}
    assert store.get(scopes[0], KIND, "shared") is not None
    with pytest.raises(NotFound):
        store.update(scopes[2], KIND, "shared", attrs={}, now=NOW)
    assert store.delete(Scope(new_account(), "us-east-1"), KIND, "shared") is None


def test_create_with_tags_requires_an_arn(store: ResourceStore, scope: Scope) -> None:
    with pytest.raises(ValueError):
        _create(store, scope, "c1", tags={"k": "v"})
    assert store.get(scope, KIND, "c1") is None
