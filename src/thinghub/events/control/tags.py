"""Tags on inputs, detector models and alarm models (spec §9.8), kept by ARN in the shared tags
table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control.errors import invalid_request, limit_exceeded, not_found
from thinghub.events.control.kinds import ARN_PREFIX, SERVICE
from thinghub.events.control.quotas import quotas_of
from thinghub.store import Resource

RESERVED_PREFIX = "aws:"


def tags_from_request(tags: Iterable[Mapping[str, Any]] | None, limit: int) -> dict[str, str]:
    """The request's `[{key, value}]` as a dict (a repeated key keeps its last value)."""
    result: dict[str, str] = {}
    for tag in tags or ():
        key = tag["key"]
        if key.startswith(RESERVED_PREFIX):
            raise invalid_request(f"Tag key {key}: keys beginning with 'aws:' are reserved")
        result[key] = tag["value"]
    if len(result) > limit:
        raise invalid_request(f"A resource can have at most {limit} tags, but {len(result)} given")
    return result


def _taggable(ctx: RequestContext, resource_arn: str, conn: Connection | None = None) -> Resource:
    # Lookups are confined to the caller's scope: another account's ARN is simply not found.
    resource = None
    if resource_arn.startswith(ARN_PREFIX):
        resource = ctx.hub.store.get_by_arn(ctx.scope, resource_arn, conn=conn)
    if resource is None:
        raise not_found(f"Resource {resource_arn} does not exist")
    return resource


def tag_resource(ctx: RequestContext, params: Params) -> Result:
    limit = quotas_of(ctx.hub.settings).tags_per_resource
    new = tags_from_request(params["tags"], limit)
    store = ctx.hub.store
    with store.transaction() as conn:
        resource = _taggable(ctx, params["resourceArn"], conn)
        assert resource.arn is not None
        existing = store.list_tags(ctx.scope, resource.arn, conn=conn)
        total = len(existing.keys() | new.keys())
        if total > limit:
            raise limit_exceeded(
                f"A resource can have at most {limit} tags; this request would make {total}"
            )
        store.tag(ctx.scope, resource.arn, new, conn=conn)
    return {}


def untag_resource(ctx: RequestContext, params: Params) -> Result:
    resource = _taggable(ctx, params["resourceArn"])
    assert resource.arn is not None
    ctx.hub.store.untag(ctx.scope, resource.arn, params["tagKeys"])
    return {}


def list_tags_for_resource(ctx: RequestContext, params: Params) -> Result:
    resource = _taggable(ctx, params["resourceArn"])
    assert resource.arn is not None
    tags = ctx.hub.store.list_tags(ctx.scope, resource.arn)
    return {"tags": [{"key": key, "value": value} for key, value in tags.items()]}


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("TagResource", tag_resource),
        ("UntagResource", untag_resource),
        ("ListTagsForResource", list_tags_for_resource),
    ):
        handlers.register(SERVICE, operation)(handler)
