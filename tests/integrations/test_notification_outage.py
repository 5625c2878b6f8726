"""Notifications survive an outage: Kinesis is down while devices report, thinghub restarts in
the middle, Kinesis comes back, and every record arrives, once, in the order it was made."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integrations.test_discovery_support import (
    LinkedHub,
    linked_hub_fixture,
)
from tests.peers import KinesisStream, MotoServer, free_port, start_moto_server

STREAM = "outage"
KINESIS_PORT = free_port()
KINESIS_URL = f"http://127.0.0.1:{KINESIS_PORT}"

# Retries every second or two instead of up to 5 minutes: the test need not wait long once
# Kinesis is back.
hub = linked_hub_fixture(
    kinesis_url=KINESIS_URL, extra_config="\n[deliveries]\nmax_backoff_seconds = 2\n"
)


def _event(hub: LinkedHub, connector_id: str, value: int, trace: str) -> None:
    answer = hub.mi.send_connector_event(
        ConnectorId=connector_id,
        Operation="DEVICE_EVENT",
        UserId="alice",
        ConnectorDeviceId="acme-sensor-001",
        TraceId=trace,
        StatusCode=200,
        MatterEndpoint={"id": "1", "clusters": [{"id": "0x0402", "attributes": {"0x0000": value}}]},
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_records_made_while_kinesis_is_down_arrive_in_order_after_a_restart(
    hub: LinkedHub,
) -> None:
    run = uuid.uuid4().hex[:8]
    hub.mi.create_destination(
        Name="outage",
        DeliveryDestinationArn=f"arn:aws:kinesis:us-east-1:000000000000:stream/{STREAM}",
        DeliveryDestinationType="KINESIS",
        RoleArn="arn:aws:iam::000000000000:role/mi",
    )
    for event_type in ("DEVICE_EVENT", "DEVICE_STATE", "DEVICE_LIFE_CYCLE"):
        hub.mi.create_notification_configuration(EventType=event_type, DestinationName="outage")
    linked = hub.link("acme-connector")
    discovery = hub.mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=linked.association_id
    )["Id"]
    thing = hub.manage(discovery, only={"acme-sensor-001"})["acme-sensor-001"]

    traces = [f"{run}-{i}" for i in range(12)]
    for i, trace in enumerate(traces[:8]):
        _event(hub, linked.connector_id, 2000 + i, trace)
    hub.restart()  # records queued for a Kinesis that is not there survive the restart
    for i, trace in enumerate(traces[8:], start=8):
        _event(hub, linked.connector_id, 2000 + i, trace)

    moto: MotoServer = start_moto_server(port=KINESIS_PORT)
    try:
        stream = KinesisStream(moto.url, STREAM)
        records = stream.records
        stream.wait_for(
            lambda documents: any(
                d["payload"].get("traceId") == traces[-1] and d["messageType"] == "DEVICE_STATE"
                for d in documents
            ),
            timeout=60,
        )
        mine = [(key, d) for key, d in records() if d["payload"].get("managedThingId") == thing]
    finally:
        moto.stop()

    # Everything about the thing, in the order it happened, each record once, all under the
    # thing's partition key.
    assert {key for key, _ in mine} == {thing}
    ids = [d["messageId"] for _, d in mine]
    assert len(ids) == len(set(ids))
    kinds: list[tuple[str, Any]] = [
        (d["messageType"], d["payload"].get("traceId") or d["payload"].get("event"))
        for _, d in mine
    ]
    expected: list[tuple[str, Any]] = [("DEVICE_LIFE_CYCLE", "CREATED")]
    for trace in traces:
        expected += [("DEVICE_EVENT", trace), ("DEVICE_STATE", trace)]
    assert kinds == expected
    values = [
        d["payload"]["endpoints"][0]["capabilities"][0]["properties"]["MeasuredValue"]["value"]
        for _, d in mine
        if d["messageType"] == "DEVICE_STATE"
    ]
    assert values == [2000 + i for i in range(12)]
