"""thinghub's storage layer: the only package that knows SQL."""

from thinghub.store.detectors import DetectorRecord, DetectorStore, DueTimer, TimerSet
from thinghub.store.engine import create_engine, default_database_url, migrate
from thinghub.store.errors import (
    AlreadyExists,
    ClientTokenInFlight,
    ClientTokenMismatch,
    InvalidPageToken,
    NotFound,
    StoreError,
    VersionConflict,
)
from thinghub.store.ids import Arn, arn, new_id, parse_arn
from thinghub.store.outbox import Outbox, OutboxItem, OutboxItemIn
from thinghub.store.pagination import PageTokens
from thinghub.store.resources import ClientTokenClaim, Resource, ResourceStore, Scope
from thinghub.store.tables import metadata

__all__ = [
    "AlreadyExists",
    "Arn",
    "ClientTokenClaim",
    "ClientTokenInFlight",
    "ClientTokenMismatch",
    "DetectorRecord",
    "DetectorStore",
    "DueTimer",
    "InvalidPageToken",
    "NotFound",
    "Outbox",
    "OutboxItem",
    "OutboxItemIn",
    "PageTokens",
    "Resource",
    "ResourceStore",
    "Scope",
    "StoreError",
    "TimerSet",
    "VersionConflict",
    "arn",
    "create_engine",
    "default_database_url",
    "metadata",
    "migrate",
    "new_id",
    "parse_arn",
]
