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

__all__ = ["DeviceStateStore", "PropertyValue", "Reported"]

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
        self._read_cluster = sa.select(_t.c.attribute_id, _t.c.value).where(
            *_THING,
            _t.c.endpoint_id == sa.bindparam("e"),
            _t.c.cluster_id == sa.bindparam("c"),
        )
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
        by_cluster: dict[tuple[str, int], list[Reported]] = {}
        for value in values:
            by_cluster.setdefault((value.endpoint_id, value.cluster_id), []).append(value)
        changed: list[Reported] = []
        rows: list[dict[str, Any]] = []
        base = {"a": scope.account_id, "r": scope.region, "t": thing_id}
        for (endpoint_id, cluster_id), reported in by_cluster.items():
            stored = {
                int(attribute): text
                for attribute, text in self._run.rows(
                    conn, self._read_cluster, {**base, "e": endpoint_id, "c": cluster_id}
                )
            }
            for value in reported:
                text = _dumps(value.value)
                if stored.get(value.attribute_id) != text:
                    changed.append(value)
                    stored[value.attribute_id] = text
                rows.append(
                    {
                        **base,
                        "e": endpoint_id,
                        "c": cluster_id,
                        "i": value.attribute_id,
                        "v": text,
                        "now": now,
                    }
                )
        if rows:
            self._run.many(conn, self._upsert, rows)
        return changed

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


def _dumps(value: Any) -> str:
    # Sorted keys: the same structured value always compares equal as text.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def values_of(rows: Sequence[PropertyValue]) -> dict[tuple[str, int, int], Any]:
    return {(row.endpoint_id, row.cluster_id, row.attribute_id): row.value for row in rows}
