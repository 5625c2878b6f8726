from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from thinghub.store import (
    ResourceStore,
    Scope,
    create_engine,
    default_database_url,
    metadata,
    migrate,
)
from thinghub.store.engine import alembic_config, normalize_url


def _diffs(engine: sa.Engine, target: sa.MetaData = metadata) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, target))


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migration_matches_metadata_and_is_idempotent(new_database: Callable[[], str]) -> None:
    engine = create_engine(new_database())
    try:
        migrate(engine)
        assert _diffs(engine) == []
        assert _revision(engine) == _head()
        tables = set(sa.inspect(engine).get_table_names())
        assert tables == set(metadata.tables) | {"alembic_version"}

        migrate(engine)  # a second run is a no-op
        assert _diffs(engine) == []
        assert _revision(engine) == _head()
    finally:
        engine.dispose()


def test_metadata_comparison_detects_drift(new_database: Callable[[], str]) -> None:
    # Proves the check above has teeth: a schema change missing from migrations is reported.
    engine = create_engine(new_database())
    try:
        migrate(engine)
        drifted = sa.MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(drifted)
        sa.Table("extra", drifted, sa.Column("x", sa.Integer, primary_key=True))
        drifted.tables["tags"].append_column(sa.Column("note", sa.Text()))
        kinds = {diff[0] for diff in _diffs(engine, drifted) if isinstance(diff, tuple)}
        assert {"add_table", "add_column"} <= kinds
    finally:
        engine.dispose()


def test_downgrade_then_upgrade(new_database: Callable[[], str]) -> None:
    engine = create_engine(new_database())
    try:
        migrate(engine)
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        assert _diffs(engine) == []
    finally:
        engine.dispose()


def test_concurrent_migrations_do_not_collide(new_database: Callable[[], str]) -> None:
    url = new_database()
    engines = [create_engine(url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: sa.Engine) -> None:
        try:
            barrier.wait()
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert _diffs(engines[0]) == []
        with engines[0].connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one()
        assert count == 1
    finally:
        for e in engines:
            e.dispose()


def test_sqlite_connections_get_pragmas(tmp_path: Path) -> None:
    engine = create_engine(default_database_url(tmp_path))
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 1,  # NORMAL
            "foreign_keys": 1,
            "busy_timeout": 15000,
        }
    finally:
        engine.dispose()


def test_sqlite_write_transactions_lock_up_front_and_reads_do_not(tmp_path: Path) -> None:
    engine = create_engine(default_database_url(tmp_path))
    try:
        migrate(engine)
        store = ResourceStore(engine)
        other = sqlite3.connect(tmp_path / "thinghub.db", timeout=0, isolation_level=None)
        try:
            with store.transaction() as conn:
                conn.exec_driver_sql("SELECT 1")  # a read only, yet the write lock is held
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                # WAL: readers are never blocked by the writer.
                assert store.get(Scope("000000000000", "r"), "k", "x") is None
            other.execute("BEGIN IMMEDIATE")  # released on commit
            # ...and a plain read holds no lock that would block another writer.
            assert store.get(Scope("000000000000", "r"), "k", "x") is None
            other.execute("ROLLBACK")
        finally:
            other.close()
    finally:
        engine.dispose()


def test_default_database_url_creates_the_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    url = default_database_url(data_dir)
    assert data_dir.is_dir()
    assert url == f"sqlite:///{data_dir.resolve() / 'thinghub.db'}"


def test_postgresql_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    engine = create_engine("postgresql://u@127.0.0.1:1/db")  # lazy: does not connect
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()
