"""AlarmStore: the IoT Events alarms, one row per (alarm model, key value).

A row holds the alarm's state name, the alarm model version it belongs to, a JSON document the
runtime encodes (the last message of each input, the last rule evaluation, the customer action
or system event behind the current state) and `snooze_until`, the durable timer of a
SNOOZE_DISABLED alarm.

Every write happens in the caller's transaction (`conn`), next to the detector evaluations of
the same messages and the outbox items of the alarm actions.

Several nodes on one PostgreSQL database: `get_many(lock=True)` takes a transaction-scoped
advisory lock per alarm (existing or not) in a global order before reading; `claim_due` takes
only snoozed alarms whose lock is free right now and whose row nobody holds (SKIP LOCKED), so a
claimer never waits and two nodes never end the same snooze. On SQLite the transaction already
holds the database's write lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from thinghub.store.keyed import KeyedRecords
from thinghub.store.pagination import PageTokens
from thinghub.store.resources import Scope
from thinghub.store.statements import StatementRunner
from thinghub.store.tables import alarm_instances

__all__ = ["AlarmRecord", "AlarmStore", "DueSnooze"]

T = TypeVar("T")

_a = alarm_instances
_COLUMNS = (
    _a.c.alarm_model_name,
    _a.c.key_value,
    _a.c.alarm_model_version,
    _a.c.state_name,
    _a.c.document,
    _a.c.snooze_until,
    _a.c.created_at,
    _a.c.updated_at,
)
_MODEL = (
    _a.c.account_id == sa.bindparam("a"),
    _a.c.region == sa.bindparam("r"),
    _a.c.alarm_model_name == sa.bindparam("m"),
)
_GET = sa.select(*_COLUMNS).where(*_MODEL, _a.c.key_value == sa.bindparam("k"))
_LIST = (
    sa.select(_a.c.seq, *_COLUMNS)
    .where(*_MODEL, _a.c.seq > sa.bindparam("after"))
    .order_by(_a.c.seq)
    .limit(sa.bindparam("lim"))
)
_DELETE_MODEL = sa.delete(_a).where(*_MODEL)
_NEXT_DUE = sa.select(sa.func.min(_a.c.snooze_until))
_CLAIM_SQLITE = (
    sa.select(_a.c.account_id, _a.c.region, *_COLUMNS)
    .where(_a.c.snooze_until <= sa.bindparam("now"))
    .order_by(_a.c.snooze_until, _a.c.seq)
    .limit(sa.bindparam("lim"))
)

# The advisory lock of one alarm: a 64-bit hash of its identity, in a namespace of its own so
# that an alarm and a detector of the same name never share a lock.
_PG_LOCK_KEY = "hashtextextended(concat_ws(chr(31), 'alarm', {a}, {r}, {m}, {k}), 0)"
_PG_LOCK = sa.text(
    f"""
SELECT count(pg_advisory_xact_lock(h)) FROM (
    SELECT DISTINCT {_PG_LOCK_KEY.format(a="CAST(:a AS text)", r="CAST(:r AS text)", m="m", k="k")}
        AS h
    FROM unnest(CAST(:models AS text[]), CAST(:keys AS text[])) AS u(m, k)
    ORDER BY h
) AS s
"""
)
_PG_CLAIM = sa.text(
    f"""
WITH cand AS MATERIALIZED (
    SELECT seq, account_id, region, alarm_model_name, key_value FROM alarm_instances
    WHERE snooze_until <= :now ORDER BY snooze_until, seq LIMIT :lim
), mine AS MATERIALIZED (
    SELECT seq FROM cand
    WHERE pg_try_advisory_xact_lock({
        _PG_LOCK_KEY.format(a="account_id", r="region", m="alarm_model_name", k="key_value")
    })
)
SELECT t.account_id, t.region, t.alarm_model_name, t.key_value, t.alarm_model_version,
    t.state_name, t.document, t.snooze_until, t.created_at, t.updated_at
FROM alarm_instances t JOIN mine USING (seq)
WHERE t.snooze_until <= :now
ORDER BY t.snooze_until, t.seq
FOR UPDATE OF t SKIP LOCKED
"""
)


@dataclass(slots=True)
class AlarmRecord:
    """One alarm. `document` is stored exactly as given."""

    model: str
    key: str  # '' for a model without a key
    version: str
    state: str
    document: str
    snooze_until: float | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class DueSnooze:
    scope: Scope
    record: AlarmRecord


def _record(row: Sequence[Any]) -> AlarmRecord:
    model, key, version, state, document, snooze_until, created_at, updated_at = row
    return AlarmRecord(
        model,
        key,
        version,
        state,
        document,
        None if snooze_until is None else float(snooze_until),
        float(created_at),
        float(updated_at),
    )


class AlarmStore(KeyedRecords[AlarmRecord]):
    """Alarms over one engine; every write takes the caller's `conn`."""

    def __init__(self, engine: Engine, page_tokens: PageTokens) -> None:
        self._run = run = StatementRunner(engine)
        self.page_tokens = page_tokens
        super().__init__(
            run,
            get=_GET,
            get_many=sa.select(*_COLUMNS).where(*_MODEL, run.in_list(_a.c.key_value, "keys")),
            pg_lock=_PG_LOCK,
            record=_record,
        )
        insert = run.insert(_a).values(
            account_id=sa.bindparam("a"),
            region=sa.bindparam("r"),
            alarm_model_name=sa.bindparam("m"),
            key_value=sa.bindparam("k"),
            alarm_model_version=sa.bindparam("ver"),
            state_name=sa.bindparam("st"),
            document=sa.bindparam("doc"),
            snooze_until=sa.bindparam("snz", type_=sa.Double()),
            created_at=sa.bindparam("ca"),
            updated_at=sa.bindparam("ua"),
        )
        excluded = insert.excluded
        self._upsert = insert.on_conflict_do_update(
            index_elements=[_a.c.account_id, _a.c.region, _a.c.alarm_model_name, _a.c.key_value],
            set_={
                "alarm_model_version": excluded.alarm_model_version,
                "state_name": excluded.state_name,
                "document": excluded.document,
                "snooze_until": excluded.snooze_until,
                "created_at": excluded.created_at,
                "updated_at": excluded.updated_at,
            },
        )

    # --- alarms -----------------------------------------------------------------------------

    def upsert_many(self, scope: Scope, records: Iterable[AlarmRecord], conn: Connection) -> None:
        """Insert new alarms and replace existing ones (the last record of a key wins)."""
        latest = {(rec.model, rec.key): rec for rec in records}
        if not latest:
            return
        rows = [
            {
                "a": scope.account_id,
                "r": scope.region,
                "m": rec.model,
                "k": rec.key,
                "ver": rec.version,
                "st": rec.state,
                "doc": rec.document,
                "snz": rec.snooze_until,
                "ca": rec.created_at,
                "ua": rec.updated_at,
            }
            # Sorted: concurrent writers lock rows in the same order on PostgreSQL.
            for rec in (latest[pair] for pair in sorted(latest))
        ]
        self._run.many(conn, self._upsert, rows)

    def delete_model(self, scope: Scope, model: str, conn: Connection) -> int:
        """Delete every alarm of `model` (with their snoozes); how many."""
        params = {"a": scope.account_id, "r": scope.region, "m": model}
        return self._run.rowcount(conn, _DELETE_MODEL, params)

    def list_page(
        self,
        scope: Scope,
        model: str,
        *,
        max_results: int,
        next_token: str | None,
        conn: Connection | None = None,
    ) -> tuple[list[AlarmRecord], str | None]:
        """One page of `model`'s alarms in creation order, and the next page's token or None.
        A token only works for the same scope and model (else InvalidPageToken)."""
        if max_results < 1:
            raise ValueError("max_results must be at least 1")
        binding = orjson.dumps([scope.account_id, scope.region, model, "alarms"]).decode()
        after = 0 if next_token is None else self.page_tokens.decode(next_token, binding)
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "m": model,
            "after": after,
            "lim": max_results + 1,  # one extra row tells whether another page exists
        }
        rows = self._run.read(_LIST, params, conn)
        token = None
        if len(rows) > max_results:
            rows = rows[:max_results]
            token = self.page_tokens.encode(int(rows[-1][0]), binding)
        return [_record(row[1:]) for row in rows], token

    # --- snoozes ----------------------------------------------------------------------------

    def next_due(self, conn: Connection | None = None) -> float | None:
        """The earliest snooze end of any alarm in any scope, or None."""
        value = self._run.read(_NEXT_DUE, {}, conn)[0][0]
        return None if value is None else float(value)

    def claim_due(self, now: float, limit: int, conn: Connection) -> list[DueSnooze]:
        """Up to `limit` snoozed alarms whose snooze ended by `now`, earliest first, locked for
        the caller's transaction. The caller must write them back with `snooze_until` None (or
        later) in the same transaction; a rollback leaves them due, to be claimed again."""
        if limit < 1:
            return []
        stmt = _CLAIM_SQLITE if self._run.sqlite else _PG_CLAIM
        rows = self._run.rows(conn, stmt, {"now": now, "lim": limit})
        return [DueSnooze(Scope(row[0], row[1]), _record(row[2:])) for row in rows]
