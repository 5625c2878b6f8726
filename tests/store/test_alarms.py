"""AlarmStore on SQLite and PostgreSQL: alarms, paging, and snoozes claimed once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from thinghub.store import InvalidPageToken, ResourceStore, Scope, create_engine
from thinghub.store.alarms import AlarmRecord, AlarmStore

NOW = 1_700_000_000.0
MODEL = "hot"


@pytest.fixture(scope="module")
def alarms(engine: Engine) -> Iterator[AlarmStore]:
    store = AlarmStore(engine, ResourceStore(engine).page_tokens)
    yield store
    store.close()


@pytest.fixture
def no_snoozes(engine: Engine) -> None:
    # Snoozes are claimed across every scope; the module's database is this module's alone.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alarm_instances SET snooze_until = NULL"))


def record(key: str, state: str = "NORMAL", **fields: Any) -> AlarmRecord:
    values: dict[str, Any] = {
        "model": MODEL,
        "key": key,
        "version": "1",
        "state": state,
        "document": '{"inputs":{"T":{"t":30.5}}}',
        "snooze_until": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return AlarmRecord(**values)


def test_upsert_inserts_then_replaces(alarms: AlarmStore, scope: Scope) -> None:
    with alarms.transaction() as conn:
        alarms.upsert_many(scope, [record("a"), record("b", "ACTIVE")], conn)
    assert alarms.get(scope, MODEL, "a") == record("a")
    changed = record("a", "SNOOZE_DISABLED", snooze_until=NOW + 60, updated_at=NOW + 1)
    with alarms.transaction() as conn:
        alarms.upsert_many(scope, [changed], conn)
        # Read back in the same transaction, locked.
        found = alarms.get_many(scope, MODEL, ["a", "b", "missing"], conn, lock=True)
    assert found == {"a": changed, "b": record("b", "ACTIVE")}
    assert alarms.get(Scope(scope.account_id, "eu-west-1"), MODEL, "a") is None


def test_lock_needs_a_transaction(alarms: AlarmStore, scope: Scope) -> None:
    with pytest.raises(ValueError):
        alarms.get_many(scope, MODEL, ["a"], lock=True)


def test_list_pages_in_creation_order_and_tokens_are_bound(
    alarms: AlarmStore, scope: Scope
) -> None:
    with alarms.transaction() as conn:
        alarms.upsert_many(scope, [record(k) for k in ("c", "a", "b")], conn)
        alarms.upsert_many(scope, [record("x", model="other")], conn)
    # One upsert writes its records in key order: that is their creation order.
    page, token = alarms.list_page(scope, MODEL, max_results=2, next_token=None)
    assert [r.key for r in page] == ["a", "b"]
    assert token is not None
    rest, last = alarms.list_page(scope, MODEL, max_results=2, next_token=token)
    assert ([r.key for r in rest], last) == (["c"], None)
    with pytest.raises(InvalidPageToken):
        alarms.list_page(scope, "other", max_results=2, next_token=token)


def test_delete_model_removes_only_that_model(alarms: AlarmStore, scope: Scope) -> None:
    with alarms.transaction() as conn:
        alarms.upsert_many(scope, [record("a"), record("b"), record("a", model="other")], conn)
    with alarms.transaction() as conn:
        assert alarms.delete_model(scope, MODEL, conn) == 2
    assert alarms.get(scope, MODEL, "a") is None
    assert alarms.get(scope, "other", "a") is not None


def test_due_snoozes_are_claimed_earliest_first(
    alarms: AlarmStore, scope: Scope, no_snoozes: None
) -> None:
    with alarms.transaction() as conn:
        alarms.upsert_many(
            scope,
            [
                record("late", "SNOOZE_DISABLED", snooze_until=NOW + 20),
                record("early", "SNOOZE_DISABLED", snooze_until=NOW + 10),
                record("future", "SNOOZE_DISABLED", snooze_until=NOW + 100),
                record("awake"),
            ],
            conn,
        )
    assert alarms.next_due() == NOW + 10
    with alarms.transaction() as conn:
        due = alarms.claim_due(NOW + 30, 10, conn)
        assert [(d.scope, d.record.key) for d in due] == [(scope, "early"), (scope, "late")]
        assert alarms.claim_due(NOW + 30, 0, conn) == []
        # Written back without a snooze, they are no longer due.
        for claimed in due:
            claimed.record.snooze_until = None
        alarms.upsert_many(scope, [d.record for d in due], conn)
    with alarms.transaction() as conn:
        assert alarms.claim_due(NOW + 30, 10, conn) == []
    assert alarms.next_due() == NOW + 100


def test_a_claimer_skips_alarms_locked_elsewhere(
    backend: str, db_url: str, alarms: AlarmStore, scope: Scope, no_snoozes: None
) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite every write transaction excludes the others")
    other_engine = create_engine(db_url)
    other = AlarmStore(other_engine, alarms.page_tokens)
    try:
        with alarms.transaction() as conn:
            alarms.upsert_many(
                scope,
                [
                    record("busy", "SNOOZE_DISABLED", snooze_until=NOW),
                    record("free", "SNOOZE_DISABLED", snooze_until=NOW + 1),
                ],
                conn,
            )
        with alarms.transaction() as conn:
            alarms.get_many(scope, MODEL, ["busy", "not-yet"], conn, lock=True)
            for key in ("busy", "not-yet"):
                with pytest.raises(sa.exc.OperationalError, match="lock"):  # noqa: SIM117
                    with other.transaction() as c2:
                        c2.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
                        other.get_many(scope, MODEL, [key], c2, lock=True)
            with other.transaction() as c2:
                assert [d.record.key for d in other.claim_due(NOW + 10, 10, c2)] == ["free"]
        with other.transaction() as c2:
            assert [d.record.key for d in other.claim_due(NOW + 10, 10, c2)] == ["busy", "free"]
    finally:
        other.close()
        other_engine.dispose()
