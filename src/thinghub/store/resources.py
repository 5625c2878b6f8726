"""ResourceStore: the storage primitives every service is built from.

Every query filters on account_id AND region, so one Scope never sees another's data. Hot-path
statements are built once at import time with bind parameters, so SQLAlchemy's compiled cache
is hit on every call and no statement is rebuilt per request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from thinghub.store.errors import (
    AlreadyExists,
    ClientTokenInFlight,
    ClientTokenMismatch,
    NotFound,
    VersionConflict,
)
from thinghub.store.pagination import PageTokens
from thinghub.store.statements import StatementRunner
from thinghub.store.tables import client_tokens, resource_index, resources, settings, tags

T = TypeVar("T")

__all__ = ["ClientTokenClaim", "Resource", "ResourceStore", "Scope"]

PAGE_TOKEN_KEY_SETTING = "page_token_key"

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_CLAIM_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose data: every read and write is confined to one account in one region."""

    account_id: str
    region: str


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    id: str
    arn: str | None
    name: str | None
    attrs: dict[str, Any]
    created_at: float  # epoch seconds, thinghub's clock
    updated_at: float
    version: int  # 1 on create, +1 on every update


@dataclass(frozen=True, slots=True)
class ClientTokenClaim:
    """`new`: the caller runs the request; `replay`: return `response` with `status_code`."""

    state: Literal["new", "replay"]
    response: dict[str, Any] | None = None
    status_code: int | None = None


# --- statements, built once ------------------------------------------------------------------

_r = resources
_RCOLS = (
    _r.c.kind,
    _r.c.id,
    _r.c.arn,
    _r.c.name,
    _r.c.attrs,
    _r.c.created_at,
    _r.c.updated_at,
    _r.c.version,
)
_IN_SCOPE = (_r.c.account_id == sa.bindparam("a"), _r.c.region == sa.bindparam("r"))
_OF_KIND = (*_IN_SCOPE, _r.c.kind == sa.bindparam("k"))

_GET = sa.select(*_RCOLS).where(*_OF_KIND, _r.c.id == sa.bindparam("i"))
_GET_BY_NAME = sa.select(*_RCOLS).where(*_OF_KIND, _r.c.name == sa.bindparam("n"))
_GET_BY_ARN = (
    sa.select(*_RCOLS)
    .where(*_IN_SCOPE, _r.c.arn == sa.bindparam("arn"))
    .order_by(_r.c.seq)
    .limit(1)
)
_EXISTS = sa.select(_r.c.version).where(*_OF_KIND, _r.c.id == sa.bindparam("i"))
_UPDATE_VALUES = {
    "attrs": sa.bindparam("p_attrs"),
    "updated_at": sa.bindparam("p_now"),
    "version": _r.c.version + 1,
}
_UPDATE = (
    sa.update(_r)
    .where(*_OF_KIND, _r.c.id == sa.bindparam("i"))
    .values(_UPDATE_VALUES)
    .returning(_r.c.seq, *_RCOLS)
)
_UPDATE_EXPECTED = (
    sa.update(_r)
    .where(*_OF_KIND, _r.c.id == sa.bindparam("i"), _r.c.version == sa.bindparam("ev"))
    .values(_UPDATE_VALUES)
    .returning(_r.c.seq, *_RCOLS)
)
# resource_index rows go with the resource through ON DELETE CASCADE.
_DELETE = sa.delete(_r).where(*_OF_KIND, _r.c.id == sa.bindparam("i")).returning(*_RCOLS)

_ri = resource_index
_INDEX_INSERT = sa.insert(_ri)
_INDEX_CLEAR = sa.delete(_ri).where(_ri.c.resource_seq == sa.bindparam("s"))

_t = tags
_TAGS_OF = (
    _t.c.account_id == sa.bindparam("a"),
    _t.c.region == sa.bindparam("r"),
    _t.c.resource_arn == sa.bindparam("arn"),
)
_TAGS_LIST = sa.select(_t.c.key, _t.c.value).where(*_TAGS_OF).order_by(_t.c.key)
_TAGS_DELETE_KEYS = sa.delete(_t).where(
    *_TAGS_OF, _t.c.key.in_(sa.bindparam("keys", expanding=True))
)
_TAGS_DELETE_ALL = sa.delete(_t).where(*_TAGS_OF)

_ct = client_tokens
_CT_KEY = (
    _ct.c.account_id == sa.bindparam("a"),
    _ct.c.region == sa.bindparam("r"),
    _ct.c.operation == sa.bindparam("op"),
    _ct.c.token == sa.bindparam("tok"),
)
_CT_SELECT = sa.select(
    _ct.c.request_hash,
    _ct.c.state,
    _ct.c.response,
    _ct.c.status_code,
    _ct.c.created_at,
    _ct.c.expires_at,
).where(*_CT_KEY)
# Compare-and-swap: take over an expired or abandoned claim only if nobody else did since we
# read it. The row's old values act as the version.
_CT_TAKEOVER = (
    sa.update(_ct)
    .where(
        *_CT_KEY,
        _ct.c.request_hash == sa.bindparam("old_hash"),
        _ct.c.state == sa.bindparam("old_state"),
        _ct.c.created_at == sa.bindparam("old_created"),
        _ct.c.expires_at == sa.bindparam("old_expires"),
    )
    .values(
        request_hash=sa.bindparam("p_hash"),
        state="in_flight",
        response=None,
        status_code=None,
        created_at=sa.bindparam("p_now"),
        expires_at=sa.bindparam("p_expires"),
    )
)
_CT_COMPLETE = (
    sa.update(_ct)
    .where(*_CT_KEY)
    .values(state="done", response=sa.bindparam("p_resp"), status_code=sa.bindparam("p_status"))
)
_CT_RELEASE = sa.delete(_ct).where(*_CT_KEY, _ct.c.state == "in_flight")
_CT_PURGE = sa.delete(_ct).where(_ct.c.expires_at <= sa.bindparam("now"))

_SETTING_GET = sa.select(settings.c.value).where(settings.c.key == sa.bindparam("key"))


def page_token_key(conn: Connection) -> bytes:
    """The key page tokens are signed with, shared by every store and node on the database.

    The first caller creates it; ON CONFLICT makes the losers of a race read the winner's key.
    """
    dialect = sqlite_dialect if conn.dialect.name == "sqlite" else pg_dialect
    insert = dialect.insert(settings).on_conflict_do_nothing()
    conn.execute(insert, {"key": PAGE_TOKEN_KEY_SETTING, "value": secrets.token_hex(32)})
    value = conn.execute(_SETTING_GET, {"key": PAGE_TOKEN_KEY_SETTING}).scalar_one()
    return bytes.fromhex(value)


def _filter_clauses(n_filters: int) -> list[sa.ColumnElement[bool]]:
    # One correlated EXISTS per filter; each is a primary-key probe of resource_index.
    return [
        sa.exists().where(
            _ri.c.resource_seq == _r.c.seq,
            _ri.c.field == sa.bindparam(f"f{i}"),
            _ri.c.value == sa.bindparam(f"v{i}"),
        )
        for i in range(n_filters)
    ]


@lru_cache(maxsize=32)
def _list_stmt(n_filters: int) -> sa.Select[Any]:
    return (
        sa.select(_r.c.seq, *_RCOLS)
        .where(*_OF_KIND, _r.c.seq > sa.bindparam("after"), *_filter_clauses(n_filters))
        .order_by(_r.c.seq)
        .limit(sa.bindparam("lim"))
    )


# Point lookups by a selective index value start from ix_resource_index_field_value instead of
# walking the kind (list_page's plan, right for paging through broad filters).
_FIND = (
    sa.select(*_RCOLS)
    .where(
        *_OF_KIND,
        _r.c.seq.in_(
            sa.select(_ri.c.resource_seq).where(
                _ri.c.field == sa.bindparam("f"), _ri.c.value == sa.bindparam("v")
            )
        ),
    )
    .order_by(_r.c.seq)
    .limit(sa.bindparam("lim"))
)


@lru_cache(maxsize=32)
def _count_stmt(n_filters: int) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(_r).where(*_OF_KIND, *_filter_clauses(n_filters))


def _resource(row: Sequence[Any]) -> Resource:
    kind, id_, arn, name, attrs, created_at, updated_at, version = row
    return Resource(kind, id_, arn, name, orjson.loads(attrs), created_at, updated_at, version)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _index_rows(seq: int, index: Mapping[str, str | Iterable[str]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for field, values in index.items():
        # Duplicates collapse: the (seq, field, value) primary key allows each pair once.
        for value in (values,) if isinstance(values, str) else dict.fromkeys(values):
            rows.append({"resource_seq": seq, "field": field, "value": value})
    return rows


class ResourceStore:
    """Generic resources, tags, page tokens and ClientToken idempotency over one engine.

    Every method takes an optional `conn` (from `transaction()`) so several operations can
    share one commit; without it each call runs in its own transaction.
    """

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect.name
        if dialect == "sqlite":
            insert: Callable[..., Any] = sqlite_dialect.insert
        elif dialect == "postgresql":
            insert = pg_dialect.insert
        else:
            raise ValueError(f"unsupported database dialect {dialect!r}")
        self.engine = engine
        # Reads: SQLite's raw connections (in a caller's transaction too), PostgreSQL's
        # autocommit ones outside transactions; see StatementRunner.
        self._run = StatementRunner(engine)

        # ON CONFLICT DO NOTHING instead of catching IntegrityError: a failed statement would
        # abort the caller's whole PostgreSQL transaction.
        self._create_stmt = insert(_r).on_conflict_do_nothing().returning(_r.c.seq)
        tag_insert = insert(_t)
        self._tag_upsert = tag_insert.on_conflict_do_update(
            index_elements=[_t.c.account_id, _t.c.region, _t.c.resource_arn, _t.c.key],
            set_={"value": tag_insert.excluded.value},
        )
        self._ct_insert = insert(_ct).on_conflict_do_nothing().returning(_ct.c.token)

        self.page_tokens = PageTokens(self._page_token_key())

    def close(self) -> None:
        """Release the connections the store holds outside the engine's pool."""
        self._run.close()

    # --- plumbing ------------------------------------------------------------------------------

    def _first(
        self, stmt: sa.Select[Any], params: dict[str, Any], conn: Connection | None
    ) -> Sequence[Any] | None:
        rows = self._run.read(stmt, params, conn)
        return rows[0] if rows else None

    def _all(
        self, stmt: sa.Select[Any], params: dict[str, Any], conn: Connection | None
    ) -> Sequence[Sequence[Any]]:
        return self._run.read(stmt, params, conn)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One database transaction: committed on normal exit, rolled back on an exception."""
        with self._run.transaction() as conn:
            yield conn

    def run_transaction(self, work: Callable[[Connection], T], attempts: int = 4) -> T:
        """`work(conn)` in one transaction, run again from the start when PostgreSQL aborted it
        for a deadlock or a serialization failure; any other error propagates at once."""
        return self._run.run_transaction(work, attempts)

    def _writing(self, conn: Connection | None) -> AbstractContextManager[Connection]:
        return self._run.writing(conn)

    def _page_token_key(self) -> bytes:
        with self.transaction() as conn:
            return page_token_key(conn)

    # --- resources -----------------------------------------------------------------------------

    def create(
        self,
        scope: Scope,
        kind: str,
        id: str,
        *,
        attrs: dict[str, Any],
        now: float,
        arn: str | None = None,
        name: str | None = None,
        index: Mapping[str, str | Iterable[str]] = _EMPTY,
        tags: Mapping[str, str] = _EMPTY,
        conn: Connection | None = None,
    ) -> Resource:
        """Insert a resource (version 1); AlreadyExists if its id or name is taken."""
        if tags and arn is None:
            raise ValueError("tags need the resource's ARN")
        params = {
            "account_id": scope.account_id,
            "region": scope.region,
            "kind": kind,
            "id": id,
            "arn": arn,
            "name": name,
            "attrs": _dumps(attrs),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        with self._writing(conn) as c:
            seq = c.execute(self._create_stmt, params).scalar()
            if seq is None:
                # Either unique key may have collided; name the one that did.
                if name is not None and self.get(scope, kind, id, conn=c) is None:
                    raise AlreadyExists(f"{kind} named {name!r} already exists")
                raise AlreadyExists(f"{kind} {id!r} already exists")
            if index:
                rows = _index_rows(seq, index)
                if rows:
                    c.execute(_INDEX_INSERT, rows)
            if tags:
                assert arn is not None
                self.tag(scope, arn, tags, conn=c)
        return Resource(kind, id, arn, name, attrs, now, now, 1)

    def get(
        self, scope: Scope, kind: str, id: str, conn: Connection | None = None
    ) -> Resource | None:
        params = {"a": scope.account_id, "r": scope.region, "k": kind, "i": id}
        row = self._first(_GET, params, conn)
        return None if row is None else _resource(row)

    def get_by_name(
        self, scope: Scope, kind: str, name: str, conn: Connection | None = None
    ) -> Resource | None:
        params = {"a": scope.account_id, "r": scope.region, "k": kind, "n": name}
        row = self._first(_GET_BY_NAME, params, conn)
        return None if row is None else _resource(row)

    def get_by_arn(self, scope: Scope, arn: str, conn: Connection | None = None) -> Resource | None:
        params = {"a": scope.account_id, "r": scope.region, "arn": arn}
        row = self._first(_GET_BY_ARN, params, conn)
        return None if row is None else _resource(row)

    def update(
        self,
        scope: Scope,
        kind: str,
        id: str,
        *,
        attrs: dict[str, Any],
        now: float,
        index: Mapping[str, str | Iterable[str]] | None = None,
        expected_version: int | None = None,
        conn: Connection | None = None,
    ) -> Resource:
        """Replace attrs (and, if given, the index entries) and bump the version.

        NotFound if absent; VersionConflict if `expected_version` is not the current version.
        The check is part of the UPDATE itself, so it holds across processes.
        """
        params: dict[str, Any] = {
            "a": scope.account_id,
            "r": scope.region,
            "k": kind,
            "i": id,
            "p_attrs": _dumps(attrs),
            "p_now": now,
        }
        with self._writing(conn) as c:
            if expected_version is None:
                row = c.execute(_UPDATE, params).first()
            else:
                params["ev"] = expected_version
                row = c.execute(_UPDATE_EXPECTED, params).first()
            if row is None:
                if expected_version is not None and c.execute(_EXISTS, params).first():
                    raise VersionConflict(f"{kind} {id!r} is not at version {expected_version}")
                raise NotFound(f"{kind} {id!r} not found")
            if index is not None:
                seq = row[0]
                c.execute(_INDEX_CLEAR, {"s": seq})
                rows = _index_rows(seq, index)
                if rows:
                    c.execute(_INDEX_INSERT, rows)
        return _resource(row[1:])

    def delete(
        self, scope: Scope, kind: str, id: str, conn: Connection | None = None
    ) -> Resource | None:
        """Delete a resource with its index rows and its tags; the deleted resource, or None."""
        params = {"a": scope.account_id, "r": scope.region, "k": kind, "i": id}
        with self._writing(conn) as c:
            row = c.execute(_DELETE, params).first()
            if row is None:
                return None
            resource = _resource(row)
            if resource.arn is not None:
                c.execute(
                    _TAGS_DELETE_ALL,
                    {"a": scope.account_id, "r": scope.region, "arn": resource.arn},
                )
        return resource

    @staticmethod
    def _list_binding(scope: Scope, kind: str, filters: Mapping[str, str], binding: str) -> str:
        # JSON keeps the parts unambiguous whatever characters they contain.
        return orjson.dumps(
            [scope.account_id, scope.region, kind, sorted(filters.items()), binding]
        ).decode()

    def list_page(
        self,
        scope: Scope,
        kind: str,
        *,
        max_results: int,
        next_token: str | None,
        filters: Mapping[str, str] = _EMPTY,
        binding: str = "",
        conn: Connection | None = None,
    ) -> tuple[list[Resource], str | None]:
        """One page of resources in creation order, and the token for the next page (or None).

        `filters` are exact matches on index entries, ANDed. The token is bound to the scope,
        kind, filters and `binding`; a token used with anything else raises InvalidPageToken.
        """
        if max_results < 1:
            raise ValueError("max_results must be at least 1")
        token_binding = None
        after = 0
        if next_token is not None:
            token_binding = self._list_binding(scope, kind, filters, binding)
            after = self.page_tokens.decode(next_token, token_binding)
        params: dict[str, Any] = {
            "a": scope.account_id,
            "r": scope.region,
            "k": kind,
            "after": after,
            # One extra row tells whether another page exists, so the last page has no token.
            "lim": max_results + 1,
        }
        if filters:
            for i, (field, value) in enumerate(sorted(filters.items())):
                params[f"f{i}"] = field
                params[f"v{i}"] = value
        stmt = _list_stmt(len(filters))
        rows = self._all(stmt, params, conn)
        token = None
        if len(rows) > max_results:
            rows = rows[:max_results]
            if token_binding is None:
                token_binding = self._list_binding(scope, kind, filters, binding)
            token = self.page_tokens.encode(rows[-1][0], token_binding)
        return [_resource(row[1:]) for row in rows], token

    def find(
        self,
        scope: Scope,
        kind: str,
        field: str,
        value: str,
        *,
        limit: int = 100,
        conn: Connection | None = None,
    ) -> list[Resource]:
        """Resources of `kind` whose index `field` holds `value`, oldest first, at most `limit`:
        for values few resources share (an id of another system), in any number of resources."""
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "k": kind,
            "f": field,
            "v": value,
            "lim": limit,
        }
        return [_resource(row) for row in self._all(_FIND, params, conn)]

    def count(
        self,
        scope: Scope,
        kind: str,
        filters: Mapping[str, str] = _EMPTY,
        conn: Connection | None = None,
    ) -> int:
        params: dict[str, Any] = {"a": scope.account_id, "r": scope.region, "k": kind}
        for i, (field, value) in enumerate(sorted(filters.items())):
            params[f"f{i}"] = field
            params[f"v{i}"] = value
        stmt = _count_stmt(len(filters))
        row = self._first(stmt, params, conn)
        assert row is not None
        return int(row[0])

    # --- tags (keyed by ARN; the ARN need not belong to a row in `resources`) --------------------

    def tag(
        self,
        scope: Scope,
        arn: str,
        tags: Mapping[str, str],
        conn: Connection | None = None,
    ) -> None:
        """Add tags, overwriting the values of keys already present."""
        if not tags:
            return
        rows = [
            {
                "account_id": scope.account_id,
                "region": scope.region,
                "resource_arn": arn,
                "key": key,
                "value": value,
            }
            for key, value in tags.items()
        ]
        with self._writing(conn) as c:
            c.execute(self._tag_upsert, rows)

    def untag(
        self,
        scope: Scope,
        arn: str,
        keys: Iterable[str],
        conn: Connection | None = None,
    ) -> None:
        """Remove tags by key; absent keys are ignored."""
        key_list = list(dict.fromkeys(keys))
        if not key_list:
            return
        params = {"a": scope.account_id, "r": scope.region, "arn": arn, "keys": key_list}
        with self._writing(conn) as c:
            c.execute(_TAGS_DELETE_KEYS, params)

    def list_tags(self, scope: Scope, arn: str, conn: Connection | None = None) -> dict[str, str]:
        params = {"a": scope.account_id, "r": scope.region, "arn": arn}
        rows = self._all(_TAGS_LIST, params, conn)
        return {key: value for key, value in rows}

    # --- ClientToken idempotency ---------------------------------------------------------------

    def claim_client_token(
        self,
        scope: Scope,
        operation: str,
        token: str,
        request_hash: str,
        *,
        now: float,
        ttl_seconds: float = 8 * 3600,
        stale_after: float = 60.0,
    ) -> ClientTokenClaim:
        """Claim `token` for this request before running it.

        - "new": nobody ran this token yet (or its record expired, or a claim for the same
          request was abandoned more than `stale_after` seconds ago): run the request, then call
          `complete_client_token` (or `release_client_token` if it failed).
        - "replay": the same request already completed; return its recorded response.
        Raises ClientTokenMismatch if the token was used for a different request, and
        ClientTokenInFlight if the same request is still running elsewhere.

        Commits on its own so other nodes see the claim at once. Races are settled by the
        primary key: exactly one concurrent INSERT wins, takeovers are compare-and-swap.
        """
        key = {"a": scope.account_id, "r": scope.region, "op": operation, "tok": token}
        fresh = {
            "account_id": scope.account_id,
            "region": scope.region,
            "operation": operation,
            "token": token,
            "request_hash": request_hash,
            "state": "in_flight",
            "response": None,
            "status_code": None,
            "created_at": now,
            "expires_at": now + ttl_seconds,
        }
        for _ in range(_CLAIM_ATTEMPTS):
            with self.transaction() as c:
                if c.execute(self._ct_insert, fresh).first() is not None:
                    return ClientTokenClaim("new")
                row = c.execute(_CT_SELECT, key).first()
                if row is None:
                    continue  # released between our INSERT and SELECT: try the INSERT again
                old_hash, state, response, status_code, created_at, expires_at = row
                expired = expires_at <= now
                if not expired:
                    if old_hash != request_hash:
                        raise ClientTokenMismatch(
                            f"client token {token!r} was used with a different request"
                        )
                    if state == "done":
                        return ClientTokenClaim(
                            "replay",
                            None if response is None else orjson.loads(response),
                            status_code,
                        )
                    if now - created_at < stale_after:
                        raise ClientTokenInFlight(
                            f"a request with client token {token!r} is in progress"
                        )
                # Expired, or an abandoned in-flight claim: take it over if nobody beat us.
                taken = c.execute(
                    _CT_TAKEOVER,
                    {
                        **key,
                        "old_hash": old_hash,
                        "old_state": state,
                        "old_created": created_at,
                        "old_expires": expires_at,
                        "p_hash": request_hash,
                        "p_now": now,
                        "p_expires": now + ttl_seconds,
                    },
                )
                if taken.rowcount == 1:
                    return ClientTokenClaim("new")
        # Only reachable under pathological contention on one token.
        raise ClientTokenInFlight(f"a request with client token {token!r} is in progress")

    def complete_client_token(
        self,
        scope: Scope,
        operation: str,
        token: str,
        *,
        response: dict[str, Any],
        status_code: int,
        conn: Connection | None = None,
    ) -> None:
        """Record the response so retries with the same token replay it."""
        params = {
            "a": scope.account_id,
            "r": scope.region,
            "op": operation,
            "tok": token,
            "p_resp": _dumps(response),
            "p_status": status_code,
        }
        with self._writing(conn) as c:
            c.execute(_CT_COMPLETE, params)

    def release_client_token(self, scope: Scope, operation: str, token: str) -> None:
        """Forget an in-flight claim (the request failed) so a retry can run it afresh."""
        params = {"a": scope.account_id, "r": scope.region, "op": operation, "tok": token}
        with self.transaction() as c:
            c.execute(_CT_RELEASE, params)

    def purge_expired_client_tokens(self, *, now: float) -> int:
        """Delete expired idempotency records (housekeeping); the number deleted."""
        with self.transaction() as c:
            return int(c.execute(_CT_PURGE, {"now": now}).rowcount)
