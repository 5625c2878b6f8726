"""Pure parts: the envelope, function names and ARNs, the config sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest

from thinghub.config import ConfigError, Settings
from thinghub.connectors.envelope import (
    ACTIVATE_USER,
    DEACTIVATE_USER,
    DISCOVER_DEVICES,
    SEND_COMMAND,
    envelope,
)
from thinghub.connectors.environment import SERVICE_ENDPOINT_VARIABLE
from thinghub.connectors.functions import FunctionRef, HandlerSpec, parse_function
from thinghub.connectors.settings import ConnectorSettings, connector_settings


def test_activate_user_envelope_matches_the_documented_example() -> None:
    assert envelope(ACTIVATE_USER, "Your-Connector-ID", "ashriu32yr97feqy7afsaf") == {
        "header": {"auth": {"token": "ashriu32yr97feqy7afsaf", "type": "OAuth2.0"}},
        "payload": {
            "operationName": "AWS.ActivateUser",
            "operationVersion": "1.0.0",
            "connectorId": "Your-Connector-ID",
        },
    }


@pytest.mark.parametrize("operation", [DISCOVER_DEVICES, SEND_COMMAND, DEACTIVATE_USER])
def test_other_operations_are_version_1_0(operation: str) -> None:
    assert envelope(operation, "c", "t")["payload"]["operationVersion"] == "1.0"


def test_general_authorization_and_extra_payload_fields() -> None:
    secret = {
        "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf",
        "versionId": "v1",
    }
    sent = envelope(
        DISCOVER_DEVICES,
        "c1",
        None,
        {"deviceDiscoveryId": "12345678", "connectorDeviceIdList": ["d1"]},
        auth={"secretsManager": secret},
    )
    assert sent == {
        "header": {"auth": {"secretsManager": secret, "type": "GeneralAuthorization"}},
        "payload": {
            "operationName": "AWS.DiscoverDevices",
            "operationVersion": "1.0",
            "connectorId": "c1",
            "deviceDiscoveryId": "12345678",
            "connectorDeviceIdList": ["d1"],
        },
    }
    assert envelope(DEACTIVATE_USER, "c1", None) == {
        "header": {},
        "payload": {
            "operationName": "AWS.DeactivateUser",
            "operationVersion": "1.0",
            "connectorId": "c1",
        },
    }
    with pytest.raises(ValueError, match=r"payload\.connectorId"):
        envelope(SEND_COMMAND, "c1", "t", {"connectorId": "other"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme", FunctionRef("acme")),
        ("acme:live", FunctionRef("acme", "live")),
        ("acme:$LATEST", FunctionRef("acme")),
        ("123456789012:function:acme", FunctionRef("acme", None, "123456789012")),
        ("123456789012:function:acme:7", FunctionRef("acme", "7", "123456789012")),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:acme",
            FunctionRef("acme", None, "123456789012", "eu-west-1"),
        ),
        (
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:acme:$LATEST",
            FunctionRef("acme", None, "123456789012", "cn-north-1", "aws-cn"),
        ),
    ],
)
def test_every_form_lambda_accepts_is_parsed(text: str, expected: FunctionRef) -> None:
    assert parse_function(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "acme:",
        "a:b:c",
        "arn:aws:s3:::bucket",
        "arn:aws:lambda:us-east-1:123456789012:layer:x",
        "acme connector",
    ],
)
def test_other_text_is_no_function(text: str) -> None:
    with pytest.raises(ValueError):
        parse_function(text)


def test_the_full_arn_is_rebuilt_for_the_context() -> None:
    assert (
        parse_function("acme:live").arn(account_id="123456789012", region="us-east-1")
        == "arn:aws:lambda:us-east-1:123456789012:function:acme:live"
    )


def _settings(**raw: Any) -> ConnectorSettings:
    return connector_settings(Settings(raw=raw))


def test_defaults_follow_the_spec() -> None:
    settings = _settings()
    assert (settings.timeout_seconds, settings.retries, settings.workers) == (2.0, 5, 2)
    assert [settings.backoff(n) for n in range(5)] == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert len(settings.functions) == 0


def test_the_most_specific_function_key_wins() -> None:
    settings = _settings(
        functions={
            "acme": "pkg.any:handler",
            "acme:live": "pkg.live:handler",
            "arn:aws:lambda:eu-west-1:123456789012:function:acme": "pkg.eu.handler",
        }
    )
    find = settings.functions.find
    assert find(parse_function("acme")) == HandlerSpec("pkg.any", "handler")
    assert find(parse_function("acme:$LATEST")) == HandlerSpec("pkg.any", "handler")
    assert find(parse_function("acme:live")) == HandlerSpec("pkg.live", "handler")
    eu = "arn:aws:lambda:eu-west-1:123456789012:function:acme"
    assert find(parse_function(eu)) == HandlerSpec("pkg.eu", "handler")
    assert find(parse_function(f"{eu}:live")) == HandlerSpec("pkg.eu", "handler")
    assert find(parse_function(eu.replace("eu-west-1", "us-east-1"))) == HandlerSpec(
        "pkg.any", "handler"
    )
    assert find(parse_function("other")) is None


def test_python_path_is_resolved_against_the_working_directory() -> None:
    settings = _settings(connectors={"python_path": ["examples"]})
    assert settings.python_path == (str(Path("examples").resolve()),)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"connectors": {"workers": 0}}, "workers must be an integer >= 1"),
        ({"connectors": {"retries": 1.5}}, "retries must be an integer"),
        ({"connectors": {"timeout_seconds": 0}}, "timeout_seconds must be a number of seconds > 0"),
        ({"connectors": {"backoff_seconds": True}}, "backoff_seconds must be a number"),
        ({"connectors": {"python_path": "examples"}}, "python_path must be a list of strings"),
        ({"connectors": {"worker": 2}}, "unknown keys in [connectors]: worker"),
        ({"connectors": []}, "[connectors] must be a table"),
        ({"functions": {"acme": 1}}, "must be a handler string"),
        ({"functions": {"acme": "no-module"}}, "is not of the form package.module:function"),
        ({"functions": {"a b": "pkg.mod:handler"}}, "'a b' is not a valid Lambda function name"),
        ({"functions": {"a:b:c": "pkg.mod:handler"}}, "neither a Lambda function name nor an ARN"),
        ({"functions": {"acme": "m:h", "acme:$LATEST": "m:h"}}, "names a function named before"),
    ],
)
def test_invalid_config_is_a_config_error(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(**raw)
    assert message in str(caught.value)


def test_the_endpoint_variable_is_the_one_botocore_derives_from_the_service_id() -> None:
    model = botocore.session.get_session().get_service_model("iot-managed-integrations")
    assert model.service_id == "IoT Managed Integrations"
    derived = "AWS_ENDPOINT_URL_" + model.service_id.replace(" ", "_").upper()
    assert derived == SERVICE_ENDPOINT_VARIABLE
