"""The dispatcher: hands each outbox item to the sink of its action type."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from thinghub.config import Settings
from thinghub.events.actions.aws import AwsCall, AwsClients
from thinghub.events.actions.aws_lambda import lambda_call
from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.dynamodb import dynamodb_call, dynamodb_v2_call
from thinghub.events.actions.fields import required_text
from thinghub.events.actions.firehose import firehose_call
from thinghub.events.actions.mqtt import MqttPublisher
from thinghub.events.actions.payloads import payload_text
from thinghub.events.actions.settings import aws_settings, mqtt_settings
from thinghub.events.actions.sitewise import sitewise_call
from thinghub.events.actions.sns import sns_call
from thinghub.events.actions.sqs import sqs_call

_AWS_CALLS: dict[str, Callable[[ActionDelivery], AwsCall]] = {
    "sns": sns_call,
    "sqs": sqs_call,
    "lambda": lambda_call,
    "firehose": firehose_call,
    "dynamoDB": dynamodb_call,
    "dynamoDBv2": dynamodb_v2_call,
    "iotSiteWise": sitewise_call,
}

# Blocking SDK calls run here rather than on the default executor, so a slow AWS peer can
# neither starve nor be starved by the rest of the server; boto3's default connection pool
# has 10 connections per client, so more threads would only queue inside urllib3.
_AWS_THREADS = 8


class ActionSinks:
    """Delivers external actions; built once per server, shared by the delivery workers."""

    def __init__(self, settings: Settings) -> None:
        # Both sections are read now so a bad config fails at start-up, not at the first event.
        aws, mqtt = aws_settings(settings), mqtt_settings(settings)
        self._executor = ThreadPoolExecutor(_AWS_THREADS, thread_name_prefix="thinghub-actions")
        self._aws = AwsClients(aws, self._executor)
        self._mqtt = MqttPublisher(mqtt)

    async def call(self, call: AwsCall) -> dict[str, Any]:
        """One AWS SDK call off the event loop; DeliveryError when it failed."""
        return await self._aws.call(call)

    async def deliver(self, delivery: ActionDelivery) -> None:
        """Deliver one action; raises DeliveryError (see `retryable`) when it could not.

        `iotEvents` is not delivered here (the runtime feeds its own inputs): ValueError, as
        for an unknown action type.
        """
        build = _AWS_CALLS.get(delivery.type)
        if build is not None:
            await self._aws.call(build(delivery))
        elif delivery.type == "iotTopicPublish":
            topic = required_text(delivery, "mqttTopic")
            await self._mqtt.publish(topic, payload_text(delivery))
        elif delivery.type == "iotEvents":
            raise ValueError("iotEvents actions are delivered by the detector runtime")
        else:
            raise ValueError(f"unknown action type {delivery.type!r}")

    async def close(self) -> None:
        await self._mqtt.close()
        # Calls already running finish (their clients stay open until then); queued ones don't.
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        self._aws.close()
