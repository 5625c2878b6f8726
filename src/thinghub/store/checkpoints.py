"""WAL checkpoints of the embedded SQLite database, on a thread of their own.

SQLite checkpoints a WAL database from whichever connection commits past the
`wal_autocheckpoint` threshold, so now and then one request pays for copying the whole log
into the database file and syncing it: a few milliseconds on the event loop, every second or
so under load. This thread checkpoints (PASSIVE: never waiting for, nor blocking, readers and
the writer) several times a second instead, with the GIL released while SQLite works, so the
log seldom reaches the threshold. The threshold stays as the safety net should the thread fall
behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import cast

from sqlalchemy.engine import Engine

log = logging.getLogger("thinghub.store")

INTERVAL_SECONDS = 0.2


class WalCheckpointer:
    """Checkpoints `engine`'s SQLite file every `interval` seconds until stopped."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("WAL checkpoints are for SQLite engines only")
        self._engine = engine
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0  # checkpoints made so far

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="thinghub-wal-checkpoints", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop after a last checkpoint that also empties the log file (TRUNCATE)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        pooled = self._engine.raw_connection()  # made by the engine: same pragmas
        conn = cast(sqlite3.Connection, pooled.driver_connection)
        try:
            while not self._stopping.wait(self._interval):
                self._checkpoint(conn, "PASSIVE")
            self._checkpoint(conn, "TRUNCATE")
        finally:
            pooled.close()

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> None:
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
            self.rounds += 1
        except sqlite3.Error as exc:
            # A busy database or a full disk: the next round (or the threshold) catches up.
            log.warning("WAL checkpoint (%s) failed: %s", mode, exc)
