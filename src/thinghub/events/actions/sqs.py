"""sqs: SQS SendMessage of the payload text, base64-encoded when useBase64 is true."""

from __future__ import annotations

import base64

from thinghub.events.actions.aws import AwsCall
from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.fields import as_bool, required_text
from thinghub.events.actions.payloads import payload_text


def sqs_call(delivery: ActionDelivery) -> AwsCall:
    body = payload_text(delivery)
    if as_bool(delivery, "useBase64", False):
        body = base64.b64encode(body.encode("utf-8")).decode("ascii")
    params = {"QueueUrl": required_text(delivery, "queueUrl"), "MessageBody": body}
    return AwsCall("sqs", "send_message", params)
