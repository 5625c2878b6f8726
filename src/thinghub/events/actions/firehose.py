"""firehose: Firehose PutRecord of the payload text followed by the separator (if any)."""

from __future__ import annotations

from thinghub.events.actions.aws import AwsCall
from thinghub.events.actions.delivery import ActionDelivery
from thinghub.events.actions.fields import optional_text, required_text
from thinghub.events.actions.payloads import payload_text


def firehose_call(delivery: ActionDelivery) -> AwsCall:
    # The separator ends each record, so consecutive records in the stream are delimited.
    separator = optional_text(delivery, "separator", "")
    data = (payload_text(delivery) + separator).encode("utf-8")
    params = {
        "DeliveryStreamName": required_text(delivery, "deliveryStreamName"),
        "Record": {"Data": data},
    }
    return AwsCall("firehose", "put_record", params)
