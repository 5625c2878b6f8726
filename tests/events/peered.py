"""A dedicated thinghub whose action sinks point at test peers, and inboxes to read them.

`start_peered_server` sets the AWS environment (moto, stub endpoints) only while it starts
thinghub: the child process inherits it, the test process gets its own back at once.
`SqsInbox` drains a queue (an SQS action's target, or an SNS topic's raw-delivery subscriber).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import RunningServer, start_server
from tests.peers import aws_environment


def start_peered_server(
    data_dir: Path,
    endpoint_url: str | None,
    *,
    config: str = "",
    **service_urls: str,
) -> RunningServer:
    """`thinghub serve --clock manual` with boto3's chain pointed at the given peers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = data_dir / "thinghub.toml"
    mqtt = f'[mqtt]\nclient_id = "thinghub-e2e-{uuid.uuid4().hex[:12]}"\n'
    config_file.write_text(mqtt + config)
    with pytest.MonkeyPatch.context() as patch:
        aws_environment(patch, endpoint_url, **service_urls)
        return start_server(data_dir, "--clock", "manual", "--config", str(config_file))


def moto_client(moto_url: str, service: str, region: str = "us-east-1") -> Any:
    """A boto3 client for the test's own calls to moto (explicit endpoint, dummy keys)."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    return session.client(service, endpoint_url=moto_url)


class SqsInbox:
    """Every message that reached one SQS queue, drained (received and deleted) as it comes."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.url = queue_url
        self.bodies: list[str] = []

    @classmethod
    def create(cls, sqs: Any, name: str) -> SqsInbox:
        return cls(sqs, sqs.create_queue(QueueName=name)["QueueUrl"])

    @property
    def arn(self) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def subscribe_to(self, sns: Any, topic_arn: str) -> None:
        """Receive what is published to the topic, unwrapped (raw message delivery)."""
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=self.arn,
            Attributes={"RawMessageDelivery": "true"},
        )

    def drain(self) -> list[str]:
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return self.bodies
            for received in messages:
                self.bodies.append(received["Body"])
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=received["ReceiptHandle"])

    def wait(
        self, match: Callable[[str], bool] = lambda body: True, count: int = 1, timeout: float = 15
    ) -> list[str]:
        """At least `count` bodies that `match` (all of them so far), or fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            found = [body for body in self.drain() if match(body)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} messages in {self.url}: {found}")
            time.sleep(0.1)
