"""lambda: an asynchronous Invoke (InvocationType Event) whose event is the payload."""

from __future__ import annotations

import json

from thinghub.events.actions.aws import AwsCall
from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.fields import required_text
from thinghub.events.actions.payloads import payload_text
from thinghub.events.expressions.values import parse_payload


def lambda_call(delivery: ActionDelivery) -> AwsCall:
    text = payload_text(delivery)
    try:
        parse_payload(text)
    except ValueError:
        # Lambda only accepts a JSON event: text that is not JSON (a STRING payload, say) goes
        # as a JSON string, so the function still receives exactly the payload's characters.
        text = json.dumps(text, ensure_ascii=False)
    params = {
        "FunctionName": required_text(delivery, "functionArn"),
        "InvocationType": "Event",
        "Payload": text.encode("utf-8"),
    }
    return AwsCall("lambda", "invoke", params)
