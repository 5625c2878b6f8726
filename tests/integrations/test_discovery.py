"""Device discovery end to end: the Acme cloud, the real Acme connector as a local handler, an
account association linked through OAuth, then managed things made from what was found.

Test connectors (`test_discovery_handlers`) stand in where a test must control the
discovery: they ACK and let the test send the DEVICE_DISCOVERY events, or fail.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.integrations.test_discovery_support import (
    ACME_DEVICES,
    DISCOVERY_TIMEOUT,
    LinkedHub,
    all_discovered,
    device,
    linked_hub_fixture,
)

hub = linked_hub_fixture()

DISCOVERY_ID = re.compile(r"^[a-z0-9]{32}$")


def _start(mi: Any, association_id: str, **extra: Any) -> str:
    response = mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=association_id, **extra
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert DISCOVERY_ID.match(response["Id"])
    return str(response["Id"])


def _report(
    hub: LinkedHub, connector_id: str, discovery_id: str, *devices: Any, **extra: Any
) -> None:
    members = {"StatusCode": 200, "UserId": "alice", "Devices": list(devices)}
    members.update(extra)
    response = hub.mi.send_connector_event(
        ConnectorId=connector_id,
        Operation="DEVICE_DISCOVERY",
        OperationVersion="1.0",
        DeviceDiscoveryId=discovery_id,
        **{k: v for k, v in members.items() if v is not None},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert response["ConnectorId"] == connector_id


def _modifications(hub: LinkedHub, discovery_id: str) -> dict[str, str]:
    return {
        item["ConnectorDeviceId"]: item["Modification"]
        for item in all_discovered(hub.mi, discovery_id)
    }


# ----- the whole flow with the real connector ------------------------------------------------


def test_end_to_end_discovery_with_the_acme_connector(hub: LinkedHub) -> None:
    mi = hub.mi
    linked = hub.link("acme-connector")
    discovery_id = _start(mi, linked.association_id)

    # The connector reported its devices before it ACKed, and the handler awaited the ACK.
    got = mi.get_device_discovery(Identifier=discovery_id)
    assert got["Status"] == "SUCCEEDED"
    assert got["DiscoveryType"] == "CLOUD"
    assert got["AccountAssociationId"] == linked.association_id
    assert got["Arn"] == (
        f"arn:aws:iotmanagedintegrations:us-east-1:000000000000:device-discovery/{discovery_id}"
    )
    assert got["FinishedAt"] >= got["StartedAt"]

    items = {item["ConnectorDeviceId"]: item for item in all_discovered(mi, discovery_id)}
    assert set(items) == ACME_DEVICES
    fan = items["acme-fan-001"]
    assert fan["ConnectorDeviceName"] == "Bedroom Fan"
    assert fan["DeviceTypes"] == ["Fan"]
    assert fan["Modification"] == "DISCOVERED"
    assert fan["AuthenticationMaterial"] == f"CLOUD:{linked.association_id}:acme-fan-001"
    assert (fan["Brand"], fan["Model"]) == ("Acme", "AF-300")
    assert "ManagedThingId" not in fan
    assert items["acme-light-001"]["DeviceTypes"] == ["Dimmable Light"]

    # A managed thing from the discovered device: activated, linked, with its capabilities.
    created = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial=fan["AuthenticationMaterial"],
        AuthenticationMaterialType="DISCOVERED_DEVICE",
    )
    thing_id = created["Id"]
    thing = mi.get_managed_thing(Identifier=thing_id)
    assert thing["ProvisioningStatus"] == "ACTIVATED"
    assert thing["ConnectorDeviceId"] == "acme-fan-001"
    assert thing["ConnectorDestinationId"] == linked.destination_id
    assert (thing["Name"], thing["Brand"], thing["Model"]) == ("Bedroom Fan", "Acme", "AF-300")
    assert thing["SerialNumber"] == "AF300-0001"
    assert thing["ActivatedAt"] >= thing["CreatedAt"]

    capabilities = mi.get_managed_thing_capabilities(Identifier=thing_id)
    endpoint = capabilities["CapabilityReport"]["endpoints"][0]
    assert endpoint["id"] == "1" and endpoint["deviceTypes"] == ["Fan"]
    fan_control = endpoint["capabilities"][0]
    assert fan_control["id"] == "matter.FanControl@1.4"
    assert fan_control["name"] == "Fan Control"
    assert fan_control["properties"] == ["FanMode", "FanModeSequence"]
    raw = json.loads(capabilities["Capabilities"])["matterCapabilityReport"]
    assert raw["endpoints"][0]["clusters"][0]["id"] == "0x0202"

    links = mi.list_managed_thing_account_associations(ManagedThingId=thing_id)["Items"]
    assert links == [
        {
            "ManagedThingId": thing_id,
            "AccountAssociationId": linked.association_id,
            "ManagedThingAssociationStatus": "ASSOCIATED",
        }
    ]
    # Registering what CreateManagedThing already registered is a no-op (idempotent).
    registered = mi.register_account_association(
        ManagedThingId=thing_id,
        AccountAssociationId=linked.association_id,
        DeviceDiscoveryId=discovery_id,
    )
    assert registered["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (registered["ManagedThingId"], registered["DeviceDiscoveryId"]) == (
        thing_id,
        discovery_id,
    )

    items = {item["ConnectorDeviceId"]: item for item in all_discovered(mi, discovery_id)}
    assert items["acme-fan-001"]["ManagedThingId"] == thing_id
    assert "ManagedThingId" not in items["acme-plug-001"]
    with pytest.raises(mi.exceptions.ConflictException) as caught:
        mi.create_managed_thing(
            Role="DEVICE",
            AuthenticationMaterial=fan["AuthenticationMaterial"],
            AuthenticationMaterialType="DISCOVERED_DEVICE",
        )
    assert thing_id in caught.value.response["Error"]["Message"]
    found = mi.list_managed_things(
        ConnectorDeviceIdFilter="acme-fan-001", ConnectorDestinationIdFilter=linked.destination_id
    )["Items"]
    assert [item["Id"] for item in found] == [thing_id]

    # Discovering again: nothing changed at Acme but a fan's mode, which is state, not shape.
    answer = httpx.post(f"{hub.acme.url}/admin/devices/acme-fan-001/state", json={"mode": "high"})
    assert answer.status_code == 200, answer.text
    again = _start(mi, linked.association_id)
    assert mi.get_device_discovery(Identifier=again)["Status"] == "SUCCEEDED"
    assert _modifications(hub, again) == dict.fromkeys(ACME_DEVICES, "NO_CHANGE")
    rediscovered = {i["ConnectorDeviceId"]: i for i in all_discovered(mi, again)}
    assert rediscovered["acme-fan-001"]["ManagedThingId"] == thing_id

    # Teardown: a cloud device leaves through DeregisterAccountAssociation (or Force).
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.delete_managed_thing(Identifier=thing_id)
    assert "DeregisterAccountAssociation" in caught.value.response["Error"]["Message"]
    mi.deregister_account_association(
        ManagedThingId=thing_id, AccountAssociationId=linked.association_id
    )
    mi.deregister_account_association(  # idempotent
        ManagedThingId=thing_id, AccountAssociationId=linked.association_id
    )
    thing = mi.get_managed_thing(Identifier=thing_id)
    assert thing["ProvisioningStatus"] == "UNASSOCIATED"
    assert "ConnectorDeviceId" not in thing
    assert mi.list_managed_thing_account_associations(ManagedThingId=thing_id)["Items"] == []
    assert (
        "ManagedThingId"
        not in {i["ConnectorDeviceId"]: i for i in all_discovered(mi, again)}["acme-fan-001"]
    )
    mi.delete_managed_thing(Identifier=thing_id)

    # The device is free again.
    second = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial=fan["AuthenticationMaterial"],
        AuthenticationMaterialType="DISCOVERED_DEVICE",
    )
    mi.delete_managed_thing(Identifier=second["Id"], Force=True)
    assert mi.list_managed_thing_account_associations(ManagedThingId=second["Id"])["Items"] == []


def test_connector_device_id_list_limits_the_discovery(hub: LinkedHub) -> None:
    linked = hub.link("acme-connector")
    discovery_id = _start(
        hub.mi, linked.association_id, ConnectorDeviceIdList=["acme-fan-001", "acme-missing"]
    )
    assert hub.mi.get_device_discovery(Identifier=discovery_id)["Status"] == "SUCCEEDED"
    assert [i["ConnectorDeviceId"] for i in all_discovered(hub.mi, discovery_id)] == [
        "acme-fan-001"
    ]


# ----- Modification and events sent by the test ----------------------------------------------


def test_modification_compares_with_the_previous_discovery_of_the_association(
    hub: LinkedHub,
) -> None:
    linked = hub.link("ack-connector")
    first = _start(hub.mi, linked.association_id)
    assert hub.mi.get_device_discovery(Identifier=first)["Status"] == "RUNNING"
    _report(hub, linked.connector_id, first, device("a", "Lamp A"), device("b", "Lamp B"))
    assert hub.mi.get_device_discovery(Identifier=first)["Status"] == "SUCCEEDED"
    assert _modifications(hub, first) == {"a": "DISCOVERED", "b": "DISCOVERED"}

    second = _start(hub.mi, linked.association_id)
    _report(
        hub,
        linked.connector_id,
        second,
        device("a", "Lamp A"),
        device("b", "Lamp B renamed"),
        device("c", "Lamp C"),
    )
    assert _modifications(hub, second) == {"a": "NO_CHANGE", "b": "UPDATED", "c": "DISCOVERED"}
    # The first discovery keeps what it saw.
    assert _modifications(hub, first) == {"a": "DISCOVERED", "b": "DISCOVERED"}

    # A connector may page: 1xx reports devices and keeps the discovery RUNNING; a device
    # reported twice is compared with what it was before this discovery.
    third = _start(hub.mi, linked.association_id)
    _report(hub, linked.connector_id, third, device("a", "Lamp A"), StatusCode=102)
    assert hub.mi.get_device_discovery(Identifier=third)["Status"] == "RUNNING"
    assert _modifications(hub, third) == {"a": "NO_CHANGE"}
    _report(
        hub,
        linked.connector_id,
        third,
        device("a", "Lamp A", clusters=("0x0202", "0x0006")),
        device("b", "Lamp B renamed"),
    )
    assert hub.mi.get_device_discovery(Identifier=third)["Status"] == "SUCCEEDED"
    assert _modifications(hub, third) == {"a": "UPDATED", "b": "NO_CHANGE"}
    # ... and a SUCCEEDED discovery still merges later pages.
    _report(hub, linked.connector_id, third, device("d", "Lamp D"))
    assert _modifications(hub, third) == {"a": "UPDATED", "b": "NO_CHANGE", "d": "DISCOVERED"}

    # Another association of the same user knows none of these devices.
    other = hub.link("ack-connector")
    fourth = _start(hub.mi, other.association_id)
    _report(hub, other.connector_id, fourth, device("a", "Lamp A"))
    assert _modifications(hub, fourth) == {"a": "DISCOVERED"}


def test_device_metadata_gives_brand_and_model(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    discovery_id = _start(hub.mi, linked.association_id)
    _report(
        hub,
        linked.connector_id,
        discovery_id,
        device("m1", metadata={"Brand": "Umbrella Corp.", "model": "X/1", "serial": "S 1"}),
        device("m2"),
    )
    items = {i["ConnectorDeviceId"]: i for i in all_discovered(hub.mi, discovery_id)}
    assert (items["m1"]["Brand"], items["m1"]["Model"]) == ("Umbrella Corp", "X 1")
    assert "Brand" not in items["m2"] and "ConnectorDeviceName" not in items["m2"]
    assert items["m2"]["DeviceTypes"] == ["Fan"]
    # Spec 11.1 also accepts the discovery's id in place of the association's.
    thing_id = hub.mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial=f"CLOUD:{discovery_id}:m1",
        AuthenticationMaterialType="DISCOVERED_DEVICE",
    )["Id"]
    thing = hub.mi.get_managed_thing(Identifier=thing_id)
    assert (thing["ProvisioningStatus"], thing["Brand"], thing["SerialNumber"]) == (
        "ACTIVATED",
        "Umbrella Corp",
        "S 1",
    )
    with pytest.raises(hub.mi.exceptions.ResourceNotFoundException) as caught:
        hub.mi.create_managed_thing(
            Role="DEVICE",
            AuthenticationMaterial=f"CLOUD:{linked.association_id}:never-seen",
            AuthenticationMaterialType="DISCOVERED_DEVICE",
        )
    assert caught.value.response["ResourceType"] == "DiscoveredDevice"


def test_events_must_match_the_discovery(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    discovery_id = _start(hub.mi, linked.association_id)
    with pytest.raises(hub.mi.exceptions.ValidationException) as caught:
        _report(hub, linked.connector_id, discovery_id, device("a"), UserId="mallory")
    assert "UserId mallory" in caught.value.response["Error"]["Message"]
    stranger = hub.connector("ack-connector")
    with pytest.raises(hub.mi.exceptions.ValidationException) as caught:
        _report(hub, stranger, discovery_id, device("a"))
    assert stranger in caught.value.response["Error"]["Message"]
    assert hub.mi.get_device_discovery(Identifier=discovery_id)["Status"] == "RUNNING"
    assert all_discovered(hub.mi, discovery_id) == []


def test_discoveries_are_private_to_their_account(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    discovery_id = _start(hub.mi, linked.association_id)
    for call in (hub.other.get_device_discovery, hub.other.list_discovered_devices):
        with pytest.raises(hub.other.exceptions.ResourceNotFoundException):
            call(Identifier=discovery_id)
    listed = hub.other.list_device_discoveries(MaxResults=1000)["Items"]
    assert discovery_id not in [item["Id"] for item in listed]
    with pytest.raises(hub.other.exceptions.AccessDeniedException):
        hub.other.send_connector_event(
            ConnectorId=linked.connector_id,
            Operation="DEVICE_DISCOVERY",
            DeviceDiscoveryId=discovery_id,
            UserId="alice",
            Devices=[device("a")],
        )
    assert hub.mi.get_device_discovery(Identifier=discovery_id)["Status"] == "RUNNING"


# ----- ends other than success --------------------------------------------------------------


def test_a_discovery_times_out_on_thinghubs_clock(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    discovery_id = _start(hub.mi, linked.association_id)
    hub.advance(DISCOVERY_TIMEOUT - 1)
    assert hub.mi.get_device_discovery(Identifier=discovery_id)["Status"] == "RUNNING"
    hub.advance(2)
    got = hub.mi.get_device_discovery(Identifier=discovery_id)
    assert got["Status"] == "TIMED_OUT"
    assert got["FinishedAt"].timestamp() == pytest.approx(
        got["StartedAt"].timestamp() + DISCOVERY_TIMEOUT
    )
    timed_out = hub.mi.list_device_discoveries(StatusFilter="TIMED_OUT", MaxResults=1000)
    assert discovery_id in [item["Id"] for item in timed_out["Items"]]
    with pytest.raises(hub.mi.exceptions.ValidationException) as caught:
        _report(hub, linked.connector_id, discovery_id, device("late"))
    assert "TIMED_OUT" in caught.value.response["Error"]["Message"]


def test_a_failing_connector_fails_the_discovery(hub: LinkedHub) -> None:
    linked = hub.link("broken-connector")
    discovery_id = _start(hub.mi, linked.association_id)
    got = hub.mi.get_device_discovery(Identifier=discovery_id)
    assert got["Status"] == "FAILED"
    assert "FinishedAt" in got
    failed = hub.mi.list_device_discoveries(StatusFilter="FAILED", TypeFilter="CLOUD")["Items"]
    assert {"Id": discovery_id, "DiscoveryType": "CLOUD", "Status": "FAILED"} in failed
    # A failed discovery does not time out later, nor take late devices.
    hub.advance(DISCOVERY_TIMEOUT + 1)
    assert hub.mi.get_device_discovery(Identifier=discovery_id)["Status"] == "FAILED"


def test_a_connector_reporting_a_failure_fails_the_discovery(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    discovery_id = _start(hub.mi, linked.association_id)
    _report(hub, linked.connector_id, discovery_id, Devices=None, StatusCode=503, Message="down")
    assert hub.mi.get_device_discovery(Identifier=discovery_id)["Status"] == "FAILED"
    with pytest.raises(hub.mi.exceptions.ValidationException):
        _report(hub, linked.connector_id, discovery_id, device("a"))


# ----- starting: preconditions and idempotency -----------------------------------------------


def test_start_checks_its_input(hub: LinkedHub) -> None:
    mi = hub.mi
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.start_device_discovery(DiscoveryType="ZIGBEE", ControllerIdentifier="hub1")
    assert "CLOUD" in caught.value.response["Error"]["Message"]
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.start_device_discovery(DiscoveryType="CLOUD")
    assert "AccountAssociationId" in caught.value.response["Error"]["Message"]
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.start_device_discovery(
            DiscoveryType="CLOUD", AccountAssociationId="abc", ControllerIdentifier="hub1"
        )
    assert "ControllerIdentifier" in caught.value.response["Error"]["Message"]
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        mi.start_device_discovery(DiscoveryType="CLOUD", AccountAssociationId="doesnotexist")
    assert caught.value.response["ResourceType"] == "AccountAssociation"
    for call in (mi.get_device_discovery, mi.list_discovered_devices):
        with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
            call(Identifier="doesnotexist")
        assert caught.value.response["ResourceType"] == "DeviceDiscovery"


def test_an_association_that_is_not_linked_conflicts(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    pending = hub.mi.create_account_association(ConnectorDestinationId=linked.destination_id)
    with pytest.raises(hub.mi.exceptions.ConflictException) as caught:
        _start(hub.mi, pending["AccountAssociationId"])
    assert "ASSOCIATION_IN_PROGRESS" in caught.value.response["Error"]["Message"]


def test_the_same_client_token_gives_the_same_discovery(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    token = uuid.uuid4().hex
    first = _start(hub.mi, linked.association_id, ClientToken=token)
    assert _start(hub.mi, linked.association_id, ClientToken=token) == first
    with pytest.raises(hub.mi.exceptions.ConflictException):
        _start(hub.mi, linked.association_id, ClientToken=token, ConnectorDeviceIdList=["x"])
    listed = hub.mi.list_device_discoveries(MaxResults=1000)["Items"]
    assert [item["Id"] for item in listed].count(first) == 1


def test_tags_and_pages_of_discoveries(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    discovery_id = _start(hub.mi, linked.association_id, Tags={"batch": "7"})
    assert hub.mi.get_device_discovery(Identifier=discovery_id)["Tags"] == {"batch": "7"}
    _report(hub, linked.connector_id, discovery_id, *(device(f"p{i}") for i in range(5)))
    pages = hub.mi.get_paginator("list_discovered_devices").paginate(
        Identifier=discovery_id, PaginationConfig={"PageSize": 2}
    )
    listed = [[item["ConnectorDeviceId"] for item in page["Items"]] for page in pages]
    assert listed == [["p0", "p1"], ["p2", "p3"], ["p4"]]
    every = hub.mi.get_paginator("list_device_discoveries").paginate(
        PaginationConfig={"PageSize": 3}
    )
    ids = [item["Id"] for page in every for item in page["Items"]]
    assert len(ids) == len(set(ids)) and discovery_id in ids


# ----- RegisterAccountAssociation for things made before discovery ---------------------------


def test_a_pre_onboarded_thing_is_registered_to_a_discovered_device(hub: LinkedHub) -> None:
    mi = hub.mi
    linked = hub.link("ack-connector")
    thing_id = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial=f"CLOUD:{linked.association_id}:pre-1",
        AuthenticationMaterialType="PRE_ONBOARDED_CLOUD",
    )["Id"]
    thing = mi.get_managed_thing(Identifier=thing_id)
    assert thing["ProvisioningStatus"] == "PRE_ASSOCIATED"
    assert thing["ConnectorDeviceId"] == "pre-1"
    links = mi.list_managed_thing_account_associations(AccountAssociationId=linked.association_id)
    assert [(i["ManagedThingId"], i["ManagedThingAssociationStatus"]) for i in links["Items"]] == [
        (thing_id, "PRE_ASSOCIATED")
    ]

    discovery_id = _start(mi, linked.association_id)
    _report(hub, linked.connector_id, discovery_id, device("pre-1", "Porch Fan"), device("x-2"))
    # The device was reserved by the pre-onboarded thing.
    listed = {i["ConnectorDeviceId"]: i for i in all_discovered(mi, discovery_id)}
    assert listed["pre-1"]["ManagedThingId"] == thing_id
    with pytest.raises(mi.exceptions.ConflictException):
        mi.create_managed_thing(
            Role="DEVICE",
            AuthenticationMaterial=listed["pre-1"]["AuthenticationMaterial"],
            AuthenticationMaterialType="DISCOVERED_DEVICE",
        )

    mi.register_account_association(
        ManagedThingId=thing_id,
        AccountAssociationId=linked.association_id,
        DeviceDiscoveryId=discovery_id,
    )
    thing = mi.get_managed_thing(Identifier=thing_id)
    assert thing["ProvisioningStatus"] == "ACTIVATED"
    assert thing["Name"] == "Porch Fan"
    assert thing["ConnectorDestinationId"] == linked.destination_id
    report = mi.get_managed_thing_capabilities(Identifier=thing_id)["CapabilityReport"]
    assert report["endpoints"][0]["capabilities"][0]["id"] == "matter.FanControl@1.4"
    links = mi.list_managed_thing_account_associations(ManagedThingId=thing_id)["Items"]
    assert [i["ManagedThingAssociationStatus"] for i in links] == ["ASSOCIATED"]

    # The association cannot go while a thing is registered to it (spec 3.9).
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        mi.delete_account_association(AccountAssociationId=linked.association_id)
    assert "DeregisterAccountAssociation" in caught.value.response["Error"]["Message"]
    mi.deregister_account_association(
        ManagedThingId=thing_id, AccountAssociationId=linked.association_id
    )
    mi.delete_account_association(AccountAssociationId=linked.association_id)
    # A connector's late report for a user gone is accepted and dropped (spec 5.2).
    _report(hub, linked.connector_id, discovery_id, device("late-1"))
    listed = [i["ConnectorDeviceId"] for i in all_discovered(mi, discovery_id)]
    assert listed == ["pre-1", "x-2"]


def test_register_account_association_errors(hub: LinkedHub) -> None:
    mi = hub.mi
    linked = hub.link("ack-connector")
    discovery_id = _start(mi, linked.association_id)
    _report(hub, linked.connector_id, discovery_id, device("r-1"), device("r-2"))
    items = {i["ConnectorDeviceId"]: i for i in all_discovered(mi, discovery_id)}
    bound = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial=items["r-1"]["AuthenticationMaterial"],
        AuthenticationMaterialType="DISCOVERED_DEVICE",
    )["Id"]
    loose = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial="r-2",  # the bare device id also names it
        AuthenticationMaterialType="PRE_ONBOARDED_CLOUD",
    )["Id"]
    elsewhere = mi.create_managed_thing(
        Role="DEVICE",
        AuthenticationMaterial="nope",
        AuthenticationMaterialType="PRE_ONBOARDED_CLOUD",
    )["Id"]

    def register(thing: str, association: str, discovery: str) -> Any:
        return mi.register_account_association(
            ManagedThingId=thing, AccountAssociationId=association, DeviceDiscoveryId=discovery
        )

    for thing, association, discovery, kind in (
        ("nothing", linked.association_id, discovery_id, "ManagedThing"),
        (loose, "nothing", discovery_id, "AccountAssociation"),
        (loose, linked.association_id, "nothing", "DeviceDiscovery"),
    ):
        with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
            register(thing, association, discovery)
        assert caught.value.response["ResourceType"] == kind
    with pytest.raises(mi.exceptions.ValidationException):
        register(elsewhere, linked.association_id, discovery_id)  # not found by the discovery
    other = hub.link("ack-connector")
    other_discovery = _start(mi, other.association_id)
    with pytest.raises(mi.exceptions.ValidationException):
        register(loose, linked.association_id, other_discovery)  # another association's
    _report(hub, other.connector_id, other_discovery, device("r-1"))
    with pytest.raises(mi.exceptions.ConflictException):
        register(bound, other.association_id, other_discovery)  # bound elsewhere already

    register(loose, linked.association_id, discovery_id)
    assert mi.get_managed_thing(Identifier=loose)["ProvisioningStatus"] == "ACTIVATED"
    for thing, association in ((loose, "nothing"), ("nothing", linked.association_id)):
        with pytest.raises(mi.exceptions.ResourceNotFoundException):
            mi.deregister_account_association(
                ManagedThingId=thing, AccountAssociationId=association
            )
    assert mi.list_managed_thing_account_associations(ManagedThingId="nothing")["Items"] == []


def test_account_associations_are_taggable(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    arn = hub.mi.get_account_association(AccountAssociationId=linked.association_id)["Arn"]
    hub.mi.tag_resource(ResourceArn=arn, Tags={"tier": "gold"})
    assert hub.mi.list_tags_for_resource(ResourceArn=arn)["tags"] == {"tier": "gold"}
    hub.mi.untag_resource(ResourceArn=arn, TagKeys=["tier"])
    assert hub.mi.list_tags_for_resource(ResourceArn=arn)["tags"] == {}
    with pytest.raises(hub.other.exceptions.ResourceNotFoundException):
        hub.other.tag_resource(ResourceArn=arn, Tags={"tier": "stolen"})
