"""Throttling: the token buckets on an injected clock, then over HTTP with stock boto3."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import (
    OTHER_ACCESS_KEY,
    OTHER_SECRET_KEY,
    REGION,
    RunningServer,
    start_server,
)
from thinghub.config import ConfigError, Settings, load_settings
from thinghub.throttling import (
    DATA,
    DEFAULT_CLASSES,
    MUTATING,
    READ,
    Limit,
    Throttle,
    ThrottlingConfig,
    operation_class,
    parse_config,
)
from thinghub.wire.errors import ServiceError

CATALOGUE = {
    "iot-managed-integrations": {
        "SendConnectorEvent",
        "ListTagsForResource",
        "GetManagedThing",
        "CreateCloudConnector",
    },
    "iotevents": {"ListInputs", "ListTagsForResource"},
    "iotevents-data": {"BatchPutMessage"},
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(operations: dict[str, Any] | None = None) -> tuple[Throttle, FakeClock]:
    config = parse_config({"enabled": True, "operations": operations or {}}, CATALOGUE)
    assert config is not None
    clock = FakeClock()
    return Throttle(config, clock), clock


def takes(bucket: Throttle, count: int, *key: str) -> int:
    """How many of `count` back-to-back requests were let through."""
    return sum(bucket.allow(*key) for _ in range(count))


# ----- classes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "expected"),
    [
        ("iot-managed-integrations", "SendConnectorEvent", DATA),
        ("iot-managed-integrations", "SendManagedThingCommand", DATA),
        ("iotevents-data", "BatchPutMessage", DATA),
        ("iotevents-data", "BatchUpdateDetector", DATA),
        ("iot-managed-integrations", "GetManagedThing", READ),
        ("iot-managed-integrations", "ListCloudConnectors", READ),
        ("iotevents", "DescribeDetectorModel", READ),
        ("iotevents-data", "DescribeDetector", READ),
        ("iot-managed-integrations", "CreateCloudConnector", MUTATING),
        ("iot-managed-integrations", "DeregisterAccountAssociation", MUTATING),
        ("iot-managed-integrations", "StartDeviceDiscovery", MUTATING),
        ("iot-managed-integrations", "PutHubConfiguration", MUTATING),
        ("iotevents", "TagResource", MUTATING),
        ("iotevents", "UntagResource", MUTATING),
    ],
)
def test_operation_classes(service: str, operation: str, expected: str) -> None:
    assert operation_class(service, operation) == expected


def test_default_rates_per_class() -> None:
    classes = dict(DEFAULT_CLASSES)
    assert classes == {
        MUTATING: Limit(10.0, 20),
        READ: Limit(50.0, 100),
        DATA: Limit(100.0, 200),
    }


# ----- buckets --------------------------------------------------------------------------


def test_burst_then_refused() -> None:
    bucket, _ = throttle()
    key = ("000000000000", "iot-managed-integrations", "CreateCloudConnector")
    assert takes(bucket, 25, *key) == 20
    assert not bucket.allow(*key)


def test_refills_continuously_at_the_rate() -> None:
    # Steps that are exact in binary floating point, so the arithmetic is exact too.
    bucket, clock = throttle({"CreateCloudConnector": {"rate": 4, "burst": 8}})
    key = ("000000000000", "iot-managed-integrations", "CreateCloudConnector")
    assert takes(bucket, 10, *key) == 8
    clock.now += 0.125  # half a token at 4/s
    assert not bucket.allow(*key)
    clock.now += 0.125  # the half token kept from the refused request makes a whole one
    assert bucket.allow(*key)
    assert not bucket.allow(*key)
    clock.now += 1.25
    assert takes(bucket, 10, *key) == 5


def test_refill_stops_at_the_burst() -> None:
    bucket, clock = throttle()
    key = ("000000000000", "iot-managed-integrations", "GetManagedThing")
    takes(bucket, 100, *key)
    clock.now += 3600
    assert takes(bucket, 500, *key) == 100


def test_buckets_are_per_account() -> None:
    bucket, _ = throttle()
    operation = ("iot-managed-integrations", "CreateCloudConnector")
    assert takes(bucket, 30, "000000000000", *operation) == 20
    assert takes(bucket, 30, "111111111111", *operation) == 20
    assert not bucket.allow("000000000000", *operation)


def test_buckets_are_per_operation_and_service() -> None:
    bucket, _ = throttle()
    account = "000000000000"
    assert takes(bucket, 30, account, "iot-managed-integrations", "CreateCloudConnector") == 20
    assert bucket.allow(account, "iot-managed-integrations", "UpdateCloudConnector")
    takes(bucket, 200, account, "iotevents", "ListTagsForResource")
    assert bucket.allow(account, "iot-managed-integrations", "ListTagsForResource")


def test_data_class_allows_its_burst() -> None:
    bucket, _ = throttle()
    assert takes(bucket, 250, "000000000000", "iotevents-data", "BatchPutMessage") == 200


def test_override_by_operation_name_applies_in_every_service() -> None:
    bucket, clock = throttle({"ListTagsForResource": {"rate": 1, "burst": 2}})
    for service in ("iot-managed-integrations", "iotevents"):
        assert takes(bucket, 10, "000000000000", service, "ListTagsForResource") == 2
    clock.now += 1.0
    assert takes(bucket, 10, "000000000000", "iotevents", "ListTagsForResource") == 1


def test_qualified_override_wins_over_the_plain_one() -> None:
    bucket, _ = throttle(
        {
            "ListTagsForResource": {"rate": 1, "burst": 2},
            "iotevents:ListTagsForResource": {"rate": 1, "burst": 7},
        }
    )
    assert takes(bucket, 10, "000000000000", "iotevents", "ListTagsForResource") == 7
    assert takes(bucket, 10, "000000000000", "iot-managed-integrations", "ListTagsForResource") == 2


def test_override_of_a_data_operation() -> None:
    bucket, clock = throttle({"SendConnectorEvent": {"rate": 5, "burst": 5}})
    key = ("000000000000", "iot-managed-integrations", "SendConnectorEvent")
    assert takes(bucket, 50, *key) == 5
    clock.now += 1.0
    assert takes(bucket, 50, *key) == 5


def test_class_override() -> None:
    config = parse_config({"enabled": True, "classes": {"read": {"rate": 1, "burst": 3}}})
    assert config is not None
    bucket = Throttle(config, FakeClock())
    assert takes(bucket, 10, "000000000000", "iotevents", "ListInputs") == 3
    assert takes(bucket, 30, "000000000000", "iotevents", "CreateInput") == 20


def test_check_raises_a_429_throttling_exception() -> None:
    bucket, _ = throttle({"ListInputs": {"rate": 2, "burst": 1}})
    bucket.check("000000000000", "iotevents", "ListInputs")
    with pytest.raises(ServiceError) as caught:
        bucket.check("000000000000", "iotevents", "ListInputs")
    assert caught.value.code == "ThrottlingException"
    assert caught.value.status == 429
    assert "iotevents:ListInputs allows 2 requests/s, burst 1" in caught.value.message


# ----- configuration --------------------------------------------------------------------


def test_off_by_default() -> None:
    assert Settings().throttling is None
    assert parse_config(None) is None
    assert parse_config({}) is None
    # A disabled section with overrides stays off.
    assert parse_config({"operations": {"ListInputs": {"rate": 1}}}, CATALOGUE) is None


def test_enabled_section_and_default_burst() -> None:
    config = parse_config({"enabled": True, "operations": {"ListInputs": {"rate": 2.5}}}, CATALOGUE)
    assert config == ThrottlingConfig(dict(DEFAULT_CLASSES), {"ListInputs": Limit(2.5, 5)})


def test_load_settings_reads_the_section(tmp_path: Path) -> None:
    path = tmp_path / "thinghub.toml"
    path.write_text(
        "[throttling]\nenabled = true\n[throttling.operations]\n"
        'SendConnectorEvent = { rate = 5, burst = 5 }\n"iotevents:ListInputs" = { rate = 1 }\n'
    )
    config = load_settings(path).throttling
    assert config is not None
    assert config.limit_for("iot-managed-integrations", "SendConnectorEvent") == Limit(5.0, 5)
    assert config.limit_for("iotevents", "ListInputs") == Limit(1.0, 2)
    assert config.limit_for("iotevents", "CreateInput") == Limit(10.0, 20)


def test_the_readme_example_works(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Throttling", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "thinghub.toml"
    path.write_text(example)
    config = load_settings(path).throttling
    assert config is not None
    assert config.limit_for("iotevents", "ListInputs") == Limit(100.0, 200)
    assert config.limit_for("iotevents", "CreateInput") == Limit(10.0, 20)
    assert config.limit_for("iot-managed-integrations", "SendConnectorEvent") == Limit(5.0, 5)
    assert config.limit_for("iotevents", "ListTagsForResource") == Limit(2.0, 4)
    assert config.limit_for("iot-managed-integrations", "ListTagsForResource") == Limit(100.0, 200)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("[throttling]\nenabled = 1\n", "[throttling] enabled must be true or false, not 1"),
        ("[throttling]\nenable = true\n", "unknown keys in [throttling]: enable"),
        ("throttling = 5\n", "[throttling] must be a table"),
        ("[throttling]\noperations = 3\n", "[throttling.operations] must be a table"),
        (
            "[throttling.operations]\nSendConnectorEvent = { rate = -1, burst = 5 }\n",
            "[throttling.operations] 'SendConnectorEvent': rate must be a finite number > 0, "
            "not -1",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = { rate = 0 }\n",
            "rate must be a finite number > 0, not 0",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = { rate = inf }\n",
            "rate must be a finite number > 0, not inf",
        ),
        (
            '[throttling.operations]\nSendConnectorEvent = { rate = "5" }\n',
            "rate must be a number of requests per second, not '5'",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = { rate = true }\n",
            "rate must be a number of requests per second, not True",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = { rate = 5, burst = 0 }\n",
            "burst must be an integer >= 1, not 0",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = { rate = 5, burst = 2.5 }\n",
            "burst must be an integer >= 1, not 2.5",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = { burst = 5 }\n",
            "[throttling.operations] 'SendConnectorEvent' lacks rate",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = { rate = 5, brust = 5 }\n",
            "unknown keys brust (use rate, burst)",
        ),
        (
            "[throttling.operations]\nSendConnectorEvent = 5\n",
            "'SendConnectorEvent' must be a table like { rate = 5, burst = 10 }, not 5",
        ),
        (
            "[throttling.operations]\nSendConectorEvent = { rate = 5 }\n",
            "'SendConectorEvent': no served API has an operation of that name",
        ),
        (
            '[throttling.operations]\n"iot:ListInputs" = { rate = 5 }\n',
            "'iot:ListInputs': unknown service 'iot' (served: iot-managed-integrations, "
            "iotevents, iotevents-data)",
        ),
        (
            '[throttling.operations]\n"iotevents:SendConnectorEvent" = { rate = 5 }\n',
            "iotevents has no operation 'SendConnectorEvent'",
        ),
        (
            "[throttling.classes]\nwrite = { rate = 5 }\n",
            "unknown class in [throttling.classes]: write (known: mutating, read, data)",
        ),
    ],
)
def test_bad_config_is_refused(tmp_path: Path, section: str, message: str) -> None:
    path = tmp_path / "thinghub.toml"
    path.write_text(section)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_bad_config_stops_start_up(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        "[throttling]\nenabled = true\n"
        "[throttling.operations]\nSendConnectorEvent = { rate = -5, burst = 5 }\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "thinghub", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "thinghub listening" not in result.stdout
    assert (
        f"thinghub: {config}: [throttling.operations] 'SendConnectorEvent': "
        "rate must be a finite number > 0, not -5"
    ) in result.stderr


# ----- over HTTP ------------------------------------------------------------------------

THROTTLED_CONFIG = f"""
[[identities]]
access_key = "{OTHER_ACCESS_KEY}"
secret_key = "{OTHER_SECRET_KEY}"
account_id = "111111111111"

[throttling]
enabled = true

[throttling.operations]
ListCloudConnectors = {{ rate = 0.5, burst = 3 }}
ListDestinations = {{ rate = 0.5, burst = 1 }}
"iotevents:ListInputs" = {{ rate = 5, burst = 2 }}
"""


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("throttled")
    config = data_dir / "thinghub.toml"
    config.write_text(THROTTLED_CONFIG)
    running = start_server(data_dir, "--config", str(config))
    yield running
    running.stop()


def client(
    server: RunningServer,
    service: str,
    attempts: int,
    access_key: str = "test",
    secret_key: str = "test",
) -> Any:
    """A stock client in botocore's standard retry mode making at most `attempts` attempts.

    `total_max_attempts` counts the first attempt; the older `max_attempts` counts retries
    only (`max_attempts: 1` is one retry), which would let a slow retry find a fresh token.
    """
    retries: Any = {"total_max_attempts": attempts, "mode": "standard"}
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION
    )
    config = botocore.config.Config(retries=retries)
    return session.client(service, endpoint_url=server.url, config=config)


def test_burst_over_the_limit_is_throttled(throttled: RunningServer) -> None:
    mi = client(throttled, "iot-managed-integrations", attempts=1)
    answered, refused = 0, []
    for _ in range(8):
        try:
            mi.list_cloud_connectors()
            answered += 1
        except mi.exceptions.ThrottlingException as exc:
            refused.append(exc)
    # Burst 3, then one token every 2 s: eight calls in well under 2 s get three answers.
    assert answered == 3
    assert len(refused) == 5
    error = refused[0].response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
    assert "ListCloudConnectors allows 0.5 requests/s, burst 3" in error["Error"]["Message"]

    # Another account has its own bucket; another operation too.
    other = client(throttled, "iot-managed-integrations", 1, OTHER_ACCESS_KEY, OTHER_SECRET_KEY)
    assert other.list_cloud_connectors()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert mi.list_connector_destinations()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_iot_events_raises_its_modelled_throttling_exception(throttled: RunningServer) -> None:
    events = client(throttled, "iotevents", 1, OTHER_ACCESS_KEY, OTHER_SECRET_KEY)
    events.list_inputs()
    events.list_inputs()
    with pytest.raises(events.exceptions.ThrottlingException) as caught:
        events.list_inputs()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_standard_retries_get_through_a_burst(throttled: RunningServer) -> None:
    events = client(throttled, "iotevents", attempts=10)
    calls = 8
    started = time.monotonic()
    retries = 0
    for _ in range(calls):
        answer = events.list_inputs()
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
        retries += answer["ResponseMetadata"]["RetryAttempts"]
    elapsed = time.monotonic() - started
    # Burst 2 at 5/s: eight answers need at least (8 - 2) / 5 = 1.2 s of server time, and some
    # calls needed retries of a 429 to get theirs.
    assert elapsed >= (calls - 2) / 5 - 0.01
    assert retries >= 1


def test_unauthenticated_requests_are_never_throttled(throttled: RunningServer) -> None:
    stranger = client(throttled, "iot-managed-integrations", 1, "nobody", "x")
    for _ in range(5):
        with pytest.raises(ClientError) as caught:
            stranger.list_destinations()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # The refused requests took no token from anyone: the caller's burst of 1 is still there.
    mi = client(throttled, "iot-managed-integrations", attempts=1)
    assert mi.list_destinations()["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(mi.exceptions.ThrottlingException):
        mi.list_destinations()
    for _ in range(50):
        assert httpx.get(f"{throttled.url}/_thinghub/health").status_code == 200


def test_default_config_never_throttles(server: RunningServer) -> None:
    # More requests than even the data class's burst of 200 would allow if throttling were on.
    mi = client(server, "iot-managed-integrations", attempts=1)  # a 429 would raise
    for _ in range(250):
        answer = mi.list_cloud_connectors(MaxResults=1)
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert answer["ResponseMetadata"]["RetryAttempts"] == 0
