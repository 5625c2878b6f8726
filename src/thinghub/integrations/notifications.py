"""Notifications out (spec 7): records committed with the change that caused them, then
delivered through the outbox to the destination of their event type.

`notify` runs inside the caller's transaction: it looks up the notification configuration of
the event type and its destination, and queues one record (the spec 7.3 envelope) in the
outbox. Nothing configured, nothing queued: a configuration created later does not replay the
past. Delivery is at least once and in order per partition key (the managed thing id when the
record concerns one, else the most specific resource id); a destination that is down is retried
with backoff, across restarts, until it takes the record. The destination is resolved when the
record is made, so records keep going where they were meant to go even if the configuration
changes while they wait.

Kinesis destinations get one `PutRecord` per record through boto3 (so ``AWS_ENDPOINT_URL_KINESIS``
and the ``[aws]`` section apply), with the record's partition key. A destination naming an IoT
Events input of the same account (``arn:aws:iotevents:<region>:<account>:input/<name>``) gets
each record as a message of that input, evaluated by the detector runtime in the transaction
that removes it from the outbox: exactly once, even across a restart. The message is the record
itself, its ``messageId`` the record's.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.engine import Connection

from thinghub.api import Handler, Params, RequestContext, Result
from thinghub.events.actions import DeliveryError
from thinghub.events.actions.aws import AwsCall
from thinghub.events.control.kinds import INPUT
from thinghub.events.runtime import codec
from thinghub.integrations import notification_configurations as configurations
from thinghub.integrations import notification_destinations as destinations
from thinghub.store import OutboxItem, OutboxItemIn, Scope
from thinghub.store.ids import Arn, parse_arn, unique_ids

if TYPE_CHECKING:
    from thinghub.deliveries import Deliveries
    from thinghub.hub import Hub

CHANNEL = "mi-notification"  # to a Kinesis stream
INPUT_CHANNEL = "mi-notification-input"  # into an IoT Events input of the same account
SOURCE = "aws.iotmanagedintegrations"
RECORD_VERSION = "1.0"

DEVICE_COMMAND = "DEVICE_COMMAND"
DEVICE_COMMAND_REQUEST = "DEVICE_COMMAND_REQUEST"
DEVICE_DISCOVERY_STATUS = "DEVICE_DISCOVERY_STATUS"
DEVICE_EVENT = "DEVICE_EVENT"
DEVICE_LIFE_CYCLE = "DEVICE_LIFE_CYCLE"
DEVICE_STATE = "DEVICE_STATE"
ACCOUNT_ASSOCIATION = "ACCOUNT_ASSOCIATION"
CONNECTOR_ASSOCIATION = "CONNECTOR_ASSOCIATION"
CONNECTOR_ERROR_REPORT = "CONNECTOR_ERROR_REPORT"


@dataclass(frozen=True, slots=True)
class Notification:
    event_type: str
    payload: dict[str, Any]
    partition_key: str  # records with the same key arrive in the order they were made
    resources: tuple[str, ...] = ()  # ARNs the record is about


def timestamp(now: float) -> str:
    """ISO-8601 in UTC with milliseconds, as the records and the state use."""
    # The records and properties of one change share `now`: format it once.
    global _last_timestamp
    last_now, text = _last_timestamp
    if now != last_now:
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        _last_timestamp = (now, text)
    return text


_last_timestamp: tuple[float, str] = (-1.0, "")


def record(scope: Scope, notification: Notification, now: float) -> dict[str, Any]:
    """The spec 7.3 envelope of one notification."""
    return {
        "version": RECORD_VERSION,
        "messageId": unique_ids.new(),
        "messageType": notification.event_type,
        "source": SOURCE,
        "customerAccountId": scope.account_id,
        "timestamp": timestamp(now),
        "region": scope.region,
        "resources": list(notification.resources),
        "payload": notification.payload,
    }


def notify(
    hub: Hub, scope: Scope, notifications: list[Notification], now: float, conn: Connection
) -> int:
    """Queue the records of `notifications` whose event type is configured, in `conn`'s
    transaction; how many were queued."""
    items = outbox_items(hub, scope, notifications, now, conn)
    queue(hub, items, now, conn)
    return len(items)


def outbox_items(
    hub: Hub, scope: Scope, notifications: list[Notification], now: float, conn: Connection
) -> list[OutboxItemIn]:
    """The outbox items of the records of `notifications` whose event type is configured
    (the routes are read in `conn`'s transaction); nothing is queued yet."""
    items: list[OutboxItemIn] = []
    targets: dict[str, Mapping[str, Any] | None] = {}
    for notification in notifications:
        event_type = notification.event_type
        if event_type not in targets:
            targets[event_type] = _destination(hub, scope, event_type, conn)
        target = targets[event_type]
        if target is None:
            continue
        try:
            channel, _ = target_of(str(target["DeliveryDestinationArn"]))
        except ValueError:
            channel = CHANNEL  # made before ARNs were checked: fails (and waits) visibly
        document = {
            "destinationName": target["Name"],
            "destinationArn": target["DeliveryDestinationArn"],
            "roleArn": target.get("RoleArn"),
            "partitionKey": notification.partition_key,
            "madeAtMs": int(now * 1000),
            "record": record(scope, notification, now),
        }
        # One outbox partition per destination and key: the order each consumer sees.
        partition = f"notification/{target['Name']}/{notification.partition_key}"
        items.append(OutboxItemIn(scope, channel, orjson.dumps(document).decode(), partition))
    return items


def queue(hub: Hub, items: list[OutboxItemIn], now: float, conn: Connection) -> None:
    """Put `items` in the outbox in `conn`'s transaction, in order."""
    if items:
        deliveries(hub).outbox.add_many(items, now, conn)
        # The worker cannot run before this synchronous transaction commits and yields.
        deliveries(hub).wake()


# Where each event type goes, per account and region: read on every device event, changed
# rarely. This node's changes clear it at once (`forget_routes`); another node's are seen within
# ROUTE_SECONDS.
ROUTE_SECONDS = 1.0
_routes: dict[tuple[str, str, str], tuple[float, Mapping[str, Any] | None]] = {}


def forget_routes() -> None:
    """A notification configuration or destination changed."""
    _routes.clear()


def changes_routes(handler: Callable[[RequestContext, Params], Result]) -> Handler:
    """`handler` (a Create/Update/Delete of configurations or destinations), forgetting the
    cached routes once it committed."""

    def changing(ctx: RequestContext, params: Params) -> Result:
        try:
            return handler(ctx, params)
        finally:
            forget_routes()

    return changing


def _destination(
    hub: Hub, scope: Scope, event_type: str, conn: Connection
) -> Mapping[str, Any] | None:
    key = (scope.account_id, scope.region, event_type)
    cached = _routes.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    target = _lookup_destination(hub, scope, event_type, conn)
    _routes[key] = (now + ROUTE_SECONDS, target)
    return target


def _lookup_destination(
    hub: Hub, scope: Scope, event_type: str, conn: Connection
) -> Mapping[str, Any] | None:
    configuration = hub.store.get(scope, configurations.KIND, event_type, conn=conn)
    if configuration is None:
        return None
    name = configuration.attrs["DestinationName"]
    destination = hub.store.get(scope, destinations.KIND, name, conn=conn)
    return None if destination is None else destination.attrs


def deliveries(hub: Hub) -> Deliveries:
    found: Deliveries = hub.components["deliveries"]
    return found


@lru_cache(maxsize=1024)  # a handful of destinations, looked up for every record
def target_of(arn: str) -> tuple[str, Arn]:
    """The channel of a destination ARN: a Kinesis stream, or an IoT Events input; ValueError
    for anything else."""
    parsed = parse_arn(arn)
    if parsed.service == "kinesis" and parsed.resource.startswith("stream/"):
        return CHANNEL, parsed
    if parsed.service == "iotevents" and parsed.resource.startswith("input/"):
        return INPUT_CHANNEL, parsed
    raise ValueError(f"{arn} is neither a Kinesis stream nor an IoT Events input ARN")


def start(hub: Hub) -> None:
    sink = deliveries(hub)

    async def to_kinesis(item: OutboxItem) -> None:
        document = orjson.loads(item.payload)
        arn = str(document["destinationArn"])
        try:
            _, target = target_of(arn)
        except ValueError as exc:
            raise DeliveryError(str(exc), retryable=False) from None
        call = AwsCall(
            "kinesis",
            "put_record",
            {
                "StreamName": target.resource.removeprefix("stream/"),
                "Data": orjson.dumps(document["record"]),
                "PartitionKey": document["partitionKey"][:256],
            },
            region=target.region,
        )
        await sink.sinks.call(call)

    async def to_input(item: OutboxItem) -> None:
        """Into the detector runtime, evaluated and dropped in one transaction."""
        from thinghub.events.runtime.engine import Message
        from thinghub.events.runtime.service import EventsRuntime

        document = orjson.loads(item.payload)
        _, target = target_of(str(document["destinationArn"]))
        record = document["record"]
        runtime: EventsRuntime = hub.components["events"]
        input_name = target.resource.removeprefix("input/")
        if hub.store.get(item.scope, INPUT, input_name) is None:
            # Deleted since: the record waits (retried) until the input is back.
            raise DeliveryError(f"IoT Events input {input_name} does not exist", retryable=False)
        message = Message(
            message_id=record["messageId"],
            input_name=input_name,
            # Decimal numbers, as BatchPutMessage payloads are read.
            payload=codec.loads(orjson.dumps(record)),
            event_time_ms=int(document.get("madeAtMs") or 0),
        )
        runtime.evaluate_item(item, message)

    sink.register(CHANNEL, to_kinesis)
    sink.register(INPUT_CHANNEL, to_input, acknowledges=True)
