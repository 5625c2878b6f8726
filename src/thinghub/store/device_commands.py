"""Commands sent to managed things (SendManagedThingCommand), by TraceId.

A command is PENDING from its 202 until the connector's DEVICE_COMMAND_RESPONSE, a failed
invocation or its deadline ends it as SUCCEEDED or FAILED; only the first ending counts
(`finish` is a compare-and-set on PENDING), so a late or repeated response changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from thinghub.store.resources import Scope
from thinghub.store.statements import StatementRunner
from thinghub.store.tables import device_commands

__all__ = ["FAILED", "PENDING", "SUCCEEDED", "CommandRecord", "CommandStore"]

PENDING = "PENDING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

_c = device_commands
_COLUMNS = (
    _c.c.account_id,
    _c.c.region,
    _c.c.trace_id,
    _c.c.managed_thing_id,
    _c.c.connector_id,
    _c.c.status,
    _c.c.request,
    _c.c.outcome,
    _c.c.created_at,
    _c.c.updated_at,
    _c.c.due_at,
)
_KEY = (
    _c.c.account_id == sa.bindparam("a"),
    _c.c.region == sa.bindparam("r"),
    _c.c.trace_id == sa.bindparam("id"),
)
_GET = sa.select(*_COLUMNS).where(*_KEY)
_ADD = sa.insert(_c).values(
    account_id=sa.bindparam("a"),
    region=sa.bindparam("r"),
    trace_id=sa.bindparam("id"),
    managed_thing_id=sa.bindparam("thing"),
    connector_id=sa.bindparam("connector"),
    status=PENDING,
    request=sa.bindparam("request"),
    created_at=sa.bindparam("now"),
    updated_at=sa.bindparam("now"),
    due_at=sa.bindparam("due"),
)
_FINISH = (
    sa.update(_c)
    .where(*_KEY, _c.c.status == PENDING)
    .values(
        status=sa.bindparam("status"),
        outcome=sa.bindparam("outcome"),
        updated_at=sa.bindparam("now"),
        due_at=None,
    )
)
_DUE = (
    sa.select(*_COLUMNS)
    .where(_c.c.due_at <= sa.bindparam("now"))
    .order_by(_c.c.due_at)
    .limit(sa.bindparam("lim"))
)
_NEXT_DUE = sa.select(sa.func.min(_c.c.due_at))


@dataclass(frozen=True, slots=True)
class CommandRecord:
    scope: Scope
    trace_id: str
    managed_thing_id: str
    connector_id: str
    status: str
    request: dict[str, Any]
    outcome: dict[str, Any] | None
    created_at: float
    updated_at: float
    due_at: float | None


def _record(row: Any) -> CommandRecord:
    a, r, trace, thing, connector, status, request, outcome, created, updated, due = row
    return CommandRecord(
        Scope(a, r),
        trace,
        thing,
        connector,
        status,
        orjson.loads(request),
        None if outcome is None else orjson.loads(outcome),
        float(created),
        float(updated),
        None if due is None else float(due),
    )


class CommandStore:
    def __init__(self, engine: Engine) -> None:
        self._run = StatementRunner(engine)

    def close(self) -> None:
        self._run.close()

    def add(
        self,
        scope: Scope,
        trace_id: str,
        thing_id: str,
        connector_id: str,
        request: dict[str, Any],
        now: float,
        due_at: float | None,
        conn: Connection,
    ) -> None:
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "id": trace_id,
            "thing": thing_id,
            "connector": connector_id,
            "request": orjson.dumps(request).decode(),
            "now": now,
            "due": due_at,
        }
        self._run.rowcount(conn, _ADD, params)

    def get(
        self, scope: Scope, trace_id: str, conn: Connection | None = None
    ) -> CommandRecord | None:
        rows = self._run.read(
            _GET, {"a": scope.account_id, "r": scope.region, "id": trace_id}, conn
        )
        return _record(rows[0]) if rows else None

    def finish(
        self,
        scope: Scope,
        trace_id: str,
        status: str,
        outcome: dict[str, Any],
        now: float,
        conn: Connection,
    ) -> bool:
        """End a PENDING command; False if it had ended already (or does not exist)."""
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "id": trace_id,
            "status": status,
            "outcome": orjson.dumps(outcome).decode(),
            "now": now,
        }
        return self._run.rowcount(conn, _FINISH, params) > 0

    def due(self, now: float, limit: int = 100) -> list[CommandRecord]:
        """PENDING commands whose deadline has passed, earliest first."""
        return [_record(row) for row in self._run.read(_DUE, {"now": now, "lim": limit}, None)]

    def next_due(self) -> float | None:
        value = self._run.read(_NEXT_DUE, {}, None)[0][0]
        return None if value is None else float(value)
