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
from thinghub.events.control.errors import limit_exceeded, not_found
from thinghub.events.control.kinds import (
    DETECTOR_MODEL,
    DETECTOR_MODEL_VERSION,
    SERVICE,
    detector_model_arn,
    version_id,
)
from thinghub.events.control.model_versions import ModelKinds, carry_over
from thinghub.events.control.quotas import Quotas, quotas_of
from thinghub.events.control.routing import routed_resources
from thinghub.events.control.validation import StoreResources, validate_definition
from thinghub.store import Resource, ResourceStore, Scope

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


def _notify(conn: Connection, scope: Scope, name: str, version: Resource | None) -> None:
    catalog.notify(conn, scope, name, None if version is None else catalog.version_of(version))


_MODELS = ModelKinds(
    model_kind=DETECTOR_MODEL,
    version_kind=DETECTOR_MODEL_VERSION,
    label="Detector model",
    name_member="detectorModelName",
    description_member="detectorModelDescription",
    notify=_notify,
)
_missing = _MODELS.missing


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


# What an update may leave out and then keeps from the previous version.
_KEPT_ON_UPDATE = ("detectorModelDescription", "evaluationMethod")


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
    return carry_over(attrs, params, previous, _KEPT_ON_UPDATE, key)


def create_detector_model(ctx: RequestContext, params: Params) -> Result:
    quotas = quotas_of(ctx.hub.settings)
    version = _MODELS.create_model(
        ctx,
        params,
        arn=detector_model_arn(ctx.scope, params["detectorModelName"]),
        limit=quotas.detector_models_per_account,
        validate=_validated,
        new_version=_new_version,
    )
    return {"detectorModelConfiguration": configuration(version, ACTIVATING)}


def update_detector_model(ctx: RequestContext, params: Params) -> Result:
    version = _MODELS.update_model(
        ctx,
        params,
        version_limit=quotas_of(ctx.hub.settings).versions_per_detector_model,
        validate=_validated,
        new_version=_new_version,
        superseded=DEPRECATED,
    )
    return {"detectorModelConfiguration": configuration(version, ACTIVATING)}


def _validated(ctx: RequestContext, params: Params, conn: Connection) -> frozenset[str]:
    """The definition checked (spec 9.3), and the inputs it reads within the routing limits."""
    quotas = quotas_of(ctx.hub.settings)
    resources = StoreResources(ctx.hub.store, ctx.scope, conn)
    inputs = validate_definition(params["detectorModelDefinition"], resources, quotas)
    _check_routes(ctx.hub.store, ctx.scope, params["detectorModelName"], inputs, quotas, conn)
    return inputs


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
    _MODELS.delete(ctx, params["detectorModelName"])
    return None


def list_detector_models(ctx: RequestContext, params: Params) -> Result:
    return _MODELS.list_models(ctx, params, "detectorModelSummaries")


def _version_summary(version: Resource) -> dict[str, Any]:
    summary = configuration(version)
    for member in ("detectorModelDescription", "key"):
        summary.pop(member, None)
    return summary


def list_detector_model_versions(ctx: RequestContext, params: Params) -> Result:
    return _MODELS.list_versions(ctx, params, "detectorModelVersionSummaries", _version_summary)


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
