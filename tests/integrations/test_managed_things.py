"""Managed things not made from a discovery: CRUD, filters, pages, errors, persistence."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import (
    OTHER_ACCESS_KEY,
    OTHER_SECRET_KEY,
    RunningServer,
    make_client,
    start_server,
)

ARN = re.compile(
    r"^arn:aws:iotmanagedintegrations:us-east-1:000000000000:managed-thing/[a-z0-9]{32}$"
)

REPORT = {
    "version": "1.0.0",
    "nodeId": "node-1",
    "endpoints": [
        {
            "id": "1",
            "deviceTypes": ["Light"],
            "capabilities": [
                {
                    "id": "matter.OnOff@1.4",
                    "name": "On/Off",
                    "version": "6",
                    "properties": ["OnOff"],
                    "actions": ["On", "Off", "Toggle"],
                    "events": [],
                }
            ],
        }
    ],
}


def _create(mi: Any, role: str = "DEVICE", **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = mi.create_managed_thing(
        Role=role,
        AuthenticationMaterial=extra.pop("material", f"qr-{uuid.uuid4().hex}"),
        AuthenticationMaterialType=extra.pop("material_type", "ZIGBEE_QR_BAR_CODE"),
        **extra,
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    return response


def test_create_get_update_delete(mi: Any) -> None:
    created = _create(
        mi,
        Name="Kitchen light",
        Owner="owner-1",
        Brand="Acme",
        Model="AL-200",
        SerialNumber="SN-1",
        Classification="light",
        MetaData={"floor": "1"},
        CapabilityReport=REPORT,
        Tags={"team": "blue"},
    )
    assert ARN.match(created["Arn"])
    assert created["Arn"].endswith(created["Id"])
    got = mi.get_managed_thing(Identifier=created["Id"])
    assert got["Id"] == created["Id"]
    assert got["Arn"] == created["Arn"]
    assert got["Role"] == "DEVICE"
    assert got["ProvisioningStatus"] == "PRE_ASSOCIATED"
    assert (got["Name"], got["Owner"], got["Brand"], got["Model"]) == (
        "Kitchen light",
        "owner-1",
        "Acme",
        "AL-200",
    )
    assert (got["SerialNumber"], got["Classification"]) == ("SN-1", "light")
    assert got["MetaData"] == {"floor": "1"}
    assert got["Tags"] == {"team": "blue"}
    assert got["CreatedAt"] == created["CreatedAt"]
    assert "ConnectorDeviceId" not in got

    updated = mi.update_managed_thing(Identifier=created["Id"], Name="Hall light", Owner="owner-2")
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = mi.get_managed_thing(Identifier=created["Id"])
    assert (got["Name"], got["Owner"], got["Brand"]) == ("Hall light", "owner-2", "Acme")

    deleted = mi.delete_managed_thing(Identifier=created["Id"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        mi.get_managed_thing(Identifier=created["Id"])
    assert caught.value.response["ResourceId"] == created["Id"]
    assert caught.value.response["ResourceType"] == "ManagedThing"


def test_a_controller_starts_unassociated(mi: Any) -> None:
    created = _create(mi, role="CONTROLLER", material_type="WIFI_SETUP_QR_BAR_CODE")
    assert mi.get_managed_thing(Identifier=created["Id"])["ProvisioningStatus"] == "UNASSOCIATED"


def test_capabilities_as_given(mi: Any) -> None:
    created = _create(mi, CapabilityReport=REPORT, Capabilities='{"light": true}')
    got = mi.get_managed_thing_capabilities(Identifier=created["Id"])
    assert got["ManagedThingId"] == created["Id"]
    assert got["CapabilityReport"] == REPORT
    assert got["Capabilities"] == '{"light": true}'
    bare = _create(mi)
    got = mi.get_managed_thing_capabilities(Identifier=bare["Id"])
    assert "CapabilityReport" not in got and "Capabilities" not in got
    mi.update_managed_thing(Identifier=bare["Id"], CapabilityReport=REPORT)
    assert mi.get_managed_thing_capabilities(Identifier=bare["Id"])["CapabilityReport"] == REPORT


def test_unknown_things_are_not_found_everywhere(mi: Any) -> None:
    for call in (
        mi.get_managed_thing,
        mi.delete_managed_thing,
        mi.update_managed_thing,
        mi.get_managed_thing_capabilities,
    ):
        with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
            call(Identifier="doesnotexist")
        assert caught.value.response["ResourceType"] == "ManagedThing"


def test_discovered_device_material_must_name_a_discovered_device(mi: Any) -> None:
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        _create(mi, material="not-from-a-discovery", material_type="DISCOVERED_DEVICE")
    assert "ListDiscoveredDevices" in caught.value.response["Error"]["Message"]
    with pytest.raises(mi.exceptions.ResourceNotFoundException) as caught:
        _create(mi, material="CLOUD:doesnotexist:dev-1", material_type="DISCOVERED_DEVICE")
    assert caught.value.response["ResourceType"] == "AccountAssociation"
    with pytest.raises(mi.exceptions.ValidationException) as caught:
        _create(
            mi,
            role="CONTROLLER",
            material="CLOUD:doesnotexist:dev-1",
            material_type="DISCOVERED_DEVICE",
        )
    assert "Role DEVICE" in caught.value.response["Error"]["Message"]


def test_same_client_token_creates_one_thing(mi: Any) -> None:
    token = uuid.uuid4().hex
    material = f"qr-{uuid.uuid4().hex}"
    first = _create(mi, material=material, ClientToken=token)
    again = _create(mi, material=material, ClientToken=token)
    assert again["Id"] == first["Id"]
    with pytest.raises(mi.exceptions.ConflictException):
        _create(mi, material="another", ClientToken=token)


def test_list_filters(mi: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    serial = f"SN-{uuid.uuid4().hex[:8]}"
    device = _create(mi, Owner=owner, SerialNumber=serial)["Id"]
    controller = _create(mi, role="CONTROLLER", Owner=owner)["Id"]

    def ids(**filters: Any) -> list[str]:
        return [item["Id"] for item in mi.list_managed_things(MaxResults=1000, **filters)["Items"]]

    assert ids(OwnerFilter=owner) == [device, controller]
    assert ids(OwnerFilter=owner, RoleFilter="CONTROLLER") == [controller]
    assert ids(SerialNumberFilter=serial) == [device]
    assert ids(OwnerFilter=owner, ProvisioningStatusFilter="UNASSOCIATED") == [controller]
    assert ids(OwnerFilter=owner, ProvisioningStatusFilter="ACTIVATED") == []
    assert ids(ConnectorDeviceIdFilter="nothing-has-this") == []
    item = mi.list_managed_things(OwnerFilter=owner, RoleFilter="DEVICE")["Items"][0]
    assert item["Owner"] == owner and item["SerialNumber"] == serial
    assert item["ProvisioningStatus"] == "PRE_ASSOCIATED"
    assert ARN.match(item["Arn"])


def test_list_pages_through_every_thing_once(server: RunningServer) -> None:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="ap-south-2"
    )
    regional = session.client("iot-managed-integrations", endpoint_url=server.url)
    created = [_create(regional)["Id"] for _ in range(5)]
    pages = regional.get_paginator("list_managed_things").paginate(PaginationConfig={"PageSize": 2})
    listed = [[item["Id"] for item in page["Items"]] for page in pages]
    assert [len(page) for page in listed] == [2, 2, 1]
    assert [thing for page in listed for thing in page] == created


def test_accounts_do_not_see_each_others_things(server: RunningServer, mi: Any) -> None:
    mine = _create(mi)["Id"]
    other = make_client(
        server, "iot-managed-integrations", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_managed_thing(Identifier=mine)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_managed_thing(Identifier=mine)
    assert mine not in [i["Id"] for i in other.list_managed_things(MaxResults=1000)["Items"]]


def test_things_survive_a_restart(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    try:
        mi = make_client(running, "iot-managed-integrations")
        created = _create(mi, Name="Persistent", Tags={"k": "v"})
    finally:
        running.stop()
    running = start_server(tmp_path)
    try:
        mi = make_client(running, "iot-managed-integrations")
        got = mi.get_managed_thing(Identifier=created["Id"])
        assert (got["Name"], got["Tags"]) == ("Persistent", {"k": "v"})
    finally:
        running.stop()
