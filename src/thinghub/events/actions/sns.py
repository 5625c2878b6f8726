"""sns: SNS Publish of the payload text to the target ARN."""

from __future__ import annotations

from thinghub.events.actions.aws import AwsCall
from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.fields import required_text
from thinghub.events.actions.payloads import payload_text


def sns_call(delivery: ActionDelivery) -> AwsCall:
    params = {"TargetArn": required_text(delivery, "targetArn"), "Message": payload_text(delivery)}
    return AwsCall("sns", "publish", params)
