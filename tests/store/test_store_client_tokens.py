from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from thinghub.store import (
    ClientTokenClaim,
    ClientTokenInFlight,
    ClientTokenMismatch,
    ResourceStore,
    Scope,
)

NOW = 1_700_000_000.0
OP = "CreateCloudConnector"


def test_new_then_replay(store: ResourceStore, scope: Scope) -> None:
    assert store.claim_client_token(scope, OP, "t1", "h1", now=NOW) == ClientTokenClaim("new")
    response = {"Id": "abc", "Nested": {"x": [1, 2]}}
    store.complete_client_token(scope, OP, "t1", response=response, status_code=201)
    replay = store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 10)
    assert replay == ClientTokenClaim("replay", response, 201)
    # Replays are stable and never flip back to "new" before expiry.
    assert store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 1000).state == "replay"


def test_mismatch(store: ResourceStore, scope: Scope) -> None:
    store.claim_client_token(scope, OP, "t1", "h1", now=NOW)
    with pytest.raises(ClientTokenMismatch):
        store.claim_client_token(scope, OP, "t1", "h2", now=NOW)
    with pytest.raises(ClientTokenMismatch):  # mismatch wins over "stale"
        store.claim_client_token(scope, OP, "t1", "h2", now=NOW + 3600)
    store.complete_client_token(scope, OP, "t1", response={}, status_code=200)
    with pytest.raises(ClientTokenMismatch):
        store.claim_client_token(scope, OP, "t1", "h2", now=NOW + 1)


def test_in_flight_then_stale_reclaim(store: ResourceStore, scope: Scope) -> None:
    store.claim_client_token(scope, OP, "t1", "h1", now=NOW, stale_after=60)
    with pytest.raises(ClientTokenInFlight):
        store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 59, stale_after=60)
    # The first handler died: after stale_after the same request may run again...
    claim = store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 61, stale_after=60)
    assert claim.state == "new"
    # ...and the reclaim restarted the clock.
    with pytest.raises(ClientTokenInFlight):
        store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 100, stale_after=60)


def test_expired_records_are_treated_as_absent(store: ResourceStore, scope: Scope) -> None:
    store.claim_client_token(scope, OP, "t1", "h1", now=NOW, ttl_seconds=100)
    store.complete_client_token(scope, OP, "t1", response={"a": 1}, status_code=200)
    assert store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 99).state == "replay"
    # Past expiry even a different request may use the token.
    claim = store.claim_client_token(scope, OP, "t1", "h2", now=NOW + 100, ttl_seconds=100)
    assert claim.state == "new"
    with pytest.raises(ClientTokenInFlight):
        store.claim_client_token(scope, OP, "t1", "h2", now=NOW + 101)
    with pytest.raises(ClientTokenMismatch):
        store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 101)


def test_release(store: ResourceStore, scope: Scope) -> None:
    store.claim_client_token(scope, OP, "t1", "h1", now=NOW)
    store.release_client_token(scope, OP, "t1")
    assert store.claim_client_token(scope, OP, "t1", "h2", now=NOW + 1).state == "new"
    store.complete_client_token(scope, OP, "t1", response={"ok": True}, status_code=200)
    store.release_client_token(scope, OP, "t1")  # a completed record is kept
    assert store.claim_client_token(scope, OP, "t1", "h2", now=NOW + 2).state == "replay"
    store.release_client_token(scope, OP, "never-claimed")  # harmless


def test_tokens_are_per_operation_and_scope(
    store: ResourceStore, scope: Scope, new_account: Callable[[], str]
) -> None:
    store.claim_client_token(scope, OP, "t1", "h1", now=NOW)
    assert store.claim_client_token(scope, "CreateOther", "t1", "h2", now=NOW).state == "new"
    other_account = Scope(new_account(), scope.region)
    other_region = Scope(scope.account_id, "eu-west-1")
    assert store.claim_client_token(other_account, OP, "t1", "h2", now=NOW).state == "new"
    assert store.claim_client_token(other_region, OP, "t1", "h2", now=NOW).state == "new"


def test_complete_shares_the_resource_transaction(store: ResourceStore, scope: Scope) -> None:
    store.claim_client_token(scope, OP, "t1", "h1", now=NOW)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.create(scope, "cloud-connector", "c1", attrs={}, now=NOW, conn=conn)
        store.complete_client_token(scope, OP, "t1", response={}, status_code=200, conn=conn)
        raise RuntimeError("commit failed")
    # Neither the resource nor the recorded response survived the rollback.
    assert store.get(scope, "cloud-connector", "c1") is None
    with pytest.raises(ClientTokenInFlight):
        store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 1)

    with store.transaction() as conn:
        store.create(scope, "cloud-connector", "c1", attrs={}, now=NOW, conn=conn)
        store.complete_client_token(
            scope, OP, "t1", response={"Id": "c1"}, status_code=200, conn=conn
        )
    claim = store.claim_client_token(scope, OP, "t1", "h1", now=NOW + 2)
    assert claim == ClientTokenClaim("replay", {"Id": "c1"}, 200)


def test_purge_expired(store: ResourceStore, scope: Scope) -> None:
    store.claim_client_token(scope, OP, "old", "h", now=NOW - 10_000, ttl_seconds=10)
    store.claim_client_token(scope, OP, "fresh", "h", now=NOW, ttl_seconds=10)
    assert store.purge_expired_client_tokens(now=NOW) >= 1
    with pytest.raises(ClientTokenInFlight):
        store.claim_client_token(scope, OP, "fresh", "h", now=NOW + 1)
    assert store.claim_client_token(scope, OP, "old", "h2", now=NOW + 1).state == "new"


def _race(claim: Callable[[], ClientTokenClaim], n: int = 8) -> list[str]:
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        result: str
        try:
            result = claim().state
        except ClientTokenInFlight:
            result = "in_flight"
        except BaseException as exc:
            result = repr(exc)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_claims_yield_exactly_one_new(
    store: ResourceStore, scope: Scope, round_: int
) -> None:
    token = f"race-{round_}"
    outcomes = _race(lambda: store.claim_client_token(scope, OP, token, "h", now=NOW))
    assert sorted(outcomes) == ["in_flight"] * 7 + ["new"]


def test_concurrent_stale_takeover_yields_exactly_one_new(
    store: ResourceStore, scope: Scope
) -> None:
    store.claim_client_token(scope, OP, "stale", "h", now=NOW)
    later = NOW + 3600
    outcomes = _race(lambda: store.claim_client_token(scope, OP, "stale", "h", now=later))
    assert sorted(outcomes) == ["in_flight"] * 7 + ["new"]


def test_concurrent_claims_from_two_nodes(store: ResourceStore, scope: Scope, db_url: str) -> None:
    from thinghub.store import create_engine

    other_engine = create_engine(db_url)
    try:
        other = ResourceStore(other_engine)
        stores = [store, other] * 4
        barrier = threading.Barrier(len(stores))
        outcomes: list[str] = []
        lock = threading.Lock()

        def run(s: ResourceStore) -> None:
            barrier.wait()
            result: str
            try:
                result = s.claim_client_token(scope, OP, "two-nodes", "h", now=NOW).state
            except ClientTokenInFlight:
                result = "in_flight"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=run, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["in_flight"] * 7 + ["new"]
    finally:
        other_engine.dispose()
