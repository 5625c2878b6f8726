"""Fresh databases for tests: a SQLite file, or a new uniquely named PostgreSQL database.

PostgreSQL is 127.0.0.1:5432 (user postgres, trust auth) unless THINGHUB_TEST_PG_* say
otherwise. If it is down, its tests error out; they are never skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from thinghub.store import default_database_url

PG_HOST = os.environ.get("THINGHUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("THINGHUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("THINGHUB_TEST_PG_USER", "postgres")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


@contextmanager
def fresh_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """The URL of a new, empty database, removed again on exit."""
    if backend == "sqlite":
        yield default_database_url(tmp_dir / secrets.token_hex(6))
        return
    name = f"thinghub_test_{secrets.token_hex(8)}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
