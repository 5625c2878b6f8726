"""TagResource, UntagResource, ListTagsForResource (``/tags/{ResourceArn}``).

The model lets these name managed things, account associations, provisioning profiles, OTA
tasks and credential lockers (spec 2). An ARN must name a resource that exists in the caller's
account and region: anything else is ResourceNotFoundException. The wire layer checks the
model's (unanchored) pattern; the whole ARN is checked here, so junk around a valid-looking
part is an InvalidRequestException too.
"""

from __future__ import annotations

import re

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import association_records, managed_things
from thinghub.integrations.errors import not_found
from thinghub.store import Resource
from thinghub.wire.errors import ServiceError

SERVICE = "iot-managed-integrations"
MAX_TAGS = 50

_ARN = re.compile(
    r"arn:aws:iotmanagedintegrations:(?P<region>[0-9a-zA-Z-]+):(?P<account>[0-9]+):"
    r"(?P<type>managed-thing|provisioning-profile|ota-task|credential-locker|account-association)"
    r"/(?P<id>[0-9a-zA-Z]+)"
)

# ARN resource type -> (store kind, ResourceType in errors); None: thinghub has no such resource.
_TYPES: dict[str, tuple[str | None, str]] = {
    "managed-thing": (managed_things.KIND, managed_things.RESOURCE_TYPE),
    "account-association": (association_records.KIND, association_records.RESOURCE_TYPE),
    "provisioning-profile": (None, "ProvisioningProfile"),
    "ota-task": (None, "OtaTask"),
    "credential-locker": (None, "CredentialLocker"),
}


def _resource(ctx: RequestContext, resource_arn: str) -> Resource:
    """The tagged resource; InvalidRequestException or ResourceNotFoundException otherwise."""
    match = _ARN.fullmatch(resource_arn)
    if match is None:
        raise ServiceError(
            "InvalidRequestException",
            f"{resource_arn} is not the ARN of a taggable managed integrations resource "
            "(arn:aws:iotmanagedintegrations:<region>:<account>:<type>/<id>)",
        )
    kind, resource_type = _TYPES[match["type"]]
    resource_id = match["id"]
    in_scope = match["region"] == ctx.region and match["account"] == ctx.account_id
    if kind is None or not in_scope:
        raise not_found(resource_type, resource_arn)
    store = ctx.hub.store
    resource = store.get_by_arn(ctx.scope, resource_arn) or store.get(ctx.scope, kind, resource_id)
    if resource is None or resource.kind != kind:
        raise not_found(resource_type, resource_arn)
    return resource


def _check_keys(keys: list[str]) -> None:
    reserved = [key for key in keys if key.lower().startswith("aws:")]
    if reserved:
        raise ServiceError(
            "InvalidRequestException", f"Tag keys starting with aws: are reserved: {reserved[0]}"
        )


def tag_resource(ctx: RequestContext, params: Params) -> Result:
    resource_arn = params["ResourceArn"]
    new = params["Tags"]
    _check_keys(list(new))
    store = ctx.hub.store
    with store.transaction() as conn:
        resource = _resource(ctx, resource_arn)
        arn = resource.arn or resource_arn
        merged = {**store.list_tags(ctx.scope, arn, conn=conn), **new}
        if len(merged) > MAX_TAGS:
            raise ServiceError(
                "InvalidRequestException",
                f"A resource can have at most {MAX_TAGS} tags; this would give it {len(merged)}",
            )
        store.tag(ctx.scope, arn, new, conn=conn)
    return {}


def untag_resource(ctx: RequestContext, params: Params) -> Result:
    resource = _resource(ctx, params["ResourceArn"])
    ctx.hub.store.untag(ctx.scope, resource.arn or params["ResourceArn"], params["TagKeys"])
    return {}


def list_tags_for_resource(ctx: RequestContext, params: Params) -> Result:
    resource = _resource(ctx, params["ResourceArn"])
    return {"tags": ctx.hub.store.list_tags(ctx.scope, resource.arn or params["ResourceArn"])}


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("TagResource", tag_resource),
        ("UntagResource", untag_resource),
        ("ListTagsForResource", list_tags_for_resource),
    ):
        handlers.register(SERVICE, operation)(handler)
