"""Outbox: durable outgoing deliveries (Kinesis notifications, IoT Events actions to SNS, SQS,
Lambda, MQTT, ...), written in the same transaction as the change that caused them.

Delivery is at-least-once: `claim` leases items to one deliverer for `lease_seconds`; the
deliverer then reports `delivered` (the item is deleted) or `failed` (retry at a given time).
A deliverer that dies simply lets its lease run out and the item is claimed again.

Order. Items with the same (account, region, partition_key) are delivered one at a time in the
order they were added: only the oldest item of a partition is ever claimable, the rest wait
(next_attempt_at NULL) until it is delivered, which promotes the next one. So `claim` is a pure
range scan of next_attempt_at <= now, however long a partition's backlog, and a claimed item's
lease is simply its next_attempt_at pushed to the lease's end. Items without a partition key
are independent.

Several nodes on one PostgreSQL database: `claim` skips rows another node is claiming (FOR
UPDATE SKIP LOCKED); `add_many` and `delivered` serialise per partition with transaction-scoped
advisory locks so that "is there an earlier item?" and "promote the next item" cannot miss each
other's uncommitted rows. SQLite's single writer (BEGIN IMMEDIATE) needs neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from thinghub.store.resources import Scope
from thinghub.store.statements import StatementRunner
from thinghub.store.tables import outbox

__all__ = ["Outbox", "OutboxItem", "OutboxItemIn"]


@dataclass(frozen=True, slots=True)
class OutboxItemIn:
    scope: Scope
    channel: str  # "sns", "sqs", "lambda", "mqtt", "kinesis", "iotevents", ...
    payload: str  # JSON text, delivered as is
    partition_key: str | None = None  # same key: delivered one at a time, in order


@dataclass(frozen=True, slots=True)
class OutboxItem:
    seq: int
    scope: Scope
    channel: str
    partition_key: str | None
    payload: str
    created_at: float
    attempts: int  # failures reported so far
    claimed_until: float  # the lease; also the fence for `failed(lease_until=...)`
    last_error: str | None


# --- statements, built once ------------------------------------------------------------------

_o = outbox
_prior = outbox.alias("prior")
_OCOLS = (
    _o.c.seq,
    _o.c.account_id,
    _o.c.region,
    _o.c.channel,
    _o.c.partition_key,
    _o.c.payload,
    _o.c.created_at,
    _o.c.attempts,
    _o.c.claimed_until,
    _o.c.last_error,
)

# Ready at once unless an earlier item of its partition is still here. Each row of an
# executemany sees the rows inserted before it, so a batch queues behind its own first item.
_ADD_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "account_id": sa.bindparam("a", type_=sa.Text()),
    "region": sa.bindparam("r", type_=sa.Text()),
    "channel": sa.bindparam("ch", type_=sa.Text()),
    "partition_key": sa.bindparam("pk", type_=sa.Text()),
    "payload": sa.bindparam("body", type_=sa.Text()),
    "created_at": sa.bindparam("now", type_=sa.Double()),
    "attempts": sa.literal_column("0", sa.Integer()),
    "next_attempt_at": sa.case(
        (
            sa.exists().where(
                _prior.c.account_id == sa.bindparam("a"),
                _prior.c.region == sa.bindparam("r"),
                _prior.c.partition_key == sa.bindparam("pk"),
            ),
            sa.null(),
        ),
        else_=sa.bindparam("now", type_=sa.Double()),
    ),
}
# SQLite: INSERT ... VALUES with a subquery. INSERT ... SELECT from the table being inserted
# into goes through a temporary table there, which costs more than the row itself.
_ADD_VALUES = sa.insert(_o).values(_ADD_COLUMNS)
# PostgreSQL: INSERT ... SELECT, which SQLAlchemy never folds into one multi-row VALUES
# statement (whose rows would not see each other).
_ADD_SELECT = sa.insert(_o).from_select(list(_ADD_COLUMNS), sa.select(*_ADD_COLUMNS.values()))
# The lease is next_attempt_at itself: a crashed deliverer's item becomes due again when it
# ends. SKIP LOCKED (PostgreSQL; nothing on SQLite) lets concurrent claimers pass each other.
_CLAIM = (
    sa.update(_o)
    .where(
        _o.c.seq.in_(
            sa.select(_o.c.seq)
            .where(_o.c.next_attempt_at <= sa.bindparam("now"))
            .order_by(_o.c.next_attempt_at, _o.c.seq)
            .limit(sa.bindparam("lim"))
            .with_for_update(skip_locked=True)
        )
    )
    .values(next_attempt_at=sa.bindparam("until"), claimed_until=sa.bindparam("until"))
    .returning(*_OCOLS)
)

# The next item of a partition becomes due (it has waited since it was added).
_PROMOTE = (
    sa.update(_o)
    .where(
        _o.c.seq
        == sa.select(sa.func.min(_prior.c.seq))
        .where(
            _prior.c.account_id == sa.bindparam("a"),
            _prior.c.region == sa.bindparam("r"),
            _prior.c.partition_key == sa.bindparam("pk"),
        )
        .scalar_subquery(),
        _o.c.next_attempt_at.is_(None),
    )
    .values(next_attempt_at=_o.c.created_at)
)

_FAILED_WHERE = (
    _o.c.seq == sa.bindparam("s"),
    # Never make a waiting item due: that would overtake its partition's head.
    _o.c.next_attempt_at.is_not(None),
)
_FAILED_VALUES = {
    "attempts": _o.c.attempts + sa.literal_column("1", sa.Integer()),
    "last_error": sa.bindparam("err"),
    "last_failed_at": sa.bindparam("now"),
    "next_attempt_at": sa.bindparam("next"),
    "claimed_until": None,
}
_FAILED = sa.update(_o).where(*_FAILED_WHERE).values(_FAILED_VALUES)
# Only if the caller's lease is still the current one: a deliverer whose lease ran out and
# whose item was claimed again must not release the new claim.
_FAILED_FENCED = (
    sa.update(_o)
    .where(*_FAILED_WHERE, _o.c.claimed_until == sa.bindparam("lease"))
    .values(_FAILED_VALUES)
)

# A deliverer that stops gives its leases back: due now, as if never claimed.
_RELEASE = (
    sa.update(_o)
    .where(_o.c.seq == sa.bindparam("s"), _o.c.claimed_until == sa.bindparam("lease"))
    .values(next_attempt_at=sa.bindparam("now"), claimed_until=None)
)

_PENDING = sa.select(sa.func.count()).select_from(_o)
_PENDING_IN_SCOPE = (
    sa.select(sa.func.count())
    .select_from(_o)
    .where(_o.c.account_id == sa.bindparam("a"), _o.c.region == sa.bindparam("r"))
)
_NEXT_ATTEMPT = sa.select(sa.func.min(_o.c.next_attempt_at))

# Advisory locks of partitions (two-int form: a lock space apart from the detectors'), blocking
# and in hash order so two transactions sharing partitions queue instead of deadlocking.
_PG_PARTITION_LOCK_CLASS = 0x6F62  # "ob"
_PG_LOCK_PARTITIONS = sa.text(
    f"""
SELECT count(pg_advisory_xact_lock({_PG_PARTITION_LOCK_CLASS}, h)) FROM (
    SELECT DISTINCT hashtext(concat_ws(chr(31), a, r, pk)) AS h
    FROM unnest(CAST(:accounts AS text[]), CAST(:regions AS text[]), CAST(:pks AS text[]))
        AS u(a, r, pk)
    ORDER BY h
) AS s
"""
)


def _item(row: Sequence[Any]) -> OutboxItem:
    seq, a, r, channel, pk, payload, created_at, attempts, claimed_until, last_error = row
    return OutboxItem(
        seq, Scope(a, r), channel, pk, payload, created_at, attempts, claimed_until, last_error
    )


class Outbox:
    """The durable outbox over one engine. `add_many` belongs in the caller's transaction;
    the deliverer's calls (`claim`, `delivered`, `failed`) commit on their own."""

    def __init__(self, engine: Engine) -> None:
        self._run = run = StatementRunner(engine)
        self.engine = engine
        self._add = _ADD_VALUES if run.sqlite else _ADD_SELECT
        self._delete = (
            sa.delete(_o)
            .where(run.in_list(_o.c.seq, "seqs", sa.BigInteger()))
            .returning(_o.c.account_id, _o.c.region, _o.c.partition_key)
        )

    def close(self) -> None:
        """Release the connections held outside the engine's pool."""
        self._run.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._run.transaction() as conn:
            yield conn

    def _lock_partitions(
        self, conn: Connection, partitions: Iterable[tuple[str, str, str]]
    ) -> None:
        if self._run.sqlite:
            return  # the transaction holds SQLite's write lock already
        keys = sorted(set(partitions))
        if keys:
            conn.execute(
                _PG_LOCK_PARTITIONS,
                {
                    "accounts": [a for a, _, _ in keys],
                    "regions": [r for _, r, _ in keys],
                    "pks": [pk for _, _, pk in keys],
                },
            )

    def add_many(
        self, items: Iterable[OutboxItemIn], now: float, conn: Connection | None = None
    ) -> None:
        """Queue items, created at `now`, in the given order. Pass the transaction that makes
        the change they report: they are committed, or discarded, with it."""
        item_list = list(items)
        rows = [
            {
                "a": item.scope.account_id,
                "r": item.scope.region,
                "ch": item.channel,
                "pk": item.partition_key,
                "body": item.payload,
                "now": now,
            }
            for item in item_list
        ]
        if not rows:
            return
        with self._run.writing(conn) as c:
            self._lock_partitions(
                c,
                (
                    (item.scope.account_id, item.scope.region, item.partition_key)
                    for item in item_list
                    if item.partition_key is not None
                ),
            )
            self._run.many(c, self._add, rows)

    def claim(
        self, now: float, limit: int, lease_seconds: float, conn: Connection | None = None
    ) -> list[OutboxItem]:
        """Lease up to `limit` due items, oldest due first, until now + lease_seconds.

        Never two items of one partition, and never one claimed by somebody else whose lease
        has not run out.
        """
        if limit < 1:
            return []
        params = {"now": now, "lim": limit, "until": now + lease_seconds}
        with self._run.writing(conn) as c:
            rows = self._run.rows(c, _CLAIM, params)
        return sorted((_item(row) for row in rows), key=lambda item: item.seq)

    def delivered(self, seqs: Iterable[int], conn: Connection | None = None) -> int:
        """Remove delivered items and make the next item of each of their partitions due;
        the number removed (already removed items are ignored)."""
        seq_list = sorted(set(seqs))
        if not seq_list:
            return 0
        with self._run.writing(conn) as c:
            removed = self._run.rows(c, self._delete, {"seqs": self._run.list_param(seq_list)})
            partitions = sorted({(a, r, pk) for a, r, pk in removed if pk is not None})
            self._lock_partitions(c, partitions)
            self._run.many(c, _PROMOTE, [{"a": a, "r": r, "pk": pk} for a, r, pk in partitions])
        return len(removed)

    def failed(
        self,
        seq: int,
        now: float,
        next_attempt_at: float,
        error: str,
        *,
        lease_until: float | None = None,
        conn: Connection | None = None,
    ) -> bool:
        """Record a failed attempt at `now`: count it, keep `error`, release the lease and retry
        at `next_attempt_at` (the partition's later items keep waiting). With `lease_until`
        (the item's `claimed_until`) only if that lease is still current. Whether applied."""
        params: dict[str, Any] = {"s": seq, "err": error, "now": now, "next": next_attempt_at}
        stmt = _FAILED
        if lease_until is not None:
            params["lease"] = lease_until
            stmt = _FAILED_FENCED
        with self._run.writing(conn) as c:
            return self._run.rowcount(c, stmt, params) > 0

    def release(self, leases: Iterable[tuple[int, float]], now: float) -> int:
        """Give back claimed items, (seq, claimed_until) each, undelivered and without counting
        an attempt (a stopping deliverer); how many were still ours."""
        rows = [{"s": seq, "lease": lease, "now": now} for seq, lease in leases]
        if not rows:
            return 0
        with self._run.writing(None) as c:
            return self._run.many(c, _RELEASE, rows)

    def pending_count(self, scope: Scope | None = None, conn: Connection | None = None) -> int:
        """Items not yet delivered (waiting, due, leased or failing), in `scope` or in all."""
        if scope is None:
            return int(self._run.read(_PENDING, {}, conn)[0][0])
        params = {"a": scope.account_id, "r": scope.region}
        return int(self._run.read(_PENDING_IN_SCOPE, params, conn)[0][0])

    def next_attempt_at(self, conn: Connection | None = None) -> float | None:
        """When the next item becomes claimable (maybe already past), or None if none will
        without a delivery first."""
        value = self._run.read(_NEXT_ATTEMPT, {}, conn)[0][0]
        return None if value is None else float(value)
