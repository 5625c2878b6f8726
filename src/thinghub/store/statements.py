"""Core statements run the fast way: compiled once, executed straight on the DBAPI connection
on SQLite (detectors, outbox), through SQLAlchemy on PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, TypeVar, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql.compiler import SQLCompiler

from thinghub.store.fastread import FastReader

T = TypeVar("T")
# PostgreSQL: deadlock_detected, serialization_failure - the transaction may simply be retried.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


class _SqliteSql:
    """A Core statement compiled once to SQLite SQL, with the order of its parameters."""

    __slots__ = ("_getter", "names", "sql")

    def __init__(self, stmt: sa.ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, stmt.compile(dialect=dialect))
        if not compiled.positional or compiled.positiontup is None:
            raise ValueError("expected a positional (qmark) paramstyle")
        self.sql = compiled.string
        # Constants (e.g. SQLite's OFFSET 0 beside a bound LIMIT) are fixed now.
        constants = compiled.construct_params(_check=False)
        required = {bp.key for bp in compiled.binds.values() if bp.required}
        self.names: tuple[tuple[str, bool, Any], ...] = tuple(
            (name, name in required, constants.get(name)) for name in compiled.positiontup
        )
        # The common case, every parameter named by the caller: one C-level call per row.
        self._getter: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None
        if len(self.names) > 1 and all(needed for _, needed, _ in self.names):
            self._getter = itemgetter(*(name for name, _, _ in self.names))

    def bind(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        if self._getter is not None:
            return self._getter(params)
        return tuple(params[name] if needed else const for name, needed, const in self.names)


class StatementRunner:
    """Runs Core statements for a store: on SQLite, compiled once and executed on the raw
    sqlite3 connection (also inside a caller's SQLAlchemy transaction, which is the same
    DBAPI transaction); on PostgreSQL through SQLAlchemy, where the round trip dominates.

    Shared by DetectorStore, AlarmStore and Outbox.
    """

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {dialect!r}")
        self.engine = engine
        self.dialect = engine.dialect
        self.sqlite = dialect == "sqlite"
        self._compiled: dict[sa.ClauseElement, _SqliteSql] = {}
        self._fast: FastReader | None = FastReader(engine) if self.sqlite else None
        # PostgreSQL reads outside a transaction skip the BEGIN/ROLLBACK round trips.
        self._read_engine = (
            engine if self.sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()

    @property
    def insert(self) -> Callable[..., Any]:
        """The dialect's INSERT, which has ON CONFLICT."""
        return sqlite_dialect.insert if self.sqlite else pg_dialect.insert

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A read-write transaction; on SQLite BEGIN IMMEDIATE, as with `engine.writer`.

        On SQLite the BEGIN goes straight to the sqlite3 connection instead of through
        writer()'s begin listener: the same transaction for ~40 µs less, because an engine
        with a ConnectionEvents listener puts every statement on SQLAlchemy's slow event path.
        """
        with self.engine.begin() as conn:
            if self.sqlite:
                dbapi = self._dbapi(conn)
                if not dbapi.in_transaction:  # a writer() engine has begun already
                    try:
                        dbapi.execute("BEGIN IMMEDIATE")
                    except sqlite3.Error as exc:
                        raise sa.exc.DBAPIError.instance(
                            "BEGIN IMMEDIATE", (), exc, sqlite3.Error
                        ) from exc
            yield conn

    def run_transaction(self, work: Callable[[Connection], T], attempts: int = 4) -> T:
        """`work(conn)` in one `transaction()`, run again from the start when PostgreSQL aborted
        it for a deadlock or a serialization failure; any other error propagates at once."""
        for attempt in range(attempts):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                code = getattr(exc.orig, "sqlstate", None)
                if code not in RETRYABLE_SQLSTATES or attempt == attempts - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def lock_pairs(
        self,
        conn: Connection,
        stmt: sa.Executable,
        account_id: str,
        region: str,
        pairs: Iterable[tuple[str, str]],
    ) -> None:
        """Run `stmt`, a PostgreSQL advisory lock statement taking `:a`, `:r` and the arrays
        `:models` and `:keys`, over the distinct (model, key) pairs in order. Nothing on SQLite,
        where the transaction already holds the database's write lock."""
        if self.sqlite:
            return
        ordered = sorted(set(pairs))
        if not ordered:
            return
        conn.execute(
            stmt,
            {
                "a": account_id,
                "r": region,
                "models": [m for m, _ in ordered],
                "keys": [k for _, k in ordered],
            },
        )

    @contextmanager
    def writing(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.transaction() as own:
                yield own

    def _sql(self, stmt: sa.ClauseElement) -> _SqliteSql:
        compiled = self._compiled.get(stmt)
        if compiled is None:
            compiled = self._compiled[stmt] = _SqliteSql(stmt, self.dialect)
        return compiled

    @staticmethod
    def _dbapi(conn: Connection) -> sqlite3.Connection:
        return cast(sqlite3.Connection, conn.connection.driver_connection)

    def rows(
        self, conn: Connection, stmt: sa.Executable, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """All rows of `stmt` (a SELECT, or DML with RETURNING) run on `conn`."""
        if not self.sqlite:
            return conn.execute(stmt, params).all()
        sql = self._sql(cast(sa.ClauseElement, stmt))
        args = sql.bind(params)
        try:
            return self._dbapi(conn).execute(sql.sql, args).fetchall()
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(sql.sql, args, exc, sqlite3.Error) from exc

    def rowcount(self, conn: Connection, stmt: sa.Executable, params: Mapping[str, Any]) -> int:
        """Run DML without RETURNING; the number of rows it affected."""
        if not self.sqlite:
            return int(conn.execute(stmt, params).rowcount)
        sql = self._sql(cast(sa.ClauseElement, stmt))
        args = sql.bind(params)
        try:
            return int(self._dbapi(conn).execute(sql.sql, args).rowcount)
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(sql.sql, args, exc, sqlite3.Error) from exc

    def many(self, conn: Connection, stmt: sa.Executable, rows: Sequence[Mapping[str, Any]]) -> int:
        """executemany: one prepared statement stepped once per row; the rows it affected."""
        if not rows:
            return 0
        if not self.sqlite:
            return int(conn.execute(stmt, list(rows)).rowcount)
        sql = self._sql(cast(sa.ClauseElement, stmt))
        args = [sql.bind(row) for row in rows]
        try:
            return int(self._dbapi(conn).executemany(sql.sql, args).rowcount)
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(sql.sql, args, exc, sqlite3.Error) from exc

    def read(
        self, stmt: sa.Select[Any], params: Mapping[str, Any], conn: Connection | None
    ) -> Sequence[Sequence[Any]]:
        """A single-statement read: in `conn`'s transaction, else on its own."""
        if conn is not None:
            return self.rows(conn, stmt, params)
        if self._fast is not None:
            return self._fast.all(stmt, dict(params))
        with self._read_engine.connect() as c:
            return c.execute(stmt, params).all()

    # Lists of values bound as ONE parameter, so a statement compiles once whatever the length:
    # a JSON array read with json_each on SQLite, an array on PostgreSQL.

    def value_list(
        self, name: str, element: sa.types.TypeEngine[Any] | None = None
    ) -> sa.TableValuedAlias:
        """A one-column (`value`) table of the values bound to `name` (see `list_param`)."""
        if self.sqlite:
            return sa.func.json_each(sa.bindparam(name, type_=sa.Text())).table_valued("value")
        array = sa.bindparam(name, type_=pg_dialect.ARRAY(element or sa.Text()))
        # Rendered `AS <alias>(value)`: PostgreSQL names unnest's column after the alias.
        return sa.func.unnest(array).table_valued("value").render_derived()

    def in_list(
        self,
        column: sa.ColumnElement[Any],
        name: str,
        element: sa.types.TypeEngine[Any] | None = None,
    ) -> sa.ColumnElement[bool]:
        """`column` is one of the values bound to `name` (see `list_param`)."""
        if self.sqlite:
            return column.in_(sa.select(self.value_list(name).c.value))
        array = sa.bindparam(name, type_=pg_dialect.ARRAY(element or sa.Text()))
        return column == sa.any_(array)

    def list_param(self, values: Sequence[Any]) -> Any:
        return orjson.dumps(values).decode() if self.sqlite else list(values)
