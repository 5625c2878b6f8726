"""What the detector and alarm stores share: records of a model by key value, read one or many
at a time, locked per (model, key) across nodes, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from thinghub.store.resources import Scope
from thinghub.store.statements import StatementRunner

R = TypeVar("R")
T = TypeVar("T")


class KeyedRecords(Generic[R]):
    """`get` and `get_many` statements select a record's columns for `:a`, `:r`, `:m` and `:k`
    (one key) or `:keys` (a `StatementRunner.list_param`), the key value second; `pg_lock`
    takes PostgreSQL advisory locks as `StatementRunner.lock_pairs` runs them."""

    def __init__(
        self,
        run: StatementRunner,
        *,
        get: sa.Select[Any],
        get_many: sa.Select[Any],
        pg_lock: sa.TextClause,
        record: Callable[[Sequence[Any]], R],
    ) -> None:
        self._run = run
        self._get_one = get
        self._get_many = get_many
        self._pg_lock = pg_lock
        self._make_record = record

    def close(self) -> None:
        """Release the connections held outside the engine's pool."""
        self._run.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One read-write transaction (BEGIN IMMEDIATE on SQLite): commit on exit, rollback on
        an exception."""
        with self._run.transaction() as conn:
            yield conn

    def run_transaction(self, work: Callable[[Connection], T], attempts: int = 4) -> T:
        """`work(conn)` in one transaction, run again from the start when PostgreSQL aborted it
        for a deadlock or a serialization failure (two nodes locking records in another
        order); any other error propagates at once."""
        return self._run.run_transaction(work, attempts)

    def lock(self, scope: Scope, pairs: Iterable[tuple[str, str]], conn: Connection) -> None:
        """Hold (model, key) records exclusively until `conn`'s transaction ends.

        PostgreSQL: advisory locks, existing record or not, taken in one statement in a global
        order. Take all of a transaction's locks in one call: a second call may deadlock with
        another node (PostgreSQL then aborts one; retry it). SQLite: nothing to do, the
        transaction already holds the database's write lock.
        """
        self._run.lock_pairs(conn, self._pg_lock, scope.account_id, scope.region, pairs)

    def get(self, scope: Scope, model: str, key: str, conn: Connection | None = None) -> R | None:
        params = {"a": scope.account_id, "r": scope.region, "m": model, "k": key}
        rows = self._run.read(self._get_one, params, conn)
        return self._make_record(rows[0]) if rows else None

    def get_many(
        self,
        scope: Scope,
        model: str,
        keys: Iterable[str],
        conn: Connection | None = None,
        *,
        lock: bool = False,
    ) -> dict[str, R]:
        """The records among `keys` that exist, by key, in one query.

        `lock=True` (needs `conn`) first takes `lock()` on every key, so the read and the
        writes that follow in the transaction are not interleaved with another node's.
        """
        key_list = list(dict.fromkeys(keys))
        if not key_list:
            return {}
        if lock:
            if conn is None:
                raise ValueError("lock=True needs the transaction's conn")
            self.lock(scope, [(model, k) for k in key_list], conn)
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "m": model,
            "keys": self._run.list_param(key_list),
        }
        rows = self._run.read(self._get_many, params, conn)
        return {row[1]: self._make_record(row) for row in rows}
