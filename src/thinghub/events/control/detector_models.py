"""Detector models and their versions (spec §3, §4.6, §9.1, §9.2).

One `DETECTOR_MODEL` resource per model (its latest version number, key, creation time and the
inputs its active version routes, as index entries) and one `DETECTOR_MODEL_VERSION` resource per
version (its configuration and the definition exactly as given). Activation is synchronous: a new
version is ACTIVE when the request returns, though create and update answer ACTIVATING as AWS does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control import catalog
from thinghub.events.control.errors import already_exists, in_use, limit_exceeded, not_found
from thinghub.events.control.kinds import (
    DETECTOR_MODEL,
    DETECTOR_MODEL_VERSION,
    MODEL,
    ROUTES,
    SERVICE,
    detector_model_arn,
    version_id,
)
from thinghub.events.control.paging import list_page
from thinghub.events.control.quotas import Quotas, quotas_of
from thinghub.events.control.routing import all_resources, routed_resources
from thinghub.events.control.tags import tags_from_request
from thinghub.events.control.validation import StoreResources, validate_definition
from thinghub.store import AlreadyExists, Resource, ResourceStore, Scope, VersionConflict

ACTIVE = "ACTIVE"
ACTIVATING = "ACTIVATING"
DEPRECATED = "DEPRECATED"
DEFAULT_EVALUATION_METHOD = "BATCH"

# Configuration members a version stores, in the order AWS lists them.
_CONFIGURATION = (
    "detectorModelName",
    "detectorModelVersion",
    "detectorModelDescription",
    "detectorModelArn",
    "roleArn",
    "creationTime",
    "lastUpdateTime",
    "status",
    "key",
    "evaluationMethod",
)


def configuration(version: Resource, status: str | None = None) -> dict[str, Any]:
    """`DetectorModelConfiguration` of a stored version (optionally with another status)."""
    attrs = version.attrs
    result = {member: attrs[member] for member in _CONFIGURATION if member in attrs}
    if status is not None:
        result["status"] = status
    return result


def _missing(name: str) -> Exception:
    return not_found(f"Detector model {name} does not exist")


def _check_routes(
    store: ResourceStore,
    scope: Scope,
    model_name: str,
    inputs: frozenset[str],
    quotas: Quotas,
    conn: Connection,
) -> None:
    # Detector models per input is a hard AWS quota (not adjustable); alarm models don't count.
    limit = quotas.detector_models_per_input
    for input_name in sorted(inputs):
        others = [
            r
            for r in routed_resources(store, scope, input_name, conn)
            if r.kind == DETECTOR_MODEL and r.id != model_name
        ]
        if len(others) >= limit:
            raise limit_exceeded(
                f"Input {input_name} already routes to the maximum of {limit} detector models"
            )


def _new_version(
    ctx: RequestContext,
    params: Params,
    *,
    name: str,
    version: str,
    key: str | None,
    inputs: frozenset[str],
    previous: Resource | None,
) -> dict[str, Any]:
    now = ctx.now
    attrs: dict[str, Any] = {
        "detectorModelName": name,
        "detectorModelVersion": version,
        "detectorModelArn": detector_model_arn(ctx.scope, name),
        "roleArn": params["roleArn"],
        # A version's creation time is also its last update time (AWS's update output agrees).
        "creationTime": now,
        "lastUpdateTime": now,
        "status": ACTIVE,
        "evaluationMethod": DEFAULT_EVALUATION_METHOD,
        "detectorModelDefinition": params["detectorModelDefinition"],
        "inputs": sorted(inputs),
    }
    # An update that leaves out the description or the evaluation method keeps the previous ones.
    for member in ("detectorModelDescription", "evaluationMethod"):
        if member in params:
            attrs[member] = params[member]
        elif previous is not None and member in previous.attrs:
            attrs[member] = previous.attrs[member]
    if key is not None:
        attrs["key"] = key
    return attrs


def create_detector_model(ctx: RequestContext, params: Params) -> Result:
    name = params["detectorModelName"]
    arn = detector_model_arn(ctx.scope, name)
    quotas = quotas_of(ctx.hub.settings)
    tags = tags_from_request(params.get("tags"), quotas.tags_per_resource)
    store = ctx.hub.store
    with store.transaction() as conn:
        if store.get(ctx.scope, DETECTOR_MODEL, name, conn=conn) is not None:
            raise already_exists(f"Detector model {name} already exists", name, arn)
        limit = quotas.detector_models_per_account
        if limit is not None and store.count(ctx.scope, DETECTOR_MODEL, conn=conn) >= limit:
            raise limit_exceeded(f"The account already has the maximum of {limit} detector models")
        resources = StoreResources(store, ctx.scope, conn)
        inputs = validate_definition(params["detectorModelDefinition"], resources, quotas)
        _check_routes(store, ctx.scope, name, inputs, quotas, conn)
        key = params.get("key")
        attrs = _new_version(
            ctx, params, name=name, version="1", key=key, inputs=inputs, previous=None
        )
        model_attrs = {
            "latestVersion": "1",
            "detectorModelDescription": params.get("detectorModelDescription"),
            "key": key,
        }
        try:
            store.create(
                ctx.scope,
                DETECTOR_MODEL,
                name,
                name=name,
                arn=arn,
                attrs=model_attrs,
                now=ctx.now,
                index={ROUTES: sorted(inputs)},
                tags=tags,
                conn=conn,
            )
            version = store.create(
                ctx.scope,
                DETECTOR_MODEL_VERSION,
                version_id(name, "1"),
                attrs=attrs,
                now=ctx.now,
                index={MODEL: name},
                conn=conn,
            )
        except AlreadyExists:
            # Another request created the same model between our check and our insert.
            raise already_exists(f"Detector model {name} already exists", name, arn) from None
        catalog.notify(conn, ctx.scope, name, catalog.version_of(version))
    return {"detectorModelConfiguration": configuration(version, ACTIVATING)}


def update_detector_model(ctx: RequestContext, params: Params) -> Result:
    name = params["detectorModelName"]
    quotas = quotas_of(ctx.hub.settings)
    store = ctx.hub.store
    with store.transaction() as conn:
        model = store.get(ctx.scope, DETECTOR_MODEL, name, conn=conn)
        if model is None:
            raise _missing(name)
        resources = StoreResources(store, ctx.scope, conn)
        inputs = validate_definition(params["detectorModelDefinition"], resources, quotas)
        _check_routes(store, ctx.scope, name, inputs, quotas, conn)
        latest = model.attrs["latestVersion"]
        if int(latest) >= quotas.versions_per_detector_model:
            raise limit_exceeded(
                f"Detector model {name} already has the maximum of "
                f"{quotas.versions_per_detector_model} versions"
            )
        previous = store.get(ctx.scope, DETECTOR_MODEL_VERSION, version_id(name, latest), conn=conn)
        assert previous is not None
        version_number = str(int(latest) + 1)
        key = model.attrs.get("key")  # immutable: the original key stays
        attrs = _new_version(
            ctx,
            params,
            name=name,
            version=version_number,
            key=key,
            inputs=inputs,
            previous=previous,
        )
        try:
            # The superseded version stays describable; it just no longer runs.
            store.update(
                ctx.scope,
                DETECTOR_MODEL_VERSION,
                previous.id,
                attrs={**previous.attrs, "status": DEPRECATED, "lastUpdateTime": ctx.now},
                now=ctx.now,
                conn=conn,
            )
            version = store.create(
                ctx.scope,
                DETECTOR_MODEL_VERSION,
                version_id(name, version_number),
                attrs=attrs,
                now=ctx.now,
                index={MODEL: name},
                conn=conn,
            )
            store.update(
                ctx.scope,
                DETECTOR_MODEL,
                name,
                attrs={
                    **model.attrs,
                    "latestVersion": version_number,
                    "detectorModelDescription": attrs.get("detectorModelDescription"),
                },
                now=ctx.now,
                index={ROUTES: sorted(inputs)},
                expected_version=model.version,
                conn=conn,
            )
        except (AlreadyExists, VersionConflict):
            raise in_use(f"Detector model {name} is being updated by another request") from None
        catalog.notify(conn, ctx.scope, name, catalog.version_of(version))
    return {"detectorModelConfiguration": configuration(version, ACTIVATING)}


def describe_detector_model(ctx: RequestContext, params: Params) -> Result:
    name = params["detectorModelName"]
    store = ctx.hub.store
    requested = params.get("detectorModelVersion")
    if requested is None:
        model = store.get(ctx.scope, DETECTOR_MODEL, name)
        if model is None:
            raise _missing(name)
        requested = model.attrs["latestVersion"]
    version = store.get(ctx.scope, DETECTOR_MODEL_VERSION, version_id(name, requested))
    if version is None:
        if params.get("detectorModelVersion") is not None and store.get(
            ctx.scope, DETECTOR_MODEL, name
        ):
            raise not_found(f"Detector model {name} has no version {requested}")
        raise _missing(name)
    return {
        "detectorModel": {
            "detectorModelConfiguration": configuration(version),
            "detectorModelDefinition": version.attrs["detectorModelDefinition"],
        }
    }


def delete_detector_model(ctx: RequestContext, params: Params) -> Result:
    name = params["detectorModelName"]
    store = ctx.hub.store
    with store.transaction() as conn:
        if store.delete(ctx.scope, DETECTOR_MODEL, name, conn=conn) is None:
            raise _missing(name)
        for version in list(
            all_resources(store, ctx.scope, DETECTOR_MODEL_VERSION, {MODEL: name}, conn)
        ):
            store.delete(ctx.scope, DETECTOR_MODEL_VERSION, version.id, conn=conn)
        catalog.notify(conn, ctx.scope, name, None)
    return None


def list_detector_models(ctx: RequestContext, params: Params) -> Result:
    items, more = list_page(ctx, DETECTOR_MODEL, params)
    summaries = []
    for model in items:
        summary: dict[str, Any] = {"detectorModelName": model.id, "creationTime": model.created_at}
        if model.attrs.get("detectorModelDescription") is not None:
            summary["detectorModelDescription"] = model.attrs["detectorModelDescription"]
        summaries.append(summary)
    return {"detectorModelSummaries": summaries, **more}


def list_detector_model_versions(ctx: RequestContext, params: Params) -> Result:
    name = params["detectorModelName"]
    if ctx.hub.store.get(ctx.scope, DETECTOR_MODEL, name) is None:
        raise _missing(name)
    items, more = list_page(ctx, DETECTOR_MODEL_VERSION, params, {MODEL: name})
    summaries = []
    for version in items:
        summary = configuration(version)
        for member in ("detectorModelDescription", "key"):
            summary.pop(member, None)
        summaries.append(summary)
    return {"detectorModelVersionSummaries": summaries, **more}


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateDetectorModel", create_detector_model),
        ("DescribeDetectorModel", describe_detector_model),
        ("UpdateDetectorModel", update_detector_model),
        ("DeleteDetectorModel", delete_detector_model),
        ("ListDetectorModels", list_detector_models),
        ("ListDetectorModelVersions", list_detector_model_versions),
    ):
        handlers.register(SERVICE, operation)(handler)
