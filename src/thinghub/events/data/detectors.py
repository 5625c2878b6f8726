"""Detectors as the data plane shows them: describe, list, update, delete."""

from __future__ import annotations

from typing import Any

from thinghub.api import Params, RequestContext, Result
from thinghub.events.data.runtime import error_entry, not_found, runtime_of
from thinghub.events.expressions import to_json_literal
from thinghub.events.runtime import codec
from thinghub.events.runtime.engine import to_instance, to_record
from thinghub.events.runtime.evaluation import Evaluator, Instance, Timer

DEFAULT_PAGE_SIZE = 100


def _evaluator(ctx: RequestContext, name: str) -> Evaluator:
    evaluator = runtime_of(ctx).models.active(ctx.scope, name)
    if evaluator is None:
        raise not_found(f"Detector model {name} does not exist")
    return evaluator


def _summary(instance: Instance, key_less: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "detectorModelName": instance.model,
        "detectorModelVersion": instance.version,
        "creationTime": instance.created_at,
        "lastUpdateTime": instance.updated_at,
    }
    if not key_less:
        summary["keyValue"] = instance.key
    return summary


def describe_detector(ctx: RequestContext, params: Params) -> Result:
    name = params["detectorModelName"]
    evaluator = _evaluator(ctx, name)
    key = params.get("keyValue", "")
    instance = runtime_of(ctx).engine.instances(ctx.scope, name, [key]).get(key)
    if instance is None or instance.version != evaluator.model.version:
        raise not_found(f"Detector {key or '(no key)'} of detector model {name} does not exist")
    detector = _summary(instance, evaluator.model.key_path is None)
    detector["state"] = {
        "stateName": instance.state,
        "variables": [
            {"name": n, "value": to_json_literal(v)} for n, v in instance.variables.items()
        ],
        "timers": [{"name": n, "timestamp": t.due_at} for n, t in instance.timers.items()],
    }
    return {"detector": detector}


def list_detectors(ctx: RequestContext, params: Params) -> Result:
    name = params["detectorModelName"]
    evaluator = _evaluator(ctx, name)
    records, token = runtime_of(ctx).detectors.list_page(
        ctx.scope,
        name,
        state=params.get("stateName"),
        max_results=params.get("maxResults", DEFAULT_PAGE_SIZE),
        next_token=params.get("nextToken"),
    )
    key_less = evaluator.model.key_path is None
    summaries = []
    for record in records:
        summary = _summary(to_instance(record, {}), key_less)
        summary["state"] = {"stateName": record.state}
        summaries.append(summary)
    result: dict[str, Any] = {"detectorSummaries": summaries}
    if token:
        result["nextToken"] = token
    return result


def batch_update_detector(ctx: RequestContext, params: Params) -> Result:
    """Put detectors into a state with exactly the given variables and timers; no events run."""
    runtime = runtime_of(ctx)
    now = ctx.now
    errors: list[dict[str, str]] = []
    with runtime.detectors.transaction() as conn:
        for entry in params["detectors"]:
            message_id, name = entry["messageId"], entry["detectorModelName"]
            key = entry.get("keyValue", "")
            evaluator = runtime.models.active(ctx.scope, name)
            if evaluator is None:
                errors.append(
                    error_entry(
                        message_id,
                        "ResourceNotFoundException",
                        f"Detector model {name} does not exist",
                    )
                )
                continue
            state = entry["state"]
            if state["stateName"] not in evaluator.model.states:
                errors.append(
                    error_entry(
                        message_id,
                        "InvalidRequestException",
                        f"State {state['stateName']} does not exist in detector model {name}",
                    )
                )
                continue
            records = runtime.detectors.get_many(ctx.scope, name, [key], conn, lock=True)
            record = records.get(key)
            if record is None or record.version != evaluator.model.version:
                errors.append(
                    error_entry(
                        message_id,
                        "ResourceNotFoundException",
                        f"Detector {key or '(no key)'} of detector model {name} does not exist",
                    )
                )
                continue
            try:
                variables = {v["name"]: _literal(v["value"]) for v in state["variables"]}
            except ValueError as exc:
                errors.append(error_entry(message_id, "InvalidRequestException", str(exc)))
                continue
            instance = to_instance(record, {})
            instance.state = state["stateName"]
            instance.variables = variables
            instance.timers = {
                t["name"]: Timer(now + int(t["seconds"]), int(t["seconds"]))
                for t in state["timers"]
            }
            instance.updated_at = now
            runtime.detectors.upsert_many(ctx.scope, [to_record(instance)], conn)
            runtime.detectors.set_timers(
                ctx.scope,
                name,
                key,
                {n: (t.due_at, t.duration) for n, t in instance.timers.items()},
                conn,
            )
    return {"batchUpdateDetectorErrorEntries": errors}


def _literal(text: str) -> Any:
    """A variable value as DescribeDetector shows it: `22`, `1.0`, `true`, `"text"`."""
    try:
        value = codec.loads(text)
    except ValueError:
        raise ValueError(
            f"Variable value {text} is not an Integer, Decimal, Boolean or quoted String literal"
        ) from None
    if value is None or isinstance(value, dict | list):
        raise ValueError(
            f"Variable value {text} is not an Integer, Decimal, Boolean or quoted String literal"
        )
    return value


def batch_delete_detector(ctx: RequestContext, params: Params) -> Result:
    runtime = runtime_of(ctx)
    errors: list[dict[str, str]] = []
    for entry in params["detectors"]:
        name, key = entry["detectorModelName"], entry.get("keyValue", "")
        if not runtime.detectors.delete(ctx.scope, name, key):
            errors.append(
                error_entry(
                    entry["messageId"],
                    "ResourceNotFoundException",
                    f"Detector {key or '(no key)'} of detector model {name} does not exist",
                )
            )
    return {"batchDeleteDetectorErrorEntries": errors}
