"""Storage fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a freshly created, uniquely named database on 127.0.0.1:5432 (user
postgres, trust auth) and drop it afterwards. If the server is down they error out; they are
never skipped. Deselect them explicitly with `-m "not postgres"`.
"""

from __future__ import annotations

import secrets
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

try:
    import thinghub.store  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SAWarning
from tests.databases import BACKENDS, fresh_database

from thinghub.store import ResourceStore, Scope, create_engine, migrate


@pytest.fixture(autouse=True)
def _sqlalchemy_warnings_are_errors() -> Iterator[None]:
    # E.g. an accidental cartesian product in a statement must fail the test, not just warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        yield


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(scope="module")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per test module and backend; tests isolate via `scope`."""
    with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        engine = create_engine(url)
        migrate(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> ResourceStore:
    return ResourceStore(engine)


def random_account() -> str:
    return f"{secrets.randbelow(10**12):012d}"


@pytest.fixture
def scope() -> Scope:
    """A scope no other test uses, so tests can share the module's database."""
    return Scope(random_account(), "us-east-1")


@pytest.fixture
def new_account() -> Callable[[], str]:
    """A factory of account ids no other test uses."""
    return random_account


@pytest.fixture
def new_database(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty (unmigrated) databases, all dropped after the test."""
    with ExitStack() as stack:

        def make() -> str:
            return stack.enter_context(fresh_database(backend, tmp_path))

        yield make
