"""Alarms as the data plane shows them (spec 8.6): the five Batch*Alarm customer actions,
DescribeAlarm and ListAlarms.

A Batch*Alarm request is applied in one transaction; an entry that names an alarm model or an
alarm that does not exist, or an action that does not apply to the alarm's state, is an
`errorEntries` item and changes nothing. `errorEntries` is left out when every entry applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from thinghub.api import Params, RequestContext, Result
from thinghub.events.data.runtime import invalid, not_found, runtime_of
from thinghub.events.runtime.alarm_engine import AlarmEngine, AlarmRequest, to_alarm
from thinghub.events.runtime.alarm_model import CompiledAlarmModel
from thinghub.events.runtime.alarms import (
    ACKNOWLEDGE,
    DISABLE,
    ENABLE,
    RESET,
    SNOOZE,
    Alarm,
    Command,
    alarm_state,
)

DEFAULT_MAX_REQUESTS = 10  # per Batch*Alarm call, as AWS; `[iotevents] max_batch_alarm_requests`
DEFAULT_PAGE_SIZE = 100


def _engine(ctx: RequestContext) -> AlarmEngine:
    return runtime_of(ctx).alarms


def _batch(member: str, action: str) -> Callable[[RequestContext, Params], Result]:
    """The handler of one Batch*Alarm operation, whose entries are in `member`."""

    def handle(ctx: RequestContext, params: Params) -> Result:
        entries: list[dict[str, Any]] = params[member]
        settings = ctx.hub.settings.raw.get("iotevents", {})
        limit = int(settings.get("max_batch_alarm_requests", DEFAULT_MAX_REQUESTS))
        if len(entries) > limit:
            raise invalid(f"{member} takes at most {limit} requests, got {len(entries)}")
        seen: set[str] = set()
        for entry in entries:
            if entry["requestId"] in seen:
                raise invalid(
                    f"requestId {entry['requestId']} appears twice in {member}; request ids "
                    "must be unique within a batch"
                )
            seen.add(entry["requestId"])
        requests = [
            AlarmRequest(
                request_id=entry["requestId"],
                model=entry["alarmModelName"],
                key=entry.get("keyValue", ""),
                command=Command(action, entry.get("note"), entry.get("snoozeDuration")),
            )
            for entry in entries
        ]
        errors = _engine(ctx).run_commands(ctx.scope, requests, ctx.now)
        if not errors:
            return {}
        return {
            "errorEntries": [
                {"requestId": e.request_id, "errorCode": e.code, "errorMessage": e.message}
                for e in errors
            ]
        }

    return handle


def _model(ctx: RequestContext, name: str) -> CompiledAlarmModel:
    model = _engine(ctx).models.active(ctx.scope, name)
    if model is None:
        raise not_found(f"Alarm model {name} does not exist")
    return model


def _summary(model: CompiledAlarmModel, alarm: Alarm) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "alarmModelName": model.name,
        "alarmModelVersion": alarm.version,
    }
    if model.key_path is not None:
        summary["keyValue"] = alarm.key
    return summary


def describe_alarm(ctx: RequestContext, params: Params) -> Result:
    name = params["alarmModelName"]
    model = _model(ctx, name)
    key = params.get("keyValue", "")
    alarm = _engine(ctx).alarm(ctx.scope, model, key)
    if alarm is None:
        raise not_found(f"Alarm {key or '(no key)'} of alarm model {name} does not exist")
    result = _summary(model, alarm)
    result["alarmState"] = alarm_state(alarm)
    if model.severity is not None:
        result["severity"] = model.severity
    result["creationTime"] = alarm.created_at
    result["lastUpdateTime"] = alarm.updated_at
    return {"alarm": result}


def list_alarms(ctx: RequestContext, params: Params) -> Result:
    model = _model(ctx, params["alarmModelName"])
    records, token = _engine(ctx).store.list_page(
        ctx.scope,
        model.name,
        max_results=params.get("maxResults", DEFAULT_PAGE_SIZE),
        next_token=params.get("nextToken"),
    )
    summaries = []
    for record in records:
        alarm = to_alarm(record)
        summary = _summary(model, alarm)
        summary["stateName"] = alarm.state
        summary["creationTime"] = alarm.created_at
        summary["lastUpdateTime"] = alarm.updated_at
        summaries.append(summary)
    result: dict[str, Any] = {"alarmSummaries": summaries}
    if token:
        result["nextToken"] = token
    return result


HANDLERS: tuple[tuple[str, Callable[[RequestContext, Params], Result]], ...] = (
    ("BatchAcknowledgeAlarm", _batch("acknowledgeActionRequests", ACKNOWLEDGE)),
    ("BatchDisableAlarm", _batch("disableActionRequests", DISABLE)),
    ("BatchEnableAlarm", _batch("enableActionRequests", ENABLE)),
    ("BatchResetAlarm", _batch("resetActionRequests", RESET)),
    ("BatchSnoozeAlarm", _batch("snoozeActionRequests", SNOOZE)),
    ("DescribeAlarm", describe_alarm),
    ("ListAlarms", list_alarms),
)
