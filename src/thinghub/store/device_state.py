"""Device state: the last reported value of every Matter attribute of a managed thing.

One row per (thing, endpoint, cluster, attribute). `changed_at` moves only when the value
changes (GetManagedThingState's ``lastChangedAt``); `reported_at` on every report. Values are
JSON text, stored as reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from thinghub.store.resources import Scope
from thinghub.store.statements import StatementRunner
from thinghub.store.tables import thing_properties

__all__ = ["DeviceStateStore", "PropertyValue", "Reported", "StateBatch", "StateChange"]

_t = thing_properties


@dataclass(frozen=True, slots=True)
class Reported:
    endpoint_id: str
    cluster_id: int
    attribute_id: int
    value: Any


@dataclass(frozen=True, slots=True)
class PropertyValue:
    endpoint_id: str
    cluster_id: int
    attribute_id: int
    value: Any
    changed_at: float
    reported_at: float


_COLUMNS = (_t.c.endpoint_id, _t.c.cluster_id, _t.c.attribute_id, _t.c.value, _t.c.changed_at)
_THING = (
    _t.c.account_id == sa.bindparam("a"),
    _t.c.region == sa.bindparam("r"),
    _t.c.managed_thing_id == sa.bindparam("t"),
)
_READ = (
    sa.select(*_COLUMNS, _t.c.reported_at)
    .where(*_THING)
    .order_by(_t.c.endpoint_id, _t.c.cluster_id, _t.c.attribute_id)
)
_DELETE = sa.delete(_t).where(*_THING)


class DeviceStateStore:
    def __init__(self, engine: Engine) -> None:
        self._run = run = StatementRunner(engine)
        self._read_texts = sa.select(
            _t.c.endpoint_id, _t.c.cluster_id, _t.c.attribute_id, _t.c.value
        ).where(*_THING)
        insert = run.insert(_t).values(
            account_id=sa.bindparam("a"),
            region=sa.bindparam("r"),
            managed_thing_id=sa.bindparam("t"),
            endpoint_id=sa.bindparam("e"),
            cluster_id=sa.bindparam("c"),
            attribute_id=sa.bindparam("i"),
            value=sa.bindparam("v"),
            changed_at=sa.bindparam("now"),
            reported_at=sa.bindparam("now"),
        )
        excluded = insert.excluded
        self._upsert = insert.on_conflict_do_update(
            index_elements=[
                _t.c.account_id,
                _t.c.region,
                _t.c.managed_thing_id,
                _t.c.endpoint_id,
                _t.c.cluster_id,
                _t.c.attribute_id,
            ],
            set_={
                "value": excluded.value,
                "reported_at": excluded.reported_at,
                "changed_at": sa.case(
                    (_t.c.value == excluded.value, _t.c.changed_at), else_=excluded.changed_at
                ),
            },
        )

    def close(self) -> None:
        self._run.close()

    def report(
        self,
        scope: Scope,
        thing_id: str,
        values: Iterable[Reported],
        now: float,
        conn: Connection,
    ) -> list[Reported]:
        """Store reported values in the caller's transaction; the ones that changed (new
        attributes included), in the order given."""
        batch = StateBatch(self, conn, now)
        change = batch.diff(scope, thing_id, values)
        batch.apply(change)
        batch.write()
        return change.changed

    def _stored(self, scope: Scope, thing_id: str, conn: Connection) -> dict[_Key, str]:
        params = {"a": scope.account_id, "r": scope.region, "t": thing_id}
        return {
            (str(e), int(c), int(i)): text
            for e, c, i, text in self._run.rows(conn, self._read_texts, params)
        }

    def _write(self, rows: list[dict[str, Any]], conn: Connection) -> None:
        if rows:
            self._run.many(conn, self._upsert, rows)

    def read(
        self, scope: Scope, thing_id: str, conn: Connection | None = None
    ) -> list[PropertyValue]:
        """Every stored property of the thing, by endpoint, cluster and attribute id."""
        params = {"a": scope.account_id, "r": scope.region, "t": thing_id}
        return [
            PropertyValue(str(e), int(c), int(i), orjson.loads(v), float(ch), float(rep))
            for e, c, i, v, ch, rep in self._run.read(_READ, params, conn)
        ]

    def forget(self, scope: Scope, thing_id: str, conn: Connection) -> None:
        """Drop a deleted thing's state."""
        self._run.rowcount(conn, _DELETE, {"a": scope.account_id, "r": scope.region, "t": thing_id})


_Key = tuple[str, int, int]  # endpoint, cluster, attribute


@dataclass(frozen=True, slots=True)
class StateChange:
    """What one report would change: nothing is written until it is applied to its batch."""

    scope: Scope
    thing_id: str
    changed: list[Reported]  # values that differ from the stored ones, in the order given
    texts: list[tuple[_Key, str]]  # every reported value as stored (JSON text), in order


class StateBatch:
    """Reports about several things in one transaction (device events that arrive together):
    each thing's stored values are read once, a report compares against what the reports
    applied before it left, and every row is written with one statement at the end.

    `diff` reads but changes nothing, so a report that fails after it leaves no trace; `apply`
    the change once the report has succeeded, `write` once all have."""

    def __init__(self, store: DeviceStateStore, conn: Connection, now: float) -> None:
        self._store = store
        self._conn = conn
        self._now = now
        self._current: dict[tuple[Scope, str], dict[_Key, str]] = {}
        self._rows: list[dict[str, Any]] = []

    def _state(self, scope: Scope, thing_id: str) -> dict[_Key, str]:
        current = self._current.get((scope, thing_id))
        if current is None:
            current = self._store._stored(scope, thing_id, self._conn)
            self._current[(scope, thing_id)] = current
        return current

    def diff(self, scope: Scope, thing_id: str, values: Iterable[Reported]) -> StateChange:
        current = self._state(scope, thing_id)
        changed: list[Reported] = []
        texts: list[tuple[_Key, str]] = []
        latest: dict[_Key, str] = {}  # a report may name an attribute twice
        for value in values:
            key = (value.endpoint_id, value.cluster_id, value.attribute_id)
            text = _dumps(value.value)
            if latest.get(key, current.get(key)) != text:
                changed.append(value)
            latest[key] = text
            texts.append((key, text))
        return StateChange(scope, thing_id, changed, texts)

    def apply(self, change: StateChange) -> None:
        self._state(change.scope, change.thing_id).update(change.texts)
        scope, thing_id = change.scope, change.thing_id
        for key, text in change.texts:
            endpoint_id, cluster_id, attribute_id = key
            # Every report's rows, in order: a value changed and changed back within the batch
            # has still changed (lastChangedAt).
            self._rows.append(
                {
                    "a": scope.account_id,
                    "r": scope.region,
                    "t": thing_id,
                    "e": endpoint_id,
                    "c": cluster_id,
                    "i": attribute_id,
                    "v": text,
                    "now": self._now,
                }
            )

    def write(self) -> None:
        self._store._write(self._rows, self._conn)
        self._rows = []


def _dumps(value: Any) -> str:
    # Sorted keys: the same structured value always compares equal as text.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def values_of(rows: Sequence[PropertyValue]) -> dict[tuple[str, int, int], Any]:
    return {(row.endpoint_id, row.cluster_id, row.attribute_id): row.value for row in rows}
