"""Input routing: which detector models and alarm models an input feeds (spec §3.3, §9.6).

A model routes every input its expressions reference. The routed input names are index entries
(`routes`) of the model's resource, written in the same commit as the model, so a lookup by input
is an indexed probe and never sees a half-written model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control.errors import invalid_request, not_found
from thinghub.events.control.kinds import ALARM_MODEL, DETECTOR_MODEL, INPUT, ROUTES, SERVICE
from thinghub.events.control.paging import DEFAULT_PAGE_SIZE
from thinghub.store import Resource, ResourceStore, Scope

# Every kind whose resources carry `routes` index entries.
ROUTING_KINDS: list[str] = [DETECTOR_MODEL, ALARM_MODEL]

_SCAN_PAGE = 250


def all_resources(
    store: ResourceStore,
    scope: Scope,
    kind: str,
    filters: Mapping[str, str],
    conn: Connection | None = None,
) -> Iterator[Resource]:
    """Every resource of `kind` matching `filters`, in creation order, page by page."""
    token = None
    while True:
        page, token = store.list_page(
            scope, kind, max_results=_SCAN_PAGE, next_token=token, filters=filters, conn=conn
        )
        yield from page
        if token is None:
            return


def routed_resources(
    store: ResourceStore, scope: Scope, input_name: str, conn: Connection | None = None
) -> list[Resource]:
    """The resources (of every routing kind) that the input feeds."""
    return [
        resource
        for kind in ROUTING_KINDS
        for resource in all_resources(store, scope, kind, {ROUTES: input_name}, conn)
    ]


def list_input_routings(ctx: RequestContext, params: Params) -> Result:
    identifier = params["inputIdentifier"]
    store = ctx.hub.store
    events_input = identifier.get("iotEventsInputIdentifier")
    if events_input is not None:
        name = events_input["inputName"]
        if store.get(ctx.scope, INPUT, name) is None:
            raise not_found(f"Input {name} does not exist")
        resources = routed_resources(store, ctx.scope, name)
    elif identifier.get("iotSiteWiseInputIdentifier") is not None:
        # thinghub has no IoT SiteWise: no asset property feeds anything.
        resources = []
    else:
        raise invalid_request(
            "inputIdentifier must contain iotEventsInputIdentifier or iotSiteWiseInputIdentifier"
        )
    # The list is short (a few models per input): page over it by offset.
    max_results = params.get("maxResults", DEFAULT_PAGE_SIZE)
    binding = orjson.dumps(
        [ctx.scope.account_id, ctx.scope.region, ctx.operation, identifier],
        option=orjson.OPT_SORT_KEYS,
    ).decode()
    start = 0
    if params.get("nextToken"):
        start = store.page_tokens.decode(params["nextToken"], binding)
    page = resources[start : start + max_results]
    result: dict[str, Any] = {
        "routedResources": [{"name": r.name, "arn": r.arn} for r in page],
    }
    if start + max_results < len(resources):
        result["nextToken"] = store.page_tokens.encode(start + max_results, binding)
    return result


def register(handlers: Handlers) -> None:
    handlers.register(SERVICE, "ListInputRoutings")(list_input_routings)
