"""Alarm models and their versions (spec §9.5, §11.1).

One `ALARM_MODEL` resource per model (its latest version number, key, description, tags and
the inputs its active version routes, as index entries) and one `ALARM_MODEL_VERSION` resource
per version (the whole model as given). Activation is synchronous: a new version runs when the
request returns, though create and update answer ACTIVATING as AWS does. A superseded version
becomes INACTIVE and stays describable. Creating, updating or deleting a model removes its
alarms in the same commit; they are created again as data arrives.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control import alarm_catalog
from thinghub.events.control.alarm_validation import validate_alarm_model
from thinghub.events.control.errors import not_found
from thinghub.events.control.kinds import (
    ALARM_MODEL,
    ALARM_MODEL_VERSION,
    SERVICE,
    alarm_model_arn,
    version_id,
)
from thinghub.events.control.model_versions import ModelKinds, carry_over
from thinghub.events.control.quotas import quotas_of
from thinghub.events.control.validation import StoreResources
from thinghub.store import Resource, Scope

ACTIVE = "ACTIVE"
ACTIVATING = "ACTIVATING"
INACTIVE = "INACTIVE"

# The members of a version that Describe shows besides its metadata, in AWS's order.
_DEFINITION = (
    "alarmModelName",
    "alarmModelDescription",
    "roleArn",
    "key",
    "severity",
    "alarmRule",
    "alarmNotification",
    "alarmEventActions",
    "alarmCapabilities",
)
# What an update may leave out and then keeps from the previous version.
_KEPT_ON_UPDATE = (
    "alarmModelDescription",
    "severity",
    "alarmNotification",
    "alarmEventActions",
    "alarmCapabilities",
)
_SUMMARY = (
    "alarmModelArn",
    "alarmModelVersion",
    "roleArn",
    "alarmModelName",
    "creationTime",
    "lastUpdateTime",
    "status",
    "statusMessage",
)


def _notify(conn: Connection, scope: Scope, name: str, version: Resource | None) -> None:
    alarm_catalog.notify(
        conn, scope, name, None if version is None else alarm_catalog.version_of(version)
    )


_MODELS = ModelKinds(
    model_kind=ALARM_MODEL,
    version_kind=ALARM_MODEL_VERSION,
    label="Alarm model",
    name_member="alarmModelName",
    description_member="alarmModelDescription",
    notify=_notify,
)
_missing = _MODELS.missing


def _metadata(version: Resource, status: str | None = None) -> dict[str, Any]:
    """What create and update answer: the version's times, ARN, number and status."""
    attrs = version.attrs
    return {
        "creationTime": attrs["creationTime"],
        "alarmModelArn": attrs["alarmModelArn"],
        "alarmModelVersion": attrs["alarmModelVersion"],
        "lastUpdateTime": attrs["lastUpdateTime"],
        "status": status or attrs["status"],
    }


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
        "alarmModelName": name,
        "alarmModelVersion": version,
        "alarmModelArn": alarm_model_arn(ctx.scope, name),
        "roleArn": params["roleArn"],
        "alarmRule": params["alarmRule"],
        # A version's creation time is also its last update time, as for detector models.
        "creationTime": now,
        "lastUpdateTime": now,
        "status": ACTIVE,
        "inputs": sorted(inputs),
    }
    return carry_over(attrs, params, previous, _KEPT_ON_UPDATE, key)


def create_alarm_model(ctx: RequestContext, params: Params) -> Result:
    quotas = quotas_of(ctx.hub.settings)
    version = _MODELS.create_model(
        ctx,
        params,
        arn=alarm_model_arn(ctx.scope, params["alarmModelName"]),
        limit=quotas.alarm_models_per_account,
        validate=_validated,
        new_version=_new_version,
    )
    return _metadata(version, ACTIVATING)


def update_alarm_model(ctx: RequestContext, params: Params) -> Result:
    version = _MODELS.update_model(
        ctx,
        params,
        version_limit=quotas_of(ctx.hub.settings).versions_per_alarm_model,
        validate=_validated,
        new_version=_new_version,
        superseded=INACTIVE,
    )
    return _metadata(version, ACTIVATING)


def _validated(ctx: RequestContext, params: Params, conn: Connection) -> frozenset[str]:
    resources = StoreResources(ctx.hub.store, ctx.scope, conn)
    return validate_alarm_model(params, resources, quotas_of(ctx.hub.settings))


def describe_alarm_model(ctx: RequestContext, params: Params) -> Result:
    name = params["alarmModelName"]
    store = ctx.hub.store
    requested = params.get("alarmModelVersion")
    model = store.get(ctx.scope, ALARM_MODEL, name)
    if model is None:
        raise _missing(name)
    if requested is None:
        requested = model.attrs["latestVersion"]
    version = store.get(ctx.scope, ALARM_MODEL_VERSION, version_id(name, requested))
    if version is None:
        raise not_found(f"Alarm model {name} has no version {requested}")
    attrs = version.attrs
    result = _metadata(version)
    for member in ("statusMessage", *_DEFINITION):
        if attrs.get(member) is not None:
            result[member] = attrs[member]
    return result


def delete_alarm_model(ctx: RequestContext, params: Params) -> Result:
    _MODELS.delete(ctx, params["alarmModelName"])
    return None


def list_alarm_models(ctx: RequestContext, params: Params) -> Result:
    return _MODELS.list_models(ctx, params, "alarmModelSummaries")


def _version_summary(version: Resource) -> dict[str, Any]:
    return {member: version.attrs[member] for member in _SUMMARY if member in version.attrs}


def list_alarm_model_versions(ctx: RequestContext, params: Params) -> Result:
    return _MODELS.list_versions(ctx, params, "alarmModelVersionSummaries", _version_summary)


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateAlarmModel", create_alarm_model),
        ("DescribeAlarmModel", describe_alarm_model),
        ("UpdateAlarmModel", update_alarm_model),
        ("DeleteAlarmModel", delete_alarm_model),
        ("ListAlarmModels", list_alarm_models),
        ("ListAlarmModelVersions", list_alarm_model_versions),
    ):
        handlers.register(SERVICE, operation)(handler)
