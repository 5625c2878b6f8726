"""Logging options (spec §9.7): one setting per account and region."""

from __future__ import annotations

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control.errors import not_found
from thinghub.events.control.kinds import LOGGING_OPTIONS, SERVICE
from thinghub.store import AlreadyExists

_ID = "logging-options"


def put_logging_options(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    attrs = {"loggingOptions": params["loggingOptions"]}
    with store.transaction() as conn:
        if store.get(ctx.scope, LOGGING_OPTIONS, _ID, conn=conn) is None:
            try:
                store.create(ctx.scope, LOGGING_OPTIONS, _ID, attrs=attrs, now=ctx.now, conn=conn)
                return None
            except AlreadyExists:
                pass  # a concurrent first put won: overwrite it like any later put
        store.update(ctx.scope, LOGGING_OPTIONS, _ID, attrs=attrs, now=ctx.now, conn=conn)
    return None


def describe_logging_options(ctx: RequestContext, params: Params) -> Result:
    resource = ctx.hub.store.get(ctx.scope, LOGGING_OPTIONS, _ID)
    if resource is None:
        # The model lists ResourceNotFoundException for this operation: nothing was ever put.
        raise not_found("Logging options have not been set for this account and region")
    return {"loggingOptions": resource.attrs["loggingOptions"]}


def register(handlers: Handlers) -> None:
    handlers.register(SERVICE, "PutLoggingOptions")(put_logging_options)
    handlers.register(SERVICE, "DescribeLoggingOptions")(describe_logging_options)
