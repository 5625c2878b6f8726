from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection, Engine

from thinghub.store import (
    DetectorRecord,
    DetectorStore,
    DueTimer,
    InvalidPageToken,
    ResourceStore,
    Scope,
    create_engine,
    default_database_url,
    migrate,
)
from thinghub.store.engine import alembic_config

NOW = 1_700_000_000.0
MODEL = "temperatureModel"


@pytest.fixture(scope="module")
def detectors(engine: Engine) -> Iterator[DetectorStore]:
    store = DetectorStore(engine)
    yield store
    store.close()


@pytest.fixture
def no_timers(engine: Engine) -> None:
    # Timers are claimed across every scope; the module's database is this module's alone.
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM detector_timers"))


def record(key: str, state: str = "Normal", *, now: float = NOW, **kw: Any) -> DetectorRecord:
    fields: dict[str, Any] = {
        "model": MODEL,
        "key": key,
        "version": "1",
        "state": state,
        "variables_json": '{"count":1}',
        "inputs_json": "{}",
        "created_at": now,
        "updated_at": now,
    }
    fields.update(kw)
    return DetectorRecord(**fields)


@contextmanager
def statements(conn: Connection) -> Iterator[list[str]]:
    """The SQL statements run on `conn` inside the block."""
    seen: list[str] = []
    if conn.dialect.name == "sqlite":
        dbapi = cast(sqlite3.Connection, conn.connection.driver_connection)
        dbapi.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            dbapi.set_trace_callback(None)
    else:

        def before(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

        sa.event.listen(conn, "before_cursor_execute", before)
        try:
            yield seen
        finally:
            sa.event.remove(conn, "before_cursor_execute", before)


# --- instances ------------------------------------------------------------------------------------


def test_upsert_inserts_then_updates_and_bumps_row_version(
    detectors: DetectorStore, scope: Scope
) -> None:
    assert detectors.get(scope, MODEL, "k1") is None
    # JSON text is stored verbatim: the runtime's Decimal encoding survives.
    variables = '{"t":21.50,"big":12345678901234567890.123}'
    detectors.upsert_many(scope, [record("k1", variables_json=variables)])
    got = detectors.get(scope, MODEL, "k1")
    assert got == record("k1", variables_json=variables, row_version=1)

    detectors.upsert_many(
        scope,
        [
            record(
                "k1",
                "Alarm",
                version="2",
                inputs_json='{"in":{"v":1}}',
                now=NOW + 5,
                created_at=NOW + 5,  # ignored on update: the instance was created earlier
            )
        ],
    )
    got = detectors.get(scope, MODEL, "k1")
    assert got is not None
    assert (got.state, got.version, got.inputs_json) == ("Alarm", "2", '{"in":{"v":1}}')
    assert (got.created_at, got.updated_at, got.row_version) == (NOW, NOW + 5, 2)
    assert got.variables_json == '{"count":1}'


def test_upsert_many_in_bulk_last_record_of_a_key_wins(
    detectors: DetectorStore, scope: Scope
) -> None:
    detectors.upsert_many(scope, [record(f"k{i}") for i in range(50)])
    detectors.upsert_many(
        scope,
        [record("k3", "A"), record("new", "B"), record("k3", "C"), record("k7", "D")],
    )
    got = detectors.get_many(scope, MODEL, ["k3", "k7", "new", "k8"])
    assert {k: (r.state, r.row_version) for k, r in got.items()} == {
        "k3": ("C", 2),
        "k7": ("D", 2),
        "new": ("B", 1),
        "k8": ("Normal", 1),
    }
    assert detectors.count(scope, MODEL) == 51
    detectors.upsert_many(scope, [])  # nothing to do


def test_keyless_model_uses_the_empty_key(detectors: DetectorStore, scope: Scope) -> None:
    detectors.upsert_many(scope, [record("")])
    got = detectors.get(scope, MODEL, "")
    assert got is not None
    assert got.key == ""


def test_get_many_reads_1000_keys_in_one_statement(detectors: DetectorStore, scope: Scope) -> None:
    keys = [f"sensor-{i:04d}" for i in range(1000)]
    detectors.upsert_many(
        scope, [record(k, variables_json=f'{{"i":{i}}}') for i, k in enumerate(keys)]
    )
    wanted = [*keys[::2], "absent-1", "absent-2", keys[0]]  # a repeat is harmless
    with detectors.transaction() as conn, statements(conn) as seen:
        got = detectors.get_many(scope, MODEL, wanted, conn)
    assert len(seen) == 1
    assert sorted(got) == sorted(keys[::2])
    assert got["sensor-0998"].variables_json == '{"i":998}'
    # Outside a transaction, too (SQLite's fast reader; PostgreSQL autocommit).
    assert detectors.get_many(scope, MODEL, wanted) == got
    assert detectors.get_many(scope, MODEL, []) == {}


def test_keys_are_exact_strings(detectors: DetectorStore, scope: Scope) -> None:
    odd = ["1", "01", "1.0", "true", "null", 'quo"te', "wide-ünïcødé-🙂", "a,b", "%", "_"]
    detectors.upsert_many(scope, [record(k) for k in odd])
    assert sorted(detectors.get_many(scope, MODEL, odd)) == sorted(odd)
    assert detectors.get_many(scope, MODEL, ["true ", "1.00", "x"]) == {}


def test_delete_removes_the_instance_and_its_timers(detectors: DetectorStore, scope: Scope) -> None:
    detectors.upsert_many(scope, [record("a"), record("b")])
    detectors.set_timers(scope, MODEL, "a", {"t": (NOW + 10, 10)})
    detectors.set_timers(scope, MODEL, "b", {"t": (NOW + 10, 10)})
    assert detectors.delete(scope, MODEL, "a") is True
    assert detectors.delete(scope, MODEL, "a") is False
    assert detectors.get(scope, MODEL, "a") is None
    assert detectors.timers_for(scope, MODEL, ["a", "b"]) == {"b": {"t": (NOW + 10, 10)}}


@pytest.mark.parametrize("in_transaction", [False, True], ids=["chunked", "in-transaction"])
def test_delete_model_removes_instances_and_timers_only_of_that_model(
    detectors: DetectorStore, scope: Scope, in_transaction: bool
) -> None:
    detectors.upsert_many(scope, [record(f"k{i}") for i in range(50)])
    detectors.upsert_many(scope, [record("k1", model="other")])
    detectors.set_timers_many(
        scope,
        {(MODEL, f"k{i}"): {"a": (NOW + i, 60), "b": (NOW + 2 * i, 60)} for i in range(30)},
    )
    detectors.set_timers(scope, "other", "k1", {"a": (NOW, 60)})
    if in_transaction:
        with detectors.transaction() as conn:
            assert detectors.delete_model(scope, MODEL, conn) == 50
    else:
        assert detectors.delete_model(scope, MODEL, chunk=7) == 50
    assert detectors.count(scope, MODEL) == 0
    assert detectors.timers_for(scope, MODEL, [f"k{i}" for i in range(50)]) == {}
    assert detectors.get(scope, "other", "k1") is not None
    assert detectors.timers_for(scope, "other", ["k1"]) == {"k1": {"a": (NOW, 60)}}
    assert detectors.delete_model(scope, MODEL) == 0


def test_every_call_is_confined_to_its_scope(
    detectors: DetectorStore, new_account: Callable[[], str], no_timers: None
) -> None:
    mine, theirs = Scope(new_account(), "us-east-1"), Scope(new_account(), "us-east-1")
    other_region = Scope(mine.account_id, "eu-west-1")
    detectors.upsert_many(mine, [record("k", "Mine")])
    detectors.upsert_many(theirs, [record("k", "Theirs")])
    detectors.set_timers(theirs, MODEL, "k", {"t": (NOW, 1)})

    assert {
        r.state for s in (mine, theirs) for r in detectors.get_many(s, MODEL, ["k"]).values()
    } == {
        "Mine",
        "Theirs",
    }
    assert detectors.get(other_region, MODEL, "k") is None
    assert detectors.get_many(other_region, MODEL, ["k"]) == {}
    assert detectors.list_page(other_region, MODEL, max_results=10, next_token=None) == ([], None)
    assert detectors.count(other_region, MODEL) == 0
    assert detectors.timers_for(mine, MODEL, ["k"]) == {}
    assert detectors.delete(other_region, MODEL, "k") is False
    assert detectors.delete_model(other_region, MODEL) == 0
    mine_rec = detectors.get(mine, MODEL, "k")
    assert mine_rec is not None
    assert mine_rec.state == "Mine"

    _, token = detectors.list_page(mine, MODEL, max_results=1, next_token=None)
    assert token is None
    detectors.upsert_many(mine, [record("k2")])
    _, token = detectors.list_page(mine, MODEL, max_results=1, next_token=None)
    assert token is not None
    with pytest.raises(InvalidPageToken):
        detectors.list_page(theirs, MODEL, max_results=1, next_token=token)

    [due] = detectors.claim_due(NOW, 10)
    assert due == DueTimer(theirs, MODEL, "k", "t", NOW, 1)


def test_list_pages_every_instance_once_in_creation_order(
    detectors: DetectorStore, scope: Scope
) -> None:
    keys = [f"z{99 - i:02d}" for i in range(23)]  # creation order is not key order
    for i, key in enumerate(keys):
        detectors.upsert_many(scope, [record(key, "Alarm" if i % 3 == 0 else "Normal")])
    detectors.upsert_many(scope, [record("elsewhere", model="other")])

    def all_pages(state: str | None, size: int) -> list[str]:
        seen: list[str] = []
        token: str | None = None
        while True:
            page, token = detectors.list_page(
                scope, MODEL, state=state, max_results=size, next_token=token
            )
            assert len(page) <= size
            seen += [r.key for r in page]
            if token is None:
                return seen

    assert all_pages(None, 4) == keys
    assert all_pages(None, 23) == keys
    assert all_pages(None, 100) == keys
    alarms = [k for i, k in enumerate(keys) if i % 3 == 0]
    assert all_pages("Alarm", 3) == alarms
    assert all_pages("Alarm", 1) == alarms
    assert all_pages("NoSuchState", 5) == []
    assert detectors.count(scope, MODEL, state="Alarm") == len(alarms)
    assert detectors.count(scope, MODEL) == 23

    # An update does not move an instance in the order.
    detectors.upsert_many(scope, [record(keys[0], "Normal", now=NOW + 1)])
    assert all_pages(None, 5) == keys

    # A token belongs to its model and state filter.
    _, token = detectors.list_page(scope, MODEL, state="Normal", max_results=2, next_token=None)
    assert token is not None
    for state, model in ((None, MODEL), ("Alarm", MODEL), ("Normal", "other")):
        with pytest.raises(InvalidPageToken):
            detectors.list_page(scope, model, state=state, max_results=2, next_token=token)
    with pytest.raises(InvalidPageToken):
        detectors.list_page(scope, MODEL, max_results=2, next_token="garbage")
    with pytest.raises(ValueError):
        detectors.list_page(scope, MODEL, max_results=0, next_token=None)


def test_page_tokens_share_the_resource_stores_key(engine: Engine, scope: Scope) -> None:
    resources = ResourceStore(engine)
    first, second = DetectorStore(engine), DetectorStore(engine, resources.page_tokens)
    try:
        first.upsert_many(scope, [record("a"), record("b")])
        _, token = first.list_page(scope, MODEL, max_results=1, next_token=None)
        assert token is not None
        page, _ = second.list_page(scope, MODEL, max_results=1, next_token=token)
        assert [r.key for r in page] == ["b"]
    finally:
        first.close()
        second.close()
        resources.close()


# --- transactions ---------------------------------------------------------------------------------


def test_a_batch_commits_or_rolls_back_as_a_whole(detectors: DetectorStore, scope: Scope) -> None:
    with pytest.raises(RuntimeError), detectors.transaction() as conn:
        assert detectors.mark_messages(scope, ["m1"], NOW, conn=conn) == set()
        detectors.upsert_many(scope, [record("k")], conn)
        detectors.set_timers(scope, MODEL, "k", {"t": (NOW, 1)}, conn)
        assert detectors.get(scope, MODEL, "k", conn) is not None  # visible inside
        raise RuntimeError
    assert detectors.get(scope, MODEL, "k") is None
    assert detectors.timers_for(scope, MODEL, ["k"]) == {}
    assert detectors.mark_messages(scope, ["m1"], NOW) == set()

    with detectors.transaction() as conn:
        detectors.upsert_many(scope, [record("k")], conn)
        detectors.set_timers(scope, MODEL, "k", {"t": (NOW, 1)}, conn)
    assert detectors.get(scope, MODEL, "k") is not None
    assert detectors.timers_for(scope, MODEL, ["k"]) == {"k": {"t": (NOW, 1)}}


def test_a_transaction_mixes_with_resource_store_calls(
    detectors: DetectorStore, store: ResourceStore, scope: Scope
) -> None:
    with detectors.transaction() as conn:
        store.create(scope, "iotevents:detector-model", MODEL, attrs={}, now=NOW, conn=conn)
        detectors.upsert_many(scope, [record("k")], conn)
    assert store.get(scope, "iotevents:detector-model", MODEL) is not None
    with store.transaction() as conn:
        detectors.upsert_many(scope, [record("k2")], conn)
    assert detectors.count(scope, MODEL) == 2


def test_sqlite_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    engine = create_engine(default_database_url(tmp_path))
    try:
        migrate(engine)
        detectors = DetectorStore(engine)
        other = sqlite3.connect(tmp_path / "thinghub.db", timeout=0, isolation_level=None)
        try:
            with detectors.transaction() as conn:
                detectors.get(Scope("0", "r"), MODEL, "k", conn)  # a read only
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # released on commit
            other.execute("ROLLBACK")
        finally:
            other.close()
            detectors.close()
    finally:
        engine.dispose()


# --- timers ---------------------------------------------------------------------------------------


def test_set_timers_replaces_the_instance_timer_set(detectors: DetectorStore, scope: Scope) -> None:
    detectors.set_timers(scope, MODEL, "a", {"t1": (NOW + 1, 1), "t2": (NOW + 2, 2)})
    detectors.set_timers(scope, MODEL, "b", {"t1": (NOW + 3, 3)})
    assert detectors.timers_for(scope, MODEL, ["a", "b", "c"]) == {
        "a": {"t1": (NOW + 1, 1), "t2": (NOW + 2, 2)},
        "b": {"t1": (NOW + 3, 3)},
    }
    detectors.set_timers(scope, MODEL, "a", {"t2": (NOW + 20, 20), "t3": (NOW + 30, 30)})
    assert detectors.timers_for(scope, MODEL, ["a"]) == {
        "a": {"t2": (NOW + 20, 20), "t3": (NOW + 30, 30)}
    }
    detectors.set_timers_many(scope, {(MODEL, "a"): {}, (MODEL, "b"): {"x": (NOW, 5)}})
    assert detectors.timers_for(scope, MODEL, ["a", "b"]) == {"b": {"x": (NOW, 5)}}
    assert detectors.timers_for(scope, MODEL, []) == {}


def test_claim_due_takes_due_timers_earliest_first(
    detectors: DetectorStore, scope: Scope, no_timers: None
) -> None:
    assert detectors.next_due() is None
    assert detectors.claim_due(NOW + 1000, 10) == []
    detectors.set_timers(scope, MODEL, "a", {"late": (NOW + 30, 30), "early": (NOW + 10, 10)})
    detectors.set_timers(scope, MODEL, "b", {"mid": (NOW + 20, 20), "future": (NOW + 500, 500)})
    assert detectors.next_due() == NOW + 10

    assert detectors.claim_due(NOW + 5, 10) == []
    with detectors.transaction() as conn:
        claimed = detectors.claim_due(NOW + 30, 2, conn)
    assert [(t.key, t.name, t.due_at, t.duration_seconds) for t in claimed] == [
        ("a", "early", NOW + 10, 10),
        ("b", "mid", NOW + 20, 20),
    ]
    assert claimed[0].scope == scope
    assert claimed[0].model == MODEL
    # Claimed timers are gone; the rest stay.
    assert detectors.timers_for(scope, MODEL, ["a", "b"]) == {
        "a": {"late": (NOW + 30, 30)},
        "b": {"future": (NOW + 500, 500)},
    }
    assert [t.name for t in detectors.claim_due(NOW + 30, 10)] == ["late"]
    assert detectors.next_due() == NOW + 500
    assert detectors.claim_due(NOW + 30, 0) == []


def test_a_claim_rolled_back_leaves_the_timer_due(
    detectors: DetectorStore, scope: Scope, no_timers: None
) -> None:
    detectors.upsert_many(scope, [record("k")])
    detectors.set_timers(scope, MODEL, "k", {"t": (NOW, 60)})
    with pytest.raises(RuntimeError), detectors.transaction() as conn:
        [timer] = detectors.claim_due(NOW, 10, conn)
        # The evaluation that fires it writes the new timer set, then the node "crashes".
        detectors.set_timers(scope, MODEL, "k", {"t": (NOW + 60, 60)}, conn)
        raise RuntimeError
    assert detectors.timers_for(scope, MODEL, ["k"]) == {"k": {"t": (NOW, 60)}}

    with detectors.transaction() as conn:
        [again] = detectors.claim_due(NOW, 10, conn)
        assert again == timer
        detectors.set_timers(scope, MODEL, "k", {"t": (NOW + 60, 60)}, conn)
    assert detectors.claim_due(NOW, 10) == []
    assert detectors.timers_for(scope, MODEL, ["k"]) == {"k": {"t": (NOW + 60, 60)}}


def test_concurrent_claimers_never_fire_a_timer_twice(
    db_url: str, detectors: DetectorStore, new_account: Callable[[], str], no_timers: None
) -> None:
    scopes = [Scope(new_account(), "us-east-1") for _ in range(3)]
    expected: set[tuple[str, str, str]] = set()
    for s in scopes:
        timers: dict[tuple[str, str], dict[str, tuple[float, int]]] = {}
        for i in range(100):
            # Several timers per detector, and equal due times across detectors.
            key = f"k{i % 40}"
            timers.setdefault((MODEL, key), {}).update(
                {f"t{i}": (NOW + i % 7, 1), f"u{i}": (NOW + i % 5, 1)}
            )
            expected |= {(s.account_id, key, f"t{i}"), (s.account_id, key, f"u{i}")}
        detectors.set_timers_many(s, timers)

    engines = [create_engine(db_url) for _ in range(3)]
    stores = [DetectorStore(e) for e in engines]
    claimed: list[list[tuple[str, str, str]]] = [[] for _ in stores]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def run(i: int) -> None:
        store = stores[i]
        try:
            barrier.wait()
            deadline = time.monotonic() + 60
            while store.next_due() is not None and time.monotonic() < deadline:
                with store.transaction() as conn:
                    for t in store.claim_due(NOW + 10, 7, conn):
                        claimed[i].append((t.scope.account_id, t.key, t.name))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    for e in engines:
        e.dispose()
    assert errors == []
    everything = [c for per_thread in claimed for c in per_thread]
    assert len(everything) == len(set(everything))
    assert set(everything) == expected


def _postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite every write transaction excludes the others")


def test_locked_detectors_exclude_other_nodes(
    backend: str, db_url: str, detectors: DetectorStore, scope: Scope, no_timers: None
) -> None:
    _postgres_only(backend)
    other_engine = create_engine(db_url)
    other = DetectorStore(other_engine)
    try:
        detectors.upsert_many(scope, [record("busy")])
        detectors.set_timers(scope, MODEL, "busy", {"t": (NOW, 1)})
        detectors.set_timers(scope, MODEL, "free", {"t": (NOW + 1, 1)})
        with detectors.transaction() as conn:
            # Existing or not, a locked instance is ours until commit.
            detectors.get_many(scope, MODEL, ["busy", "not-yet"], conn, lock=True)

            for key in ("busy", "not-yet"):
                with pytest.raises(sa.exc.OperationalError, match="lock"):  # noqa: SIM117
                    with other.transaction() as c2:
                        c2.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
                        other.get_many(scope, MODEL, [key], c2, lock=True)
            # A claimer skips the busy detector's timer instead of waiting for it.
            with other.transaction() as c2:
                assert [t.key for t in other.claim_due(NOW + 10, 10, c2)] == ["free"]
        with other.transaction() as c2:
            assert [t.key for t in other.claim_due(NOW + 10, 10, c2)] == ["busy"]
    finally:
        other.close()
        other_engine.dispose()


def test_a_claimer_holds_its_detectors_until_commit(
    backend: str, db_url: str, detectors: DetectorStore, scope: Scope, no_timers: None
) -> None:
    _postgres_only(backend)
    other_engine = create_engine(db_url)
    other = DetectorStore(other_engine)
    try:
        detectors.set_timers(scope, MODEL, "k", {"t": (NOW, 1)})
        with detectors.transaction() as conn:
            assert len(detectors.claim_due(NOW, 10, conn)) == 1
            with pytest.raises(sa.exc.OperationalError, match="lock"):  # noqa: SIM117
                with other.transaction() as c2:
                    c2.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
                    other.get_many(scope, MODEL, ["k"], c2, lock=True)
            detectors.get_many(scope, MODEL, ["k"], conn, lock=True)  # re-entrant
    finally:
        other.close()
        other_engine.dispose()


def test_lock_needs_a_transaction(detectors: DetectorStore, scope: Scope) -> None:
    with pytest.raises(ValueError):
        detectors.get_many(scope, MODEL, ["k"], lock=True)


# --- message ids ----------------------------------------------------------------------------------


def test_mark_messages_reports_ids_seen_in_the_last_five_minutes(
    detectors: DetectorStore, scope: Scope
) -> None:
    assert detectors.mark_messages(scope, ["m1", "m2", "m2"], NOW) == set()
    assert detectors.mark_messages(scope, ["m2", "m3"], NOW + 10) == {"m2"}
    assert detectors.mark_messages(scope, ["m1", "m3", "m4"], NOW + 299) == {"m1", "m3"}
    # m1 was seen at NOW: its record expires at NOW + 300, and the id is new again.
    assert detectors.mark_messages(scope, ["m1"], NOW + 300) == set()
    assert detectors.mark_messages(scope, ["m1"], NOW + 301) == {"m1"}
    # m3 was recorded at NOW + 10, and not renewed by the duplicate at NOW + 299.
    assert detectors.mark_messages(scope, ["m3"], NOW + 311) == set()
    assert detectors.mark_messages(scope, [], NOW) == set()
    assert detectors.mark_messages(scope, ["x"], NOW, ttl=5) == set()
    assert detectors.mark_messages(scope, ["x"], NOW + 4.9) == {"x"}
    assert detectors.mark_messages(scope, ["x"], NOW + 5) == set()


def test_message_ids_are_per_account_and_region(
    detectors: DetectorStore, new_account: Callable[[], str]
) -> None:
    a = Scope(new_account(), "us-east-1")
    b = Scope(new_account(), "us-east-1")
    a_west = Scope(a.account_id, "us-west-2")
    for s in (a, b, a_west):
        assert detectors.mark_messages(s, ["same"], NOW) == set()
    assert detectors.mark_messages(a, ["same"], NOW) == {"same"}


def test_a_batch_of_ids_is_one_statement(detectors: DetectorStore, scope: Scope) -> None:
    ids = [f"id-{i}" for i in range(500)]
    with detectors.transaction() as conn, statements(conn) as seen:
        assert detectors.mark_messages(scope, ids, NOW, conn=conn) == set()
        assert detectors.mark_messages(scope, ids[::5], NOW, conn=conn) == set(ids[::5])
    assert len(seen) == 2


def test_purge_removes_only_expired_ids(
    detectors: DetectorStore, new_account: Callable[[], str]
) -> None:
    scope = Scope(new_account(), "us-east-1")
    horizon = NOW + 10_000_000  # later than any other test's records
    detectors.mark_messages(scope, [f"old-{i}" for i in range(25)], horizon)
    detectors.mark_messages(scope, ["fresh"], horizon + 100)
    assert detectors.purge_expired_messages(horizon + 300, chunk=10) >= 25
    assert detectors.purge_expired_messages(horizon + 300) == 0
    assert detectors.mark_messages(scope, ["old-1", "fresh"], horizon + 300) == {"fresh"}


# --- scale ----------------------------------------------------------------------------------------


def test_100k_instances_bulk_load_count_and_page(detectors: DetectorStore, scope: Scope) -> None:
    total, batch = 100_000, 5_000
    for start in range(0, total, batch):
        with detectors.transaction() as conn:
            detectors.upsert_many(
                scope,
                [
                    record(f"device-{i:06d}", "Alarm" if i % 1000 == 0 else "Normal")
                    for i in range(start, start + batch)
                ],
                conn,
            )
    assert detectors.count(scope, MODEL) == total
    assert detectors.count(scope, MODEL, state="Alarm") == total // 1000

    # Paging deep into the model costs the same as the first page: the token is a seq cursor.
    token = None
    for _ in range(3):
        page, token = detectors.list_page(scope, MODEL, max_results=250, next_token=token)
        assert len(page) == 250
    assert page[-1].key == "device-000749"
    alarms, token = detectors.list_page(
        scope, MODEL, state="Alarm", max_results=100, next_token=None
    )
    assert token is None
    assert [r.key for r in alarms] == [f"device-{i:06d}" for i in range(0, total, 1000)]
    assert (
        len(detectors.get_many(scope, MODEL, [f"device-{i:06d}" for i in range(0, total, 97)]))
        == (total + 96) // 97
    )
    assert detectors.delete_model(scope, MODEL) == total
    assert detectors.count(scope, MODEL) == 0


# --- migrations ---------------------------------------------------------------------------------


def test_v0002_upgrades_a_populated_v0001_database_and_downgrades(
    new_database: Callable[[], str],
) -> None:
    engine = create_engine(new_database())
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.execute(sa.text("INSERT INTO settings (key, value) VALUES ('kept', 'yes')"))
        new_tables = {"detector_instances", "detector_timers", "detector_message_ids", "outbox"}
        assert not new_tables & set(sa.inspect(engine).get_table_names())

        migrate(engine)
        assert new_tables <= set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT value FROM settings WHERE key = 'kept'"))
            assert kept.scalar_one() == "yes"

        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        assert not new_tables & set(sa.inspect(engine).get_table_names())
        assert "settings" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
