"""List operations: one page of stored resources per request."""

from __future__ import annotations

from collections.abc import Mapping

from thinghub.api import Params, RequestContext
from thinghub.store import Resource

# The published paginators are empty, so SDKs never page for the caller: answer as much as the
# API allows when the caller does not say.
DEFAULT_PAGE_SIZE = 250


def list_page(
    ctx: RequestContext, kind: str, params: Params, filters: Mapping[str, str] | None = None
) -> tuple[list[Resource], dict[str, str]]:
    """The page `params` asks for, and `{"nextToken": ...}` when another page follows."""
    items, token = ctx.hub.store.list_page(
        ctx.scope,
        kind,
        max_results=params.get("maxResults", DEFAULT_PAGE_SIZE),
        next_token=params.get("nextToken"),
        filters=filters or {},
        binding=ctx.operation,
    )
    return items, ({"nextToken": token} if token else {})
