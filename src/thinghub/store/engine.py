"""Engines for SQLite (default, WAL) and PostgreSQL (shared by several nodes), and migrations."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# How long a SQLite writer waits for the file lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000

# Arbitrary constant key of the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK_KEY = 0x7468_696E_6768_7562 & 0x7FFF_FFFF_FFFF_FFFF  # "thinghub"


def default_database_url(data_dir: Path) -> str:
    """The SQLite file `thinghub.db` inside `data_dir`, which is created if missing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'thinghub.db').resolve()}"


def normalize_url(url: str) -> str:
    """Send bare `postgresql://` (and Heroku-style `postgres://`) URLs to psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine(url: str) -> Engine:
    """An engine for `url`; SQLite connections get WAL and friends, PostgreSQL uses psycopg 3."""
    parsed = make_url(normalize_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ValueError(f"unsupported PostgreSQL driver {parsed.drivername!r}; use psycopg")
        # Recycle idle connections so a restarted server or a NAT timeout cannot poison the pool.
        return sa.create_engine(parsed, pool_size=10, max_overflow=20, pool_recycle=1800)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:// or postgresql://")


def is_sqlite_file(engine: Engine) -> bool:
    """Whether `engine` is a SQLite database in a file (WAL), not in memory."""
    return engine.dialect.name == "sqlite" and not _in_memory(engine.url)


def _in_memory(url: sa.URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def _sqlite_engine(url: sa.URL) -> Engine:
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if not _in_memory(url):
        # A file database: a small queue of connections reused across threads (WAL lets readers
        # run beside the single writer).
        # LIFO: the connection used last comes back first; SQLite keeps its page cache only
        # while no other connection has written, so the writer's cache stays warm.
        kwargs.update(pool_size=8, max_overflow=16, pool_use_lifo=True)
    engine = sa.create_engine(url, **kwargs)
    # A pool event: runs once per new DBAPI connection, costs nothing per statement.
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    try:
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Checkpoint every 10,000 WAL pages (~40 MB) instead of 1,000: a page rewritten many
        # times between checkpoints is copied once, and the fsyncs come 10x less often. About
        # 10% off a small write transaction; the WAL file may grow to that size.
        cur.execute("PRAGMA wal_autocheckpoint=10000")
    finally:
        cur.close()


def _enable_wal(cur: sqlite3.Cursor) -> None:
    """Switch the database to WAL (nothing to do once it is). Switching a new file needs it to
    itself for a moment, and SQLite answers "database is locked" at once, without waiting on
    the busy timeout, while another connection uses it: as when several processes or engines
    start on a new file together. Retried until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def writer(engine: Engine) -> Engine:
    """`engine` for read-write transactions: on SQLite every transaction is BEGIN IMMEDIATE.

    The sqlite3 module only opens a transaction at the first INSERT/UPDATE/DELETE, so reads
    before it would see no snapshot, and a deferred transaction that later writes can fail to
    upgrade its lock ("database is locked") instead of waiting. Taking the write lock up front
    makes writers queue on busy_timeout and keeps the whole transaction serialisable.

    The listener sits on a derived engine, not on `engine`: a ConnectionEvents listener on the
    base engine would put every statement, reads included, on SQLAlchemy's slower event path.
    Plain reads on `engine` run as single autocommit statements.
    """
    if engine.dialect.name != "sqlite":
        return engine
    derived = engine.execution_options()
    event.listen(derived, "begin", _sqlite_begin_immediate)
    return derived


def _sqlite_begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the migrations shipped inside the package (no alembic.ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to run from several processes at once."""
    cfg = alembic_config()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # Transaction-scoped: released by the commit. A second node blocks here, then finds
            # the schema already at head and does nothing.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    else:
        # BEGIN IMMEDIATE takes SQLite's write lock up front, serialising concurrent migrators
        # and making the DDL transactional.
        with writer(engine).begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
