"""Discovery timeouts on the system clock: the background worker, across a restart, and the
setting that controls them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integrations.test_discovery_support import LinkedHub, linked_hub_fixture
from thinghub.config import ConfigError, Settings
from thinghub.integrations.device_discoveries import DEFAULT_TIMEOUT_SECONDS, timeout_seconds

TIMEOUT = 1.5

hub = linked_hub_fixture(clock="system", discovery_timeout=TIMEOUT)


def _wait_until_finished(mi: Any, discovery_id: str, within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        got: dict[str, Any] = mi.get_device_discovery(Identifier=discovery_id)
        if got["Status"] != "RUNNING" or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_the_worker_times_discoveries_out(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    started = time.monotonic()
    discovery_id = hub.mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=linked.association_id
    )["Id"]
    got = _wait_until_finished(hub.mi, discovery_id, within=TIMEOUT + 5)
    assert got["Status"] == "TIMED_OUT"
    assert time.monotonic() - started >= TIMEOUT - 0.1
    elapsed = (got["FinishedAt"] - got["StartedAt"]).total_seconds()
    assert elapsed == pytest.approx(TIMEOUT, abs=0.01)


def test_a_deadline_survives_a_restart(hub: LinkedHub) -> None:
    linked = hub.link("ack-connector")
    discovery_id = hub.mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=linked.association_id
    )["Id"]
    # Down while the deadline passes: the restarted hub times the discovery out.
    hub.restart(pause=TIMEOUT + 0.5)
    got = _wait_until_finished(hub.mi, discovery_id, within=5)
    assert got["Status"] == "TIMED_OUT"
    # Reported devices before the deadline keep a discovery from timing out.
    again = hub.mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=linked.association_id
    )["Id"]
    hub.mi.send_connector_event(
        ConnectorId=linked.connector_id,
        Operation="DEVICE_DISCOVERY",
        DeviceDiscoveryId=again,
        UserId="alice",
        StatusCode=200,
        Devices=[],
    )
    time.sleep(TIMEOUT + 1)
    assert hub.mi.get_device_discovery(Identifier=again)["Status"] == "SUCCEEDED"


def test_the_timeout_setting() -> None:
    assert timeout_seconds(Settings()) == DEFAULT_TIMEOUT_SECONDS == 300
    raw = {"integrations": {"discovery_timeout_seconds": 12}}
    assert timeout_seconds(Settings(raw=raw)) == 12.0
    for bad in (0, -1, "5", True):
        raw = {"integrations": {"discovery_timeout_seconds": bad}}
        with pytest.raises(ConfigError, match="discovery_timeout_seconds"):
            timeout_seconds(Settings(raw=raw))
