"""One page of a List operation, as every managed integrations list answers it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from thinghub.api import Params, RequestContext
from thinghub.store import Resource

DEFAULT_PAGE_SIZE = 100  # when MaxResults is absent


def list_page(
    ctx: RequestContext,
    kind: str,
    params: Params,
    filters: Mapping[str, str],
    item: Callable[[Resource], dict[str, Any]],
    items_member: str = "Items",
) -> dict[str, Any]:
    """`{items_member: [...], "NextToken": ...}` for `MaxResults`/`NextToken` in `params`; the
    token is bound to the operation and filters, and omitted on the last page."""
    resources, token = ctx.hub.store.list_page(
        ctx.scope,
        kind,
        max_results=params.get("MaxResults", DEFAULT_PAGE_SIZE),
        next_token=params.get("NextToken"),
        filters=filters,
        binding=ctx.operation,
    )
    result: dict[str, Any] = {items_member: [item(r) for r in resources]}
    if token:
        result["NextToken"] = token
    return result
