"""Errors the storage layer raises; the wire layer maps them to AWS error shapes."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every storage error."""


class AlreadyExists(StoreError):
    """A resource with that id, or that name, already exists in the scope."""


class NotFound(StoreError):
    """No such resource in the scope."""


class VersionConflict(StoreError):
    """The resource changed since the caller read it (optimistic concurrency)."""


class InvalidPageToken(StoreError):
    """A page token was forged, altered, expired or used with a different request."""


class ClientTokenMismatch(StoreError):
    """The client token was already used with a different request."""


class ClientTokenInFlight(StoreError):
    """The same request with this client token is still being processed."""
