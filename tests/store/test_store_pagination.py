from __future__ import annotations

import base64
import re
import secrets
import threading
from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine

from thinghub.store import (
    InvalidPageToken,
    PageTokens,
    ResourceStore,
    Scope,
    create_engine,
    migrate,
)

NOW = 1_700_000_000.0
KIND = "iotevents:input"
TOKEN_RE = re.compile(r"[a-zA-Z0-9=_-]+")


# --- PageTokens on its own -----------------------------------------------------------------------


@pytest.fixture
def tokens() -> PageTokens:
    return PageTokens(secrets.token_bytes(32))


@pytest.mark.parametrize("cursor", [0, 1, 255, 256, 2**31, 2**63 - 1])
def test_token_round_trip(tokens: PageTokens, cursor: int) -> None:
    token = tokens.encode(cursor, "ListInputs")
    assert TOKEN_RE.fullmatch(token)
    assert len(token) <= 40
    assert tokens.decode(token, "ListInputs") == cursor


def test_token_is_bound(tokens: PageTokens) -> None:
    token = tokens.encode(42, "op-a")
    with pytest.raises(InvalidPageToken):
        tokens.decode(token, "op-b")
    with pytest.raises(InvalidPageToken):
        tokens.decode(token, "op-a\x00")
    with pytest.raises(InvalidPageToken):
        PageTokens(secrets.token_bytes(32)).decode(token, "op-a")  # another key


def test_every_single_character_change_is_rejected(tokens: PageTokens) -> None:
    token = tokens.encode(12345, "b")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(token):
        for other in alphabet:
            if other == ch:
                continue
            forged = token[:i] + other + token[i + 1 :]
            with pytest.raises(InvalidPageToken):
                tokens.decode(forged, "b")
    with pytest.raises(InvalidPageToken):
        tokens.decode(token + "A", "b")
    with pytest.raises(InvalidPageToken):
        tokens.decode(token[:-1], "b")


def test_forged_payload_is_rejected(tokens: PageTokens) -> None:
    # Someone who knows the layout but not the key: swap in another cursor, keep the MAC.
    raw = base64.urlsafe_b64decode(tokens.encode(10, "b") + "==")
    forged_raw = bytes([raw[0], 99]) + raw[2:]
    forged = base64.urlsafe_b64encode(forged_raw).rstrip(b"=").decode()
    with pytest.raises(InvalidPageToken):
        tokens.decode(forged, "b")


@pytest.mark.parametrize(
    "junk", ["", "=", "!!!!", "a", "AAAA", "é", "A" * 500, "null", "eyJjdXJzb3IiOjF9"]
)
def test_junk_tokens_are_rejected(tokens: PageTokens, junk: str) -> None:
    with pytest.raises(InvalidPageToken):
        tokens.decode(junk, "b")


def test_token_expiry(tokens: PageTokens) -> None:
    token = tokens.encode(7, "b", expires_at=NOW + 60)
    assert TOKEN_RE.fullmatch(token)
    assert tokens.decode(token, "b", now=NOW) == 7
    assert tokens.decode(token, "b") == 7  # no clock given: expiry not checked
    with pytest.raises(InvalidPageToken):
        tokens.decode(token, "b", now=NOW + 61)


def test_negative_cursor_and_short_key_rejected(tokens: PageTokens) -> None:
    with pytest.raises(ValueError):
        tokens.encode(-1, "b")
    with pytest.raises(ValueError):
        PageTokens(b"short")


# --- list_page on the database -------------------------------------------------------------------


def _fill(store: ResourceStore, scope: Scope, n: int = 25) -> list[str]:
    ids = [f"in-{i:03d}-{secrets.token_hex(2)}" for i in range(n)]
    with store.transaction() as conn:
        for i, id in enumerate(ids):
            store.create(
                scope,
                KIND,
                id,
                attrs={"i": i},
                now=NOW + i,
                index={"parity": "even" if i % 2 == 0 else "odd", "mod3": str(i % 3)},
                conn=conn,
            )
    return ids


def _all_pages(
    store: ResourceStore, scope: Scope, size: int, **kw: object
) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        page, token = store.list_page(
            scope,
            KIND,
            max_results=size,
            next_token=token,
            **kw,  # type: ignore[arg-type]
        )
        pages += 1
        assert len(page) <= size
        assert page or pages == 1, "a token led to an empty page"
        seen.extend(r.id for r in page)
        if token is None:
            return seen, pages
        assert TOKEN_RE.fullmatch(token)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 10, 24, 25, 26, 100])
def test_pagination_returns_each_item_once_in_order(
    store: ResourceStore, scope: Scope, size: int
) -> None:
    ids = _fill(store, scope)
    seen, pages = _all_pages(store, scope, size)
    assert seen == ids
    assert pages == max(1, -(-25 // size))  # no trailing empty page, even when 25 % size == 0


def test_empty_list(store: ResourceStore, scope: Scope) -> None:
    assert store.list_page(scope, KIND, max_results=10, next_token=None) == ([], None)
    assert store.count(scope, KIND) == 0


def test_max_results_must_be_positive(store: ResourceStore, scope: Scope) -> None:
    with pytest.raises(ValueError):
        store.list_page(scope, KIND, max_results=0, next_token=None)


def test_filters(store: ResourceStore, scope: Scope) -> None:
    ids = _fill(store, scope)
    even = [id for i, id in enumerate(ids) if i % 2 == 0]
    even_mod0 = [id for i, id in enumerate(ids) if i % 6 == 0]
    assert _all_pages(store, scope, 4, filters={"parity": "even"})[0] == even
    assert _all_pages(store, scope, 2, filters={"parity": "even", "mod3": "0"})[0] == even_mod0
    assert _all_pages(store, scope, 5, filters={"parity": "nope"})[0] == []
    assert _all_pages(store, scope, 5, filters={"unknown": "even"})[0] == []
    assert store.count(scope, KIND, {"parity": "even"}) == len(even)
    assert store.count(scope, KIND, {"parity": "even", "mod3": "0"}) == len(even_mod0)
    assert store.count(scope, KIND) == 25


def test_multi_valued_index(store: ResourceStore, scope: Scope) -> None:
    store.create(scope, KIND, "a", attrs={}, now=NOW, index={"tag": ["x", "y", "x"]})
    store.create(scope, KIND, "b", attrs={}, now=NOW, index={"tag": ("y",)})
    page, _ = store.list_page(scope, KIND, max_results=10, next_token=None, filters={"tag": "y"})
    assert [r.id for r in page] == ["a", "b"]
    assert store.count(scope, KIND, {"tag": "x"}) == 1


def test_tokens_are_bound_to_the_request(
    store: ResourceStore, scope: Scope, new_account: Callable[[], str]
) -> None:
    _fill(store, scope)
    filters = {"parity": "even"}
    _, token = store.list_page(
        scope, KIND, max_results=2, next_token=None, filters=filters, binding="ListInputs"
    )
    assert token is not None
    ok, _ = store.list_page(
        scope, KIND, max_results=2, next_token=token, filters=filters, binding="ListInputs"
    )
    assert len(ok) == 2

    def bad(**overrides: object) -> None:
        kw: dict[str, object] = {
            "scope": scope,
            "kind": KIND,
            "max_results": 2,
            "next_token": token,
            "filters": filters,
            "binding": "ListInputs",
        }
        kw.update(overrides)
        with pytest.raises(InvalidPageToken):
            store.list_page(**kw)  # type: ignore[arg-type]

    bad(binding="ListDetectorModels")
    bad(filters={"parity": "odd"})
    bad(filters={})
    bad(filters={"parity": "even", "mod3": "1"})
    bad(kind="other-kind")
    bad(scope=Scope(new_account(), scope.region))
    bad(scope=Scope(scope.account_id, "eu-west-1"))
    bad(next_token=token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    bad(next_token="not a token")
    bad(next_token=PageTokens(secrets.token_bytes(32)).encode(1, "ListInputs"))
    # max_results may change between pages, as in AWS.
    more, _ = store.list_page(
        scope, KIND, max_results=5, next_token=token, filters=filters, binding="ListInputs"
    )
    assert len(more) == 5


def test_pagination_survives_concurrent_changes(store: ResourceStore, scope: Scope) -> None:
    ids = _fill(store, scope, 10)
    page1, token = store.list_page(scope, KIND, max_results=4, next_token=None)
    store.delete(scope, KIND, ids[3])  # the cursor row itself
    store.delete(scope, KIND, ids[5])
    store.create(scope, KIND, "late", attrs={}, now=NOW + 100)
    page2, token = store.list_page(scope, KIND, max_results=4, next_token=token)
    page3, token = store.list_page(scope, KIND, max_results=4, next_token=token)
    assert token is None
    assert [r.id for r in page1] == ids[:4]
    assert [r.id for r in page2 + page3] == [ids[4], *ids[6:], "late"]


def test_page_token_key_is_shared_by_every_node(
    store: ResourceStore, scope: Scope, db_url: str
) -> None:
    _fill(store, scope, 6)
    _, token = store.list_page(scope, KIND, max_results=3, next_token=None)
    assert token is not None
    other_node = create_engine(db_url)  # a second engine, as another process would have
    try:
        page, rest = ResourceStore(other_node).list_page(
            scope, KIND, max_results=3, next_token=token
        )
        assert [r.attrs["i"] for r in page] == [3, 4, 5]
        assert rest is None
    finally:
        other_node.dispose()


def test_page_token_key_creation_is_race_safe(new_database: Callable[[], str]) -> None:
    url = new_database()
    engines = [create_engine(url) for _ in range(4)]
    try:
        migrate(engines[0])
        barrier = threading.Barrier(len(engines))
        stores: list[ResourceStore] = []
        errors: list[BaseException] = []

        def start(engine: Engine) -> None:
            try:
                barrier.wait()
                stores.append(ResourceStore(engine))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        token = stores[0].page_tokens.encode(77, "b")
        assert all(s.page_tokens.decode(token, "b") == 77 for s in stores)
    finally:
        for e in engines:
            e.dispose()
