"""The WAL checkpointer of the embedded SQLite database."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from thinghub.store import create_engine, default_database_url
from thinghub.store.checkpoints import WalCheckpointer


def _write(engine: Engine, rows: int) -> None:
    with engine.begin() as conn:
        for _ in range(rows):
            conn.execute(sa.text("INSERT INTO t VALUES (:v)"), {"v": "x" * 2000})


def test_the_log_is_copied_while_serving_and_emptied_at_the_end(tmp_path: Path) -> None:
    engine = create_engine(default_database_url(tmp_path))
    wal = tmp_path / "thinghub.db-wal"
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (v TEXT)"))
    checkpointer = WalCheckpointer(engine, interval=0.05)
    checkpointer.start()
    try:
        _write(engine, 200)
        first = wal.stat().st_size
        rounds = checkpointer.rounds
        deadline = time.monotonic() + 10
        while checkpointer.rounds < rounds + 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        # Copied into the database meanwhile, so the next writes start the log over instead
        # of growing it (without checkpoints it would double).
        _write(engine, 200)
        assert wal.stat().st_size <= first
    finally:
        checkpointer.stop()
    assert wal.stat().st_size == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 400
    engine.dispose()
