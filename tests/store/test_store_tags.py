from __future__ import annotations

from collections.abc import Callable

from thinghub.store import ResourceStore, Scope, arn

NOW = 1_700_000_000.0


def _arn(scope: Scope, name: str) -> str:
    return arn("iotevents", scope.region, scope.account_id, f"input/{name}")


def test_tag_overwrite_untag_list(store: ResourceStore, scope: Scope) -> None:
    a = _arn(scope, "x")
    assert store.list_tags(scope, a) == {}
    store.tag(scope, a, {"b": "1", "a": "2"})
    store.tag(scope, a, {"b": "3", "c": ""})  # overwrite b, add c (empty values are allowed)
    assert store.list_tags(scope, a) == {"a": "2", "b": "3", "c": ""}
    assert list(store.list_tags(scope, a)) == ["a", "b", "c"]  # sorted by key
    store.untag(scope, a, ["b", "missing", "b"])
    assert store.list_tags(scope, a) == {"a": "2", "c": ""}
    store.untag(scope, a, [])
    store.tag(scope, a, {})
    assert store.list_tags(scope, a) == {"a": "2", "c": ""}
    store.untag(scope, a, iter(["a", "c"]))
    assert store.list_tags(scope, a) == {}


def test_tags_need_no_resource_row_and_are_per_arn(store: ResourceStore, scope: Scope) -> None:
    a, b = _arn(scope, "a"), _arn(scope, "b")
    store.tag(scope, a, {"k": "a"})
    store.tag(scope, b, {"k": "b"})
    assert store.list_tags(scope, a) == {"k": "a"}
    assert store.list_tags(scope, b) == {"k": "b"}
    store.untag(scope, a, ["k"])
    assert store.list_tags(scope, b) == {"k": "b"}


def test_create_with_tags(store: ResourceStore, scope: Scope) -> None:
    a = _arn(scope, "r")
    store.create(scope, "iotevents:input", "r", attrs={}, now=NOW, arn=a, tags={"env": "prod"})
    assert store.list_tags(scope, a) == {"env": "prod"}


def test_tags_are_scoped(store: ResourceStore, new_account: Callable[[], str]) -> None:
    account = new_account()
    here = Scope(account, "us-east-1")
    other_account = Scope(new_account(), "us-east-1")
    other_region = Scope(account, "eu-west-1")
    a = "arn:aws:iotevents:us-east-1:000000000000:input/shared"
    store.tag(here, a, {"k": "here"})
    assert store.list_tags(other_account, a) == {}
    assert store.list_tags(other_region, a) == {}
    store.tag(other_region, a, {"k": "there"})
    store.untag(other_account, a, ["k"])
    assert store.list_tags(here, a) == {"k": "here"}
    assert store.list_tags(other_region, a) == {"k": "there"}


def test_tags_in_a_transaction(store: ResourceStore, scope: Scope) -> None:
    a = _arn(scope, "t")
    with store.transaction() as conn:
        store.tag(scope, a, {"k": "v", "x": "y"}, conn=conn)
        store.untag(scope, a, ["x"], conn=conn)
        assert store.list_tags(scope, a, conn=conn) == {"k": "v"}
    assert store.list_tags(scope, a) == {"k": "v"}
