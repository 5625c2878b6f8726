"""Inputs: the named message shapes detector models read (spec §2.1)."""

from __future__ import annotations

from typing import Any

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control.errors import already_exists, in_use, limit_exceeded, not_found
from thinghub.events.control.kinds import INPUT, SERVICE, input_arn
from thinghub.events.control.paging import list_page
from thinghub.events.control.quotas import quotas_of
from thinghub.events.control.routing import routed_resources
from thinghub.events.control.tags import tags_from_request
from thinghub.store import AlreadyExists, Resource

# Inputs are ready the moment they are stored; AWS's answers show ACTIVE at once too.
ACTIVE = "ACTIVE"


def input_configuration(resource: Resource) -> dict[str, Any]:
    """`InputConfiguration` (also the shape of `InputSummary`)."""
    attrs = resource.attrs
    configuration: dict[str, Any] = {
        "inputName": resource.id,
        "inputArn": resource.arn,
        "creationTime": resource.created_at,
        "lastUpdateTime": resource.updated_at,
        "status": attrs["status"],
    }
    if "inputDescription" in attrs:
        configuration["inputDescription"] = attrs["inputDescription"]
    return configuration


def _attrs(params: Params) -> dict[str, Any]:
    attrs: dict[str, Any] = {"inputDefinition": params["inputDefinition"], "status": ACTIVE}
    if "inputDescription" in params:
        attrs["inputDescription"] = params["inputDescription"]
    return attrs


def _missing(name: str) -> Exception:
    return not_found(f"Input {name} does not exist")


def create_input(ctx: RequestContext, params: Params) -> Result:
    name = params["inputName"]
    arn = input_arn(ctx.scope, name)
    quotas = quotas_of(ctx.hub.settings)
    tags = tags_from_request(params.get("tags"), quotas.tags_per_resource)
    store = ctx.hub.store
    with store.transaction() as conn:
        limit = quotas.inputs_per_account
        if limit is not None and store.count(ctx.scope, INPUT, conn=conn) >= limit:
            raise limit_exceeded(f"The account already has the maximum of {limit} inputs")
        try:
            resource = store.create(
                ctx.scope,
                INPUT,
                name,
                name=name,
                arn=arn,
                attrs=_attrs(params),
                now=ctx.now,
                tags=tags,
                conn=conn,
            )
        except AlreadyExists:
            raise already_exists(f"Input {name} already exists", name, arn) from None
    return {"inputConfiguration": input_configuration(resource)}


def describe_input(ctx: RequestContext, params: Params) -> Result:
    resource = ctx.hub.store.get(ctx.scope, INPUT, params["inputName"])
    if resource is None:
        raise _missing(params["inputName"])
    return {
        "input": {
            "inputConfiguration": input_configuration(resource),
            "inputDefinition": resource.attrs["inputDefinition"],
        }
    }


def update_input(ctx: RequestContext, params: Params) -> Result:
    # PUT semantics: the description and the definition are replaced, not merged.
    name = params["inputName"]
    store = ctx.hub.store
    with store.transaction() as conn:
        if store.get(ctx.scope, INPUT, name, conn=conn) is None:
            raise _missing(name)
        attrs = _attrs(params)
        resource = store.update(ctx.scope, INPUT, name, attrs=attrs, now=ctx.now, conn=conn)
    return {"inputConfiguration": input_configuration(resource)}


def delete_input(ctx: RequestContext, params: Params) -> Result:
    name = params["inputName"]
    store = ctx.hub.store
    with store.transaction() as conn:
        if store.get(ctx.scope, INPUT, name, conn=conn) is None:
            raise _missing(name)
        # A routed input is in use: deleting it would silently starve its models.
        users = routed_resources(store, ctx.scope, name, conn)
        if users:
            names = ", ".join(sorted(str(r.name) for r in users))
            raise in_use(f"Input {name} is in use by: {names}")
        store.delete(ctx.scope, INPUT, name, conn=conn)
    return {}


def list_inputs(ctx: RequestContext, params: Params) -> Result:
    items, more = list_page(ctx, INPUT, params)
    return {"inputSummaries": [input_configuration(r) for r in items], **more}


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateInput", create_input),
        ("DescribeInput", describe_input),
        ("UpdateInput", update_input),
        ("DeleteInput", delete_input),
        ("ListInputs", list_inputs),
    ):
        handlers.register(SERVICE, operation)(handler)
