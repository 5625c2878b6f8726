"""Single-statement reads on SQLite, straight on the DBAPI connection.

Checking a SQLAlchemy Connection out of the pool, executing through it and closing it costs
about 35 µs of Python per call, several times the cost of the indexed query itself. For the
hottest reads (get, list, tags) on SQLite we compile the very same Core statement once and run
its SQL on the pooled sqlite3 connection directly (about 13 µs per call). The statements stay
defined once, in Core, in resources.py; only the execution path differs. Reads inside a caller's
transaction, and every PostgreSQL read (where the network round trip dominates), keep using
SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class _Compiled:
    __slots__ = ("params", "sql")

    def __init__(self, engine: Engine, stmt: sa.Select[Any]) -> None:
        compiled = stmt.compile(dialect=engine.dialect)
        if not compiled.positional or compiled.positiontup is None:
            raise ValueError("FastReader needs a positional (qmark) paramstyle")
        self.sql = compiled.string
        # Constant parameters (e.g. the OFFSET 0 SQLite renders beside a bound LIMIT) are fixed
        # now; named ones are looked up per call.
        constants = compiled.construct_params(_check=False)
        required = {bp.key for bp in compiled.binds.values() if bp.required}
        self.params: tuple[tuple[str, bool, Any], ...] = tuple(
            (name, name in required, constants.get(name)) for name in compiled.positiontup
        )

    def bind(self, params: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(params[name] if needed else const for name, needed, const in self.params)


class FastReader:
    """Runs Core SELECTs (compiled once per statement) on a raw SQLite connection.

    Each thread keeps one connection of its own, detached from the pool: even a pool checkout
    costs more than the query. Every statement runs in SQLite autocommit mode, i.e. as its own
    implicit read transaction on the latest committed snapshot (WAL), so only single-statement
    reads belong here. Results are plain tuples: the store's columns (TEXT, INTEGER, REAL) need
    no SQLAlchemy result processing.
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("FastReader is for SQLite engines only")
        self._engine = engine
        self._compiled: dict[sa.Select[Any], _Compiled] = {}
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _get(self, stmt: sa.Select[Any]) -> _Compiled:
        compiled = self._compiled.get(stmt)
        if compiled is None:
            compiled = self._compiled[stmt] = _Compiled(self._engine, stmt)
        return compiled

    def _connection(self) -> sqlite3.Connection:
        dbapi: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if dbapi is None:
            pooled = self._engine.raw_connection()  # made by the engine: same pragmas
            dbapi = cast(sqlite3.Connection, pooled.driver_connection)
            pooled.detach()
            self._local.conn = dbapi
            with self._lock:
                self._opened.append(dbapi)
        return dbapi

    def all(self, stmt: sa.Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        compiled = self._get(stmt)
        return self._connection().execute(compiled.sql, compiled.bind(params)).fetchall()

    def first(self, stmt: sa.Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        compiled = self._get(stmt)
        row: tuple[Any, ...] | None = (
            self._connection().execute(compiled.sql, compiled.bind(params)).fetchone()
        )
        return row

    def close(self) -> None:
        """Close every thread's connection (on shutdown)."""
        with self._lock:
            for dbapi in self._opened:
                dbapi.close()
            self._opened.clear()
        self._local = threading.local()
