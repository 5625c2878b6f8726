"""A transaction PostgreSQL aborts for a deadlock is run again; other errors are not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from thinghub.store import DetectorStore


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failing(times: int, sqlstate: str, calls: list[int]):  # type: ignore[no-untyped-def]
    def work(conn: Connection) -> str:
        calls.append(1)
        conn.execute(sa.text("SELECT 1"))
        if len(calls) <= times:
            raise sa.exc.OperationalError("SELECT 1", {}, _Orig(sqlstate))
        return "done"

    return work


def test_deadlock_is_retried(engine: Engine) -> None:
    store = DetectorStore(engine)
    calls: list[int] = []
    assert store.run_transaction(_failing(2, "40P01", calls)) == "done"
    assert len(calls) == 3


def test_serialization_failure_is_retried(engine: Engine) -> None:
    calls: list[int] = []
    assert DetectorStore(engine).run_transaction(_failing(1, "40001", calls)) == "done"
    assert len(calls) == 2


def test_other_errors_are_not_retried(engine: Engine) -> None:
    calls: list[int] = []
    with pytest.raises(sa.exc.OperationalError):
        DetectorStore(engine).run_transaction(_failing(1, "23505", calls))
    assert len(calls) == 1


def test_retries_give_up(engine: Engine) -> None:
    calls: list[int] = []
    with pytest.raises(sa.exc.OperationalError):
        DetectorStore(engine).run_transaction(_failing(10, "40P01", calls), attempts=3)
    assert len(calls) == 3
