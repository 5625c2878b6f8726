"""DetectorStore: the IoT Events detector runtime's state.

Three things live here, all confined to a `Scope`:

- detector instances, one row per (model, key value), with their variables and last inputs as
  JSON text encoded by the runtime (it keeps numbers as Decimal, so it owns the encoding);
- timers, (model, key, timer name) -> (due_at, duration), with a global due_at index for the
  scheduler;
- message ids seen in the last five minutes, so BatchPutMessage ignores a repeated messageId.

Batches. BatchPutMessage must reach ~20,000 messages/s on SQLite, so a whole batch is read and
written in ONE transaction (`transaction()`; every method takes its `conn`) with one statement
per kind of work: `get_many`/`timers_for` read all keys at once (the key list is one bound
parameter: json_each on SQLite, an array on PostgreSQL, so the statement never changes;
`get_many_with_timers` reads both in one statement on SQLite), `upsert_many`/`set_timers_many`
are executemany on SQLite (rows the caller read in the transaction as plain UPDATEs that leave
the state index alone when the state is unchanged) and `upsert_many` one unnest() INSERT on
PostgreSQL, `mark_messages` one INSERT ... SELECT over the id list. On SQLite the
statements are compiled once and run straight on the sqlite3 connection inside the caller's
transaction (`StatementRunner`), skipping SQLAlchemy's per-statement overhead.

Scale. Nothing loads a model's instances: listing pages on an index in seq order,
`count` is one aggregate, `delete_model` deletes by index in bounded chunks.

Several nodes on one PostgreSQL database (SQLite serialises every writer with BEGIN IMMEDIATE,
so none of this is needed there):

- Per-detector exclusion: `lock()` / `get_many(lock=True)` takes a transaction-scoped advisory
  lock per instance, in a global order (no deadlock between two batches), before reading.
  It also covers instances that do not exist yet, which row locks cannot.
- Timer claims: `claim_due` takes a timer only if it can get its detector's lock *without
  waiting* (pg_try_advisory_xact_lock) and its row with SKIP LOCKED, then deletes it. A claimer
  therefore never waits on a busy detector and holds the lock of every detector it claimed, so
  the evaluation that follows needs no further lock and two nodes never fire the same timer.

Timer crash window: call `claim_due(now, limit, conn)` inside the transaction that evaluates the
fired timers and writes the detectors' new state and timers (`set_timers*`). The claim is a
DELETE in that transaction: if the node dies or the transaction rolls back, the timers are
still there, due, and are claimed again (at-least-once, never lost). Only after the commit are
they gone, together with the evaluation's effects and its outbox items. `claim_due(now, limit)`
without a connection commits the claim on its own and is at-most-once: use it only where
losing a firing on a crash is acceptable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.engine import Connection, Engine

from thinghub.store.keyed import KeyedRecords
from thinghub.store.pagination import PageTokens
from thinghub.store.resources import Scope, page_token_key
from thinghub.store.statements import StatementRunner
from thinghub.store.tables import (
    detector_instances,
    detector_message_ids,
    detector_timers,
)

__all__ = [
    "DetectorRecord",
    "DetectorStore",
    "DueTimer",
    "StatementRunner",
    "TimerSet",
]

# name -> (due_at, duration_seconds)
TimerSet = Mapping[str, tuple[float, int]]

MESSAGE_ID_TTL = 300.0  # IoT Events ignores a messageId seen in the last five minutes
_CHUNK = 10_000  # rows per transaction when deleting in the background
T = TypeVar("T")
_ONE = sa.literal_column("1", sa.Integer())

# upsert_many's per-record values: (parameter, column, type)
_UPSERT_FIELDS: tuple[tuple[str, str, sa.types.TypeEngine[Any]], ...] = (
    ("m", "detector_model_name", sa.Text()),
    ("k", "key_value", sa.Text()),
    ("ver", "detector_model_version", sa.Text()),
    ("st", "state_name", sa.Text()),
    ("vars", "variables", sa.Text()),
    ("inp", "inputs", sa.Text()),
    ("ca", "created_at", sa.Double()),
    ("ua", "updated_at", sa.Double()),
)


@dataclass(slots=True)
class DetectorRecord:
    """One detector instance. `variables_json` / `inputs_json` are stored exactly as given."""

    model: str
    key: str  # '' for a model without a key
    version: str
    state: str
    variables_json: str
    inputs_json: str  # last payload per input name
    created_at: float
    updated_at: float
    row_version: int = 0  # as read; upsert_many writes 1 on insert, +1 on update


@dataclass(frozen=True, slots=True)
class DueTimer:
    scope: Scope
    model: str
    key: str
    name: str
    due_at: float
    duration_seconds: int


def load_page_tokens(runner: StatementRunner) -> PageTokens:
    """The page token signer ResourceStore uses: one key in `settings` for every node."""
    with runner.transaction() as conn:
        return PageTokens(page_token_key(conn))


# --- statements --------------------------------------------------------------------------------

_i = detector_instances
_ICOLS = (
    _i.c.detector_model_name,
    _i.c.key_value,
    _i.c.detector_model_version,
    _i.c.state_name,
    _i.c.variables,
    _i.c.inputs,
    _i.c.created_at,
    _i.c.updated_at,
    _i.c.row_version,
)
_I_MODEL = (
    _i.c.account_id == sa.bindparam("a"),
    _i.c.region == sa.bindparam("r"),
    _i.c.detector_model_name == sa.bindparam("m"),
)
_I_GET = sa.select(*_ICOLS).where(*_I_MODEL, _i.c.key_value == sa.bindparam("k"))
_I_DELETE = sa.delete(_i).where(*_I_MODEL, _i.c.key_value == sa.bindparam("k"))
# Rows known to exist (read in the same transaction): the upsert's update half on its own.
# Without state_name when the state is unchanged, so the state index is not rewritten: that
# halves the pages a steady-state batch writes on SQLite.
_I_UPDATE_VALUES: dict[str, Any] = {
    "detector_model_version": sa.bindparam("ver"),
    "variables": sa.bindparam("vars"),
    "inputs": sa.bindparam("inp"),
    "updated_at": sa.bindparam("ua"),
    "row_version": _i.c.row_version + _ONE,
}
_I_UPDATE_SAME_STATE = (
    sa.update(_i).where(*_I_MODEL, _i.c.key_value == sa.bindparam("k")).values(_I_UPDATE_VALUES)
)
_I_UPDATE = (
    sa.update(_i)
    .where(*_I_MODEL, _i.c.key_value == sa.bindparam("k"))
    .values({**_I_UPDATE_VALUES, "state_name": sa.bindparam("st")})
)
_I_DELETE_MODEL = sa.delete(_i).where(*_I_MODEL)
_I_DELETE_MODEL_CHUNK = sa.delete(_i).where(
    _i.c.seq.in_(sa.select(_i.c.seq).where(*_I_MODEL).limit(sa.bindparam("lim")))
)
_I_LIST = (
    sa.select(_i.c.seq, *_ICOLS)
    .where(*_I_MODEL, _i.c.seq > sa.bindparam("after"))
    .order_by(_i.c.seq)
    .limit(sa.bindparam("lim"))
)
_I_LIST_STATE = (
    sa.select(_i.c.seq, *_ICOLS)
    .where(*_I_MODEL, _i.c.state_name == sa.bindparam("s"), _i.c.seq > sa.bindparam("after"))
    .order_by(_i.c.seq)
    .limit(sa.bindparam("lim"))
)
_I_COUNT = sa.select(sa.func.count()).select_from(_i).where(*_I_MODEL)
_I_COUNT_STATE = (
    sa.select(sa.func.count())
    .select_from(_i)
    .where(*_I_MODEL, _i.c.state_name == sa.bindparam("s"))
)

_t = detector_timers
_T_PK = (_t.c.account_id, _t.c.region, _t.c.detector_model_name, _t.c.key_value, _t.c.timer_name)
_T_MODEL = (
    _t.c.account_id == sa.bindparam("a"),
    _t.c.region == sa.bindparam("r"),
    _t.c.detector_model_name == sa.bindparam("m"),
)
_T_CLEAR = sa.delete(_t).where(*_T_MODEL, _t.c.key_value == sa.bindparam("k"))
_T_INSERT = sa.insert(_t).values(
    account_id=sa.bindparam("a"),
    region=sa.bindparam("r"),
    detector_model_name=sa.bindparam("m"),
    key_value=sa.bindparam("k"),
    timer_name=sa.bindparam("n"),
    due_at=sa.bindparam("due"),
    duration_seconds=sa.bindparam("dur"),
)
_T_DELETE_MODEL = sa.delete(_t).where(*_T_MODEL)
_T_DELETE_MODEL_CHUNK = sa.delete(_t).where(
    sa.tuple_(*_T_PK).in_(sa.select(*_T_PK).where(*_T_MODEL).limit(sa.bindparam("lim")))
)
_T_NEXT_DUE = sa.select(sa.func.min(_t.c.due_at))
# SQLite: the single writer makes select-then-delete atomic; one statement does both.
_T_CLAIM_SQLITE = (
    sa.delete(_t)
    .where(
        sa.tuple_(*_T_PK).in_(
            sa.select(*_T_PK)
            .where(_t.c.due_at <= sa.bindparam("now"))
            .order_by(_t.c.due_at)
            .limit(sa.bindparam("lim"))
        )
    )
    .returning(*_T_PK, _t.c.due_at, _t.c.duration_seconds)
)

# The advisory lock of one detector instance: a 64-bit hash of its identity. A collision only
# makes two detectors wait for each other.
_PG_LOCK_KEY = "hashtextextended(concat_ws(chr(31), {a}, {r}, {m}, {k}), 0)"
# Candidates first (bounded by LIMIT, no locks), then only those whose detector is free right
# now, then only rows nobody holds; a claimer never waits here. MATERIALIZED makes each step
# run once, so a lock is tried only for the LIMIT candidates.
_T_CLAIM_PG = sa.text(
    f"""
WITH cand AS MATERIALIZED (
    SELECT account_id, region, detector_model_name, key_value, timer_name
    FROM detector_timers WHERE due_at <= :now ORDER BY due_at LIMIT :lim
), mine AS MATERIALIZED (
    SELECT * FROM cand
    WHERE pg_try_advisory_xact_lock({
        _PG_LOCK_KEY.format(a="account_id", r="region", m="detector_model_name", k="key_value")
    })
), locked AS (
    SELECT t.account_id, t.region, t.detector_model_name, t.key_value, t.timer_name
    FROM detector_timers t
    JOIN mine USING (account_id, region, detector_model_name, key_value, timer_name)
    WHERE t.due_at <= :now
    FOR UPDATE OF t SKIP LOCKED
)
DELETE FROM detector_timers t USING locked l
WHERE t.account_id = l.account_id AND t.region = l.region
  AND t.detector_model_name = l.detector_model_name AND t.key_value = l.key_value
  AND t.timer_name = l.timer_name
RETURNING t.account_id, t.region, t.detector_model_name, t.key_value, t.timer_name,
    t.due_at, t.duration_seconds
"""
)
# Blocking locks in hash order: two batches sharing detectors queue instead of deadlocking.
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

_mi = detector_message_ids
_MI_PK = (_mi.c.account_id, _mi.c.region, _mi.c.message_id)
_MI_PURGE_CHUNK = sa.delete(_mi).where(
    sa.tuple_(*_MI_PK).in_(
        sa.select(*_MI_PK).where(_mi.c.expires_at <= sa.bindparam("now")).limit(sa.bindparam("lim"))
    )
)


def _record(row: Sequence[Any]) -> DetectorRecord:
    model, key, version, state, variables, inputs, created_at, updated_at, row_version = row
    return DetectorRecord(
        model, key, version, state, variables, inputs, created_at, updated_at, row_version
    )


class DetectorStore(KeyedRecords[DetectorRecord]):
    """Detector instances, their timers and recent message ids over one engine.

    Every method takes an optional `conn` from `transaction()`; without it each call runs in a
    transaction (or, for reads, a single statement) of its own.
    """

    def __init__(self, engine: Engine, page_tokens: PageTokens | None = None) -> None:
        self._run = run = StatementRunner(engine)
        self.engine = engine
        insert = run.insert

        keys = run.in_list(_i.c.key_value, "keys")
        super().__init__(
            run,
            get=_I_GET,
            get_many=sa.select(*_ICOLS).where(*_I_MODEL, keys),
            pg_lock=_PG_LOCK,
            record=_record,
        )
        # Per-row values: bound parameters (SQLite executemany) or the rows' columns as arrays
        # unnested into one INSERT ... SELECT (PostgreSQL: one fixed statement, any row count;
        # a multi-row VALUES list makes psycopg parse a new 10,000-placeholder query per call).
        values: list[sa.ColumnElement[Any]]
        if run.sqlite:
            values = [sa.bindparam(name, type_=type_) for name, _, type_ in _UPSERT_FIELDS]
            source = sa.select(sa.bindparam("a"), sa.bindparam("r"), *values, _ONE)
        else:
            arrays = [
                sa.bindparam(name, type_=pg_dialect.ARRAY(type_))
                for name, _, type_ in _UPSERT_FIELDS
            ]
            rows = (
                sa.func.unnest(*arrays)
                .table_valued(*(name for name, _, _ in _UPSERT_FIELDS))
                .render_derived()
            )
            source = sa.select(
                sa.bindparam("a", type_=sa.Text()),
                sa.bindparam("r", type_=sa.Text()),
                *(rows.c[name] for name, _, _ in _UPSERT_FIELDS),
                _ONE,
            ).select_from(rows)
        ins = insert(_i).from_select(
            [
                "account_id",
                "region",
                *(column for _, column, _ in _UPSERT_FIELDS),
                # Literal SQL, not a bound constant: every parameter then comes from the row.
                "row_version",
            ],
            source,
        )
        self._upsert = ins.on_conflict_do_update(
            index_elements=[_i.c.account_id, _i.c.region, _i.c.detector_model_name, _i.c.key_value],
            set_={
                "detector_model_version": ins.excluded.detector_model_version,
                "state_name": ins.excluded.state_name,
                "variables": ins.excluded.variables,
                "inputs": ins.excluded.inputs,
                "updated_at": ins.excluded.updated_at,
                "row_version": _i.c.row_version + _ONE,
            },
        )

        self._timers_for = sa.select(
            _t.c.key_value, _t.c.timer_name, _t.c.due_at, _t.c.duration_seconds
        ).where(*_T_MODEL, run.in_list(_t.c.key_value, "keys"))
        # get_many and timers_for in one statement (SQLite): one row per timer, or one with
        # NULL timer columns for an instance without timers.
        self._get_many_timers = (
            sa.select(*_ICOLS, _t.c.timer_name, _t.c.due_at, _t.c.duration_seconds)
            .select_from(
                _i.outerjoin(
                    _t,
                    sa.and_(
                        _t.c.account_id == _i.c.account_id,
                        _t.c.region == _i.c.region,
                        _t.c.detector_model_name == _i.c.detector_model_name,
                        _t.c.key_value == _i.c.key_value,
                    ),
                )
            )
            .where(*_I_MODEL, keys)
        )

        ids = run.value_list("ids")
        source = (
            sa.select(
                sa.bindparam("a", type_=sa.Text()),
                sa.bindparam("r", type_=sa.Text()),
                ids.c.value,
                sa.bindparam("now", type_=sa.Double()),
                sa.bindparam("exp", type_=sa.Double()),
            )
            .select_from(ids)
            # SQLite needs a WHERE to parse INSERT ... SELECT ... ON CONFLICT.
            .where(sa.true())
        )
        mark = insert(_mi).from_select(
            ["account_id", "region", "message_id", "seen_at", "expires_at"], source
        )
        # An id seen before is left alone unless its record expired, which is then replaced;
        # RETURNING lists exactly the ids that were new.
        self._mark = mark.on_conflict_do_update(
            index_elements=list(_MI_PK),
            set_={"seen_at": mark.excluded.seen_at, "expires_at": mark.excluded.expires_at},
            where=_mi.c.expires_at <= mark.excluded.seen_at,
        ).returning(_mi.c.message_id)

        self.page_tokens = page_tokens if page_tokens is not None else load_page_tokens(run)

    # --- instances ---------------------------------------------------------------------------

    def get_many_with_timers(
        self,
        scope: Scope,
        model: str,
        keys: Iterable[str],
        conn: Connection,
        *,
        lock: bool = False,
    ) -> tuple[dict[str, DetectorRecord], dict[str, dict[str, tuple[float, int]]]]:
        """`get_many` and the `timers_for` of the instances found, in one query on SQLite.

        Timers are returned only for keys whose instance exists (key -> {name: (due_at,
        duration_seconds)}, keys without timers left out).
        """
        key_list = list(dict.fromkeys(keys))
        records: dict[str, DetectorRecord] = {}
        timers: dict[str, dict[str, tuple[float, int]]] = {}
        if not key_list:
            return records, timers
        if not self._run.sqlite:
            records = self.get_many(scope, model, key_list, conn, lock=lock)
            if records:
                timers = self.timers_for(scope, model, list(records), conn)
            return records, timers
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "m": model,
            "keys": self._run.list_param(key_list),
        }
        for row in self._run.rows(conn, self._get_many_timers, params):
            key = row[1]
            if key not in records:
                records[key] = _record(row[:9])
            if row[9] is not None:
                found = timers.get(key)
                if found is None:
                    found = timers[key] = {}
                found[row[9]] = (row[10], row[11])
        return records, timers

    def upsert_many(
        self,
        scope: Scope,
        records: Iterable[DetectorRecord],
        conn: Connection | None = None,
        *,
        stored_states: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """Insert new instances, update existing ones (keeping created_at) and bump
        row_version (1 on insert). A (model, key) given twice: the last record wins.

        `stored_states` ((model, key) -> state_name as stored) may name rows the caller read in
        this same `conn` transaction (with `get_many(lock=True)`), so that they exist: on SQLite
        these are written with a plain UPDATE, leaving the state index alone when the state
        did not change. The result is the same as upserting them.
        """
        latest = {(rec.model, rec.key): rec for rec in records}
        if not latest:
            return
        # Sorted: concurrent upserts lock the rows in the same order on PostgreSQL.
        ordered = [latest[pair] for pair in sorted(latest)]
        a, r = scope.account_id, scope.region
        with self._run.writing(conn) as c:
            if self._run.sqlite:
                self._sqlite_upsert(c, a, r, ordered, stored_states or {})
            else:
                columns = {
                    "a": a,
                    "r": r,
                    "m": [rec.model for rec in ordered],
                    "k": [rec.key for rec in ordered],
                    "ver": [rec.version for rec in ordered],
                    "st": [rec.state for rec in ordered],
                    "vars": [rec.variables_json for rec in ordered],
                    "inp": [rec.inputs_json for rec in ordered],
                    "ca": [rec.created_at for rec in ordered],
                    "ua": [rec.updated_at for rec in ordered],
                }
                c.execute(self._upsert, columns)

    def _sqlite_upsert(
        self,
        conn: Connection,
        a: str,
        r: str,
        ordered: list[DetectorRecord],
        stored_states: Mapping[tuple[str, str], str],
    ) -> None:
        inserts: list[DetectorRecord] = []
        same: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        for rec in ordered:
            stored = stored_states.get((rec.model, rec.key))
            if stored is None:
                inserts.append(rec)
                continue
            row = {
                "a": a,
                "r": r,
                "m": rec.model,
                "k": rec.key,
                "ver": rec.version,
                "vars": rec.variables_json,
                "inp": rec.inputs_json,
                "ua": rec.updated_at,
            }
            if stored == rec.state:
                same.append(row)
            else:
                row["st"] = rec.state
                moved.append(row)
        updated = self._run.many(conn, _I_UPDATE_SAME_STATE, same) + self._run.many(
            conn, _I_UPDATE, moved
        )
        if updated != len(same) + len(moved):
            # A row said to exist did not (the caller broke the contract): insert the missing
            # ones, exactly as an upsert would have. The updated ones exist now.
            present = {
                (rec.model, rec.key)
                for model in {row["m"] for row in (*same, *moved)}
                for rec in self.get_many(
                    Scope(a, r),
                    model,
                    [row["k"] for row in (*same, *moved) if row["m"] == model],
                    conn,
                ).values()
            }
            inserts.extend(
                rec
                for rec in ordered
                if (rec.model, rec.key) in stored_states and (rec.model, rec.key) not in present
            )
            inserts.sort(key=lambda rec: (rec.model, rec.key))
        if inserts:
            self._run.many(
                conn,
                self._upsert,
                [
                    {
                        "a": a,
                        "r": r,
                        "m": rec.model,
                        "k": rec.key,
                        "ver": rec.version,
                        "st": rec.state,
                        "vars": rec.variables_json,
                        "inp": rec.inputs_json,
                        "ca": rec.created_at,
                        "ua": rec.updated_at,
                    }
                    for rec in inserts
                ],
            )

    def delete(self, scope: Scope, model: str, key: str, conn: Connection | None = None) -> bool:
        """Delete an instance and its timers; whether the instance existed."""
        params = {"a": scope.account_id, "r": scope.region, "m": model, "k": key}
        with self._run.writing(conn) as c:
            self.lock(scope, [(model, key)], c)
            self._run.rowcount(c, _T_CLEAR, params)
            return self._run.rowcount(c, _I_DELETE, params) > 0

    def delete_model(
        self,
        scope: Scope,
        model: str,
        conn: Connection | None = None,
        *,
        chunk: int = _CHUNK,
    ) -> int:
        """Delete every instance of `model` and their timers; the number of instances.

        With `conn`: two set-based DELETEs in that transaction. Without: `chunk` rows per
        transaction, timers first, so a million instances never hold the (SQLite) write lock
        for long; if interrupted, calling again finishes the job. Nothing is loaded. Stop
        routing messages to the model first, or new instances may appear behind the delete.
        """
        params: dict[str, Any] = {"a": scope.account_id, "r": scope.region, "m": model}
        if conn is not None:
            self._run.rowcount(conn, _T_DELETE_MODEL, params)
            return self._run.rowcount(conn, _I_DELETE_MODEL, params)
        params["lim"] = chunk
        while True:
            with self.transaction() as c:
                if self._run.rowcount(c, _T_DELETE_MODEL_CHUNK, params) < chunk:
                    break
        deleted = 0
        while True:
            with self.transaction() as c:
                n = self._run.rowcount(c, _I_DELETE_MODEL_CHUNK, params)
            deleted += n
            if n < chunk:
                return deleted

    @staticmethod
    def _list_binding(scope: Scope, model: str, state: str | None) -> str:
        return orjson.dumps([scope.account_id, scope.region, model, state, "detectors"]).decode()

    def list_page(
        self,
        scope: Scope,
        model: str,
        *,
        state: str | None = None,
        max_results: int,
        next_token: str | None,
        conn: Connection | None = None,
    ) -> tuple[list[DetectorRecord], str | None]:
        """One page of `model`'s instances (only those in `state`, if given) in creation order,
        and the token of the next page or None. A token only works for the same scope, model
        and state; any other use raises InvalidPageToken."""
        if max_results < 1:
            raise ValueError("max_results must be at least 1")
        binding = self._list_binding(scope, model, state)
        after = 0 if next_token is None else self.page_tokens.decode(next_token, binding)
        params: dict[str, Any] = {
            "a": scope.account_id,
            "r": scope.region,
            "m": model,
            "after": after,
            "lim": max_results + 1,  # one extra row tells whether another page exists
        }
        if state is None:
            stmt = _I_LIST
        else:
            stmt = _I_LIST_STATE
            params["s"] = state
        rows = self._run.read(stmt, params, conn)
        token = None
        if len(rows) > max_results:
            rows = rows[:max_results]
            token = self.page_tokens.encode(rows[-1][0], binding)
        return [_record(row[1:]) for row in rows], token

    def count(
        self,
        scope: Scope,
        model: str,
        *,
        state: str | None = None,
        conn: Connection | None = None,
    ) -> int:
        params: dict[str, Any] = {"a": scope.account_id, "r": scope.region, "m": model}
        if state is None:
            stmt = _I_COUNT
        else:
            stmt = _I_COUNT_STATE
            params["s"] = state
        return int(self._run.read(stmt, params, conn)[0][0])

    # --- timers ------------------------------------------------------------------------------

    def set_timers(
        self,
        scope: Scope,
        model: str,
        key: str,
        timers: TimerSet,
        conn: Connection | None = None,
    ) -> None:
        """Replace the instance's timers with `timers` (empty: none)."""
        self.set_timers_many(scope, {(model, key): timers}, conn)

    def set_timers_many(
        self,
        scope: Scope,
        timers: Mapping[tuple[str, str], TimerSet],
        conn: Connection | None = None,
    ) -> None:
        """Replace the timers of several (model, key) instances: two executemany statements.

        Pass only the instances whose timers changed; the others need no write at all.
        """
        if not timers:
            return
        a, r = scope.account_id, scope.region
        instances = sorted(timers)
        clear = [{"a": a, "r": r, "m": m, "k": k} for m, k in instances]
        rows = [
            {"a": a, "r": r, "m": m, "k": k, "n": name, "due": due, "dur": duration}
            for m, k in instances
            for name, (due, duration) in timers[(m, k)].items()
        ]
        with self._run.writing(conn) as c:
            self._run.many(c, _T_CLEAR, clear)
            self._run.many(c, _T_INSERT, rows)

    def timers_for(
        self,
        scope: Scope,
        model: str,
        keys: Iterable[str],
        conn: Connection | None = None,
    ) -> dict[str, dict[str, tuple[float, int]]]:
        """key -> {timer name: (due_at, duration_seconds)} for the keys that have timers."""
        key_list = list(dict.fromkeys(keys))
        if not key_list:
            return {}
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "m": model,
            "keys": self._run.list_param(key_list),
        }
        result: dict[str, dict[str, tuple[float, int]]] = {}
        for key, name, due_at, duration in self._run.read(self._timers_for, params, conn):
            result.setdefault(key, {})[name] = (due_at, duration)
        return result

    def next_due(self, conn: Connection | None = None) -> float | None:
        """The earliest due_at of any timer in any scope, or None.

        On PostgreSQL it may be a timer another node is firing right now: if `claim_due` then
        returns nothing, wait a little before asking again.
        """
        value = self._run.read(_T_NEXT_DUE, {}, conn)[0][0]
        return None if value is None else float(value)

    def claim_due(self, now: float, limit: int, conn: Connection | None = None) -> list[DueTimer]:
        """Take up to `limit` timers with due_at <= now, earliest first, out of the table.

        Two nodes never get the same timer. Pass the evaluating transaction's `conn` so the
        claim commits with the evaluation (see the module docstring); on PostgreSQL the claimer
        then holds the claimed detectors' locks, and timers of detectors locked elsewhere are
        skipped until they are free.
        """
        if limit < 1:
            return []
        params = {"now": now, "lim": limit}
        with self._run.writing(conn) as c:
            stmt = _T_CLAIM_SQLITE if self._run.sqlite else _T_CLAIM_PG
            rows = self._run.rows(c, stmt, params)
        timers = [
            DueTimer(Scope(a, r), m, k, n, due_at, duration)
            for a, r, m, k, n, due_at, duration in rows
        ]
        # RETURNING has no order; ties broken by identity for a deterministic firing order.
        timers.sort(
            key=lambda t: (t.due_at, t.scope.account_id, t.scope.region, t.model, t.key, t.name)
        )
        return timers

    # --- message ids -----------------------------------------------------------------------

    def mark_messages(
        self,
        scope: Scope,
        message_ids: Iterable[str],
        now: float,
        ttl: float = MESSAGE_ID_TTL,
        conn: Connection | None = None,
    ) -> set[str]:
        """Record the ids as seen at `now` for `ttl` seconds; the ids that were already seen.

        A returned id was recorded earlier in this scope and has not expired: ignore its
        message. Expired records count as unseen and are renewed. An id repeated within
        `message_ids` is recorded once and only reported if seen before this call; telling a
        batch's own repeats apart is the caller's business.
        """
        unique = list(dict.fromkeys(message_ids))
        if not unique:
            return set()
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "now": now,
            "exp": now + ttl,
            "ids": self._run.list_param(unique),
        }
        with self._run.writing(conn) as c:
            fresh = {row[0] for row in self._run.rows(c, self._mark, params)}
        return set(unique) - fresh

    def purge_expired_messages(self, now: float, *, chunk: int = _CHUNK) -> int:
        """Delete expired message-id records, `chunk` per transaction; the number deleted."""
        deleted = 0
        params = {"now": now, "lim": chunk}
        while True:
            with self.transaction() as c:
                n = self._run.rowcount(c, _MI_PURGE_CHUNK, params)
            deleted += n
            if n < chunk:
                return deleted
